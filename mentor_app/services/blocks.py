"""Blocks between members: a blocked pair of people is never paired or suggested.

The block button itself comes with the chat; the table and the check exist from the
pairing workspace on, so nothing built before it can pair two people who blocked.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, or_
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from mentor_app.models import Block, Pair, User
from mentor_app.services import groups
from mentor_app.services.errors import ValidationError


def block_member(db: Session, *, actor: User, blocked_id: int) -> Block:
    """Block another member; blocking twice is the same block."""
    actor_id = groups.acting_user_id(actor)
    if blocked_id == actor_id:
        raise ValidationError("You can't block yourself.", field="blocked_id")
    existing = db.exec(
        select(Block).where(Block.blocker_id == actor_id, Block.blocked_id == blocked_id)
    ).first()
    if existing is not None:
        return existing
    block = Block(blocker_id=actor_id, blocked_id=blocked_id)
    try:
        with db.begin_nested():
            db.add(block)
    except IntegrityError:  # a double click racing this one
        return db.exec(
            select(Block).where(Block.blocker_id == actor_id, Block.blocked_id == blocked_id)
        ).one()
    return block


def is_blocked(db: Session, user_a: int, user_b: int) -> bool:
    """Whether either of the two has blocked the other."""
    return (
        db.exec(
            select(Block.id).where(
                or_(
                    (col(Block.blocker_id) == user_a) & (col(Block.blocked_id) == user_b),
                    (col(Block.blocker_id) == user_b) & (col(Block.blocked_id) == user_a),
                )
            )
        ).first()
        is not None
    )


def blocked_pairs(db: Session, user_ids: Iterable[int]) -> set[tuple[int, int]]:
    """Every (a, b) among these people where a block stands between them, both ways round."""
    ids = list(set(user_ids))
    if not ids:
        return set()
    rows = db.exec(
        select(Block.blocker_id, Block.blocked_id).where(
            col(Block.blocker_id).in_(ids), col(Block.blocked_id).in_(ids)
        )
    ).all()
    return {(a, b) for a, b in rows} | {(b, a) for a, b in rows}


def blocked_pairs_among(db: Session, members: Any) -> set[tuple[int, int]]:
    """`blocked_pairs` for the people a subquery selects (a program's applicants, `members`
    a SELECT of user ids): no list of thousands of ids to build into the statement (a
    2,500-person cohort's took 4 ms to compile, and SQLite refuses over 32,766)."""
    rows = db.exec(
        select(Block.blocker_id, Block.blocked_id).where(
            col(Block.blocker_id).in_(members), col(Block.blocked_id).in_(members)
        )
    ).all()
    return {(a, b) for a, b in rows} | {(b, a) for a, b in rows}


def between_pair_members() -> ColumnElement[bool]:
    """For a Core SELECT over `mentor_pair`: a block stands between the pair's two members,
    either way (the scheduled jobs read pairs in bulk, without the ORM)."""
    block, pair = Block.__table__, Pair.__table__  # type: ignore[attr-defined]
    return (
        sa_select(block.c.id)
        .where(
            or_(
                and_(
                    block.c.blocker_id == pair.c.mentor_id, block.c.blocked_id == pair.c.mentee_id
                ),
                and_(
                    block.c.blocker_id == pair.c.mentee_id, block.c.blocked_id == pair.c.mentor_id
                ),
            )
        )
        .exists()
    )
