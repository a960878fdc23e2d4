"""Signed-in browsers: opaque random tokens, stored only as their SHA-256."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from sqlalchemy import bindparam
from sqlmodel import Session, col, delete, select, update

from mentor_app.db import SelectOnly
from mentor_app.models import User, UserSession, utcnow

ABSOLUTE_LIFETIME = dt.timedelta(days=30)
IDLE_LIFETIME = dt.timedelta(days=14)
# Refresh last_seen_at at most this often, so reading a page is not a write each event.
TOUCH_INTERVAL = dt.timedelta(minutes=1)
# token_urlsafe(32) gives 43 characters; anything far longer is not one of ours.
TOKEN_MAX = 256


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def session_key(token: str) -> str:
    """How the database names the session behind a raw token (its hash)."""
    return _hash(token)


def create_session(db: Session, *, user: User, now: dt.datetime | None = None) -> str:
    """Start a session for `user` and return the raw token (shown to the browser once)."""
    if user.id is None:
        raise ValueError("user must be saved before it can sign in")
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    db.add(
        UserSession(
            token_hash=_hash(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + ABSOLUTE_LIFETIME,
        )
    )
    db.flush()
    return token


def rotate_session(
    db: Session, *, old_token: str | None, user: User, now: dt.datetime | None = None
) -> str:
    """End the browser's previous session, if any, and start a new one (at log-in)."""
    if old_token:
        end_session(db, token=old_token)
    return create_session(db, user=user, now=now)


# It runs on every event: one query, one object, built once (a SQLAlchemy expression and
# its cache key cost more to build than SQLite takes to answer).
_BY_TOKEN = (
    select(User, UserSession.id, UserSession.expires_at, UserSession.last_seen_at)
    .join(UserSession, col(UserSession.user_id) == col(User.id))
    .where(col(UserSession.token_hash) == bindparam("token_hash"))
)


def resolve_session(
    db: Session, *, token: str | None, now: dt.datetime | None = None
) -> User | None:
    """The active user behind this token, or None. Dead sessions are removed."""
    if not token or len(token) > TOKEN_MAX:
        return None
    now = now or utcnow()
    found = db.exec(_BY_TOKEN, params={"token_hash": _hash(token)}).first()
    if found is None:
        return None
    user, session_id, expires_at, last_seen_at = found
    expired = expires_at <= now or now - last_seen_at > IDLE_LIFETIME
    # A suspended user's sessions die too, so lifting a suspension needs a fresh log-in.
    if expired or user.status != "active":
        db.exec(delete(UserSession).where(col(UserSession.id) == session_id))
        db.flush()
        return None
    if now - last_seen_at >= TOUCH_INTERVAL:
        db.exec(
            update(UserSession).where(col(UserSession.id) == session_id).values(last_seen_at=now)
        )
    return user


def peek_session(
    db: Session, *, token: str | None, now: dt.datetime | None = None
) -> tuple[User | None, bool]:
    """The active user behind this token, read without writing: (user, False) when the
    session is live and was touched lately; (None, False) when there is no such session;
    (None, True) when `resolve_session` has something to write first (a dead session to
    remove, or a live one to touch), so the caller resolves it in a write transaction."""
    if not token or len(token) > TOKEN_MAX:
        return None, False
    now = now or utcnow()
    found = db.exec(_BY_TOKEN, params={"token_hash": _hash(token)}).first()
    if found is None:
        return None, False
    user, _session_id, expires_at, last_seen_at = found
    expired = expires_at <= now or now - last_seen_at > IDLE_LIFETIME
    if expired or user.status != "active" or now - last_seen_at >= TOUCH_INTERVAL:
        return None, True
    return user, False


def end_session(db: Session, *, token: str | None) -> None:
    """Log out this browser; unknown or empty tokens are ignored."""
    if not token or len(token) > TOKEN_MAX:
        return
    db.exec(delete(UserSession).where(col(UserSession.token_hash) == _hash(token)))
    db.flush()


def end_all_sessions(db: Session, *, user_id: int) -> int:
    """Log the user out everywhere (suspension, "Log out everywhere"); how many ended."""
    result = db.exec(delete(UserSession).where(col(UserSession.user_id) == user_id))
    db.flush()
    return int(result.rowcount or 0)


def end_other_sessions(db: Session, *, user_id: int, keep_token: str | None) -> int:
    """End every session of the user but the one behind `keep_token` (a password change
    keeps the browser that made it); how many ended. A token that is not one of this
    user's sessions keeps nothing alive."""
    query = delete(UserSession).where(col(UserSession.user_id) == user_id)
    if keep_token and len(keep_token) <= TOKEN_MAX:
        query = query.where(col(UserSession.token_hash) != _hash(keep_token))
    result = db.exec(query)
    db.flush()
    return int(result.rowcount or 0)


def _live_sessions(column: Any) -> Any:
    """`column` of every live session (not ended, expired, idle too long, or its user
    suspended), given the parameters of `_live_params`; read only, no touch, no clean-up."""
    return (
        select(column)
        .join(User, col(User.id) == col(UserSession.user_id))
        .where(
            col(UserSession.expires_at) > bindparam("now"),
            col(UserSession.last_seen_at) > bindparam("idle_since"),
            col(User.status) == "active",
        )
    )


def _live_params(now: dt.datetime | None) -> dict[str, dt.datetime]:
    now = now or utcnow()
    return {"now": now, "idle_since": now - IDLE_LIFETIME}


# The live session behind a token: asked on every event of a tab linked to a shared
# state, so it stays one cheap query. A session is named by its token's hash, its "key":
# unlike a row id (SQLite reuses the highest one once deleted), no later session ever has
# the same, and it says nothing of the token itself.
_LIVE_BY_TOKEN = _live_sessions(UserSession.user_id).where(
    col(UserSession.token_hash) == bindparam("token_hash")
)
# Which of these session keys are live: asked before a shared state's change is sent.
_LIVE_KEYS = _live_sessions(UserSession.token_hash).where(
    col(UserSession.token_hash).in_(bindparam("keys", expanding=True))
)


def live_session(
    db: Session | SelectOnly, *, token: str | None, now: dt.datetime | None = None
) -> tuple[str, int] | None:
    """(session key, user id) of the live session behind this token, or None."""
    if not token or len(token) > TOKEN_MAX:
        return None
    key = _hash(token)
    row = db.execute(_LIVE_BY_TOKEN, {"token_hash": key, **_live_params(now)}).first()
    return None if row is None else (key, int(row[0]))


def live_session_keys(
    db: Session | SelectOnly, *, keys: set[str], now: dt.datetime | None = None
) -> set[str]:
    """Which of these sessions are still live (not ended, expired or suspended)."""
    if not keys:
        return set()
    rows = db.execute(_LIVE_KEYS, {"keys": sorted(keys), **_live_params(now)})
    return {str(r[0]) for r in rows}
