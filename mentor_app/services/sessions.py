"""Signed-in browsers: opaque random tokens, stored only as their SHA-256."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import bindparam
from sqlmodel import Session, col, delete, select, update

from mentor_app.models import User, UserSession, utcnow

ABSOLUTE_LIFETIME = dt.timedelta(days=30)
IDLE_LIFETIME = dt.timedelta(days=14)
# Refresh last_seen_at at most this often, so reading a page is not a write each event.
TOUCH_INTERVAL = dt.timedelta(minutes=1)
# token_urlsafe(32) gives 43 characters; anything far longer is not one of ours.
TOKEN_MAX = 256


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


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


def end_session(db: Session, *, token: str | None) -> None:
    """Log out this browser; unknown or empty tokens are ignored."""
    if not token or len(token) > TOKEN_MAX:
        return
    db.exec(delete(UserSession).where(col(UserSession.token_hash) == _hash(token)))
    db.flush()


def end_all_sessions(db: Session, *, user_id: int) -> None:
    """Log the user out everywhere (password change, suspension)."""
    db.exec(delete(UserSession).where(col(UserSession.user_id) == user_id))
    db.flush()
