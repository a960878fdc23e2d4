"""APScheduler setup and job registration, started from the app's lifespan.

Lifespan tasks run once per backend worker, so every worker starts a scheduler but only
the one holding the leader lock runs the jobs: a lease row on SQLite, an advisory lock on
PostgreSQL (held by a connection of its own: when a worker dies, its connection closes and
another worker takes over within `RENEW_EVERY_S`). Jobs stay idempotent regardless.

Set MENTOR_SCHEDULER=off to start no scheduler (the CLI `python -m mentor_app.jobs` still
runs a job by hand).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
import os
import socket
import threading
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import delete, func, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError

from mentor_app.apart import run_apart, run_here
from mentor_app.db import engine_for, get_engine, read_scope, url_of
from mentor_app.models import LeaderLease, Pair, utcnow
from mentor_app.services.meeting_reminders import ReminderReport, run_reminders
from mentor_app.services.nudges import NudgeReport, NudgeRules, run_nudges
from mentor_app.settings import switched_on

logger = logging.getLogger(__name__)

LEASE_NAME = "scheduler"
LEASE = dt.timedelta(seconds=90)
RENEW_EVERY_S = 30
# pg_try_advisory_lock key: any constant of our own; this one spells "MNTRSCHD".
ADVISORY_LOCK_KEY = 0x4D4E_5452_5343_4844

LEADER_JOB = "leader"
NUDGES_JOB = "nudges"
NUDGES_FIRST_RUN_DELAY = dt.timedelta(minutes=1)  # after start: catch up soon, lease first
REMINDERS_JOB = "meeting-reminders"
# Reminders go an hour before a meeting: a run every few minutes sends them 55-60 minutes
# ahead (a late run, after downtime, still reminds of a meeting that has not started).
REMINDERS_EVERY = dt.timedelta(minutes=5)
JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 6 * 3600}

LEASE_TABLE = LeaderLease.__table__  # type: ignore[attr-defined]


def scheduler_enabled(env: dict[str, str] | None = None) -> bool:
    return switched_on("MENTOR_SCHEDULER", env)


# --- the leader lock ---------------------------------------------------------------------------


class LeaderLock:
    """At most one holder among every process using the database.

    SQLite: the `leader_lease` row, taken when free or expired and extended by its holder;
    a holder that stops renewing loses it after `lease`. PostgreSQL: a session-level
    `pg_try_advisory_lock` on a connection kept open for as long as the lock is held."""

    def __init__(
        self,
        engine: Engine,
        *,
        name: str = LEASE_NAME,
        lease: dt.timedelta = LEASE,
        holder: str | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.name = name
        self.lease = lease
        self.holder = (holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex}")[:128]
        self.clock = clock
        self._guard = threading.Lock()  # the jobs' threads share this object
        self._held = False
        self._connection: Connection | None = None  # PostgreSQL: the lock lives on it

    @property
    def uses_advisory_lock(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @property
    def held(self) -> bool:
        """Whether this process held the lock when last asked (`renew` checks again)."""
        return self._held

    def acquire(self) -> bool:
        """Take the lock if it is free (or extend it if already ours); whether we hold it."""
        with self._guard:
            if self.uses_advisory_lock:
                self._held = self._advisory_alive() or self._advisory_take()
            else:
                self._held = self._lease_write(take_free=True)
            return self._held

    def renew(self) -> bool:
        """Keep the lock if it is still ours; False (and not held) if it was lost."""
        with self._guard:
            if not self._held:
                return False
            if self.uses_advisory_lock:
                self._held = self._advisory_alive()
            else:
                self._held = self._lease_write(take_free=False)
            return self._held

    def release(self) -> None:
        with self._guard:
            self._held = False
            if self.uses_advisory_lock:
                self._advisory_drop(unlock=True)
                return
            try:
                with self.engine.begin() as conn:
                    conn.execute(
                        delete(LEASE_TABLE).where(
                            LEASE_TABLE.c.name == self.name, LEASE_TABLE.c.holder == self.holder
                        )
                    )
            except DBAPIError:
                logger.warning("Could not release the scheduler lease", exc_info=True)

    # SQLite (or any database without advisory locks): the lease row.

    def _lease_write(self, *, take_free: bool) -> bool:
        now = self.clock()
        try:
            # On SQLite this transaction begins IMMEDIATE: read and write are one step.
            with self.engine.begin() as conn:
                row = conn.execute(
                    select(LEASE_TABLE.c.holder, LEASE_TABLE.c.expires_at).where(
                        LEASE_TABLE.c.name == self.name
                    )
                ).first()
                values = {"holder": self.holder, "expires_at": now + self.lease}
                if row is None:
                    if not take_free:
                        return False
                    conn.execute(LEASE_TABLE.insert().values(name=self.name, **values))
                elif row.holder == self.holder or (take_free and row.expires_at <= now):
                    conn.execute(
                        LEASE_TABLE.update().where(LEASE_TABLE.c.name == self.name).values(**values)
                    )
                else:
                    return False
            return True
        except IntegrityError:  # another process inserted the row first
            return False
        except DBAPIError:
            logger.warning("Could not take or renew the scheduler lease", exc_info=True)
            return False

    # PostgreSQL: a session-level advisory lock on a connection of our own.

    def _advisory_take(self) -> bool:
        self._advisory_drop(unlock=False)
        try:
            connection = self.engine.connect()
            connection.execution_options(
                isolation_level="AUTOCOMMIT"
            )  # never idle in a transaction
            # Out of the pool: closing it really closes the session, and frees the lock.
            connection.detach()
            taken: bool = connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY}
            ).scalar_one()
        except DBAPIError:
            logger.warning("Could not ask for the scheduler's advisory lock", exc_info=True)
            return False
        if not taken:
            connection.close()
            return False
        self._connection = connection
        return True

    def _advisory_alive(self) -> bool:
        if self._connection is None:
            return False
        try:
            self._connection.execute(text("SELECT 1"))
            return True
        except DBAPIError:  # the session is gone, and the lock with it
            self._advisory_drop(unlock=False)
            return False

    def _advisory_drop(self, *, unlock: bool) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        with contextlib.suppress(DBAPIError):
            if unlock:
                connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY}
                )
        with contextlib.suppress(DBAPIError):
            connection.close()


# --- jobs ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobSpec:
    id: str
    func: Callable[[], object]
    trigger: dict[str, Any]  # APScheduler trigger arguments: {"trigger": "interval", ...}
    leader_only: bool = True


_registered: dict[str, JobSpec] = {}
_running: list[JobScheduler] = []


def register_job(
    job_id: str,
    func: Callable[[], object],
    trigger_kwargs: dict[str, Any],
    *,
    leader_only: bool = True,
) -> None:
    """Add a job to every scheduler (those started later, and one already running), e.g.
    `register_job("outbox", send_pending, {"trigger": "interval", "minutes": 1})`.
    Leader-only jobs run only in the process holding the leader lock."""
    spec = JobSpec(job_id, func, dict(trigger_kwargs), leader_only)
    _registered[job_id] = spec
    for jobs in list(_running):
        jobs.add(spec)


class JobScheduler:
    """One process's APScheduler with the leader lock and the app's jobs."""

    def __init__(
        self,
        engine: Engine,
        *,
        lock: LeaderLock | None = None,
        rules: NudgeRules | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
        run_job: Callable[..., Any] = run_apart,
    ) -> None:
        self.engine = engine
        self.run_job = run_job  # the nudge job's runner: a process of its own
        self.lock = lock or LeaderLock(engine)
        self.rules = rules
        self.clock = clock
        self.scheduler = BackgroundScheduler(job_defaults=dict(JOB_DEFAULTS), timezone=dt.UTC)
        self._stopping = threading.Event()

    def start(self) -> None:
        now = utcnow()
        self.scheduler.add_job(
            self.keep_lease,
            "interval",
            seconds=RENEW_EVERY_S,
            id=LEADER_JOB,
            replace_existing=True,
            next_run_time=now,
        )
        self.scheduler.add_job(
            self.run_nudges,
            "interval",
            hours=1,
            id=NUDGES_JOB,
            replace_existing=True,
            next_run_time=now + NUDGES_FIRST_RUN_DELAY,
        )
        self.scheduler.add_job(
            self.run_reminders,
            "interval",
            seconds=REMINDERS_EVERY.total_seconds(),
            id=REMINDERS_JOB,
            replace_existing=True,
            next_run_time=now + NUDGES_FIRST_RUN_DELAY,
        )
        for spec in list(_registered.values()):
            self.add(spec)
        self.scheduler.start()
        _running.append(self)
        logger.info("Scheduler started (leader candidate %s)", self.lock.holder)

    def add(self, spec: JobSpec) -> None:
        func = spec.func
        if spec.leader_only:
            func = self._if_leader(spec.func)
        self.scheduler.add_job(func, id=spec.id, replace_existing=True, **spec.trigger)

    def stop(self) -> None:
        """Stop scheduling; a nudge run in progress ends after its current chunk."""
        self._stopping.set()
        if self in _running:
            _running.remove(self)
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        self.lock.release()
        logger.info("Scheduler stopped")

    def keep_lease(self) -> bool:
        """Every RENEW_EVERY_S: hold on to the lock, or take it from a leader that died."""
        if self._stopping.is_set():
            return False
        was_leader = self.lock.held
        leader = self.lock.acquire()
        if leader != was_leader:
            logger.info("Scheduler leader: %s (%s)", "yes" if leader else "no", self.lock.holder)
        return leader

    def run_nudges(self) -> NudgeReport | None:
        """The hourly nudge job; does nothing unless this process leads."""
        if self._stopping.is_set() or not self.lock.renew():
            return None
        # In a process of its own when there is much to do: planning 100,000 pairs in a
        # thread here held the interpreter the worker's event loop needs for every chat
        # send (mentor_app.apart). A few hundred pairs take less than a helper's start.
        run_job = self.run_job if _active_pairs(self.engine) >= NUDGES_APART_FROM else run_here
        report: NudgeReport = run_job(
            nudge_job,
            url_of(self.engine),
            self.clock(),
            self.rules,
            stopping=self._stopping,
        )
        logger.info(
            "Nudges: %d created (%d weekly, %d one-sided, %d admin alerts) for %d pairs",
            report.created,
            report.weekly,
            report.one_sided,
            report.admin_alerts,
            report.pairs,
        )
        return report

    def run_reminders(self) -> ReminderReport | None:
        """The meeting reminders due now; does nothing unless this process leads. In this
        process: only the meetings of the coming hour get a write, and confirmed meetings
        are few next to a run of nudges."""
        if self._stopping.is_set() or not self.lock.renew():
            return None
        report = run_reminders(
            self.engine, now=self.clock(), should_continue=lambda: not self._stopping.is_set()
        )
        if report.created:
            logger.info("Meeting reminders: %d made (%d by e-mail)", report.created, report.emailed)
        return report

    def _if_leader(self, func: Callable[[], object]) -> Callable[[], object]:
        @functools.wraps(func)
        def run() -> object:
            if self._stopping.is_set() or not self.lock.renew():
                return None
            return func()

        return run


# From this many active pairs, the nudge job runs in a helper process.
NUDGES_APART_FROM = 1000


def _active_pairs(engine: Engine) -> int:
    with read_scope(engine) as db:
        return int(
            db.execute(
                select(func.count()).select_from(Pair).where(Pair.status == "active")  # type: ignore[arg-type]
            ).scalar_one()
        )


def nudge_job(
    database_url: str,
    now: dt.datetime,
    rules: NudgeRules | None,
    *,
    should_continue: Callable[[], bool],
) -> NudgeReport:
    """The nudge job as `run_apart` runs it: on connections of its own process (the engine
    stays for the helper's next job: a new one per run meant new connections each hour, and
    in the fault tests, which run it hundreds of times, seconds)."""
    engine = engine_for(database_url)
    return run_nudges(engine, now=now, rules=rules, should_continue=should_continue)


@contextlib.asynccontextmanager
async def scheduler_lifespan(engine: Engine | None = None) -> AsyncIterator[JobScheduler | None]:
    """The app's lifespan task: the scheduler runs while the worker serves."""
    if not scheduler_enabled():
        logger.info("Scheduler off (MENTOR_SCHEDULER)")
        yield None
        return
    jobs = JobScheduler(engine or get_engine())
    jobs.start()
    try:
        yield jobs
    finally:
        # The lock's release talks to the database: keep it off the event loop.
        await asyncio.to_thread(jobs.stop)
