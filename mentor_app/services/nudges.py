"""Weekly nudges and one-sided engagement alerts, made by the scheduled job.

Set-based: active pairs are read in chunks of a few thousand with everything the rules
need (both members' time zones, the latest check-in and message of each member), the
rules run in Python, and the nudge rows go in with one conflict-ignoring INSERT per chunk.
A nudge row is unique per (pair, member, week, kind) and is written before its
notification, in the same transaction: a rerun, a second scheduler or a crash half-way
never makes a nudge twice, nor a nudge without its notification.

A pair with a confirmed meeting still to come in a member's journey week gets no weekly
nudge that week: the meeting's reminder (services.meeting_reminders) speaks for it.
"""

from __future__ import annotations

import datetime as dt
import os
import zoneinfo
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.expression import bindparam
from sqlmodel import Session, SQLModel

from mentor_app.db import foreground_waits_to_write, insert_for, read_scope, session_scope
from mentor_app.models import (
    CheckIn,
    Enrollment,
    Meeting,
    Membership,
    Message,
    Notification,
    Nudge,
    Pair,
    Program,
    User,
)
from mentor_app.services import blocks, notifications
from mentor_app.services.journey import clean_timezone, silent_since, week_of
from mentor_app.services.meeting_times import Times, journey_week_bounds, occurrences

WEEKLY, ONE_SIDED, ADMIN_ALERT = "weekly", "one_sided", "admin_alert"
# The notification kinds members and admins see (Nudge.kind is the dedup key instead).
NOTIFICATION_KINDS = {WEEKLY: "nudge", ONE_SIDED: "one_sided", ADMIN_ALERT: "one_sided_alert"}


def _table(model: type[SQLModel]) -> Any:
    """A model's Core table: the job reads and writes rows in bulk, below the ORM."""
    return model.__table__  # type: ignore[attr-defined]


CHECK_IN = _table(CheckIn)
ENROLLMENT = _table(Enrollment)
MEETING = _table(Meeting)
MEMBERSHIP = _table(Membership)
MESSAGE = _table(Message)
NOTIFICATION = _table(Notification)
NUDGE = _table(Nudge)
PAIR = _table(Pair)
PROGRAM = _table(Program)
USER = _table(User)


@dataclass(frozen=True)
class NudgeRules:
    """When nudges are due. Read from the environment by `from_env`; tests pass their own."""

    from_day: int = 5  # day of the journey week (1..7), in the member's time zone
    day_start_hour: int = 9  # daytime, local: from 09:00 ...
    day_end_hour: int = 20  # ... up to 20:00 (exclusive)
    one_sided_days: int = 10  # silent this long while the partner was active: nudge
    admin_alert_days: int = 21  # silent this long: tell the program's admins
    # Pairs per chunk: its write holds SQLite's lock for ~10 ms, and a chat send of the
    # app's own process waits at most that (the job runs in a process of its own, so the
    # send waits in SQLite's sleep-and-retry; with 500 a chunk it waited 66 ms at p50).
    chunk_size: int = 100

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> NudgeRules:
        """MENTOR_NUDGE_FROM_DAY, MENTOR_NUDGE_HOURS ("9-20"), MENTOR_ONE_SIDED_DAYS,
        MENTOR_ADMIN_ALERT_DAYS, MENTOR_NUDGE_CHUNK."""
        env = os.environ if env is None else env
        start, _, end = env.get("MENTOR_NUDGE_HOURS", "9-20").partition("-")
        rules = cls(
            from_day=int(env.get("MENTOR_NUDGE_FROM_DAY", "5")),
            day_start_hour=int(start),
            day_end_hour=int(end or "20"),
            one_sided_days=int(env.get("MENTOR_ONE_SIDED_DAYS", "10")),
            admin_alert_days=int(env.get("MENTOR_ADMIN_ALERT_DAYS", "21")),
            chunk_size=int(env.get("MENTOR_NUDGE_CHUNK", "100")),
        )
        if not (
            1 <= rules.from_day <= 7
            and 0 <= rules.day_start_hour < rules.day_end_hour <= 24
            and 1 <= rules.one_sided_days <= rules.admin_alert_days
            and rules.chunk_size >= 1
        ):
            raise ValueError(f"Inconsistent nudge settings: {rules}")
        return rules


@dataclass
class NudgeReport:
    """What one run made."""

    created: int = 0
    weekly: int = 0
    one_sided: int = 0
    admin_alerts: int = 0
    pairs: int = 0  # active, unpaused, unblocked pairs looked at
    chunks: int = 0

    def add(self, kind: str) -> None:
        self.created += 1
        if kind == WEEKLY:
            self.weekly += 1
        elif kind == ONE_SIDED:
            self.one_sided += 1
        else:
            self.admin_alerts += 1


# --- what one chunk reads ---------------------------------------------------------------------


# Tuples, not dataclasses: a run builds hundreds of thousands of them.
class _Member(NamedTuple):
    id: int
    name: str
    timezone: str
    timezone_known: bool


class _PairRow(NamedTuple):
    id: int
    program_id: int
    start_date: dt.date | None
    since: dt.datetime  # published (or created); silence counts from the later of this
    # and the journey's start
    mentor: _Member
    mentee: _Member


@dataclass(frozen=True)
class _ProgramInfo:
    title: str
    steps: list[str]  # the title of each week's step, week 1 first
    admin_ids: list[int]
    # The known zones of the program's members: where a member whose own zone is unknown
    # plausibly lives.
    known_zones: frozenset[str] = frozenset()


class _Planned(NamedTuple):
    pair_id: int
    user_id: int
    week: int
    kind: str
    text: str
    link: str
    email: bool = True  # False: in-app only (a member whose zone is only guessed)

    @property
    def key(self) -> tuple[int, int, int, str]:
        return (self.pair_id, self.user_id, self.week, self.kind)


class _Activity(NamedTuple):
    latest_week: int  # the latest week this member checked in (0: never)
    last_at: dt.datetime | None  # their latest message or check-in, whichever is later


@dataclass
class _Run:
    now: dt.datetime
    rules: NudgeRules
    programs: dict[int, _ProgramInfo] = field(default_factory=dict)
    local_now: dict[str, tuple[dt.date, int]] = field(default_factory=dict)
    shared: dict[frozenset[str], bool] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.one_sided = dt.timedelta(days=self.rules.one_sided_days)
        self.admin_alert = dt.timedelta(days=self.rules.admin_alert_days)
        self.one_sided_since = self.now - self.one_sided

    def local(self, timezone: str) -> tuple[dt.date, int]:
        """Today's date and the hour on the member's wall clock (zoneinfo applies each
        zone's daylight-saving rules)."""
        if timezone not in self.local_now:
            local = self.now.astimezone(zoneinfo.ZoneInfo(clean_timezone(timezone)))
            self.local_now[timezone] = (local.date(), local.hour)
        return self.local_now[timezone]

    def is_daytime(self, timezone: str) -> bool:
        return self.rules.day_start_hour <= self.local(timezone)[1] < self.rules.day_end_hour

    def shares_daytime(self, zones: frozenset[str]) -> bool:
        """Whether the 24 hours from now hold a moment (on the quarter hour) that is
        daytime in every one of `zones`: not so when they span too much of the globe,
        like Honolulu and Berlin."""
        if zones not in self.shared:
            tzs = [zoneinfo.ZoneInfo(clean_timezone(z)) for z in zones]
            start, end = self.rules.day_start_hour, self.rules.day_end_hour
            moments = [self.now + dt.timedelta(minutes=15 * step) for step in range(96)]
            self.shared[zones] = any(
                all(start <= moment.astimezone(tz).hour < end for tz in tzs) for moment in moments
            )
        return self.shared[zones]

    def when(self, member: _Member, partner: _Member, program: _ProgramInfo) -> tuple[bool, bool]:
        """(whether a nudge to `member` may be made now, whether it may go by e-mail).

        A member whose zone is known: daytime in it. Otherwise the plausible zones are the
        known zones of the program's members: daytime in every one of them, when they share
        such an hour. When they don't (or none is known), the nudge is in-app only, with no
        e-mail, made in the partner's daytime if the partner's zone is known."""
        if member.timezone_known:
            return self.is_daytime(member.timezone), True
        zones = program.known_zones
        if zones and self.shares_daytime(zones):
            return all(self.is_daytime(zone) for zone in zones), True
        if partner.timezone_known:
            return self.is_daytime(partner.timezone), False
        return True, False


def _read(db: Session, statement: Any) -> Any:
    """Rows of a Core SELECT on the session's connection: tuples, without the ORM's
    per-row overhead (a run reads a few hundred thousand)."""
    return db.connection().execute(statement)


def _active_pairs(db: Session, *, after_id: int, limit: int) -> list[_PairRow]:
    mentor, mentee = USER.alias("mentor"), USER.alias("mentee")
    blocked = blocks.between_pair_members()
    rows = _read(
        db,
        select(
            PAIR.c.id,
            PAIR.c.program_id,
            PAIR.c.start_date,
            func.coalesce(PAIR.c.published_at, PAIR.c.created_at),
            mentor.c.id,
            mentor.c.display_name,
            mentor.c.timezone,
            mentor.c.timezone_known,
            mentee.c.id,
            mentee.c.display_name,
            mentee.c.timezone,
            mentee.c.timezone_known,
        )
        .join(mentor, mentor.c.id == PAIR.c.mentor_id)
        .join(mentee, mentee.c.id == PAIR.c.mentee_id)
        .where(
            PAIR.c.status == "active",
            PAIR.c.paused.is_(False),
            PAIR.c.id > after_id,
            ~blocked,
        )
        .order_by(PAIR.c.id)
        .limit(limit),
    ).all()
    return [
        _PairRow(
            r[0],
            r[1],
            r[2],
            r[3],
            _Member(r[4], r[5], r[6], bool(r[7])),
            _Member(r[8], r[9], r[10], bool(r[11])),
        )
        for r in rows
    ]


def _load_programs(db: Session, run: _Run, program_ids: set[int]) -> None:
    missing = program_ids - run.programs.keys()
    if not missing:
        return
    programs = _read(
        db,
        select(PROGRAM.c.id, PROGRAM.c.title, PROGRAM.c.group_id, PROGRAM.c.journey).where(
            PROGRAM.c.id.in_(missing)
        ),
    ).all()
    admins: dict[int, list[int]] = {}
    for group_id, user_id in _read(
        db,
        select(MEMBERSHIP.c.group_id, MEMBERSHIP.c.user_id)
        .where(
            MEMBERSHIP.c.group_id.in_({g for _, _, g, _ in programs}),
            MEMBERSHIP.c.role == "admin",
        )
        .order_by(MEMBERSHIP.c.user_id),
    ):
        admins.setdefault(group_id, []).append(user_id)
    zones: dict[int, set[str]] = {}
    for program_id, zone in _read(
        db,
        select(ENROLLMENT.c.program_id, USER.c.timezone)
        .join(USER, USER.c.id == ENROLLMENT.c.user_id)
        .where(ENROLLMENT.c.program_id.in_(missing), USER.c.timezone_known.is_(True))
        .distinct(),
    ):
        zones.setdefault(program_id, set()).add(zone)
    for program_id, title, group_id, journey in programs:
        run.programs[program_id] = _ProgramInfo(
            title=title,
            steps=[str(step.get("title", "")) for step in journey or []],
            admin_ids=admins.get(group_id, []),
            known_zones=frozenset(zones.get(program_id, ())),
        )


def _activity(db: Session, low: int, high: int) -> dict[tuple[int, int], _Activity]:
    """(pair, member) → their latest check-in week and latest sign of life. A check-in can
    only be written for its writer's current week, so the latest week tells whether this
    week's is in."""
    activity = {
        (pair_id, user_id): _Activity(week, at)
        for pair_id, user_id, week, at in _read(
            db,
            select(
                CHECK_IN.c.pair_id,
                CHECK_IN.c.user_id,
                func.max(CHECK_IN.c.week),
                func.max(CHECK_IN.c.updated_at),
            )
            .where(CHECK_IN.c.pair_id.between(low, high))
            .group_by(CHECK_IN.c.pair_id, CHECK_IN.c.user_id),
        )
    }
    for pair_id, sender_id, at in _read(
        db,
        select(MESSAGE.c.pair_id, MESSAGE.c.sender_id, func.max(MESSAGE.c.created_at))
        .where(MESSAGE.c.pair_id.between(low, high))
        .group_by(MESSAGE.c.pair_id, MESSAGE.c.sender_id),
    ):
        known = activity.get((pair_id, sender_id))
        if known is None:
            activity[(pair_id, sender_id)] = _Activity(0, at)
        elif known.last_at is None or at > known.last_at:
            activity[(pair_id, sender_id)] = _Activity(known.latest_week, at)
    return activity


def _meetings(db: Session, run: _Run, low: int, high: int) -> dict[int, list[Times]]:
    """The confirmed meetings of the chunk's pairs that may still happen this week: a
    pair with one later in a member's week gets its reminder instead of the weekly nudge."""
    rows = _read(
        db,
        select(
            MEETING.c.pair_id,
            MEETING.c.status,
            MEETING.c.starts_at,
            MEETING.c.weekly,
            MEETING.c.repeat_until,
            MEETING.c.timezone,
        ).where(
            MEETING.c.pair_id.between(low, high),
            MEETING.c.status == "confirmed",
            MEETING.c.starts_at < run.now + dt.timedelta(days=8),
            or_(
                MEETING.c.starts_at >= run.now,
                and_(
                    MEETING.c.weekly.is_(True),
                    MEETING.c.repeat_until >= (run.now - dt.timedelta(days=1)).date(),
                ),
            ),
        ),
    )
    meetings: dict[int, list[Times]] = {}
    for pair_id, *times in rows:
        meetings.setdefault(pair_id, []).append(Times(*times))
    return meetings


def _meets_later_this_week(
    run: _Run, pair: _PairRow, member: _Member, week: int, meetings: Sequence[Times]
) -> bool:
    """Whether the pair has a meeting from now to the end of the member's journey week."""
    if not meetings or pair.start_date is None:
        return False
    _start, end = journey_week_bounds(pair.start_date, week, clean_timezone(member.timezone))
    return any(occurrences(m, run.now, end) for m in meetings)


def _existing_nudges(
    db: Session, low: int, high: int, weeks: set[int]
) -> set[tuple[int, int, int, str]]:
    if not weeks:
        return set()
    rows = _read(
        db,
        select(NUDGE.c.pair_id, NUDGE.c.user_id, NUDGE.c.week, NUDGE.c.kind).where(
            NUDGE.c.pair_id.between(low, high), NUDGE.c.week.in_(weeks)
        ),
    )
    return {(p, u, w, k) for p, u, w, k in rows}


# --- the rules ---------------------------------------------------------------------------------


def _plan_pair(
    run: _Run,
    pair: _PairRow,
    program: _ProgramInfo,
    activity: Mapping[tuple[int, int], _Activity],
    meetings: Sequence[Times] = (),
) -> Iterator[_Planned]:
    if pair.start_date is None:
        return
    rules = run.rules
    link = f"/pairs/{pair.id}"
    mentor, mentee = (
        activity.get((pair.id, pair.mentor.id)),
        activity.get((pair.id, pair.mentee.id)),
    )
    for member, partner, mine, theirs in (
        (pair.mentor, pair.mentee, mentor, mentee),
        (pair.mentee, pair.mentor, mentee, mentor),
    ):
        # Weeks count in the member's recorded zone (UTC while unknown), as their page does.
        today, _hour = run.local(member.timezone)
        week = week_of(pair.start_date, today)
        if not 1 <= week <= len(program.steps):
            continue
        daytime, email = run.when(member, partner, program)
        day_of_week = (today - pair.start_date).days % 7 + 1
        checked_in_week = mine.latest_week if mine else 0
        if (
            daytime
            and day_of_week >= rules.from_day
            and checked_in_week < week
            # A meeting later this week: its reminder speaks for the pair instead.
            and not _meets_later_this_week(run, pair, member, week, meetings)
        ):
            yield _Planned(
                pair.id,
                member.id,
                week,
                WEEKLY,
                f"This week: {program.steps[week - 1]} — check in with {partner.name}",
                link,
                email,
            )

        # One-sided: the partner was in touch lately, this member not for a long while.
        if theirs is None or theirs.last_at is None or theirs.last_at <= run.one_sided_since:
            continue
        if mine and mine.last_at:
            quiet_since = mine.last_at
        else:  # never said anything: counted from the journey's start, not from publishing
            quiet_since = silent_since(pair.start_date, pair.since, member.timezone) or pair.since
        silent = run.now - quiet_since
        if silent < run.one_sided:
            continue
        if daytime:
            yield _Planned(
                pair.id,
                member.id,
                week,
                ONE_SIDED,
                f"{partner.name} has been in touch — reply when you can",
                link,
                email,
            )
        if silent >= run.admin_alert:
            text = (
                f"One-sided pair: {pair.mentor.name} and {pair.mentee.name} in "
                f"“{program.title}” — {member.name} silent for {silent.days} days"
            )
            for admin_id in notifications.admins_outside_pair(
                program.admin_ids, member_ids=(pair.mentor.id, pair.mentee.id)
            ):
                yield _Planned(
                    pair.id,
                    admin_id,
                    week,
                    ADMIN_ALERT,
                    text,
                    f"/programs/{pair.program_id}/pairing",
                )


# --- writing -----------------------------------------------------------------------------------


def _insert_nudges(
    conn: Connection, planned: Sequence[_Planned], now: dt.datetime
) -> list[tuple[int, tuple[int, int, int, str]]]:
    """Insert the nudge rows; (id, key) of those this run wrote, the rest already existed."""
    statement = (
        insert_for(conn, NUDGE)
        .on_conflict_do_nothing(index_elements=["pair_id", "user_id", "week", "kind"])
        .returning(
            NUDGE.c.id,
            NUDGE.c.pair_id,
            NUDGE.c.user_id,
            NUDGE.c.week,
            NUDGE.c.kind,
        )
    )
    rows = conn.execute(
        statement,
        [
            {
                "pair_id": p.pair_id,
                "user_id": p.user_id,
                "week": p.week,
                "kind": p.kind,
                "created_at": now,
            }
            for p in planned
        ],
    ).all()
    return [(r[0], (r[1], r[2], r[3], r[4])) for r in rows]


def _allocate_notification_ids(conn: Connection, count: int) -> list[int]:
    """Ids for new notifications, so each can be tied to its nudge without relying on the
    order of RETURNING rows. SQLite: this transaction already holds the write lock (it has
    just inserted nudges), so nobody else can take ids past the current maximum."""
    if conn.dialect.name == "postgresql":
        return list(
            conn.execute(
                select(func.nextval(func.pg_get_serial_sequence("notification", "id"))).select_from(
                    func.generate_series(1, count)
                )
            ).scalars()
        )
    top: int = conn.execute(select(func.coalesce(func.max(NOTIFICATION.c.id), 0))).scalar_one()
    return list(range(top + 1, top + 1 + count))


class NewNotification(NamedTuple):
    """A notification this run inserted, as the outbox hook reads it (a plain row, not an
    object of the session)."""

    id: int
    user_id: int
    kind: str
    text: str
    link: str
    created_at: dt.datetime


def _create_notifications(
    db: Session, written: Sequence[tuple[int, _Planned]], now: dt.datetime
) -> None:
    """The in-app notification of each nudge this run wrote, linked from the nudge row."""
    conn = db.connection()
    ids = _allocate_notification_ids(conn, len(written))
    rows = [
        NewNotification(
            notification_id,
            p.user_id,
            NOTIFICATION_KINDS[p.kind],
            p.text[: notifications.TEXT_MAX],
            p.link,
            now,
        )
        for notification_id, (_nudge_id, p) in zip(ids, written, strict=True)
    ]
    conn.execute(NOTIFICATION.insert(), [row._asdict() for row in rows])
    conn.execute(
        update(NUDGE)
        .where(NUDGE.c.id == bindparam("nudge_id"))
        .values(notification_id=bindparam("new_notification_id")),
        [
            {"nudge_id": nudge_id, "new_notification_id": notification_id}
            for (nudge_id, _p), notification_id in zip(written, ids, strict=True)
        ],
    )
    # The outbox turns the kinds it mails into e-mails, in this same transaction. Looked up
    # by name so nudges work with or without it.
    after_bulk_notify = getattr(notifications, "after_bulk_notify", None)
    if callable(after_bulk_notify):
        # Not the in-app-only ones (members whose zone is only guessed).
        mailed = [row for row, (_n, p) in zip(rows, written, strict=True) if p.email]
        after_bulk_notify(db, mailed)


@dataclass
class _Chunk:
    pairs: int
    low: int
    high: int
    planned: list[Any]


def _plan_chunk(db: Session, run: _Run, *, after_id: int) -> _Chunk | None:
    """What the next chunk of pairs is due (reads only); None when no pair is left."""
    pairs = _active_pairs(db, after_id=after_id, limit=run.rules.chunk_size)
    if not pairs:
        return None
    low, high = pairs[0].id, pairs[-1].id
    _load_programs(db, run, {p.program_id for p in pairs})
    activity = _activity(db, low, high)
    meetings = _meetings(db, run, low, high)
    planned = [
        item
        for pair in pairs
        for item in _plan_pair(
            run, pair, run.programs[pair.program_id], activity, meetings.get(pair.id, ())
        )
    ]
    # Those made already are left out here (a rerun writes nothing), and again in the write.
    existing = _existing_nudges(db, low, high, {p.week for p in planned}) if planned else set()
    planned = [p for p in planned if p.key not in existing]
    return _Chunk(len(pairs), int(low or 0), int(high or 0), planned)


def _write_chunk(db: Session, run: _Run, report: NudgeReport, chunk: _Chunk) -> None:
    """The chunk's nudges that do not exist yet, with their notifications and e-mails."""
    report.pairs += chunk.pairs
    report.chunks += 1
    _write_part(db, run, report, chunk)


def _write_part(db: Session, run: _Run, report: NudgeReport, part: _Chunk) -> None:
    """The nudges of `part` (its pairs `low`..`high`) that do not exist yet, with their
    notifications and e-mails."""
    existing = _existing_nudges(db, part.low, part.high, {p.week for p in part.planned})
    # One order for every writer, so two schedulers inserting the same rows cannot deadlock.
    planned = sorted((p for p in part.planned if p.key not in existing), key=lambda p: p.key)
    if planned:
        by_key = {p.key: p for p in planned}
        written = [
            (nudge_id, by_key[key])
            for nudge_id, key in _insert_nudges(db.connection(), planned, run.now)
        ]
        if written:
            _create_notifications(db, written, run.now)
        for _nudge_id, p in written:
            report.add(p.kind)


# A chunk's pairs are written this many at a time, in one transaction unless the worker has
# a writer waiting (a chat send, on SQLite): then the pairs written so far are committed,
# the writer goes, and the rest follow in a new transaction. The send waits for one part,
# not for the whole chunk's write (which held SQLite's write lock 12 ms at p50 and 21 ms at
# p95 in bench.interference, three quarters of the time while the job ran).
WRITE_PART_PAIRS = 20


def _parts(chunk: _Chunk) -> list[_Chunk]:
    by_pair: dict[int, list[Any]] = {}
    for item in chunk.planned:
        by_pair.setdefault(item.pair_id, []).append(item)
    pair_ids = sorted(by_pair)
    return [
        _Chunk(0, ids[0], ids[-1], [item for pair_id in ids for item in by_pair[pair_id]])
        for ids in (
            pair_ids[n : n + WRITE_PART_PAIRS] for n in range(0, len(pair_ids), WRITE_PART_PAIRS)
        )
    ]


def _write_in_parts(engine: Engine, run: _Run, report: NudgeReport, chunk: _Chunk) -> None:
    parts = _parts(chunk)
    while parts:
        with session_scope(engine) as db:
            while parts:
                _write_part(db, run, report, parts.pop(0))
                if parts and foreground_waits_to_write(db):
                    break  # what is written commits here; the writer waiting goes first


def _run_chunk(db: Session, run: _Run, report: NudgeReport, *, after_id: int) -> int | None:
    """Nudges for the next chunk of pairs in one transaction; the last pair id seen, or
    None when done."""
    chunk = _plan_chunk(db, run, after_id=after_id)
    if chunk is None:
        return None
    _write_chunk(db, run, report, chunk)
    return chunk.high


def run_nudges(
    target: Engine | Session,
    *,
    now: dt.datetime,
    rules: NudgeRules | None = None,
    should_continue: Callable[[], bool] | None = None,
) -> NudgeReport:
    """Make the nudges due at `now` that do not exist yet: this week's check-in reminders
    and one-sided engagement nudges and admin alerts. Idempotent; a run after downtime
    makes what is missing for the current week and nothing for weeks gone by.

    Given an engine, each chunk of pairs commits on its own; given a session, everything
    happens in the caller's transaction. `should_continue` is asked between chunks (the
    scheduler stops early on shutdown; the next run picks up the rest)."""
    if now.utcoffset() is None:
        raise ValueError("`now` must be timezone-aware")
    run = _Run(now=now.astimezone(dt.UTC), rules=rules or NudgeRules.from_env())
    report = NudgeReport()
    after_id: int | None = 0
    while after_id is not None:
        if should_continue is not None and not should_continue():
            break
        if isinstance(target, Session):
            after_id = _run_chunk(target, run, report, after_id=after_id)
            continue
        # The reading and planning without the write lock (every chat send on SQLite
        # waits for it); the lock only for the short write. A nudge another scheduler
        # wrote meanwhile is seen by the write's own check and made once.
        with read_scope(target) as db:
            chunk = _plan_chunk(db, run, after_id=after_id)
        if chunk is None:
            break
        report.pairs += chunk.pairs
        report.chunks += 1
        if chunk.planned:  # else nothing due in this chunk: no write transaction at all
            _write_in_parts(target, run, report, chunk)
        after_id = chunk.high
    return report
