"""Community groups: creating, finding and joining them, and who runs them."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import case
from sqlalchemy.sql.selectable import Subquery
from sqlmodel import Session, col, func, select

from mentor_app.models import Group, Membership, User
from mentor_app.services import audit
from mentor_app.services.cleaning import storable
from mentor_app.services.errors import Conflict, NotFound, PermissionDenied, ValidationError

CATEGORIES: dict[str, str] = {
    "parenting": "Parenting",
    "professional": "Professional",
    "personal_development": "Personal development",
    "other": "Other",
}
ELIGIBLE_CATEGORIES: tuple[str, ...] = ("parenting", "professional", "personal_development")

NAME_MIN = 3
NAME_MAX = 100
DESCRIPTION_MAX = 2000
ONLY_ADMINS = "Only group admins can do that."


@dataclass(frozen=True)
class GroupCard:
    id: int
    name: str
    category_label: str
    role: str  # "" when the actor is not a member
    member_count: int


@dataclass(frozen=True)
class MemberRow:
    user_id: int
    display_name: str
    role: str


@dataclass(frozen=True)
class GroupPage:
    id: int
    name: str
    description: str
    category: str
    category_label: str
    is_open: bool
    my_role: str
    member_count: int
    programs_available: bool
    programs_reason: str
    can_join: bool
    is_admin: bool
    members: list[MemberRow] = field(default_factory=list)


def category_label(category: str) -> str:
    return CATEGORIES.get(category, category)


def program_eligibility(category: str) -> tuple[bool, str]:
    if category in ELIGIBLE_CATEGORIES:
        return True, f"Mentorship programs are available for {category_label(category)} groups."
    return False, (
        "Mentorship programs are only available for parenting, professional and "
        "personal development groups, so this group can't run one."
    )


def acting_user_id(actor: User) -> int:
    """The acting user's id (services act for saved users only)."""
    if actor.id is None:
        raise ValueError("actor must be a saved user")
    return actor.id


def membership_of(db: Session, *, group_id: int, user_id: int) -> Membership | None:
    """This user's membership of the group, if any."""
    return db.exec(
        select(Membership).where(Membership.group_id == group_id, Membership.user_id == user_id)
    ).first()


def _member_count(db: Session, group_id: int) -> int:
    return db.exec(
        select(func.count()).select_from(Membership).where(Membership.group_id == group_id)
    ).one()


def _member_counts() -> Subquery:
    return (
        select(Membership.group_id, func.count().label("n"))
        .group_by(col(Membership.group_id))
        .subquery()
    )


def require_admin(db: Session, *, actor: User, group_id: int) -> Membership:
    """The actor's admin membership of the group, or PermissionDenied (also for non-members)."""
    membership = membership_of(db, group_id=group_id, user_id=acting_user_id(actor))
    if membership is None or membership.role != "admin":
        audit.refused(
            actor_id=actor.id, action="admin action", target_type="group", target_id=group_id
        )
        raise PermissionDenied(ONLY_ADMINS)
    return membership


def create_group(db: Session, *, actor: User, name: str, description: str, category: str) -> Group:
    actor_id = acting_user_id(actor)
    name = storable(name or "").strip()
    description = storable(description or "").strip()
    if len(name) < NAME_MIN:
        raise ValidationError(f"Use at least {NAME_MIN} characters.", field="name")
    if len(name) > NAME_MAX:
        raise ValidationError(f"Use at most {NAME_MAX} characters.", field="name")
    if len(description) > DESCRIPTION_MAX:
        raise ValidationError(f"Use at most {DESCRIPTION_MAX} characters.", field="description")
    if category not in CATEGORIES:
        raise ValidationError("Choose a category from the list.", field="category")

    group = Group(name=name, description=description, category=category, created_by=actor_id)
    db.add(group)
    db.flush()
    assert group.id is not None
    db.add(Membership(group_id=group.id, user_id=actor_id, role="admin"))
    audit.record(
        db, actor_id=actor_id, action="group_created", target_type="group", target_id=group.id
    )
    return group


def list_my_groups(db: Session, *, actor: User) -> list[GroupCard]:
    counts = _member_counts()
    rows = db.exec(
        select(Group, Membership.role, counts.c.n)
        .join(Membership, col(Membership.group_id) == col(Group.id))
        .join(counts, counts.c.group_id == col(Group.id))
        .where(Membership.user_id == acting_user_id(actor))
        .order_by(func.lower(Group.name), col(Group.id))
    ).all()
    return [_card(group, role, n) for group, role, n in rows]


def list_joinable_groups(db: Session, *, actor: User, limit: int = 50) -> list[GroupCard]:
    counts = _member_counts()
    mine = select(Membership.group_id).where(Membership.user_id == acting_user_id(actor))
    rows = db.exec(
        select(Group, counts.c.n)
        .join(counts, counts.c.group_id == col(Group.id))
        .where(col(Group.is_open).is_(True), col(Group.id).not_in(mine))
        .order_by(func.lower(Group.name), col(Group.id))
        .limit(limit)
    ).all()
    return [_card(group, "", n) for group, n in rows]


def _card(group: Group, role: str, member_count: int) -> GroupCard:
    assert group.id is not None
    return GroupCard(
        id=group.id,
        name=group.name,
        category_label=category_label(group.category),
        role=role,
        member_count=member_count,
    )


def get_group_page(db: Session, *, actor: User, group_id: int) -> GroupPage:
    group = db.get(Group, group_id)
    mine = membership_of(db, group_id=group_id, user_id=acting_user_id(actor))
    # A closed group is invisible to outsiders: same answer as a missing one.
    if group is None or (not group.is_open and mine is None):
        raise NotFound("Group not found.")
    assert group.id is not None

    members: list[MemberRow] = []
    if mine is not None:
        rank = case(
            (col(Membership.role) == "admin", 0), (col(Membership.role) == "moderator", 1), else_=2
        )
        rows = db.exec(
            select(User.id, User.display_name, Membership.role)
            .join(Membership, col(Membership.user_id) == col(User.id))
            .where(Membership.group_id == group.id)
            .order_by(rank, func.lower(User.display_name), col(User.id))
        ).all()
        members = [MemberRow(user_id=uid, display_name=dn, role=r) for uid, dn, r in rows if uid]

    available, reason = program_eligibility(group.category)
    my_role = mine.role if mine is not None else ""
    return GroupPage(
        id=group.id,
        name=group.name,
        description=group.description,
        category=group.category,
        category_label=category_label(group.category),
        is_open=group.is_open,
        my_role=my_role,
        member_count=_member_count(db, group.id),
        programs_available=available,
        programs_reason=reason,
        can_join=group.is_open and mine is None,
        is_admin=my_role == "admin",
        members=members,
    )


def join_group(db: Session, *, actor: User, group_id: int) -> Membership:
    actor_id = acting_user_id(actor)
    group = db.get(Group, group_id)
    if group is None:
        raise NotFound("Group not found.")
    member = membership_of(db, group_id=group_id, user_id=actor_id)
    if not group.is_open and member is None:
        # Same answer as the group page: an outsider can't tell a closed group exists.
        raise NotFound("Group not found.")
    if member is not None:
        raise Conflict("You're already a member of this group.")
    membership = Membership(group_id=group_id, user_id=actor_id, role="member")
    db.add(membership)
    db.flush()
    return membership


def promote_to_admin(db: Session, *, actor: User, group_id: int, user_id: int) -> Membership:
    require_admin(db, actor=actor, group_id=group_id)
    target = membership_of(db, group_id=group_id, user_id=user_id)
    if target is None:
        raise NotFound("That person isn't a member of this group.")
    if target.role == "admin":
        return target
    target.role = "admin"
    db.add(target)
    audit.record(
        db,
        actor_id=actor.id,
        action="member_promoted",
        target_type="user",
        target_id=user_id,
        detail=f"group {group_id}",
    )
    return target
