"""Signed-in browsers: tokens, rotation, logout and the two lifetimes."""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from mentor_app.db import read_scope
from mentor_app.models import UserSession
from mentor_app.services import sessions
from tests.factories import make_user

NOW = dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.UTC)


def test_new_session_signs_the_user_in(db: Session) -> None:
    user = make_user(db)
    token = sessions.create_session(db, user=user, now=NOW)
    resolved = sessions.resolve_session(db, token=token, now=NOW)
    assert resolved is not None and resolved.id == user.id


def test_raw_token_is_never_stored(db: Session) -> None:
    user = make_user(db)
    token = sessions.create_session(db, user=user, now=NOW)
    rows = db.exec(select(UserSession)).all()
    assert len(rows) == 1
    assert rows[0].token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in repr(rows[0].model_dump())


def test_empty_or_unknown_token_signs_nobody_in(db: Session) -> None:
    make_user(db)
    assert sessions.resolve_session(db, token=None, now=NOW) is None
    assert sessions.resolve_session(db, token="", now=NOW) is None
    assert sessions.resolve_session(db, token="made-up-token", now=NOW) is None


def test_logging_in_again_kills_the_old_token(db: Session) -> None:
    user = make_user(db)
    old = sessions.create_session(db, user=user, now=NOW)
    new = sessions.rotate_session(db, old_token=old, user=user, now=NOW)
    assert new != old
    assert sessions.resolve_session(db, token=old, now=NOW) is None
    assert sessions.resolve_session(db, token=new, now=NOW) is not None


def test_logout_kills_the_session(db: Session) -> None:
    user = make_user(db)
    token = sessions.create_session(db, user=user, now=NOW)
    sessions.end_session(db, token=token)
    assert sessions.resolve_session(db, token=token, now=NOW) is None
    assert db.exec(select(UserSession)).all() == []


def test_log_out_everywhere_kills_every_browser_of_that_user_only(db: Session) -> None:
    user, other = make_user(db), make_user(db)
    first = sessions.create_session(db, user=user, now=NOW)
    second = sessions.create_session(db, user=user, now=NOW)
    theirs = sessions.create_session(db, user=other, now=NOW)
    assert user.id is not None
    sessions.end_all_sessions(db, user_id=user.id)
    assert sessions.resolve_session(db, token=first, now=NOW) is None
    assert sessions.resolve_session(db, token=second, now=NOW) is None
    assert sessions.resolve_session(db, token=theirs, now=NOW) is not None


def test_session_unused_for_15_days_has_expired(db: Session) -> None:
    user = make_user(db)
    token = sessions.create_session(db, user=user, now=NOW)
    assert sessions.resolve_session(db, token=token, now=NOW + dt.timedelta(days=15)) is None
    assert db.exec(select(UserSession)).all() == []


def test_session_used_within_13_days_is_still_alive(db: Session) -> None:
    user = make_user(db)
    token = sessions.create_session(db, user=user, now=NOW)
    assert sessions.resolve_session(db, token=token, now=NOW + dt.timedelta(days=13)) is not None


def test_session_ends_after_30_days_even_if_used_daily(db: Session) -> None:
    user = make_user(db)
    token = sessions.create_session(db, user=user, now=NOW)
    for day in range(1, 30):
        when = NOW + dt.timedelta(days=day)
        assert sessions.resolve_session(db, token=token, now=when) is not None
    assert sessions.resolve_session(db, token=token, now=NOW + dt.timedelta(days=31)) is None


def test_suspended_users_session_signs_nobody_in(db: Session) -> None:
    user = make_user(db)
    token = sessions.create_session(db, user=user, now=NOW)
    user.status = "suspended"
    db.add(user)
    db.commit()
    assert sessions.resolve_session(db, token=token, now=NOW) is None


def test_last_seen_is_written_at_most_once_a_minute(db: Session) -> None:
    user = make_user(db)
    token = sessions.create_session(db, user=user, now=NOW)
    row = db.exec(select(UserSession)).one()

    sessions.resolve_session(db, token=token, now=NOW + dt.timedelta(seconds=30))
    assert row.last_seen_at == NOW
    assert not db.dirty

    sessions.resolve_session(db, token=token, now=NOW + dt.timedelta(seconds=61))
    assert row.last_seen_at == NOW + dt.timedelta(seconds=61)


def test_a_read_only_look_signs_in_a_fresh_session_and_leaves_every_write_to_resolve(
    db: Session, engine: Engine
) -> None:
    user = make_user(db)
    token = sessions.create_session(db, user=user, now=NOW)
    db.commit()
    with read_scope(engine) as reader:
        seen, stale = sessions.peek_session(reader, token=token, now=NOW + dt.timedelta(seconds=30))
        assert (seen.id if seen else None, stale) == (user.id, False)
        # Due a touch, idle too long, unknown: nothing is written here, the caller is told.
        assert sessions.peek_session(reader, token=token, now=NOW + dt.timedelta(minutes=2)) == (
            None,
            True,
        )
        assert sessions.peek_session(reader, token=token, now=NOW + dt.timedelta(days=15)) == (
            None,
            True,
        )
        assert sessions.peek_session(reader, token="no-such-token", now=NOW) == (None, False)
        assert sessions.peek_session(reader, token=None, now=NOW) == (None, False)

    user.status = "suspended"
    db.add(user)
    db.commit()
    with read_scope(engine) as reader:
        assert sessions.peek_session(reader, token=token, now=NOW) == (None, True)
    assert db.exec(select(UserSession)).one().last_seen_at == NOW  # nothing was written
