"""Groups: creating, listing, joining, the group page and promoting admins."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from mentor_app.models import AuditLog, Membership
from mentor_app.services import groups
from mentor_app.services.errors import Conflict, NotFound, PermissionDenied, ValidationError
from tests.factories import add_member, make_group, make_user


def test_creator_becomes_the_groups_admin(db: Session) -> None:
    alex = make_user(db, display_name="Alex")
    group = groups.create_group(
        db, actor=alex, name="  Dads Who Code  ", description="Hi", category="parenting"
    )
    membership = db.exec(select(Membership).where(Membership.group_id == group.id)).one()
    assert (membership.user_id, membership.role) == (alex.id, "admin")
    assert group.name == "Dads Who Code"


def test_creating_a_group_is_audited(db: Session) -> None:
    alex = make_user(db)
    group = make_group(db, admin=alex)
    row = db.exec(select(AuditLog).where(AuditLog.action == "group_created")).one()
    assert (row.actor_id, row.target_type, row.target_id) == (alex.id, "group", group.id)


@pytest.mark.parametrize(
    ("name", "description", "category", "field"),
    [
        ("ab", "", "professional", "name"),
        ("x" * 101, "", "professional", "name"),
        ("Good name", "d" * 2001, "professional", "description"),
        ("Good name", "", "gaming", "category"),
    ],
)
def test_bad_group_form_is_refused(
    db: Session, name: str, description: str, category: str, field: str
) -> None:
    alex = make_user(db)
    with pytest.raises(ValidationError) as err:
        groups.create_group(db, actor=alex, name=name, description=description, category=category)
    assert err.value.field == field


@pytest.mark.parametrize(
    ("category", "eligible", "label"),
    [
        ("parenting", True, "Parenting"),
        ("professional", True, "Professional"),
        ("personal_development", True, "Personal development"),
        ("other", False, "Other"),
    ],
)
def test_group_page_says_whether_programs_are_available(
    db: Session, category: str, eligible: bool, label: str
) -> None:
    alex = make_user(db)
    group = make_group(db, admin=alex, category=category)
    assert group.id is not None
    page = groups.get_group_page(db, actor=alex, group_id=group.id)
    assert page.programs_available is eligible
    assert page.category_label == label
    if eligible:
        assert page.programs_reason == (f"Mentorship programs are available for {label} groups.")
    else:
        assert "only available for parenting, professional and personal development" in (
            page.programs_reason
        )


def test_member_can_join_an_open_group(db: Session) -> None:
    alex, sam = make_user(db), make_user(db, display_name="Sam")
    group = make_group(db, admin=alex)
    assert group.id is not None
    groups.join_group(db, actor=sam, group_id=group.id)
    page = groups.get_group_page(db, actor=sam, group_id=group.id)
    assert (page.my_role, page.member_count, page.can_join) == ("member", 2, False)


def test_joining_twice_is_a_conflict(db: Session) -> None:
    alex, sam = make_user(db), make_user(db)
    group = make_group(db, admin=alex)
    assert group.id is not None
    groups.join_group(db, actor=sam, group_id=group.id)
    with pytest.raises(Conflict):
        groups.join_group(db, actor=sam, group_id=group.id)


def test_closed_group_cannot_be_joined_and_answers_like_a_missing_one(db: Session) -> None:
    alex, sam = make_user(db), make_user(db)
    group = make_group(db, admin=alex, is_open=False)
    assert group.id is not None
    with pytest.raises(NotFound) as err:
        groups.join_group(db, actor=sam, group_id=group.id)
    assert err.value.message == "Group not found."


def test_closed_group_is_invisible_to_non_members(db: Session) -> None:
    alex, sam = make_user(db), make_user(db)
    group = make_group(db, admin=alex, is_open=False)
    assert group.id is not None
    with pytest.raises(NotFound) as err:
        groups.get_group_page(db, actor=sam, group_id=group.id)
    assert err.value.message == "Group not found."
    assert group.id not in [c.id for c in groups.list_joinable_groups(db, actor=sam).items]


def test_non_member_sees_an_open_group_but_not_its_members(db: Session) -> None:
    alex, sam = make_user(db), make_user(db)
    group = make_group(db, admin=alex)
    assert group.id is not None
    page = groups.get_group_page(db, actor=sam, group_id=group.id)
    assert (page.my_role, page.can_join, page.member_count) == ("", True, 1)
    assert [m.user_id for m in groups.list_members(db, actor=alex, group_id=group.id).items] == [
        alex.id
    ]
    with pytest.raises(PermissionDenied):
        groups.list_members(db, actor=sam, group_id=group.id)


def test_member_sees_the_member_list_admins_first(db: Session) -> None:
    alex = make_user(db, display_name="Zed")
    sam = make_user(db, display_name="Anna")
    group = make_group(db, admin=alex)
    add_member(db, group, sam)
    assert group.id is not None
    page = groups.list_members(db, actor=sam, group_id=group.id)
    assert [(m.display_name, m.role) for m in page.items] == [
        ("Zed", "admin"),
        ("Anna", "member"),
    ]


def test_my_groups_lists_my_role_in_each_by_name(db: Session) -> None:
    alex, sam = make_user(db), make_user(db)
    mine = make_group(db, admin=alex, name="Zebra circle")
    theirs = make_group(db, admin=sam, name="apple circle")
    make_group(db, admin=sam, name="Not mine")
    add_member(db, theirs, alex)
    cards = groups.list_my_groups(db, actor=alex).items
    assert [(c.name, c.role, c.member_count) for c in cards] == [
        ("apple circle", "member", 2),
        ("Zebra circle", "admin", 1),
    ]
    assert cards[1].id == mine.id and cards[1].category_label == "Professional"


def test_joinable_groups_are_open_groups_i_am_not_in(db: Session) -> None:
    alex, sam = make_user(db), make_user(db)
    make_group(db, admin=alex, name="Mine")
    open_group = make_group(db, admin=sam, name="Open to all")
    make_group(db, admin=sam, name="Invite only", is_open=False)
    cards = groups.list_joinable_groups(db, actor=alex).items
    assert [(c.id, c.role) for c in cards] == [(open_group.id, "")]


def test_admin_can_promote_a_member(db: Session) -> None:
    alex, sam = make_user(db), make_user(db)
    group = make_group(db, admin=alex)
    add_member(db, group, sam)
    assert group.id is not None and sam.id is not None
    groups.promote_to_admin(db, actor=alex, group_id=group.id, user_id=sam.id)
    assert groups.get_group_page(db, actor=sam, group_id=group.id).is_admin
    row = db.exec(select(AuditLog).where(AuditLog.action == "member_promoted")).one()
    assert (row.actor_id, row.target_id) == (alex.id, sam.id)


def test_member_cannot_promote(db: Session) -> None:
    alex, sam, kim = make_user(db), make_user(db), make_user(db)
    group = make_group(db, admin=alex)
    add_member(db, group, sam)
    add_member(db, group, kim)
    assert group.id is not None and kim.id is not None
    with pytest.raises(PermissionDenied) as err:
        groups.promote_to_admin(db, actor=sam, group_id=group.id, user_id=kim.id)
    assert err.value.message == "Only group admins can do that."


def test_non_member_cannot_promote(db: Session) -> None:
    alex, sam, outsider = make_user(db), make_user(db), make_user(db)
    group = make_group(db, admin=alex)
    add_member(db, group, sam)
    assert group.id is not None and sam.id is not None
    with pytest.raises(PermissionDenied):
        groups.promote_to_admin(db, actor=outsider, group_id=group.id, user_id=sam.id)


def test_admin_cannot_promote_someone_outside_the_group(db: Session) -> None:
    alex, outsider = make_user(db), make_user(db)
    group = make_group(db, admin=alex)
    assert group.id is not None and outsider.id is not None
    with pytest.raises(NotFound):
        groups.promote_to_admin(db, actor=alex, group_id=group.id, user_id=outsider.id)
    assert db.exec(select(Membership).where(Membership.user_id == outsider.id)).all() == []
