"""Programs of real size, written straight into the app's database with bulk INSERTs (not
through the services: 100,000 pairs through them would take hours), for the benches of
issue 18 (bench/interference.py, bench/pages.py).

Works on SQLite and PostgreSQL, on a database the app is already serving: ids are taken
after the highest in each table, every chunk of rows commits on its own (SQLite's write
lock is never held for long), and on PostgreSQL each table's id sequence is moved past the
rows written, so the app's own inserts that follow do not collide. Nobody arranged here
can log in with a password (their hash is "-"): `session_for` gives a session cookie.
"""

from __future__ import annotations

import datetime as dt
import random
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from mentor_app.models import (
    CheckIn,
    ConversationRead,
    Enrollment,
    Group,
    Membership,
    Message,
    Pair,
    Program,
    Report,
    User,
    utcnow,
)
from mentor_app.program_templates import get_template

ROWS_PER_INSERT = 5_000
TEMPLATE = "career_advancement"  # its questions are the ones bench/matching.py answers
ADULT = dt.date(1990, 1, 1)


def _table(model: type[SQLModel]) -> Any:
    return model.__table__  # type: ignore[attr-defined]


@dataclass
class Bulk:
    """Writes rows in chunks, each its own transaction; hands out ids after the highest."""

    engine: Engine
    rows_written: int = 0
    _next: dict[str, int] = field(default_factory=dict)

    def ids(self, model: type[SQLModel], count: int) -> list[int]:
        table = _table(model)
        if table.name not in self._next:
            with self.engine.connect() as conn:
                self._next[table.name] = (
                    int(conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one())
                    + 1
                )
        first = self._next[table.name]
        self._next[table.name] = first + count
        return list(range(first, first + count))

    def insert(self, model: type[SQLModel], rows: Sequence[dict[str, Any]]) -> None:
        table = _table(model)
        for start in range(0, len(rows), ROWS_PER_INSERT):
            with self.engine.begin() as conn:
                conn.execute(insert(table), list(rows[start : start + ROWS_PER_INSERT]))
        self.rows_written += len(rows)
        if self.engine.dialect.name == "postgresql" and rows and "id" in rows[0]:
            with self.engine.begin() as conn:
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f"(SELECT max(id) FROM {table.name}))"
                    )
                )


# --- people, groups, programs -----------------------------------------------------------------


def people(
    bulk: Bulk,
    names: Sequence[str],
    *,
    tag: str,
    timezones: Sequence[str] = ("UTC",),
    created: dt.datetime | None = None,
) -> list[int]:
    """One member per display name (e-mail `<tag>.<n>@bench.example`); their ids. Time
    zones go round `timezones`, all known (as if each browser had reported its own)."""
    ids = bulk.ids(User, len(names))
    created = created or utcnow() - dt.timedelta(days=90)
    bulk.insert(
        User,
        [
            {
                "id": uid,
                "email": f"{tag}.{n}@bench.example",
                "display_name": name,
                "password_hash": "-",
                "date_of_birth": ADULT,
                "status": "active",
                "is_site_moderator": False,
                "timezone": timezones[n % len(timezones)],
                "timezone_known": True,
                "created_at": created,
            }
            for n, (uid, name) in enumerate(zip(ids, names, strict=True))
        ],
    )
    return ids


def group(
    bulk: Bulk,
    name: str,
    *,
    admins: Sequence[int],
    members: Iterable[int] = (),
    category: str = "professional",
) -> int:
    (group_id,) = bulk.ids(Group, 1)
    created = utcnow() - dt.timedelta(days=120)
    bulk.insert(
        Group,
        [
            {
                "id": group_id,
                "name": name,
                "description": "Arranged by a bench.",
                "category": category,
                "is_open": True,
                "created_by": admins[0],
                "created_at": created,
            }
        ],
    )
    roles = dict.fromkeys(members, "member") | dict.fromkeys(admins, "admin")
    ids = bulk.ids(Membership, len(roles))
    bulk.insert(
        Membership,
        [
            {"id": mid, "group_id": group_id, "user_id": uid, "role": role, "joined_at": created}
            for mid, (uid, role) in zip(ids, roles.items(), strict=True)
        ],
    )
    return group_id


def program(
    bulk: Bulk,
    *,
    group_id: int,
    admin_id: int,
    title: str,
    status: str,
    start_date: dt.date,
    mentor_capacity_max: int = 5,
) -> int:
    template = get_template(TEMPLATE)
    (program_id,) = bulk.ids(Program, 1)
    created = utcnow() - dt.timedelta(days=60)
    bulk.insert(
        Program,
        [
            {
                "id": program_id,
                "group_id": group_id,
                "template_key": template.key,
                "title": title,
                "description": "Arranged by a bench.",
                "start_date": start_date,
                "length_weeks": len(template.journey),
                "mentor_capacity_max": mentor_capacity_max,
                "status": status,
                "wizard_step": 5,
                "questions": list(template.questions),
                "journey": list(template.journey),
                "created_by": admin_id,
                "created_at": created,
                "published_at": created,
            }
        ],
    )
    return program_id


def _enrollment(
    eid: int, program_id: int, uid: int, role: str, answers: dict[str, Any], capacity: int | None
) -> dict[str, Any]:
    created = utcnow() - dt.timedelta(days=30)
    return {
        "id": eid,
        "program_id": program_id,
        "user_id": uid,
        "role": role,
        "capacity": capacity,
        "answers": answers,
        "status": "active",
        "share_answers": True,
        "rematch_priority": False,
        "created_at": created,
        "updated_at": created,
    }


# --- what the benches need --------------------------------------------------------------------


@dataclass(frozen=True)
class Cohort:
    """A program open for pairing, its applicants all waiting."""

    group_id: int
    program_id: int
    mentees: int
    mentors: int


def waiting_cohort(
    bulk: Bulk,
    *,
    admin_id: int,
    mentees: int,
    mentors: int,
    tag: str,
    title: str,
    seed: int = 1,
) -> Cohort:
    """`mentees` and `mentors` applications to a new open program of a new group, all
    waiting, answered as bench/matching.py answers (mentors take 1 to 5 mentees). Mentees
    are named "Waiting mentee 0001", mentors "Waiting mentor 0001"."""
    from bench.matching import person

    rng = random.Random(seed)
    questions = list(get_template(TEMPLATE).questions)
    names = [f"Waiting mentee {i + 1:04d}" for i in range(mentees)] + [
        f"Waiting mentor {j + 1:04d}" for j in range(mentors)
    ]
    uids = people(bulk, names, tag=tag)
    group_id = group(bulk, f"{title} circle", admins=[admin_id], members=uids)
    program_id = program(
        bulk,
        group_id=group_id,
        admin_id=admin_id,
        title=title,
        status="open",
        start_date=utcnow().date() + dt.timedelta(days=7),
    )
    eids = bulk.ids(Enrollment, len(uids))
    rows = []
    for k, (eid, uid) in enumerate(zip(eids, uids, strict=True)):
        role = "mentee" if k < mentees else "mentor"
        capacity = rng.randint(1, 5) if role == "mentor" else None
        rows.append(_enrollment(eid, program_id, uid, role, person(rng, role, questions), capacity))
    bulk.insert(Enrollment, rows)
    return Cohort(group_id, program_id, mentees, mentors)


@dataclass(frozen=True)
class PairIds:
    id: int
    mentor_id: int
    mentee_id: int


@dataclass(frozen=True)
class Paired:
    """A program with active pairs."""

    group_id: int
    program_id: int
    pairs: list[PairIds]


def daytime_zones(now: dt.datetime, hours: Sequence[int] = (10, 12, 14, 16, 18)) -> list[str]:
    """Fixed-offset IANA zones whose wall clock shows each of `hours` at `now`: nudges are
    due in every one of them whenever the bench runs."""
    zones = []
    for hour in hours:
        offset = ((hour - now.astimezone(dt.UTC).hour + 12) % 24) - 12  # -12 .. +11
        zones.append(
            "Etc/GMT" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"
        )
    return zones


def active_pairs(
    bulk: Bulk,
    *,
    admin_ids: Sequence[int],
    pairs: int,
    tag: str,
    title: str,
    now: dt.datetime | None = None,
    timezones: Sequence[str] = ("UTC",),
) -> Paired:
    """`pairs` active pairs of new members in a new active program of a new group, as
    bench/nudges.py arranges them: every pair is on day 5 to 7 of its third week in its
    members' zone; both checked in last week and a fifth of the mentees this week too; 5%
    are one-sided (the mentor wrote three days ago, the mentee has said nothing for 12
    days; they read it, so no away notice is due). Members are named "Paired mentor
    00001" and "Paired mentee 00001"."""
    now = now or utcnow()
    names = []
    for i in range(pairs):
        names += [f"Paired mentor {i + 1:05d}", f"Paired mentee {i + 1:05d}"]
    uids = people(bulk, names, tag=tag, timezones=[z for z in timezones for _ in (0, 1)])
    group_id = group(bulk, f"{title} circle", admins=admin_ids, members=uids)
    program_id = program(
        bulk,
        group_id=group_id,
        admin_id=admin_ids[0],
        title=title,
        status="active",
        start_date=(now - dt.timedelta(days=30)).date(),
        mentor_capacity_max=1,
    )
    eids = bulk.ids(Enrollment, len(uids))
    bulk.insert(
        Enrollment,
        [
            _enrollment(eid, program_id, uid, role, {}, 1 if role == "mentor" else None)
            for k, (eid, uid) in enumerate(zip(eids, uids, strict=True))
            for role in ["mentor" if k % 2 == 0 else "mentee"]
        ],
    )
    pair_ids = bulk.ids(Pair, pairs)
    rows, check_ins, messages, reads, made = [], [], [], [], []
    for i, pid in enumerate(pair_ids):
        mentor, mentee = uids[2 * i], uids[2 * i + 1]
        zone = zoneinfo.ZoneInfo(timezones[i % len(timezones)])
        today = now.astimezone(zone).date()
        published = now - dt.timedelta(days=20)
        one_sided = i % 20 == 7
        if one_sided:
            published = now - dt.timedelta(days=12)
            said = now - dt.timedelta(days=3)
            messages.append(
                {
                    "pair_id": pid,
                    "sender_id": mentor,
                    "client_id": f"bulk-{pid}",
                    "body": "Hello, how is it going?",
                    "created_at": said,
                }
            )
            reads.append({"pair_id": pid, "user_id": mentee, "read_at": said, "noticed_at": None})
        else:
            weeks = [(mentor, 2), (mentee, 2)] + ([(mentee, 3)] if i % 5 == 0 else [])
            for user_id, week in weeks:
                at = now - dt.timedelta(days=8 if week == 2 else 0, hours=5)
                check_ins.append(
                    {
                        "pair_id": pid,
                        "user_id": user_id,
                        "week": week,
                        "mood": 4,
                        "met": True,
                        "note": "",
                        "created_at": at,
                        "updated_at": at,
                    }
                )
        rows.append(
            {
                "id": pid,
                "program_id": program_id,
                "mentor_enrollment_id": eids[2 * i],
                "mentee_enrollment_id": eids[2 * i + 1],
                "mentor_id": mentor,
                "mentee_id": mentee,
                "status": "active",
                "mentor_seat": 1,
                "live_mentee_enrollment_id": eids[2 * i + 1],
                "score": 50,
                "factors": [],
                "created_by": admin_ids[0],
                "created_at": published,
                "published_at": published,
                "start_date": today - dt.timedelta(days=14 + 4 + i % 3),  # days 5..7, week 3
                "end_detail": "",
                "paused": False,
            }
        )
        made.append(PairIds(pid, mentor, mentee))
    bulk.insert(Pair, rows)
    bulk.insert(CheckIn, check_ins)
    bulk.insert(Message, messages)
    bulk.insert(ConversationRead, reads)
    return Paired(group_id, program_id, made)


def chat_history(
    bulk: Bulk, pair: PairIds, messages: int, *, now: dt.datetime | None = None
) -> None:
    """`messages` messages in the pair's chat, the two members in turn, one a minute, the
    last a week ago; bodies "Bench message 00001 …"."""
    now = now or utcnow()
    first = now - dt.timedelta(days=7, minutes=messages)
    bulk.insert(
        Message,
        [
            {
                "pair_id": pair.id,
                "sender_id": pair.mentor_id if i % 2 == 0 else pair.mentee_id,
                "client_id": f"bulk-{pair.id}-{i:06d}",
                "body": f"Bench message {i + 1:05d}: how did this week's step go for you?",
                "created_at": first + dt.timedelta(minutes=i),
            }
            for i in range(messages)
        ],
    )


def reports(bulk: Bulk, about: Sequence[PairIds], count: int) -> None:
    """`count` open reports, each from a pair's mentee about its mentor (going round
    `about`), with one message of evidence."""
    categories = ["harassment", "inappropriate", "spam", "safety", "other"]
    start = utcnow() - dt.timedelta(days=10)
    rows = []
    for i in range(count):
        pair = about[i % len(about)]
        at = start + dt.timedelta(seconds=30 * i)
        rows.append(
            {
                "pair_id": pair.id,
                "reporter_id": pair.mentee_id,
                "reported_id": pair.mentor_id,
                "category": categories[i % len(categories)],
                "details": f"Bench report {i + 1:05d}.",
                "evidence": [
                    {
                        "message_id": None,
                        "sender_id": pair.mentor_id,
                        "sender_name": "",
                        "body": "A message someone did not like.",
                        "created_at": at.isoformat(),
                    }
                ],
                "status": "open",
                "created_at": at,
                "updated_at": at,
            }
        )
    bulk.insert(Report, rows)


def member_of_groups(
    bulk: Bulk, member_id: int, *, groups: int, admin_id: int, others: Sequence[int]
) -> list[int]:
    """`groups` new open groups ("Joined group 001" …) with `member_id` in each, their
    admin `admin_id` and `others` as the rest of their members."""
    categories = ["professional", "parenting", "personal_development", "other"]
    return [
        group(
            bulk,
            f"Joined group {g + 1:03d}",
            admins=[admin_id],
            members=[member_id, *others],
            category=categories[g % len(categories)],
        )
        for g in range(groups)
    ]


def site_moderator(bulk: Bulk, *, tag: str, name: str = "Bench moderator") -> int:
    (uid,) = people(bulk, [name], tag=tag)
    with bulk.engine.begin() as conn:
        conn.execute(
            _table(User).update().where(_table(User).c.id == uid).values(is_site_moderator=True)
        )
    return uid


def session_for(engine: Engine, user_id: int) -> str:
    """A live session of `user_id`: the raw token, the value of its session cookie."""
    from mentor_app.services import sessions

    with Session(engine, expire_on_commit=False) as db:
        user = db.get(User, user_id)
        assert user is not None
        token = sessions.create_session(db, user=user)
        db.commit()
    return token
