"""Moderators fix orphaned groups (no active admin) and lift suspensions, each with a reason
in the audit log; suspending a group's last admin is flagged before it happens."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import Session, col, select

from mentor_app.models import AuditLog, EmailOutbox, Notification, User
from mentor_app.services import accounts, chat, groups, moderation
from mentor_app.services.errors import Conflict, NotFound, PermissionDenied, ValidationError
from mentor_app.services.paging import PAGE_SIZE
from tests.factories import PASSWORD, PairSetup, add_member, make_group, make_pair, make_user
from tests.unit.test_moderation import make_moderator, make_report


def _notices(db: Session, user: User, kind: str) -> list[str]:
    return list(
        db.exec(
            select(Notification.text)
            .where(Notification.user_id == user.id, Notification.kind == kind)
            .order_by(col(Notification.id))
        ).all()
    )


def _audit(db: Session, action: str) -> list[AuditLog]:
    return list(
        db.exec(select(AuditLog).where(AuditLog.action == action).order_by(col(AuditLog.id)))
    )


@pytest.fixture
def mo(db: Session) -> User:
    return make_moderator(db)


def _orphan(db: Session) -> tuple[Any, User, User]:
    """A group whose only admin, Ada, is suspended; Sam is an active member."""
    ada, sam = make_user(db, display_name="Ada"), make_user(db, display_name="Sam")
    group = make_group(db, admin=ada, name="Orphaned circle")
    add_member(db, group, sam)
    accounts.suspend_user(db, user_id=ada.id or 0, actor_id=None)
    db.commit()
    return group, ada, sam


# --- who may -----------------------------------------------------------------------------------

CALLS: dict[str, Callable[[Session, User, int, int], Any]] = {
    "list_orphaned_groups": lambda db, u, g, m: moderation.list_orphaned_groups(db, actor=u),
    "appoint_admin": lambda db, u, g, m: moderation.appoint_admin(
        db, actor=u, group_id=g, user_id=m, reason="x"
    ),
    "list_suspended": lambda db, u, g, m: moderation.list_suspended(db, actor=u),
    "orphaned_group": lambda db, u, g, m: moderation.orphaned_group(db, actor=u, group_id=g),
    "lift_suspension": lambda db, u, g, m: moderation.lift_suspension(
        db, actor=u, user_id=m, reason="x"
    ),
}


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
@pytest.mark.parametrize("who", ["member", "bystander"])
def test_only_moderators_fix_orphans_or_lift_suspensions(
    db: Session, who: str, call: Callable[..., Any]
) -> None:
    group, ada, sam = _orphan(db)
    actor = sam if who == "member" else make_user(db)
    with pytest.raises(PermissionDenied):
        call(db, actor, group.id or 0, sam.id or 0)
    with pytest.raises(PermissionDenied):
        call(db, actor, group.id or 0, ada.id or 0)
    db.rollback()
    assert groups.active_admin_ids(db, group_id=group.id or 0) == []
    assert db.get(User, ada.id).status == "suspended"  # type: ignore[union-attr]


# --- orphaned groups ---------------------------------------------------------------------------


def test_a_group_whose_only_admin_is_suspended_is_listed_as_orphaned(db: Session, mo: User) -> None:
    group, _ada, _sam = _orphan(db)
    healthy = make_group(db, admin=make_user(db))
    listed = moderation.list_orphaned_groups(db, actor=mo).items
    assert [(g.id, g.name, g.candidates) for g in listed] == [
        (group.id, "Orphaned circle", [(_sam.id, "Sam")])
    ]
    assert healthy.id not in [g.id for g in listed]


def test_a_moderator_appoints_an_admin_with_a_reason(db: Session, mo: User) -> None:
    group, _ada, sam = _orphan(db)
    moderation.appoint_admin(
        db, actor=mo, group_id=group.id, user_id=sam.id, reason="Only admin suspended."
    )
    db.commit()
    assert groups.active_admin_ids(db, group_id=group.id or 0) == [sam.id]
    row = _audit(db, "admin_appointed")[-1]
    assert (row.actor_id, row.target_id) == (mo.id, sam.id)
    assert "Only admin suspended." in row.detail
    assert _notices(db, sam, "group_role") == ["You are now an admin of “Orphaned circle”."]
    assert moderation.list_orphaned_groups(db, actor=mo).items == []


def test_appointing_needs_a_reason(db: Session, mo: User) -> None:
    group, _ada, sam = _orphan(db)
    with pytest.raises(ValidationError) as err:
        moderation.appoint_admin(db, actor=mo, group_id=group.id, user_id=sam.id, reason=" ")
    assert err.value.field == "reason"


def test_a_group_with_an_active_admin_is_not_the_moderators_to_change(
    db: Session, mo: User
) -> None:
    ada, sam = make_user(db), make_user(db)
    group = make_group(db, admin=ada)
    add_member(db, group, sam)
    with pytest.raises(Conflict):
        moderation.appoint_admin(db, actor=mo, group_id=group.id, user_id=sam.id, reason="x")
    db.rollback()
    assert groups.membership_of(db, group_id=group.id or 0, user_id=sam.id or 0).role == "member"  # type: ignore[union-attr]


@pytest.mark.parametrize("who", ["outsider", "the suspended admin"])
def test_only_an_active_member_can_be_appointed(db: Session, mo: User, who: str) -> None:
    group, ada, _sam = _orphan(db)
    target = ada.id if who == "the suspended admin" else make_user(db).id
    with pytest.raises(ValidationError) as err:
        moderation.appoint_admin(db, actor=mo, group_id=group.id, user_id=target, reason="x")
    assert err.value.field == "member"


def test_appointing_in_an_unknown_group_is_not_found(db: Session, mo: User) -> None:
    with pytest.raises(NotFound):
        moderation.appoint_admin(db, actor=mo, group_id=999_999, user_id=1, reason="x")


def test_the_report_flags_groups_that_suspending_would_orphan(db: Session, mo: User) -> None:
    setup = make_pair(db)
    # The reported mentor runs a group of their own, alone.
    solo = make_group(db, admin=setup.mentor, name="Maya's circle")
    shared = make_group(db, admin=setup.mentor, name="Shared circle")
    add_member(db, shared, make_user(db), role="admin")
    report = make_report(db, setup)
    detail = moderation.get_report(db, actor=mo, report_id=report.id or 0)
    assert detail.orphaned_by_suspension == ["Maya's circle"]
    moderation.take_action(db, actor=mo, report_id=report.id or 0, outcome="suspend", reason="x")
    db.commit()
    assert solo.id in [g.id for g in moderation.list_orphaned_groups(db, actor=mo).items]
    assert shared.id not in [g.id for g in moderation.list_orphaned_groups(db, actor=mo).items]
    # Once suspended there is nothing left to warn about.
    again = moderation.get_report(db, actor=mo, report_id=report.id or 0)
    assert again.orphaned_by_suspension == []


# --- lifting a suspension ------------------------------------------------------------------------


def test_a_moderator_lifts_a_suspension_with_a_reason_and_the_member_is_told(
    db: Session, mo: User
) -> None:
    sam = make_user(db, display_name="Sam", email="sam@example.com")
    accounts.suspend_user(db, user_id=sam.id or 0, actor_id=mo.id)
    db.commit()
    assert [s.user_id for s in moderation.list_suspended(db, actor=mo).items] == [sam.id]
    moderation.lift_suspension(db, actor=mo, user_id=sam.id, reason="Appeal upheld.")
    db.commit()
    assert db.get(User, sam.id).status == "active"  # type: ignore[union-attr]
    row = _audit(db, "suspension_lifted")[-1]
    assert (row.actor_id, row.target_type, row.target_id, row.detail) == (
        mo.id,
        "user",
        sam.id,
        "Appeal upheld.",
    )
    assert _notices(db, sam, "suspension_lifted") == [moderation.LIFTED_TEXT]
    mail = db.exec(select(EmailOutbox).where(EmailOutbox.to_address == "sam@example.com")).all()
    assert [m.subject for m in mail] == ["Your Mentor circles account is active again"]
    assert moderation.list_suspended(db, actor=mo).items == []
    # They can log in again.
    assert accounts.authenticate(db, email="sam@example.com", password=PASSWORD).id == sam.id


def test_lifting_needs_a_reason(db: Session, mo: User) -> None:
    sam = make_user(db)
    accounts.suspend_user(db, user_id=sam.id or 0, actor_id=mo.id)
    with pytest.raises(ValidationError) as err:
        moderation.lift_suspension(db, actor=mo, user_id=sam.id, reason="")
    assert err.value.field == "reason"
    db.rollback()
    assert _audit(db, "suspension_lifted") == []


def test_lifting_an_active_account_is_a_conflict(db: Session, mo: User) -> None:
    sam = make_user(db)
    with pytest.raises(Conflict):
        moderation.lift_suspension(db, actor=mo, user_id=sam.id, reason="x")
    with pytest.raises(NotFound):
        moderation.lift_suspension(db, actor=mo, user_id=999_999, reason="x")


def test_lifting_leaves_the_ended_pairs_ended(db: Session, mo: User) -> None:
    setup = make_pair(db)
    accounts.suspend_user(db, user_id=setup.mentor.id or 0, actor_id=mo.id)
    moderation.lift_suspension(db, actor=mo, user_id=setup.mentor.id, reason="x")
    db.commit()
    db.refresh(setup.pair)
    assert setup.pair.status == "ended"


# --- admins told when a mentee waits again (suspension, block) --------------------------------


def test_suspending_a_mentor_tells_the_admins_the_mentee_waits(db: Session) -> None:
    setup: PairSetup = make_pair(db)
    accounts.suspend_user(db, user_id=setup.mentor.id or 0, actor_id=None)
    db.commit()
    assert len(_notices(db, setup.admin, "rematch_needed")) == 1


def test_suspending_a_mentee_tells_no_admin(db: Session) -> None:
    setup = make_pair(db)
    accounts.suspend_user(db, user_id=setup.mentee.id or 0, actor_id=None)
    assert _notices(db, setup.admin, "rematch_needed") == []


def test_a_mentee_blocking_their_mentor_tells_the_admins(db: Session) -> None:
    setup = make_pair(db)
    chat.block_partner(db, actor=setup.mentee, pair_id=setup.pair.id or 0)
    db.commit()
    assert len(_notices(db, setup.admin, "rematch_needed")) == 1
    assert _notices(db, setup.mentee, "rematch_needed") == []


# --- paged lists -------------------------------------------------------------------------------


def test_orphaned_groups_and_suspended_members_are_read_a_page_at_a_time(
    db: Session, mo: User
) -> None:
    size = PAGE_SIZE + 5
    for i in range(size):
        admin = make_user(db, display_name=f"Admin {i:02d}")
        group = make_group(db, admin=admin, name=f"Circle {i:02d}")
        add_member(db, group, make_user(db, display_name=f"Member {i:02d}"))
        accounts.suspend_user(db, user_id=admin.id or 0, actor_id=None)
    db.commit()
    first = moderation.list_orphaned_groups(db, actor=mo)
    assert (first.total, first.pages, len(first.items)) == (size, 2, PAGE_SIZE)
    assert [g.name for g in first.items][:2] == ["Circle 00", "Circle 01"]
    last = moderation.list_orphaned_groups(db, actor=mo, page=1)
    assert [g.name for g in last.items] == [f"Circle {i:02d}" for i in range(PAGE_SIZE, size)]
    assert [name for _, name in last.items[-1].candidates] == [f"Member {size - 1:02d}"]
    # A page past the end reads as the last one.
    assert moderation.list_orphaned_groups(db, actor=mo, page=9).items == last.items
    suspended = moderation.list_suspended(db, actor=mo, page=1)
    assert (suspended.total, suspended.page) == (size, 1)
    assert [m.display_name for m in suspended.items] == [
        f"Admin {i:02d}" for i in range(PAGE_SIZE, size)
    ]


def test_one_orphaned_group_is_found_until_it_has_an_admin_again(db: Session, mo: User) -> None:
    group, _ada, sam = _orphan(db)
    found = moderation.orphaned_group(db, actor=mo, group_id=group.id or 0)
    assert found is not None and found.candidates == [(sam.id, "Sam")]
    moderation.appoint_admin(db, actor=mo, group_id=group.id, user_id=sam.id, reason="Needed.")
    db.commit()
    assert moderation.orphaned_group(db, actor=mo, group_id=group.id or 0) is None
