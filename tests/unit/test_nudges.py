"""Weekly nudges and one-sided engagement: who is nudged in which week, exactly once."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from mentor_app.models import Block, CheckIn, EmailOutbox, Message, Notification, Nudge, User
from mentor_app.services import journey, notifications, nudges
from mentor_app.services.nudges import NewNotification, NudgeRules, run_nudges
from tests.factories import PairSetup, add_member, make_pair, make_user

RULES = NudgeRules()  # the defaults: from day 5 of the week, 09:00-20:00 local


@pytest.fixture
def setup(db: Session) -> PairSetup:
    return make_pair(db)


def on_day(setup: PairSetup, week: int, day: int, hour: int = 12, minute: int = 0) -> dt.datetime:
    """A moment (UTC) on the given day (1..7) of a journey week."""
    assert setup.pair.start_date is not None
    date = setup.pair.start_date + dt.timedelta(days=7 * (week - 1) + day - 1)
    return dt.datetime(date.year, date.month, date.day, hour, minute, tzinfo=dt.UTC)


def made(engine_or_db: Engine | Session, kind: str | None = None) -> list[tuple[int, int, str]]:
    """(member, week, kind) of every nudge, in order."""
    query = select(Nudge.user_id, Nudge.week, Nudge.kind).order_by(col(Nudge.id))
    if kind is not None:
        query = query.where(Nudge.kind == kind)
    if isinstance(engine_or_db, Session):
        return [tuple(r) for r in engine_or_db.exec(query).all()]  # type: ignore[misc]
    with Session(engine_or_db) as db:
        return [tuple(r) for r in db.exec(query).all()]  # type: ignore[misc]


def set_timezones(db: Session, setup: PairSetup, mentor: str, mentee: str | None = None) -> None:
    for user, zone in ((setup.mentor, mentor), (setup.mentee, mentee or mentor)):
        user.timezone = zone
        db.add(user)
    db.commit()


def set_start(db: Session, setup: PairSetup, start: dt.date) -> None:
    setup.pair.start_date = start
    db.add(setup.pair)
    db.commit()


def ids(setup: PairSetup) -> tuple[int, int]:
    assert setup.mentor.id is not None and setup.mentee.id is not None
    return setup.mentor.id, setup.mentee.id


# --- who gets a weekly nudge -------------------------------------------------------------------


def test_members_who_have_not_checked_in_get_this_weeks_step_on_day_five(
    engine: Engine, setup: PairSetup
) -> None:
    mentor, mentee = ids(setup)

    report = run_nudges(engine, now=on_day(setup, 2, 5), rules=RULES)

    assert (report.created, report.weekly) == (2, 2)
    assert made(engine) == [(mentor, 2, "weekly"), (mentee, 2, "weekly")]
    with Session(engine) as db:
        rows = db.exec(
            select(Nudge, Notification).join(
                Notification, col(Notification.id) == Nudge.notification_id
            )
        ).all()
    step = setup.program.journey[1]["title"]
    assert {(n.user_id, n.kind, n.text, n.link) for _nudge, n in rows} == {
        (mentor, "nudge", f"This week: {step} — check in with Theo", f"/pairs/{setup.pair.id}"),
        (mentee, "nudge", f"This week: {step} — check in with Maya", f"/pairs/{setup.pair.id}"),
    }


@pytest.mark.parametrize(("day", "expected"), [(1, 0), (4, 0), (5, 2), (7, 2)])
def test_the_nudge_waits_for_day_five_of_the_week(
    engine: Engine, setup: PairSetup, day: int, expected: int
) -> None:
    assert run_nudges(engine, now=on_day(setup, 3, day), rules=RULES).created == expected


def test_the_first_day_of_the_nudge_is_configurable(engine: Engine, setup: PairSetup) -> None:
    rules = NudgeRules(from_day=3)
    assert run_nudges(engine, now=on_day(setup, 3, 2), rules=rules).created == 0
    assert run_nudges(engine, now=on_day(setup, 3, 3), rules=rules).created == 2


@pytest.mark.parametrize(
    ("hour", "minute", "expected"), [(8, 59, 0), (9, 0, 2), (19, 59, 2), (20, 0, 0), (2, 0, 0)]
)
def test_nudges_go_out_in_daytime_only(
    engine: Engine, setup: PairSetup, hour: int, minute: int, expected: int
) -> None:
    moment = on_day(setup, 2, 6, hour=hour, minute=minute)
    assert run_nudges(engine, now=moment, rules=RULES).created == expected


def test_a_member_who_checked_in_this_week_is_not_nudged(
    engine: Engine, db: Session, setup: PairSetup
) -> None:
    mentor, _mentee = ids(setup)
    journey.save_check_in(
        db,
        actor=setup.mentee,
        pair_id=setup.pair.id or 0,
        mood=4,
        met=True,
        now=on_day(setup, 2, 3),
    )
    db.commit()

    run_nudges(engine, now=on_day(setup, 2, 5), rules=RULES)

    assert made(engine) == [(mentor, 2, "weekly")]


def test_last_weeks_check_in_does_not_count_for_this_week(
    engine: Engine, db: Session, setup: PairSetup
) -> None:
    journey.save_check_in(
        db,
        actor=setup.mentee,
        pair_id=setup.pair.id or 0,
        mood=4,
        met=True,
        now=on_day(setup, 1, 6),
    )
    db.commit()

    assert run_nudges(engine, now=on_day(setup, 2, 5), rules=RULES).created == 2


def test_no_nudge_once_a_pair_has_ended(engine: Engine, db: Session, setup: PairSetup) -> None:
    journey.end_pair(db, actor=setup.mentor, pair_id=setup.pair.id or 0, reason="not_a_good_fit")
    db.commit()

    assert run_nudges(engine, now=on_day(setup, 2, 5), rules=RULES).created == 0


def test_no_nudge_to_a_completed_pair(engine: Engine, db: Session, setup: PairSetup) -> None:
    setup.pair.status = "completed"
    db.add(setup.pair)
    db.commit()

    assert run_nudges(engine, now=on_day(setup, 2, 5), rules=RULES).created == 0


def test_no_nudge_to_a_paused_pair_until_it_resumes(
    engine: Engine, db: Session, setup: PairSetup
) -> None:
    setup.pair.paused = True
    db.add(setup.pair)
    db.commit()
    assert run_nudges(engine, now=on_day(setup, 2, 5), rules=RULES).created == 0

    setup.pair.paused = False
    db.add(setup.pair)
    db.commit()
    assert run_nudges(engine, now=on_day(setup, 2, 6), rules=RULES).created == 2


def test_no_nudge_between_two_members_with_a_block(
    engine: Engine, db: Session, setup: PairSetup
) -> None:
    mentor, mentee = ids(setup)
    # Blocking ends the pair; the job checks the block itself all the same.
    db.add(Block(blocker_id=mentee, blocked_id=mentor))
    db.commit()

    assert run_nudges(engine, now=on_day(setup, 2, 5), rules=RULES).created == 0


def test_no_nudge_before_the_journey_starts_or_after_its_last_week(
    engine: Engine, setup: PairSetup
) -> None:
    weeks = len(setup.program.journey)
    assert run_nudges(engine, now=on_day(setup, 0, 6), rules=RULES).created == 0
    assert run_nudges(engine, now=on_day(setup, weeks + 1, 6), rules=RULES).created == 0
    assert run_nudges(engine, now=on_day(setup, weeks, 6), rules=RULES).created == 2


def test_a_run_after_downtime_makes_this_weeks_nudges_only(
    engine: Engine, setup: PairSetup
) -> None:
    mentor, mentee = ids(setup)
    # Nothing ran in week 2; the first run back is late in week 3.
    run_nudges(engine, now=on_day(setup, 3, 7, hour=19), rules=RULES)

    assert made(engine) == [(mentor, 3, "weekly"), (mentee, 3, "weekly")]


def test_each_member_is_nudged_by_their_own_clock(
    engine: Engine, db: Session, setup: PairSetup
) -> None:
    mentor, mentee = ids(setup)
    set_timezones(db, setup, "Asia/Tokyo", "America/Los_Angeles")
    # 00:30 UTC on day 5: 09:30 on day 5 in Tokyo, 16:30 on day 4 in Los Angeles.
    run_nudges(engine, now=on_day(setup, 2, 5, hour=0, minute=30), rules=RULES)
    assert made(engine) == [(mentor, 2, "weekly")]

    # 17:00 UTC on day 5: 09:00 in Los Angeles (and 02:00 on day 6 in Tokyo).
    run_nudges(engine, now=on_day(setup, 2, 5, hour=17), rules=RULES)
    assert made(engine) == [(mentor, 2, "weekly"), (mentee, 2, "weekly")]


def test_an_unknown_time_zone_counts_as_utc(engine: Engine, db: Session, setup: PairSetup) -> None:
    set_timezones(db, setup, "Mars/Olympus")
    assert run_nudges(engine, now=on_day(setup, 2, 5, hour=9), rules=RULES).created == 2


# --- daylight-saving changes -------------------------------------------------------------------


def test_new_york_daytime_follows_the_march_clock_change(
    engine: Engine, db: Session, setup: PairSetup
) -> None:
    set_timezones(db, setup, "America/New_York")
    # Day 5 is Sunday 8 March 2026, when New York moves from UTC-5 to UTC-4 at 02:00.
    set_start(db, setup, dt.date(2026, 3, 4))
    before = dt.datetime(2026, 3, 8, 12, 59, tzinfo=dt.UTC)  # 08:59 EDT (07:59 by EST)
    at_nine = dt.datetime(2026, 3, 8, 13, 0, tzinfo=dt.UTC)  # 09:00 EDT (08:00 by EST)

    assert run_nudges(engine, now=before, rules=RULES).created == 0
    assert run_nudges(engine, now=at_nine, rules=RULES).created == 2


def test_berlin_daytime_follows_the_march_clock_change(
    engine: Engine, db: Session, setup: PairSetup
) -> None:
    set_timezones(db, setup, "Europe/Berlin")
    # Day 5 is Sunday 29 March 2026, when Berlin moves from UTC+1 to UTC+2 at 02:00.
    set_start(db, setup, dt.date(2026, 3, 25))
    before = dt.datetime(2026, 3, 29, 6, 59, tzinfo=dt.UTC)  # 08:59 CEST
    at_nine = dt.datetime(2026, 3, 29, 7, 0, tzinfo=dt.UTC)  # 09:00 CEST (08:00 by CET)

    assert run_nudges(engine, now=before, rules=RULES).created == 0
    assert run_nudges(engine, now=at_nine, rules=RULES).created == 2


def test_the_week_turns_at_local_midnight_after_the_clock_change(
    engine: Engine, db: Session, setup: PairSetup
) -> None:
    mentor, _mentee = ids(setup)
    set_timezones(db, setup, "America/New_York")
    set_start(db, setup, dt.date(2026, 3, 2))  # week 2 starts Monday 9 March, on EDT
    any_time = NudgeRules(from_day=1, day_start_hour=0, day_end_hour=24)

    run_nudges(engine, now=dt.datetime(2026, 3, 9, 3, 59, tzinfo=dt.UTC), rules=any_time)
    run_nudges(engine, now=dt.datetime(2026, 3, 9, 4, 0, tzinfo=dt.UTC), rules=any_time)

    # 03:59 UTC is 23:59 on Sunday (week 1); 04:00 UTC is midnight, week 2 (05:00 by EST).
    assert [(w, k) for u, w, k in made(engine) if u == mentor] == [(1, "weekly"), (2, "weekly")]


# --- exactly once ------------------------------------------------------------------------------


def test_nudge_sent_once_per_week_even_if_the_job_runs_twice(
    engine: Engine, setup: PairSetup
) -> None:
    first = run_nudges(engine, now=on_day(setup, 2, 5), rules=RULES)
    second = run_nudges(engine, now=on_day(setup, 2, 5, hour=13), rules=RULES)
    later_that_week = run_nudges(engine, now=on_day(setup, 2, 7, hour=18), rules=RULES)

    assert (first.created, second.created, later_that_week.created) == (2, 0, 0)
    with Session(engine) as db:
        assert len(db.exec(select(Notification).where(Notification.kind == "nudge")).all()) == 2


def test_next_week_brings_a_new_nudge(engine: Engine, setup: PairSetup) -> None:
    run_nudges(engine, now=on_day(setup, 2, 5), rules=RULES)
    assert run_nudges(engine, now=on_day(setup, 3, 5), rules=RULES).created == 2
    assert sorted(w for _u, w, _k in made(engine)) == [2, 2, 3, 3]


def test_a_nudge_row_written_by_another_run_meanwhile_stops_a_second_notification(
    engine: Engine, db: Session, setup: PairSetup, monkeypatch: pytest.MonkeyPatch
) -> None:
    mentor, mentee = ids(setup)
    # Another scheduler wrote this row just after this run looked for existing ones: the
    # conflict-ignoring insert is what stops the duplicate then.
    db.add(Nudge(pair_id=setup.pair.id or 0, user_id=mentor, week=2, kind="weekly"))
    db.commit()
    monkeypatch.setattr(nudges, "_existing_nudges", lambda *args: set())

    report = run_nudges(engine, now=on_day(setup, 2, 5), rules=RULES)

    assert report.created == 1
    assert made(engine) == [(mentor, 2, "weekly"), (mentee, 2, "weekly")]
    with Session(engine) as check:
        notified = check.exec(select(Notification.user_id).where(Notification.kind == "nudge"))
        assert notified.all() == [mentee]


def _several_pairs(engine: Engine, count: int) -> list[PairSetup]:
    with Session(engine, expire_on_commit=False) as db:
        return [make_pair(db) for _ in range(count)]


def _assert_each_nudge_once_with_its_notification(engine: Engine, expected: int) -> None:
    with Session(engine) as db:
        rows = db.exec(select(Nudge)).all()
        keys = [(n.pair_id, n.user_id, n.week, n.kind) for n in rows]
        linked = db.exec(
            select(Notification.id).join(Nudge, col(Nudge.notification_id) == Notification.id)
        ).all()
        all_nudge_notifications = db.exec(
            select(Notification.id).where(Notification.kind == "nudge")
        ).all()
    assert len(keys) == len(set(keys)) == expected
    assert all(n.notification_id is not None for n in rows)
    assert sorted(linked) == sorted(all_nudge_notifications) and len(linked) == expected


def test_two_schedulers_racing_make_each_nudge_once(any_engine: Engine) -> None:
    setups = _several_pairs(any_engine, 3)
    moment = on_day(setups[0], 2, 5)
    small_chunks = NudgeRules(chunk_size=1)  # many transactions, to interleave the two runs
    barrier = threading.Barrier(2)
    reports: list[Any] = [None, None]

    def scheduler(i: int) -> None:
        barrier.wait()
        try:
            reports[i] = run_nudges(any_engine, now=moment, rules=small_chunks)
        except Exception as error:  # the test reports it below
            reports[i] = error

    threads = [threading.Thread(target=scheduler, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert not [r for r in reports if isinstance(r, Exception)], reports
    assert sum(r.created for r in reports) == 6
    _assert_each_nudge_once_with_its_notification(any_engine, 6)


def test_a_crash_half_way_then_a_rerun_makes_each_nudge_once(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    setups = _several_pairs(engine, 3)
    moment = on_day(setups[0], 2, 5)
    one_pair_a_chunk = NudgeRules(chunk_size=1)
    real = nudges._create_notifications
    calls = 0

    def crash_on_second_chunk(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:  # its nudge rows are already inserted: they must roll back
            raise RuntimeError("worker killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(nudges, "_create_notifications", crash_on_second_chunk)
    with pytest.raises(RuntimeError):
        run_nudges(engine, now=moment, rules=one_pair_a_chunk)
    _assert_each_nudge_once_with_its_notification(engine, 2)  # the first chunk stands

    monkeypatch.setattr(nudges, "_create_notifications", real)
    rerun = run_nudges(engine, now=moment, rules=one_pair_a_chunk)

    assert rerun.created == 4
    _assert_each_nudge_once_with_its_notification(engine, 6)


def test_a_run_inside_the_callers_session_commits_nothing_itself(
    engine: Engine, db: Session, setup: PairSetup
) -> None:
    report = run_nudges(db, now=on_day(setup, 2, 5), rules=RULES)
    assert report.created == 2 and len(made(db)) == 2
    db.rollback()
    assert made(engine) == []


def test_the_outbox_hook_gets_the_new_notifications_in_the_same_transaction(
    engine: Engine, setup: PairSetup, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[NewNotification] = []

    def after_bulk_notify(db: Session, rows: list[NewNotification]) -> None:
        assert db.in_transaction()
        seen.extend(rows)

    monkeypatch.setattr(notifications, "after_bulk_notify", after_bulk_notify, raising=False)
    run_nudges(engine, now=on_day(setup, 2, 5), rules=RULES)

    with Session(engine) as db:
        stored = db.exec(select(Notification).where(Notification.kind == "nudge")).all()
    assert sorted((n.id, n.user_id, n.kind, n.text, n.link) for n in seen) == sorted(
        (n.id, n.user_id, n.kind, n.text, n.link) for n in stored
    )
    assert len(seen) == 2


@pytest.mark.skipif(
    not hasattr(notifications, "after_bulk_notify"), reason="no e-mail outbox in this tree"
)
def test_each_nudge_queues_one_email_through_the_outbox(engine: Engine, setup: PairSetup) -> None:
    run_nudges(engine, now=on_day(setup, 2, 5), rules=RULES)
    run_nudges(engine, now=on_day(setup, 2, 6), rules=RULES)

    with Session(engine) as db:
        linked = db.exec(select(Nudge.notification_id)).all()
        emails = db.exec(
            select(EmailOutbox.to_address, EmailOutbox.notification_id).where(
                col(EmailOutbox.notification_id).in_(linked)
            )
        ).all()
    assert len(linked) == 2
    assert sorted(n for _to, n in emails) == sorted(linked)  # one e-mail each, no more
    assert {to for to, _n in emails} == {setup.mentor.email, setup.mentee.email}


def test_now_must_carry_its_time_zone(engine: Engine) -> None:
    with pytest.raises(ValueError):
        run_nudges(engine, now=dt.datetime(2026, 3, 9, 14, 0), rules=RULES)


def test_nudge_rules_come_from_the_environment() -> None:
    rules = NudgeRules.from_env(
        {"MENTOR_NUDGE_FROM_DAY": "4", "MENTOR_NUDGE_HOURS": "8-21", "MENTOR_ONE_SIDED_DAYS": "7"}
    )
    assert (rules.from_day, rules.day_start_hour, rules.day_end_hour) == (4, 8, 21)
    assert (rules.one_sided_days, rules.admin_alert_days) == (7, 21)
    assert NudgeRules.from_env({}) == NudgeRules()
    with pytest.raises(ValueError):
        NudgeRules.from_env({"MENTOR_NUDGE_FROM_DAY": "8"})


# --- one-sided engagement ----------------------------------------------------------------------


# Day 2 of week 3: no weekly nudge is due yet, so only one-sided ones show.
def _quiet_moment(setup: PairSetup) -> dt.datetime:
    return on_day(setup, 3, 2)


def _published(db: Session, setup: PairSetup, at: dt.datetime) -> None:
    setup.pair.published_at = at
    db.add(setup.pair)
    db.commit()


def _message(db: Session, setup: PairSetup, sender: User, at: dt.datetime) -> None:
    db.add(
        Message(
            pair_id=setup.pair.id or 0,
            sender_id=sender.id or 0,
            client_id=f"c-{at.timestamp()}-{sender.id}",
            body="Hello!",
            created_at=at,
        )
    )
    db.commit()


@pytest.mark.parametrize(("silent_days", "nudged"), [(9, False), (10, True)])
def test_the_silent_member_is_nudged_after_ten_days(
    engine: Engine, db: Session, setup: PairSetup, silent_days: int, nudged: bool
) -> None:
    _mentor, mentee = ids(setup)
    now = _quiet_moment(setup)
    _published(db, setup, now - dt.timedelta(days=silent_days))
    _message(db, setup, setup.mentor, now - dt.timedelta(days=1))

    report = run_nudges(engine, now=now, rules=RULES)

    assert made(engine) == ([(mentee, 3, "one_sided")] if nudged else [])
    assert (report.one_sided, report.admin_alerts) == (int(nudged), 0)
    if nudged:
        with Session(engine) as check:
            note = check.exec(select(Notification).where(Notification.kind == "one_sided")).one()
        assert (note.user_id, note.text, note.link) == (
            mentee,
            "Maya has been in touch — reply when you can",
            f"/pairs/{setup.pair.id}",
        )


def test_silence_counts_from_the_members_own_last_message(
    engine: Engine, db: Session, setup: PairSetup
) -> None:
    _mentor, mentee = ids(setup)
    now = _quiet_moment(setup)
    _published(db, setup, now - dt.timedelta(days=20))
    _message(db, setup, setup.mentee, now - dt.timedelta(days=9))
    _message(db, setup, setup.mentor, now - dt.timedelta(days=2))
    assert run_nudges(engine, now=now, rules=RULES).created == 0

    later = now + dt.timedelta(days=1, hours=1)
    assert run_nudges(engine, now=later, rules=RULES).one_sided == 1
    assert made(engine) == [(mentee, 3, "one_sided")]


def test_a_check_in_counts_as_being_in_touch(engine: Engine, db: Session, setup: PairSetup) -> None:
    mentor, _mentee = ids(setup)
    now = _quiet_moment(setup)
    _published(db, setup, now - dt.timedelta(days=12))
    yesterday = now - dt.timedelta(days=1)
    db.add(
        CheckIn(
            pair_id=setup.pair.id or 0,
            user_id=setup.mentee.id or 0,
            week=3,
            mood=3,
            met=False,
            created_at=yesterday,
            updated_at=yesterday,
        )
    )
    db.commit()

    run_nudges(engine, now=now, rules=RULES)

    assert made(engine, "one_sided") == [(mentor, 3, "one_sided")]


def test_a_pair_where_both_are_quiet_is_not_one_sided(
    engine: Engine, db: Session, setup: PairSetup
) -> None:
    now = _quiet_moment(setup)
    _published(db, setup, now - dt.timedelta(days=20))
    _message(db, setup, setup.mentor, now - dt.timedelta(days=11))  # the partner went quiet too

    assert run_nudges(engine, now=now, rules=RULES).created == 0


def test_after_21_days_of_silence_the_programs_admins_are_told(
    engine: Engine, db: Session, setup: PairSetup
) -> None:
    _mentor, mentee = ids(setup)
    second_admin = make_user(db, display_name="Bo")
    add_member(db, setup.group, second_admin, role="admin")
    now = _quiet_moment(setup)
    _message(db, setup, setup.mentor, now - dt.timedelta(days=3))
    _message(db, setup, setup.mentee, now - dt.timedelta(days=21))  # before the journey began

    early = now - dt.timedelta(hours=1)
    assert run_nudges(engine, now=early, rules=RULES).admin_alerts == 0

    report = run_nudges(engine, now=now, rules=RULES)

    assert report.admin_alerts == 2
    assert sorted(made(engine, "admin_alert")) == sorted(
        [(setup.admin.id, 3, "admin_alert"), (second_admin.id, 3, "admin_alert")]
    )
    assert made(engine, "one_sided") == [(mentee, 3, "one_sided")]  # the member came first
    with Session(engine) as check:
        alert = check.exec(
            select(Notification).where(
                Notification.kind == "one_sided_alert", Notification.user_id == setup.admin.id
            )
        ).one()
    assert alert.text == (
        f"One-sided pair: Maya and Theo in “{setup.program.title}” — Theo silent for 21 days"
    )
    assert alert.link == f"/programs/{setup.program.id}/pairing"


def test_one_sided_nudges_and_alerts_come_once_a_week(
    engine: Engine, db: Session, setup: PairSetup
) -> None:
    now = _quiet_moment(setup)
    _message(db, setup, setup.mentee, now - dt.timedelta(days=25))
    _message(db, setup, setup.mentor, now - dt.timedelta(days=1))

    first = run_nudges(engine, now=now, rules=RULES)
    again = run_nudges(engine, now=now + dt.timedelta(hours=3), rules=RULES)
    next_week = run_nudges(engine, now=now + dt.timedelta(days=7), rules=RULES)

    assert (first.one_sided, first.admin_alerts) == (1, 1)
    assert again.created == 0
    assert (next_week.one_sided, next_week.admin_alerts) == (1, 1)
    with Session(engine) as check:
        weeks = check.exec(select(Nudge.kind, Nudge.week).order_by(col(Nudge.id))).all()
    assert sorted(weeks) == [
        ("admin_alert", 3),
        ("admin_alert", 4),
        ("one_sided", 3),
        ("one_sided", 4),
    ]


def test_no_one_sided_nudge_for_a_paused_pair(
    engine: Engine, db: Session, setup: PairSetup
) -> None:
    now = _quiet_moment(setup)
    _published(db, setup, now - dt.timedelta(days=25))
    _message(db, setup, setup.mentor, now - dt.timedelta(days=1))
    setup.pair.paused = True
    db.add(setup.pair)
    db.commit()

    assert run_nudges(engine, now=now, rules=RULES).created == 0


def test_a_chunk_of_pairs_costs_a_few_queries_not_one_per_pair(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    setups = _several_pairs(engine, 4)
    with Session(engine) as db:
        db.add(
            CheckIn(
                pair_id=setups[0].pair.id or 0,
                user_id=setups[0].mentee.id or 0,
                week=2,
                mood=3,
                met=True,
            )
        )
        db.commit()
    # What the outbox does with the notifications is its own business (and its own queries).
    monkeypatch.setattr(notifications, "after_bulk_notify", lambda db, rows: 0, raising=False)
    selects: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            selects.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        report = run_nudges(engine, now=on_day(setups[0], 2, 5), rules=RULES)
    finally:
        event.remove(engine, "before_cursor_execute", record)

    assert (report.pairs, report.chunks, report.created) == (4, 1, 7)
    # Read without the write lock: pairs, programs, their admins, their members' known
    # zones, check-ins, messages, meetings to come, existing nudges; then in the short
    # write: existing nudges again (another scheduler may have made them), the notification
    # ids; then the empty next chunk.
    assert len(selects) == 11, selects


# --- a chat send waits for a part of a chunk, not for the whole chunk ------------------------


def _background_nudges(url: str, moment: dt.datetime, part_written: str) -> None:
    """In a helper process (as mentor_app.apart runs the job): the job, which stops after
    its first part's notifications until a writer of the test's process waits for the turn
    (10 s at most)."""
    import time
    from pathlib import Path

    from mentor_app import db as db_module

    db_module.run_in_background()
    real = nudges._create_notifications
    first = [True]

    def then_wait(db: Session, written: list[Any], now: dt.datetime) -> None:
        real(db, written, now)
        if first[0]:
            first[0] = False
            Path(part_written).touch()
            deadline = time.monotonic() + 10
            while not db_module.foreground_waits_to_write(db) and time.monotonic() < deadline:
                time.sleep(0.001)

    nudges._create_notifications = then_wait  # type: ignore[assignment]
    run_nudges(db_module.engine_for(url), now=moment, rules=NudgeRules(chunk_size=100))


@pytest.mark.sqlite_only(reason="SQLite's one writer at a time; PostgreSQL does not wait")
def test_a_write_of_the_worker_waits_for_a_part_of_a_nudge_chunk_not_the_whole_chunk(
    engine: Engine, db: Session, tmp_path: Path
) -> None:
    import multiprocessing
    import time

    from mentor_app.db import session_scope
    from tests.adversarial.test_faults import _add_pairs

    base = make_pair(db)
    _add_pairs(db, base, 99)  # one chunk of 100 pairs, written in parts of 20
    moment = base.at_week(2) + dt.timedelta(days=3)  # day five of week two: both nudged
    part_written = tmp_path / "part-written"
    url = engine.url.render_as_string(hide_password=False)
    helper = multiprocessing.get_context("spawn").Process(
        target=_background_nudges, args=(url, moment, str(part_written))
    )
    helper.start()
    try:
        deadline = time.monotonic() + 60
        while not part_written.exists():
            assert time.monotonic() < deadline and helper.is_alive()
            time.sleep(0.005)
        with session_scope(engine) as worker_db:  # waits for the helper's turn
            seen = len(worker_db.exec(select(Nudge.id)).all())
        helper.join(60)
    finally:
        helper.kill()
    assert helper.exitcode == 0
    assert seen == 2 * nudges.WRITE_PART_PAIRS  # the first part, committed for this write
    assert len(made(engine)) == 2 * 100  # and the rest after it, each once
