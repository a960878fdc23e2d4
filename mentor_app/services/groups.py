"""Community groups: creating, finding, joining and leaving them, and who runs them.

A group always keeps at least one active admin: the last one cannot step down or leave
without naming a successor. A group left without one (its only admin suspended) is
"orphaned"; site moderators appoint a new admin (services.moderation).

A member creates at most GROUPS_CREATED.max groups and joins at most GROUP_JOINS.max in
their windows: a flood of groups or a sweep through every open group's member list is
slowed, never an ordinary member."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, func, select

from mentor_app.models import Enrollment, Group, Membership, Pair, Program, User, utcnow
from mentor_app.services import audit, throttling
from mentor_app.services.cleaning import storable
from mentor_app.services.errors import Conflict, NotFound, PermissionDenied, ValidationError
from mentor_app.services.paging import PAGE_SIZE, Page, page_of
from mentor_app.wording import count

CATEGORIES: dict[str, str] = {
    "parenting": "Parenting",
    "professional": "Professional",
    "personal_development": "Personal development",
    "other": "Other",
}
ELIGIBLE_CATEGORIES: tuple[str, ...] = ("parenting", "professional", "personal_development")

NAME_MIN = 3
NAME_MAX = 100
SEARCH_MAX = NAME_MAX
DESCRIPTION_MAX = 2000
ONLY_ADMINS = "Only group admins can do that."
NOT_A_MEMBER = "That person isn't a member of this group."
LAST_ADMIN = (
    "A group needs at least one active admin: make another member admin first, or hand "
    "over the admin role."
)
NAME_A_SUCCESSOR = (
    "You are this group's last admin: choose a member to take over as admin before you leave."
)
SUCCESSOR_MISSING = "Choose an active member of this group to take over as admin."
NOT_YOUR_GROUP = "You are not a member of this group."

GROUPS_CREATED = throttling.Limit(
    "groups-created",
    max=10,
    window=dt.timedelta(hours=1),
    message="You have created many groups in a short time.",
)
GROUP_JOINS = throttling.Limit(
    "group-joins",
    max=20,
    window=dt.timedelta(hours=1),
    message="You have joined many groups in a short time.",
)


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
    active: bool = True  # False: the account is suspended


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


def require_admin(db: Session, *, actor: User, group_id: int) -> Membership:
    """The actor's admin membership of the group, or PermissionDenied (also for non-members)."""
    membership = membership_of(db, group_id=group_id, user_id=acting_user_id(actor))
    if membership is None or membership.role != "admin":
        audit.refused(
            actor_id=actor.id, action="admin action", target_type="group", target_id=group_id
        )
        raise PermissionDenied(ONLY_ADMINS)
    return membership


def create_group(
    db: Session,
    *,
    actor: User,
    name: str,
    description: str,
    category: str,
    now: dt.datetime | None = None,
) -> Group:
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
    throttling.take(db, GROUPS_CREATED, actor_id, now=now or utcnow())

    group = Group(name=name, description=description, category=category, created_by=actor_id)
    db.add(group)
    db.flush()
    assert group.id is not None
    db.add(Membership(group_id=group.id, user_id=actor_id, role="admin"))
    audit.record(
        db, actor_id=actor_id, action="group_created", target_type="group", target_id=group.id
    )
    return group


def _name_matches(column: Any, search: str) -> Any:
    """`column` holds `search` anywhere, ignoring case (LIKE's wildcards are taken as
    plain characters)."""
    return func.lower(column).contains(search.lower(), autoescape=True)


def clean_search(search: Any) -> str:
    """What a search box sent, as searched: trimmed, at most SEARCH_MAX characters."""
    return storable(search if isinstance(search, str) else "").strip()[:SEARCH_MAX]


def _member_counts_of(db: Session, group_ids: list[int]) -> dict[int, int]:
    if not group_ids:
        return {}
    rows = db.exec(
        select(Membership.group_id, func.count())
        .where(col(Membership.group_id).in_(group_ids))
        .group_by(col(Membership.group_id))
    ).all()
    return {gid: n for gid, n in rows}


def list_my_groups(
    db: Session, *, actor: User, page: int = 0, size: int = PAGE_SIZE
) -> Page[GroupCard]:
    """One page of the actor's groups, by name, with their role in each."""
    found = page_of(
        db,
        sa_select(Group, col(Membership.role))
        .join(Membership, col(Membership.group_id) == col(Group.id))
        .where(col(Membership.user_id) == acting_user_id(actor))
        .order_by(func.lower(Group.name), col(Group.id)),
        page=page,
        size=size,
        scalars=False,
    )
    counts = _member_counts_of(db, [group.id for group, _role in found.items])
    return found.map(lambda row: _card(row[0], row[1], counts.get(row[0].id, 0)))


def list_joinable_groups(
    db: Session, *, actor: User, search: str = "", page: int = 0, size: int = PAGE_SIZE
) -> Page[GroupCard]:
    """One page of the open groups the actor is not in, whose name holds `search` (any
    case). Biggest first, then by name: a flood of empty groups named "AAA…" sorts after
    the groups people actually joined, and a search finds any group by any part of its name."""
    n = (
        select(func.count())
        .select_from(Membership)
        .where(col(Membership.group_id) == col(Group.id))
        .correlate(Group)
        .scalar_subquery()
        .label("n")
    )
    mine = select(Membership.group_id).where(Membership.user_id == acting_user_id(actor))
    statement = sa_select(Group, n).where(col(Group.is_open).is_(True), col(Group.id).not_in(mine))
    needle = clean_search(search)
    if needle:
        statement = statement.where(_name_matches(Group.name, needle))
    found = page_of(
        db,
        statement.order_by(n.desc(), func.lower(Group.name), col(Group.id)),
        page=page,
        size=size,
        scalars=False,
    )
    return found.map(lambda row: _card(row[0], "", row[1]))


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
    )


def list_members(
    db: Session,
    *,
    actor: User,
    group_id: int,
    search: str = "",
    page: int = 0,
    size: int = PAGE_SIZE,
) -> Page[MemberRow]:
    """One page of the group's members, for its members only: admins first, then
    moderators, then by name; `search` keeps those whose name holds it (any case)."""
    group = db.get(Group, group_id)
    mine = membership_of(db, group_id=group_id, user_id=acting_user_id(actor))
    if mine is None:
        # A closed group is invisible to outsiders; an open one shows its page, not who is in it.
        if group is None or not group.is_open:
            raise NotFound("Group not found.")
        raise PermissionDenied(NOT_YOUR_GROUP)
    rank = case(
        (col(Membership.role) == "admin", 0), (col(Membership.role) == "moderator", 1), else_=2
    )
    statement = (
        sa_select(col(User.id), col(User.display_name), col(Membership.role), col(User.status))
        .join(Membership, col(Membership.user_id) == col(User.id))
        .where(col(Membership.group_id) == group_id)
    )
    needle = clean_search(search)
    if needle:
        statement = statement.where(_name_matches(User.display_name, needle))
    found = page_of(
        db,
        statement.order_by(rank, func.lower(User.display_name), col(User.id)),
        page=page,
        size=size,
        scalars=False,
    )
    return found.map(
        lambda row: MemberRow(
            user_id=row[0], display_name=row[1], role=row[2], active=row[3] == "active"
        )
    )


def join_group(
    db: Session, *, actor: User, group_id: int, now: dt.datetime | None = None
) -> Membership:
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
    throttling.take(db, GROUP_JOINS, actor_id, now=now or utcnow())
    membership = Membership(group_id=group_id, user_id=actor_id, role="member")
    db.add(membership)
    db.flush()
    return membership


# --- roles ----------------------------------------------------------------------------------


def active_admin_ids(db: Session, *, group_id: int) -> list[int]:
    """The group's admins whose accounts are active (a suspended admin runs nothing)."""
    return list(
        db.exec(
            select(Membership.user_id)
            .join(User, col(User.id) == col(Membership.user_id))
            .where(
                Membership.group_id == group_id,
                Membership.role == "admin",
                User.status == "active",
            )
            .order_by(col(Membership.user_id))
        ).all()
    )


def _lock_admins(db: Session, group_id: int) -> None:
    """Row-lock the group's admin memberships (PostgreSQL; SQLite transactions already
    write-lock), so two admins stepping down at once cannot both count the other."""
    db.exec(
        select(Membership.id)
        .where(Membership.group_id == group_id, Membership.role == "admin")
        .with_for_update()
    ).all()


def active_member(db: Session, *, group_id: int, user_id: Any) -> Membership:
    """An active member's membership of the group, or NotFound."""
    if isinstance(user_id, bool) or not isinstance(user_id, int):
        raise NotFound(NOT_A_MEMBER, field="member")
    membership = membership_of(db, group_id=group_id, user_id=user_id)
    person = db.get(User, user_id) if membership is not None else None
    if membership is None or person is None or person.status != "active":
        raise NotFound(NOT_A_MEMBER, field="member")
    return membership


def group_name(db: Session, group_id: int) -> str:
    group = db.get(Group, group_id)
    return group.name if group is not None else ""


def set_role(
    db: Session,
    *,
    membership: Membership,
    role: str,
    actor_id: int | None,
    action: str,
    detail: str = "",
) -> None:
    """Change a member's role, audit it and tell them (unless they did it themselves)."""
    membership.role = role
    db.add(membership)
    db.flush()
    name = group_name(db, membership.group_id)
    audit.record(
        db,
        actor_id=actor_id,
        action=action,
        target_type="user",
        target_id=membership.user_id,
        detail=f"group {membership.group_id}" + (f": {detail}" if detail else ""),
    )
    if membership.user_id != actor_id:
        from mentor_app.services import notifications  # it imports this module

        notifications.notify(
            db,
            user_id=membership.user_id,
            kind="group_role",
            text=(
                f"You are now an admin of “{name}”."
                if role == "admin"
                else f"You are no longer an admin of “{name}”: you stay a member."
            ),
            link=f"/groups/{membership.group_id}",
        )


def promote_to_admin(db: Session, *, actor: User, group_id: int, user_id: int) -> Membership:
    require_admin(db, actor=actor, group_id=group_id)
    target = active_member(db, group_id=group_id, user_id=user_id)
    if target.role == "admin":
        return target
    set_role(db, membership=target, role="admin", actor_id=actor.id, action="member_promoted")
    return target


def demote_admin(db: Session, *, actor: User, group_id: int, user_id: int) -> Membership:
    """An admin makes another admin (or themselves) a member again. The group keeps at
    least one active admin: the last one is refused."""
    require_admin(db, actor=actor, group_id=group_id)
    _lock_admins(db, group_id)
    target = membership_of(db, group_id=group_id, user_id=user_id)
    if target is None:
        raise NotFound(NOT_A_MEMBER, field="member")
    if target.role != "admin":
        return target
    if not [a for a in active_admin_ids(db, group_id=group_id) if a != user_id]:
        raise Conflict(LAST_ADMIN)
    set_role(db, membership=target, role="member", actor_id=actor.id, action="admin_demoted")
    return target


def hand_over_admin(
    db: Session, *, actor: User, group_id: int, user_id: Any, step_down: bool = False
) -> Membership:
    """An admin makes another active member admin and, if they choose, steps down."""
    mine = require_admin(db, actor=actor, group_id=group_id)
    if user_id == actor.id:
        raise ValidationError("Choose another member to hand the admin role to.", field="member")
    _lock_admins(db, group_id)
    target = active_member(db, group_id=group_id, user_id=user_id)
    if target.role != "admin":
        set_role(
            db,
            membership=target,
            role="admin",
            actor_id=actor.id,
            action="admin_handed_over",
        )
    if step_down:
        set_role(
            db,
            membership=mine,
            role="member",
            actor_id=actor.id,
            action="admin_stepped_down",
            detail=f"handed over to user {target.user_id}",
        )
    return target


# --- leaving --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PairToEnd:
    pair_id: int
    partner_name: str
    program_title: str
    my_role: str  # mentor | mentee


@dataclass(frozen=True)
class LeavePreview:
    """What leaving the group would do, for its confirmation dialog."""

    group_name: str
    pairs: list[PairToEnd]
    waiting_applications: int
    needs_successor: bool
    successor_candidates: list[MemberRow]


@dataclass(frozen=True)
class LeaveResult:
    ended_pair_ids: list[int]
    withdrawn: int
    successor_id: int | None


def _my_membership(db: Session, *, actor: User, group_id: int) -> Membership:
    membership = membership_of(db, group_id=group_id, user_id=acting_user_id(actor))
    if membership is None:
        raise NotFound(NOT_YOUR_GROUP)
    return membership


def _active_pairs_in_group(
    db: Session, *, group_id: int, user_id: int
) -> list[tuple[Pair, Program]]:
    return list(
        db.exec(
            select(Pair, Program)
            .join(Program, col(Program.id) == col(Pair.program_id))
            .where(
                Program.group_id == group_id,
                Pair.status == "active",
                (col(Pair.mentor_id) == user_id) | (col(Pair.mentee_id) == user_id),
            )
            .order_by(col(Pair.id))
        ).all()
    )


def _open_applications(db: Session, *, group_id: int, user_id: int) -> list[Enrollment]:
    return list(
        db.exec(
            select(Enrollment)
            .join(Program, col(Program.id) == col(Enrollment.program_id))
            .where(
                Program.group_id == group_id,
                Enrollment.user_id == user_id,
                Enrollment.status == "active",
            )
            .order_by(col(Enrollment.id))
        ).all()
    )


def _needs_successor(db: Session, membership: Membership) -> bool:
    others = [
        a for a in active_admin_ids(db, group_id=membership.group_id) if a != membership.user_id
    ]
    return membership.role == "admin" and not others


def leave_preview(db: Session, *, actor: User, group_id: int) -> LeavePreview:
    me = acting_user_id(actor)
    membership = _my_membership(db, actor=actor, group_id=group_id)
    pairs = _active_pairs_in_group(db, group_id=group_id, user_id=me)
    partner_ids = {p.mentee_id if p.mentor_id == me else p.mentor_id for p, _prog in pairs}
    names = (
        {
            uid or 0: name
            for uid, name in db.exec(
                select(User.id, User.display_name).where(col(User.id).in_(partner_ids))
            ).all()
        }
        if partner_ids
        else {}
    )
    paired = {p.mentor_enrollment_id if p.mentor_id == me else p.mentee_enrollment_id
              for p, _prog in pairs}  # fmt: skip
    waiting = [
        e for e in _open_applications(db, group_id=group_id, user_id=me) if e.id not in paired
    ]
    needs = _needs_successor(db, membership)
    candidates: list[MemberRow] = []
    if needs:
        rows = db.exec(
            select(User.id, User.display_name)
            .join(Membership, col(Membership.user_id) == col(User.id))
            .where(Membership.group_id == group_id, User.status == "active", User.id != me)
            .order_by(func.lower(User.display_name), col(User.id))
            .limit(200)
        ).all()
        candidates = [MemberRow(user_id=uid or 0, display_name=n, role="member") for uid, n in rows]
    return LeavePreview(
        group_name=group_name(db, group_id),
        pairs=[
            PairToEnd(
                pair_id=p.id or 0,
                partner_name=names.get(p.mentee_id if p.mentor_id == me else p.mentor_id, ""),
                program_title=prog.title,
                my_role="mentor" if p.mentor_id == me else "mentee",
            )
            for p, prog in pairs
        ],
        waiting_applications=len(waiting),
        needs_successor=needs,
        successor_candidates=candidates,
    )


def leave_group(
    db: Session, *, actor: User, group_id: int, successor_id: Any = None
) -> LeaveResult:
    """The actor leaves the group. Their active pairs in its programs end (reason
    "left_group"; each partner is told, and a mentee left without a mentor waits again with
    rematch priority), their open applications there are withdrawn, and the last active
    admin must name a successor among the group's active members, who becomes admin."""
    from mentor_app.services import enrollments, journey  # they import this module

    me = acting_user_id(actor)
    membership = _my_membership(db, actor=actor, group_id=group_id)
    _lock_admins(db, group_id)
    chosen: int | None = None
    if _needs_successor(db, membership):
        if successor_id in (None, "", 0):
            raise ValidationError(NAME_A_SUCCESSOR, field="successor")
        try:
            successor_id = int(successor_id)
        except (TypeError, ValueError):
            raise ValidationError(SUCCESSOR_MISSING, field="successor") from None
        if successor_id == me:
            raise ValidationError(SUCCESSOR_MISSING, field="successor")
        try:
            successor = active_member(db, group_id=group_id, user_id=successor_id)
        except NotFound:
            raise ValidationError(SUCCESSOR_MISSING, field="successor") from None
        set_role(
            db,
            membership=successor,
            role="admin",
            actor_id=me,
            action="admin_handed_over",
            detail="the last admin left the group",
        )
        chosen = successor.user_id

    # The membership goes first: admin alerts about the ended pairs must not reach the
    # member who is leaving.
    db.delete(membership)
    db.flush()
    ended = [
        journey.end_pair_for_leaving(db, pair=pair, program=program, leaver_id=me)
        for pair, program in _active_pairs_in_group(db, group_id=group_id, user_id=me)
    ]
    withdrawn = 0
    for application in _open_applications(db, group_id=group_id, user_id=me):
        enrollments.withdraw(db, actor=actor, enrollment_id=application.id or 0)
        withdrawn += 1
    audit.record(
        db,
        actor_id=me,
        action="group_left",
        target_type="group",
        target_id=group_id,
        detail=f"{count(len(ended), 'pair')} ended, {count(withdrawn, 'application')} withdrawn",
    )
    return LeaveResult(ended_pair_ids=[i for i in ended if i], withdrawn=withdrawn,
                       successor_id=chosen)  # fmt: skip
