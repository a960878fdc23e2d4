"""The program wizard, publishing, moving a program forward and the program pages."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from mentor_app.models import AuditLog, Group, Program, User
from mentor_app.program_templates import TEMPLATES
from mentor_app.services import enrollments, programs
from mentor_app.services.errors import Conflict, NotFound, PermissionDenied, ValidationError
from tests.factories import (
    START,
    TODAY,
    add_applicants,
    add_member,
    make_application,
    make_group,
    make_program,
    make_user,
)

CAREER = TEMPLATES["career_advancement"]


def _start(db: Session, admin: User, group: Group, key: str = "career_advancement") -> Program:
    assert group.id is not None
    program = programs.start_program(db, actor=admin, group_id=group.id, template_key=key)
    db.commit()
    return program


def _pid(program: Program) -> int:
    assert program.id is not None
    return program.id


def _details(**changes: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "title": "Spring careers circle",
        "description": "Eight weeks of career conversations.",
        "start_date": START.isoformat(),
        "length_weeks": "8",
        "mentor_capacity_max": "3",
    }
    return form | changes


def _questions(program: Program) -> list[dict[str, Any]]:
    return copy.deepcopy(program.questions)


def _question(**changes: Any) -> dict[str, Any]:
    question: dict[str, Any] = {
        "id": "extra",
        "role": "mentee",
        "text": "Which day suits you best?",
        "type": "single_choice",
        "options": ["Weekdays", "Weekends"],
        "required": False,
        "for_matching": False,
        "match_key": None,
    }
    return question | changes


@pytest.fixture
def admin(db: Session) -> User:
    return make_user(db, display_name="Ada")


@pytest.fixture
def group(db: Session, admin: User) -> Group:
    return make_group(db, admin=admin, category="professional")


@pytest.fixture
def draft(db: Session, admin: User, group: Group) -> Program:
    return _start(db, admin, group)


# --- starting from a template --------------------------------------------------------------


def test_admin_starts_a_draft_copied_from_the_template(
    db: Session, admin: User, draft: Program
) -> None:
    assert (draft.status, draft.template_key, draft.wizard_step) == ("draft", CAREER.key, 2)
    assert (draft.title, draft.description) == (CAREER.title, CAREER.description)
    assert draft.length_weeks == CAREER.default_length_weeks == len(draft.journey)
    assert draft.questions == list(CAREER.questions)
    assert draft.journey == list(CAREER.journey)
    assert draft.mentor_capacity_max == 3
    row = db.exec(select(AuditLog).where(AuditLog.action == "program_created")).one()
    assert (row.actor_id, row.target_type, row.target_id) == (admin.id, "program", draft.id)


def test_editing_a_draft_leaves_the_template_untouched(
    db: Session, admin: User, draft: Program
) -> None:
    before = copy.deepcopy(CAREER.journey)
    draft.journey[0]["prompts"].append("changed in place")
    draft.questions[0]["options"].append("changed in place")
    assert CAREER.journey == before
    assert "changed in place" not in CAREER.questions[0]["options"]


def test_member_who_is_not_admin_cannot_start_a_program(
    db: Session, admin: User, group: Group
) -> None:
    sam = make_user(db)
    add_member(db, group, sam)
    with pytest.raises(PermissionDenied) as err:
        _start(db, sam, group)
    assert err.value.message == "Only group admins can do that."
    assert db.exec(select(Program)).all() == []


def test_admin_of_another_group_cannot_start_a_program_here(db: Session, group: Group) -> None:
    other_admin = make_user(db)
    make_group(db, admin=other_admin)
    with pytest.raises(PermissionDenied):
        _start(db, other_admin, group)


def test_group_of_an_ineligible_category_cannot_run_a_program(db: Session, admin: User) -> None:
    hobby = make_group(db, admin=admin, category="other")
    with pytest.raises(PermissionDenied) as err:
        _start(db, admin, hobby)
    assert "only available for parenting, professional and personal development" in str(err.value)


def test_wizard_entry_refuses_whoever_could_not_start_a_program(
    db: Session, admin: User, group: Group
) -> None:
    sam = make_user(db)
    add_member(db, group, sam)
    hobby = make_group(db, admin=admin, category="other")
    assert group.id is not None and hobby.id is not None
    assert programs.check_can_create(db, actor=admin, group_id=group.id) is group
    with pytest.raises(PermissionDenied):
        programs.check_can_create(db, actor=sam, group_id=group.id)
    with pytest.raises(PermissionDenied):
        programs.check_can_create(db, actor=admin, group_id=hobby.id)
    with pytest.raises(NotFound):
        programs.check_can_create(db, actor=admin, group_id=999)


def test_unknown_template_is_refused(db: Session, admin: User, group: Group) -> None:
    with pytest.raises(ValidationError) as err:
        _start(db, admin, group, key="gardening")
    assert err.value.field == "template_key"


# --- who may open the draft ------------------------------------------------------------------


def test_member_cannot_open_the_wizard_of_a_draft(
    db: Session, group: Group, draft: Program
) -> None:
    sam = make_user(db)
    add_member(db, group, sam)
    with pytest.raises(PermissionDenied):
        programs.get_draft(db, actor=sam, program_id=_pid(draft))


def test_admin_of_another_group_cannot_post_to_the_wizard(db: Session, draft: Program) -> None:
    other_admin = make_user(db)
    make_group(db, admin=other_admin)
    with pytest.raises(PermissionDenied):
        programs.save_details(db, actor=other_admin, program_id=_pid(draft), **_details())
    db.refresh(draft)
    assert draft.title == CAREER.title


def test_unknown_program_is_not_found(db: Session, admin: User) -> None:
    with pytest.raises(NotFound):
        programs.get_draft(db, actor=admin, program_id=999)


def test_published_program_cannot_be_edited_in_the_wizard(db: Session, admin: User) -> None:
    program = make_program(db, admin=admin)
    with pytest.raises(Conflict) as err:
        programs.get_draft(db, actor=admin, program_id=_pid(program))
    assert err.value.message == "This program has been published."


# --- step 2: details ----------------------------------------------------------------------------


def test_details_are_saved_and_the_wizard_moves_on_to_questions(
    db: Session, admin: User, draft: Program
) -> None:
    programs.save_details(
        db, actor=admin, program_id=_pid(draft), today=TODAY, **_details(title="  Spring  ")
    )
    assert (draft.title, draft.start_date, draft.mentor_capacity_max) == ("Spring", START, 3)
    assert draft.wizard_step == 3


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"length_weeks": "0"}, "length_weeks", "Choose between 1 and 52 weeks."),
        ({"length_weeks": "53"}, "length_weeks", "Choose between 1 and 52 weeks."),
        ({"length_weeks": "eight"}, "length_weeks", "Enter a whole number."),
        ({"title": "   "}, "title", "Give the program a title."),
        ({"title": "x" * 121}, "title", "Use at most 120 characters."),
        ({"description": "d" * 4001}, "description", "Use at most 4000 characters."),
        ({"start_date": "2026-02-30"}, "start_date", "Enter a valid date."),
        ({"start_date": "2026-01-14"}, "start_date", "The start date can't be in the past."),
        ({"mentor_capacity_max": "0"}, "mentor_capacity_max", "Choose between 1 and 5 mentees."),
        ({"mentor_capacity_max": 6}, "mentor_capacity_max", "Choose between 1 and 5 mentees."),
    ],
)
def test_bad_details_are_refused_next_to_their_field(
    db: Session, admin: User, draft: Program, changes: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(ValidationError) as err:
        programs.save_details(
            db, actor=admin, program_id=_pid(draft), today=TODAY, **_details(**changes)
        )
    assert (err.value.field, err.value.message) == (field, message)


def test_start_date_may_be_left_for_later(db: Session, admin: User, draft: Program) -> None:
    programs.save_details(
        db, actor=admin, program_id=_pid(draft), today=TODAY, **_details(start_date="")
    )
    assert draft.start_date is None


def test_shortening_the_program_trims_the_journey(db: Session, admin: User, draft: Program) -> None:
    programs.save_details(
        db, actor=admin, program_id=_pid(draft), today=TODAY, **_details(length_weeks=5)
    )
    assert draft.length_weeks == 5
    assert draft.journey == list(CAREER.journey[:5])


def test_lengthening_the_program_adds_weeks_for_the_admin_to_fill(
    db: Session, admin: User, draft: Program
) -> None:
    programs.save_details(
        db, actor=admin, program_id=_pid(draft), today=TODAY, **_details(length_weeks="10")
    )
    assert [s["week"] for s in draft.journey] == list(range(1, 11))
    assert draft.journey[9] == {"week": 10, "title": "Week 10", "focus": "", "prompts": []}


def test_an_added_week_must_be_filled_before_publishing(
    db: Session, admin: User, draft: Program
) -> None:
    programs.save_details(
        db, actor=admin, program_id=_pid(draft), today=TODAY, **_details(length_weeks="9")
    )
    with pytest.raises(ValidationError) as err:
        programs.publish(db, actor=admin, program_id=_pid(draft), today=TODAY)
    assert err.value.field == "journey.8.focus"
    assert programs.wizard_step_for(err.value.field) == 4


# --- step 3: questions --------------------------------------------------------------------------


def _refused_questions(db: Session, admin: User, draft: Program, questions: list) -> Any:
    with pytest.raises(ValidationError) as err:
        programs.save_questions(db, actor=admin, program_id=_pid(draft), questions=questions)
    return err.value


def test_choice_question_without_options_is_refused(
    db: Session, admin: User, draft: Program
) -> None:
    questions = [*_questions(draft), _question(options=[])]
    error = _refused_questions(db, admin, draft, questions)
    assert error.field == "questions.12.options"
    assert error.message == "A choice question needs at least 2 options."


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"options": ["Weekdays", "", "Weekends"]}, "options", "Option 2 is empty"),
        ({"options": ["Weekdays", "weekdays"]}, "options", "Option 2 repeats"),
        ({"options": ["Weekdays", "w" * 81]}, "options", "Option 2 is too long"),
        ({"options": [str(n) for n in range(21)]}, "options", "Use at most 20 options."),
        ({"type": "short_text"}, "options", "Only choice questions have options."),
        ({"role": "parent"}, "role", "Choose who answers"),
        ({"text": ""}, "text", "Write the question."),
        ({"text": "q" * 301}, "text", "Use at most 300 characters."),
        ({"type": "essay"}, "type", "Choose a question type."),
        ({"id": "mentee_areas"}, "id", "Two questions share this id."),
        ({"type": "long_text", "options": [], "for_matching": True}, "for_matching", "Only"),
        (
            {"for_matching": True, "match_key": "timezone"},
            "match_key",
            "Another question for mentees",
        ),
    ],
)
def test_bad_question_is_refused_next_to_its_field(
    db: Session, admin: User, draft: Program, changes: dict[str, Any], field: str, message: str
) -> None:
    error = _refused_questions(db, admin, draft, [*_questions(draft), _question(**changes)])
    assert error.field == f"questions.12.{field}"
    assert error.message.startswith(message)


def test_each_role_needs_at_least_one_question(db: Session, admin: User, draft: Program) -> None:
    only_mentors = [q for q in _questions(draft) if q["role"] == "mentor"]
    error = _refused_questions(db, admin, draft, only_mentors)
    assert (error.field, error.message) == ("questions", "Add at least one question for mentees.")


def test_more_than_30_questions_are_refused(db: Session, admin: User, draft: Program) -> None:
    many = [_question(id=f"q{n}") for n in range(31)]
    assert _refused_questions(db, admin, draft, many).field == "questions"


def test_saved_questions_are_tidied_and_new_ones_get_an_id(
    db: Session, admin: User, draft: Program
) -> None:
    new = _question(id="", text="  Which day suits you best?  ", extra="dropped")
    programs.save_questions(
        db, actor=admin, program_id=_pid(draft), questions=[*_questions(draft), new]
    )
    saved = draft.questions[-1]
    assert saved["text"] == "Which day suits you best?"
    assert saved["id"].startswith("mentee-") and "extra" not in saved
    assert draft.wizard_step == 4


def test_removing_and_reordering_questions_is_saved(
    db: Session, admin: User, draft: Program
) -> None:
    questions = programs.move_question(_questions(draft), 1, -1)
    questions = programs.remove_question(questions, 5)
    programs.save_questions(db, actor=admin, program_id=_pid(draft), questions=questions)
    db.commit()
    db.expire_all()
    ids = [q["id"] for q in db.get(Program, _pid(draft)).questions]  # type: ignore[union-attr]
    assert ids[:2] == ["mentor_experience", "mentor_areas"]
    assert "mentor_why" not in ids


def test_switching_a_question_to_text_drops_its_options() -> None:
    question = programs.set_question_type(_question(for_matching=True), "long_text")
    assert (question["options"], question["for_matching"]) == ([], False)
    saved = programs.validate_questions([question, _question(id="m", role="mentor")])
    assert saved[0]["type"] == "long_text"


# --- step 4: journey -----------------------------------------------------------------------------


def test_journey_with_no_steps_is_refused(db: Session, admin: User, draft: Program) -> None:
    with pytest.raises(ValidationError) as err:
        programs.save_journey(db, actor=admin, program_id=_pid(draft), journey=[])
    assert (err.value.field, err.value.message) == ("journey", "A journey needs at least one step.")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"title": " "}, "journey.1.title"),
        ({"title": "t" * 121}, "journey.1.title"),
        ({"focus": "f" * 1001}, "journey.1.focus"),
        ({"prompts": [f"p{n}" for n in range(7)]}, "journey.1.prompts"),
        ({"prompts": ["p" * 301]}, "journey.1.prompts"),
    ],
)
def test_bad_step_is_refused_next_to_its_field(
    db: Session, admin: User, draft: Program, changes: dict[str, Any], field: str
) -> None:
    journey = copy.deepcopy(draft.journey)
    journey[1].update(changes)
    with pytest.raises(ValidationError) as err:
        programs.save_journey(db, actor=admin, program_id=_pid(draft), journey=journey)
    assert err.value.field == field


def test_saved_journey_is_renumbered_and_sets_the_length(
    db: Session, admin: User, draft: Program
) -> None:
    journey = programs.remove_step(copy.deepcopy(draft.journey), 0)
    journey[0]["prompts"] = ["Talk", "  ", ""]
    journey[0]["week"] = 7
    programs.save_journey(db, actor=admin, program_id=_pid(draft), journey=journey)
    assert draft.length_weeks == 7
    assert [s["week"] for s in draft.journey] == list(range(1, 8))
    assert draft.journey[0]["prompts"] == ["Talk"]
    assert draft.wizard_step == 5


# --- resuming -----------------------------------------------------------------------------------


def test_admin_who_leaves_at_questions_resumes_there(
    engine: Engine, db: Session, admin: User, draft: Program
) -> None:
    programs.save_details(db, actor=admin, program_id=_pid(draft), today=TODAY, **_details())
    db.commit()
    with Session(engine) as later:
        resumed = programs.get_draft(later, actor=admin, program_id=_pid(draft))
        assert (resumed.wizard_step, resumed.title) == (3, "Spring careers circle")


def test_going_back_a_step_is_remembered(db: Session, admin: User, draft: Program) -> None:
    programs.set_wizard_step(db, actor=admin, program_id=_pid(draft), step=1)
    assert draft.wizard_step == 1
    with pytest.raises(ValidationError):
        programs.set_wizard_step(db, actor=admin, program_id=_pid(draft), step=6)


# --- publishing and status ----------------------------------------------------------------------


def test_publishing_opens_sign_ups(db: Session, admin: User, draft: Program) -> None:
    programs.save_details(db, actor=admin, program_id=_pid(draft), today=TODAY, **_details())
    programs.publish(db, actor=admin, program_id=_pid(draft), today=TODAY)
    assert draft.status == "open" and draft.published_at is not None
    row = db.exec(select(AuditLog).where(AuditLog.action == "program_published")).one()
    assert (row.actor_id, row.target_id) == (admin.id, draft.id)


def test_publishing_without_a_start_date_is_refused(
    db: Session, admin: User, draft: Program
) -> None:
    with pytest.raises(ValidationError) as err:
        programs.publish(db, actor=admin, program_id=_pid(draft), today=TODAY)
    assert (err.value.field, err.value.message) == ("start_date", "Choose a start date.")
    assert draft.status == "draft"
    assert programs.wizard_step_for(err.value.field) == 2


def test_publishing_after_the_start_date_passed_is_refused(
    db: Session, admin: User, draft: Program
) -> None:
    programs.save_details(db, actor=admin, program_id=_pid(draft), today=TODAY, **_details())
    with pytest.raises(ValidationError) as err:
        programs.publish(
            db, actor=admin, program_id=_pid(draft), today=START + dt.timedelta(days=1)
        )
    assert err.value.field == "start_date"


def test_publishing_rechecks_questions_stored_in_the_draft(
    db: Session, admin: User, draft: Program
) -> None:
    programs.save_details(db, actor=admin, program_id=_pid(draft), today=TODAY, **_details())
    draft.questions = [*_questions(draft), _question(options=["Only one"])]
    with pytest.raises(ValidationError) as err:
        programs.publish(db, actor=admin, program_id=_pid(draft), today=TODAY)
    assert err.value.field == "questions.12.options"
    assert draft.status == "draft"


def test_member_cannot_publish(db: Session, group: Group, draft: Program) -> None:
    sam = make_user(db)
    add_member(db, group, sam)
    with pytest.raises(PermissionDenied):
        programs.publish(db, actor=sam, program_id=_pid(draft), today=TODAY)


def test_admin_moves_a_program_from_open_to_active_to_closed(db: Session, admin: User) -> None:
    program = make_program(db, admin=admin)
    seen = [
        programs.advance_status(
            db, actor=admin, program_id=_pid(program), expected_status=status
        ).status
        for status in ("open", "active")
    ]
    assert seen == ["active", "closed"]
    with pytest.raises(Conflict, match="is closed"):
        programs.advance_status(db, actor=admin, program_id=_pid(program), expected_status="closed")
    details = db.exec(
        select(AuditLog.detail).where(AuditLog.action == "program_status_changed")
    ).all()
    assert details == ["open → active", "active → closed"]


def test_draft_cannot_skip_publishing(db: Session, admin: User, draft: Program) -> None:
    with pytest.raises(Conflict) as err:
        programs.advance_status(db, actor=admin, program_id=_pid(draft), expected_status="draft")
    assert err.value.message == "Publish the program first."


def test_repeated_confirmation_cannot_skip_a_stage(db: Session, admin: User) -> None:
    program = make_program(db, admin=admin)
    programs.advance_status(db, actor=admin, program_id=_pid(program), expected_status="open")
    with pytest.raises(Conflict):
        programs.advance_status(db, actor=admin, program_id=_pid(program), expected_status="open")
    assert program.status == "active"


def test_member_cannot_move_a_program_forward(db: Session, admin: User, group: Group) -> None:
    program = make_program(db, admin=admin, group=group)
    sam = make_user(db)
    add_member(db, group, sam)
    with pytest.raises(PermissionDenied):
        programs.advance_status(db, actor=sam, program_id=_pid(program), expected_status="open")
    assert program.status == "open"


# --- the group's programs and the program page ----------------------------------------------


def test_members_see_published_programs_and_admins_also_drafts(
    db: Session, admin: User, group: Group
) -> None:
    published = make_program(db, admin=admin, group=group)
    draft = make_program(db, admin=admin, group=group, status="draft")
    sam = make_user(db)
    add_member(db, group, sam)
    assert group.id is not None
    seen_by_member = programs.list_group_programs(db, actor=sam, group_id=group.id)
    seen_by_admin = programs.list_group_programs(db, actor=admin, group_id=group.id)
    assert [c.id for c in seen_by_member] == [published.id]
    assert [c.id for c in seen_by_admin] == [draft.id, published.id]
    assert seen_by_member[0].template_title == "Career advancement"


def test_program_cards_count_active_mentors_and_mentees(
    db: Session, admin: User, group: Group
) -> None:
    program = make_program(db, admin=admin, group=group)
    people = [make_user(db) for _ in range(3)]
    for person in people:
        add_member(db, group, person)
    make_application(db, program=program, user=people[0], role="mentor")
    make_application(db, program=program, user=people[1], role="mentee")
    gone = make_application(db, program=program, user=people[2], role="mentee")
    enrollments.withdraw(db, actor=people[2], enrollment_id=gone.id or 0)
    assert group.id is not None
    card = programs.list_group_programs(db, actor=people[0], group_id=group.id)[0]
    assert (card.mentor_count, card.mentee_count) == (1, 1)


def test_non_member_sees_an_open_program_and_is_asked_to_join(
    db: Session, admin: User, group: Group
) -> None:
    program = make_program(db, admin=admin, group=group)
    outsider = make_user(db)
    page = programs.get_program_page(db, actor=outsider, program_id=_pid(program))
    assert (page.is_member, page.is_admin, page.my_enrollment) == (False, False, None)
    assert page.group_name == group.name
    assert len(page.journey) == 8


def test_draft_page_is_hidden_from_everyone_but_admins(
    db: Session, admin: User, group: Group, draft: Program
) -> None:
    sam, outsider = make_user(db), make_user(db)
    add_member(db, group, sam)
    for person in (sam, outsider):
        with pytest.raises(NotFound):
            programs.get_program_page(db, actor=person, program_id=_pid(draft))
    assert programs.get_program_page(db, actor=admin, program_id=_pid(draft)).is_admin


def test_programs_of_a_closed_group_are_hidden_from_outsiders(db: Session, admin: User) -> None:
    private = make_group(db, admin=admin, is_open=False)
    program = make_program(db, admin=admin, group=private)
    with pytest.raises(NotFound):
        programs.get_program_page(db, actor=make_user(db), program_id=_pid(program))


def test_program_page_shows_each_roles_questions_and_my_application(
    db: Session, admin: User, group: Group
) -> None:
    program = make_program(db, admin=admin, group=group)
    sam = make_user(db)
    add_member(db, group, sam)
    mine = make_application(db, program=program, user=sam, role="mentor", capacity=2)
    page = programs.get_program_page(db, actor=sam, program_id=_pid(program))
    assert {q["role"] for q in page.mentor_questions} == {"mentor"}
    assert {q["role"] for q in page.mentee_questions} == {"mentee"}
    assert page.my_enrollment is not None
    assert (page.my_enrollment.id, page.my_enrollment.role, page.my_enrollment.capacity) == (
        mine.id,
        "mentor",
        2,
    )


# --- admin overview ---------------------------------------------------------------------------


def test_admin_sees_applications_by_role_with_counts(
    db: Session, admin: User, group: Group
) -> None:
    program = make_program(db, admin=admin, group=group)
    maya, sam, kim = (make_user(db, display_name=n) for n in ("Maya", "Sam", "Kim"))
    for person in (maya, sam, kim):
        add_member(db, group, person)
    make_application(db, program=program, user=maya, role="mentor", capacity=3)
    make_application(db, program=program, user=sam, role="mentee")
    make_application(db, program=program, user=kim, role="mentee")
    overview = programs.get_admin_overview(db, actor=admin, program_id=_pid(program))
    assert overview.counts == {"mentor": 1, "mentee": 2}
    assert [(r.display_name, r.capacity) for r in overview.mentors.items] == [("Maya", 3)]
    assert [r.display_name for r in overview.mentees.items] == ["Sam", "Kim"]
    assert overview.mentees.items[0].answers[0] == (
        "Which areas would you like help with?",
        "Getting promoted, Changing careers",
    )
    assert overview.next_status == "active"


def test_applications_are_read_a_page_at_a_time_per_role_active_ones_first(
    db: Session, admin: User, group: Group
) -> None:
    program = make_program(db, admin=admin, group=group)
    mentees = add_applicants(
        db, program=program, role="mentee", names=[f"Mentee {n:02d}" for n in range(45)]
    )
    mentors = add_applicants(db, program=program, role="mentor", names=["Maya", "Omar"])
    # Applied in the same instant: the id settles the order between pages.
    for enrollment in mentees[10:20]:
        enrollment.created_at = mentees[10].created_at
    for enrollment in mentees[:5]:  # withdrawn: after the active ones
        enrollment.status = "withdrawn"
    db.add_all(mentees)
    db.commit()
    expected = [e.id for e in mentees[5:]] + [e.id for e in mentees[:5]]

    overviews = [
        programs.get_admin_overview(db, actor=admin, program_id=_pid(program), mentees_page=n)
        for n in range(3)
    ]

    assert [len(o.mentees.items) for o in overviews] == [20, 20, 5]
    assert [r.enrollment_id for o in overviews for r in o.mentees.items] == expected
    assert [r.status for r in overviews[2].mentees.items] == ["withdrawn"] * 5
    assert overviews[0].counts == {"mentor": 2, "mentee": 40}
    assert [r.enrollment_id for r in overviews[2].mentors.items] == [m.id for m in mentors]
    assert (overviews[0].mentees.total, overviews[0].mentees.pages) == (45, 3)
    last = programs.get_admin_overview(db, actor=admin, program_id=_pid(program), mentees_page=7)
    assert last.mentees.page == 2


def test_member_cannot_see_the_admin_overview(db: Session, admin: User, group: Group) -> None:
    program = make_program(db, admin=admin, group=group)
    sam = make_user(db)
    add_member(db, group, sam)
    with pytest.raises(PermissionDenied):
        programs.get_admin_overview(db, actor=sam, program_id=_pid(program))
    with pytest.raises(PermissionDenied):
        programs.get_admin_overview(db, actor=sam, program_id=_pid(program), mentees_page=1)
