"""SQLModel tables shared by services (and, read-only, by states through services).

Datetimes are timezone-aware UTC (`utcnow()`); SQLModel's UTCDateTime stores them
the same way on SQLite and PostgreSQL and refuses naive values.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class User(SQLModel, table=True):
    __tablename__ = "app_user"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True, index=True)
    display_name: str = Field(max_length=80)
    password_hash: str = Field(max_length=255)
    date_of_birth: dt.date
    status: str = Field(default="active", max_length=16)  # active | suspended
    is_site_moderator: bool = Field(default=False)
    created_at: dt.datetime = Field(default_factory=utcnow)


class UserSession(SQLModel, table=True):
    """A signed-in browser. Only the SHA-256 of the token is stored."""

    __tablename__ = "user_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    user_id: int = Field(foreign_key="app_user.id", index=True, ondelete="CASCADE")
    created_at: dt.datetime = Field(default_factory=utcnow)
    last_seen_at: dt.datetime = Field(default_factory=utcnow)
    expires_at: dt.datetime


class LoginThrottle(SQLModel, table=True):
    """Failed logins per normalised e-mail, known or not, so throttling reveals nothing."""

    __tablename__ = "login_throttle"

    email: str = Field(primary_key=True, max_length=254)
    failure_count: int = Field(default=0)
    last_failure_at: dt.datetime | None = None
    locked_until: dt.datetime | None = None


class Group(SQLModel, table=True):
    __tablename__ = "community_group"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    description: str = Field(default="", max_length=2000)
    category: str = Field(max_length=32)  # parenting | professional | personal_development | other
    is_open: bool = Field(default=True)
    created_by: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
    created_at: dt.datetime = Field(default_factory=utcnow)


class Membership(SQLModel, table=True):
    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("group_id", "user_id", name="uq_membership_group_user"),)

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="community_group.id", index=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="app_user.id", index=True, ondelete="CASCADE")
    role: str = Field(default="member", max_length=16)  # admin | moderator | member
    joined_at: dt.datetime = Field(default_factory=utcnow)


class AuditLog(SQLModel, table=True):
    """Append-only record of admin, moderation and security-relevant actions."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = Field(default_factory=utcnow, index=True)
    actor_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
    action: str = Field(max_length=64, index=True)
    target_type: str | None = Field(default=None, max_length=32)
    target_id: int | None = None
    detail: str = Field(default="", max_length=2000)
