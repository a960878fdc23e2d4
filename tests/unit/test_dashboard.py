"""The program dashboard: health reasons and scores, rates, the CSV export, pausing."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from mentor_app.models import AuditLog, CheckIn, FitCheck, Message, Pair, StepCompletion, User
from mentor_app.services import dashboard, enrollments, journey, pairing
from mentor_app.services.errors import Conflict, NotFound, PermissionDenied
from mentor_app.services.paging import PAGE_SIZE
from tests.factories import (
    TODAY,
    PairSetup,
    add_applicants,
    add_member,
    make_application,
    make_goal,
    make_meeting,
    make_pair,
    make_program,
    make_user,
)


@pytest.fixture
def setup(db: Session) -> PairSetup:
    return make_pair(db)


def _pid(setup: PairSetup) -> int:
    return setup.pair.id or 0


def _check_in(
    db: Session, setup: PairSetup, who: User | int, week: int, *, note: str = "", pair_id: int = 0
) -> None:
    at = setup.at_week(week)
    db.add(
        CheckIn(
            pair_id=pair_id or _pid(setup),
            user_id=who if isinstance(who, int) else who.id or 0,
            week=week,
            mood=4,
            met=True,
            note=note,
            created_at=at,
            updated_at=at,
        )
    )
    db.commit()


def _message(db: Session, setup: PairSetup, who: User, at: dt.datetime, body: str = "Hi") -> None:
    db.add(
        Message(
            pair_id=_pid(setup),
            sender_id=who.id or 0,
            client_id=f"c-{at.timestamp()}-{who.id}",
            body=body,
            created_at=at,
        )
    )
    db.commit()


def _steps(db: Session, setup: PairSetup, weeks: int) -> None:
    """The first `weeks` steps done: marked by both members."""
    for week in range(1, weeks + 1):
        for member in (setup.mentee, setup.mentor):
            db.add(
                StepCompletion(
                    pair_id=_pid(setup),
                    week=week,
                    user_id=member.id or 0,
                    done_at=setup.at_week(week),
                )
            )
    db.commit()


def _met(db: Session, setup: PairSetup, at: dt.datetime, pair: Pair | None = None) -> None:
    """A meeting of the pair held at `at` (a confirmed one that has started)."""
    make_meeting(db, pair=pair or setup.pair, starts_at=at)


def _not_good(db: Session, setup: PairSetup, *who: User) -> None:
    for user in who:
        db.add(FitCheck(pair_id=_pid(setup), user_id=user.id or 0, answer="not_good"))
    db.commit()


# Day 6 of a journey week: its nudge day (day 5) has passed, so a week without a check-in
# counts as missed.
AFTER_NUDGE_DAY = 6


def _on_day(setup: PairSetup, week: int, day: int) -> dt.datetime:
    """Noon (UTC) of the given day (1..7) of a journey week."""
    return setup.at_week(week) + dt.timedelta(days=day - 2)  # at_week is day 2


def _health(db: Session, setup: PairSetup, week: int, day: int = 2) -> dashboard.PairHealth:
    board = dashboard.get_dashboard(
        db, actor=setup.admin, program_id=setup.program.id or 0, now=_on_day(setup, week, day)
    )
    return next(p for p in board.pairs if p.pair_id == _pid(setup))


def _reason(health: dashboard.PairHealth, key: str) -> dashboard.HealthReason | None:
    return next((r for r in health.reasons if r.key == key), None)


def _both_check_in(db: Session, setup: PairSetup, *weeks: int) -> None:
    for week in weeks:
        _check_in(db, setup, setup.mentor, week)
        _check_in(db, setup, setup.mentee, week)


def _second_pair(db: Session, setup: PairSetup, *, start_delay_days: int = 0) -> Pair:
    """Another published pair in the same program, starting `start_delay_days` later."""
    mentor = make_user(db, display_name="Noor")
    mentee = make_user(db, display_name="Ravi")
    for person in (mentor, mentee):
        add_member(db, setup.group, person)
    mentor_e = make_application(db, program=setup.program, user=mentor, role="mentor")
    mentee_e = make_application(db, program=setup.program, user=mentee, role="mentee")
    pair = pairing.pair_by_hand(
        db,
        actor=setup.admin,
        program_id=setup.program.id or 0,
        mentee_enrollment_id=mentee_e.id or 0,
        mentor_enrollment_id=mentor_e.id or 0,
        today=TODAY,
    )
    pairing.publish_pairs(db, actor=setup.admin, program_id=setup.program.id or 0, today=TODAY)
    assert pair.start_date is not None
    pair.start_date += dt.timedelta(days=start_delay_days)
    db.add(pair)
    db.commit()
    return pair


# --- health reasons ------------------------------------------------------------------------


def test_a_pair_checking_in_every_week_is_healthy_with_nothing_to_do(
    db: Session, setup: PairSetup
) -> None:
    _both_check_in(db, setup, 1, 2)
    _steps(db, setup, 1)

    health = _health(db, setup, 2)

    assert (health.score, health.band, health.reasons, health.action) == (100, "healthy", [], "")


@pytest.mark.parametrize(
    ("last_week", "now_week", "text", "points"),
    [
        (0, 2, "no check-in for 2 weeks", 30),  # nobody checked in in week 1 nor in week 2
        (1, 3, "no check-in for 2 weeks", 30),
        (1, 4, "no check-in for 3 weeks", 40),
        (1, 8, "no check-in for 7 weeks", 50),  # capped
    ],
)
def test_no_check_in_from_either_member_for_two_weeks_or_more_is_a_reason(
    db: Session, setup: PairSetup, last_week: int, now_week: int, text: str, points: int
) -> None:
    if last_week:
        _check_in(db, setup, setup.mentor, last_week)

    reason = _reason(_health(db, setup, now_week, AFTER_NUDGE_DAY), "no_check_in")

    assert reason is not None and (reason.text, reason.points) == (text, points)


def test_one_quiet_week_is_not_a_reason_yet(db: Session, setup: PairSetup) -> None:
    _check_in(db, setup, setup.mentee, 1)
    assert _reason(_health(db, setup, 2), "no_check_in") is None
    assert _reason(_health(db, setup, 1), "no_check_in") is None


def test_one_sided_messaging_names_who_writes_and_how_long_the_other_is_silent(
    db: Session, setup: PairSetup
) -> None:
    now = setup.at_week(3)
    _message(db, setup, setup.mentor, now - dt.timedelta(days=12, hours=1))
    _message(db, setup, setup.mentee, now - dt.timedelta(days=8))
    _check_in(db, setup, setup.mentee, 2)
    _check_in(db, setup, setup.mentee, 3)  # the mentee even checks in every week
    _steps(db, setup, 1)
    _met(db, setup, now - dt.timedelta(days=3))

    health = _health(db, setup, 3)

    assert [(r.text, r.points) for r in health.reasons] == [
        ("one-sided: mentee writing, mentor silent for 12 days", 25)
    ]
    assert (health.score, health.band, health.action) == (75, "healthy", "Message the pair")


def test_a_check_in_counts_as_speaking_up(db: Session, setup: PairSetup) -> None:
    now = setup.at_week(3)
    _message(db, setup, setup.mentee, now - dt.timedelta(days=1))
    _check_in(db, setup, setup.mentor, 3)  # the mentor checked in on the first day of week 3

    assert _reason(_health(db, setup, 3), "one_sided") is None


def test_nine_days_of_silence_is_not_one_sided_yet(db: Session, setup: PairSetup) -> None:
    now = setup.at_week(3)
    _message(db, setup, setup.mentor, now - dt.timedelta(days=9))
    _message(db, setup, setup.mentee, now - dt.timedelta(hours=1))
    assert _reason(_health(db, setup, 3), "one_sided") is None


def test_a_member_who_never_wrote_is_silent_since_the_pair_started(
    db: Session, setup: PairSetup
) -> None:
    now = setup.at_week(3)  # the 16th day of the journey, at noon
    _message(db, setup, setup.mentor, now - dt.timedelta(hours=2))

    reason = _reason(_health(db, setup, 3), "one_sided")

    assert reason is not None
    assert reason.text == "one-sided: mentor writing, mentee silent for 15 days"


@pytest.mark.parametrize(
    ("who", "text", "points"),
    [
        ("mentor", "fit check: not a good fit (mentor)", 40),
        ("mentee", "fit check: not a good fit (mentee)", 40),
        ("both", "fit check: not a good fit (mentor and mentee)", 50),
    ],
)
def test_not_a_good_fit_is_a_reason_and_calls_for_a_rematch(
    db: Session, setup: PairSetup, who: str, text: str, points: int
) -> None:
    _both_check_in(db, setup, 1, 2)
    people = {"mentor": [setup.mentor], "mentee": [setup.mentee]}
    _not_good(db, setup, *people.get(who, [setup.mentor, setup.mentee]))

    health = _health(db, setup, 2)

    assert [(r.text, r.points) for r in health.reasons] == [(text, points)]
    assert health.score == 100 - points
    assert health.action == "Offer a rematch"


def test_other_fit_answers_are_no_reason(db: Session, setup: PairSetup) -> None:
    _both_check_in(db, setup, 1, 2)
    db.add(FitCheck(pair_id=_pid(setup), user_id=setup.mentor.id or 0, answer="deciding"))
    db.add(FitCheck(pair_id=_pid(setup), user_id=setup.mentee.id or 0, answer="good"))
    db.commit()
    assert _health(db, setup, 2).reasons == []


@pytest.mark.parametrize(("done", "behind"), [(2, True), (3, False)])
def test_steps_trailing_the_week_by_more_than_two_is_a_reason(
    db: Session, setup: PairSetup, done: int, behind: bool
) -> None:
    _both_check_in(db, setup, 4, 5)
    _steps(db, setup, done)
    _met(db, setup, setup.at_week(5) - dt.timedelta(days=2))

    health = _health(db, setup, 5)

    reason = _reason(health, "behind")
    if behind:
        assert reason is not None
        assert (reason.text, reason.points) == ("behind on steps: 2 done by week 5", 15)
        assert (health.score, health.band, health.action) == (85, "healthy", "Nudge again")
    else:
        assert reason is None and health.score == 100


def test_a_paused_pair_says_so_and_is_to_be_resumed_rather_than_nudged(
    db: Session, setup: PairSetup
) -> None:
    dashboard.set_paused(db, actor=setup.admin, pair_id=_pid(setup), paused=True)
    db.commit()

    health = _health(db, setup, 2, AFTER_NUDGE_DAY)  # and nobody checked in

    assert [(r.key, r.points) for r in health.reasons] == [("no_check_in", 30), ("paused", 10)]
    assert health.reasons[1].text == "paused by an admin"
    assert health.score == 60 and health.band == "watch"
    assert health.action == "Resume or end the pair"


def test_reasons_add_up_worst_first_and_the_worst_sets_the_action(
    db: Session, setup: PairSetup
) -> None:
    now = setup.at_week(5)
    _message(db, setup, setup.mentee, now - dt.timedelta(days=1))  # the mentor never wrote
    _not_good(db, setup, setup.mentee)

    health = _health(db, setup, 5)

    assert [r.key for r in health.reasons] == [
        "no_check_in",
        "not_good_fit",
        "one_sided",
        "no_meeting",
        "behind",
    ]
    assert [r.points for r in health.reasons] == [50, 40, 25, 15, 15]
    assert health.score == 0  # never below zero
    assert health.band == "at risk"
    assert health.action == "Nudge again"


def test_worst_reason_ties_go_to_the_action_that_helps_most() -> None:
    tie = [
        dashboard.HealthReason("no_check_in", "no check-in for 3 weeks", 40),
        dashboard.HealthReason("not_good_fit", "fit check: not a good fit (mentor)", 40),
    ]
    reasons = dashboard.health_reasons(
        current_week=4,
        last_check_in_week=1,
        mentor_last=None,
        mentee_last=None,
        silent_since=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        not_good_fit=["mentor"],
        steps_done=2,
        paused=False,
        now=dt.datetime(2026, 1, 25, tzinfo=dt.UTC),
    )
    assert reasons == list(reversed(tie))
    assert dashboard.suggested_action(reasons, paused=False) == "Offer a rematch"


@pytest.mark.parametrize(
    ("score", "band"),
    [
        (100, "healthy"),
        (70, "healthy"),
        (69, "watch"),
        (40, "watch"),
        (39, "at risk"),
        (0, "at risk"),
    ],
)
def test_health_bands(score: int, band: str) -> None:
    assert dashboard.band_of(score) == band


def test_pairs_are_listed_by_health_lowest_first_and_ended_pairs_last(
    db: Session, setup: PairSetup
) -> None:
    other = _second_pair(db, setup)
    _check_in(db, setup, other.mentor_id, 3, pair_id=other.id or 0)
    _check_in(db, setup, other.mentee_id, 3, pair_id=other.id or 0)
    third = _second_pair(db, setup)
    journey.end_pair(db, actor=setup.admin, pair_id=third.id or 0, reason="no_longer_available")
    db.commit()

    board = dashboard.get_dashboard(
        db, actor=setup.admin, program_id=setup.program.id or 0, now=setup.at_week(3)
    )

    assert [p.pair_id for p in board.pairs] == [_pid(setup), other.id, third.id]
    ended = board.pairs[-1]
    assert (ended.status, ended.score, ended.band, ended.reasons) == ("ended", None, "", [])
    assert ended.end_reason == "No longer available"


# --- program figures ---------------------------------------------------------------------------


def test_check_in_rate_per_week_counts_pairs_whose_journey_reached_the_week(
    db: Session, setup: PairSetup
) -> None:
    late = _second_pair(db, setup, start_delay_days=7)  # one week behind
    _both_check_in(db, setup, 1)
    _check_in(db, setup, setup.mentee, 2)
    _check_in(db, setup, late.mentor_id, 1, pair_id=late.id or 0)

    board = dashboard.get_dashboard(
        db, actor=setup.admin, program_id=setup.program.id or 0, now=setup.at_week(3)
    )

    assert [(r.week, r.check_ins, r.expected, r.percent) for r in board.check_in_rates] == [
        (1, 3, 4, 75),
        (2, 1, 4, 25),
        (3, 0, 2, 0),
    ]


def test_no_rates_before_any_journey_starts(db: Session, setup: PairSetup) -> None:
    board = dashboard.get_dashboard(
        db,
        actor=setup.admin,
        program_id=setup.program.id or 0,
        now=setup.at_week(1) - dt.timedelta(days=3),
    )
    assert board.check_in_rates == []
    assert board.pairs[0].reasons == []


def test_match_rate_is_members_in_an_active_pair_over_members_signed_up(
    db: Session, setup: PairSetup
) -> None:
    for name in ("Wen", "Ola"):
        person = make_user(db, display_name=name)
        add_member(db, setup.group, person)
        application = make_application(db, program=setup.program, user=person)
    enrollments.withdraw(db, actor=person, enrollment_id=application.id or 0)
    db.commit()

    board = dashboard.get_dashboard(db, actor=setup.admin, program_id=setup.program.id or 0)

    assert board.applications == {"mentor": 1, "mentee": 2}
    assert board.withdrawn == 1
    assert (board.matched, board.signed_up, board.match_rate) == (2, 3, 67)
    assert board.pair_counts == {"active": 1, "completed": 0, "ended": 0}


def test_ended_pairs_leave_the_match_rate_and_are_counted_by_status(
    db: Session, setup: PairSetup
) -> None:
    other = _second_pair(db, setup)
    journey.end_pair(db, actor=setup.mentor, pair_id=_pid(setup), reason="no_longer_available")
    db.commit()

    board = dashboard.get_dashboard(db, actor=setup.admin, program_id=setup.program.id or 0)

    assert board.pair_counts == {"active": 1, "completed": 0, "ended": 1}
    assert (board.matched, board.signed_up, board.match_rate) == (2, 4, 50)
    assert {p.pair_id for p in board.pairs} == {_pid(setup), other.id}


def test_an_empty_program_has_no_match_rate(db: Session) -> None:
    admin = make_user(db, display_name="Ada")
    program = make_program(db, admin=admin)

    board = dashboard.get_dashboard(db, actor=admin, program_id=program.id or 0)

    assert (board.signed_up, board.match_rate, board.pairs, board.steps_completed) == (
        0,
        None,
        [],
        0,
    )


def test_steps_completed_counts_the_steps_both_members_marked(
    db: Session, setup: PairSetup
) -> None:
    other = _second_pair(db, setup)
    _steps(db, setup, 3)
    # One member's mark is not a done step (the pair's page says the same).
    db.add(StepCompletion(pair_id=_pid(setup), week=4, user_id=setup.mentor.id or 0))
    db.add(StepCompletion(pair_id=other.id or 0, week=1, user_id=other.mentor_id))
    db.commit()

    board = dashboard.get_dashboard(db, actor=setup.admin, program_id=setup.program.id or 0)

    assert board.steps_completed == 3
    assert {p.pair_id: p.steps_done for p in board.pairs} == {_pid(setup): 3, other.id: 0}
    db.add(StepCompletion(pair_id=other.id or 0, week=1, user_id=other.mentee_id))
    db.commit()
    board = dashboard.get_dashboard(db, actor=setup.admin, program_id=setup.program.id or 0)
    assert board.steps_completed == 4
    assert {p.pair_id: p.steps_done for p in board.pairs} == {_pid(setup): 3, other.id: 1}


@contextmanager
def _counting(db: Session) -> Iterator[list[str]]:
    statements: list[str] = []
    engine = db.get_bind()

    def count(_conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_the_dashboard_takes_as_many_queries_for_many_pairs_as_for_one(
    db: Session, setup: PairSetup
) -> None:
    _both_check_in(db, setup, 1)
    program_id = setup.program.id or 0
    db.expire_all()
    with _counting(db) as one:
        dashboard.get_dashboard(db, actor=setup.admin, program_id=program_id)
    for _ in range(4):
        pair = _second_pair(db, setup)
        _check_in(db, setup, pair.mentor_id, 1, pair_id=pair.id or 0)
    db.expire_all()
    with _counting(db) as five:
        board = dashboard.get_dashboard(db, actor=setup.admin, program_id=program_id)

    assert len(board.pairs) == 5
    assert len(five) == len(one)


def test_the_grouped_queries_give_the_same_dashboard_on_sqlite_and_postgresql(
    any_engine: Engine,
) -> None:
    with Session(any_engine, expire_on_commit=False) as db:
        setup = make_pair(db)
        now = _on_day(setup, 4, AFTER_NUDGE_DAY)
        _check_in(db, setup, setup.mentor, 1)
        _check_in(db, setup, setup.mentee, 2)
        _message(db, setup, setup.mentee, now - dt.timedelta(days=1))
        _steps(db, setup, 2)
        _not_good(db, setup, setup.mentor)
        _met(db, setup, _on_day(setup, 2, 3))
        make_goal(db, pair=setup.pair, position=1, progress=30)
        make_goal(db, pair=setup.pair, position=2, progress=40)

        health = _health(db, setup, 4, AFTER_NUDGE_DAY)
        board = dashboard.get_dashboard(
            db, actor=setup.admin, program_id=setup.program.id or 0, now=now
        )

    assert [r.text for r in health.reasons] == [
        "fit check: not a good fit (mentor)",
        "no check-in for 2 weeks",
        "one-sided: mentee writing, mentor silent for 25 days",
        "no meeting for 14 days",
    ]
    assert (health.score, health.band, health.action) == (0, "at risk", "Offer a rematch")
    assert health.last_activity == now - dt.timedelta(days=1)
    assert [r.percent for r in board.check_in_rates] == [50, 50, 0, 0]
    assert [r.percent for r in board.meeting_rates] == [0, 100, 0, 0]
    assert (health.meetings_held, health.goals, health.goal_progress) == (1, 2, 35)
    assert (board.goals_set, board.goal_progress) == (2, 35)


# --- privacy and permissions ---------------------------------------------------------------------


def test_the_dashboard_and_export_never_carry_notes_or_messages(
    db: Session, setup: PairSetup
) -> None:
    _check_in(db, setup, setup.mentee, 1, note="NOTE-only-the-two-of-us-7731")
    _message(db, setup, setup.mentor, setup.at_week(1), body="MESSAGE-private-chat-4410")
    other = _second_pair(db, setup)
    journey.end_pair(
        db,
        actor=setup.admin,
        pair_id=other.id or 0,
        reason="other",
        detail="DETAIL-why-it-ended-9902",
    )
    db.commit()
    program_id = setup.program.id or 0

    board = dashboard.get_dashboard(db, actor=setup.admin, program_id=program_id)
    text = dashboard.export_csv(db, actor=setup.admin, program_id=program_id)

    for secret in ("NOTE-only-the-two-of-us-7731", "MESSAGE-private-chat-4410", "DETAIL-why"):
        assert secret not in repr(board)
        assert secret not in text


@pytest.mark.parametrize("who", ["mentor", "outsider"])
def test_only_the_groups_admins_see_the_dashboard_or_export_it(
    db: Session, setup: PairSetup, who: str
) -> None:
    actor = setup.mentor if who == "mentor" else make_user(db, display_name="Stranger")
    program_id = setup.program.id or 0
    with pytest.raises(PermissionDenied):
        dashboard.get_dashboard(db, actor=actor, program_id=program_id)
    with pytest.raises(PermissionDenied):
        dashboard.export_csv(db, actor=actor, program_id=program_id)


def test_a_missing_program_is_not_found(db: Session, setup: PairSetup) -> None:
    with pytest.raises(NotFound):
        dashboard.get_dashboard(db, actor=setup.admin, program_id=999_999)


# --- the pairs table, a page at a time --------------------------------------------------------


def _forty_five_pairs(db: Session, setup: PairSetup) -> list[Pair]:
    """44 more published pairs beside the setup's; 20 of the 45 check in every week."""
    pid = setup.program.id or 0
    add_applicants(
        db, program=setup.program, role="mentor", names=[f"Mentor {n}" for n in range(15)],
        capacity=3,
    )  # fmt: skip
    add_applicants(
        db, program=setup.program, role="mentee", names=[f"Mentee {n}" for n in range(44)]
    )
    pairing.suggest_all(db, actor=setup.admin, program_id=pid, today=TODAY)
    pairing.publish_pairs(db, actor=setup.admin, program_id=pid, today=TODAY)
    pairs = list(db.exec(select(Pair).where(Pair.program_id == pid).order_by(col(Pair.id))))
    for pair in pairs[:20]:
        for week in range(1, 6):
            for who in (pair.mentor_id, pair.mentee_id):
                _check_in(db, setup, who, week, pair_id=pair.id or 0)
    return pairs


def test_the_pairs_table_is_read_a_page_at_a_time_by_health_over_every_pair(
    db: Session, setup: PairSetup
) -> None:
    pairs = _forty_five_pairs(db, setup)
    now = _on_day(setup, 5, AFTER_NUDGE_DAY)

    def page(number: int, at_risk_only: bool = False) -> dashboard.DashboardPage:
        return dashboard.get_dashboard_page(
            db, actor=setup.admin, program_id=setup.program.id or 0,
            page=number, at_risk_only=at_risk_only, now=now,
        )  # fmt: skip

    views = [page(n) for n in range(3)]

    by_health = dashboard.get_dashboard(
        db, actor=setup.admin, program_id=setup.program.id or 0, now=now
    ).pairs
    assert [len(v.pairs.items) for v in views] == [PAGE_SIZE, PAGE_SIZE, 5]
    assert [p.pair_id for v in views for p in v.pairs.items] == [p.pair_id for p in by_health]
    assert {p.pair_id for p in by_health} == {p.id for p in pairs}
    assert views[0].pairs.items[0].band == dashboard.AT_RISK
    assert views[2].pairs.items[-1].band == dashboard.HEALTHY
    # The figures are over every pair, whatever the page.
    assert all(v.board.pair_counts["active"] == 45 and v.active_total == 45 for v in views)
    assert views[2].board.check_in_rates == views[0].board.check_in_rates
    assert page(9).pairs.items == views[2].pairs.items

    at_risk = page(0, at_risk_only=True)
    assert (at_risk.pairs.total, at_risk.active_total) == (25, 45)
    assert {p.band for p in at_risk.pairs.items} == {dashboard.AT_RISK}
    assert len(page(1, at_risk_only=True).pairs.items) == 5


def test_only_the_groups_admins_read_the_pairs_table(db: Session, setup: PairSetup) -> None:
    _forty_five_pairs(db, setup)
    for actor in (setup.mentor, make_user(db, display_name="Stranger")):
        with pytest.raises(PermissionDenied):
            dashboard.get_dashboard_page(db, actor=actor, program_id=setup.program.id or 0, page=1)


# --- the CSV export --------------------------------------------------------------------------


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_the_export_lists_every_pair_with_its_status_and_progress(
    db: Session, setup: PairSetup
) -> None:
    _both_check_in(db, setup, 1)
    _steps(db, setup, 1)
    _not_good(db, setup, setup.mentee)
    _met(db, setup, _on_day(setup, 1, 4))
    make_goal(db, pair=setup.pair, position=1, progress=20)
    make_goal(db, pair=setup.pair, position=2, progress=50)
    other = _second_pair(db, setup)
    journey.end_pair(db, actor=setup.admin, pair_id=other.id or 0, reason="not_a_good_fit")
    db.commit()

    text = dashboard.export_csv(
        db,
        actor=setup.admin,
        program_id=setup.program.id or 0,
        now=_on_day(setup, 3, AFTER_NUDGE_DAY),
    )

    assert text.splitlines()[0] == (
        "pair id,mentor,mentee,status,start date,current week,steps done/total,check-ins,"
        "last activity date,health score,reasons,end reason,meetings held,goals set,"
        "average goal progress %"
    )
    first, second = _rows(text)
    assert first == {
        "pair id": str(_pid(setup)),
        "mentor": "Maya",
        "mentee": "Theo",
        "status": "active",
        "start date": setup.pair.start_date.isoformat() if setup.pair.start_date else "",
        "current week": "3",
        "steps done/total": "1/8",
        "check-ins": "2",
        "last activity date": setup.at_week(1).date().isoformat(),
        "health score": "15",
        "reasons": (
            "fit check: not a good fit (mentee); no check-in for 2 weeks; no meeting for 14 days"
        ),
        "end reason": "",
        "meetings held": "1",
        "goals set": "2",
        "average goal progress %": "35",
    }
    assert (second["mentor"], second["mentee"], second["status"]) == ("Noor", "Ravi", "ended")
    assert (second["health score"], second["end reason"]) == ("", "Not a good fit")
    assert (second["meetings held"], second["goals set"], second["average goal progress %"]) == (
        "0",
        "0",
        "",
    )


def test_a_paused_pair_is_marked_in_the_export(db: Session, setup: PairSetup) -> None:
    dashboard.set_paused(db, actor=setup.admin, pair_id=_pid(setup), paused=True)
    text = dashboard.export_csv(db, actor=setup.admin, program_id=setup.program.id or 0)
    assert _rows(text)[0]["status"] == "active (paused)"


def test_names_that_would_run_as_spreadsheet_formulas_are_neutralised(
    db: Session, setup: PairSetup
) -> None:
    setup.mentor.display_name = '=HYPERLINK("http://evil.example","click")'
    setup.mentee.display_name = "@SUM(A1:A2)"
    db.add_all([setup.mentor, setup.mentee])
    db.commit()

    row = _rows(dashboard.export_csv(db, actor=setup.admin, program_id=setup.program.id or 0))[0]

    assert row["mentor"] == '\'=HYPERLINK("http://evil.example","click")'
    assert row["mentee"] == "'@SUM(A1:A2)"


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ("=1+2", "'=1+2"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@cmd", "'@cmd"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Maya", "Maya"),
        ("a=b", "a=b"),
        (3, "3"),
        (None, ""),
    ],
)
def test_a_cell_starting_a_formula_gets_a_quote(value: object, safe: str) -> None:
    assert dashboard.safe_cell(value) == safe


# --- pausing ---------------------------------------------------------------------------------


def test_an_admin_pauses_and_resumes_a_pair_and_it_is_audited(
    db: Session, setup: PairSetup
) -> None:
    dashboard.set_paused(db, actor=setup.admin, pair_id=_pid(setup), paused=True)
    db.commit()
    assert db.get(Pair, _pid(setup)).paused is True  # type: ignore[union-attr]
    dashboard.set_paused(db, actor=setup.admin, pair_id=_pid(setup), paused=True)  # no change
    dashboard.set_paused(db, actor=setup.admin, pair_id=_pid(setup), paused=False)
    db.commit()

    assert db.get(Pair, _pid(setup)).paused is False  # type: ignore[union-attr]
    actions = db.exec(
        select(AuditLog.action)
        .where(AuditLog.target_type == "pair", AuditLog.target_id == _pid(setup))
        .order_by(col(AuditLog.id))
    ).all()
    assert [a for a in actions if a in ("pair_paused", "pair_resumed")] == [
        "pair_paused",
        "pair_resumed",
    ]


def test_members_and_outsiders_cannot_pause_a_pair(db: Session, setup: PairSetup) -> None:
    for actor in (setup.mentor, setup.mentee, make_user(db, display_name="Stranger")):
        with pytest.raises(PermissionDenied):
            dashboard.set_paused(db, actor=actor, pair_id=_pid(setup), paused=True)
    assert db.get(Pair, _pid(setup)).paused is False  # type: ignore[union-attr]


def test_only_active_pairs_can_be_paused(db: Session, setup: PairSetup) -> None:
    journey.end_pair(db, actor=setup.admin, pair_id=_pid(setup), reason="no_longer_available")
    with pytest.raises(Conflict):
        dashboard.set_paused(db, actor=setup.admin, pair_id=_pid(setup), paused=True)
    with pytest.raises(NotFound):
        dashboard.set_paused(db, actor=setup.admin, pair_id=999_999, paused=True)


def test_a_draft_pair_cannot_be_paused(db: Session, setup: PairSetup) -> None:
    person = make_user(db, display_name="Wen")
    add_member(db, setup.group, person)
    mentee = make_application(db, program=setup.program, user=person)
    draft = pairing.pair_by_hand(
        db,
        actor=setup.admin,
        program_id=setup.program.id or 0,
        mentee_enrollment_id=mentee.id or 0,
        mentor_enrollment_id=setup.mentor_enrollment.id or 0,
        today=TODAY,
    )
    with pytest.raises(NotFound):
        dashboard.set_paused(db, actor=setup.admin, pair_id=draft.id or 0, paused=True)
