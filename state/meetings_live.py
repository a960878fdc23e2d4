"""What both members of a pair see of its meetings, in a shared state of its own per pair
(`MeetingsLiveState`), linked only with the service's proof of access. Apart from the
Meetings section's forms (`state.meetings`), so that the pair page's load
(`state.journey`) can link and read it in the same event as the rest of the page.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from mentor_app.services import meetings
from mentor_app.services.access import PairAccess
from state.linked import assign_changed, clean_and_send, note_read, patch_in_fresh

ROLES = ("mentor", "mentee")


def meetings_token(pair_id: int) -> str:
    return f"meetings-{pair_id}"  # a token of its own (see state.journey.chat_token)


def _time(text: meetings.TimeText | None) -> dict[str, str]:
    return {role: text.by_role.get(role, "") for role in ROLES} if text else {}


def _meeting(view: meetings.MeetingView) -> dict[str, Any]:
    starts, coming = _time(view.starts), _time(view.next)
    return {
        "id": str(view.id),
        "waiting_for": view.waiting_for,
        "proposer_role": view.proposer_role,
        "mentor": starts.get("mentor", ""),
        "mentee": starts.get("mentee", ""),
        "next_mentor": coming.get("mentor", ""),
        "next_mentee": coming.get("mentee", ""),
        "duration": f"{view.duration_minutes} min",
        "link": view.video_link,
        "repeat": f"Every week until {view.repeat_until}" if view.weekly else "",
        "weekly": "yes" if view.weekly else "",
    }


class MeetingsLiveState(rx.SharedState):
    """What both members of a pair see of its meetings. No event handlers: only the server
    writes it, after the meetings service has checked who is asking."""

    _internal_patch_linked_state = patch_in_fresh
    _clean = clean_and_send
    _tab_sessions: dict[str, str] = {}  # tab -> key of the session that linked it (server)
    _read: bool = False

    @classmethod
    def link_token(cls, access: PairAccess) -> str:
        return meetings_token(access.pair_id)

    proposal: rx.Field[dict[str, Any]] = rx.field(default_factory=dict)  # {} when none
    # The proposed times: {"index", "mentor", "mentee"} (each member's wording).
    options: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    booked: rx.Field[list[dict[str, Any]]] = rx.field(default_factory=list)
    last_day: rx.Field[str] = rx.field("")

    def _apply(self, view: meetings.MeetingsView) -> None:
        proposal = view.proposal
        assign_changed(
            self,
            proposal=_meeting(proposal) if proposal else {},
            options=[
                {"index": str(option.index), **_time(option)}
                for option in (proposal.options if proposal else [])
            ],
            booked=[_meeting(m) for m in view.booked],
            last_day=view.last_day,
        )
        note_read(self)
