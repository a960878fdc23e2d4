"""How long the nudge job takes on 100,000 active pairs, and that a second run makes nothing.

Run `python -m bench.nudges` (`--pairs N` for another size). The pairs are written straight
into a temporary, migrated SQLite database with bulk INSERTs (not through the services);
then the job runs twice at the same moment. The last line printed is one JSON object.

The cohort: pairs spread over days 4 to 7 of their third week and six time zones (one of
them at night when the job runs); both members checked in last week and a fifth of the
mentees this week too; 5% of pairs are one-sided for 12 days and 1% for 25 days (their
admins are told).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Engine

from bench import stop_cleanly_on_sigterm
from mentor_app import migrations
from mentor_app.db import make_engine
from mentor_app.models import (
    CheckIn,
    EmailOutbox,
    Enrollment,
    Group,
    Membership,
    Message,
    Notification,
    Nudge,
    Pair,
    Program,
    User,
)
from mentor_app.program_templates import get_template
from mentor_app.services import notifications
from mentor_app.services.nudges import NudgeRules, run_nudges

NOW = dt.datetime(2026, 3, 12, 14, 0, tzinfo=dt.UTC)
# At 14:00 UTC all of these are in daytime but Tokyo (23:00).
TIMEZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Asia/Kolkata",
    "America/Sao_Paulo",
    "Asia/Tokyo",
]
ROWS_PER_INSERT = 20_000


def _table(model: Any) -> Any:
    return model.__table__


def _insert(engine: Engine, model: Any, rows: list[dict[str, Any]]) -> None:
    with engine.begin() as conn:
        for i in range(0, len(rows), ROWS_PER_INSERT):
            conn.execute(insert(_table(model)), rows[i : i + ROWS_PER_INSERT])


def build(engine: Engine, pairs: int) -> None:
    """One group and program, `pairs` active pairs of two new members each."""
    template = get_template("career_advancement")
    created = NOW - dt.timedelta(days=60)
    person = {
        "password_hash": "-",
        "date_of_birth": dt.date(1990, 1, 1),
        "status": "active",
        "is_site_moderator": False,
        "created_at": created,
    }
    users = [{"id": 1, "email": "admin@bench.example", "display_name": "Ada", "timezone": "UTC"}]
    for i in range(pairs):
        zone = TIMEZONES[i % len(TIMEZONES)]
        for j, role in ((2 * i + 2, "mentor"), (2 * i + 3, "mentee")):
            users.append(
                {
                    "id": j,
                    "email": f"{role}{i}@bench.example",
                    "display_name": f"{role.title()} {i}",
                    "timezone": zone,
                }
            )
    _insert(engine, User, [u | person for u in users])
    _insert(
        engine,
        Group,
        [
            {
                "id": 1,
                "name": "Bench circle",
                "description": "",
                "category": "professional",
                "is_open": True,
                "created_by": 1,
                "created_at": created,
            }
        ],
    )
    _insert(
        engine,
        Membership,
        [{"id": 1, "group_id": 1, "user_id": 1, "role": "admin", "joined_at": created}],
    )
    _insert(
        engine,
        Program,
        [
            {
                "id": 1,
                "group_id": 1,
                "template_key": template.key,
                "title": "Bench mentoring",
                "description": "",
                "start_date": (NOW - dt.timedelta(days=30)).date(),
                "length_weeks": len(template.journey),
                "mentor_capacity_max": 1,
                "status": "active",
                "wizard_step": 5,
                "questions": [],
                "journey": list(template.journey),
                "created_by": 1,
                "created_at": created,
                "published_at": created,
            }
        ],
    )
    enrollment = {
        "program_id": 1,
        "answers": {},
        "status": "active",
        "share_answers": True,
        "rematch_priority": False,
        "created_at": created,
        "updated_at": created,
    }
    _insert(
        engine,
        Enrollment,
        [
            {"id": uid, "user_id": uid, "role": role, "capacity": 1 if role == "mentor" else None}
            | enrollment
            for i in range(pairs)
            for uid, role in ((2 * i + 2, "mentor"), (2 * i + 3, "mentee"))
        ],
    )
    pair_rows, check_ins, messages = [], [], []
    for i in range(pairs):
        mentor, mentee, pid = 2 * i + 2, 2 * i + 3, i + 1
        start = (NOW - dt.timedelta(days=17 + i % 4)).date()  # days 4..7 of week 3
        published = NOW - dt.timedelta(days=20)
        if i % 20 == 7:  # one-sided: the mentor writes, the mentee has been silent 12 days
            published = NOW - dt.timedelta(days=12)
        elif i % 100 == 13:  # one-sided for 25 days: the admins are told
            published = NOW - dt.timedelta(days=25)
        if i % 20 == 7 or i % 100 == 13:
            messages.append(
                {
                    "pair_id": pid,
                    "sender_id": mentor,
                    "client_id": f"bench-{pid}",
                    "body": "Hello, how is it going?",
                    "created_at": NOW - dt.timedelta(days=1),
                }
            )
        else:  # both checked in last week; a fifth of the mentees already this week too
            weeks = [(mentor, 2), (mentee, 2)] + ([(mentee, 3)] if i % 5 == 0 else [])
            for user_id, week in weeks:
                at = NOW - dt.timedelta(days=8 if week == 2 else 0, hours=5)
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
        pair_rows.append(
            {
                "id": pid,
                "program_id": 1,
                "mentor_enrollment_id": mentor,
                "mentee_enrollment_id": mentee,
                "mentor_id": mentor,
                "mentee_id": mentee,
                "status": "active",
                "mentor_seat": 1,
                "live_mentee_enrollment_id": mentee,
                "score": 50,
                "factors": [],
                "created_by": 1,
                "created_at": published,
                "published_at": published,
                "start_date": start,
                "end_detail": "",
                "paused": False,
            }
        )
    _insert(engine, Pair, pair_rows)
    _insert(engine, CheckIn, check_ins)
    _insert(engine, Message, messages)


def _time_outbox_hook() -> list[float]:
    """Time spent in the e-mail outbox's hook (when there is one), which the job calls in
    each chunk's transaction: the figures then say whose part is whose."""
    spent = [0.0]
    hook = getattr(notifications, "after_bulk_notify", None)
    if callable(hook):

        def timed(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return hook(*args, **kwargs)
            finally:
                spent[0] += time.perf_counter() - began

        notifications.after_bulk_notify = timed  # type: ignore[attr-defined]
    return spent


def _count(engine: Engine, query: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description="Time the nudge job on many active pairs.")
    parser.add_argument("--pairs", type=int, default=100_000)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
        migrations.upgrade(engine)
        began = time.perf_counter()
        build(engine, args.pairs)
        setup_s = time.perf_counter() - began
        print(f"built {args.pairs} active pairs in {setup_s:.1f} s")

        rules = NudgeRules()
        hook_s = _time_outbox_hook()
        began = time.perf_counter()
        first = run_nudges(engine, now=NOW, rules=rules)
        first_s = time.perf_counter() - began
        print(
            f"first run: {first.created} nudges ({first.weekly} weekly, {first.one_sided} "
            f"one-sided, {first.admin_alerts} admin alerts) in {first_s:.2f} s, "
            f"{first.chunks} chunks"
        )
        print(f"  of which {hook_s[0]:.2f} s in the outbox's after_bulk_notify (e-mails)")
        began = time.perf_counter()
        second = run_nudges(engine, now=NOW, rules=rules)
        second_s = time.perf_counter() - began
        print(f"second run: {second.created} nudges in {second_s:.2f} s")

        nudge = _table(Nudge)
        keys = select(nudge.c.pair_id, nudge.c.user_id, nudge.c.week, nudge.c.kind).distinct()
        rows = _count(engine, select(func.count()).select_from(nudge))
        duplicates = rows - _count(engine, select(func.count()).select_from(keys.subquery()))
        unlinked = _count(
            engine, select(func.count()).select_from(nudge).where(nudge.c.notification_id.is_(None))
        )
        notes = _count(engine, select(func.count()).select_from(_table(Notification)))
        emails = _count(engine, select(func.count()).select_from(_table(EmailOutbox)))
        engine.dispose()
    print(f"{rows} nudge rows, {notes} notifications, {emails} e-mails queued by the outbox hook")

    figures = {
        "pairs": args.pairs,
        "first_run_s": round(first_s, 3),
        "second_run_s": round(second_s, 3),
        "nudges_created": first.created,
        "duplicates": duplicates,
        "second_run_created": second.created,
        "nudges_without_notification": unlinked,
        "one_sided": first.one_sided,
        "admin_alerts": first.admin_alerts,
        "emails_queued": emails,
        "first_run_outbox_hook_s": round(hook_s[0], 3),
        "setup_s": round(setup_s, 1),
    }
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    stop_cleanly_on_sigterm()
    main()
