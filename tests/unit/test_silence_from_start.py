"""Silence is counted from the journey's start, not from publishing, and "this week"
without a check-in counts only once the week's nudge day has passed (issue 17, defect 8).

The issue's figures: a pair published 14 days before its start."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from mentor_app.models import Message, Notification, User
from mentor_app.services import dashboard
from mentor_app.services.nudges import NudgeRules, run_nudges
from tests.factories import TODAY, PairSetup, make_pair

RULES = NudgeRules()  # nudges from day 5 of the week, 09:00-20:00 local


@pytest.fixture
def setup(db: Session) -> PairSetup:
    """Published at noon on TODAY; the journey starts 14 days later (factories.START)."""
    made = make_pair(db)
    made.pair.published_at = dt.datetime(TODAY.year, TODAY.month, TODAY.day, 12, tzinfo=dt.UTC)
    db.add(made.pair)
    db.commit()
    assert made.pair.start_date == TODAY + dt.timedelta(days=14)
    return made


def journey_day(setup: PairSetup, day: int, hour: int = 12) -> dt.datetime:
    """Noon (UTC) of the given day of the journey; day 1 is the start date."""
    assert setup.pair.start_date is not None
    date = setup.pair.start_date + dt.timedelta(days=day - 1)
    return dt.datetime(date.year, date.month, date.day, hour, tzinfo=dt.UTC)


def wrote(db: Session, setup: PairSetup, sender: User, at: dt.datetime) -> None:
    db.add(
        Message(
            pair_id=setup.pair.id or 0,
            sender_id=sender.id or 0,
            client_id=f"c-{at.timestamp()}-{sender.id}",
            body="Looking forward to it!",
            created_at=at,
        )
    )
    db.commit()


def texts(engine: Engine) -> list[str]:
    with Session(engine) as db:
        return list(db.exec(select(Notification.text)).all())


def test_the_mentee_is_not_told_the_partner_has_been_in_touch_on_day_one(
    engine: Engine, db: Session, setup: PairSetup
) -> None:
    wrote(db, setup, setup.mentor, journey_day(setup, 1, hour=8))

    report = run_nudges(engine, now=journey_day(setup, 1), rules=RULES)

    assert (report.one_sided, report.admin_alerts) == (0, 0)
    assert not any("has been in touch" in text for text in texts(engine))


def test_admins_are_not_told_of_21_silent_days_on_day_eight(
    engine: Engine, db: Session, setup: PairSetup
) -> None:
    wrote(db, setup, setup.mentor, journey_day(setup, 5))

    report = run_nudges(engine, now=journey_day(setup, 8), rules=RULES)

    assert (report.one_sided, report.admin_alerts) == (0, 0)
    assert not any("silent for" in text for text in texts(engine))


def test_silence_before_the_start_never_counts_but_after_it_does(
    engine: Engine, db: Session, setup: PairSetup
) -> None:
    wrote(db, setup, setup.mentor, journey_day(setup, 10))

    # Day 11 at noon: ten full days and a half since the journey began.
    report = run_nudges(engine, now=journey_day(setup, 11), rules=RULES)

    assert (report.one_sided, report.admin_alerts) == (1, 0)
    assert "Maya has been in touch — reply when you can" in texts(engine)


def test_the_admins_alert_counts_the_days_since_the_start(
    engine: Engine, db: Session, setup: PairSetup
) -> None:
    wrote(db, setup, setup.mentor, journey_day(setup, 22))

    report = run_nudges(engine, now=journey_day(setup, 23), rules=RULES)

    assert report.admin_alerts == 1
    assert any(text.endswith("Theo silent for 22 days") for text in texts(engine))


def test_a_pair_published_after_its_start_counts_from_publishing(
    engine: Engine, db: Session, setup: PairSetup
) -> None:
    setup.pair.published_at = journey_day(setup, 6)
    db.add(setup.pair)
    db.commit()
    wrote(db, setup, setup.mentor, journey_day(setup, 14))

    assert run_nudges(engine, now=journey_day(setup, 15), rules=RULES).one_sided == 0
    assert run_nudges(engine, now=journey_day(setup, 16), rules=RULES).one_sided == 1


# --- the dashboard -----------------------------------------------------------------------


def health(db: Session, setup: PairSetup, day: int) -> dashboard.PairHealth:
    board = dashboard.get_dashboard(
        db, actor=setup.admin, program_id=setup.program.id or 0, now=journey_day(setup, day)
    )
    return next(p for p in board.pairs if p.pair_id == setup.pair.id)


def reason_texts(row: dashboard.PairHealth) -> list[str]:
    return [reason.text for reason in row.reasons]


def test_the_dashboard_does_not_count_the_week_just_begun_on_day_eight(
    db: Session, setup: PairSetup
) -> None:
    row = health(db, setup, 8)

    assert "no check-in for 2 weeks" not in reason_texts(row)
    assert (row.score, row.band) == (100, "healthy")


@pytest.mark.parametrize(("day", "counted"), [(12, False), (13, True)])
def test_this_week_counts_once_its_nudge_day_has_passed(
    db: Session, setup: PairSetup, day: int, counted: bool
) -> None:
    # Week 2 runs from day 8 to day 14; its nudge day is its 5th, day 12.
    assert ("no check-in for 2 weeks" in reason_texts(health(db, setup, day))) is counted


def test_the_dashboard_agrees_with_the_nudges_on_one_sided_silence(
    db: Session, setup: PairSetup
) -> None:
    wrote(db, setup, setup.mentor, journey_day(setup, 5))

    assert not any(text.startswith("one-sided") for text in reason_texts(health(db, setup, 8)))
    assert "one-sided: mentor writing, mentee silent for 10 days" in reason_texts(
        health(db, setup, 11)
    )
