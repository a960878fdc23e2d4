"""A pair's page: the journey, check-ins, the fit check, ending and completing.

What both members see alike (steps done, check-ins, the pair's status) lives in
`PairLiveState`, an `rx.SharedState` linked to one token per pair, so a change made in one
member's tab reaches the other's open page at once. A tab is linked only after the journey
service has confirmed that its user is one of the two members. What is the viewer's own
(their role, their week, their forms) stays in the private `PairPageState`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import reflex as rx
from reflex.event import EventSpec
from sqlmodel import Session

from mentor_app.db import read_scope
from mentor_app.models import Pair, User
from mentor_app.services import chat, goals, journey, meetings, presence
from mentor_app.services.access import PairAccess, access_pair
from mentor_app.services.errors import Conflict, NotFound, ServiceError
from mentor_app.wording import count
from state import read_marks
from state.busy import while_busy_async
from state.goals import link_goals, schedule_goals_refresh
from state.linked import (
    assign_changed,
    clean_and_send,
    keep_saved,
    link,
    note_read,
    patch_in_fresh,
)
from state.meetings_live import MeetingsLiveState
from state.off_loop import in_thread, soon_logged
from state.session import SessionState, SignedOut
from state.write_ahead import announce_on_arrival

BROWSER_TIMEZONE = "Intl.DateTimeFormat().resolvedOptions().timeZone"
EARLIER_MAX = 200
SENDS_KEPT = 20  # outcomes of a tab's sends kept for its pending messages
SEND_ID_MAX = 64  # a longer client id is not one the page made


def _message(view: chat.MessageView) -> dict[str, Any]:
    """A message as the page shows it; kept small, since the last 50 travel to both
    members' pages with every new message. The sender is named on the page from `role`."""
    return {
        "id": view.id,
        "role": view.sender_role,
        "body": chat.displayable(view.body),
        "when": view.created_at.strftime("%d %b, %H:%M UTC"),
    }


@dataclass(frozen=True)
class ChatSnapshot:
    messages: list[chat.MessageView]
    more: bool
    can_send: bool


@dataclass(frozen=True)
class _Read:
    """What a pair page reads in one transaction: the journey and the chat, and on the
    page's load its meetings and goals."""

    view: journey.JourneyView
    snapshot: ChatSnapshot
    me: User
    meetings: meetings.MeetingsView | None = None
    goals: goals.GoalsView | None = None


def chat_snapshot(db: Any, user: User, pair_id: int) -> ChatSnapshot:
    messages, more = chat.list_messages(db, actor=user, pair_id=pair_id)
    pair, _role = journey.pair_of_member(db, actor=user, pair_id=pair_id)
    return ChatSnapshot(messages, more, chat.can_send(db, pair))


def live_token(pair_id: int) -> str:
    return f"pair-{pair_id}"  # no underscore: Reflex reserves it in link tokens


def chat_token(pair_id: int) -> str:
    """The chat's own token. Two shared state classes must not share a token: with the
    Redis state manager, Reflex 0.10.1 loads the second one linked in an event as a
    detached copy whose link and changes are never saved (chat across workers failed)."""
    return f"chat-{pair_id}"


def _when(moment: dt.datetime | None) -> str:
    return moment.strftime("%d %b %Y, %H:%M UTC") if moment else ""


class PairLiveState(rx.SharedState):
    """The part of a pair's page both members share. No event handlers: only the server
    writes it, after the journey service has checked who is asking."""

    _internal_patch_linked_state = patch_in_fresh
    _clean = clean_and_send
    _tab_sessions: dict[str, str] = {}  # tab -> key of the session that linked it (server)

    # False until read from the database: a copy the server forgot (expired) and made
    # anew is False again (`PairPageState.keep_alive` reads it then).
    _read: bool = False

    @classmethod
    def link_token(cls, access: PairAccess) -> str:
        return live_token(access.pair_id)

    status: rx.Field[str] = rx.field("")
    # Shared with the status, so that a page the partner ended live names the day too.
    ended_on: rx.Field[str] = rx.field("")
    # The members ("mentor", "mentee") who sent their closing survey: a page the partner
    # completed live asks this member for theirs, as a reload would.
    surveyed: rx.Field[list[str]] = rx.field(default_factory=list)
    steps: rx.Field[list[dict[str, Any]]] = rx.field(default_factory=list)
    progress: rx.Field[int] = rx.field(0)
    progress_text: rx.Field[str] = rx.field("")
    check_ins: rx.Field[list[dict[str, Any]]] = rx.field(default_factory=list)
    checked_in: rx.Field[dict[str, list[str]]] = rx.field(default_factory=dict)  # week: roles

    def _apply(self, view: journey.JourneyView) -> None:
        status = view.status
        steps = [
            {
                "week": str(s.week),
                "title": s.title,
                "focus": s.focus,
                "prompts": list(s.prompts),
                # Done once both marked it; each mark shows who and when.
                "done": s.done,
                "done_text": "Marked by "
                + " and ".join(f"{name} ({_when(when)})" for name, when in s.done_by)
                if s.done_by
                else "",
                "done_roles": list(s.done_roles),
                "goal": s.goal,  # a step about the goals: its card links to them
            }
            for s in view.steps
        ]
        total = len(view.steps) or 1
        progress = round(100 * view.weeks_done / total)
        progress_text = f"{view.weeks_done} of {count(len(view.steps), 'step')} done"
        check_ins = [
            {
                "week": str(c.week),
                "name": c.name,
                "role": c.role,
                "mood": f"{c.mood} · {journey.MOODS[c.mood]}",
                "met": "Met or talked" if c.met else "Didn't meet",
                "note": c.note,
                "when": _when(c.updated_at),
            }
            for c in view.check_ins
        ]
        weeks: dict[str, list[str]] = {}
        for c in view.check_ins:
            weeks.setdefault(str(c.week), []).append(c.role)
        assign_changed(
            self,
            status=status,
            ended_on=view.ended_at.strftime("%d %b %Y") if view.ended_at else "",
            surveyed=list(view.surveyed_roles),
            steps=steps,
            progress=progress,
            progress_text=progress_text,
            check_ins=check_ins,
            checked_in=weeks,
        )
        note_read(self)


class PairChatState(rx.SharedState):
    """The pair's chat, shared like `PairLiveState` (on a token of its own: `chat_token`),
    so a new message re-renders the chat alone, not the whole journey. Server-written."""

    _internal_patch_linked_state = patch_in_fresh
    _clean = clean_and_send
    _tab_sessions: dict[str, str] = {}  # tab -> key of the session that linked it (server)

    _read: bool = False  # as PairLiveState's

    @classmethod
    def link_token(cls, access: PairAccess) -> str:
        return chat_token(access.pair_id)

    messages: rx.Field[list[dict[str, Any]]] = rx.field(default_factory=list)  # the last 50
    has_earlier: rx.Field[bool] = rx.field(False)
    can_send: rx.Field[bool] = rx.field(False)

    def _add_message(self, message: dict[str, Any]) -> None:
        """One committed message into the last 50, in id order (a retry's row is already
        there: it replaces itself)."""
        kept = [m for m in self.messages if m["id"] != message["id"]] + [message]
        self.messages = sorted(kept, key=lambda m: int(m["id"]))[-chat.PAGE_SIZE :]
        if len(kept) > chat.PAGE_SIZE and not self.has_earlier:
            self.has_earlier = True

    def _apply_chat(self, snapshot: ChatSnapshot) -> None:
        assign_changed(
            self,
            messages=[_message(m) for m in snapshot.messages],
            has_earlier=snapshot.more,
            can_send=snapshot.can_send,
        )
        note_read(self)


def _note_read_after_send(access: PairAccess, talk: PairChatState) -> None:
    """The sender has read the chat, and so has the partner if a tab of theirs shows it
    (the message is pushed to every linked tab as this event ends): it keeps them from an
    away notice about a message they saw. Best effort, written with the other sends of
    the next moment (state.read_marks): a committed write inside the event held back the
    message's push to the partner by its fsync."""
    keys = {talk._tab_sessions[t] for t in talk._linked_from if t in talk._tab_sessions}
    read_marks.note_send(access, frozenset(keys))


def _shared_view(pair_id: int) -> journey.JourneyView | None:
    with read_scope() as db:  # reads: never wait for SQLite's write lock
        return journey.get_shared_view(db, pair_id=pair_id)


def _chat_as_mentor(pair_id: int) -> ChatSnapshot:
    with read_scope() as db:
        mentor = db.get(User, db.get(Pair, pair_id).mentor_id)  # type: ignore[union-attr]
        assert mentor is not None
        return chat_snapshot(db, mentor, pair_id)


async def refresh_pair_page(pair_id: int) -> None:
    """Out of band (an admin ended the pair): reload the pair's shared state from the
    database for every tab linked to it.

    It waits for the pair's locks, so never await it inside an event handler: the tab of
    an admin or moderator who is also a member of the pair may hold them (Reflex keeps a
    tab's links across client-side navigation and locks them at each of its events), and
    the event would wait for itself. `schedule_pair_refresh` is safe anywhere."""
    from mentor_app.mentor_app import app  # the app module imports the states

    # One token after the other, in the order the tabs lock them; each read under its
    # lock (see `PairPageState._reload`).
    token = rx.BaseStateToken(ident=live_token(pair_id), cls=PairLiveState)
    async with app.modify_state(token) as root:
        view = await in_thread(_shared_view, pair_id)
        if view is None:
            return
        live = await root.get_state(PairLiveState)
        assert isinstance(live, PairLiveState)
        live._apply(view)
    token = rx.BaseStateToken(ident=chat_token(pair_id), cls=PairChatState)
    async with app.modify_state(token) as root:
        snapshot = await in_thread(_chat_as_mentor, pair_id)
        talk = await root.get_state(PairChatState)
        assert isinstance(talk, PairChatState)
        talk._apply_chat(snapshot)


def schedule_pair_refresh(pair_id: int) -> None:
    """Refresh the pair's open pages once the calling event has let go of its locks (as
    `state.notifications.schedule_push` does): call it after the change is committed."""
    soon_logged(lambda: refresh_pair_page(pair_id), f"the open pages of pair {pair_id}")


class PairPageState(SessionState):
    pair: rx.Field[dict[str, Any]] = rx.field(default_factory=dict)
    partner_answers: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    week: rx.Field[dict[str, Any]] = rx.field(default_factory=dict)
    my_check_in: rx.Field[dict[str, str]] = rx.field(default_factory=dict)
    fit_due: rx.Field[bool] = rx.field(False)
    can_complete: rx.Field[bool] = rx.field(False)
    errors: rx.Field[dict[str, str]] = rx.field(default_factory=dict)
    message: rx.Field[str] = rx.field("")
    # The pair's status when `message` was written: the page shows the message only while
    # the status is the same (a report's thanks is not left beside "This pair ended").
    message_status: rx.Field[str] = rx.field("")
    not_found: rx.Field[bool] = rx.field(False)
    form_key: rx.Field[int] = rx.field(0)  # bumped to re-mount the check-in form
    report_open: rx.Field[bool] = rx.field(False)
    report_errors: rx.Field[dict[str, str]] = rx.field(default_factory=dict)
    # A dialog's act on its way: its submit button is busy and takes no second press.
    ending: rx.Field[bool] = rx.field(False)
    reporting: rx.Field[bool] = rx.field(False)

    def _pair_id(self) -> int:
        return self._page_id("pairs", journey.PAIR_NOT_FOUND)

    def _show(self, view: journey.JourneyView, me: User) -> None:
        self.not_found = False
        self.pair = {
            "id": view.pair_id,
            "program": view.program_title,
            "program_href": f"/programs/{view.program_id}",
            "partner": view.partner_name,
            "partner_role": view.partner_role,
            "my_role": view.my_role,
            "start_date": view.start_date.isoformat() if view.start_date else "",
            "status": view.status,
        }
        self.partner_answers = [{"question": q, "answer": a} for q, a in view.partner_answers]
        length, current = view.length_weeks, view.current_week
        in_journey = 1 <= current <= length
        self.week = {
            "number": str(current),
            "in_journey": in_journey,
            "label": (
                f"Week {current} of {length}"
                if in_journey
                else (f"Starts {view.starts}" if current < 1 and view.starts else "All weeks done")
            ),
            "timezone": me.timezone,
        }
        mine = next(
            (
                c
                for c in view.check_ins
                if c.week == current and c.role == view.my_role and in_journey
            ),
            None,
        )
        # After this week's meeting the check-in asks about it, with "we met" pre-filled.
        question = view.meeting_question if in_journey else ""
        check_in = {
            "mood": str(mine.mood) if mine else "",
            "met": ("yes" if mine.met else "no") if mine else ("yes" if question else ""),
            "note": mine.note if mine else "",
            "done": "yes" if mine else "",
            "question": question,
            "of": f"{view.pair_id}/{current}",  # another pair or week: a form of its own
        }
        # The form is re-mounted (its fields filled anew) only when what it shows changed:
        # a re-read right after the page loads (the browser's time zone comes back a moment
        # later) wiped a rating the member had just chosen.
        if check_in != self.my_check_in:
            self.my_check_in = check_in
            self.form_key += 1
        self.fit_due = view.fit_check_due
        self.can_complete = view.can_complete

    async def _live(self, access: PairAccess) -> PairLiveState:
        """This tab's copy of the pair's shared state, linked to the pair's token: only
        with the proof that this tab's user is one of the pair."""
        return await link(self, PairLiveState, access)

    async def _chat(self, access: PairAccess) -> PairChatState:
        """This tab's copy of the pair's chat, linked to the chat's token (always after
        `_live` where both are linked, so every tab takes the two locks in one order)."""
        return await link(self, PairChatState, access)

    async def _reload(self, sections: bool = False) -> EventSpec | None:
        """Check that this user is a member of the pair, link this tab to the pair's shared
        states, then read the journey and the chat and refresh what both members see.
        With `sections` (the page's load), the meetings and the goals too, so that the page
        appears whole: sections that filled in later pushed everything below them down, and
        a click on "End this pair" at the foot of the page could land on something else.

        The reads come after the links, under the shared states' locks: a message or a
        mark the partner commits meanwhile is either in what is read here, or added by
        the partner's own event after this one lets go (it commits first, then takes the
        lock). Read before, it could be overwritten by this older copy in both tabs. The
        links are always made in one order (the journey, the chat, the meetings, the
        goals), so that two tabs never wait for each other's locks."""
        try:
            pair_id = self._pair_id()
            access = await self._with_user(  # before any link
                lambda db, user: access_pair(db, actor=user, pair_id=pair_id)
            )
            live, talk = await self._live(access), await self._chat(access)
            shown = (
                (await link(self, MeetingsLiveState, access), await link_goals(self, access))
                if sections
                else None
            )
        except SignedOut:
            return self._login_redirect()
        except NotFound:
            self.not_found, self.pair = True, {}
            return None

        def read(db: Session, user: User) -> _Read:
            view = journey.get_journey(db, actor=user, pair_id=pair_id)
            snapshot = chat_snapshot(db, user, pair_id)
            presence.mark_conversation_read(db, access=access)  # the chat is in view
            if shown is None:
                return _Read(view, snapshot, user)
            return _Read(
                view,
                snapshot,
                user,
                meetings.get_meetings(db, actor=user, pair_id=pair_id),
                goals.list_goals(db, actor=user, pair_id=pair_id),
            )

        try:
            got = await self._with_user(read)
        except SignedOut:
            return self._login_redirect()
        except NotFound:
            self.not_found, self.pair = True, {}
            return None
        self._show(got.view, got.me)
        live._apply(got.view)
        talk._apply_chat(got.snapshot)
        if shown is not None and got.meetings is not None and got.goals is not None:
            shown[0]._apply(got.meetings)
            shown[1]._apply(got.goals)
        return None

    @rx.event
    async def load(self) -> Any:
        self.errors, self.message, self.report_open = {}, "", False
        talk = await self.get_state(PairChatFormState)
        assert isinstance(talk, PairChatFormState)
        talk._reset()
        follow_up = await self._reload(sections=True)
        if follow_up is not None:
            return follow_up
        if self.not_found:
            return None
        return rx.call_script(BROWSER_TIMEZONE, callback=PairPageState.set_timezone)

    @rx.event
    async def keep_alive(self) -> EventSpec | None:
        """Sent by an open pair page every keep-alive period (components/layout.keep_alive).

        The server forgets a state nobody has used for a while (Reflex's token expiration,
        an hour by default; Redis expires the keys). A pair's shared states forgotten while
        both members' pages stay open and quiet would come back with no tabs linked, and a
        message from one member would no longer reach the other's page. Each of this tab's
        events links it in again (Reflex patches the tab's links at every event); here the
        shared states are also saved again, so that they are not forgotten while any page
        of the pair is open, and read again if they already were."""
        if self.not_found or not self.pair:
            return None
        live = await self.get_state(PairLiveState)
        talk = await self.get_state(PairChatState)
        assert isinstance(live, PairLiveState) and isinstance(talk, PairChatState)
        if not keep_saved(live, talk):
            return await self._reload()  # forgotten: read as a page load does
        return None

    @rx.event
    async def set_timezone(self, name: Any) -> EventSpec | None:
        """The browser's zone, sent once the page has loaded. The page is read again only
        when the zone on record changes (its weeks and times move): when it is the one
        known, as on nearly every visit, a second read sent the whole page again, and the
        browser drew it all a second time (Lighthouse's blocking time on a phone)."""
        zone = str(name or "")
        try:
            if not await self._with_user(
                lambda db, user: journey.timezone_differs(db, actor=user, timezone=zone),
                read_only=True,
            ):
                return None
            await self._with_user(
                lambda db, user: journey.set_timezone(db, actor=user, timezone=zone)
            )
        except SignedOut:
            return self._login_redirect()
        return await self._reload()

    async def _act(
        self, action: Callable[[Any, User, int], object], success: str, error_key: str = "form"
    ) -> EventSpec | None:
        self.errors, self.message = {}, ""
        try:
            pair_id = self._pair_id()
            await self._with_user(lambda db, user: action(db, user, pair_id))
        except SignedOut:
            return self._login_redirect()
        except NotFound:
            self.not_found, self.pair = True, {}
            return None
        except ServiceError as error:
            self.errors = {error.field or error_key: error.message}
            return await self._reload()
        self.message = success
        shown = await self._reload()
        self.message_status = str(self.pair.get("status", ""))
        return shown

    @rx.event
    async def mark_done(self, week: int) -> EventSpec | None:
        return await self._act(
            lambda db, user, pid: journey.mark_step_done(
                db, actor=user, pair_id=pid, week=int(week)
            ),
            f"Week {week} marked done.",
            "steps",
        )

    @rx.event
    async def undo_done(self, week: int) -> EventSpec | None:
        return await self._act(
            lambda db, user, pid: journey.undo_step(db, actor=user, pair_id=pid, week=int(week)),
            f"Your mark on week {week} was taken back.",
            "steps",
        )

    @rx.event
    async def save_check_in(self, form: dict[str, Any]) -> EventSpec | None:
        return await self._act(
            lambda db, user, pid: journey.save_check_in(
                db,
                actor=user,
                pair_id=pid,
                mood=form.get("mood", ""),
                met=form.get("met", ""),
                note=form.get("note", ""),
            ),
            "Check-in saved.",
            "check_in",
        )

    @rx.event
    async def answer_fit(self, answer: str) -> EventSpec | None:
        message = (
            "Thanks. The program's admins have been told; you can end this pair below to be "
            "matched again."
            if answer == "not_good"
            else "Thanks for answering."
        )
        return await self._act(
            lambda db, user, pid: journey.answer_fit_check(
                db, actor=user, pair_id=pid, answer=str(answer)
            ),
            message,
            "fit",
        )

    @rx.event
    async def end_pair(self, form: dict[str, Any]) -> AsyncIterator[EventSpec | None]:
        async for step in while_busy_async(
            self,
            "ending",
            lambda: self._act(
                lambda db, user, pid: journey.end_pair(
                    db,
                    actor=user,
                    pair_id=pid,
                    reason=str(form.get("reason", "")),
                    rating=form.get("rating", ""),
                    detail=form.get("detail", ""),
                ),
                "The pair has ended. Its history stays here for the two of you.",
                "end",
            ),
        ):
            yield step

    @rx.event
    async def complete(self, form: dict[str, Any]) -> EventSpec | None:
        shown = await self._act(
            lambda db, user, pid: journey.complete_pair(
                db,
                actor=user,
                pair_id=pid,
                rating=form.get("rating", ""),
                takeaway=form.get("takeaway", ""),
                goal_answers=goals.survey_fields(form),
            ),
            "Thank you! Your closing survey is in.",
            "survey",
        )
        if not self.errors and not self.not_found:
            schedule_goals_refresh(self._pair_id())  # the survey's answers, on both pages
        return shown

    @rx.event
    def open_report(self) -> None:
        self.report_open, self.report_errors = True, {}

    @rx.event
    def set_report_open(self, value: bool) -> None:
        self.report_open, self.report_errors = bool(value), {}

    @rx.event
    def close_report(self) -> None:
        self.report_open, self.report_errors = False, {}

    @rx.event
    async def send_report(self, form: dict[str, Any]) -> AsyncIterator[EventSpec | None]:
        self.report_errors = {}
        async for step in while_busy_async(self, "reporting", lambda: self._report(form)):
            yield step

    async def _report(self, form: dict[str, Any]) -> EventSpec | None:
        ids = [int(k[2:]) for k, v in form.items() if k.startswith("m-") and k[2:].isdigit() and v]
        try:
            pair_id = self._pair_id()
            await self._with_user(
                lambda db, user: chat.report(
                    db,
                    actor=user,
                    pair_id=pair_id,
                    category=str(form.get("category", "")),
                    message_ids=ids,
                    details=form.get("details", ""),
                )
            )
        except SignedOut:
            return self._login_redirect()
        except NotFound:
            self.not_found, self.pair = True, {}
            return None
        except ServiceError as error:
            self.report_errors = {error.field or "form": error.message}
            return None
        self.report_open = False
        self.message = (
            "Thank you. Your report has gone to the site moderators; "
            + self.pair.get("partner", "your partner")
            + " is not told."
        )
        self.message_status = str(self.pair.get("status", ""))
        return None

    @rx.event
    async def block(self) -> Any:
        return await self._act(
            lambda db, user, pid: chat.block_partner(db, actor=user, pair_id=pid),
            "You blocked "
            + str(self.pair.get("partner", "your partner"))
            + ". No messages pass between you, and you won't be paired again. "
            "You can lift the block in Settings.",
            "block",
        )


class PairChatFormState(PairPageState):
    """The chat's composer and the earlier pages this tab loaded: a state of their own, so
    the answer to a send changes the chat alone and the rest of the page is not re-drawn
    (every part of the page that reads `PairPageState` is, when it changes)."""

    # Bumped once the server has committed a message: the composer re-mounts empty, with a
    # new client id to come, in the same answer as the message (no second frame to wait for).
    composer_key: rx.Field[int] = rx.field(0)
    # Once "Load earlier" is pressed, this tab keeps its own copy of what it shows: the
    # older pages and the live window as it was, up to `shown_until` (the last message's
    # id). The shared window keeps the latest fifty only, so a message that falls out of
    # it stays in view here; the shared messages after `shown_until` show below it.
    earlier: rx.Field[list[dict[str, Any]]] = rx.field(default_factory=list)
    earlier_more: rx.Field[bool] = rx.field(False)
    shown_until: rx.Field[int] = rx.field(0)
    chat_error: rx.Field[str] = rx.field("")
    # What became of this tab's sends, by the client id the page gave each (the page shows
    # a send as "Sending…" until its id is in one of these): the ids the server stored, and
    # the ids it refused with the reason. Kept across page loads (a send queued while the
    # connection was down is answered after the page's reload), the last few only.
    sent_ids: rx.Field[list[str]] = rx.field(default_factory=list)
    refused: rx.Field[dict[str, str]] = rx.field(default_factory=dict)

    def _reset(self) -> None:
        assign_changed(self, chat_error="", earlier=[], earlier_more=False, shown_until=0)

    def _note_outcome(self, client_id: str, refusal: str | None) -> None:
        """The answer to the send with this client id, for the page's pending copy of it."""
        if not client_id or len(client_id) > SEND_ID_MAX:
            return
        refused = {k: v for k, v in self.refused.items() if k != client_id}
        if refusal is None:
            if client_id not in self.sent_ids:
                self.sent_ids = [*self.sent_ids, client_id][-SENDS_KEPT:]
        else:
            refused[client_id] = refusal
        if refused != self.refused:
            self.refused = dict(list(refused.items())[-SENDS_KEPT:])

    def _keep(self, messages: list[dict[str, Any]], more: bool) -> None:
        """Bounded: at most EARLIER_MAX + a page, the newest kept (the gap to the live
        window must not open again); "Load earlier" goes once the bound is reached."""
        kept = messages[-(EARLIER_MAX + chat.PAGE_SIZE) :]
        self.earlier = kept
        self.earlier_more = more and len(messages) < EARLIER_MAX + chat.PAGE_SIZE
        self.shown_until = int(kept[-1]["id"]) if kept else 0

    @rx.event
    async def send(self, form: dict[str, Any]) -> Any:
        """Store the message, then show it to both members: only a committed message is
        shown as sent. On a refusal the composer keeps the text."""
        if self.chat_error:
            self.chat_error = ""
        pair_id = self._pair_id()
        client_id = str(form.get("client_id", ""))

        def store(db: Session, user: User) -> tuple[PairAccess, dict[str, Any]]:
            access = access_pair(db, actor=user, pair_id=pair_id)
            sent = chat.send_message(
                db,
                actor=user,
                pair_id=pair_id,
                body=form.get("body", ""),
                client_id=client_id or None,
            )
            db.commit()  # committed before anyone is shown the message
            return access, _message(
                chat.MessageView(
                    id=sent.id or 0,
                    sender_id=sent.sender_id,
                    sender_name=user.display_name,
                    # The role in the pair written to, not what this tab last showed.
                    sender_role=access.role,
                    body=sent.body,
                    created_at=sent.created_at,
                )
            )

        try:
            access, shown = await self._with_user(store)
        except SignedOut:
            return self._login_redirect()
        except NotFound:
            self.not_found, self.pair = True, {}
            return None
        except ServiceError as error:
            self.chat_error = error.message
            self._note_outcome(client_id, error.message)
            if isinstance(error, Conflict):  # blocked or ended meanwhile: show it now
                await self._reload()
            return None
        try:
            talk = await self._chat(access)
        except SignedOut:  # the session ended since the send: the message is stored
            return self._login_redirect()
        talk._add_message(shown)
        self.composer_key += 1
        self._note_outcome(client_id, None)
        _note_read_after_send(access, talk)
        return None

    @rx.event
    async def load_earlier(self) -> Any:
        try:
            pair_id = self._pair_id()
            access = await self._with_user(  # before any link
                lambda db, user: access_pair(db, actor=user, pair_id=pair_id)
            )
            # The first press copies the live window: from then on it stays in view here.
            shown = [dict(m) for m in (self.earlier or (await self._chat(access)).messages)]
            before = int(shown[0]["id"]) if shown else None
            older, more = await self._with_user(
                lambda db, user: chat.list_messages(
                    db, actor=user, pair_id=pair_id, before_id=before
                )
            )
        except SignedOut:
            return self._login_redirect()
        except NotFound:
            self.not_found, self.pair = True, {}
            return None
        self._keep([_message(m) for m in older] + shown, more)
        return None

    @rx.event
    async def load_newer(self) -> Any:
        """The page asks for this when the shared window has moved past what this tab
        kept (more than fifty messages came since "Load earlier"): the messages between
        join the kept ones, a page at a time, so none drops out of view."""
        after, kept = self.shown_until, bool(self.earlier)
        try:
            pair_id = self._pair_id()

            def read(db: Session, user: User) -> list[chat.MessageView]:
                if not kept:  # nothing kept here: the shared window shows it all
                    access_pair(db, actor=user, pair_id=pair_id)
                    return []
                return chat.list_messages(db, actor=user, pair_id=pair_id, after_id=after)[0]

            newer = await self._with_user(read)
        except SignedOut:
            return self._login_redirect()
        except NotFound:
            self.not_found, self.pair = True, {}
            return None
        if newer:
            self._keep(
                [dict(m) for m in self.earlier] + [_message(m) for m in newer], self.earlier_more
            )
        return None


# A chat send's write is announced as its event arrives (state/write_ahead.py).
announce_on_arrival(f"{PairChatFormState.get_full_name()}.send")
