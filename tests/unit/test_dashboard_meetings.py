"""The program dashboard's meetings and goals: meetings held per week as a rate of active
pairs, "no meeting in 14 days" as a health reason, goals set and their average progress,
and the CSV's columns for them. Counts only: never a goal's text, a video link or a time."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlmodel import Session

from mentor_app.models import Pair
from mentor_app.services import dashboard, journey
from tests.factories import PairSetup, make_goal, make_meeting, make_pair
from tests.unit.test_dashboard import (
    _both_check_in,
    _counting,
    _on_day,
    _second_pair,
    _steps,
)


@pytest.fixture
def setup(db: Session) -> PairSetup:
    return make_pair(db)


def _board(db: Session, setup: PairSetup, now: dt.datetime) -> dashboard.Dashboard:
    return dashboard.get_dashboard(db, actor=setup.admin, program_id=setup.program.id or 0, now=now)


def _health(db: Session, setup: PairSetup, now: dt.datetime) -> dashboard.PairHealth:
    return next(p for p in _board(db, setup, now).pairs if p.pair_id == setup.pair.id)


def _no_meeting(health: dashboard.PairHealth) -> bool:
    return any(r.key == "no_meeting" for r in health.reasons)


def test_meetings_held_per_week_are_a_rate_of_the_active_pairs_that_reached_the_week(
    db: Session, setup: PairSetup
) -> None:
    other = _second_pair(db, setup)
    ended = _second_pair(db, setup)
    # The first pair meets weekly from week 1; the other only in week 2 (its week-1
    # meeting was cancelled); the ended pair's meeting no longer counts; next week's
    # meeting has not been held yet.
    make_meeting(
        db,
        pair=setup.pair,
        starts_at=_on_day(setup, 1, 3),
        weekly=True,
        repeat_until=_on_day(setup, 2, 7).date(),
    )
    make_meeting(db, pair=other, starts_at=_on_day(setup, 1, 4), status="cancelled")
    make_meeting(db, pair=other, starts_at=_on_day(setup, 2, 1))
    make_meeting(db, pair=other, starts_at=_on_day(setup, 3, 6))
    make_meeting(db, pair=ended, starts_at=_on_day(setup, 1, 2))
    journey.end_pair(db, actor=setup.admin, pair_id=ended.id or 0, reason="not_a_good_fit")
    db.commit()

    board = _board(db, setup, _on_day(setup, 3, 2))

    assert [(r.week, r.held, r.pairs, r.percent) for r in board.meeting_rates] == [
        (1, 1, 2, 50),
        (2, 2, 2, 100),
        (3, 0, 2, 0),
    ]
    held = {p.pair_id: p.meetings_held for p in board.pairs}
    assert held == {setup.pair.id: 2, other.id: 1, ended.id: 1}


def test_no_meeting_in_14_days_is_a_health_reason_once_the_journey_is_14_days_in(
    db: Session, setup: PairSetup
) -> None:
    assert setup.pair.start_date is not None
    _both_check_in(db, setup, 1, 2)  # nothing else to say about the pair
    _steps(db, setup, 2)
    start = dt.datetime.combine(setup.pair.start_date, dt.time(), tzinfo=dt.UTC)

    # A new pair is not flagged: 13 days in, no meeting yet.
    assert not _no_meeting(_health(db, setup, start + dt.timedelta(days=13, hours=23)))

    health = _health(db, setup, start + dt.timedelta(days=14))
    reason = next(r for r in health.reasons if r.key == "no_meeting")
    assert (reason.text, reason.points) == ("no meeting for 14 days", 15)
    assert (health.score, health.action) == (85, "Suggest planning a meeting")


@pytest.mark.parametrize(
    ("held_days_ago", "status", "flagged"),
    [
        (13, "confirmed", False),
        (15, "confirmed", True),
        (3, "cancelled", True),
        (-2, "confirmed", True),
    ],
    ids=["held-13-days-ago", "held-15-days-ago", "cancelled", "still-to-come"],
)  # fmt: skip
def test_only_a_meeting_held_in_the_last_14_days_counts(
    db: Session, setup: PairSetup, held_days_ago: int, status: str, flagged: bool
) -> None:
    now = _on_day(setup, 4, 2)
    make_meeting(
        db, pair=setup.pair, starts_at=now - dt.timedelta(days=held_days_ago), status=status
    )

    assert _no_meeting(_health(db, setup, now)) is flagged


def test_goals_set_and_their_average_progress(db: Session, setup: PairSetup) -> None:
    other = _second_pair(db, setup)
    for position, progress in ((1, 0), (2, 50), (3, 100)):
        make_goal(db, pair=setup.pair, position=position, progress=progress)
    make_goal(db, pair=other, progress=30)

    board = _board(db, setup, _on_day(setup, 2, 2))

    assert (board.goals_set, board.goal_progress) == (4, 45)  # (0 + 50 + 100 + 30) / 4
    by_pair = {p.pair_id: (p.goals, p.goal_progress) for p in board.pairs}
    assert by_pair == {setup.pair.id: (3, 50), other.id: (1, 30)}


def test_a_program_without_goals_has_no_average(db: Session, setup: PairSetup) -> None:
    board = _board(db, setup, _on_day(setup, 2, 2))
    assert (board.goals_set, board.goal_progress) == (0, None)


def test_the_dashboard_and_export_never_carry_goal_texts_video_links_or_meeting_times(
    db: Session, setup: PairSetup
) -> None:
    # A time no other row has (its microseconds), to find it anywhere in what is returned.
    secret_time = _on_day(setup, 2, 3).replace(minute=47, second=13, microsecond=424242)
    make_meeting(
        db,
        pair=setup.pair,
        starts_at=secret_time,
        video_link="https://meet.example.org/VIDEO-secret-room-5512",
    )
    make_goal(db, pair=setup.pair, text="GOAL-land-a-job-in-data-8841", progress=40)
    program_id = setup.program.id or 0
    now = _on_day(setup, 3, 2)

    board = dashboard.get_dashboard(db, actor=setup.admin, program_id=program_id, now=now)
    page = dashboard.get_dashboard_page(db, actor=setup.admin, program_id=program_id, now=now)
    text = dashboard.export_csv(db, actor=setup.admin, program_id=program_id, now=now)

    assert board.goals_set == 1 and board.pairs[0].meetings_held == 1  # the rows were there
    for shown in (repr(board), repr(page), text):
        for secret in ("GOAL-land", "VIDEO-secret", "meet.example.org", "424242", "47:13"):
            assert secret not in shown


def test_the_export_has_a_column_for_meetings_held_goals_and_their_progress(
    db: Session, setup: PairSetup
) -> None:
    make_meeting(db, pair=setup.pair, starts_at=_on_day(setup, 1, 3))
    make_meeting(db, pair=setup.pair, starts_at=_on_day(setup, 2, 3))
    make_goal(db, pair=setup.pair, progress=70)

    text = dashboard.export_csv(
        db, actor=setup.admin, program_id=setup.program.id or 0, now=_on_day(setup, 3, 1)
    )

    (row,) = list(csv.DictReader(io.StringIO(text)))
    assert list(row)[-3:] == ["meetings held", "goals set", "average goal progress %"]
    assert (row["meetings held"], row["goals set"], row["average goal progress %"]) == (
        "2",
        "1",
        "70",
    )


def test_meetings_and_goals_cost_no_query_per_pair(db: Session, setup: PairSetup) -> None:
    program_id = setup.program.id or 0
    make_meeting(db, pair=setup.pair, starts_at=_on_day(setup, 1, 3))
    make_goal(db, pair=setup.pair, progress=10)
    db.expire_all()
    with _counting(db) as one:
        dashboard.get_dashboard(db, actor=setup.admin, program_id=program_id)
    for _ in range(4):
        pair: Pair = _second_pair(db, setup)
        make_meeting(db, pair=pair, starts_at=_on_day(setup, 1, 2), weekly=True,
                     repeat_until=_on_day(setup, 6, 1).date())  # fmt: skip
        make_goal(db, pair=pair, position=1, progress=20)
        make_goal(db, pair=pair, position=2, progress=60)
    db.expire_all()
    with _counting(db) as five:
        board = dashboard.get_dashboard(db, actor=setup.admin, program_id=program_id)

    assert (len(board.pairs), board.goals_set) == (5, 9)
    assert len(five) == len(one)
