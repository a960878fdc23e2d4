"""The pairing workspace, a member's pairs and notifications, and a pair's page.

Every event re-resolves the user and lets the pairing service check that they are an
admin of the program's group (or a member of the pair): nothing is trusted from the page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import reflex as rx
from reflex.event import EventSpec

from mentor_app.services import journey, notifications, pairing
from mentor_app.services.errors import NotFound, PermissionDenied, ServiceError
from state.journey import refresh_pair_page
from state.session import SessionState, SignedOut

CHART_BAR_MAX_PX = 80


def _pair_row(row: pairing.PairRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "mentor": row.mentor_name,
        "mentee": row.mentee_name,
        "score": str(row.score),
        "reasons": list(row.reasons),
        "progress": f"{row.steps_done}/{row.steps_total}",
        "check_ins": str(row.check_ins),
    }


class PairingWorkspaceState(SessionState):
    program: rx.Field[dict[str, Any]] = rx.field(default_factory=dict)
    denied: rx.Field[str] = rx.field("")
    search: rx.Field[str] = rx.field("")
    free_only: rx.Field[bool] = rx.field(False)
    mentees: rx.Field[list[dict[str, Any]]] = rx.field(default_factory=list)
    mentors: rx.Field[list[dict[str, Any]]] = rx.field(default_factory=list)
    mentors_free: rx.Field[list[dict[str, Any]]] = rx.field(default_factory=list)
    totals: rx.Field[dict[str, int]] = rx.field(default_factory=dict)
    drafts: rx.Field[list[dict[str, Any]]] = rx.field(default_factory=list)
    published: rx.Field[list[dict[str, Any]]] = rx.field(default_factory=list)
    ended: rx.Field[list[dict[str, Any]]] = rx.field(default_factory=list)
    fairness: rx.Field[dict[str, Any]] = rx.field(default_factory=dict)
    chart: rx.Field[list[dict[str, Any]]] = rx.field(default_factory=list)
    selected: rx.Field[dict[str, Any]] = rx.field(default_factory=dict)
    suggestions: rx.Field[list[dict[str, Any]]] = rx.field(default_factory=list)
    errors: rx.Field[dict[str, str]] = rx.field(default_factory=dict)
    message: rx.Field[str] = rx.field("")
    working: rx.Field[bool] = rx.field(False)

    def _program_id(self) -> int:
        return self._page_id("programs", "Program not found.")

    def _refresh(self) -> EventSpec | None:
        """Reload the workspace; a selected mentee keeps their suggestions if still waiting."""
        try:
            with self._as_user() as (db, user):
                ws = pairing.get_workspace(
                    db,
                    actor=user,
                    program_id=self._program_id(),
                    search=self.search,
                    free_only=self.free_only,
                )
                chosen = self.selected.get("id")
                waiting = {m.enrollment_id for m in ws.mentees_waiting}
                found = (
                    pairing.suggest_mentors(
                        db, actor=user, program_id=ws.program_id, mentee_enrollment_id=chosen
                    )
                    if chosen in waiting
                    else None
                )
        except SignedOut:
            return self._login_redirect()
        except (NotFound, PermissionDenied) as error:
            self.denied, self.program = error.message, {}
            return None
        self.denied = ""
        self.program = {
            "id": ws.program_id,
            "title": ws.title,
            "status": ws.status,
            "can_pair": ws.can_pair,
            "href": f"/programs/{ws.program_id}",
        }
        self.mentees = [
            {"id": m.enrollment_id, "name": m.name, "rematch": m.rematch}
            for m in ws.mentees_waiting
        ]
        self.mentors = [
            {
                "id": m.enrollment_id,
                "name": m.name,
                "load": f"{m.used}/{m.capacity}",
                "free": m.free,
            }
            for m in ws.mentors
        ]
        self.mentors_free = [m for m in self.mentors if m["free"] > 0]
        self.totals = {
            "mentees": ws.mentees_waiting_total,
            "mentors": ws.mentors_total,
            "mentees_shown": len(ws.mentees_waiting),
            "mentors_shown": len(ws.mentors),
        }
        self.drafts = [_pair_row(p) for p in ws.drafts]
        self.published = [_pair_row(p) for p in ws.published]
        self.ended = [
            {
                "id": e.id,
                "mentor": e.mentor_name,
                "mentee": e.mentee_name,
                "status": e.status,
                "reason": journey.END_REASONS.get(e.reason, e.reason),
                "detail": e.detail,
                "rating": f"{e.rating} of 5" if e.rating else "—",
                "when": e.ended_at.strftime("%d %b %Y") if e.ended_at else "",
            }
            for e in ws.ended
        ]
        f = ws.fairness
        self.fairness = {
            "unmatched": f.unmatched,
            "unmatched_names": ", ".join(f.unmatched_names) or "nobody",
            "full_mentors": ", ".join(f.full_mentors) or "none",
            "published": f.published,
            "median": "—" if f.median_score is None else str(f.median_score),
        }
        peak = max((n for _label, n in f.score_buckets), default=0) or 1
        self.chart = [
            {
                "label": label,
                "count": str(n),
                "name": f"{n} {'pair' if n == 1 else 'pairs'} scored {label}",
                "height": f"{max(2, round(CHART_BAR_MAX_PX * n / peak))}px",
            }
            for label, n in f.score_buckets
        ]
        if found is None:
            self.selected, self.suggestions = {}, []
        else:
            self.suggestions = [
                {
                    "id": s.mentor_enrollment_id,
                    "name": s.name,
                    "score": str(s.score),
                    "load": f"{s.used}/{s.capacity}",
                    "reasons": list(s.reasons),
                }
                for s in found
            ]
        return None

    @rx.event
    def load(self) -> EventSpec | None:
        self.errors, self.message, self.selected, self.suggestions = {}, "", {}, []
        self.search, self.free_only = "", False
        return self._refresh()

    @rx.event
    def set_search(self, value: str) -> EventSpec | None:
        self.search = value[: pairing.SEARCH_MAX]
        return self._refresh()

    @rx.event
    def set_free_only(self, value: bool) -> EventSpec | None:
        self.free_only = bool(value)
        return self._refresh()

    @rx.event
    def select_mentee(self, enrollment_id: int, name: str) -> EventSpec | None:
        self.errors, self.message = {}, ""
        self.selected = {"id": int(enrollment_id), "name": str(name)}
        return self._refresh()

    @rx.event
    def clear_selection(self) -> None:
        self.selected, self.suggestions, self.errors = {}, [], {}

    def _act(
        self, action: Any, success: str | Callable[[Any], str], error_key: str = "form"
    ) -> EventSpec | None:
        """Run one service call as the signed-in admin, then reload the workspace."""
        self.errors, self.message = {}, ""
        try:
            with self._as_user() as (db, user):
                outcome = action(db, user, self._program_id())
        except SignedOut:
            return self._login_redirect()
        except ServiceError as error:
            self.errors = {error.field or error_key: error.message}
            return self._refresh()
        self.message = success(outcome) if callable(success) else success
        return self._refresh()

    @rx.event
    def pair_with(self, mentor_enrollment_id: int) -> EventSpec | None:
        return self._pair(int(mentor_enrollment_id))

    def _pair(self, mentor_enrollment_id: int) -> EventSpec | None:
        mentee_id = int(self.selected.get("id", 0))
        name = self.selected.get("name", "")
        return self._act(
            lambda db, user, pid: pairing.pair_by_hand(
                db,
                actor=user,
                program_id=pid,
                mentee_enrollment_id=mentee_id,
                mentor_enrollment_id=int(mentor_enrollment_id),
            ),
            f"Draft pair made for {name}. Publish pairs to tell them.",
            "pair",
        )

    @rx.event
    def pair_manually(self, form: dict[str, Any]) -> EventSpec | None:
        raw = str(form.get("mentor", ""))
        if not raw.isdigit():
            self.errors = {"pair": "Choose a mentor."}
            return None
        return self._pair(int(raw))

    @rx.event
    def unpair(self, pair_id: int) -> EventSpec | None:
        return self._act(
            lambda db, user, _pid: pairing.unpair(db, actor=user, pair_id=int(pair_id)),
            "Draft pair removed.",
            "drafts",
        )

    @rx.event
    def suggest_all(self, form: dict[str, Any]):  # type: ignore[no-untyped-def]
        # A whole cohort takes a moment: show the button busy first.
        self.working = True
        yield
        follow_up = self._suggest_all(str(form.get("min_score", "")))
        self.working = False
        if follow_up is not None:
            yield follow_up

    def _suggest_all(self, min_score: str) -> EventSpec | None:
        return self._act(
            lambda db, user, pid: pairing.suggest_all(
                db, actor=user, program_id=pid, min_score=min_score
            ),
            lambda made: (
                f"Suggested {len(made)} draft pairs. Review them, then publish."
                if made
                else "No new pairs reach the minimum score."
            ),
            "min_score",
        )

    @rx.event
    def publish(self) -> EventSpec | None:
        def done(result: pairing.PublishResult) -> str:
            text = f"Published {result.published} pairs; each member has been told."
            if result.dropped:
                text += " Not published: " + " ".join(result.dropped)
            return text

        return self._act(
            lambda db, user, pid: pairing.publish_pairs(db, actor=user, program_id=pid),
            done,
            "drafts",
        )

    @rx.event
    async def end_pair(self, form: dict[str, Any]) -> EventSpec | None:
        raw = str(form.get("pair_id", ""))
        pair_id = int(raw) if raw.isdigit() else 0
        follow_up = self._act(
            lambda db, user, _pid: journey.end_pair(
                db,
                actor=user,
                pair_id=pair_id,
                reason=str(form.get("reason", "")),
                rating=form.get("rating", ""),
                detail=form.get("detail", ""),
            ),
            "The pair has ended. The mentee is back in the waiting list with rematch priority.",
            "end",
        )
        if not self.errors:
            await refresh_pair_page(pair_id)  # the members' open pages turn read-only
        return follow_up


class MyPairsState(SessionState):
    """The member's pairs and latest notifications, on their home page (My groups)."""

    pairs: rx.Field[list[dict[str, Any]]] = rx.field(default_factory=list)
    notices: rx.Field[list[dict[str, Any]]] = rx.field(default_factory=list)
    unread: rx.Field[int] = rx.field(0)

    def _load(self) -> EventSpec | None:
        try:
            with self._as_user() as (db, user):
                mine = pairing.list_my_pairs(db, actor=user)
                recent = notifications.list_recent(db, actor=user, limit=10)
        except SignedOut:
            return self._login_redirect()
        self.pairs = [
            {
                "id": p.pair_id,
                "href": f"/pairs/{p.pair_id}",
                "program": p.program_title,
                "partner": p.partner_name,
                "role": p.my_role,
                "partner_role": "mentee" if p.my_role == "mentor" else "mentor",
                "status": p.status,
            }
            for p in mine
        ]
        self.notices = [
            {
                "id": n.id,
                "text": n.text,
                "href": n.link,
                "when": n.created_at.strftime("%d %b %Y, %H:%M UTC"),
                "read": n.read,
            }
            for n in recent
        ]
        self.unread = sum(1 for n in recent if not n.read)
        return None

    @rx.event
    def load(self) -> EventSpec | None:
        return self._load()

    @rx.event
    def mark_all_read(self) -> EventSpec | None:
        try:
            with self._as_user() as (db, user):
                notifications.mark_all_read(db, actor=user)
        except SignedOut:
            return self._login_redirect()
        return self._load()
