"""Hostile input on the admin side: program, question and journey texts typed into the
wizard stay inert text on every page that shows them (the wizard, the program page, the
pairing workspace, the dashboard, My pairs, the pair page); oversized wizard, capacity
and check-in fields are refused next to the field with nothing half-written."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session, func, select

from mentor_app.models import CheckIn, Enrollment, Group, Program, User
from mentor_app.services import enrollments, groups, journey, pairing, programs
from state.journey import PairPageState
from state.programs import ProgramPageState, WizardState
from tests.adversarial.conftest import signed_in
from tests.adversarial.test_auth import _pair_page
from tests.adversarial.test_input import IMG, LINKS, SCRIPT, TRICKS, _inert, _watch
from tests.e2e.test_programs import demo_log_in
from tests.support.rxclient import ReflexClient, handler

SHOWN = "window.__xss=1;alert(1)"  # the visible part of SCRIPT and IMG, once shown as text


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _admin_with_group(person: Callable[..., User], app_db: Session) -> tuple[User, Group]:
    admin = person("Admin Adversary")
    group = groups.create_group(
        app_db,
        actor=admin,
        name=f"Evil circle {uuid.uuid4().hex[:6]}",
        description="",
        category="professional",
    )
    app_db.commit()
    return admin, group


def _visit(page: Page, dialogs: list[str], path: str, *shown: str) -> None:
    page.goto(path)
    expect(page.get_by_role("heading").first).to_be_visible()
    for text in shown:
        expect(page.get_by_text(text, exact=False).first).to_be_visible()
    _inert(page, dialogs)


def _blur_fill(page: Page, selector: str, value: str) -> None:
    field = page.locator(selector).first
    field.fill(value)
    field.press("Tab")  # the wizard's question and week fields save on blur


# --- markup typed into the wizard stays text everywhere ----------------------------------


def test_markup_in_program_question_and_step_texts_is_inert_on_admin_and_member_pages(
    new_page: Callable[..., Page], app_db: Session, person: Callable[..., User]
) -> None:
    admin, group = _admin_with_group(person, app_db)
    page = new_page()
    dialogs = _watch(page)
    demo_log_in(page, admin.email)

    page.goto(f"/groups/{group.id}/programs/new")
    page.get_by_role("button", name="Use Career advancement").click()
    expect(page.get_by_role("heading", name="Details")).to_be_visible()
    page.get_by_label("Title").fill(SCRIPT)
    page.get_by_label("Description").fill(IMG + LINKS + TRICKS)
    page.get_by_label("Start date").fill(_today().isoformat())
    page.get_by_label("Mentor capacity (most mentees per mentor)").fill("99")
    page.get_by_role("button", name="Next").click()
    # Refused next to its field, and the page keeps what was typed.
    expect(page.locator("#field-mentor_capacity_max-error")).to_contain_text("Choose between")
    page.get_by_label("Mentor capacity (most mentees per mentor)").fill("2")
    page.get_by_role("button", name="Next").click()

    expect(page.get_by_role("heading", name="Questions")).to_be_visible()
    _blur_fill(page, "input[id^='q-text-']", IMG)
    _blur_fill(page, "textarea[id^='q-opts-']", f"{SCRIPT[:70]}\n{IMG}\njavascript:alert(1)")
    _inert(page, dialogs)
    page.get_by_role("button", name="Next").click()

    expect(page.get_by_role("heading", name="Journey")).to_be_visible()
    _blur_fill(page, "#s-title-0", IMG)
    _blur_fill(page, "#s-focus-0", LINKS + TRICKS)
    _blur_fill(page, "#s-prompts-0", SCRIPT)
    page.get_by_role("button", name="Next").click()

    expect(page.get_by_role("heading", name="Review")).to_be_visible()
    expect(page.get_by_text(SCRIPT).first).to_be_visible()
    _inert(page, dialogs)
    page.get_by_role("button", name="Publish").click()
    page.wait_for_url("**/programs/*")
    expect(page.get_by_role("heading", name=SCRIPT)).to_be_visible()
    _inert(page, dialogs)

    app_db.expire_all()
    program = app_db.exec(select(Program).where(Program.group_id == group.id)).one()
    assert (program.title, program.status) == (SCRIPT, "open")
    assert program.journey[0]["title"] == IMG
    assert any(q["text"] == IMG for q in program.questions)
    choice = next(q for q in program.questions if q["type"] in programs.CHOICE_TYPES)
    app_db.commit()

    # Two members whose names and answers are markup too, paired by the admin.
    people: dict[str, User] = {}
    chosen: dict[str, int] = {}
    for role, name in (("mentor", IMG), ("mentee", SCRIPT[:60])):
        user = person(name, group=group.name)
        answers: dict[str, Any] = {}
        for q in programs.questions_for(program, role):
            if q["type"] == "single_choice":
                answers[q["id"]] = q["options"][0]
            elif q["type"] == "multiple_choice":
                answers[q["id"]] = q["options"][:2]
            else:
                answers[q["id"]] = IMG + LINKS
        enrollment = enrollments.apply(
            app_db, actor=user, program_id=program.id or 0, role=role, answers=answers,
            capacity=1 if role == "mentor" else None,
        )  # fmt: skip
        people[role], chosen[role] = user, enrollment.id or 0
    app_db.commit()
    pair = pairing.pair_by_hand(
        app_db, actor=admin, program_id=program.id or 0,
        mentee_enrollment_id=chosen["mentee"], mentor_enrollment_id=chosen["mentor"],
    )  # fmt: skip
    app_db.commit()

    pid = program.id
    _visit(page, dialogs, f"/programs/{pid}/pairing", SHOWN)
    _visit(page, dialogs, f"/programs/{pid}", SHOWN)
    pairing.publish_pairs(app_db, actor=admin, program_id=pid or 0)
    app_db.commit()
    _visit(page, dialogs, f"/programs/{pid}/dashboard", SHOWN)
    assert choice["options"][0] == SCRIPT[:70]

    member = new_page()
    seen = _watch(member)
    demo_log_in(member, people["mentee"].email)
    _visit(member, seen, "/groups", SHOWN)  # My pairs: partner's name and program title
    _visit(member, seen, f"/pairs/{pair.id}", SHOWN)  # the journey's step texts
    _visit(member, seen, f"/programs/{pid}", SHOWN)  # the program page, own answers


# --- oversized admin and pair fields: a message at the field, nothing written ---------------

SAVE_DETAILS = handler(WizardState, "save_details")
SET_QUESTION = handler(WizardState, "set_question")
SAVE_QUESTIONS = handler(WizardState, "save_questions")
SET_STEP = handler(WizardState, "set_step")
SAVE_JOURNEY = handler(WizardState, "save_journey")


def _errors(tab: ReflexClient, name: str, payload: dict[str, Any]) -> dict[str, str]:
    tab.call(name, payload, until=lambda c: bool(c.var("wizard_state.errors")))
    errors: dict[str, str] = tab.var("wizard_state.errors")
    return errors


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("title", "t" * (programs.TITLE_MAX + 1), "at most"),
        ("description", "d" * (programs.DESCRIPTION_MAX + 1), "at most"),
        ("mentor_capacity_max", "999999999", "Enter a whole number."),
        ("mentor_capacity_max", "6", "Choose between"),
        ("length_weeks", "9" * 5000, "Enter a whole number."),
        ("length_weeks", "53", "Choose between"),
    ],
)
def test_oversized_program_details_are_refused_at_the_field_and_the_draft_is_unchanged(
    connect: Callable[..., ReflexClient],
    app_db: Session,
    person: Callable[..., User],
    field: str,
    value: str,
    message: str,
) -> None:
    admin, group = _admin_with_group(person, app_db)
    draft = programs.start_program(
        app_db, actor=admin, group_id=group.id or 0, template_key="career_advancement"
    )
    app_db.commit()
    before = (draft.title, draft.description, draft.length_weeks, draft.mentor_capacity_max)
    tab = signed_in(connect, admin, f"/programs/{draft.id}/wizard")
    form = {
        "title": "Fine title",
        "description": "Fine description",
        "start_date": _today().isoformat(),
        "length_weeks": "4",
        "mentor_capacity_max": "2",
    } | {field: value}

    errors = _errors(tab, SAVE_DETAILS, {"form": form})

    assert list(errors) == [field]
    assert message in errors[field]
    assert tab.var("wizard_state.step") == 2
    app_db.expire_all()
    saved = app_db.get(Program, draft.id)
    assert saved is not None
    after = (saved.title, saved.description, saved.length_weeks, saved.mentor_capacity_max)
    assert (after, saved.wizard_step, saved.start_date) == (before, draft.wizard_step, None)
    app_db.commit()


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("text", "q" * (programs.QUESTION_TEXT_MAX + 1)),
        ("options_text", "o" * (programs.OPTION_MAX + 1) + "\nsecond"),
        ("options_text", "\n".join(f"option {n}" for n in range(programs.OPTIONS_MAX + 1))),
    ],
)
def test_oversized_question_texts_are_refused_on_their_card_and_nothing_is_saved(
    connect: Callable[..., ReflexClient],
    app_db: Session,
    person: Callable[..., User],
    key: str,
    value: str,
) -> None:
    admin, group = _admin_with_group(person, app_db)
    draft = programs.start_program(
        app_db, actor=admin, group_id=group.id or 0, template_key="career_advancement"
    )
    app_db.commit()
    before = [dict(q) for q in draft.questions]
    index = next(i for i, q in enumerate(before) if q["type"] in programs.CHOICE_TYPES)
    tab = signed_in(connect, admin, f"/programs/{draft.id}/wizard")

    tab.call(SET_QUESTION, {"index": index, "key": key, "value": value})
    errors = _errors(tab, SAVE_QUESTIONS, {"then_step": 4})

    assert list(errors) == [f"questions.{index}"]  # shown on that question's card
    assert "at most" in errors[f"questions.{index}"]
    app_db.expire_all()
    saved = app_db.get(Program, draft.id)
    assert saved is not None and saved.questions == before
    assert saved.wizard_step == draft.wizard_step
    app_db.commit()


@pytest.mark.parametrize("index", [-1, 999])
def test_an_edit_of_a_card_the_page_does_not_show_changes_nothing(
    connect: Callable[..., ReflexClient],
    app_db: Session,
    person: Callable[..., User],
    index: int,
) -> None:
    """An index no card has (negative: Python's "from the end"; past the end) edits no
    question and no week: what is saved is the draft as it was."""
    admin, group = _admin_with_group(person, app_db)
    draft = programs.start_program(
        app_db, actor=admin, group_id=group.id or 0, template_key="career_advancement"
    )
    app_db.commit()
    questions, journey = [dict(q) for q in draft.questions], [dict(s) for s in draft.journey]
    tab = signed_in(connect, admin, f"/programs/{draft.id}/wizard")
    assert tab.var("wizard_state.questions")  # the cards are there to be edited

    tab.call(SET_QUESTION, {"index": index, "key": "text", "value": "Changed by index"})
    tab.call(SET_STEP, {"index": index, "key": "title", "value": "Changed by index"})
    assert "Changed by index" not in json.dumps(tab.var("wizard_state.questions"))
    assert "Changed by index" not in json.dumps(tab.var("wizard_state.journey"))
    tab.call(SAVE_QUESTIONS, {"then_step": 4})
    tab.call(SAVE_JOURNEY, {"then_step": 5})

    app_db.expire_all()
    saved = app_db.get(Program, draft.id)
    assert saved is not None and (saved.questions, saved.journey) == (questions, journey)
    app_db.commit()


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("title", "w" * (programs.STEP_TITLE_MAX + 1)),
        ("focus", "f" * (programs.STEP_FOCUS_MAX + 1)),
        ("prompts_text", "p" * (programs.PROMPT_MAX + 1)),
        ("prompts_text", "\n".join(f"prompt {n}" for n in range(programs.PROMPTS_MAX + 1))),
    ],
)
def test_oversized_step_texts_are_refused_on_their_week_and_nothing_is_saved(
    connect: Callable[..., ReflexClient],
    app_db: Session,
    person: Callable[..., User],
    key: str,
    value: str,
) -> None:
    admin, group = _admin_with_group(person, app_db)
    draft = programs.start_program(
        app_db, actor=admin, group_id=group.id or 0, template_key="career_advancement"
    )
    app_db.commit()
    before = [dict(s) for s in draft.journey]
    tab = signed_in(connect, admin, f"/programs/{draft.id}/wizard")

    tab.call(SET_STEP, {"index": 1, "key": key, "value": value})
    errors = _errors(tab, SAVE_JOURNEY, {"then_step": 5})

    assert list(errors) == ["journey.1"]  # shown on week 2's card
    assert "at most" in errors["journey.1"]
    app_db.expire_all()
    saved = app_db.get(Program, draft.id)
    assert saved is not None and saved.journey == before
    assert (saved.length_weeks, saved.wizard_step) == (draft.length_weeks, draft.wizard_step)
    app_db.commit()


def test_oversized_capacity_in_an_application_is_refused_and_no_application_is_written(
    connect: Callable[..., ReflexClient], app_db: Session, person: Callable[..., User]
) -> None:
    admin, group = _admin_with_group(person, app_db)
    program = programs.start_program(
        app_db, actor=admin, group_id=group.id or 0, template_key="career_advancement"
    )
    programs.save_details(
        app_db, actor=admin, program_id=program.id or 0, title="Capacity test",
        description="", start_date=_today().isoformat(), length_weeks=4,
        mentor_capacity_max=3,
    )  # fmt: skip
    programs.publish(app_db, actor=admin, program_id=program.id or 0)
    app_db.commit()
    mentor = person("Mentor Many", group=group.name)
    tab = signed_in(connect, mentor, f"/programs/{program.id}")
    tab.call(handler(ProgramPageState, "open_form"), {"role": "mentor"})
    form: dict[str, Any] = {"share_answers": "on"}
    for q in tab.var("program_page_state.form_questions"):
        if q["type"] == "multiple_choice":
            form[q["options"][0]["id"]] = "on"
        elif q["type"] == "single_choice":
            form[f"a-{q['id']}"] = q["options"][0]["value"]
        else:
            form[f"a-{q['id']}"] = "Happy to help."

    for capacity in ("99999999999999999999", "9" * 5000, "-1", "4"):
        tab.call(
            handler(ProgramPageState, "submit_application"),
            {"form": form | {"capacity": capacity}},
            until=lambda c: bool(c.var("program_page_state.errors")),
        )
        assert list(tab.var("program_page_state.errors")) == ["capacity"], capacity
    app_db.expire_all()
    count = app_db.exec(
        select(func.count()).select_from(Enrollment).where(Enrollment.user_id == mentor.id)
    ).one()
    assert count == 0
    app_db.commit()


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"mood": "3", "met": "yes", "note": "n" * (journey.NOTE_MAX + 1)}, "note"),
        ({"mood": "9" * 5000, "met": "yes", "note": "fine"}, "mood"),
        ({"mood": "99999999999999999999", "met": "yes", "note": "fine"}, "mood"),
        ({"mood": "3", "met": "y" * 5000, "note": "fine"}, "met"),
    ],
)
def test_oversized_check_in_fields_are_refused_at_the_field_and_no_check_in_is_written(
    connect: Callable[..., ReflexClient], app_db: Session, form: dict[str, str], field: str
) -> None:
    pair_id, mentor, _mentee = _pair_page(app_db)
    tab = signed_in(connect, mentor, f"/pairs/{pair_id}")

    tab.call(
        handler(PairPageState, "save_check_in"),
        {"form": form},
        until=lambda c: bool(c.var("pair_page_state.errors")),
    )

    errors = tab.var("pair_page_state.errors")
    assert list(errors) == [field]
    assert app_db.exec(select(CheckIn).where(CheckIn.pair_id == pair_id)).all() == []
    app_db.commit()
