"""Site moderation: the queue, the steps on a report, suspension, and the append-only logs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DatabaseError
from sqlmodel import Session, col, select

from mentor_app import moderators
from mentor_app.models import (
    AuditLog,
    Enrollment,
    Message,
    ModerationAction,
    Notification,
    Pair,
    Report,
    User,
    utcnow,
)
from mentor_app.services import accounts, chat, moderation, sessions
from mentor_app.services.errors import Conflict, NotFound, PermissionDenied, ValidationError
from mentor_app.services.paging import PAGE_SIZE
from tests.factories import PASSWORD, PairSetup, make_pair, make_user
from tests.support.race import race

# --- arranging ------------------------------------------------------------------------------


def make_moderator(db: Session, name: str = "Mo") -> User:
    user = make_user(db, display_name=name)
    user.is_site_moderator = True
    db.add(user)
    db.commit()
    return user


def make_report(
    db: Session,
    setup: PairSetup,
    *,
    status: str = "open",
    body: str = "You are useless, give up.",
    created_at: dt.datetime | None = None,
) -> Report:
    """The mentee reports the mentor, with one of the mentor's messages as evidence (the
    chat service does this in the app; here the rows are written directly)."""
    message = Message(
        pair_id=setup.pair.id or 0,
        sender_id=setup.mentor.id or 0,
        client_id=f"client-{utcnow().timestamp()}-{id(body)}",
        body=body,
    )
    db.add(message)
    db.flush()
    when = created_at or utcnow()
    report = Report(
        pair_id=setup.pair.id,
        reporter_id=setup.mentee.id or 0,
        reported_id=setup.mentor.id or 0,
        category="harassment",
        details="This keeps happening.",
        evidence=[
            {
                "message_id": message.id,
                "sender_id": setup.mentor.id,
                "sender_name": setup.mentor.display_name,
                "body": body,
                "created_at": message.created_at.isoformat(),
            }
        ],
        status=status,
        created_at=when,
        updated_at=when,
    )
    db.add(report)
    db.commit()
    return report


@pytest.fixture
def setup(db: Session) -> PairSetup:
    return make_pair(db)


@pytest.fixture
def mo(db: Session) -> User:
    return make_moderator(db)


@pytest.fixture
def report(db: Session, setup: PairSetup) -> Report:
    return make_report(db, setup)


def _actions(db: Session, report_id: int) -> list[tuple[str, str | None, str]]:
    return [
        (a.action, a.outcome, a.reason)
        for a in db.exec(
            select(ModerationAction)
            .where(ModerationAction.report_id == report_id)
            .order_by(col(ModerationAction.id))
        ).all()
    ]


def _audit(db: Session, report_id: int) -> list[str]:
    return list(
        db.exec(
            select(AuditLog.action)
            .where(AuditLog.target_type == "report", AuditLog.target_id == report_id)
            .order_by(col(AuditLog.id))
        ).all()
    )


def _notices(db: Session, user: User) -> list[tuple[str, str]]:
    return [
        (n.kind, n.text)
        for n in db.exec(
            select(Notification)
            .where(Notification.user_id == user.id)
            .order_by(col(Notification.id))
        ).all()
    ]


# --- who may moderate -------------------------------------------------------------------------

CALLS: dict[str, Callable[[Session, User, int], Any]] = {
    "list_reports": lambda db, u, rid: moderation.list_reports(db, actor=u, status=None),
    "get_report": lambda db, u, rid: moderation.get_report(db, actor=u, report_id=rid),
    "take_into_review": lambda db, u, rid: moderation.take_into_review(db, actor=u, report_id=rid),
    "dismiss": lambda db, u, rid: moderation.dismiss(db, actor=u, report_id=rid, reason="x"),
    "take_action": lambda db, u, rid: moderation.take_action(
        db, actor=u, report_id=rid, outcome="suspend", reason="x"
    ),
    "reopen": lambda db, u, rid: moderation.reopen(db, actor=u, report_id=rid),
    # Invalid input must not tell a non-moderator anything either.
    "dismiss_without_reason": lambda db, u, rid: moderation.dismiss(
        db, actor=u, report_id=rid, reason=""
    ),
    "unknown_report": lambda db, u, rid: moderation.get_report(db, actor=u, report_id=999_999),
}


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
@pytest.mark.parametrize("who", ["member", "group admin", "bystander"])
def test_only_site_moderators_can_use_the_queue(
    db: Session, setup: PairSetup, report: Report, who: str, call: Callable[..., Any]
) -> None:
    actor = {"member": setup.mentee, "group admin": setup.admin}.get(who) or make_user(db)
    with pytest.raises(PermissionDenied):
        call(db, actor, report.id or 0)
    db.rollback()
    assert db.get(Report, report.id, populate_existing=True).status == "open"  # type: ignore[union-attr]
    assert _actions(db, report.id or 0) == []


def test_the_moderator_flag_is_read_from_the_database_not_the_object_passed(
    db: Session, setup: PairSetup, report: Report
) -> None:
    forged = setup.admin
    forged.is_site_moderator = True  # changed in memory only, never saved
    with pytest.raises(PermissionDenied):
        moderation.get_report(db, actor=forged, report_id=report.id or 0)
    with pytest.raises(PermissionDenied):
        moderation.dismiss(db, actor=forged, report_id=report.id or 0, reason="not mine")
    db.rollback()
    assert db.get(User, forged.id, populate_existing=True).is_site_moderator is False  # type: ignore[union-attr]


def test_a_suspended_moderator_can_no_longer_moderate(
    db: Session, report: Report, mo: User
) -> None:
    accounts.suspend_user(db, user_id=mo.id or 0, actor_id=None)
    db.commit()
    with pytest.raises(PermissionDenied):
        moderation.list_reports(db, actor=mo, status="open")


def test_a_moderator_cannot_handle_a_report_they_are_part_of(
    db: Session, setup: PairSetup, report: Report
) -> None:
    setup.mentee.is_site_moderator = True  # the reporter is also a moderator
    db.add(setup.mentee)
    db.commit()
    with pytest.raises(PermissionDenied):
        moderation.take_into_review(db, actor=setup.mentee, report_id=report.id or 0)


# --- reading the queue --------------------------------------------------------------------------


def test_queue_lists_reports_newest_first_with_counts_per_state(
    db: Session, setup: PairSetup, mo: User
) -> None:
    base = utcnow() - dt.timedelta(days=1)
    older = make_report(db, setup, created_at=base)
    newer = make_report(db, setup, created_at=base + dt.timedelta(hours=1))
    make_report(db, setup, status="dismissed", created_at=base + dt.timedelta(hours=2))
    queue = moderation.list_reports(db, actor=mo, status="open")
    assert [r.id for r in queue.reports.items] == [newer.id, older.id]
    assert queue.counts == {"open": 2, "in_review": 0, "actioned": 0, "dismissed": 1}
    row = queue.reports.items[0]
    assert (row.category_label, row.reporter_name, row.reported_name) == (
        "Harassment",
        "Theo",
        "Maya",
    )
    assert row.evidence_count == 1
    assert moderation.list_reports(db, actor=mo, status=None).reports.total == 3


def test_queue_is_read_a_page_at_a_time_newest_first_without_skipping_a_report(
    db: Session, setup: PairSetup, mo: User
) -> None:
    # 45 reports, many made in the same instant: the id settles their order between pages.
    base = utcnow() - dt.timedelta(days=1)
    made = []
    for n in range(45):
        report = Report(
            reporter_id=setup.mentee.id or 0,
            reported_id=setup.mentor.id or 0,
            category="spam",
            created_at=base + dt.timedelta(minutes=n // 10),
        )
        db.add(report)
        made.append(report)
    db.commit()
    newest_first = [
        r.id for r in sorted(made, key=lambda r: (r.created_at, r.id or 0), reverse=True)
    ]

    pages = [moderation.list_reports(db, actor=mo, status="open", page=n) for n in range(3)]

    assert [len(q.reports.items) for q in pages] == [PAGE_SIZE, PAGE_SIZE, 5]
    assert [r.id for q in pages for r in q.reports.items] == newest_first
    assert [(q.reports.total, q.reports.pages) for q in pages] == [(45, 3)] * 3
    assert pages[0].counts["open"] == 45
    past_the_end = moderation.list_reports(db, actor=mo, status="open", page=7)
    assert (past_the_end.reports.page, past_the_end.reports.items) == (2, pages[2].reports.items)


def test_an_unknown_state_is_refused(db: Session, mo: User) -> None:
    with pytest.raises(ValidationError) as refused:
        moderation.list_reports(db, actor=mo, status="deleted")
    assert refused.value.field == "status"


def test_a_report_shows_who_the_evidence_copy_and_the_history(
    db: Session, setup: PairSetup, report: Report, mo: User
) -> None:
    moderation.take_into_review(db, actor=mo, report_id=report.id or 0, reason="Looking")
    db.commit()
    detail = moderation.get_report(db, actor=mo, report_id=report.id or 0)
    assert (detail.reporter_name, detail.reported_name) == ("Theo", "Maya")
    assert detail.details == "This keeps happening."
    assert [(e.sender_name, e.body) for e in detail.evidence] == [
        ("Maya", "You are useless, give up.")
    ]
    assert [(h.action, h.moderator_name, h.reason) for h in detail.history] == [
        ("review", "Mo", "Looking")
    ]
    assert detail.allowed == ["dismiss", "action"]


def test_the_evidence_is_the_frozen_copy_not_the_chat(
    db: Session, setup: PairSetup, report: Report, mo: User
) -> None:
    # Another message in the same chat, never reported, stays out of the moderator's view.
    db.add(Message(pair_id=setup.pair.id or 0, sender_id=setup.mentee.id or 0,
                   client_id="private-1234", body="My private worries."))  # fmt: skip
    db.commit()
    detail = moderation.get_report(db, actor=mo, report_id=report.id or 0)
    assert "My private worries." not in [e.body for e in detail.evidence]


def test_the_moderator_sees_the_copy_made_at_report_time_after_the_message_changes(
    db: Session, setup: PairSetup, mo: User
) -> None:
    pid = setup.pair.id or 0
    bad = chat.send_message(
        db, actor=setup.mentor, pair_id=pid, body="Send me your bank details", client_id="bad-1234"
    )
    filed = chat.report(
        db, actor=setup.mentee, pair_id=pid, category="spam", message_ids=[bad.id or 0]
    )
    db.commit()
    # After the report the row changes under it: its text, and the sender's name.
    db.execute(
        text("UPDATE pair_message SET body = 'Nice weather today' WHERE id = :id"), {"id": bad.id}
    )
    db.execute(
        text("UPDATE app_user SET display_name = 'Someone else' WHERE id = :id"),
        {"id": setup.mentor.id},
    )
    db.commit()
    db.expire_all()
    assert db.get(Message, bad.id).body == "Nice weather today"  # type: ignore[union-attr]

    detail = moderation.get_report(db, actor=mo, report_id=filed.id or 0)

    assert [(e.message_id, e.sender_name, e.body) for e in detail.evidence] == [
        (bad.id, "Maya", "Send me your bank details")
    ]


def test_an_unknown_report_is_not_found(db: Session, mo: User) -> None:
    with pytest.raises(NotFound):
        moderation.get_report(db, actor=mo, report_id=424242)
    with pytest.raises(NotFound):
        moderation.dismiss(db, actor=mo, report_id=424242, reason="x")


# --- steps --------------------------------------------------------------------------------------


def test_a_report_goes_open_review_dismissed_reopened_actioned(
    db: Session, report: Report, mo: User
) -> None:
    rid = report.id or 0
    assert moderation.take_into_review(db, actor=mo, report_id=rid).status == "in_review"
    assert moderation.dismiss(db, actor=mo, report_id=rid, reason="Banter").status == "dismissed"
    assert moderation.reopen(db, actor=mo, report_id=rid, reason="More came in").status == "open"
    result = moderation.take_action(db, actor=mo, report_id=rid, outcome="warn", reason="Rude")
    assert result.status == "actioned"
    assert moderation.reopen(db, actor=mo, report_id=rid).status == "open"
    db.commit()
    assert _actions(db, rid) == [
        ("review", None, ""),
        ("dismiss", None, "Banter"),
        ("reopen", None, "More came in"),
        ("action", "warn", "Rude"),
        ("reopen", None, ""),
    ]
    assert _audit(db, rid) == [
        "report_review",
        "report_dismiss",
        "report_reopen",
        "report_action",
        "report_reopen",
    ]
    assert all(
        a.actor_id == mo.id
        for a in db.exec(select(AuditLog).where(AuditLog.target_type == "report")).all()
    )


STEPS: dict[str, Callable[[Session, User, int], Any]] = {
    "review": lambda db, u, rid: moderation.take_into_review(db, actor=u, report_id=rid),
    "dismiss": lambda db, u, rid: moderation.dismiss(db, actor=u, report_id=rid, reason="r"),
    "action": lambda db, u, rid: moderation.take_action(
        db, actor=u, report_id=rid, outcome="warn", reason="r"
    ),
    "reopen": lambda db, u, rid: moderation.reopen(db, actor=u, report_id=rid),
}


@pytest.mark.parametrize(
    ("status", "step"),
    [
        ("open", "reopen"),
        ("in_review", "review"),
        ("in_review", "reopen"),
        ("dismissed", "dismiss"),
        ("dismissed", "review"),
        ("dismissed", "action"),
        ("actioned", "action"),
        ("actioned", "dismiss"),
        ("actioned", "review"),
    ],
)
def test_a_step_that_does_not_follow_from_the_state_is_a_conflict(
    db: Session, setup: PairSetup, mo: User, status: str, step: str
) -> None:
    report = make_report(db, setup, status=status)
    with pytest.raises(Conflict):
        STEPS[step](db, mo, report.id or 0)
    db.rollback()
    assert _actions(db, report.id or 0) == []
    assert _audit(db, report.id or 0) == []


@pytest.mark.parametrize("reason", ["", "   \n "])
@pytest.mark.parametrize("step", ["dismiss", "warn", "suspend"])
def test_dismissing_or_acting_needs_a_reason(
    db: Session, report: Report, mo: User, step: str, reason: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        if step == "dismiss":
            moderation.dismiss(db, actor=mo, report_id=report.id or 0, reason=reason)
        else:
            moderation.take_action(
                db, actor=mo, report_id=report.id or 0, outcome=step, reason=reason
            )
    assert refused.value.field == "reason"


def test_a_reason_is_at_most_2000_characters(db: Session, report: Report, mo: User) -> None:
    with pytest.raises(ValidationError) as refused:
        moderation.dismiss(db, actor=mo, report_id=report.id or 0, reason="x" * 2001)
    assert refused.value.field == "reason"
    moderation.dismiss(db, actor=mo, report_id=report.id or 0, reason="x" * 2000)


def test_only_warn_or_suspend_are_outcomes(db: Session, report: Report, mo: User) -> None:
    with pytest.raises(ValidationError) as refused:
        moderation.take_action(db, actor=mo, report_id=report.id or 0, outcome="ban", reason="r")
    assert refused.value.field == "outcome"


def test_two_moderators_acting_at_once_only_one_wins(any_engine: Engine) -> None:
    with Session(any_engine, expire_on_commit=False) as db:
        setup = make_pair(db)
        report = make_report(db, setup, status="in_review")
        first, second = make_moderator(db, "Mo"), make_moderator(db, "Noor")
    rid = report.id or 0

    def warn(who: User) -> Callable[[Session], object]:
        return lambda s: moderation.take_action(
            s, actor=who, report_id=rid, outcome="warn", reason="Rude"
        )

    def dismiss(who: User) -> Callable[[Session], object]:
        return lambda s: moderation.dismiss(s, actor=who, report_id=rid, reason="Fine")

    results = race(any_engine, warn(first), dismiss(second))
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "StepResult"]
    with Session(any_engine) as db:
        assert len(_actions(db, rid)) == 1
        assert len(_audit(db, rid)) == 1
        assert db.get(Report, rid).status in ("actioned", "dismissed")  # type: ignore[union-attr]


# --- who is told what ------------------------------------------------------------------------


def test_a_warning_tells_the_member_without_naming_the_reporter(
    db: Session, setup: PairSetup, report: Report, mo: User
) -> None:
    before = len(_notices(db, setup.mentor))
    moderation.take_action(db, actor=mo, report_id=report.id or 0, outcome="warn", reason="Rude")
    db.commit()
    told = _notices(db, setup.mentor)[before:]
    assert [kind for kind, _text in told] == ["moderation_warning"]
    assert "Theo" not in told[0][1] and "Rude" not in told[0][1]
    assert db.get(User, setup.mentor.id).status == "active"  # type: ignore[union-attr]


@pytest.mark.parametrize("step", ["dismiss", "warn", "suspend"])
def test_the_reporter_is_thanked_without_the_outcome(
    db: Session, setup: PairSetup, report: Report, mo: User, step: str
) -> None:
    before = len(_notices(db, setup.mentee))
    if step == "dismiss":
        moderation.dismiss(db, actor=mo, report_id=report.id or 0, reason="Banter")
    else:
        moderation.take_action(db, actor=mo, report_id=report.id or 0, outcome=step, reason="Rude")
    db.commit()
    told = [(k, t) for k, t in _notices(db, setup.mentee)[before:] if k == "report_outcome"]
    assert told == [("report_outcome", "Thank you: your report has been reviewed.")]


def test_dismissing_tells_the_reported_member_nothing(
    db: Session, setup: PairSetup, report: Report, mo: User
) -> None:
    before = _notices(db, setup.mentor)
    moderation.dismiss(db, actor=mo, report_id=report.id or 0, reason="Banter")
    db.commit()
    assert _notices(db, setup.mentor) == before


# --- suspension -----------------------------------------------------------------------------


def test_suspending_ends_every_session_and_refuses_log_in(
    db: Session, setup: PairSetup, report: Report, mo: User
) -> None:
    tokens = [sessions.create_session(db, user=setup.mentor) for _ in range(2)]
    db.commit()
    moderation.take_action(
        db, actor=mo, report_id=report.id or 0, outcome="suspend", reason="Threats"
    )
    db.commit()
    assert all(sessions.resolve_session(db, token=t) is None for t in tokens)
    with pytest.raises(ValidationError) as refused:
        accounts.authenticate(db, email=setup.mentor.email, password=PASSWORD)
    assert refused.value.message == accounts.BAD_LOGIN
    assert db.exec(
        select(AuditLog.action).where(
            AuditLog.action == "user_suspended", AuditLog.target_id == setup.mentor.id
        )
    ).all() == ["user_suspended"]


def test_suspending_a_mentor_ends_their_pairs_and_the_mentee_gets_rematch_priority(
    db: Session, setup: PairSetup, report: Report, mo: User
) -> None:
    result = moderation.take_action(
        db, actor=mo, report_id=report.id or 0, outcome="suspend", reason="Threats"
    )
    db.commit()
    assert result.ended_pair_ids == [setup.pair.id]
    pair = db.get(Pair, setup.pair.id, populate_existing=True)
    assert pair is not None
    assert (pair.status, pair.end_reason, pair.end_detail) == (
        "ended",
        "other",
        "Account suspended",
    )
    assert pair.ended_at is not None
    assert (pair.mentor_seat, pair.live_mentee_enrollment_id) == (None, None)
    mentee = db.get(Enrollment, setup.mentee_enrollment.id, populate_existing=True)
    assert mentee is not None
    assert (mentee.status, mentee.rematch_priority) == ("active", True)
    told = _notices(db, setup.mentee)
    program = setup.program.title
    assert ("pair_ended", f"Your pair in “{program}” has ended.") in told
    assert not any("suspend" in text.lower() for _kind, text in told)


def test_suspending_a_mentee_ends_their_pair_and_tells_the_mentor(
    db: Session, setup: PairSetup, mo: User
) -> None:
    report = Report(
        pair_id=setup.pair.id,
        reporter_id=setup.mentor.id or 0,
        reported_id=setup.mentee.id or 0,
        category="spam",
    )
    db.add(report)
    db.commit()
    moderation.take_action(
        db, actor=mo, report_id=report.id or 0, outcome="suspend", reason="Scam links"
    )
    db.commit()
    assert db.get(Pair, setup.pair.id, populate_existing=True).status == "ended"  # type: ignore[union-attr]
    mentee = db.get(Enrollment, setup.mentee_enrollment.id, populate_existing=True)
    assert mentee is not None and mentee.rematch_priority is False
    assert [k for k, _t in _notices(db, setup.mentor)].count("pair_ended") == 1


def test_suspension_leaves_pairs_already_over_alone(
    db: Session, setup: PairSetup, report: Report, mo: User
) -> None:
    setup.pair.status, setup.pair.end_reason = "completed", "completed"
    setup.pair.mentor_seat = setup.pair.live_mentee_enrollment_id = None
    db.add(setup.pair)
    db.commit()
    result = moderation.take_action(
        db, actor=mo, report_id=report.id or 0, outcome="suspend", reason="Threats"
    )
    assert result.ended_pair_ids == []
    assert db.get(Pair, setup.pair.id).status == "completed"  # type: ignore[union-attr]


def test_reopening_does_not_lift_a_suspension(
    db: Session, setup: PairSetup, report: Report, mo: User
) -> None:
    moderation.take_action(db, actor=mo, report_id=report.id or 0, outcome="suspend", reason="x")
    moderation.reopen(db, actor=mo, report_id=report.id or 0, reason="Appeal")
    db.commit()
    assert db.get(User, setup.mentor.id).status == "suspended"  # type: ignore[union-attr]


# --- append-only logs -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET detail = 'rewritten'",
        "DELETE FROM audit_log",
        "UPDATE moderation_action SET reason = 'rewritten'",
        "DELETE FROM moderation_action",
    ],
)
def test_the_audit_log_and_the_history_cannot_be_changed_or_removed(
    any_engine: Engine, statement: str
) -> None:
    with Session(any_engine, expire_on_commit=False) as db:
        setup = make_pair(db)
        report = make_report(db, setup)
        mo = make_moderator(db)
        moderation.dismiss(db, actor=mo, report_id=report.id or 0, reason="Banter")
        db.commit()
    with Session(any_engine) as db:
        with pytest.raises(DatabaseError):
            db.execute(text(statement))
            db.flush()
        db.rollback()
    with Session(any_engine) as db:
        assert _actions(db, report.id or 0) == [("dismiss", None, "Banter")]
        assert _audit(db, report.id or 0) == ["report_dismiss"]


# --- the operator's command line --------------------------------------------------------------


def test_the_cli_grants_lists_and_revokes_moderators(
    engine: Engine, db: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    person = make_user(db, email="nina@example.com", display_name="Nina")
    db.close()
    assert moderators.main(["grant", "Nina@Example.com"], engine=engine) == 0
    assert "nina@example.com is now a site moderator." in capsys.readouterr().out
    with Session(engine) as s:
        assert s.get(User, person.id).is_site_moderator is True  # type: ignore[union-attr]
    assert moderators.main(["list"], engine=engine) == 0
    assert "nina@example.com" in capsys.readouterr().out
    assert moderators.main(["revoke", "nina@example.com"], engine=engine) == 0
    assert "no longer a site moderator" in capsys.readouterr().out
    with Session(engine) as s:
        assert s.get(User, person.id).is_site_moderator is False  # type: ignore[union-attr]
        assert s.exec(
            select(AuditLog.action)
            .where(AuditLog.target_id == person.id)
            .order_by(col(AuditLog.id))
        ).all() == ["moderator_granted", "moderator_revoked"]
    assert moderators.main(["list"], engine=engine) == 0
    assert "There are no site moderators." in capsys.readouterr().out


def test_the_cli_fails_for_an_unknown_email(
    engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    assert moderators.main(["grant", "nobody@example.com"], engine=engine) == 1
    assert "No account with the e-mail nobody@example.com." in capsys.readouterr().err
