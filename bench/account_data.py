"""How long "Download my data" and "Delete my account" take for a member with 10,000
messages (issue 17 asks for under a minute each).

Run `python -m bench.account_data` (`--messages N` for another size, `--database-url URL` for
an empty PostgreSQL database instead of a temporary SQLite file). The pair is made through
the services (tests/factories.py); the member's messages, as many of the partner's,
notifications and e-mails are then written with bulk INSERTs. The last line printed is one
JSON object.
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
from sqlmodel import Session

from bench import stop_cleanly_on_sigterm
from mentor_app import migrations
from mentor_app.db import make_engine, read_scope, session_scope
from mentor_app.models import EmailOutbox, Message, Notification, User
from mentor_app.services import account_data, sessions
from tests.factories import PASSWORD, make_pair

ROWS_PER_INSERT = 5_000


def _bulk(db: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), ROWS_PER_INSERT):
        db.execute(insert(model), rows[start : start + ROWS_PER_INSERT])


def build(db: Session, messages: int) -> tuple[int, int]:
    """A pair; the mentee (the member) wrote `messages`, the mentor as many. Returns the
    member's and the partner's ids."""
    setup = make_pair(db)
    me, partner, pair_id = setup.mentee.id or 0, setup.mentor.id or 0, setup.pair.id or 0
    start = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
    rows = []
    for i in range(messages):
        for sender in (me, partner):
            rows.append(
                {
                    "pair_id": pair_id,
                    "sender_id": sender,
                    "client_id": f"bench{sender}x{i:08d}",
                    "body": f"Message {i} from {sender}: " + "lorem ipsum dolor sit amet " * 4,
                    "created_at": start + dt.timedelta(minutes=i),
                }
            )
    _bulk(db, Message, rows)
    _bulk(
        db,
        Notification,
        [
            {"user_id": me, "kind": "nudge", "text": f"Nudge {i}", "link": f"/pairs/{pair_id}"}
            for i in range(messages // 10)
        ],
    )
    _bulk(
        db,
        EmailOutbox,
        [
            {"to_address": setup.mentee.email, "subject": f"Nudge {i}", "body": "Hello"}
            for i in range(messages // 20)
        ],
    )
    for _ in range(3):
        sessions.create_session(db, user=setup.mentee)
    return me, partner


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description="Time the data download and account deletion.")
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'bench.db'}"
        engine = make_engine(url)
        migrations.upgrade(engine)
        began = time.perf_counter()
        with session_scope(engine) as db:
            me, partner = build(db, args.messages)
        print(
            f"built a member with {args.messages} messages in {time.perf_counter() - began:.1f} s"
        )

        with read_scope(engine) as db:
            member = db.get(User, me)
            assert member is not None
            began = time.perf_counter()
            document = account_data.export_json(db, actor=member)
            export_s = time.perf_counter() - began
        data = json.loads(document)
        own = sum(1 for m in data["pairs"][0]["messages"] if "you wrote" in m)
        theirs = sum(1 for m in data["pairs"][0]["messages"] if "partner wrote" in m)
        print(
            f"download: {len(document) / 1e6:.1f} MB, {own} own messages, {theirs} partner "
            f"times, in {export_s:.2f} s"
        )

        began = time.perf_counter()
        with session_scope(engine) as db:
            member = db.get(User, me)
            assert member is not None
            account_data.delete_account(db, actor=member, password=PASSWORD)
        delete_s = time.perf_counter() - began
        with read_scope(engine) as db:
            left = db.execute(
                select(func.count()).select_from(Message).where(Message.sender_id == me)
            ).scalar_one()
            kept = db.execute(
                select(func.count()).select_from(Message).where(Message.sender_id == partner)
            ).scalar_one()
        print(f"delete: {left} own messages left, {kept} partner's kept, in {delete_s:.2f} s")
        engine.dispose()

    result = {
        "messages": args.messages,
        "engine": url.split(":", 1)[0],
        "export_s": round(export_s, 3),
        "export_bytes": len(document),
        "delete_s": round(delete_s, 3),
        "own_messages_left": left,
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    stop_cleanly_on_sigterm()
    main()
