"""Small helpers that arrange users, groups and memberships through the services."""

from __future__ import annotations

import datetime as dt
import itertools

from sqlmodel import Session

from mentor_app.models import Group, Membership, User
from mentor_app.services import accounts, groups

TODAY = dt.date(2026, 1, 15)
PASSWORD = "correct horse battery"

_seq = itertools.count(1)


def make_user(
    db: Session,
    *,
    email: str | None = None,
    display_name: str = "Alex",
    password: str = PASSWORD,
    dob: dt.date = dt.date(1990, 1, 1),
) -> User:
    user = accounts.sign_up(
        db,
        email=email or f"person{next(_seq)}@example.com",
        display_name=display_name,
        password=password,
        date_of_birth=dob.isoformat(),
        today=TODAY,
    )
    db.commit()
    return user


def make_group(
    db: Session,
    *,
    admin: User,
    category: str = "professional",
    name: str | None = None,
    description: str = "",
    is_open: bool = True,
) -> Group:
    group = groups.create_group(
        db,
        actor=admin,
        name=name or f"Circle {next(_seq)}",
        description=description,
        category=category,
    )
    if not is_open:
        group.is_open = False
        db.add(group)
    db.commit()
    return group


def add_member(db: Session, group: Group, user: User, role: str = "member") -> Membership:
    assert group.id is not None and user.id is not None
    membership = Membership(group_id=group.id, user_id=user.id, role=role)
    db.add(membership)
    db.commit()
    return membership
