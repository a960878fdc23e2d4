"""Meeting reminders, the check-in that knows about the meeting, and the nudge they replace:
when a meeting happens, who is reminded, exactly once."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from mentor_app import jobs
from mentor_app.models import (
    Block,
    EmailOutbox,
    EmailPreference,
    Meeting,
    MeetingReminder,
    Notification,
    Nudge,
    User,
)
from mentor_app.scheduler import JobScheduler
from mentor_app.services import journey, meeting_reminders, notifications
from mentor_app.services.meeting_reminders import ReminderRules, run_reminders
from mentor_app.services.meeting_times import journey_week_bounds, occurrences
from mentor_app.services.nudges import NudgeRules, run_nudges
from tests.factories import PairSetup, make_meeting, make_pair

RULES = ReminderRules()  # an hour before, 100 meetings a chunk
UTC = dt.UTC


@pytest.fixture
def setup(db: Session) -> PairSetup:
    return make_pair(db)


def _at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def _zones(db: Session, setup: PairSetup, mentor: str, mentee: str) -> None:
    for user, zone in ((setup.mentor, mentor), (setup.mentee, mentee)):
        user.timezone, user.timezone_known = zone, True
        db.add(user)
    db.commit()


def _reminders(engine: Engine) -> list[tuple[int, int, dt.datetime, str]]:
    """(meeting, member, occurrence, the notification's text) of every reminder."""
    with Session(engine) as db:
        rows = db.exec(
            select(MeetingReminder, Notification)
            .join(Notification, col(Notification.id) == col(MeetingReminder.notification_id))
            .order_by(col(MeetingReminder.id))
        ).all()
        notes = db.exec(
            select(Notification.id).where(Notification.kind == meeting_reminders.KIND)
        ).all()
    assert len(notes) == len(rows), "every reminder notification belongs to one reminder row"
    return [(r.meeting_id, r.user_id, r.occurrence_at, n.text) for r, n in rows]


def _meeting_at(db: Session, setup: PairSetup, starts: dt.datetime, **kwargs: Any) -> Meeting:
    return make_meeting(db, pair=setup.pair, starts_at=starts, **kwargs)


# --- the occurrence rule -------------------------------------------------------------------


def test_a_single_meeting_happens_once_and_a_proposed_or_cancelled_one_never(
    db: Session, setup: PairSetup
) -> None:
    starts = _at(2026, 3, 10, 18)
    confirmed = _meeting_at(db, setup, starts)
    proposed = _meeting_at(db, setup, starts, status="proposed")
    cancelled = _meeting_at(db, setup, starts, status="cancelled")
    year = (_at(2026, 1, 1), _at(2027, 1, 1))

    assert occurrences(confirmed, *year) == [starts]
    assert occurrences(confirmed, starts + dt.timedelta(seconds=1), year[1]) == []
    assert occurrences(proposed, *year) == []
    assert occurrences(cancelled, *year) == []


def test_a_weekly_meeting_repeats_up_to_and_including_its_until_day_in_its_zone(
    db: Session, setup: PairSetup
) -> None:
    # 23:30 UTC on Tuesdays is 15:30 (PST) in Los Angeles: still Tuesday there.
    series = _meeting_at(
        db,
        setup,
        _at(2026, 2, 3, 23, 30),
        weekly=True,
        repeat_until=dt.date(2026, 2, 24),
        timezone="America/Los_Angeles",
    )
    in_utc = _meeting_at(
        db, setup, _at(2026, 2, 3, 23, 30), weekly=True, repeat_until=dt.date(2026, 2, 24)
    )

    # 24 February's occurrence is on the until day: it counts; none after.
    assert occurrences(series, _at(2026, 1, 1), _at(2027, 1, 1)) == [
        _at(2026, 2, d, 23, 30) for d in (3, 10, 17, 24)
    ]
    assert occurrences(in_utc, _at(2026, 1, 1), _at(2027, 1, 1)) == [
        _at(2026, 2, d, 23, 30) for d in (3, 10, 17, 24)
    ]
    # The until day is counted in the meeting's zone: the same UTC times set in Berlin fall
    # on Wednesdays there, and Wednesday 25 February is past the until day.
    berlin = _meeting_at(
        db,
        setup,
        _at(2026, 2, 3, 23, 30),  # 00:30 on Wednesday 4 February in Berlin
        weekly=True,
        repeat_until=dt.date(2026, 2, 24),  # a Tuesday: its Wednesday 25 is past it
        timezone="Europe/Berlin",
    )
    assert occurrences(berlin, _at(2026, 1, 1), _at(2027, 1, 1)) == [
        _at(2026, 2, d, 23, 30) for d in (3, 10, 17)
    ]
    # A window in the middle: from the first occurrence at or after its start.
    assert occurrences(series, _at(2026, 2, 10, 23, 31), _at(2026, 2, 24, 23, 30)) == [
        _at(2026, 2, 17, 23, 30)
    ]


def test_a_weekly_series_keeps_its_local_time_across_new_yorks_november_clock_change(
    engine: Engine, db: Session, setup: PairSetup
) -> None:
    """A series set in New York at 18:00 on Tuesday 27 October (EDT, UTC-4: 22:00 UTC);
    the clocks go back on Sunday 1 November, so the next Tuesday's 18:00 is EST, 23:00 UTC.
    The mentor in New York is reminded of 18:00 both times; the mentee in Berlin (whose
    clocks went back on 25 October) of 23:00, then of midnight."""
    _zones(db, setup, "America/New_York", "Europe/Berlin")
    setup.pair.start_date = dt.date(2026, 10, 20)
    db.add(setup.pair)
    db.commit()
    series = _meeting_at(
        db,
        setup,
        _at(2026, 10, 27, 22),
        weekly=True,
        repeat_until=dt.date(2026, 11, 30),
        timezone="America/New_York",
    )

    assert occurrences(series, _at(2026, 10, 26), _at(2026, 11, 8)) == [
        _at(2026, 10, 27, 22),
        _at(2026, 11, 3, 23),
    ]
    # The journey week holding 1 November runs from New York's midnight to midnight: 04:00
    # UTC (EDT) on its first day, 05:00 UTC (EST) after it.
    assert journey_week_bounds(dt.date(2026, 10, 20), 2, "America/New_York") == (
        _at(2026, 10, 27, 4),
        _at(2026, 11, 3, 5),
    )

    run_reminders(engine, now=_at(2026, 10, 27, 21, 5), rules=RULES)
    run_reminders(engine, now=_at(2026, 11, 3, 22, 5), rules=RULES)

    said = [(who, at, text.split(" starts at ")[1]) for _m, who, at, text in _reminders(engine)]
    assert said == [
        (setup.mentor.id, _at(2026, 10, 27, 22), "18:00 (your time)"),
        (setup.mentee.id, _at(2026, 10, 27, 22), "23:00 (your time)"),
        (setup.mentor.id, _at(2026, 11, 3, 23), "18:00 (your time)"),
        (setup.mentee.id, _at(2026, 11, 3, 23), "00:00 (your time)"),
    ]


# --- who is reminded, when ------------------------------------------------------------------


def test_each_member_is_reminded_an_hour_before_in_their_own_time(
    engine: Engine, db: Session, setup: PairSetup
) -> None:
    _zones(db, setup, "Europe/Berlin", "America/Los_Angeles")
    starts = _at(2026, 2, 10, 17)  # 18:00 in Berlin, 09:00 in Los Angeles
    meeting = _meeting_at(db, setup, starts)

    assert run_reminders(engine, now=starts - dt.timedelta(minutes=61), rules=RULES).created == 0
    report = run_reminders(engine, now=starts - dt.timedelta(minutes=58), rules=RULES)

    assert report.created == 2
    assert _reminders(engine) == [
        (meeting.id, setup.mentor.id, starts, "Your meeting with Theo starts at 18:00 (your time)"),
        (meeting.id, setup.mentee.id, starts, "Your meeting with Maya starts at 09:00 (your time)"),
    ]
    with Session(engine) as check:
        links = check.exec(
            select(Notification.link).where(Notification.kind == meeting_reminders.KIND)
        ).all()
    assert links == [f"/pairs/{setup.pair.id}"] * 2


@pytest.mark.parametrize("weekly", [False, True], ids=["single", "weekly"])
def test_a_late_run_still_reminds_before_the_start_but_never_after_it(
    engine: Engine, db: Session, setup: PairSetup, weekly: bool
) -> None:
    starts = _at(2026, 2, 10, 17)
    if weekly:  # its second week's occurrence
        _meeting_at(
            db, setup, starts - dt.timedelta(days=7), weekly=True, repeat_until=dt.date(2026, 3, 1)
        )
    else:
        _meeting_at(db, setup, starts)

    assert run_reminders(engine, now=starts, rules=RULES).created == 0  # it has started
    assert run_reminders(engine, now=starts + dt.timedelta(minutes=5), rules=RULES).created == 0
    assert run_reminders(engine, now=starts - dt.timedelta(minutes=3), rules=RULES).created == 2


def test_reminder_sent_once_per_member_per_occurrence_even_if_the_job_runs_again(
    engine: Engine, db: Session, setup: PairSetup
) -> None:
    first_start = _at(2026, 2, 10, 17)
    _meeting_at(db, setup, first_start, weekly=True, repeat_until=dt.date(2026, 3, 31))

    runs = [
        run_reminders(engine, now=first_start - dt.timedelta(minutes=m), rules=RULES).created
        for m in (60, 55, 50, 5)
    ]
    next_week = run_reminders(engine, now=first_start + dt.timedelta(days=7, minutes=-30))

    assert runs == [2, 0, 0, 0]
    assert next_week.created == 2
    assert [at for _m, _u, at, _t in _reminders(engine)] == [first_start] * 2 + [
        first_start + dt.timedelta(days=7)
    ] * 2


def _several_meetings(engine: Engine, count: int, starts: dt.datetime) -> None:
    with Session(engine, expire_on_commit=False) as db:
        for _ in range(count):
            make_meeting(db, pair=make_pair(db).pair, starts_at=starts)


def _assert_each_reminder_once(engine: Engine, expected: int) -> None:
    rows = _reminders(engine)
    keys = [(m, u, at) for m, u, at, _t in rows]
    assert len(keys) == len(set(keys)) == expected


def test_two_schedulers_racing_make_each_reminder_once(any_engine: Engine) -> None:
    starts = _at(2026, 2, 10, 17)
    _several_meetings(any_engine, 3, starts)
    one_a_chunk = ReminderRules(chunk_size=1)  # many transactions, to interleave the runs
    barrier = threading.Barrier(2)
    reports: list[Any] = [None, None]

    def scheduler(i: int) -> None:
        barrier.wait()
        try:
            reports[i] = run_reminders(
                any_engine, now=starts - dt.timedelta(minutes=30), rules=one_a_chunk
            )
        except Exception as error:  # the test reports it below
            reports[i] = error

    threads = [threading.Thread(target=scheduler, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert not [r for r in reports if isinstance(r, Exception)], reports
    assert sum(r.created for r in reports) == 6
    _assert_each_reminder_once(any_engine, 6)


def test_a_reminder_row_written_by_another_run_meanwhile_stops_a_second_notification(
    engine: Engine, db: Session, setup: PairSetup, monkeypatch: pytest.MonkeyPatch
) -> None:
    starts = _at(2026, 2, 10, 17)
    meeting = _meeting_at(db, setup, starts)
    # Another scheduler wrote this row just after this run looked for existing ones: the
    # conflict-ignoring insert is what stops the duplicate then.
    db.add(
        MeetingReminder(
            meeting_id=meeting.id or 0, user_id=setup.mentor.id or 0, occurrence_at=starts
        )
    )
    db.commit()
    monkeypatch.setattr(meeting_reminders, "_existing", lambda *args: set())

    report = run_reminders(engine, now=starts - dt.timedelta(minutes=30), rules=RULES)

    assert report.created == 1
    with Session(engine) as check:
        told = check.exec(
            select(Notification.user_id).where(Notification.kind == meeting_reminders.KIND)
        ).all()
    assert told == [setup.mentee.id]


def test_a_crash_between_the_row_and_the_notification_then_a_rerun_reminds_once(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    starts = _at(2026, 2, 10, 17)
    _several_meetings(engine, 3, starts)
    one_a_chunk = ReminderRules(chunk_size=1)
    real = notifications.after_bulk_notify
    calls = 0

    def crash_on_second_chunk(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:  # its reminder rows and notifications are written: they roll back
            raise RuntimeError("worker killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(notifications, "after_bulk_notify", crash_on_second_chunk)
    now = starts - dt.timedelta(minutes=40)
    with pytest.raises(RuntimeError):
        run_reminders(engine, now=now, rules=one_a_chunk)
    _assert_each_reminder_once(engine, 2)  # the first chunk stands

    monkeypatch.setattr(notifications, "after_bulk_notify", real)
    assert run_reminders(engine, now=now + dt.timedelta(minutes=5), rules=one_a_chunk).created == 4
    _assert_each_reminder_once(engine, 6)
    with Session(engine) as check:
        mails = check.exec(select(EmailOutbox).where(EmailOutbox.kind == "meeting_reminder"))
        assert len(mails.all()) == 6  # one e-mail each, no more


def test_an_email_goes_only_to_members_who_take_reminders_by_email(
    engine: Engine, db: Session, setup: PairSetup
) -> None:
    db.add(EmailPreference(user_id=setup.mentor.id or 0, reminders=False))
    db.commit()
    starts = _at(2026, 2, 10, 17)
    _meeting_at(db, setup, starts)

    report = run_reminders(engine, now=starts - dt.timedelta(minutes=50), rules=RULES)

    assert (report.created, report.emailed) == (2, 1)
    with Session(engine) as check:
        mails = check.exec(
            select(EmailOutbox.to_address, EmailOutbox.kind, EmailOutbox.body).where(
                EmailOutbox.kind != "paired"
            )
        ).all()
    assert [(to, kind) for to, kind, _body in mails] == [(setup.mentee.email, "meeting_reminder")]
    assert "Your meeting with Maya starts at 17:00 (your time)" in mails[0][2]


def _end(db: Session, setup: PairSetup) -> None:
    journey.end_pair(db, actor=setup.mentor, pair_id=setup.pair.id or 0, reason="not_a_good_fit")


def _pause(db: Session, setup: PairSetup) -> None:
    setup.pair.paused = True
    db.add(setup.pair)


def _block(db: Session, setup: PairSetup) -> None:
    db.add(Block(blocker_id=setup.mentee.id or 0, blocked_id=setup.mentor.id or 0))


def _cancel(db: Session, setup: PairSetup) -> None:
    for meeting in db.exec(select(Meeting).where(Meeting.pair_id == setup.pair.id)).all():
        meeting.status = "cancelled"
        db.add(meeting)


@pytest.mark.parametrize("change", [_cancel, _end, _pause, _block], ids=lambda f: f.__name__[1:])
def test_no_reminder_for_a_cancelled_meeting_nor_an_ended_paused_or_blocked_pair(
    engine: Engine, db: Session, setup: PairSetup, change: Any
) -> None:
    starts = _at(2026, 2, 10, 17)
    _meeting_at(db, setup, starts)
    change(db, setup)
    db.commit()

    assert run_reminders(engine, now=starts - dt.timedelta(minutes=30), rules=RULES).created == 0


def test_a_run_inside_the_callers_session_commits_nothing_itself(
    engine: Engine, db: Session, setup: PairSetup
) -> None:
    starts = _at(2026, 2, 10, 17)
    _meeting_at(db, setup, starts)

    assert run_reminders(db, now=starts - dt.timedelta(minutes=30), rules=RULES).created == 2
    db.rollback()
    assert _reminders(engine) == []


def test_only_the_scheduler_leader_runs_the_reminder_job(
    engine: Engine, db: Session, setup: PairSetup
) -> None:
    starts = _at(2026, 2, 10, 17)
    _meeting_at(db, setup, starts)

    def clock() -> dt.datetime:
        return starts - dt.timedelta(minutes=57)

    first, second = JobScheduler(engine, clock=clock), JobScheduler(engine, clock=clock)
    assert first.keep_lease() and not second.keep_lease()
    try:
        assert second.run_reminders() is None
        report = first.run_reminders()
    finally:
        first.stop()
        second.stop()

    assert report is not None and report.created == 2


def test_an_operator_runs_the_reminder_job_by_hand(
    engine: Engine, db: Session, setup: PairSetup, capsys: pytest.CaptureFixture[str]
) -> None:
    starts = _at(2026, 2, 10, 17)
    _meeting_at(db, setup, starts)
    moment = (starts - dt.timedelta(minutes=45)).isoformat()

    assert jobs.main(["run-reminders", "--now", moment], engine=engine) == 0
    assert jobs.main(["run-reminders", "--now", moment], engine=engine) == 0

    out = capsys.readouterr().out.splitlines()
    assert out == [
        "Created 2 meeting reminders (2 by e-mail)",
        "Created 0 meeting reminders (0 by e-mail)",
    ]


def test_now_must_carry_its_time_zone(engine: Engine) -> None:
    with pytest.raises(ValueError):
        run_reminders(engine, now=dt.datetime(2026, 2, 10, 17), rules=RULES)


# --- the weekly nudge gives way to the meeting ----------------------------------------------


def _day(setup: PairSetup, week: int, day: int, hour: int = 12) -> dt.datetime:
    assert setup.pair.start_date is not None
    date = setup.pair.start_date + dt.timedelta(days=7 * (week - 1) + day - 1)
    return dt.datetime(date.year, date.month, date.day, hour, tzinfo=UTC)


def _weekly_nudges(engine: Engine) -> list[int]:
    with Session(engine) as check:
        return list(check.exec(select(Nudge.user_id).where(Nudge.kind == "weekly")).all())


def test_no_weekly_nudge_to_a_pair_meeting_later_this_week(
    engine: Engine, db: Session, setup: PairSetup
) -> None:
    _meeting_at(db, setup, _day(setup, 2, 7, hour=18))  # Sunday evening of week 2

    report = run_nudges(engine, now=_day(setup, 2, 5), rules=NudgeRules())

    assert report.weekly == 0 and _weekly_nudges(engine) == []


@pytest.mark.parametrize("when", ["last_week", "cancelled", "next_week"])
def test_the_nudge_goes_as_before_without_a_meeting_later_this_week(
    engine: Engine, db: Session, setup: PairSetup, when: str
) -> None:
    if when == "last_week":
        _meeting_at(db, setup, _day(setup, 1, 3, hour=18))
    elif when == "cancelled":
        _meeting_at(db, setup, _day(setup, 2, 7, hour=18), status="cancelled")
    else:
        _meeting_at(db, setup, _day(setup, 3, 1, hour=18))
    # Earlier the same day of the nudge: already past, so it is no meeting still to come.
    _meeting_at(db, setup, _day(setup, 2, 5, hour=8))

    report = run_nudges(engine, now=_day(setup, 2, 5), rules=NudgeRules())

    assert report.weekly == 2
    assert sorted(_weekly_nudges(engine)) == sorted([setup.mentor.id, setup.mentee.id])


def test_a_weekly_series_still_running_skips_this_weeks_nudge(
    engine: Engine, db: Session, setup: PairSetup
) -> None:
    _meeting_at(
        db,
        setup,
        _day(setup, 1, 6, hour=18),
        weekly=True,
        repeat_until=setup.pair.start_date + dt.timedelta(days=60),  # type: ignore[operator]
    )

    assert run_nudges(engine, now=_day(setup, 2, 5), rules=NudgeRules()).weekly == 0


# --- the check-in after the meeting -----------------------------------------------------------


def _question(db: Session, member: User, setup: PairSetup, now: dt.datetime) -> str:
    return journey.get_journey(
        db, actor=member, pair_id=setup.pair.id or 0, now=now
    ).meeting_question


def test_after_the_meeting_the_check_in_asks_about_it_by_its_day_in_the_members_zone(
    db: Session, setup: PairSetup
) -> None:
    _zones(db, setup, "America/Los_Angeles", "Europe/Berlin")
    setup.pair.start_date = dt.date(2026, 2, 2)  # a Monday
    db.add(setup.pair)
    db.commit()
    # 01:00 UTC on Wednesday 11 February: Tuesday 17:00 in Los Angeles, Wednesday in Berlin.
    starts = _at(2026, 2, 11, 1)
    _meeting_at(db, setup, starts)

    assert _question(db, setup.mentor, setup, starts - dt.timedelta(minutes=1)) == ""
    assert _question(db, setup.mentor, setup, starts) == "How did Tuesday's meeting go?"
    assert _question(db, setup.mentee, setup, starts) == "How did Wednesday's meeting go?"


def test_the_check_in_asks_about_this_weeks_meeting_only(db: Session, setup: PairSetup) -> None:
    _meeting_at(db, setup, _day(setup, 1, 3, hour=18))
    _meeting_at(db, setup, _day(setup, 2, 2, hour=18), status="cancelled")

    assert _question(db, setup.mentee, setup, _day(setup, 1, 4)) != ""
    assert _question(db, setup.mentee, setup, _day(setup, 2, 4)) == ""
