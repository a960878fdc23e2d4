"""The pair page's Meetings section: propose times, pick one, reschedule, cancel.

What both members see (the open proposal, the booked meetings, each time worded for each
member) lives in `MeetingsLiveState`, a shared state on its own token per pair, linked only
with the service's proof of access (`state.meetings_live`), so the partner's open page
shows a proposal or a booking at once. The forms, their errors and busy flags are the
tab's own (`MeetingsState`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import reflex as rx
from reflex.event import EventSpec
from sqlmodel import Session

from mentor_app.models import User
from mentor_app.services import meetings
from mentor_app.services.access import PairAccess, access_pair
from mentor_app.services.errors import NotFound, ServiceError
from state.busy import while_busy_async
from state.journey import PairPageState
from state.linked import keep_saved, link
from state.meetings_live import MeetingsLiveState
from state.session import SignedOut


class MeetingsState(PairPageState):
    """One tab's side of the Meetings section."""

    meeting_errors: rx.Field[dict[str, str]] = rx.field(default_factory=dict)
    meeting_message: rx.Field[str] = rx.field("")
    suggesting: rx.Field[bool] = rx.field(False)  # the partner's "Suggest other times"
    proposing: rx.Field[bool] = rx.field(False)
    rescheduling: rx.Field[str] = rx.field("")  # the meeting whose dialog is open
    moving: rx.Field[bool] = rx.field(False)
    propose_key: rx.Field[int] = rx.field(0)  # bumped to empty the propose form

    async def _show_meetings(self, access: PairAccess) -> None:
        """Link this tab to the pair's meetings (with the proof), then read them under the
        shared state's lock and show them to both members."""
        live = await link(self, MeetingsLiveState, access)
        view = await self._with_user(
            lambda db, user: meetings.get_meetings(db, actor=user, pair_id=access.pair_id),
            read_only=True,
        )
        live._apply(view)

    @rx.event
    async def load_meetings(self) -> EventSpec | None:
        """When the section appears on the pair page."""
        self.meeting_errors, self.meeting_message, self.suggesting = {}, "", False
        return await self._load()

    @rx.event
    async def keep_meetings_alive(self) -> EventSpec | None:
        """Sent by the open section every keep-alive period, as `PairPageState.keep_alive`
        is: the pair's meetings stay saved while a page shows them (a forgotten copy would
        no longer reach the partner's page), and are read again if they were forgotten."""
        if self.not_found or not self.pair:
            return None
        live = await self.get_state(MeetingsLiveState)
        assert isinstance(live, MeetingsLiveState)
        if not keep_saved(live):
            return await self._load()
        return None

    async def _load(self) -> EventSpec | None:
        try:
            pair_id = self._pair_id()
            access = await self._with_user(
                lambda db, user: access_pair(db, actor=user, pair_id=pair_id), read_only=True
            )
            await self._show_meetings(access)
        except SignedOut:
            return self._login_redirect()
        except NotFound:
            return None
        return None

    async def _meeting_act(
        self, act: Callable[[Session, User, int], object], success: str, error_key: str
    ) -> EventSpec | None:
        self.meeting_errors, self.meeting_message = {}, ""
        try:
            pair_id = self._pair_id()

            def work(db: Session, user: User) -> PairAccess:
                access = access_pair(db, actor=user, pair_id=pair_id)
                act(db, user, pair_id)
                return access

            access = await self._with_user(work)
        except SignedOut:
            return self._login_redirect()
        except ServiceError as error:
            self.meeting_errors = {error.field or error_key: error.message}
            return None
        self.meeting_message = success
        try:
            await self._show_meetings(access)
        except SignedOut:
            return self._login_redirect()
        except NotFound:
            return None
        return None

    @rx.event
    async def propose(self, form: dict[str, Any]) -> AsyncIterator[EventSpec | None]:
        times = [form.get(f"time{i}", "") for i in range(1, meetings.OPTIONS_MAX + 1)]

        async def act() -> EventSpec | None:
            shown = await self._meeting_act(
                lambda db, user, pid: meetings.propose(
                    db,
                    actor=user,
                    pair_id=pid,
                    times=times,
                    duration=form.get("duration", ""),
                    video_link=form.get("video_link", ""),
                    weekly=form.get("weekly", ""),
                ),
                "Your times are proposed: your partner picks one.",
                "propose",
            )
            if not self.meeting_errors:
                self.suggesting = False
                self.propose_key += 1
            return shown

        async for step in while_busy_async(self, "proposing", act):
            yield step

    @rx.event
    async def accept(self, meeting_id: str, option: str) -> EventSpec | None:
        return await self._meeting_act(
            lambda db, user, _pid: meetings.accept(
                db, actor=user, meeting_id=meeting_id, option=option
            ),
            "Meeting booked: the calendar invite is on its way to you both.",
            "answer",
        )

    @rx.event
    def suggest_other_times(self) -> None:
        self.suggesting, self.meeting_errors = True, {}

    @rx.event
    def stop_suggesting(self) -> None:
        self.suggesting, self.meeting_errors = False, {}

    @rx.event
    def open_reschedule(self, meeting_id: str) -> None:
        self.rescheduling, self.meeting_errors = str(meeting_id), {}

    @rx.event
    def set_reschedule_open(self, value: bool) -> None:
        if not value:
            self.rescheduling, self.meeting_errors = "", {}

    @rx.event
    async def reschedule(self, form: dict[str, Any]) -> AsyncIterator[EventSpec | None]:
        meeting_id = str(form.get("meeting_id", ""))

        async def act() -> EventSpec | None:
            shown = await self._meeting_act(
                lambda db, user, _pid: meetings.reschedule(
                    db,
                    actor=user,
                    meeting_id=meeting_id,
                    time=form.get("time", ""),
                    video_link=form.get("video_link", ""),
                ),
                "Meeting moved: the new invite is on its way to you both.",
                "reschedule",
            )
            if not self.meeting_errors:
                self.rescheduling = ""
            return shown

        async for step in while_busy_async(self, "moving", act):
            yield step

    @rx.event
    async def cancel_meeting(self, meeting_id: str) -> EventSpec | None:
        return await self._meeting_act(
            lambda db, user, _pid: meetings.cancel(db, actor=user, meeting_id=meeting_id),
            "Cancelled. Your partner is told.",
            "answer",
        )
