"""Site moderation: the queue of reports, what moderators do with them, and who moderates.

Moderators read a report's frozen evidence, never a pair's chat. Every step they take is
written to the report's history (`moderation_action`) and to the audit log, both of which
the database keeps append-only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, func, select

from mentor_app.models import (
    Enrollment,
    Group,
    Membership,
    ModerationAction,
    Pair,
    Program,
    Report,
    User,
    utcnow,
)
from mentor_app.services import (
    account_data,
    accounts,
    audit,
    chat,
    groups,
    journey,
    notifications,
)
from mentor_app.services.cleaning import storable
from mentor_app.services.errors import Conflict, NotFound, PermissionDenied, ValidationError
from mentor_app.services.paging import Page, page_of

STATUSES: dict[str, str] = {
    "open": "Open",
    "in_review": "In review",
    "actioned": "Actioned",
    "dismissed": "Dismissed",
}
OUTCOMES: dict[str, str] = {"warn": "Warn the member", "suspend": "Suspend the account"}
ACTION_LABELS: dict[str, str] = {
    "review": "Taken into review",
    "dismiss": "Dismissed",
    "action": "Actioned",
    "reopen": "Reopened",
}
# What each step may start from, and where it leaves the report.
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "review": (("open",), "in_review"),
    "dismiss": (("open", "in_review"), "dismissed"),
    "action": (("open", "in_review"), "actioned"),
    "reopen": (("dismissed", "actioned"), "open"),
}
REASON_MAX = 2000
EVIDENCE_LIMIT = 100
HISTORY_LIMIT = 100

ONLY_MODERATORS = "Only site moderators can do that."
REPORT_NOT_FOUND = "Report not found."
OWN_REPORT = "You can't handle a report you are part of: leave it to another moderator."
WARNING_TEXT = (
    "A moderator has reviewed a report about your messages. Please keep to the community "
    "guidelines: repeated problems can lead to your account being suspended."
)
REPORT_OUTCOME_TEXT = "Thank you: your report has been reviewed."
SUSPENDED_DETAIL = "Account suspended"


@dataclass(frozen=True)
class ReportRow:
    id: int
    category: str
    category_label: str
    reporter_name: str
    reported_name: str
    status: str
    created_at: dt.datetime
    evidence_count: int


@dataclass(frozen=True)
class ReportQueue:
    status: str | None
    counts: dict[str, int]  # every status, zero included
    reports: Page[ReportRow]  # one page, newest first


@dataclass(frozen=True)
class EvidenceItem:
    message_id: int | None
    sender_id: int | None
    sender_name: str
    body: str
    created_at: str  # as frozen in the report (ISO 8601)


@dataclass(frozen=True)
class HistoryItem:
    action: str
    action_label: str
    outcome: str | None
    reason: str
    moderator_name: str
    at: dt.datetime


@dataclass(frozen=True)
class ReportDetail:
    id: int
    category: str
    category_label: str
    status: str
    details: str
    reporter_id: int
    reporter_name: str
    reported_id: int
    reported_name: str
    reported_status: str  # active | suspended
    created_at: dt.datetime
    updated_at: dt.datetime
    evidence: list[EvidenceItem]
    history: list[HistoryItem]  # oldest first
    allowed: list[str] = field(default_factory=list)  # steps valid from this status
    # Groups the reported member is the only active admin of: suspending orphans them.
    orphaned_by_suspension: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class StepResult:
    report_id: int
    status: str
    ended_pair_ids: list[int] = field(default_factory=list)  # pairs a suspension ended


def category_label(category: str) -> str:
    """The report form's label for the category (or a readable form of an older one)."""
    if category in chat.REPORT_CATEGORIES:
        return chat.REPORT_CATEGORIES[category]
    text = (category or "").replace("_", " ").strip()
    return text[:1].upper() + text[1:] if text else "Uncategorised"


def status_label(status: str) -> str:
    return STATUSES.get(status, status)


def allowed_steps(status: str) -> list[str]:
    return [step for step, (sources, _to) in TRANSITIONS.items() if status in sources]


# --- who may moderate --------------------------------------------------------------------


def _require_moderator(db: Session, actor: User) -> int:
    """The actor's id if the database (not the object passed in) says they moderate."""
    actor_id = groups.acting_user_id(actor)
    # No autoflush: a changed in-memory flag on `actor` must not be written before we read.
    with db.no_autoflush:
        row = db.exec(
            select(User.is_site_moderator, User.status).where(User.id == actor_id)
        ).first()
    if row is None or not row[0] or row[1] != "active":
        audit.refused(
            actor_id=actor_id, action="moderator action", target_type="site", target_id=None
        )
        raise PermissionDenied(ONLY_MODERATORS)
    return actor_id


# --- reading the queue --------------------------------------------------------------------


def _names(db: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = db.exec(select(User.id, User.display_name).where(col(User.id).in_(ids))).all()
    return {uid or 0: name for uid, name in rows}


def list_reports(
    db: Session, *, actor: User, status: str | None = None, page: int = 0
) -> ReportQueue:
    """One page of the reports in one status (or all), newest first (then by id, so no
    report moves between pages), with how many there are per status. A page past the end
    reads as the last page."""
    _require_moderator(db, actor)
    if status is not None and status not in STATUSES:
        raise ValidationError("Choose one of the report states.", field="status")
    counts = dict.fromkeys(STATUSES, 0)
    for name, count in db.exec(
        select(Report.status, func.count()).group_by(col(Report.status))
    ).all():
        if name in counts:
            counts[name] = count
    query = select(Report).order_by(col(Report.created_at).desc(), col(Report.id).desc())
    if status is not None:
        query = query.where(Report.status == status)
    found = page_of(db, query, page=page)
    reports: list[Report] = found.items
    names = _names(db, {r.reporter_id for r in reports} | {r.reported_id for r in reports})
    return ReportQueue(
        status=status,
        counts=counts,
        reports=found.map(
            lambda r: ReportRow(
                id=r.id or 0,
                category=r.category,
                category_label=category_label(r.category),
                reporter_name=names.get(r.reporter_id, ""),
                reported_name=names.get(r.reported_id, ""),
                status=r.status,
                created_at=r.created_at,
                evidence_count=len(r.evidence or []),
            )
        ),
    )


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _evidence(report: Report) -> list[EvidenceItem]:
    items = []
    for raw in (report.evidence or [])[:EVIDENCE_LIMIT]:
        if not isinstance(raw, dict):
            continue
        items.append(
            EvidenceItem(
                message_id=_int_or_none(raw.get("message_id")),
                sender_id=_int_or_none(raw.get("sender_id")),
                sender_name=str(raw.get("sender_name") or ""),
                body=str(raw.get("body") or ""),
                created_at=str(raw.get("created_at") or ""),
            )
        )
    return items


def _history(db: Session, report_id: int) -> list[HistoryItem]:
    rows = list(
        db.exec(
            select(ModerationAction)
            .where(ModerationAction.report_id == report_id)
            .order_by(col(ModerationAction.at).desc(), col(ModerationAction.id).desc())
            .limit(HISTORY_LIMIT)
        ).all()
    )
    rows.reverse()
    names = _names(db, {a.moderator_id for a in rows if a.moderator_id is not None})
    return [
        HistoryItem(
            action=a.action,
            action_label=ACTION_LABELS.get(a.action, a.action),
            outcome=a.outcome,
            reason=a.reason,
            moderator_name=names.get(a.moderator_id or 0, "A former moderator"),
            at=a.at,
        )
        for a in rows
    ]


def get_report(db: Session, *, actor: User, report_id: int) -> ReportDetail:
    """One report as moderators see it: who, what, the evidence copy and the history."""
    _require_moderator(db, actor)
    report = db.get(Report, report_id)
    if report is None:
        raise NotFound(REPORT_NOT_FOUND)
    names = _names(db, {report.reporter_id, report.reported_id})
    reported = db.get(User, report.reported_id)
    return ReportDetail(
        id=report.id or 0,
        category=report.category,
        category_label=category_label(report.category),
        status=report.status,
        details=report.details,
        reporter_id=report.reporter_id,
        reporter_name=names.get(report.reporter_id, ""),
        reported_id=report.reported_id,
        reported_name=names.get(report.reported_id, ""),
        reported_status=reported.status if reported is not None else "",
        created_at=report.created_at,
        updated_at=report.updated_at,
        evidence=_evidence(report),
        history=_history(db, report.id or 0),
        allowed=allowed_steps(report.status),
        orphaned_by_suspension=(
            groups_orphaned_by_suspending(db, user_id=report.reported_id)
            if reported is not None and reported.status == "active"
            else []
        ),
    )


# --- steps on a report -------------------------------------------------------------------------


def _clean_reason(value: Any, *, required: bool) -> str:
    reason = storable(str(value or "")).replace("\r\n", "\n").strip()
    if required and not reason:
        raise ValidationError("Give a reason: it is kept in the report's history.", field="reason")
    if len(reason) > REASON_MAX:
        raise ValidationError(f"Use at most {REASON_MAX} characters.", field="reason")
    return reason


def _step(
    db: Session,
    *,
    moderator_id: int,
    report_id: int,
    step: str,
    reason: str,
    outcome: str | None = None,
) -> Report:
    """Move the report along one allowed step, or Conflict if someone else got there first.

    The report row is re-read under a row lock, so of two moderators acting at once the
    second sees the first one's status (on SQLite, BEGIN IMMEDIATE serialises writers)."""
    report = db.exec(
        select(Report)
        .where(Report.id == report_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if report is None:
        raise NotFound(REPORT_NOT_FOUND)
    if moderator_id in (report.reporter_id, report.reported_id):
        raise PermissionDenied(OWN_REPORT)
    sources, target = TRANSITIONS[step]
    if report.status not in sources:
        raise Conflict(
            f"This report is now “{status_label(report.status)}”, so it can't be "
            f"{ACTION_LABELS[step].lower()}. It may have just been handled by another "
            "moderator: look again."
        )
    report.status, report.updated_at = target, utcnow()
    db.add(report)
    if target in account_data.CLOSED_REPORT:
        account_data.forget_in_closed_report(db, report)
    db.add(
        ModerationAction(
            report_id=report.id or 0,
            moderator_id=moderator_id,
            action=step,
            outcome=outcome,
            reason=reason,
        )
    )
    detail = f"{status_label(target)}" + (f" ({outcome})" if outcome else "")
    audit.record(
        db,
        actor_id=moderator_id,
        action=f"report_{step}",
        target_type="report",
        target_id=report.id,
        detail=f"{detail}: {reason}" if reason else detail,
    )
    db.flush()
    return report


def _thank_reporter(db: Session, report: Report) -> None:
    # The reporter learns that it was handled, never what happened to the other person.
    notifications.notify(
        db, user_id=report.reporter_id, kind="report_outcome", text=REPORT_OUTCOME_TEXT
    )


def take_into_review(db: Session, *, actor: User, report_id: int, reason: Any = "") -> StepResult:
    report = _step(
        db,
        moderator_id=_require_moderator(db, actor),
        report_id=report_id,
        step="review",
        reason=_clean_reason(reason, required=False),
    )
    return StepResult(report_id=report.id or 0, status=report.status)


def dismiss(db: Session, *, actor: User, report_id: int, reason: Any) -> StepResult:
    report = _step(
        db,
        moderator_id=_require_moderator(db, actor),
        report_id=report_id,
        step="dismiss",
        reason=_clean_reason(reason, required=True),
    )
    _thank_reporter(db, report)
    return StepResult(report_id=report.id or 0, status=report.status)


def take_action(
    db: Session, *, actor: User, report_id: int, outcome: str, reason: Any
) -> StepResult:
    """Warn the reported member, or suspend their account (which ends their sessions and
    their active pairs at once)."""
    moderator_id = _require_moderator(db, actor)
    if outcome not in OUTCOMES:
        raise ValidationError("Choose warn or suspend.", field="outcome")
    clean = _clean_reason(reason, required=True)
    report = _step(
        db,
        moderator_id=moderator_id,
        report_id=report_id,
        step="action",
        reason=clean,
        outcome=outcome,
    )
    ended: list[int] = []
    if outcome == "warn":
        notifications.notify(
            db, user_id=report.reported_id, kind="moderation_warning", text=WARNING_TEXT
        )
    else:
        ended = accounts.suspend_user(db, user_id=report.reported_id, actor_id=moderator_id)
    _thank_reporter(db, report)
    return StepResult(report_id=report.id or 0, status=report.status, ended_pair_ids=ended)


def reopen(db: Session, *, actor: User, report_id: int, reason: Any = "") -> StepResult:
    """Back to open. A suspension stays in force: reopening changes only the report."""
    report = _step(
        db,
        moderator_id=_require_moderator(db, actor),
        report_id=report_id,
        step="reopen",
        reason=_clean_reason(reason, required=False),
    )
    return StepResult(report_id=report.id or 0, status=report.status)


# --- suspension: the system ends the member's pairs ------------------------------------------


def end_pairs_of_suspended(db: Session, *, user_id: int) -> list[int]:
    """End every active pair of a suspended member, as the system (journey.end_pair needs a
    member or an admin). A mentee left without their mentor waits again with rematch
    priority; the partner is told the pair ended, not why. Returns the pairs' ids."""
    pairs = db.exec(
        select(Pair)
        .where(
            Pair.status == "active",
            (col(Pair.mentor_id) == user_id) | (col(Pair.mentee_id) == user_id),
        )
        .order_by(col(Pair.id))
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    now = utcnow()
    ended = []
    for pair in pairs:
        pair.status, pair.ended_at, pair.ended_by = "ended", now, None
        pair.end_reason, pair.end_detail = "other", SUSPENDED_DETAIL
        pair.mentor_seat = None
        pair.live_mentee_enrollment_id = None
        db.add(pair)
        mentee = None
        if pair.mentor_id == user_id:
            mentee = db.get(Enrollment, pair.mentee_enrollment_id)
            if mentee is not None:
                mentee.rematch_priority, mentee.updated_at = True, now
                db.add(mentee)
        db.flush()
        program = db.get(Program, pair.program_id)
        assert program is not None
        partner = pair.mentee_id if pair.mentor_id == user_id else pair.mentor_id
        notifications.notify(
            db,
            user_id=partner,
            kind="pair_ended",
            text=f"Your pair in “{program.title}” has ended.",
            link=f"/pairs/{pair.id}",
        )
        if pair.mentor_id == user_id and mentee is not None:
            journey.tell_admins_mentee_waiting(
                db, pair=pair, program=program, mentee=mentee, actor_id=None
            )
        audit.record(
            db,
            actor_id=None,
            action="pair_ended",
            target_type="pair",
            target_id=pair.id,
            detail="other: account suspended",
        )
        ended.append(pair.id or 0)
    return ended


# --- lifting a suspension --------------------------------------------------------------------

LIFTED_TEXT = (
    "A moderator has lifted the suspension of your account: you can log in again. Pairs "
    "that ended with the suspension stay ended."
)
NOT_SUSPENDED = "This account is not suspended."


@dataclass(frozen=True)
class SuspendedMember:
    user_id: int
    display_name: str
    email: str


def list_suspended(db: Session, *, actor: User, page: int = 0) -> Page[SuspendedMember]:
    """Page `page` of the suspended accounts, by name."""
    _require_moderator(db, actor)
    found = page_of(
        db,
        select(User)
        .where(User.status == "suspended")
        .order_by(func.lower(User.display_name), col(User.id)),
        page=page,
    )
    return found.map(
        lambda u: SuspendedMember(user_id=u.id or 0, display_name=u.display_name, email=u.email)
    )


def lift_suspension(db: Session, *, actor: User, user_id: Any, reason: Any) -> User:
    """A moderator lifts a suspension, with a reason kept in the audit log; the member is
    told (in-app and by e-mail). Pairs ended by the suspension stay ended."""
    moderator_id = _require_moderator(db, actor)
    clean = _clean_reason(reason, required=True)
    if isinstance(user_id, bool) or not isinstance(user_id, int):
        raise NotFound("User not found.")
    user = db.get(User, user_id, with_for_update=True, populate_existing=True)
    if user is None:
        raise NotFound("User not found.")
    if user.status != "suspended":
        raise Conflict(NOT_SUSPENDED)
    user.status = "active"
    db.add(user)
    audit.record(
        db,
        actor_id=moderator_id,
        action="suspension_lifted",
        target_type="user",
        target_id=user.id,
        detail=clean,
    )
    notifications.notify(db, user_id=user_id, kind="suspension_lifted", text=LIFTED_TEXT)
    return user


# --- orphaned groups: no active admin ---------------------------------------------------------

CANDIDATE_LIMIT = 200
NOT_ORPHANED = "This group has an active admin: they manage its roles."
GROUP_NOT_FOUND = "Group not found."


@dataclass(frozen=True)
class OrphanedGroup:
    id: int
    name: str
    candidates: list[tuple[int, str]]  # (user id, display name): its active members


def _orphaned_groups_query() -> Any:
    """The groups with no active admin, by name."""
    active_admin = (
        select(Membership.group_id)
        .join(User, col(User.id) == col(Membership.user_id))
        .where(Membership.role == "admin", User.status == "active")
    )
    return (
        select(Group)
        .where(col(Group.id).not_in(active_admin))
        .order_by(func.lower(Group.name), col(Group.id))
    )


def _active_members(db: Session, group_id: int) -> list[tuple[int, str]]:
    rows = db.exec(
        select(User.id, User.display_name)
        .join(Membership, col(Membership.user_id) == col(User.id))
        .where(Membership.group_id == group_id, User.status == "active")
        .order_by(func.lower(User.display_name), col(User.id))
        .limit(CANDIDATE_LIMIT)
    ).all()
    return [(uid or 0, name) for uid, name in rows]


def list_orphaned_groups(db: Session, *, actor: User, page: int = 0) -> Page[OrphanedGroup]:
    """Page `page` of the groups with no active admin (their admins are suspended, or
    gone), by name, each with the active members a moderator may appoint."""
    _require_moderator(db, actor)
    found = page_of(db, _orphaned_groups_query(), page=page)
    return found.map(
        lambda g: OrphanedGroup(
            id=g.id or 0, name=g.name, candidates=_active_members(db, g.id or 0)
        )
    )


def orphaned_group(db: Session, *, actor: User, group_id: int) -> OrphanedGroup | None:
    """One group as `list_orphaned_groups` lists it; None once it has an active admin
    again (or is gone)."""
    _require_moderator(db, actor)
    group = db.exec(_orphaned_groups_query().where(col(Group.id) == group_id)).first()
    if group is None:
        return None
    return OrphanedGroup(id=group_id, name=group.name, candidates=_active_members(db, group_id))


def groups_orphaned_by_suspending(db: Session, *, user_id: int) -> list[str]:
    """The names of the groups whose only active admin is this member."""
    mine = db.exec(
        select(Membership.group_id).where(Membership.user_id == user_id, Membership.role == "admin")
    ).all()
    names = []
    for group_id in sorted(mine):
        if groups.active_admin_ids(db, group_id=group_id) == [user_id]:
            names.append(groups.group_name(db, group_id))
    return sorted(names, key=str.lower)


def appoint_admin(
    db: Session, *, actor: User, group_id: Any, user_id: Any, reason: Any
) -> Membership:
    """A moderator makes an active member admin of an orphaned group, with a reason kept in
    the audit log; the member is told. A group with an active admin is theirs to run."""
    moderator_id = _require_moderator(db, actor)
    clean = _clean_reason(reason, required=True)
    if isinstance(group_id, bool) or not isinstance(group_id, int):
        raise NotFound(GROUP_NOT_FOUND)
    if db.get(Group, group_id) is None:
        raise NotFound(GROUP_NOT_FOUND)
    db.exec(select(Membership.id).where(Membership.group_id == group_id).with_for_update()).all()
    if groups.active_admin_ids(db, group_id=group_id):
        raise Conflict(NOT_ORPHANED)
    try:
        membership = groups.active_member(db, group_id=group_id, user_id=user_id)
    except NotFound:
        raise ValidationError("Choose one of the group's active members.", field="member") from None
    groups.set_role(
        db,
        membership=membership,
        role="admin",
        actor_id=moderator_id,
        action="admin_appointed",
        detail=f"by a moderator: {clean}",
    )
    return membership


# --- who moderates (the operator's CLI) ------------------------------------------------------


def set_site_moderator(db: Session, *, email: str, value: bool) -> User:
    """Grant or revoke the site moderator flag; NotFound for an unknown e-mail."""
    key = storable(email or "").strip().lower()
    user = db.exec(select(User).where(User.email == key)).first()
    if user is None:
        raise NotFound(f"No account with the e-mail {key or '(empty)'}.")
    if user.is_site_moderator != value:
        user.is_site_moderator = value
        db.add(user)
        audit.record(
            db,
            actor_id=None,
            action="moderator_granted" if value else "moderator_revoked",
            target_type="user",
            target_id=user.id,
            detail="from the command line",
        )
    db.flush()
    return user


def list_moderators(db: Session) -> list[User]:
    return list(
        db.exec(
            select(User).where(col(User.is_site_moderator).is_(True)).order_by(col(User.email))
        ).all()
    )
