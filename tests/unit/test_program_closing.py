"""Closing a program ends its active pairs: the journeys turn read-only, the chats close, the
nudges stop, and both members of each pair are told (the admin who closed it is not)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from mentor_app.models import AuditLog, Notification, Pair
from mentor_app.services import chat, journey, pairing, programs
from mentor_app.services.errors import Conflict
from mentor_app.services.nudges import NudgeRules, run_nudges
from tests.factories import PairSetup, add_member, make_application, make_pair, make_user


@pytest.fixture
def setup(db: Session) -> PairSetup:
    return make_pair(db)


def close(db: Session, setup: PairSetup) -> None:
    pid = setup.program.id or 0
    for seen in ("open", "active"):
        programs.advance_status(db, actor=setup.admin, program_id=pid, expected_status=seen)
    db.commit()


def on_day(setup: PairSetup, week: int, day: int) -> dt.datetime:
    """Noon (UTC) on the given day (1..7) of a journey week."""
    assert setup.pair.start_date is not None
    date = setup.pair.start_date + dt.timedelta(days=7 * (week - 1) + day - 1)
    return dt.datetime(date.year, date.month, date.day, 12, tzinfo=dt.UTC)


def told(db: Session, user_id: int | None) -> list[str]:
    return list(
        db.exec(
            select(Notification.text)
            .where(Notification.user_id == user_id, Notification.kind == "pair_ended")
            .order_by(col(Notification.id))
        ).all()
    )


def notices_of(db: Session, user_id: int | None) -> list[int | None]:
    return list(db.exec(select(Notification.id).where(Notification.user_id == user_id)).all())


def test_closing_the_program_ends_its_active_pairs(db: Session, setup: PairSetup) -> None:
    close(db, setup)

    pair = db.get(Pair, setup.pair.id)
    assert pair is not None
    assert (pair.status, pair.end_reason, pair.ended_by) == (
        "ended",
        "program_closed",
        setup.admin.id,
    )
    assert pair.mentor_seat is None and pair.live_mentee_enrollment_id is None


def test_both_members_are_told_once_and_the_closing_admin_is_not(
    db: Session, setup: PairSetup
) -> None:
    close(db, setup)

    text = f"“{setup.program.title}” has closed, so your pair with {{}} has ended."
    assert told(db, setup.mentor.id) == [text.format("Theo")]
    assert told(db, setup.mentee.id) == [text.format("Maya")]
    assert told(db, setup.admin.id) == []


def test_an_admin_paired_in_the_program_they_close_is_not_told_of_it(db: Session) -> None:
    setup = make_pair(db)
    pid = setup.program.id or 0
    admin_mentor = make_application(db, program=setup.program, user=setup.admin, role="mentor")
    mentee = make_user(db, display_name="Lin")
    add_member(db, setup.group, mentee)
    lin = make_application(db, program=setup.program, user=mentee, role="mentee")
    pairing.pair_by_hand(
        db, actor=setup.admin, program_id=pid,
        mentee_enrollment_id=lin.id or 0, mentor_enrollment_id=admin_mentor.id or 0,
    )  # fmt: skip
    pairing.publish_pairs(db, actor=setup.admin, program_id=pid)
    db.commit()
    before = notices_of(db, setup.admin.id)

    close(db, setup)

    assert notices_of(db, setup.admin.id) == before
    assert told(db, mentee.id) == [
        f"“{setup.program.title}” has closed, so your pair with Ada has ended."
    ]


def test_the_closing_is_in_the_audit_log_pair_by_pair(db: Session, setup: PairSetup) -> None:
    close(db, setup)

    rows = db.exec(
        select(AuditLog.actor_id, AuditLog.action, AuditLog.target_id, AuditLog.detail).where(
            col(AuditLog.action).in_(("pair_ended", "program_status_changed"))
        )
    ).all()
    assert (setup.admin.id, "pair_ended", setup.pair.id, "program_closed by admin") in rows
    assert (
        setup.admin.id,
        "program_status_changed",
        setup.program.id,
        "active → closed (1 active pair ended)",
    ) in rows


def test_a_closed_programs_journeys_are_read_only_and_its_chat_is_closed(
    db: Session, setup: PairSetup
) -> None:
    pid = setup.pair.id or 0
    close(db, setup)

    with pytest.raises(Conflict, match="read-only"):
        journey.mark_step_done(db, actor=setup.mentee, pair_id=pid, week=1)
    with pytest.raises(Conflict, match="read-only"):
        journey.save_check_in(
            db, actor=setup.mentee, pair_id=pid, mood=4, met="yes", now=setup.at_week(2)
        )
    with pytest.raises(Conflict, match="no longer send"):
        chat.send_message(
            db, actor=setup.mentor, pair_id=pid, body="Still there?", client_id="after-close-1"
        )
    view = journey.get_journey(db, actor=setup.mentee, pair_id=pid)
    assert view.status == "ended"


def test_no_nudge_for_the_pairs_of_a_closed_program(
    engine: Engine, db: Session, setup: PairSetup
) -> None:
    close(db, setup)

    report = run_nudges(engine, now=on_day(setup, 2, 5), rules=NudgeRules())

    assert report.created == 0


def test_pairs_already_over_are_left_as_they_were(db: Session, setup: PairSetup) -> None:
    journey.end_pair(
        db, actor=setup.mentor, pair_id=setup.pair.id or 0, reason="not_a_good_fit", rating=2
    )
    db.commit()

    close(db, setup)

    pair = db.get(Pair, setup.pair.id)
    assert pair is not None and (pair.end_reason, pair.ended_by) == (
        "not_a_good_fit",
        setup.mentor.id,
    )
    assert told(db, setup.mentor.id) == []  # told once, by the ending itself: not again
