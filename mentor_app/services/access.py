"""Proofs of access: what a check returns, and what an act on private data requires.

A `PairAccess` exists only once `access_pair` has confirmed that the actor is one of the
pair's two members; a `MemberAccess` names the signed-in member themself. Linking a tab to
a pair's or a member's live state (`state/linked.py`) takes one of these objects, never an
id, so the check cannot be skipped or put after the act: the object is its receipt.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session

from mentor_app.models import User
from mentor_app.services import groups, journey

# Only this module holds the key that makes a proof; the constructors refuse any other.
_ISSUED = object()


def _check_issued(key: object, what: str) -> None:
    if key is not _ISSUED:
        raise TypeError(f"A {what} comes from mentor_app.services.access only.")


@dataclass(frozen=True)
class PairAccess:
    """The actor is a member of the pair, in this role."""

    pair_id: int
    role: str
    actor_id: int
    _key: object = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_issued(self._key, "PairAccess")


@dataclass(frozen=True)
class MemberAccess:
    """The actor themself: their own bell, their own notifications."""

    actor_id: int
    _key: object = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_issued(self._key, "MemberAccess")


def access_pair(db: Session, *, actor: User, pair_id: int) -> PairAccess:
    """The proof that `actor` is one of the pair's members; NotFound (and a refusal in the
    log) for everyone else and for drafts, as `journey.pair_of_member`."""
    pair, role = journey.pair_of_member(db, actor=actor, pair_id=pair_id)
    return PairAccess(pair.id or 0, role, groups.acting_user_id(actor), _ISSUED)


def access_self(actor: User) -> MemberAccess:
    return MemberAccess(groups.acting_user_id(actor), _ISSUED)
