"""Members signing up as mentor or mentee, editing and withdrawing their application."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session, select

from mentor_app.models import Enrollment, Group, Program, User
from mentor_app.services import enrollments, programs
from mentor_app.services.errors import Conflict, NotFound, PermissionDenied, ValidationError
from tests.factories import (
    TODAY,
    add_member,
    answers_for,
    make_application,
    make_group,
    make_minor,
    make_program,
    make_user,
)


@pytest.fixture
def admin(db: Session) -> User:
    return make_user(db, display_name="Ada")


@pytest.fixture
def group(db: Session, admin: User) -> Group:
    return make_group(db, admin=admin)


@pytest.fixture
def program(db: Session, admin: User, group: Group) -> Program:
    return make_program(db, admin=admin, group=group, mentor_capacity_max=3)


@pytest.fixture
def member(db: Session, group: Group) -> User:
    sam = make_user(db, display_name="Sam")
    add_member(db, group, sam)
    return sam


def _apply(
    db: Session,
    user: User,
    program: Program,
    role: str = "mentee",
    answers: dict[str, Any] | None = None,
    capacity: int | str | None = None,
) -> Enrollment:
    assert program.id is not None
    return enrollments.apply(
        db,
        actor=user,
        program_id=program.id,
        role=role,
        answers=answers if answers is not None else answers_for(program, role),
        capacity=capacity,
        today=TODAY,
    )


def _refused(db: Session, user: User, program: Program, **kwargs: Any) -> ValidationError:
    with pytest.raises(ValidationError) as err:
        _apply(db, user, program, **kwargs)
    return err.value


# --- signing up ---------------------------------------------------------------------------


def test_member_signs_up_as_mentor_with_a_capacity(
    db: Session, program: Program, member: User
) -> None:
    enrollment = _apply(db, member, program, role="mentor", capacity="2")
    db.commit()
    stored = db.exec(select(Enrollment)).one()
    assert (stored.id, stored.user_id, stored.role, stored.capacity, stored.status) == (
        enrollment.id,
        member.id,
        "mentor",
        2,
        "active",
    )
    assert stored.answers == answers_for(program, "mentor")


def test_member_signs_up_as_mentee_without_a_capacity(
    db: Session, program: Program, member: User
) -> None:
    enrollment = _apply(db, member, program, role="mentee", capacity="3")
    assert (enrollment.role, enrollment.capacity) == ("mentee", None)


def test_non_member_is_asked_to_join_the_group_first(db: Session, program: Program) -> None:
    outsider = make_user(db)
    with pytest.raises(PermissionDenied) as err:
        _apply(db, outsider, program)
    assert err.value.message == "Join the group first to sign up."


def test_applying_twice_is_refused(db: Session, program: Program, member: User) -> None:
    _apply(db, member, program, role="mentee")
    with pytest.raises(Conflict) as err:
        _apply(db, member, program, role="mentee")
    assert err.value.message == "You have already applied to this program."


def test_member_cannot_be_both_mentor_and_mentee(
    db: Session, program: Program, member: User
) -> None:
    _apply(db, member, program, role="mentor", capacity=1)
    with pytest.raises(Conflict) as err:
        _apply(db, member, program, role="mentee")
    assert "can't be both mentor and mentee" in err.value.message
    assert len(db.exec(select(Enrollment)).all()) == 1


def test_a_double_submit_that_slips_past_the_check_is_a_conflict(
    db: Session, program: Program, member: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    _apply(db, member, program)
    db.commit()
    monkeypatch.setattr(enrollments, "_existing_application", lambda *a, **k: None)
    with pytest.raises(Conflict):
        _apply(db, member, program)
    # The savepoint kept the session usable.
    assert len(db.exec(select(Enrollment)).all()) == 1


def test_missing_required_answer_is_refused_next_to_its_question(
    db: Session, program: Program, member: User
) -> None:
    answers = answers_for(program, "mentee")
    answers["mentee_hopes"] = "   "
    error = _refused(db, member, program, answers=answers)
    assert (error.field, error.message) == (
        "answers.mentee_hopes",
        "This question needs an answer.",
    )


def test_required_multiple_choice_needs_at_least_one_option(
    db: Session, program: Program, member: User
) -> None:
    answers = answers_for(program, "mentee") | {"mentee_languages": []}
    error = _refused(db, member, program, answers=answers)
    assert (error.field, error.message) == (
        "answers.mentee_languages",
        "Choose at least one option.",
    )


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("mentee_timezone", "Mars"),
        ("mentee_languages", ["English", "Klingon"]),
        ("mentee_timezone", ["Americas"]),
    ],
)
def test_answer_outside_the_options_is_refused(
    db: Session, program: Program, member: User, question: str, answer: Any
) -> None:
    answers = answers_for(program, "mentee") | {question: answer}
    assert _refused(db, member, program, answers=answers).field == f"answers.{question}"


def test_over_long_text_answer_is_refused(db: Session, program: Program, member: User) -> None:
    answers = answers_for(program, "mentee") | {"mentee_hopes": "h" * 2001}
    error = _refused(db, member, program, answers=answers)
    assert (error.field, error.message) == ("answers.mentee_hopes", "Use at most 2000 characters.")


def test_answers_to_other_questions_are_not_stored(
    db: Session, program: Program, member: User
) -> None:
    answers = answers_for(program, "mentee") | {"mentor_why": "sneaky", "made_up": "x"}
    enrollment = _apply(db, member, program, answers=answers)
    assert set(enrollment.answers) == set(answers_for(program, "mentee"))


@pytest.mark.parametrize(
    ("capacity", "message"),
    [
        (4, "Choose between 1 and 3 mentees."),
        ("0", "Choose between 1 and 3 mentees."),
        (None, "Say how many mentees you can take."),
        ("two", "Enter a whole number."),
    ],
)
def test_mentor_capacity_outside_the_programs_limit_is_refused(
    db: Session, program: Program, member: User, capacity: Any, message: str
) -> None:
    error = _refused(db, member, program, role="mentor", capacity=capacity)
    assert (error.field, error.message) == ("capacity", message)


def test_unknown_role_is_refused(db: Session, program: Program, member: User) -> None:
    assert _refused(db, member, program, role="sponsor", answers={}).field == "role"


def test_member_under_18_cannot_sign_up(db: Session, group: Group, program: Program) -> None:
    young = make_minor(db)
    add_member(db, group, young)
    with pytest.raises(PermissionDenied) as err:
        _apply(db, young, program)
    assert "18 or older" in err.value.message
    assert db.exec(select(Enrollment)).all() == []


def test_member_who_turns_18_today_can_sign_up(db: Session, group: Group, program: Program) -> None:
    adult = make_minor(db, dob=TODAY.replace(year=TODAY.year - 18))
    add_member(db, group, adult)
    assert _apply(db, adult, program).status == "active"


def test_sign_ups_are_closed_once_the_program_is_active(
    db: Session, admin: User, program: Program, member: User
) -> None:
    programs.advance_status(db, actor=admin, program_id=program.id or 0, expected_status="open")
    with pytest.raises(Conflict) as err:
        _apply(db, member, program)
    assert err.value.message == "Sign-ups are closed for this program."


def test_a_draft_cannot_be_signed_up_to(
    db: Session, admin: User, group: Group, member: User
) -> None:
    draft = make_program(db, admin=admin, group=group, status="draft")
    with pytest.raises(NotFound):
        _apply(db, member, draft)


# --- after signing up --------------------------------------------------------------------------


def test_member_updates_their_application_while_sign_ups_are_open(
    db: Session, program: Program, member: User
) -> None:
    enrollment = make_application(db, program=program, user=member, role="mentor", capacity=1)
    answers = answers_for(program, "mentor") | {"mentor_timezone": "Asia/Pacific"}
    enrollments.update_application(
        db, actor=member, enrollment_id=enrollment.id or 0, answers=answers, capacity=3, today=TODAY
    )
    db.commit()
    db.expire_all()
    stored = db.exec(select(Enrollment)).one()
    assert (stored.answers["mentor_timezone"], stored.capacity, stored.role) == (
        "Asia/Pacific",
        3,
        "mentor",
    )


def test_update_is_validated_like_sign_up(db: Session, program: Program, member: User) -> None:
    enrollment = make_application(db, program=program, user=member, role="mentor")
    with pytest.raises(ValidationError) as err:
        enrollments.update_application(
            db,
            actor=member,
            enrollment_id=enrollment.id or 0,
            answers=answers_for(program, "mentor"),
            capacity=9,
            today=TODAY,
        )
    assert err.value.field == "capacity"


def test_application_cannot_change_once_the_program_is_active(
    db: Session, admin: User, program: Program, member: User
) -> None:
    enrollment = make_application(db, program=program, user=member)
    programs.advance_status(db, actor=admin, program_id=program.id or 0, expected_status="open")
    with pytest.raises(Conflict):
        enrollments.update_application(
            db,
            actor=member,
            enrollment_id=enrollment.id or 0,
            answers=answers_for(program, "mentee"),
            today=TODAY,
        )


def test_nobody_else_can_change_or_withdraw_my_application(
    db: Session, group: Group, program: Program, member: User
) -> None:
    enrollment = make_application(db, program=program, user=member)
    other = make_user(db)
    add_member(db, group, other)
    with pytest.raises(NotFound):
        enrollments.withdraw(db, actor=other, enrollment_id=enrollment.id or 0)
    with pytest.raises(NotFound):
        enrollments.update_application(
            db, actor=other, enrollment_id=enrollment.id or 0, answers={}, today=TODAY
        )
    assert enrollment.status == "active"


def test_withdrawn_applications_are_not_counted_for_the_admin(
    db: Session, admin: User, group: Group, program: Program, member: User
) -> None:
    kim = make_user(db, display_name="Kim")
    add_member(db, group, kim)
    make_application(db, program=program, user=kim, role="mentee")
    mine = make_application(db, program=program, user=member, role="mentee")
    enrollments.withdraw(db, actor=member, enrollment_id=mine.id or 0)
    overview = programs.get_admin_overview(db, actor=admin, program_id=program.id or 0)
    assert overview.counts == {"mentor": 0, "mentee": 1}
    assert [(r.display_name, r.status) for r in overview.mentees.items] == [
        ("Kim", "active"),
        ("Sam", "withdrawn"),
    ]


def test_member_who_withdrew_can_sign_up_again_in_either_role(
    db: Session, program: Program, member: User
) -> None:
    first = make_application(db, program=program, user=member, role="mentee")
    enrollments.withdraw(db, actor=member, enrollment_id=first.id or 0)
    again = _apply(db, member, program, role="mentor", capacity=2)
    assert (again.id, again.role, again.capacity, again.status) == (first.id, "mentor", 2, "active")


def test_withdrawn_application_cannot_be_edited(
    db: Session, program: Program, member: User
) -> None:
    enrollment = make_application(db, program=program, user=member)
    enrollments.withdraw(db, actor=member, enrollment_id=enrollment.id or 0)
    with pytest.raises(Conflict):
        enrollments.update_application(
            db,
            actor=member,
            enrollment_id=enrollment.id or 0,
            answers=answers_for(program, "mentee"),
            today=TODAY,
        )


def test_my_application_is_found_for_the_program(
    db: Session, program: Program, member: User
) -> None:
    assert enrollments.get_my_application(db, actor=member, program_id=program.id or 0) is None
    enrollment = make_application(db, program=program, user=member)
    found = enrollments.get_my_application(db, actor=member, program_id=program.id or 0)
    assert found is not None and found.id == enrollment.id


def test_a_member_chooses_whether_their_partner_may_read_their_answers(db: Session) -> None:
    admin = make_user(db)
    program = make_program(db, admin=admin)
    member = make_user(db)
    add_member(db, db.get(Group, program.group_id), member)  # type: ignore[arg-type]
    enrollment = enrollments.apply(
        db, actor=member, program_id=program.id or 0, role="mentee",
        answers=answers_for(program, "mentee"), share_answers=False, today=TODAY,
    )  # fmt: skip
    assert enrollment.share_answers is False
    enrollments.update_application(
        db, actor=member, enrollment_id=enrollment.id or 0,
        answers=answers_for(program, "mentee"), share_answers=True, today=TODAY,
    )  # fmt: skip
    assert enrollment.share_answers is True
