"""The moderation queue: site moderators read reports and their evidence and act on them.

Every event re-resolves the user from the session and lets the moderation service check,
from the database, that they are a site moderator: nothing is trusted from the page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import reflex as rx
from reflex.event import EventSpec
from sqlmodel import Session

from mentor_app.models import User
from mentor_app.services import chat, moderation
from mentor_app.services.errors import NotFound, PermissionDenied, ServiceError
from mentor_app.wording import count
from state.busy import while_busy
from state.journey import schedule_pair_refresh
from state.paging import EMPTY_PAGE_INFO, page_info
from state.session import SessionState, SignedOut

ONLY_MODERATORS_PAGE = "Only site moderators can see this page."


def _when(moment: dt.datetime | None) -> str:
    return moment.strftime("%d %b %Y, %H:%M UTC") if moment else ""


def _when_iso(text: str) -> str:
    """An evidence time, frozen as ISO 8601 text in the report."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return _when(moment)


def _row(r: moderation.ReportRow) -> dict[str, Any]:
    return {
        "id": r.id,
        "category": r.category_label,
        "reporter": r.reporter_name,
        "reported": r.reported_name,
        "status": r.status,
        "status_label": moderation.status_label(r.status),
        "when": _when(r.created_at),
        "evidence": f"{count(r.evidence_count, 'message')} attached",
    }


class ModerationQueueState(SessionState):
    allowed: rx.Field[bool] = rx.field(False)
    denied: rx.Field[str] = rx.field("")
    status_filter: rx.Field[str] = rx.field("open")
    counts: rx.Field[dict[str, int]] = rx.field(default_factory=dict)
    # One page of the reports in the chosen state, and where that page is.
    reports: rx.Field[list[dict[str, Any]]] = rx.field(default_factory=list)
    reports_page: rx.Field[int] = rx.field(0)
    reports_info: rx.Field[dict[str, Any]] = rx.field(default_factory=lambda: EMPTY_PAGE_INFO)
    turning: rx.Field[bool] = rx.field(False)  # the next page is on its way
    report: rx.Field[dict[str, Any]] = rx.field(default_factory=dict)
    evidence: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    history: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    steps: rx.Field[list[str]] = rx.field(default_factory=list)
    reason: rx.Field[str] = rx.field("")
    errors: rx.Field[dict[str, str]] = rx.field(default_factory=dict)
    message: rx.Field[str] = rx.field("")
    # Orphaned groups (no active admin) and suspended accounts, with their dialogs.
    # Each one page long, like the reports.
    orphaned: rx.Field[list[dict[str, Any]]] = rx.field(default_factory=list)
    orphaned_page: rx.Field[int] = rx.field(0)
    orphaned_info: rx.Field[dict[str, Any]] = rx.field(default_factory=lambda: EMPTY_PAGE_INFO)
    suspended: rx.Field[list[dict[str, Any]]] = rx.field(default_factory=list)
    suspended_page: rx.Field[int] = rx.field(0)
    suspended_info: rx.Field[dict[str, Any]] = rx.field(default_factory=lambda: EMPTY_PAGE_INFO)
    appoint_group: rx.Field[dict[str, Any]] = rx.field(default_factory=dict)
    appoint_options: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    lift_member: rx.Field[dict[str, Any]] = rx.field(default_factory=dict)
    fix_errors: rx.Field[dict[str, str]] = rx.field(default_factory=dict)
    fixing: rx.Field[bool] = rx.field(False)  # an appoint or lift on its way

    def _deny(self, text: str) -> None:
        self.allowed, self.denied = False, text
        self.counts, self.reports, self.report = {}, [], {}
        self.reports_page, self.reports_info = 0, EMPTY_PAGE_INFO
        self.evidence, self.history, self.steps = [], [], []
        self.orphaned, self.suspended = [], []
        self.appoint_group, self.appoint_options, self.lift_member = {}, [], {}

    def _show_detail(self, detail: moderation.ReportDetail | None) -> None:
        if detail is None:
            self.report, self.evidence, self.history, self.steps = {}, [], [], []
            return
        self.report = {
            "id": detail.id,
            "title": f"Report {detail.id}: {detail.category_label}",
            "category": detail.category_label,
            "status": detail.status,
            "status_label": moderation.status_label(detail.status),
            "details": chat.displayable(detail.details),
            "reporter": detail.reporter_name,
            "reported": detail.reported_name,
            "suspended": detail.reported_status == "suspended",
            "when": _when(detail.created_at),
            "orphans": ", ".join(f"“{name}”" for name in detail.orphaned_by_suspension),
        }
        self.evidence = [
            {
                "sender": chat.displayable(e.sender_name) or "Unknown member",
                "body": chat.displayable(e.body),
                "when": _when_iso(e.created_at),
            }
            for e in detail.evidence
        ]
        self.history = [
            {
                "what": h.action_label
                + (
                    f": {moderation.OUTCOMES.get(h.outcome, h.outcome).lower()}"
                    if h.outcome
                    else ""
                ),
                "who": h.moderator_name,
                "when": _when(h.at),
                "reason": h.reason,
            }
            for h in detail.history
        ]
        self.steps = list(detail.allowed)

    def _load_into(self, db: Session, user: User) -> None:
        queue = moderation.list_reports(
            db, actor=user, status=self.status_filter, page=self.reports_page
        )
        chosen = int(self.report.get("id", 0) or 0)
        detail = None
        if chosen:
            try:
                detail = moderation.get_report(db, actor=user, report_id=chosen)
            except NotFound:
                detail = None
        self.allowed, self.denied = True, ""
        self.counts = queue.counts
        self.reports = [_row(r) for r in queue.reports.items]
        # The page read: a report decided off the last page leaves a page the list has.
        self.reports_page = queue.reports.page
        self.reports_info = page_info(queue.reports)
        self._show_detail(detail)
        orphaned = moderation.list_orphaned_groups(db, actor=user, page=self.orphaned_page)
        self.orphaned = [
            {
                "id": g.id,
                "name": g.name,
                "members": count(len(g.candidates), "active member"),
            }
            for g in orphaned.items
        ]
        self.orphaned_page, self.orphaned_info = orphaned.page, page_info(orphaned)
        suspended = moderation.list_suspended(db, actor=user, page=self.suspended_page)
        self.suspended = [
            {"user_id": m.user_id, "name": m.display_name, "email": m.email}
            for m in suspended.items
        ]
        self.suspended_page, self.suspended_info = suspended.page, page_info(suspended)

    def _refresh(self) -> EventSpec | None:
        try:
            with self._reading_as_user() as (db, user):
                self._load_into(db, user)
        except SignedOut:
            return self._login_redirect()
        except PermissionDenied:
            self._deny(ONLY_MODERATORS_PAGE)
        return None

    @rx.event
    def load(self) -> EventSpec | None:
        self.status_filter, self.report, self.reason = "open", {}, ""
        self.errors, self.message = {}, ""
        self.reports_page, self.turning = 0, False
        self.orphaned_page = self.suspended_page = 0
        return self._refresh()

    @rx.event
    def show_status(self, status: str) -> EventSpec | None:
        if status not in moderation.STATUSES:
            return None
        self.status_filter, self.errors, self.message = status, {}, ""
        self.reports_page = 0
        return self._refresh()

    def _turn(self, step: int, page_var: str = "reports_page"):  # type: ignore[no-untyped-def]
        """Move the list whose page number is `page_var` by `step` pages."""
        self.turning = True  # the lists show they are loading until the page is here
        yield
        setattr(self, page_var, max(0, getattr(self, page_var) + step))
        follow_up = self._refresh()
        self.turning = False
        if follow_up is not None:
            yield follow_up

    @rx.event
    def next_reports(self):  # type: ignore[no-untyped-def]
        yield from self._turn(1)

    @rx.event
    def previous_reports(self):  # type: ignore[no-untyped-def]
        yield from self._turn(-1)

    @rx.event
    def next_orphaned(self):  # type: ignore[no-untyped-def]
        yield from self._turn(1, "orphaned_page")

    @rx.event
    def previous_orphaned(self):  # type: ignore[no-untyped-def]
        yield from self._turn(-1, "orphaned_page")

    @rx.event
    def next_suspended(self):  # type: ignore[no-untyped-def]
        yield from self._turn(1, "suspended_page")

    @rx.event
    def previous_suspended(self):  # type: ignore[no-untyped-def]
        yield from self._turn(-1, "suspended_page")

    @rx.event
    def open_report(self, report_id: int) -> EventSpec | None:
        self.errors, self.message, self.reason = {}, "", ""
        self.report = {"id": int(report_id)}
        follow_up = self._refresh()
        if follow_up is not None or not self.allowed:
            return follow_up
        if not self.report.get("title"):
            self.errors = {"form": moderation.REPORT_NOT_FOUND}
            return None
        return rx.scroll_to("selected-report")

    @rx.event
    def close_report(self) -> None:
        self.report, self.evidence, self.history, self.steps = {}, [], [], []
        self.errors, self.reason = {}, ""

    @rx.event
    def set_reason(self, value: str) -> None:
        self.reason = str(value)[: moderation.REASON_MAX]

    def _step(
        self, call: Callable[[Session, User, int], moderation.StepResult], success: str
    ) -> tuple[EventSpec | None, moderation.StepResult | None]:
        """Run one step on the open report as the signed-in moderator, then reload."""
        self.errors, self.message = {}, ""
        report_id = int(self.report.get("id", 0) or 0)
        try:
            with self._as_user() as (db, user):
                result = call(db, user, report_id)
        except SignedOut:
            return self._login_redirect(), None
        except ServiceError as error:
            follow_up = self._refresh()
            self.errors = {error.field or "form": error.message}
            return follow_up, None
        self.reason, self.message = "", success
        return self._refresh(), result

    @rx.event
    def take_into_review(self) -> EventSpec | None:
        reason = self.reason
        return self._step(
            lambda db, user, rid: moderation.take_into_review(
                db, actor=user, report_id=rid, reason=reason
            ),
            "The report is in review.",
        )[0]

    @rx.event
    def dismiss(self) -> EventSpec | None:
        reason = self.reason
        return self._step(
            lambda db, user, rid: moderation.dismiss(db, actor=user, report_id=rid, reason=reason),
            "The report is dismissed. The reporter has been thanked.",
        )[0]

    @rx.event
    def warn(self) -> EventSpec | None:
        reason = self.reason
        return self._step(
            lambda db, user, rid: moderation.take_action(
                db, actor=user, report_id=rid, outcome="warn", reason=reason
            ),
            "The member has been warned. The reporter has been thanked.",
        )[0]

    @rx.event
    async def suspend(self) -> EventSpec | None:
        reason = self.reason
        follow_up, result = self._step(
            lambda db, user, rid: moderation.take_action(
                db, actor=user, report_id=rid, outcome="suspend", reason=reason
            ),
            "The account is suspended: its sessions and active pairs have ended. "
            "The reporter has been thanked.",
        )
        for pair_id in result.ended_pair_ids if result else []:
            # After this event: a moderator in the pair holds its locks (refresh_pair_page).
            schedule_pair_refresh(pair_id)  # the partner's open page turns read-only
        return follow_up

    @rx.event
    def reopen(self) -> EventSpec | None:
        reason = self.reason
        return self._step(
            lambda db, user, rid: moderation.reopen(db, actor=user, report_id=rid, reason=reason),
            "The report is open again.",
        )[0]

    # --- orphaned groups -------------------------------------------------------------------

    @rx.event
    def open_appoint(self, group_id: int) -> EventSpec | None:
        self.fix_errors, self.message = {}, ""
        try:
            with self._as_user() as (db, user):
                group = moderation.orphaned_group(db, actor=user, group_id=int(group_id))
        except SignedOut:
            return self._login_redirect()
        except PermissionDenied:
            self._deny(ONLY_MODERATORS_PAGE)
            return None
        if group is None:
            self.errors = {"form": "That group has an admin again, or no longer exists."}
            return self._refresh()
        self.appoint_group = {"id": group.id, "name": group.name}
        self.appoint_options = [
            {"value": str(uid), "label": name} for uid, name in group.candidates
        ]
        return None

    @rx.event
    def set_appoint_open(self, value: bool) -> None:
        if not value:
            self.appoint_group, self.appoint_options, self.fix_errors = {}, [], {}

    def _fix(self, action: Callable[[Session, User], object]) -> tuple[bool, EventSpec | None]:
        """Run one of the moderators' fixes (appoint, lift): (done, what the page does next);
        a refusal goes next to the dialog's field."""
        try:
            with self._as_user() as (db, user):
                action(db, user)
        except SignedOut:
            return False, self._login_redirect()
        except PermissionDenied:
            self._deny(ONLY_MODERATORS_PAGE)
            return False, None
        except ServiceError as error:
            self.fix_errors = {error.field or "form": error.message}
            return False, None
        return True, None

    @rx.event
    def appoint(self, form: dict[str, Any]) -> Iterator[EventSpec | None]:
        yield from while_busy(self, "fixing", lambda: self._appoint(form))

    def _appoint(self, form: dict[str, Any]) -> EventSpec | None:
        self.fix_errors, self.message = {}, ""
        raw = str(form.get("member", "") or "")
        group_id = int(self.appoint_group.get("id", 0) or 0)
        name = str(self.appoint_group.get("name", ""))
        done, follow_up = self._fix(
            lambda db, user: moderation.appoint_admin(
                db,
                actor=user,
                group_id=group_id,
                user_id=int(raw) if raw.isdigit() else None,
                reason=form.get("reason", ""),
            )
        )
        if not done:
            return follow_up
        self.appoint_group, self.appoint_options = {}, []
        self.message = f"“{name}” has an admin again. They have been told."
        return self._refresh()

    # --- lifting a suspension ---------------------------------------------------------------

    @rx.event
    def open_lift(self, user_id: int) -> None:
        self.fix_errors, self.message = {}, ""
        found = [m for m in self.suspended if m.get("user_id") == user_id]
        self.lift_member = dict(found[0]) if found else {}

    @rx.event
    def set_lift_open(self, value: bool) -> None:
        if not value:
            self.lift_member, self.fix_errors = {}, {}

    @rx.event
    def lift(self, form: dict[str, Any]) -> Iterator[EventSpec | None]:
        yield from while_busy(self, "fixing", lambda: self._lift(form))

    def _lift(self, form: dict[str, Any]) -> EventSpec | None:
        self.fix_errors, self.message = {}, ""
        user_id = int(self.lift_member.get("user_id", 0) or 0)
        name = str(self.lift_member.get("name", ""))
        done, follow_up = self._fix(
            lambda db, user: moderation.lift_suspension(
                db, actor=user, user_id=user_id, reason=form.get("reason", "")
            )
        )
        if not done:
            return follow_up
        self.lift_member = {}
        self.message = f"{name}'s suspension is lifted. They have been told."
        return self._refresh()
