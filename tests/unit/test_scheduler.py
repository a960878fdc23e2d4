"""The scheduler: one leader among the workers, its jobs, the lifespan, and the CLI."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from mentor_app import jobs, scheduler
from mentor_app.models import LeaderLease, Notification, Nudge
from mentor_app.scheduler import (
    JOB_DEFAULTS,
    LEADER_JOB,
    NUDGES_JOB,
    REMINDERS_JOB,
    JobScheduler,
    LeaderLock,
    register_job,
    scheduler_lifespan,
)
from mentor_app.settings import PROJECT_ROOT
from tests.factories import PairSetup, make_pair
from tests.support.loops import run_in_own_loop

T0 = dt.datetime(2026, 3, 9, 14, 0, tzinfo=dt.UTC)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


class Clock:
    def __init__(self, moment: dt.datetime) -> None:
        self.moment = moment

    def __call__(self) -> dt.datetime:
        return self.moment


@pytest.fixture
def setup(db: Session) -> PairSetup:
    return make_pair(db)


def day_five_of_week_two(setup: PairSetup) -> dt.datetime:
    return setup.at_week(2) + dt.timedelta(days=3)  # at_week is day 2 of the week


# --- the leader lock ---------------------------------------------------------------------------


def test_only_one_worker_holds_the_lease(engine: Engine) -> None:
    first, second = LeaderLock(engine), LeaderLock(engine)

    assert first.acquire() is True
    assert second.acquire() is False
    assert first.renew() is True and first.acquire() is True  # keeping it is not taking it twice
    assert second.held is False and second.renew() is False


@pytest.mark.sqlite_only(
    reason="the lease row is the SQLite leader lock; PostgreSQL's advisory lock is tested below"
)
def test_a_released_lease_goes_to_the_next_worker(engine: Engine) -> None:
    first, second = LeaderLock(engine), LeaderLock(engine)
    assert first.acquire()

    first.release()

    assert second.acquire() is True
    assert first.acquire() is False
    with Session(engine) as db:
        assert db.exec(select(LeaderLease.holder)).one() == second.holder


@pytest.mark.sqlite_only(
    reason="the lease row is the SQLite leader lock; PostgreSQL's advisory lock is tested below"
)
def test_a_lease_left_unrenewed_expires_and_is_taken_over(engine: Engine) -> None:
    clock = Clock(T0)
    first = LeaderLock(engine, clock=clock)
    second = LeaderLock(engine, clock=clock)
    assert first.acquire()

    clock.moment = at(89)  # the first worker hung after taking the lease
    assert second.acquire() is False
    clock.moment = at(90)
    assert second.acquire() is True
    assert first.renew() is False and first.held is False  # it finds out at its next renewal


def test_renewing_keeps_the_lease_past_its_first_expiry(engine: Engine) -> None:
    clock = Clock(T0)
    first = LeaderLock(engine, clock=clock)
    second = LeaderLock(engine, clock=clock)
    assert first.acquire()
    for seconds in (30, 60, 90, 120):
        clock.moment = at(seconds)
        assert first.renew() is True
        assert second.acquire() is False


def test_only_one_worker_holds_the_advisory_lock(pg_engine: Engine) -> None:
    first, second = LeaderLock(pg_engine), LeaderLock(pg_engine)
    try:
        assert first.acquire() is True
        assert second.acquire() is False
        assert first.renew() is True

        first.release()

        assert second.acquire() is True
        assert first.acquire() is False
    finally:
        first.release()
        second.release()


def test_a_dead_workers_advisory_lock_passes_to_a_survivor(pg_engine: Engine) -> None:
    first, second = LeaderLock(pg_engine), LeaderLock(pg_engine)
    try:
        assert first.acquire()
        assert first._connection is not None
        pid = first._connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
        # The worker dies: its database session goes, and the lock with it.
        with pg_engine.connect() as admin:
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            admin.commit()

        deadline = time.monotonic() + 10
        while not second.acquire() and time.monotonic() < deadline:
            time.sleep(0.1)

        assert second.held is True
        assert first.renew() is False
    finally:
        first.release()
        second.release()


# --- the scheduler -----------------------------------------------------------------------------


def test_jobs_have_ids_hourly_nudges_and_forgiving_defaults(engine: Engine) -> None:
    jobs_ = JobScheduler(engine)
    jobs_.start()
    try:
        nudges = jobs_.scheduler.get_job(NUDGES_JOB)
        leader = jobs_.scheduler.get_job(LEADER_JOB)
        assert nudges is not None and leader is not None
        reminders = jobs_.scheduler.get_job(REMINDERS_JOB)
        assert reminders is not None
        assert nudges.trigger.interval == dt.timedelta(hours=1)
        assert leader.trigger.interval == dt.timedelta(seconds=30)
        assert reminders.trigger.interval == dt.timedelta(minutes=5)
        for job in (nudges, leader, reminders):
            assert job.coalesce is True
            assert job.max_instances == 1
            assert job.misfire_grace_time == 6 * 3600
        assert JOB_DEFAULTS["misfire_grace_time"] >= 3600  # hours, not seconds
        # Its own three and those other modules registered (the outbox, away notices...,
        # once imported: a test run that imported them first saw 8, not 3).
        registered = set(scheduler._registered)
        assert sorted(j.id for j in jobs_.scheduler.get_jobs()) == sorted(
            {NUDGES_JOB, LEADER_JOB, REMINDERS_JOB} | registered
        )
    finally:
        jobs_.stop()
    assert not jobs_.scheduler.running


@pytest.mark.parametrize("apart_from", [scheduler.NUDGES_APART_FROM, 0], ids=["here", "apart"])
def test_only_the_leader_runs_the_nudge_job(
    engine: Engine, setup: PairSetup, monkeypatch: pytest.MonkeyPatch, apart_from: int
) -> None:
    """Here: a program this small runs in the scheduler's thread; apart: the same job in a
    helper process (mentor_app.apart) makes the same nudges."""
    monkeypatch.setattr(scheduler, "NUDGES_APART_FROM", apart_from)
    ran: list[str] = []
    real_apart, here = scheduler.run_apart, scheduler.run_here
    monkeypatch.setattr(
        scheduler, "run_here", lambda *a, **k: (ran.append("here"), here(*a, **k))[1]
    )
    clock = Clock(day_five_of_week_two(setup))
    first = JobScheduler(
        engine, clock=clock, run_job=lambda *a, **k: (ran.append("apart"), real_apart(*a, **k))[1]
    )
    second = JobScheduler(engine, clock=clock)

    assert first.keep_lease() is True
    assert second.keep_lease() is False
    assert second.run_nudges() is None
    report = first.run_nudges()

    assert ran == (["apart"] if apart_from == 0 else ["here"])
    assert report is not None and report.created == 2
    with Session(engine) as db:
        assert len(db.exec(select(Nudge)).all()) == 2


def test_a_surviving_worker_takes_over_the_jobs(engine: Engine, setup: PairSetup) -> None:
    clock = Clock(day_five_of_week_two(setup))
    first = JobScheduler(engine, clock=clock)
    second = JobScheduler(engine, clock=clock)
    assert first.keep_lease()
    assert not second.keep_lease()

    first.stop()  # the leader shuts down and lets go

    assert second.keep_lease() is True
    report = second.run_nudges()
    assert report is not None and report.created == 2
    assert first.run_nudges() is None


def test_registered_jobs_run_in_the_leader_only(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scheduler, "_registered", {})
    calls: list[str] = []
    register_job("outbox", lambda: calls.append("sent"), {"trigger": "interval", "minutes": 1})
    leader, other = JobScheduler(engine), JobScheduler(engine)
    leader.start()
    other.start()
    try:
        # The lease job runs at once on start; on a machine busy with the rest of the suite
        # it took over 10 s once (make test on a fresh clone, PostgreSQL).
        deadline = time.monotonic() + 60
        while not (leader.lock.held or other.lock.held) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert leader.lock.held or other.lock.held, "neither scheduler took the lease in 60 s"
        if other.lock.held:
            leader, other = other, leader
        outbox = leader.scheduler.get_job("outbox")
        assert outbox is not None and other.scheduler.get_job("outbox") is not None
        assert outbox.trigger.interval == dt.timedelta(minutes=1)

        outbox.func()
        other.scheduler.get_job("outbox").func()  # type: ignore[union-attr]

        assert calls == ["sent"]
    finally:
        leader.stop()
        other.stop()


def test_a_job_registered_after_start_joins_the_running_scheduler(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scheduler, "_registered", {})
    running = JobScheduler(engine)
    running.start()
    try:
        register_job("later", lambda: None, {"trigger": "interval", "minutes": 5})
        register_job("later", lambda: None, {"trigger": "interval", "minutes": 10})

        later = running.scheduler.get_job("later")
        assert later is not None and later.trigger.interval == dt.timedelta(minutes=10)
        assert len(running.scheduler.get_jobs()) == 4  # the same id replaces, never doubles
    finally:
        running.stop()


def test_the_lifespan_starts_the_scheduler_and_stops_it_cleanly(engine: Engine) -> None:
    async def serve() -> JobScheduler:
        async with scheduler_lifespan(engine) as running:
            assert running is not None and running.scheduler.running
            deadline = time.monotonic() + 10
            while not running.lock.held and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            assert running.lock.held
            return running

    stopped = run_in_own_loop(serve())

    assert not stopped.scheduler.running
    with Session(engine) as db:
        assert db.exec(select(LeaderLease)).all() == []  # released for the next worker


def test_the_scheduler_can_be_turned_off(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MENTOR_SCHEDULER", "off")

    async def serve() -> object:
        async with scheduler_lifespan(engine) as running:
            return running

    assert run_in_own_loop(serve()) is None


def test_the_app_registers_the_scheduler_lifespan() -> None:
    """And the start-up's freeze (tests/unit/test_gc_tuning.py) and the loop `soon` pushes on
    (tests/unit/test_off_loop.py): importing the app registers
    its jobs, so it is imported here, after this module's job tests, and nowhere before."""
    from mentor_app.gc_tuning import gc_freeze_lifespan
    from mentor_app.mentor_app import app
    from state.off_loop import off_loop_lifespan

    assert scheduler_lifespan in app.get_lifespan_tasks()
    assert gc_freeze_lifespan in app.get_lifespan_tasks()
    assert off_loop_lifespan in app.get_lifespan_tasks()  # tests/unit/test_off_loop.py


# --- the command line --------------------------------------------------------------------------


def test_run_nudges_from_the_command_line(
    engine: Engine, setup: PairSetup, capsys: pytest.CaptureFixture[str]
) -> None:
    moment = day_five_of_week_two(setup).isoformat()

    assert jobs.main(["run-nudges", "--now", moment], engine=engine) == 0
    assert capsys.readouterr().out == "Created 2 nudges (0 one-sided, 0 admin alerts)\n"
    assert jobs.main(["run-nudges", "--now", moment], engine=engine) == 0
    assert capsys.readouterr().out == "Created 0 nudges (0 one-sided, 0 admin alerts)\n"


def test_the_command_line_wants_a_moment_with_its_offset(engine: Engine) -> None:
    with pytest.raises(SystemExit):
        jobs.main(["run-nudges", "--now", "2026-03-09T14:00:00"], engine=engine)


def test_two_processes_running_the_job_at_once_make_each_nudge_once(
    tmp_path: Path, engine: Engine, setup: PairSetup
) -> None:
    env = dict(os.environ, DATABASE_URL=str(engine.url), MENTOR_SCHEDULER="off")
    command = [
        sys.executable,
        "-m",
        "mentor_app.jobs",
        "run-nudges",
        "--now",
        day_five_of_week_two(setup).isoformat(),
    ]
    processes = [
        subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120)[0] for p in processes]

    assert [p.returncode for p in processes] == [0, 0]
    assert sorted(outputs) == [
        "Created 0 nudges (0 one-sided, 0 admin alerts)\n",
        "Created 2 nudges (0 one-sided, 0 admin alerts)\n",
    ]
    with Session(engine) as db:
        rows = db.exec(select(Nudge).order_by(col(Nudge.id))).all()
        notes = db.exec(select(Notification.id).where(Notification.kind == "nudge")).all()
    assert len(rows) == 2 and sorted(n.notification_id for n in rows) == sorted(notes)


def test_the_command_line_job_lets_a_running_apps_writers_go_first(
    engine: Engine, setup: PairSetup
) -> None:
    """Run as `python -m mentor_app.jobs`, the job's SQLite writers are a batch job's: they
    go after the worker's (mentor_app.db.run_in_background), as a helper process's do."""
    script = (
        "import runpy, sys\n"
        "import mentor_app.db as db\n"
        f"sys.argv = ['jobs', 'run-nudges', '--now', {day_five_of_week_two(setup).isoformat()!r}]\n"
        "try:\n"
        "    runpy.run_module('mentor_app.jobs', run_name='__main__', alter_sys=True)\n"
        "except SystemExit as done:\n"
        "    assert done.code == 0, done.code\n"
        "print('background' if db._background else 'foreground')\n"
    )
    env = dict(os.environ, DATABASE_URL=str(engine.url), MENTOR_SCHEDULER="off")
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert out.splitlines() == ["Created 2 nudges (0 one-sided, 0 admin alerts)", "background"]
