"""Meeting reminders, made by the scheduled job: about an hour before each occurrence of a
confirmed meeting of an active pair, each member gets an in-app notification, and an
e-mail through the outbox if they take reminders by e-mail.

Once per member per occurrence, as the nudges: the `MeetingReminder` row (unique per
meeting, member and occurrence) is inserted first, conflict-ignoring, and only the rows
this run wrote get a notification, in the same transaction. A rerun, a second scheduler
racing this one, or a crash between the row and the notification (the transaction rolls
back with both) never sends a reminder twice. A late run (the job was down) still reminds
of an occurrence that has not started; never of one that has.

Chunked like the nudges: meetings are read a chunk at a time without the write lock, and
only a chunk with reminders due takes it, for one short transaction.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import and_, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.sql.expression import bindparam
from sqlmodel import Session

from mentor_app.db import insert_for, read_scope, session_scope
from mentor_app.models import (
    EmailPreference,
    Meeting,
    MeetingReminder,
    Notification,
    Pair,
    User,
)
from mentor_app.services import blocks, notifications
from mentor_app.services.meeting_times import (
    Times,
    clock_time,
    day_name,
    journey_week_bounds,
    occurrences,
)

KIND = "meeting_reminder"  # the notification's kind (and its e-mail's)
REMIND_BEFORE = dt.timedelta(hours=1)
CHUNK_SIZE = 100  # meetings per transaction, as the nudges' pairs per chunk

EMAIL_PREFERENCE = EmailPreference.__table__  # type: ignore[attr-defined]
MEETING = Meeting.__table__  # type: ignore[attr-defined]
REMINDER = MeetingReminder.__table__  # type: ignore[attr-defined]
PAIR = Pair.__table__  # type: ignore[attr-defined]
USER = User.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class ReminderRules:
    """How early reminders go and how many meetings a transaction takes."""

    before: dt.timedelta = REMIND_BEFORE
    chunk_size: int = CHUNK_SIZE

    @classmethod
    def from_env(cls) -> ReminderRules:
        """MENTOR_REMIND_BEFORE_MIN (60), MENTOR_REMINDER_CHUNK (100)."""
        rules = cls(
            before=dt.timedelta(minutes=int(os.environ.get("MENTOR_REMIND_BEFORE_MIN", "60"))),
            chunk_size=int(os.environ.get("MENTOR_REMINDER_CHUNK", str(CHUNK_SIZE))),
        )
        if rules.before <= dt.timedelta(0) or rules.chunk_size < 1:
            raise ValueError(f"Inconsistent reminder settings: {rules}")
        return rules


@dataclass
class ReminderReport:
    created: int = 0  # reminders made (one per member per occurrence)
    emailed: int = 0  # of which an e-mail was queued
    meetings: int = 0  # confirmed meetings of live pairs looked at
    chunks: int = 0


class _Member(NamedTuple):
    id: int
    name: str
    timezone: str


class _Due(NamedTuple):
    """One reminder to make: for `member`, of the occurrence at `at`."""

    meeting_id: int
    pair_id: int
    at: dt.datetime
    member: _Member
    partner: _Member

    @property
    def key(self) -> tuple[int, int, dt.datetime]:
        return (self.meeting_id, self.member.id, self.at)


@dataclass
class _Chunk:
    meetings: int
    last_id: int
    due: list[_Due]


def _read(db: Session, statement: Any) -> Any:
    return db.connection().execute(statement)


def _plan_chunk(db: Session, *, now: dt.datetime, rules: ReminderRules, after_id: int) -> _Chunk:
    """The reminders due at `now` among the next chunk of meetings (reads only)."""
    mentor, mentee = USER.alias("mentor"), USER.alias("mentee")
    blocked = blocks.between_pair_members()
    horizon = now + rules.before
    rows = _read(
        db,
        select(
            MEETING.c.id,
            MEETING.c.pair_id,
            MEETING.c.status,
            MEETING.c.starts_at,
            MEETING.c.weekly,
            MEETING.c.repeat_until,
            MEETING.c.timezone,
            mentor.c.id,
            mentor.c.display_name,
            mentor.c.timezone,
            mentee.c.id,
            mentee.c.display_name,
            mentee.c.timezone,
        )
        .join(PAIR, PAIR.c.id == MEETING.c.pair_id)
        .join(mentor, mentor.c.id == PAIR.c.mentor_id)
        .join(mentee, mentee.c.id == PAIR.c.mentee_id)
        .where(
            MEETING.c.id > after_id,
            MEETING.c.status == "confirmed",
            MEETING.c.starts_at <= horizon,
            # A single meeting still to come, or a series not over (its last day may be
            # today somewhere: a day of slack).
            or_(
                MEETING.c.starts_at > now,
                and_(
                    MEETING.c.weekly.is_(True),
                    MEETING.c.repeat_until >= (now - dt.timedelta(days=1)).date(),
                ),
            ),
            PAIR.c.status == "active",
            PAIR.c.paused.is_(False),
            ~blocked,
        )
        .order_by(MEETING.c.id)
        .limit(rules.chunk_size),
    ).all()
    due: list[_Due] = []
    # Not started yet, and starting within `before`: (now, now + before].
    tick = dt.timedelta(microseconds=1)
    for row in rows:
        meeting = Times(*row[2:7])
        first_mentor = _Member(*row[7:10])
        first_mentee = _Member(*row[10:13])
        for at in occurrences(meeting, now + tick, horizon + tick):
            due.append(_Due(row[0], row[1], at, first_mentor, first_mentee))
            due.append(_Due(row[0], row[1], at, first_mentee, first_mentor))
    if due:
        done = _existing(db, due)
        due = [d for d in due if d.key not in done]
    return _Chunk(len(rows), int(rows[-1][0]) if rows else 0, due)


def _existing(db: Session, due: Sequence[_Due]) -> set[tuple[int, int, dt.datetime]]:
    rows = _read(
        db,
        select(REMINDER.c.meeting_id, REMINDER.c.user_id, REMINDER.c.occurrence_at).where(
            REMINDER.c.meeting_id.in_({d.meeting_id for d in due})
        ),
    )
    return {(m, u, at.astimezone(dt.UTC)) for m, u, at in rows}


def reminder_text(due: _Due) -> str:
    return (
        f"Your meeting with {due.partner.name} starts at "
        f"{clock_time(due.at, due.member.timezone)} (your time)"
    )


def _write_chunk(db: Session, *, now: dt.datetime, due: Sequence[_Due], report: Any) -> None:
    """The chunk's reminders that no one has made yet, each with its notification (and its
    e-mail), in the caller's transaction."""
    conn = db.connection()
    # One order for every writer, so two schedulers inserting the same rows cannot deadlock.
    ordered = sorted(due, key=lambda d: (d.meeting_id, d.member.id, d.at))
    written = conn.execute(
        insert_for(conn, REMINDER)
        .on_conflict_do_nothing(index_elements=["meeting_id", "user_id", "occurrence_at"])
        .returning(
            REMINDER.c.id, REMINDER.c.meeting_id, REMINDER.c.user_id, REMINDER.c.occurrence_at
        ),
        [
            {
                "meeting_id": d.meeting_id,
                "user_id": d.member.id,
                "occurrence_at": d.at,
                "created_at": now,
            }
            for d in ordered
        ],
    ).all()
    if not written:
        return
    by_key = {d.key: d for d in ordered}
    made = [(row[0], by_key[(row[1], row[2], row[3].astimezone(dt.UTC))]) for row in written]
    rows = [
        Notification(
            user_id=d.member.id,
            kind=KIND,
            text=reminder_text(d)[: notifications.TEXT_MAX],
            link=f"/pairs/{d.pair_id}",
            created_at=now,
        )
        for _id, d in made
    ]
    db.add_all(rows)
    db.flush()
    conn.execute(
        REMINDER.update()
        .where(REMINDER.c.id == bindparam("reminder_id"))
        .values(notification_id=bindparam("new_notification_id")),
        [
            {"reminder_id": reminder_id, "new_notification_id": row.id}
            for (reminder_id, _d), row in zip(made, rows, strict=True)
        ],
    )
    # By e-mail too for those who take reminders by e-mail (no row: the default, yes).
    # The outbox asks again when it sends (a member may turn them off meanwhile).
    off = set(
        _read(
            db,
            select(EMAIL_PREFERENCE.c.user_id).where(
                EMAIL_PREFERENCE.c.user_id.in_({d.member.id for _id, d in made}),
                EMAIL_PREFERENCE.c.reminders.is_(False),
            ),
        ).scalars()
    )
    mailed = [row for row in rows if row.user_id not in off]
    report.emailed += notifications.after_bulk_notify(db, mailed) if mailed else 0
    report.created += len(made)


def run_reminders(
    target: Engine | Session,
    *,
    now: dt.datetime,
    rules: ReminderRules | None = None,
    should_continue: Callable[[], bool] | None = None,
) -> ReminderReport:
    """Make the meeting reminders due at `now` that do not exist yet. Idempotent.

    Given an engine, each chunk with reminders due commits on its own; given a session,
    everything happens in the caller's transaction."""
    if now.utcoffset() is None:
        raise ValueError("`now` must be timezone-aware")
    now = now.astimezone(dt.UTC)
    rules = rules or ReminderRules.from_env()
    report = ReminderReport()
    after_id = 0
    while should_continue is None or should_continue():
        if isinstance(target, Session):
            chunk = _plan_chunk(target, now=now, rules=rules, after_id=after_id)
            if chunk.due:
                _write_chunk(target, now=now, due=chunk.due, report=report)
        else:
            with read_scope(target) as db:
                chunk = _plan_chunk(db, now=now, rules=rules, after_id=after_id)
            if chunk.due:
                # The write's own conflict check stops a reminder another run made meanwhile.
                with session_scope(target) as db:
                    _write_chunk(db, now=now, due=chunk.due, report=report)
        if not chunk.meetings:
            break
        report.meetings += chunk.meetings
        report.chunks += 1
        after_id = chunk.last_id
    return report


# --- the check-in after the meeting --------------------------------------------------------


def meeting_question(
    db: Session,
    *,
    pair_id: int,
    start_date: dt.date | None,
    week: int,
    timezone: str,
    now: dt.datetime,
) -> str:
    """What the weekly check-in asks once the member's current journey week has had a
    meeting (its latest occurrence that has started): "How did Tuesday's meeting go?", the
    weekday in the member's own zone. "" when the week has had none. The caller has
    checked that the member is one of the pair."""
    if start_date is None or week < 1:
        return ""
    start, end = journey_week_bounds(start_date, week, timezone)
    end = min(end, now + dt.timedelta(microseconds=1))  # started: at or before now
    meetings = _read(
        db,
        select(
            MEETING.c.status,
            MEETING.c.starts_at,
            MEETING.c.weekly,
            MEETING.c.repeat_until,
            MEETING.c.timezone,
        ).where(MEETING.c.pair_id == pair_id, MEETING.c.status == "confirmed"),
    ).all()
    held = [at for row in meetings for at in occurrences(Times(*row), start, end)]
    if not held:
        return ""
    return f"How did {day_name(max(held), timezone)}'s meeting go?"
