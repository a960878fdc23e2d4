"""Members in control of their groups: leaving a group (ending one's pairs there), demoting
an admin and handing over the admin role, with the group never left without an admin."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from mentor_app.models import AuditLog, EmailOutbox, Enrollment, Membership, Notification, User
from mentor_app.services import groups, journey
from mentor_app.services.errors import Conflict, NotFound, PermissionDenied, ValidationError
from tests.factories import (
    PairSetup,
    add_member,
    make_application,
    make_group,
    make_pair,
    make_program,
    make_user,
)
from tests.support.race import meet_once_at, race


def _role(db: Session, group_id: int, user: User) -> str | None:
    m = groups.membership_of(db, group_id=group_id, user_id=user.id or 0)
    return m.role if m is not None else None


def _notices(db: Session, user: User, kind: str | None = None) -> list[str]:
    query = select(Notification).where(Notification.user_id == user.id)
    if kind is not None:
        query = query.where(Notification.kind == kind)
    return [n.text for n in db.exec(query.order_by(col(Notification.id))).all()]


def _audit(db: Session, action: str) -> list[AuditLog]:
    return list(
        db.exec(select(AuditLog).where(AuditLog.action == action).order_by(col(AuditLog.id)))
    )


def _suspend(db: Session, user: User) -> None:
    user.status = "suspended"
    db.add(user)
    db.commit()


@pytest.fixture
def setup(db: Session) -> PairSetup:
    return make_pair(db)


# --- leaving ---------------------------------------------------------------------------------


def test_a_member_leaves_a_group(db: Session) -> None:
    ada, sam = make_user(db, display_name="Ada"), make_user(db, display_name="Sam")
    group = make_group(db, admin=ada)
    add_member(db, group, sam)
    result = groups.leave_group(db, actor=sam, group_id=group.id or 0)
    assert result.ended_pair_ids == [] and result.withdrawn == 0
    assert _role(db, group.id or 0, sam) is None
    row = _audit(db, "group_left")[-1]
    assert (row.actor_id, row.target_type, row.target_id) == (sam.id, "group", group.id)


def test_leaving_a_group_one_is_not_in_is_not_found(db: Session) -> None:
    ada, sam = make_user(db), make_user(db)
    group = make_group(db, admin=ada)
    with pytest.raises(NotFound):
        groups.leave_group(db, actor=sam, group_id=group.id or 0)
    with pytest.raises(NotFound):
        groups.leave_preview(db, actor=sam, group_id=group.id or 0)


def test_the_preview_names_the_partner_and_the_program(db: Session, setup: PairSetup) -> None:
    preview = groups.leave_preview(db, actor=setup.mentee, group_id=setup.group.id or 0)
    assert [(p.partner_name, p.program_title, p.my_role) for p in preview.pairs] == [
        ("Maya", setup.program.title, "mentee")
    ]
    assert preview.needs_successor is False


def test_a_paired_mentee_leaving_ends_the_pair_and_the_mentor_is_told(
    db: Session, setup: PairSetup
) -> None:
    result = groups.leave_group(db, actor=setup.mentee, group_id=setup.group.id or 0)
    db.commit()
    db.refresh(setup.pair)
    assert result.ended_pair_ids == [setup.pair.id]
    assert (setup.pair.status, setup.pair.end_reason) == ("ended", "left_group")
    assert setup.pair.ended_by == setup.mentee.id
    assert _notices(db, setup.mentor, "pair_ended") == [
        f"Theo left “{setup.group.name}”, so your pair in “{setup.program.title}” has ended."
    ]
    assert _notices(db, setup.mentee, "pair_ended") == []  # they did it
    db.refresh(setup.mentee_enrollment)
    assert (setup.mentee_enrollment.status, setup.mentee_enrollment.rematch_priority) == (
        "withdrawn",
        False,
    )
    # A mentee who left needs no rematch: the admins are not alerted.
    assert _notices(db, setup.admin, "rematch_needed") == []
    assert _audit(db, "pair_ended")[-1].detail == "left_group by member"


def test_a_paired_mentor_leaving_puts_the_mentee_back_with_priority_and_tells_admins(
    db: Session, setup: PairSetup
) -> None:
    groups.leave_group(db, actor=setup.mentor, group_id=setup.group.id or 0)
    db.commit()
    db.refresh(setup.mentee_enrollment)
    db.refresh(setup.mentor_enrollment)
    assert (setup.mentee_enrollment.status, setup.mentee_enrollment.rematch_priority) == (
        "active",
        True,
    )
    assert setup.mentor_enrollment.status == "withdrawn"
    assert len(_notices(db, setup.mentee, "pair_ended")) == 1
    assert _notices(db, setup.admin, "rematch_needed") == [
        f"Theo's pair in “{setup.program.title}” has ended: they are waiting for a new "
        "mentor, with rematch priority."
    ]


def test_leaving_withdraws_waiting_applications_in_that_group_only(db: Session) -> None:
    ada, sam = make_user(db, display_name="Ada"), make_user(db, display_name="Sam")
    group = make_group(db, admin=ada)
    other = make_group(db, admin=ada)
    add_member(db, group, sam)
    add_member(db, other, sam)
    here = make_application(db, program=make_program(db, admin=ada, group=group), user=sam)
    there = make_application(db, program=make_program(db, admin=ada, group=other), user=sam)
    assert groups.leave_preview(db, actor=sam, group_id=group.id or 0).waiting_applications == 1
    result = groups.leave_group(db, actor=sam, group_id=group.id or 0)
    db.commit()
    assert result.withdrawn == 1
    assert db.get(Enrollment, here.id).status == "withdrawn"  # type: ignore[union-attr]
    assert db.get(Enrollment, there.id).status == "active"  # type: ignore[union-attr]


def test_the_last_admin_cannot_leave_without_naming_a_successor(db: Session) -> None:
    ada, sam = make_user(db, display_name="Ada"), make_user(db, display_name="Sam")
    group = make_group(db, admin=ada)
    add_member(db, group, sam)
    preview = groups.leave_preview(db, actor=ada, group_id=group.id or 0)
    assert preview.needs_successor
    assert [c.display_name for c in preview.successor_candidates] == ["Sam"]
    with pytest.raises(ValidationError) as err:
        groups.leave_group(db, actor=ada, group_id=group.id or 0)
    assert err.value.field == "successor"
    assert "last admin" in err.value.message
    db.rollback()
    assert _role(db, group.id or 0, ada) == "admin"


@pytest.mark.parametrize("who", ["self", "outsider", "suspended member", "nonsense"])
def test_a_successor_must_be_another_active_member(db: Session, who: str) -> None:
    ada, sam, out = make_user(db), make_user(db), make_user(db)
    group = make_group(db, admin=ada)
    add_member(db, group, sam)
    if who == "suspended member":
        _suspend(db, sam)
    successor = {"self": ada.id, "outsider": out.id, "suspended member": sam.id}.get(who, "x")
    with pytest.raises(ValidationError) as err:
        groups.leave_group(db, actor=ada, group_id=group.id or 0, successor_id=successor)
    assert err.value.field == "successor"


def test_the_last_admin_leaves_and_the_successor_becomes_admin(db: Session) -> None:
    ada, sam = make_user(db, display_name="Ada"), make_user(db, display_name="Sam")
    group = make_group(db, admin=ada)
    add_member(db, group, sam)
    result = groups.leave_group(db, actor=ada, group_id=group.id or 0, successor_id=sam.id)
    db.commit()
    assert result.successor_id == sam.id
    assert _role(db, group.id or 0, ada) is None
    assert _role(db, group.id or 0, sam) == "admin"
    assert _audit(db, "admin_handed_over")[-1].target_id == sam.id
    assert _notices(db, sam, "group_role") == [f"You are now an admin of “{group.name}”."]


def test_an_admin_with_another_active_admin_leaves_freely(db: Session) -> None:
    ada, bea = make_user(db), make_user(db)
    group = make_group(db, admin=ada)
    add_member(db, group, bea, role="admin")
    assert not groups.leave_preview(db, actor=ada, group_id=group.id or 0).needs_successor
    groups.leave_group(db, actor=ada, group_id=group.id or 0)
    assert _role(db, group.id or 0, bea) == "admin"


def test_a_suspended_co_admin_does_not_count(db: Session) -> None:
    ada, bea = make_user(db), make_user(db)
    group = make_group(db, admin=ada)
    add_member(db, group, bea, role="admin")
    _suspend(db, bea)
    with pytest.raises(ValidationError):
        groups.leave_group(db, actor=ada, group_id=group.id or 0)


def test_an_admin_who_leaves_is_not_alerted_about_their_own_pair(db: Session) -> None:
    # The mentor is also an admin, with a co-admin: leaving ends the pair, and only the
    # co-admin hears that the mentee waits again.
    setup = make_pair(db)
    gid = setup.group.id or 0
    groups.promote_to_admin(db, actor=setup.admin, group_id=gid, user_id=setup.mentor.id or 0)
    db.commit()
    groups.leave_group(db, actor=setup.mentor, group_id=gid)
    db.commit()
    assert len(_notices(db, setup.admin, "rematch_needed")) == 1
    assert _notices(db, setup.mentor, "rematch_needed") == []


# --- demoting and handing over --------------------------------------------------------------


def test_an_admin_demotes_another_admin_who_is_told(db: Session) -> None:
    ada, bea = make_user(db), make_user(db)
    group = make_group(db, admin=ada)
    add_member(db, group, bea, role="admin")
    groups.demote_admin(db, actor=ada, group_id=group.id or 0, user_id=bea.id or 0)
    db.commit()
    assert _role(db, group.id or 0, bea) == "member"
    row = _audit(db, "admin_demoted")[-1]
    assert (row.actor_id, row.target_id, row.detail) == (ada.id, bea.id, f"group {group.id}")
    assert _notices(db, bea, "group_role") == [
        f"You are no longer an admin of “{group.name}”: you stay a member."
    ]


def test_the_last_admin_cannot_demote_themselves(db: Session) -> None:
    ada = make_user(db)
    group = make_group(db, admin=ada)
    with pytest.raises(Conflict) as err:
        groups.demote_admin(db, actor=ada, group_id=group.id or 0, user_id=ada.id or 0)
    assert "at least one active admin" in err.value.message
    db.rollback()
    assert _role(db, group.id or 0, ada) == "admin"
    assert _audit(db, "admin_demoted") == []


def test_an_admin_cannot_demote_the_only_active_one_beside_a_suspended_admin(
    db: Session,
) -> None:
    ada, bea = make_user(db), make_user(db)
    group = make_group(db, admin=ada)
    add_member(db, group, bea, role="admin")
    _suspend(db, bea)
    with pytest.raises(Conflict):
        groups.demote_admin(db, actor=ada, group_id=group.id or 0, user_id=ada.id or 0)


def test_an_admin_steps_down_while_another_admin_remains(db: Session) -> None:
    ada, bea = make_user(db), make_user(db)
    group = make_group(db, admin=ada)
    add_member(db, group, bea, role="admin")
    groups.demote_admin(db, actor=ada, group_id=group.id or 0, user_id=ada.id or 0)
    assert _role(db, group.id or 0, ada) == "member"
    assert _notices(db, ada, "group_role") == []  # they did it themselves


@pytest.mark.parametrize("who", ["member", "outsider"])
def test_only_admins_demote_or_hand_over(db: Session, who: str) -> None:
    ada, sam = make_user(db), make_user(db)
    group = make_group(db, admin=ada)
    if who == "member":
        add_member(db, group, sam)
    gid = group.id or 0
    with pytest.raises(PermissionDenied):
        groups.demote_admin(db, actor=sam, group_id=gid, user_id=ada.id or 0)
    with pytest.raises(PermissionDenied):
        groups.hand_over_admin(db, actor=sam, group_id=gid, user_id=sam.id, step_down=True)
    with pytest.raises(PermissionDenied):
        groups.promote_to_admin(db, actor=sam, group_id=gid, user_id=sam.id or 0)
    db.rollback()
    assert _role(db, gid, ada) == "admin"
    assert _role(db, gid, sam) in ("member", None)


def test_an_admin_hands_over_the_role_and_steps_down(db: Session) -> None:
    ada, sam = make_user(db), make_user(db)
    group = make_group(db, admin=ada)
    add_member(db, group, sam)
    gid = group.id or 0
    groups.hand_over_admin(db, actor=ada, group_id=gid, user_id=sam.id, step_down=True)
    db.commit()
    assert (_role(db, gid, ada), _role(db, gid, sam)) == ("member", "admin")
    assert [r.action for r in db.exec(select(AuditLog).order_by(col(AuditLog.id)))][-2:] == [
        "admin_handed_over",
        "admin_stepped_down",
    ]
    assert _notices(db, sam, "group_role") == [f"You are now an admin of “{group.name}”."]


def test_handing_over_without_stepping_down_keeps_both_admins(db: Session) -> None:
    ada, sam = make_user(db), make_user(db)
    group = make_group(db, admin=ada)
    add_member(db, group, sam)
    gid = group.id or 0
    groups.hand_over_admin(db, actor=ada, group_id=gid, user_id=sam.id, step_down=False)
    assert (_role(db, gid, ada), _role(db, gid, sam)) == ("admin", "admin")


@pytest.mark.parametrize("who", ["self", "outsider", "suspended member"])
def test_the_role_goes_only_to_another_active_member(db: Session, who: str) -> None:
    ada, sam, out = make_user(db), make_user(db), make_user(db)
    group = make_group(db, admin=ada)
    add_member(db, group, sam)
    if who == "suspended member":
        _suspend(db, sam)
    target = {"self": ada.id, "outsider": out.id, "suspended member": sam.id}[who]
    with pytest.raises((ValidationError, NotFound)) as err:
        groups.hand_over_admin(
            db, actor=ada, group_id=group.id or 0, user_id=target, step_down=True
        )
    assert err.value.field == "member"
    db.rollback()
    assert _role(db, group.id or 0, ada) == "admin"


def test_promoting_is_told_and_audited(db: Session) -> None:
    ada, sam = make_user(db), make_user(db)
    group = make_group(db, admin=ada)
    add_member(db, group, sam)
    groups.promote_to_admin(db, actor=ada, group_id=group.id or 0, user_id=sam.id or 0)
    assert _audit(db, "member_promoted")[-1].target_id == sam.id
    assert _notices(db, sam, "group_role") == [f"You are now an admin of “{group.name}”."]


# --- admins told when a mentee waits again ---------------------------------------------------


def test_admins_are_told_by_mail_when_a_mentor_ends_a_pair(db: Session, setup: PairSetup) -> None:
    journey.end_pair(
        db, actor=setup.mentor, pair_id=setup.pair.id or 0, reason="no_longer_available"
    )
    db.commit()
    texts = _notices(db, setup.admin, "rematch_needed")
    assert len(texts) == 1 and "Theo" in texts[0]
    mail = db.exec(select(EmailOutbox).where(EmailOutbox.to_address == setup.admin.email)).all()
    assert [m.subject for m in mail] == ["A mentee in your program is waiting for a new match"]


def test_admins_are_not_told_when_the_mentee_steps_back(db: Session, setup: PairSetup) -> None:
    journey.end_pair(
        db, actor=setup.mentee, pair_id=setup.pair.id or 0, reason="no_longer_available"
    )
    assert _notices(db, setup.admin, "rematch_needed") == []


def test_the_admin_who_ended_the_pair_is_not_told_but_a_co_admin_is(
    db: Session, setup: PairSetup
) -> None:
    bea = make_user(db, display_name="Bea")
    add_member(db, setup.group, bea, role="admin")
    journey.end_pair(
        db, actor=setup.admin, pair_id=setup.pair.id or 0, reason="other", detail="Moving"
    )
    assert _notices(db, setup.admin, "rematch_needed") == []
    assert len(_notices(db, bea, "rematch_needed")) == 1


def test_an_admin_who_was_the_mentor_is_not_told(db: Session) -> None:
    setup = make_pair(db)
    gid = setup.group.id or 0
    groups.promote_to_admin(db, actor=setup.admin, group_id=gid, user_id=setup.mentor.id or 0)
    db.commit()
    journey.end_pair(
        db, actor=setup.mentor, pair_id=setup.pair.id or 0, reason="no_longer_available"
    )
    assert _notices(db, setup.mentor, "rematch_needed") == []
    assert len(_notices(db, setup.admin, "rematch_needed")) == 1


def test_membership_rows_stay_consistent_after_leaving(db: Session, setup: PairSetup) -> None:
    groups.leave_group(db, actor=setup.mentee, group_id=setup.group.id or 0)
    db.commit()
    left = db.exec(
        select(Membership).where(
            Membership.group_id == setup.group.id, Membership.user_id == setup.mentee.id
        )
    ).all()
    assert left == []
    # The group page no longer lists them, and they can join again.
    assert setup.mentee.id not in [
        m.user_id
        for m in groups.list_members(db, actor=setup.admin, group_id=setup.group.id or 0).items
    ]
    groups.join_group(db, actor=setup.mentee, group_id=setup.group.id or 0)


def test_two_admins_stepping_down_at_once_leave_one_admin(
    any_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Session(any_engine, expire_on_commit=False) as db:
        ada, bea = make_user(db), make_user(db)
        group = make_group(db, admin=ada)
        add_member(db, group, bea, role="admin")
    gid = group.id or 0
    # Both read the admins before either writes, wherever the engine lets them.
    meet_once_at(monkeypatch, groups, "active_admin_ids", after=True)

    def step_down(who: User) -> Callable[[Session], object]:
        return lambda s: groups.demote_admin(s, actor=who, group_id=gid, user_id=who.id or 0)

    results = race(any_engine, step_down(ada), step_down(bea))
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "Membership"]
    with Session(any_engine) as db:
        assert len(groups.active_admin_ids(db, group_id=gid)) == 1
