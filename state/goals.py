"""The goals section of a pair's page: the mentee's one to three goals, their progress and
history, and the mentor's comments.

What both members see (the goals and their history) lives in `PairGoalsLiveState`, an
`rx.SharedState` on a token of its own per pair, so a goal set or progress marked in one
member's tab reaches the other's open page at once. A tab is linked only with the proof
(`access_pair`) that its user is one of the pair's two members; the forms and their errors
stay in the tab's private `PairGoalsState`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable
from typing import Any

import reflex as rx
from reflex.event import EventSpec
from sqlmodel import Session

from mentor_app.db import read_scope
from mentor_app.models import User
from mentor_app.services import goals
from mentor_app.services.access import PairAccess, access_pair
from mentor_app.services.errors import NotFound, ServiceError
from mentor_app.services.goals import GoalsView
from mentor_app.wording import count
from state.busy import while_busy_async
from state.linked import assign_changed, clean_and_send, keep_saved, link, note_read, patch_in_fresh
from state.off_loop import in_thread, soon_logged
from state.session import SessionState, SignedOut


def goals_token(pair_id: int) -> str:
    return f"goals-{pair_id}"  # no underscore: Reflex reserves it in link tokens


def _day(day: dt.date | None) -> str:
    return f"{day.day} {day:%B %Y}" if day else ""


def _entry(entry: goals.GoalEntry) -> dict[str, str]:
    if entry.kind == "progress":
        what = f"marked {entry.progress} %"
    elif entry.kind == "survey":
        what = f"closing survey: {entry.progress} %"
    else:
        what = "commented"
    return {
        "id": str(entry.id),
        "kind": entry.kind,
        "what": what,
        "note": entry.note,
        "name": entry.name or "A former member",
        "role": entry.role,
        "when": entry.created_at.strftime("%d %b %Y, %H:%M UTC"),
    }


def _goal(view: goals.GoalView) -> dict[str, Any]:
    shown = len(view.entries)
    return {
        "id": str(view.id),
        "position": str(view.position),
        "text": view.text,
        "target": _day(view.target_date),
        "target_iso": view.target_date.isoformat() if view.target_date else "",
        "progress": view.progress,
        "progress_value": str(view.progress),
        "progress_label": goals.PROGRESS_LABELS.get(view.progress, f"{view.progress} %"),
        "entries": [_entry(e) for e in view.entries],
        "history_label": (
            f"History (the last {shown} of {view.entries_total})"
            if view.entries_total > shown
            else f"History ({count(view.entries_total, 'entry', 'entries')})"
        ),
    }


class PairGoalsLiveState(rx.SharedState):
    """The pair's goals as both members see them. No event handlers: only the server writes
    it, after the goals service has checked who is asking."""

    _internal_patch_linked_state = patch_in_fresh
    _clean = clean_and_send
    _tab_sessions: dict[str, str] = {}  # tab -> key of the session that linked it (server)
    _read: bool = False  # as PairLiveState's

    @classmethod
    def link_token(cls, access: PairAccess) -> str:
        return goals_token(access.pair_id)

    goals: rx.Field[list[dict[str, Any]]] = rx.field(default_factory=list)
    can_change: rx.Field[bool] = rx.field(False)
    loaded: rx.Field[bool] = rx.field(False)

    def _apply(self, view: GoalsView) -> None:
        assign_changed(
            self,
            goals=[_goal(g) for g in view.goals],
            can_change=view.can_change,
            loaded=True,
        )
        note_read(self)


def _view_as_system(pair_id: int) -> goals.GoalsView | None:
    with read_scope() as db:  # a read: it never waits for SQLite's write lock
        return goals.goals_as_system(db, pair_id=pair_id)


async def refresh_goals(pair_id: int) -> None:
    """Out of band (a closing survey sent from the journey's form): read the pair's goals
    again for every tab linked to them. Never await it inside an event handler (it waits
    for the token's lock, which the event's tab may hold): `schedule_goals_refresh`."""
    from mentor_app.mentor_app import app  # the app module imports the states

    token = rx.BaseStateToken(ident=goals_token(pair_id), cls=PairGoalsLiveState)
    async with app.modify_state(token) as root:
        view = await in_thread(_view_as_system, pair_id)
        if view is None:
            return
        live = await root.get_state(PairGoalsLiveState)
        assert isinstance(live, PairGoalsLiveState)
        live._apply(view)


def schedule_goals_refresh(pair_id: int) -> None:
    """Refresh the pair's open goals once the calling event has let go of its locks; call
    it after the change is committed."""
    soon_logged(lambda: refresh_goals(pair_id), f"the open goals of pair {pair_id}")


Action = Callable[[Session, User, int], object]


async def link_goals(state: Any, access: PairAccess) -> PairGoalsLiveState:
    """This tab's copy of the pair's goals, linked with the proof of access."""
    return await link(state, PairGoalsLiveState, access)


class PairGoalsState(SessionState):
    """This tab's goal forms: which goal is being edited, errors by field, the busy flag."""

    errors: rx.Field[dict[str, str]] = rx.field(default_factory=dict)
    message: rx.Field[str] = rx.field("")
    editing: rx.Field[str] = rx.field("")  # the id of the goal whose edit form is open
    form_key: rx.Field[int] = rx.field(0)  # bumped to re-mount the forms empty
    busy: rx.Field[bool] = rx.field(False)
    not_found: rx.Field[bool] = rx.field(False)

    def _pair_id(self) -> int:
        return self._page_id("pairs", "Pair not found.")

    async def _reload(self) -> EventSpec | None:
        """Check membership, link this tab to the pair's goals, then read them (after the
        link, under its lock, as the journey's page does) for both members' pages."""
        try:
            pair_id = self._pair_id()
            access = await self._with_user(  # before any link
                lambda db, user: access_pair(db, actor=user, pair_id=pair_id)
            )
            live = await link_goals(self, access)
            view = await self._with_user(
                lambda db, user: goals.list_goals(db, actor=user, pair_id=pair_id),
                read_only=True,
            )
        except SignedOut:
            return self._login_redirect()
        except NotFound:
            self.not_found = True
            return None
        self.not_found = False
        live._apply(view)
        return None

    @rx.event
    async def load(self) -> EventSpec | None:
        self.errors, self.message, self.editing = {}, "", ""
        return await self._reload()

    @rx.event
    async def keep_alive(self) -> EventSpec | None:
        """Keeps the pair's shared goals from being forgotten while the page stays open
        (see PairPageState.keep_alive); read again if they already were."""
        if self.not_found:
            return None
        live = await self.get_state(PairGoalsLiveState)
        assert isinstance(live, PairGoalsLiveState)
        if not live.loaded or not keep_saved(live):
            return await self._reload()
        return None

    async def _act(self, action: Action, success: str, where: str = "") -> EventSpec | None:
        """Run one act on the pair's goals; an error goes next to its field (`field` +
        `where`, e.g. "note-7" for goal 7's note), then both pages show the goals anew."""
        self.errors, self.message = {}, ""
        try:
            pair_id = self._pair_id()
            await self._with_user(lambda db, user: action(db, user, pair_id))
        except SignedOut:
            return self._login_redirect()
        except NotFound as error:
            if error.message != goals.GOAL_NOT_FOUND:
                self.not_found = True
                return None
            self.errors = {f"form{where}": error.message}
            return await self._reload()
        except ServiceError as error:
            self.errors = {f"{error.field or 'form'}{where}": error.message}
            return await self._reload()
        self.message = success
        self.form_key += 1
        return await self._reload()

    async def _busy(self, act: Callable[[], Any]) -> AsyncIterator[EventSpec | None]:
        async for step in while_busy_async(self, "busy", act):
            yield step

    @rx.event
    async def add_goal(self, form: dict[str, Any]) -> AsyncIterator[EventSpec | None]:
        async for step in self._busy(
            lambda: self._act(
                lambda db, user, pid: goals.add_goal(
                    db,
                    actor=user,
                    pair_id=pid,
                    text=form.get("text", ""),
                    target_date=form.get("target_date", ""),
                ),
                "Goal added.",
                "-new",
            )
        ):
            yield step

    @rx.event
    def start_edit(self, goal_id: str) -> None:
        self.errors, self.message, self.editing = {}, "", str(goal_id)[:20]

    @rx.event
    def cancel_edit(self) -> None:
        self.errors, self.editing = {}, ""

    @rx.event
    async def save_goal(self, form: dict[str, Any]) -> AsyncIterator[EventSpec | None]:
        goal_id = str(form.get("goal_id", ""))[:20]

        async def act() -> EventSpec | None:
            shown = await self._act(
                lambda db, user, pid: goals.edit_goal(
                    db,
                    actor=user,
                    pair_id=pid,
                    goal_id=goal_id,
                    text=form.get("text", ""),
                    target_date=form.get("target_date", ""),
                ),
                "Goal saved.",
                f"-{goal_id}",
            )
            if not self.errors:
                self.editing = ""
            return shown

        async for step in self._busy(act):
            yield step

    @rx.event
    async def remove_goal(self, goal_id: str) -> AsyncIterator[EventSpec | None]:
        gid = str(goal_id)[:20]
        async for step in self._busy(
            lambda: self._act(
                lambda db, user, pid: goals.remove_goal(db, actor=user, pair_id=pid, goal_id=gid),
                "Goal removed.",
                f"-{gid}",
            )
        ):
            yield step

    @rx.event
    async def mark_progress(self, form: dict[str, Any]) -> AsyncIterator[EventSpec | None]:
        goal_id = str(form.get("goal_id", ""))[:20]
        async for step in self._busy(
            lambda: self._act(
                lambda db, user, pid: goals.mark_progress(
                    db,
                    actor=user,
                    pair_id=pid,
                    goal_id=goal_id,
                    progress=form.get("progress", ""),
                    note=form.get("note", ""),
                ),
                "Progress saved.",
                f"-{goal_id}",
            )
        ):
            yield step

    @rx.event
    async def comment(self, form: dict[str, Any]) -> AsyncIterator[EventSpec | None]:
        goal_id = str(form.get("goal_id", ""))[:20]
        async for step in self._busy(
            lambda: self._act(
                lambda db, user, pid: goals.comment(
                    db, actor=user, pair_id=pid, goal_id=goal_id, note=form.get("note", "")
                ),
                "Comment added.",
                f"-c{goal_id}",
            )
        ):
            yield step
