"""The chat's read marks are noted at each send and written together a moment later: one
transaction for the sends of FLUSH_S, the latest send of a member in a pair winning."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from mentor_app import db as app_db
from mentor_app.models import ConversationRead
from mentor_app.services import sessions
from mentor_app.services.access import access_pair
from state import off_loop, read_marks
from tests.factories import make_pair


def test_sends_in_one_moment_are_written_in_one_batch(
    db: Session, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = make_pair(db), make_pair(db)
    partner_tab = sessions.session_key(sessions.create_session(db, user=first.mentee))
    db.commit()
    mentor = access_pair(db, actor=first.mentor, pair_id=first.pair.id or 0)
    mentee = access_pair(db, actor=second.mentee, pair_id=second.pair.id or 0)
    monkeypatch.setattr(app_db, "get_engine", lambda: engine)
    monkeypatch.setattr(read_marks, "FLUSH_S", 0.2)
    batches: list[int] = []
    write = read_marks.write_marks
    monkeypatch.setattr(read_marks, "write_marks", lambda m: (write(m), batches.append(len(m))))

    async def sends() -> None:
        off_loop.serve_here()  # as the app's lifespan does
        read_marks.note_send(mentor, frozenset())
        read_marks.note_send(mentor, frozenset({partner_tab}))  # the partner opened the chat
        read_marks.note_send(mentee, frozenset())
        assert batches == []  # nothing written during the sends
        for _ in range(100):  # until written (a batch is counted once committed)
            if batches:
                break
            await asyncio.sleep(0.05)

    asyncio.run(sends())

    db.expire_all()
    read = {(r.pair_id, r.user_id) for r in db.exec(select(ConversationRead)).all()}
    assert batches == [2]  # one write, one mark per member and pair
    assert read == {
        (first.pair.id, first.mentor.id),
        (first.pair.id, first.mentee.id),  # from the second send's tabs
        (second.pair.id, second.mentee.id),
    }
