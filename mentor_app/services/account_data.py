"""A member's own data (GDPR access and erasure): download everything of theirs as one JSON
document, and delete the account, keeping only what others rely on, pseudonymised.

What deletion does, table by table (a test fails when a table pointing at app_user is not
listed here, so a new one gets a decision):

table              rows of the member               decision
-----------------  -------------------------------  ---------------------------------------------
app_user           the account                      kept as a tombstone: status "deleted", name
                                                    "Deleted member 7f3a", random unusable e-mail
                                                    and password, date of birth 1900-01-01; audit
                                                    rows, reports and ended pairs point at it
user_session       every signed-in browser          deleted (logged out in every tab)
login_throttle     keyed by the e-mail              deleted (the address is free to sign up)
membership         their groups                     deleted (they leave every group)
member_block       blocks they made                 deleted
                   blocks others made against them  kept: the blocker's list shows the pseudonym
enrollment         their applications               kept for the programs' counts; answers
                                                    emptied, waiting ones withdrawn
mentor_pair        active pairs                     ended ("account_deleted"), partners told; a
                                                    mentee left without mentor gets priority
                   draft pairs (admins' proposals)  deleted
                   ended pairs                      kept for the partner's history; the match
                                                    factors (they quote answers) and the end note
                                                    and rating they wrote are removed; an end note
                                                    they wrote as admin on others' pair stays
pair_message       messages they sent               deleted (the partner's stay)
reported_message   their own report ticks           kept (ids only); ticks on their messages go
                                                    with the messages
check_in           their check-ins (mood, note)     deleted
fit_check          their answers                    deleted
pair_survey        their ratings and takeaways      deleted
step_completion    steps they marked done           deleted
nudge              nudges made for them             deleted
notification       theirs                           deleted
                   others' about their pairs or     their old name replaced by the pseudonym
                   programs
email_outbox       to their address or notices      deleted (sent ones too)
                   others' e-mails of those notices their old name replaced by the pseudonym
report             about them, or filed by them     kept for moderators; in the frozen evidence
                                                    their name becomes the pseudonym. Once a
                                                    report is closed, their messages' text and
                                                    the details they wrote are emptied
moderation_action  steps they took as a moderator   kept untouched (append-only), via tombstone
audit_log          actions by or about them         kept untouched (append-only), via tombstone
community_group    created_by                       kept, points at the tombstone
program            created_by                       kept, points at the tombstone

Reports made about them stay open for moderators with their evidence; nothing cascades away,
because the user row itself is never deleted.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, or_
from sqlmodel import Session, col, delete, select, update

from mentor_app.models import (
    AuditLog,
    Block,
    CheckIn,
    ConversationRead,
    EmailOutbox,
    EmailPreference,
    Enrollment,
    FitCheck,
    Goal,
    GoalUpdate,
    Group,
    LoginThrottle,
    MeetingReminder,
    Membership,
    Message,
    Notification,
    Nudge,
    Pair,
    PairSurvey,
    Program,
    Report,
    StepCompletion,
    User,
    utcnow,
)
from mentor_app.services import accounts, audit, email_prefs, journey, sessions
from mentor_app.services.errors import NotFound, ValidationError

DELETED_STATUS = "deleted"
DELETED_DOMAIN = "deleted.invalid"  # RFC 2606: can never receive mail
TOMBSTONE_BIRTH = dt.date(1900, 1, 1)
WRONG_PASSWORD = "Your password is incorrect."
CLOSED_REPORT = ("actioned", "dismissed")
EXPORT_FORMAT = "mentor-circles-export/1"

# Every (table, column) that points at app_user, and what deletion does with it: the test
# test_every_user_reference_has_a_decision compares this with the models.
DECISIONS: dict[tuple[str, str], str] = {
    ("user_session", "user_id"): "deleted",
    ("membership", "user_id"): "deleted",
    ("member_block", "blocker_id"): "deleted",
    ("member_block", "blocked_id"): "kept (others' blocks)",
    ("enrollment", "user_id"): "kept, answers emptied",
    ("mentor_pair", "mentor_id"): "ended / drafts deleted / kept",
    ("mentor_pair", "mentee_id"): "ended / drafts deleted / kept",
    ("mentor_pair", "created_by"): "kept (tombstone)",
    (
        "mentor_pair",
        "ended_by",
    ): "kept (tombstone); their note and rating on their own pairs removed",
    ("pair_message", "sender_id"): "deleted",
    ("report", "reporter_id"): "kept, pseudonymised; emptied once closed",
    ("report", "reported_id"): "kept, pseudonymised; emptied once closed",
    ("reported_message", "reporter_id"): "kept (ids only)",
    ("check_in", "user_id"): "deleted",
    ("fit_check", "user_id"): "deleted",
    ("pair_survey", "user_id"): "deleted",
    ("step_completion", "user_id"): "deleted",
    ("nudge", "user_id"): "deleted",
    ("notification", "user_id"): "deleted",
    ("moderation_action", "moderator_id"): "kept (append-only, tombstone)",
    ("audit_log", "actor_id"): "kept (append-only, tombstone)",
    ("community_group", "created_by"): "kept (tombstone)",
    ("program", "created_by"): "kept (tombstone)",
    ("email_outbox", "user_id"): "deleted",
    ("email_preference", "user_id"): "deleted",
    ("conversation_read", "user_id"): "deleted",
    # A pair's meetings are both members' (the pair ends first: its future ones cancelled).
    ("meeting", "proposed_by"): "kept (tombstone)",
    ("meeting", "cancelled_by"): "kept (tombstone)",
    ("meeting_reminder", "user_id"): "deleted",
    # A goal is the pair's (the partner's progress marks and comments hang on it): its
    # text, which the mentee wrote, goes; the numbers stay for the program's counts.
    ("goal", "created_by"): "kept, text removed",
    ("goal_update", "user_id"): "deleted",
}
GOAL_REMOVED = "(removed with the member's account)"


def _iso(value: dt.datetime | dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


# --- download my data ---------------------------------------------------------------------


def export_account(db: Session, *, actor: User, now: dt.datetime | None = None) -> dict[str, Any]:
    """Everything of the actor's own, as one JSON-ready document. Nobody else's private data:
    a partner's messages appear as {"partner wrote": time} (their text is never read from the
    database), and neither partners' check-ins nor reports by others appear."""
    me = actor.id
    if me is None or actor.status != "active":
        raise NotFound("User not found.")
    now = now or utcnow()

    groups = [
        {"group": name, "role": m.role, "joined_at": _iso(m.joined_at)}
        for m, name in db.exec(
            select(Membership, Group.name)
            .join(Group, col(Group.id) == col(Membership.group_id))
            .where(Membership.user_id == me)
            .order_by(col(Membership.joined_at))
        ).all()
    ]

    applications = []
    for enrollment, program in db.exec(
        select(Enrollment, Program)
        .join(Program, col(Program.id) == col(Enrollment.program_id))
        .where(Enrollment.user_id == me)
        .order_by(col(Enrollment.created_at))
    ).all():
        texts = {q.get("id"): q.get("text", "") for q in program.questions or []}
        applications.append(
            {
                "program": program.title,
                "role": enrollment.role,
                "capacity": enrollment.capacity,
                "status": enrollment.status,
                "share_answers_with_partner": enrollment.share_answers,
                "answers": [
                    {"question": texts.get(qid, qid), "answer": answer}
                    for qid, answer in (enrollment.answers or {}).items()
                ],
                "applied_at": _iso(enrollment.created_at),
                "updated_at": _iso(enrollment.updated_at),
            }
        )

    pairs = _export_pairs(db, me)

    notifications = [
        {
            "kind": n.kind,
            "text": n.text,
            "link": n.link,
            "created_at": _iso(n.created_at),
            "read_at": _iso(n.read_at),
        }
        for n in db.exec(
            select(Notification)
            .where(Notification.user_id == me)
            .order_by(col(Notification.created_at), col(Notification.id))
        ).all()
    ]
    emails = [
        {"subject": s, "status": st, "created_at": _iso(c), "sent_at": _iso(sent)}
        for s, st, c, sent in db.exec(
            select(
                EmailOutbox.subject,
                EmailOutbox.status,
                EmailOutbox.created_at,
                EmailOutbox.sent_at,
            )
            .where(EmailOutbox.to_address == actor.email)
            .order_by(col(EmailOutbox.created_at))
        ).all()
    ]
    reports_filed = [
        {
            "category": r.category,
            "details": r.details,
            "status": r.status,
            "created_at": _iso(r.created_at),
        }
        for r in db.exec(
            select(Report).where(Report.reporter_id == me).order_by(col(Report.created_at))
        ).all()
    ]
    blocks = [
        {"blocked": name, "since": _iso(at)}
        for name, at in db.exec(
            select(User.display_name, Block.created_at)
            .join(User, col(User.id) == col(Block.blocked_id))
            .where(Block.blocker_id == me)
            .order_by(col(Block.created_at))
        ).all()
    ]
    activity = [
        {"action": action, "at": _iso(at)}
        for action, at in db.exec(
            select(AuditLog.action, AuditLog.at)
            .where(AuditLog.actor_id == me)
            .order_by(col(AuditLog.at), col(AuditLog.id))
        ).all()
    ]
    return {
        "format": EXPORT_FORMAT,
        "exported_at": _iso(now),
        "profile": {
            "email": actor.email,
            "display_name": actor.display_name,
            "date_of_birth": _iso(actor.date_of_birth),
            "time_zone": actor.timezone,
            "site_moderator": actor.is_site_moderator,
            "member_since": _iso(actor.created_at),
        },
        "groups": groups,
        "applications": applications,
        "pairs": pairs,
        "notifications": notifications,
        "email_preferences": dataclasses.asdict(email_prefs.preferences_of(db, user_id=me)),
        "emails": emails,
        "reports_filed": reports_filed,
        "blocks": blocks,
        "activity": activity,
    }


def _export_pairs(db: Session, me: int) -> list[dict[str, Any]]:
    rows = db.exec(
        select(Pair, Program.title)
        .join(Program, col(Program.id) == col(Pair.program_id))
        .where(
            Pair.status != "draft",
            or_(col(Pair.mentor_id) == me, col(Pair.mentee_id) == me),
        )
        .order_by(col(Pair.id))
    ).all()
    if not rows:
        return []
    pair_ids = [p.id for p, _ in rows]
    partner_ids = {p.mentee_id if p.mentor_id == me else p.mentor_id for p, _ in rows}
    names = dict(
        db.exec(select(User.id, User.display_name).where(col(User.id).in_(partner_ids))).all()
    )

    by_pair: dict[int, dict[str, list[dict[str, Any]]]] = {
        pid or 0: {"messages": [], "check_ins": [], "steps_done": [], "goals": [], "goal_notes": []}
        for pid in pair_ids
    }
    # The partner's text is never read: the CASE leaves it in the database.
    mine = col(Message.sender_id) == me
    for pair_id, own, body, at in db.exec(
        select(
            Message.pair_id,
            mine,
            case((mine, col(Message.body)), else_=None),
            Message.created_at,
        )
        .where(col(Message.pair_id).in_(pair_ids))
        .order_by(col(Message.pair_id), col(Message.id))
    ).all():
        by_pair[pair_id]["messages"].append(
            {"you wrote": body, "at": _iso(at)} if own else {"partner wrote": _iso(at)}
        )
    for c in db.exec(
        select(CheckIn)
        .where(CheckIn.user_id == me, col(CheckIn.pair_id).in_(pair_ids))
        .order_by(col(CheckIn.pair_id), col(CheckIn.week))
    ).all():
        by_pair[c.pair_id]["check_ins"].append(
            {
                "week": c.week,
                "mood": journey.MOODS.get(c.mood, c.mood),
                "met": c.met,
                "note": c.note,
                "created_at": _iso(c.created_at),
                "updated_at": _iso(c.updated_at),
            }
        )
    for g in db.exec(
        select(Goal)
        .where(Goal.created_by == me, col(Goal.pair_id).in_(pair_ids))
        .order_by(col(Goal.pair_id), col(Goal.position))
    ).all():
        by_pair[g.pair_id]["goals"].append(
            {
                "goal": g.text,
                "target_date": _iso(g.target_date),
                "progress": g.progress,
                "created_at": _iso(g.created_at),
            }
        )
    for u in db.exec(
        select(GoalUpdate)
        .where(GoalUpdate.user_id == me, col(GoalUpdate.pair_id).in_(pair_ids))
        .order_by(col(GoalUpdate.pair_id), col(GoalUpdate.id))
    ).all():
        by_pair[u.pair_id]["goal_notes"].append(
            {"kind": u.kind, "progress": u.progress, "note": u.note, "at": _iso(u.created_at)}
        )
    for s in db.exec(
        select(StepCompletion)
        .where(StepCompletion.user_id == me, col(StepCompletion.pair_id).in_(pair_ids))
        .order_by(col(StepCompletion.pair_id), col(StepCompletion.week))
    ).all():
        by_pair[s.pair_id]["steps_done"].append({"week": s.week, "at": _iso(s.done_at)})
    fits = {
        f.pair_id: f
        for f in db.exec(
            select(FitCheck).where(FitCheck.user_id == me, col(FitCheck.pair_id).in_(pair_ids))
        ).all()
    }
    surveys = {
        s.pair_id: s
        for s in db.exec(
            select(PairSurvey).where(
                PairSurvey.user_id == me, col(PairSurvey.pair_id).in_(pair_ids)
            )
        ).all()
    }

    out = []
    for pair, title in rows:
        pid = pair.id or 0
        partner = pair.mentee_id if pair.mentor_id == me else pair.mentor_id
        fit, survey = fits.get(pid), surveys.get(pid)
        ended_by_me = pair.ended_by == me
        out.append(
            {
                "program": title,
                "your_role": "mentor" if pair.mentor_id == me else "mentee",
                "partner": names.get(partner, ""),
                "status": pair.status,
                "start_date": _iso(pair.start_date),
                "ended_at": _iso(pair.ended_at),
                "end_reason": journey.END_REASONS.get(pair.end_reason or "", pair.end_reason),
                # What the ender wrote is theirs: shown only to whoever wrote it.
                "your_end_note": pair.end_detail if ended_by_me else None,
                "your_end_rating": pair.end_rating if ended_by_me else None,
                "fit_check": journey.FIT_ANSWERS.get(fit.answer, fit.answer) if fit else None,
                "closing_survey": (
                    {"rating": survey.rating, "takeaway": survey.takeaway} if survey else None
                ),
                **by_pair[pid],
            }
        )
    return out


def export_json(db: Session, *, actor: User, now: dt.datetime | None = None) -> bytes:
    return json.dumps(
        export_account(db, actor=actor, now=now), ensure_ascii=False, indent=1
    ).encode("utf-8")


def export_filename(now: dt.datetime | None = None) -> str:
    return f"mentor-circles-my-data-{(now or utcnow()).date().isoformat()}.json"


# --- delete my account ----------------------------------------------------------------------


def _pseudonym() -> str:
    return f"Deleted member {secrets.token_hex(2)}"


def _whole_word(name: str) -> re.Pattern[str] | None:
    name = name.strip()
    if not name:
        return None
    return re.compile(rf"(?<!\w){re.escape(name)}(?!\w)")


@dataclass(frozen=True)
class DeletedAccount:
    pseudonym: str  # what the tombstone is called now
    pair_ids: list[int]  # the pairs whose open pages changed (ended, messages removed)


def delete_account(
    db: Session, *, actor: User, password: str, now: dt.datetime | None = None
) -> DeletedAccount:
    """Delete the actor's account after checking their password (under the log-in throttle,
    like a password change).

    A wrong password changes nothing but the throttle's counter."""
    now = now or utcnow()
    user = db.get(User, actor.id, with_for_update=True, populate_existing=True)
    if user is None or user.id is None or user.status != "active":
        raise NotFound("User not found.")
    me = user.id

    throttle = db.get(LoginThrottle, user.email, with_for_update=True)
    accounts._refuse_while_locked(throttle, now, field="password")
    verified = len(password or "") <= accounts.PASSWORD_MAX and accounts.pwd_context.verify(
        password or "", user.password_hash
    )
    if not verified:
        accounts._record_failure(db, throttle, user.email, now)
        db.commit()  # the counter outlives the caller's rollback of this refusal
        raise ValidationError(WRONG_PASSWORD, field="password")

    old_name, old_email = user.display_name, user.email
    pseudonym = _pseudonym()

    my_pairs = list(
        db.exec(
            select(Pair)
            .where(or_(col(Pair.mentor_id) == me, col(Pair.mentee_id) == me))
            .order_by(col(Pair.id))
            .with_for_update()
            .execution_options(populate_existing=True)
        ).all()
    )
    _end_active_pairs(db, me, [p for p in my_pairs if p.status == "active"])
    drafts = [p.id for p in my_pairs if p.status == "draft"]
    if drafts:
        db.exec(delete(Pair).where(col(Pair.id).in_(drafts)))
    kept_pairs = [p.id or 0 for p in my_pairs if p.status != "draft"]

    program_ids = set(db.exec(select(Enrollment.program_id).where(Enrollment.user_id == me)).all())
    _rename_in_others_notices(db, me, old_name, pseudonym, kept_pairs, program_ids)
    _pseudonymise_reports(db, me, pseudonym, kept_pairs)

    # What was theirs alone.
    my_notifications = select(Notification.id).where(Notification.user_id == me)
    db.exec(
        delete(EmailOutbox).where(
            or_(
                col(EmailOutbox.to_address) == old_email,
                col(EmailOutbox.user_id) == me,
                col(EmailOutbox.notification_id).in_(my_notifications),
            )
        )
    )
    for table, column in (
        (Nudge, Nudge.user_id),
        (Notification, Notification.user_id),
        (Message, Message.sender_id),
        (CheckIn, CheckIn.user_id),
        (FitCheck, FitCheck.user_id),
        (PairSurvey, PairSurvey.user_id),
        (StepCompletion, StepCompletion.user_id),
        (GoalUpdate, GoalUpdate.user_id),
        (MeetingReminder, MeetingReminder.user_id),
        (Block, Block.blocker_id),
        (Membership, Membership.user_id),
        (EmailPreference, EmailPreference.user_id),
        (ConversationRead, ConversationRead.user_id),
    ):
        db.exec(delete(table).where(col(column) == me))  # type: ignore[call-overload]
    db.exec(delete(LoginThrottle).where(col(LoginThrottle.email) == old_email))
    db.exec(
        update(Goal)
        .where(col(Goal.created_by) == me)
        .values(text=GOAL_REMOVED, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if kept_pairs:
        # The match factors quote both members' answers.
        db.exec(
            update(Pair)
            .where(col(Pair.id).in_(kept_pairs))
            .values(factors=[])
            .execution_options(synchronize_session=False)
        )
        # What they wrote when ending a pair of theirs (private feedback to the admins); an
        # admin's note on a pair they ended for others stays with the group.
        db.exec(
            update(Pair)
            .where(col(Pair.id).in_(kept_pairs), col(Pair.ended_by) == me)
            .values(end_detail="", end_rating=None)
            .execution_options(synchronize_session=False)
        )
    db.exec(
        update(Enrollment)
        .where(col(Enrollment.user_id) == me)
        .values(
            answers={},
            share_answers=False,
            rematch_priority=False,
            status=case((col(Enrollment.status) == "active", "withdrawn"), else_=Enrollment.status),
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )

    ended_sessions = sessions.end_all_sessions(db, user_id=me)
    user.email = f"deleted-{secrets.token_hex(12)}@{DELETED_DOMAIN}"
    user.display_name = pseudonym
    # A real hash of a secret nobody holds: no password opens it, and the log-in path
    # meets a hash it knows how to check.
    user.password_hash = accounts.pwd_context.hash(secrets.token_urlsafe(32))
    user.date_of_birth = TOMBSTONE_BIRTH
    user.timezone = "UTC"
    user.timezone_known = False
    user.is_site_moderator = False
    user.status = DELETED_STATUS
    db.add(user)
    db.flush()
    audit.record(
        db,
        actor_id=me,
        action="account_deleted",
        target_type="user",
        target_id=me,
        detail=f"pairs ended: {sum(1 for p in my_pairs if p.end_reason == 'account_deleted')}, "
        f"sessions ended: {ended_sessions}",
    )
    return DeletedAccount(pseudonym=pseudonym, pair_ids=kept_pairs)


def _partner_notice(title: str) -> Callable[[str], str]:
    return lambda _partner: (
        f"Your partner in “{title}” deleted their account, so your pair has ended."
    )


def _end_active_pairs(db: Session, me: int, pairs: Iterable[Pair]) -> None:
    """End each active pair the way leaving a group does, and tell the partner."""
    for pair in pairs:
        program = db.get(Program, pair.program_id)
        assert program is not None
        journey.end_pair_for_leaving(
            db,
            pair=pair,
            program=program,
            leaver_id=me,
            reason="account_deleted",
            text=_partner_notice(program.title),
        )


def _rename_in_others_notices(
    db: Session,
    me: int,
    old_name: str,
    pseudonym: str,
    pair_ids: list[int],
    program_ids: set[int],
) -> None:
    """Others' notices about the member's pairs and programs named them: the pseudonym now."""
    pattern = _whole_word(old_name)
    if pattern is None or not (pair_ids or program_ids):
        return
    links = [col(Notification.link) == f"/pairs/{pid}" for pid in pair_ids]
    for pid in program_ids:
        links.append(col(Notification.link) == f"/programs/{pid}")
        links.append(col(Notification.link).startswith(f"/programs/{pid}/"))
    renamed: list[int] = []
    for n in db.exec(select(Notification).where(Notification.user_id != me, or_(*links))).all():
        text = pattern.sub(pseudonym, n.text)
        if text != n.text:
            n.text = text
            db.add(n)
            renamed.append(n.id or 0)
    for row in (
        db.exec(select(EmailOutbox).where(col(EmailOutbox.notification_id).in_(renamed))).all()
        if renamed
        else []
    ):
        row.subject = pattern.sub(pseudonym, row.subject)
        row.body = pattern.sub(pseudonym, row.body)
        db.add(row)
    db.flush()


def forget_in_closed_report(db: Session, report: Report) -> None:
    """A report has just closed: the deleted members in it had their text kept only for the
    moderators to finish it. Their messages in its evidence and the details they wrote go
    now, as they would have gone at the deletion had the report been closed then."""
    people = {report.reporter_id, report.reported_id}
    people.update(int(item.get("sender_id") or 0) for item in report.evidence or [])
    gone = set(
        db.exec(
            select(User.id).where(col(User.id).in_(people), User.status == DELETED_STATUS)
        ).all()
    )
    if not gone:
        return
    evidence = []
    for item in report.evidence or []:
        item = dict(item)
        if item.get("sender_id") in gone:
            item["body"] = ""
        evidence.append(item)
    report.evidence = evidence  # a new list: JSON columns track assignment only
    if report.reporter_id in gone:
        report.details = ""
    db.add(report)


def _pseudonymise_reports(db: Session, me: int, pseudonym: str, pair_ids: list[int]) -> None:
    """Reports stay for moderators, with the member's name replaced in their frozen evidence.
    A closed report keeps no text of theirs (their messages, the details they wrote)."""
    where = [col(Report.reporter_id) == me, col(Report.reported_id) == me]
    if pair_ids:
        where.append(col(Report.pair_id).in_(pair_ids))
    for report in db.exec(select(Report).where(or_(*where)).with_for_update()).all():
        closed = report.status in CLOSED_REPORT
        evidence = []
        for item in report.evidence or []:
            item = dict(item)
            if item.get("sender_id") == me:
                item["sender_name"] = pseudonym
                if closed:
                    item["body"] = ""
            evidence.append(item)
        report.evidence = evidence  # a new list: JSON columns track assignment only
        if closed and report.reporter_id == me:
            report.details = ""
        db.add(report)
    db.flush()
