"""A program's dashboard, for its group's admins: figures, check-in chart, pairs by health,
the CSV export and pausing a pair. The dashboard service checks the admin every time."""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex.event import EventSpec

from mentor_app.apart import ApartFailed
from mentor_app.services import dashboard
from mentor_app.services.errors import NotFound, PermissionDenied, ServiceError
from state.paging import EMPTY_PAGE_INFO, page_info
from state.session import SessionState, SignedOut

CHART_BAR_MAX_PX = 120
# A big program's board is worked out in a helper process (mentor_app.apart); if that fails,
# the page says so and keeps what it showed.
BOARD_STOPPED = (
    "The dashboard's figures could not be worked out just now. Reload the page in a moment."
)
BAND_COLORS = {dashboard.HEALTHY: "green", dashboard.WATCH: "amber", dashboard.AT_RISK: "red"}


def _pair_row(p: dashboard.PairHealth) -> dict[str, Any]:
    return {
        "id": p.pair_id,
        "mentor": p.mentor_name,
        "mentee": p.mentee_name,
        "who": f"{p.mentee_name} and {p.mentor_name}",
        "score": str(p.score if p.score is not None else ""),
        "band": p.band,
        "color": BAND_COLORS.get(p.band, "gray"),
        "at_risk": p.band == dashboard.AT_RISK,
        "paused": p.paused,
        "week": f"Week {p.current_week} of {p.steps_total}",
        "progress": f"{p.steps_done}/{p.steps_total}",
        "check_ins": str(p.check_ins),
        "reasons": [r.text for r in p.reasons],
        "action": p.action or "Nothing to do",
    }


class ProgramDashboardState(SessionState):
    program: rx.Field[dict[str, Any]] = rx.field(default_factory=dict)
    denied: rx.Field[str] = rx.field("")
    kpis: rx.Field[dict[str, str]] = rx.field(default_factory=dict)
    chart: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    meetings_chart: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    # One page of the active pairs by health (the CSV export has them all).
    pairs: rx.Field[list[dict[str, Any]]] = rx.field(default_factory=list)
    pairs_total: rx.Field[int] = rx.field(0)  # active pairs, whatever the filter
    pairs_page: rx.Field[int] = rx.field(0)
    pairs_info: rx.Field[dict[str, Any]] = rx.field(default_factory=lambda: EMPTY_PAGE_INFO)
    turning: rx.Field[bool] = rx.field(False)  # the next page is on its way
    at_risk_only: rx.Field[bool] = rx.field(False)
    message: rx.Field[str] = rx.field("")
    error: rx.Field[str] = rx.field("")

    def _program_id(self) -> int:
        return self._page_id("programs", "Program not found.")

    def _refresh(
        self, *, fresh: bool = False, page: int | None = None, at_risk_only: bool | None = None
    ) -> EventSpec | None:
        """Read the page shown, or page `page` of the pairs with `at_risk_only` (the list's
        page and filter change once it is read: a failed read leaves the page showing what
        it says it shows); `fresh`: not from the dashboard's short cache (after this admin
        changed something it shows)."""
        page = self.pairs_page if page is None else page
        at_risk_only = self.at_risk_only if at_risk_only is None else at_risk_only
        try:
            with self._reading_as_user() as (db, user):
                view = dashboard.get_dashboard_page(
                    db,
                    actor=user,
                    program_id=self._program_id(),
                    page=page,
                    at_risk_only=at_risk_only,
                    max_age_s=0 if fresh else None,
                )
        except SignedOut:
            return self._login_redirect()
        except (NotFound, PermissionDenied) as error:
            self.denied, self.program, self.pairs = error.message, {}, []
            self.pairs_info = EMPTY_PAGE_INFO
            return None
        except ApartFailed:
            if self.program.get("id") == self._program_id():  # what it shows stays
                self.message, self.error = "", BOARD_STOPPED
            else:  # nothing to show yet
                self.denied = BOARD_STOPPED
            return None
        board = view.board
        self.denied = ""
        self.program = {
            "id": board.program_id,
            "title": board.title,
            "status": board.status,
            "href": f"/programs/{board.program_id}",
        }
        rate = board.match_rate
        self.kpis = {
            "applications": str(board.signed_up),
            "mentors": str(board.applications.get("mentor", 0)),
            "mentees": str(board.applications.get("mentee", 0)),
            "withdrawn": str(board.withdrawn),
            "match_rate": "—" if rate is None else f"{rate}%",
            "matched": f"{board.matched} of {board.signed_up} members in an active pair",
            "active": str(board.pair_counts.get("active", 0)),
            "ended": str(board.pair_counts.get("ended", 0)),
            "completed": str(board.pair_counts.get("completed", 0)),
            "steps": str(board.steps_completed),
            "goals": str(board.goals_set),
            "goal_progress": (
                "no goals set yet"
                if board.goal_progress is None
                else f"average progress {board.goal_progress}%"
            ),
        }
        self.chart = [
            {
                "label": f"W{r.week}",
                "percent": f"{r.percent}%",
                "name": f"Week {r.week}: {r.percent}% checked in",
                "detail": f"{r.check_ins} of {r.expected} check-ins",
                "height": f"{max(2, round(CHART_BAR_MAX_PX * r.percent / 100))}px",
            }
            for r in board.check_in_rates
        ]
        self.meetings_chart = [
            {
                "label": f"W{r.week}",
                "percent": f"{r.percent}%",
                "name": f"Meetings in week {r.week}: {r.percent}% of active pairs",
                "detail": f"{r.held} of {r.pairs} active pairs",
                "height": f"{max(2, round(CHART_BAR_MAX_PX * r.percent / 100))}px",
            }
            for r in board.meeting_rates
        ]
        self.pairs_total, self.at_risk_only = view.active_total, at_risk_only
        self.pairs = [_pair_row(p) for p in view.pairs.items]
        self.pairs_page = view.pairs.page  # a page the list has, after a change
        self.pairs_info = page_info(view.pairs)
        return None

    @rx.event
    def load(self) -> EventSpec | None:
        self.message, self.error, self.turning = "", "", False
        return self._refresh(page=0, at_risk_only=False)

    @rx.event
    def set_at_risk_only(self, value: bool) -> EventSpec | None:
        return self._refresh(page=0, at_risk_only=bool(value))

    def _turn(self, step: int):  # type: ignore[no-untyped-def]
        self.turning = True  # the table shows it is loading until its page is here
        yield
        follow_up = self._refresh(page=max(0, self.pairs_page + step))
        self.turning = False
        if follow_up is not None:
            yield follow_up

    @rx.event
    def next_pairs(self):  # type: ignore[no-untyped-def]
        yield from self._turn(1)

    @rx.event
    def previous_pairs(self):  # type: ignore[no-untyped-def]
        yield from self._turn(-1)

    @rx.event
    def set_paused(self, pair_id: int, paused: bool) -> EventSpec | None:
        self.message, self.error = "", ""
        try:
            with self._as_user() as (db, user):
                dashboard.set_paused(db, actor=user, pair_id=int(pair_id), paused=bool(paused))
        except SignedOut:
            return self._login_redirect()
        except ServiceError as error:
            self.error = error.message
            return self._refresh(fresh=True)
        self.message = (
            "The pair is paused: no nudges until you resume it."
            if paused
            else "The pair is resumed: nudges start again."
        )
        return self._refresh(fresh=True)

    @rx.event
    def export_csv(self) -> EventSpec | None:
        self.message, self.error = "", ""
        try:
            with self._as_user() as (db, user):
                program_id = self._program_id()
                text = dashboard.export_csv(db, actor=user, program_id=program_id)
        except SignedOut:
            return self._login_redirect()
        except ServiceError as error:
            self.error = error.message
            return None
        return rx.download(
            data=text, filename=f"program-{program_id}-pairs.csv", mime_type="text/csv"
        )
