"""Leaving a program's waiting list at any time: a member withdraws, an admin removes an
application with a reason, a mentor lowers their capacity (issue 17, defect 7)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlmodel import Session, col, select

from mentor_app.models import (
    AuditLog,
    EmailOutbox,
    Enrollment,
    Group,
    Notification,
    Pair,
    Program,
    User,
)
from mentor_app.services import dashboard, enrollments, journey, pairing, programs
from mentor_app.services.errors import Conflict, NotFound, PermissionDenied, ValidationError
from tests.factories import (
    TODAY,
    add_member,
    make_application,
    make_group,
    make_program,
    make_user,
)


@dataclass
class Cohort:
    db: Session
    admin: User
    program: Program

    @property
    def program_id(self) -> int:
        return self.program.id or 0

    def person(self, name: str) -> User:
        user = make_user(self.db, display_name=name)
        group = self.db.get(Group, self.program.group_id)
        assert group is not None
        add_member(self.db, group, user)
        return user

    def apply(self, name: str, role: str = "mentee", capacity: int = 2) -> tuple[User, Enrollment]:
        user = self.person(name)
        return user, make_application(
            self.db, program=self.program, user=user, role=role, capacity=capacity
        )

    def start(self) -> None:
        """open → active: sign-ups close, pairs run."""
        programs.advance_status(
            self.db, actor=self.admin, program_id=self.program_id, expected_status="open"
        )
        self.db.commit()

    def draft(self, mentor: Enrollment, mentee: Enrollment) -> Pair:
        pair = pairing.pair_by_hand(
            self.db,
            actor=self.admin,
            program_id=self.program_id,
            mentee_enrollment_id=mentee.id or 0,
            mentor_enrollment_id=mentor.id or 0,
            today=TODAY,
        )
        self.db.commit()
        return pair

    def pair(self, mentor: Enrollment, mentee: Enrollment) -> Pair:
        pair = self.draft(mentor, mentee)
        pairing.publish_pairs(self.db, actor=self.admin, program_id=self.program_id, today=TODAY)
        self.db.commit()
        return pair

    def live_pairs_of(self, mentor: Enrollment) -> list[Pair]:
        return list(
            self.db.exec(
                select(Pair).where(
                    Pair.mentor_enrollment_id == mentor.id, col(Pair.status).in_(pairing.LIVE)
                )
            ).all()
        )


@pytest.fixture
def cohort(db: Session) -> Cohort:
    admin = make_user(db, display_name="Ada")
    group = make_group(db, admin=admin)
    return Cohort(db, admin, make_program(db, admin=admin, group=group, mentor_capacity_max=3))


def _notices(db: Session, user: User) -> list[tuple[str, str, str]]:
    return [
        (n.kind, n.text, n.link)
        for n in db.exec(
            select(Notification)
            .where(Notification.user_id == user.id)
            .order_by(col(Notification.id))
        ).all()
    ]


# --- a member withdraws ------------------------------------------------------------------


@pytest.mark.parametrize("role", ["mentee", "mentor"])
def test_a_waiting_member_can_withdraw_once_the_program_is_active(
    cohort: Cohort, role: str
) -> None:
    user, application = cohort.apply("Sam", role)
    cohort.start()

    enrollments.withdraw(cohort.db, actor=user, enrollment_id=application.id or 0)
    cohort.db.commit()

    assert application.status == "withdrawn"


def test_a_waiting_member_can_withdraw_after_the_program_closed(cohort: Cohort) -> None:
    user, application = cohort.apply("Sam")
    cohort.start()
    programs.advance_status(
        cohort.db, actor=cohort.admin, program_id=cohort.program_id, expected_status="active"
    )

    enrollments.withdraw(cohort.db, actor=user, enrollment_id=application.id or 0)

    assert application.status == "withdrawn"


def test_a_member_in_an_active_pair_is_told_to_end_the_pair_first(cohort: Cohort) -> None:
    _mentor, mentor_app = cohort.apply("Maya", "mentor")
    theo, theo_app = cohort.apply("Theo")
    cohort.start()
    cohort.pair(mentor_app, theo_app)

    with pytest.raises(Conflict, match="end the pair"):
        enrollments.withdraw(cohort.db, actor=theo, enrollment_id=theo_app.id or 0)
    assert theo_app.status == "active"


def test_withdrawing_while_active_frees_a_draft_pair_and_the_member_is_not_paired_again(
    cohort: Cohort,
) -> None:
    _mentor, mentor_app = cohort.apply("Maya", "mentor")
    theo, theo_app = cohort.apply("Theo")
    cohort.start()
    cohort.draft(mentor_app, theo_app)

    enrollments.withdraw(cohort.db, actor=theo, enrollment_id=theo_app.id or 0)
    cohort.db.commit()

    assert cohort.live_pairs_of(mentor_app) == []
    with pytest.raises(Conflict, match="withdrawn"):
        cohort.draft(mentor_app, theo_app)


# --- an admin removes an application -------------------------------------------------------


def test_an_admin_removes_a_waiting_application_and_the_member_is_told_why(
    cohort: Cohort,
) -> None:
    theo, theo_app = cohort.apply("Theo")
    cohort.start()

    enrollments.remove_application(
        cohort.db,
        actor=cohort.admin,
        enrollment_id=theo_app.id or 0,
        reason="  We could not find a mentor in your field this round.  ",
    )
    cohort.db.commit()

    assert theo_app.status == "removed"
    assert _notices(cohort.db, theo) == [
        (
            "application_removed",
            f"The admins of “{cohort.program.title}” removed your application: "
            "We could not find a mentor in your field this round.",
            f"/programs/{cohort.program_id}",
        )
    ]
    entry = cohort.db.exec(select(AuditLog).where(AuditLog.action == "application_removed")).one()
    assert (entry.actor_id, entry.target_type, entry.target_id) == (
        cohort.admin.id,
        "enrollment",
        theo_app.id,
    )
    assert entry.detail == "We could not find a mentor in your field this round."


@pytest.mark.parametrize("reason", ["", "   "])
def test_removing_an_application_needs_a_reason(cohort: Cohort, reason: str) -> None:
    theo, theo_app = cohort.apply("Theo")

    with pytest.raises(ValidationError) as err:
        enrollments.remove_application(
            cohort.db, actor=cohort.admin, enrollment_id=theo_app.id or 0, reason=reason
        )

    assert err.value.field == "reason"
    assert theo_app.status == "active"
    assert _notices(cohort.db, theo) == []


def test_only_the_groups_admins_can_remove_an_application(cohort: Cohort) -> None:
    sam, _ = cohort.apply("Sam")
    _theo, theo_app = cohort.apply("Theo")
    outsider_admin = make_user(cohort.db, display_name="Oz")
    make_group(cohort.db, admin=outsider_admin)

    for someone in (sam, outsider_admin):
        with pytest.raises((NotFound, PermissionDenied)):
            enrollments.remove_application(
                cohort.db, actor=someone, enrollment_id=theo_app.id or 0, reason="Spam"
            )
    assert theo_app.status == "active"


def test_an_application_in_an_active_pair_is_not_removed_before_the_pair_ends(
    cohort: Cohort,
) -> None:
    _mentor, mentor_app = cohort.apply("Maya", "mentor")
    _theo, theo_app = cohort.apply("Theo")
    cohort.start()
    cohort.pair(mentor_app, theo_app)

    with pytest.raises(Conflict, match="End their pair first"):
        enrollments.remove_application(
            cohort.db, actor=cohort.admin, enrollment_id=theo_app.id or 0, reason="Left town"
        )


def test_a_removed_member_is_not_paired_and_cannot_simply_sign_up_again(cohort: Cohort) -> None:
    _mentor, mentor_app = cohort.apply("Maya", "mentor")
    theo, theo_app = cohort.apply("Theo")
    cohort.draft(mentor_app, theo_app)

    enrollments.remove_application(
        cohort.db, actor=cohort.admin, enrollment_id=theo_app.id or 0, reason="Duplicate account"
    )
    cohort.db.commit()

    assert cohort.live_pairs_of(mentor_app) == []  # the admins' draft went with it
    with pytest.raises(Conflict, match="removed"):
        cohort.draft(mentor_app, theo_app)
    with pytest.raises(Conflict, match="removed"):
        make_application(cohort.db, program=cohort.program, user=theo)
    with pytest.raises(Conflict, match="removed"):
        enrollments.withdraw(cohort.db, actor=theo, enrollment_id=theo_app.id or 0)


# --- a mentor changes their capacity --------------------------------------------------------


def test_a_mentor_lowers_their_capacity_while_the_program_is_active(cohort: Cohort) -> None:
    maya, mentor_app = cohort.apply("Maya", "mentor", capacity=3)
    _theo, theo_app = cohort.apply("Theo")
    cohort.start()
    cohort.pair(mentor_app, theo_app)

    enrollments.change_capacity(
        cohort.db, actor=maya, enrollment_id=mentor_app.id or 0, capacity="1"
    )
    cohort.db.commit()

    assert mentor_app.capacity == 1


def test_capacity_never_goes_below_the_mentors_active_pairs(cohort: Cohort) -> None:
    maya, mentor_app = cohort.apply("Maya", "mentor", capacity=3)
    for name in ("Theo", "Uma"):
        _user, mentee_app = cohort.apply(name)
        cohort.draft(mentor_app, mentee_app)
    cohort.start()
    pairing.publish_pairs(cohort.db, actor=cohort.admin, program_id=cohort.program_id, today=TODAY)

    with pytest.raises(ValidationError) as err:
        enrollments.change_capacity(
            cohort.db, actor=maya, enrollment_id=mentor_app.id or 0, capacity=1
        )

    assert err.value.field == "capacity"
    assert err.value.message == (
        "You are mentoring 2 mentees in this program: choose 2 or more, or end a pair first."
    )
    assert mentor_app.capacity == 3


def test_a_lowered_capacity_is_a_real_limit_for_new_pairs(cohort: Cohort) -> None:
    maya, mentor_app = cohort.apply("Maya", "mentor", capacity=3)
    mentees = [cohort.apply(name)[1] for name in ("Theo", "Uma", "Vic")]
    cohort.start()
    first = cohort.draft(mentor_app, mentees[0])
    cohort.draft(mentor_app, mentees[1])
    pairing.publish_pairs(cohort.db, actor=cohort.admin, program_id=cohort.program_id, today=TODAY)
    journey.end_pair(
        cohort.db, actor=cohort.admin, pair_id=first.id or 0, reason="other", detail="Moved away"
    )
    cohort.db.commit()

    enrollments.change_capacity(cohort.db, actor=maya, enrollment_id=mentor_app.id or 0, capacity=1)
    cohort.db.commit()

    with pytest.raises(Conflict, match="no free capacity"):
        cohort.draft(mentor_app, mentees[2])
    assert len(cohort.live_pairs_of(mentor_app)) == 1


def test_lowering_capacity_drops_the_admins_draft_pairs_beyond_it(cohort: Cohort) -> None:
    maya, mentor_app = cohort.apply("Maya", "mentor", capacity=3)
    mentees = [cohort.apply(name)[1] for name in ("Theo", "Uma", "Vic")]
    cohort.start()
    cohort.pair(mentor_app, mentees[0])
    cohort.draft(mentor_app, mentees[1])
    cohort.draft(mentor_app, mentees[2])

    enrollments.change_capacity(cohort.db, actor=maya, enrollment_id=mentor_app.id or 0, capacity=2)
    cohort.db.commit()

    live = cohort.live_pairs_of(mentor_app)
    assert sorted(p.status for p in live) == ["active", "draft"]
    assert sorted(p.mentor_seat or 0 for p in live) == [1, 2]


def test_raising_capacity_is_bounded_by_the_program(cohort: Cohort) -> None:
    maya, mentor_app = cohort.apply("Maya", "mentor", capacity=1)
    cohort.start()

    enrollments.change_capacity(cohort.db, actor=maya, enrollment_id=mentor_app.id or 0, capacity=3)
    with pytest.raises(ValidationError):
        enrollments.change_capacity(
            cohort.db, actor=maya, enrollment_id=mentor_app.id or 0, capacity=4
        )
    assert mentor_app.capacity == 3


def test_only_the_mentor_changes_their_capacity(cohort: Cohort) -> None:
    _maya, mentor_app = cohort.apply("Maya", "mentor", capacity=2)
    theo, theo_app = cohort.apply("Theo")

    with pytest.raises(NotFound):
        enrollments.change_capacity(
            cohort.db, actor=cohort.admin, enrollment_id=mentor_app.id or 0, capacity=1
        )
    with pytest.raises(Conflict, match="mentors"):
        enrollments.change_capacity(
            cohort.db, actor=theo, enrollment_id=theo_app.id or 0, capacity=1
        )
    assert mentor_app.capacity == 2


def test_a_withdrawn_mentor_cannot_change_capacity(cohort: Cohort) -> None:
    maya, mentor_app = cohort.apply("Maya", "mentor", capacity=2)
    enrollments.withdraw(cohort.db, actor=maya, enrollment_id=mentor_app.id or 0)

    with pytest.raises(Conflict):
        enrollments.change_capacity(
            cohort.db, actor=maya, enrollment_id=mentor_app.id or 0, capacity=1
        )


def test_the_member_is_also_emailed_that_their_application_was_removed(cohort: Cohort) -> None:
    theo, theo_app = cohort.apply("Theo")

    enrollments.remove_application(
        cohort.db, actor=cohort.admin, enrollment_id=theo_app.id or 0, reason="Program is full"
    )
    cohort.db.commit()

    mail = cohort.db.exec(select(EmailOutbox)).one()
    assert (mail.to_address, mail.subject) == (
        theo.email,
        "Your application to a mentoring program was removed",
    )
    assert "Program is full" in mail.body


def test_the_dashboard_counts_a_removed_application_as_gone(cohort: Cohort) -> None:
    _theo, theo_app = cohort.apply("Theo")
    cohort.apply("Uma")

    enrollments.remove_application(
        cohort.db, actor=cohort.admin, enrollment_id=theo_app.id or 0, reason="Duplicate"
    )

    board = dashboard.get_dashboard(cohort.db, actor=cohort.admin, program_id=cohort.program_id)
    assert (board.applications["mentee"], board.withdrawn) == (1, 1)
