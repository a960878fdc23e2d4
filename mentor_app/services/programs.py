"""Mentorship programs: the admin's wizard (template → details → questions → journey →
review), publishing and moving a program forward, and the program pages."""

from __future__ import annotations

import copy
import datetime as dt
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, update
from sqlalchemy import select as sa_select
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, func, select

from mentor_app.models import Enrollment, Group, Membership, Program, User, utcnow
from mentor_app.program_templates import TEMPLATES
from mentor_app.services import audit, groups
from mentor_app.services.cleaning import storable
from mentor_app.services.errors import Conflict, NotFound, PermissionDenied, ValidationError
from mentor_app.services.paging import Page, page_of
from mentor_app.wording import count

# Limits, shown next to the fields in the wizard.
TITLE_MAX = 120
DESCRIPTION_MAX = 4000
QUESTION_TEXT_MAX = 300
OPTION_MAX = 80
OPTIONS_MIN = 2
OPTIONS_MAX = 20
QUESTIONS_MAX = 30
STEP_TITLE_MAX = 120
STEP_FOCUS_MAX = 1000
PROMPT_MAX = 300
PROMPTS_MAX = 6
LENGTH_MIN = 1
LENGTH_MAX = 52
CAPACITY_MIN = 1
CAPACITY_MAX = 5
DEFAULT_CAPACITY_MAX = 3
START_MAX_AHEAD = dt.timedelta(days=730)
ID_MAX = 40

WIZARD_STEPS: tuple[str, ...] = ("Template", "Details", "Questions", "Journey", "Review")
ROLES: tuple[str, ...] = ("mentor", "mentee")
ROLE_LABELS: dict[str, str] = {"mentor": "mentors", "mentee": "mentees"}
CHOICE_TYPES: tuple[str, ...] = ("single_choice", "multiple_choice")
TEXT_TYPES: tuple[str, ...] = ("short_text", "long_text")
QUESTION_TYPES: dict[str, str] = {
    "single_choice": "Single choice",
    "multiple_choice": "Multiple choice",
    "short_text": "Short text",
    "long_text": "Long text",
}
# Where a program can go next; drafts leave only through `publish`.
NEXT_STATUS: dict[str, str] = {"open": "active", "active": "closed"}
DETAIL_FIELDS: tuple[str, ...] = (
    "title",
    "description",
    "start_date",
    "length_weeks",
    "mentor_capacity_max",
)

PROGRAM_NOT_FOUND = "Program not found."
PUBLISHED = "This program has been published."

_SLUG = re.compile(rf"[a-z0-9][a-z0-9_-]{{0,{ID_MAX - 1}}}")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


# --- what the pages show ----------------------------------------------------------


@dataclass(frozen=True)
class ProgramCard:
    id: int
    title: str
    status: str
    template_title: str
    mentor_count: int
    mentee_count: int


@dataclass(frozen=True)
class EnrollmentView:
    id: int
    role: str
    capacity: int | None
    answers: dict[str, Any]
    status: str
    share_answers: bool = True


@dataclass(frozen=True)
class ProgramPage:
    id: int
    group_id: int
    group_name: str
    title: str
    description: str
    status: str
    start_date: dt.date | None
    length_weeks: int
    mentor_capacity_max: int
    journey: list[dict[str, Any]]
    is_admin: bool
    is_member: bool
    my_enrollment: EnrollmentView | None
    mentor_questions: list[dict[str, Any]]
    mentee_questions: list[dict[str, Any]]


@dataclass(frozen=True)
class ApplicationRow:
    enrollment_id: int
    user_id: int
    display_name: str
    role: str
    capacity: int | None
    status: str
    created_at: dt.datetime
    answers: list[tuple[str, str]]  # (question text, answer text), in question order


@dataclass(frozen=True)
class AdminOverview:
    program_id: int
    group_id: int
    title: str
    status: str
    next_status: str | None
    mentors: Page[ApplicationRow]  # one page of each role's applications
    mentees: Page[ApplicationRow]
    counts: dict[str, int] = field(default_factory=dict)  # active applications by role


# --- input rules (pure: the wizard's validators, also run on the templates) ----------


def _text(value: Any, field_name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError("Enter text here.", field=field_name)
    return storable(value).strip()


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "on", "yes", "1")
    return bool(value)


def _parse_int(value: Any, field_name: str) -> int:
    if isinstance(value, bool):
        raise ValidationError("Enter a whole number.", field=field_name)
    if isinstance(value, int):
        return value
    text = value.strip() if isinstance(value, str) else ""
    if not re.fullmatch(r"-?\d{1,6}", text):
        raise ValidationError("Enter a whole number.", field=field_name)
    return int(text)


def clean_title(value: Any) -> str:
    title = _text(value, "title")
    if not title:
        raise ValidationError("Give the program a title.", field="title")
    if len(title) > TITLE_MAX:
        raise ValidationError(f"Use at most {TITLE_MAX} characters.", field="title")
    return title


def clean_description(value: Any) -> str:
    description = _text(value, "description")
    if len(description) > DESCRIPTION_MAX:
        raise ValidationError(f"Use at most {DESCRIPTION_MAX} characters.", field="description")
    return description


def parse_start_date(value: str | dt.date | None, *, today: dt.date) -> dt.date | None:
    """The start date, or None when not chosen yet. Never in the past."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        start = value
    else:
        text = _text(value, "start_date")
        if not text:
            return None
        if not _ISO_DATE.fullmatch(text):
            raise ValidationError("Enter a valid date.", field="start_date")
        try:
            start = dt.date.fromisoformat(text)
        except ValueError:
            raise ValidationError("Enter a valid date.", field="start_date") from None
    if start < today:
        raise ValidationError("The start date can't be in the past.", field="start_date")
    if start > today + START_MAX_AHEAD:
        raise ValidationError("Choose a start date within the next two years.", field="start_date")
    return start


def parse_length_weeks(value: Any) -> int:
    weeks = _parse_int(value, "length_weeks")
    if not LENGTH_MIN <= weeks <= LENGTH_MAX:
        raise ValidationError(
            f"Choose between {LENGTH_MIN} and {LENGTH_MAX} weeks.", field="length_weeks"
        )
    return weeks


def parse_capacity_max(value: Any) -> int:
    capacity = _parse_int(value, "mentor_capacity_max")
    if not CAPACITY_MIN <= capacity <= CAPACITY_MAX:
        raise ValidationError(
            f"Choose between {CAPACITY_MIN} and {CAPACITY_MAX} mentees.",
            field="mentor_capacity_max",
        )
    return capacity


def _new_question_id(role: str, taken: set[str]) -> str:
    while True:
        candidate = f"{role}-{secrets.token_hex(3)}"
        if candidate not in taken:
            return candidate


def _clean_options(raw: Any, qtype: str, where: str) -> list[str]:
    if raw is None:
        raw = []
    if not isinstance(raw, list | tuple):
        raise ValidationError("Options must be a list.", field=where)
    options = [_text(option, where) for option in raw]
    if qtype not in CHOICE_TYPES:
        if any(options):
            raise ValidationError("Only choice questions have options.", field=where)
        return []
    if len(options) < OPTIONS_MIN:
        raise ValidationError(
            f"A choice question needs at least {OPTIONS_MIN} options.", field=where
        )
    if len(options) > OPTIONS_MAX:
        raise ValidationError(f"Use at most {OPTIONS_MAX} options.", field=where)
    seen: set[str] = set()
    for n, option in enumerate(options, start=1):
        if not option:
            raise ValidationError(f"Option {n} is empty: fill it in or remove it.", field=where)
        if len(option) > OPTION_MAX:
            raise ValidationError(
                f"Option {n} is too long: use at most {OPTION_MAX} characters.", field=where
            )
        if option.casefold() in seen:
            raise ValidationError(f"Option {n} repeats “{option}”.", field=where)
        seen.add(option.casefold())
    return options


def _clean_question(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise ValidationError("This question is malformed.", field=where)
    role = raw.get("role")
    if role not in ROLES:
        raise ValidationError("Choose who answers: mentors or mentees.", field=f"{where}.role")
    text = _text(raw.get("text"), f"{where}.text")
    if not text:
        raise ValidationError("Write the question.", field=f"{where}.text")
    if len(text) > QUESTION_TEXT_MAX:
        raise ValidationError(f"Use at most {QUESTION_TEXT_MAX} characters.", field=f"{where}.text")
    qtype = raw.get("type")
    if qtype not in QUESTION_TYPES:
        raise ValidationError("Choose a question type.", field=f"{where}.type")
    options = _clean_options(raw.get("options"), qtype, f"{where}.options")
    for_matching = _as_bool(raw.get("for_matching"))
    if for_matching and qtype not in CHOICE_TYPES:
        raise ValidationError(
            "Only choice questions can be used for matching.", field=f"{where}.for_matching"
        )
    match_key = _text(raw.get("match_key"), f"{where}.match_key") or None
    if match_key is not None and not _SLUG.fullmatch(match_key):
        raise ValidationError(
            "Use lowercase letters, digits, '-' and '_' for the matching key.",
            field=f"{where}.match_key",
        )
    qid = _text(raw.get("id"), f"{where}.id")
    if qid and not _SLUG.fullmatch(qid):
        raise ValidationError("This question's id is malformed.", field=f"{where}.id")
    return {
        "id": qid,
        "role": role,
        "text": text,
        "type": qtype,
        "options": options,
        "required": _as_bool(raw.get("required")),
        "for_matching": for_matching,
        "match_key": match_key,
    }


def validate_questions(questions: Any) -> list[dict[str, Any]]:
    """The sign-up questions, checked and normalised; new questions get an id."""
    if not isinstance(questions, list | tuple):
        raise ValidationError("The questions are malformed.", field="questions")
    if len(questions) > QUESTIONS_MAX:
        raise ValidationError(f"Use at most {QUESTIONS_MAX} questions.", field="questions")
    cleaned = [_clean_question(raw, f"questions.{i}") for i, raw in enumerate(questions)]

    ids: set[str] = set()
    match_keys: set[tuple[str, str]] = set()
    for i, question in enumerate(cleaned):
        if question["id"]:
            if question["id"] in ids:
                raise ValidationError("Two questions share this id.", field=f"questions.{i}.id")
            ids.add(question["id"])
        if question["match_key"] is not None:
            pair = (question["role"], question["match_key"])
            if pair in match_keys:
                raise ValidationError(
                    f"Another question for {ROLE_LABELS[question['role']]} already uses the "
                    f"matching key “{question['match_key']}”.",
                    field=f"questions.{i}.match_key",
                )
            match_keys.add(pair)
    for question in cleaned:
        if not question["id"]:
            question["id"] = _new_question_id(question["role"], ids)
            ids.add(question["id"])

    for role in ROLES:
        if not any(q["role"] == role for q in cleaned):
            raise ValidationError(
                f"Add at least one question for {ROLE_LABELS[role]}.", field="questions"
            )
    return cleaned


def validate_journey(journey: Any) -> list[dict[str, Any]]:
    """The weekly steps, checked and normalised; weeks are renumbered 1..n."""
    if not isinstance(journey, list | tuple) or not journey:
        raise ValidationError("A journey needs at least one step.", field="journey")
    if len(journey) > LENGTH_MAX:
        raise ValidationError(f"A journey can have at most {LENGTH_MAX} weeks.", field="journey")
    steps: list[dict[str, Any]] = []
    for i, raw in enumerate(journey):
        where = f"journey.{i}"
        week = i + 1
        if not isinstance(raw, Mapping):
            raise ValidationError(f"Week {week} is malformed.", field=where)
        title = _text(raw.get("title"), f"{where}.title")
        if not title:
            raise ValidationError(f"Give week {week} a title.", field=f"{where}.title")
        if len(title) > STEP_TITLE_MAX:
            raise ValidationError(
                f"Use at most {STEP_TITLE_MAX} characters.", field=f"{where}.title"
            )
        focus = _text(raw.get("focus"), f"{where}.focus")
        if not focus:
            raise ValidationError(
                f"Say what pairs should talk about in week {week}.", field=f"{where}.focus"
            )
        if len(focus) > STEP_FOCUS_MAX:
            raise ValidationError(
                f"Use at most {STEP_FOCUS_MAX} characters.", field=f"{where}.focus"
            )
        raw_prompts = raw.get("prompts") or []
        if not isinstance(raw_prompts, list | tuple):
            raise ValidationError("Prompts must be a list.", field=f"{where}.prompts")
        # Blank prompts are the empty boxes the editor adds; they are dropped, not refused.
        prompts = [p for p in (_text(p, f"{where}.prompts") for p in raw_prompts) if p]
        if len(prompts) > PROMPTS_MAX:
            raise ValidationError(
                f"Use at most {PROMPTS_MAX} prompts a week.", field=f"{where}.prompts"
            )
        for n, prompt in enumerate(prompts, start=1):
            if len(prompt) > PROMPT_MAX:
                raise ValidationError(
                    f"Prompt {n} is too long: use at most {PROMPT_MAX} characters.",
                    field=f"{where}.prompts",
                )
        step: dict[str, Any] = {"week": week, "title": title, "focus": focus, "prompts": prompts}
        if raw.get("goal") is True:  # a step about the goals: the pair page links to them
            step["goal"] = True
        steps.append(step)
    return steps


def wizard_step_for(field_name: str | None) -> int:
    """The wizard step whose form holds this field, to send the admin back to it."""
    head = (field_name or "").split(".")[0]
    if head in DETAIL_FIELDS:
        return 2
    return {"questions": 3, "journey": 4}.get(head, 5)


# --- editing helpers for the wizard page (pure, no database) -------------------------


def new_question(role: str) -> dict[str, Any]:
    return {
        "id": _new_question_id(role, set()),
        "role": role,
        "text": "",
        "type": "short_text",
        "options": [],
        "required": False,
        "for_matching": False,
        "match_key": None,
    }


def move_question(
    questions: Sequence[dict[str, Any]], index: int, delta: int
) -> list[dict[str, Any]]:
    moved = list(questions)
    target = index + delta
    if 0 <= index < len(moved) and 0 <= target < len(moved):
        moved[index], moved[target] = moved[target], moved[index]
    return moved


def remove_question(questions: Sequence[dict[str, Any]], index: int) -> list[dict[str, Any]]:
    return [q for i, q in enumerate(questions) if i != index]


def set_question_type(question: Mapping[str, Any], qtype: str) -> dict[str, Any]:
    """The question with a new type: choice types get two blank options to fill, text
    types lose their options and cannot be used for matching."""
    changed = dict(question, type=qtype)
    if qtype in CHOICE_TYPES:
        changed["options"] = list(question.get("options") or []) or ["", ""]
    else:
        changed["options"] = []
        changed["for_matching"] = False
    return changed


def add_option(question: Mapping[str, Any]) -> dict[str, Any]:
    options = list(question.get("options") or [])
    if len(options) < OPTIONS_MAX:
        options.append("")
    return dict(question, options=options)


def remove_option(question: Mapping[str, Any], index: int) -> dict[str, Any]:
    options = [o for i, o in enumerate(question.get("options") or []) if i != index]
    return dict(question, options=options)


def _blank_step(week: int) -> dict[str, Any]:
    return {"week": week, "title": f"Week {week}", "focus": "", "prompts": []}


def add_step(journey: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    steps = [dict(s) for s in journey]
    if len(steps) < LENGTH_MAX:
        steps.append(_blank_step(len(steps) + 1))
    return steps


def remove_step(journey: Sequence[Mapping[str, Any]], index: int) -> list[dict[str, Any]]:
    kept = [dict(s) for i, s in enumerate(journey) if i != index]
    for week, step in enumerate(kept, start=1):
        step["week"] = week
    return kept


def _resize_journey(journey: Sequence[Mapping[str, Any]], weeks: int) -> list[dict[str, Any]]:
    steps = copy.deepcopy([dict(s) for s in journey[:weeks]])
    steps.extend(_blank_step(week) for week in range(len(steps) + 1, weeks + 1))
    return steps


# --- access --------------------------------------------------------------------------


def viewable_program(
    db: Session, *, actor: User, program_id: int
) -> tuple[Program, Group, Membership | None]:
    """The program, its group and the actor's membership, if the actor may see it.

    Drafts exist only for the group's admins, and a closed group's programs only for
    its members: to everyone else they answer like a missing program."""
    program = db.get(Program, program_id)
    group = db.get(Group, program.group_id) if program is not None else None
    if program is None or group is None:
        raise NotFound(PROGRAM_NOT_FOUND)
    mine = groups.membership_of(db, group_id=group.id or 0, user_id=groups.acting_user_id(actor))
    if mine is None and not group.is_open:
        raise NotFound(PROGRAM_NOT_FOUND)
    if program.status == "draft" and (mine is None or mine.role != "admin"):
        raise NotFound(PROGRAM_NOT_FOUND)
    return program, group, mine


def admin_program(db: Session, *, actor: User, program_id: int) -> Program:
    program = db.get(Program, program_id)
    if program is None:
        raise NotFound(PROGRAM_NOT_FOUND)
    groups.require_admin(db, actor=actor, group_id=program.group_id)
    return program


def _require_eligible(group: Group) -> None:
    eligible, reason = groups.program_eligibility(group.category)
    if not eligible:
        raise PermissionDenied(reason)


# --- the wizard ------------------------------------------------------------------------


def check_can_create(db: Session, *, actor: User, group_id: int) -> Group:
    """The group, if the actor may create a program in it (step 1 of the wizard)."""
    group = db.get(Group, group_id)
    if group is None:
        raise NotFound("Group not found.")
    groups.require_admin(db, actor=actor, group_id=group_id)
    _require_eligible(group)
    return group


def start_program(db: Session, *, actor: User, group_id: int, template_key: str) -> Program:
    actor_id = groups.acting_user_id(actor)
    check_can_create(db, actor=actor, group_id=group_id)
    template = TEMPLATES.get(template_key)
    if template is None:
        raise ValidationError("Choose one of the templates.", field="template_key")

    program = Program(
        group_id=group_id,
        template_key=template.key,
        title=template.title,
        description=template.description,
        length_weeks=template.default_length_weeks,
        mentor_capacity_max=DEFAULT_CAPACITY_MAX,
        status="draft",
        wizard_step=2,
        questions=copy.deepcopy(list(template.questions)),
        journey=copy.deepcopy(list(template.journey)),
        created_by=actor_id,
    )
    db.add(program)
    db.flush()
    audit.record(
        db,
        actor_id=actor_id,
        action="program_created",
        target_type="program",
        target_id=program.id,
        detail=f"group {group_id}, template {template.key}",
    )
    return program


def get_draft(db: Session, *, actor: User, program_id: int) -> Program:
    program = admin_program(db, actor=actor, program_id=program_id)
    if program.status != "draft":
        raise Conflict(PUBLISHED)
    return program


def _advance_wizard(program: Program, step: int) -> None:
    program.wizard_step = max(program.wizard_step, step)


def save_details(
    db: Session,
    *,
    actor: User,
    program_id: int,
    title: str,
    description: str,
    start_date: str | dt.date | None,
    length_weeks: str | int,
    mentor_capacity_max: str | int,
    today: dt.date | None = None,
) -> Program:
    program = get_draft(db, actor=actor, program_id=program_id)
    today = today or utcnow().date()
    # Form order, so the message is about the first field the admin will look at.
    new_title = clean_title(title)
    new_description = clean_description(description)
    start = parse_start_date(start_date, today=today)
    weeks = parse_length_weeks(length_weeks)
    capacity = parse_capacity_max(mentor_capacity_max)

    program.title, program.description = new_title, new_description
    program.start_date = start
    program.mentor_capacity_max = capacity
    if weeks != len(program.journey):
        program.journey = _resize_journey(program.journey, weeks)
    program.length_weeks = weeks
    _advance_wizard(program, 3)
    db.add(program)
    db.flush()
    return program


def save_questions(
    db: Session, *, actor: User, program_id: int, questions: list[dict[str, Any]]
) -> Program:
    program = get_draft(db, actor=actor, program_id=program_id)
    program.questions = validate_questions(questions)
    _advance_wizard(program, 4)
    db.add(program)
    db.flush()
    return program


def save_journey(
    db: Session, *, actor: User, program_id: int, journey: list[dict[str, Any]]
) -> Program:
    program = get_draft(db, actor=actor, program_id=program_id)
    program.journey = validate_journey(journey)
    program.length_weeks = len(program.journey)
    _advance_wizard(program, 5)
    db.add(program)
    db.flush()
    return program


def set_wizard_step(db: Session, *, actor: User, program_id: int, step: int) -> Program:
    program = get_draft(db, actor=actor, program_id=program_id)
    if isinstance(step, bool) or not isinstance(step, int) or not 1 <= step <= len(WIZARD_STEPS):
        raise ValidationError("That wizard step doesn't exist.", field="step")
    program.wizard_step = step
    db.add(program)
    db.flush()
    return program


def publish(db: Session, *, actor: User, program_id: int, today: dt.date | None = None) -> Program:
    """Open sign-ups, after checking the whole draft again: the pages may be stale or skipped."""
    program = get_draft(db, actor=actor, program_id=program_id)
    group = db.get(Group, program.group_id)
    assert group is not None
    _require_eligible(group)
    today = today or utcnow().date()

    title = clean_title(program.title)
    description = clean_description(program.description)
    if program.start_date is None:
        raise ValidationError("Choose a start date.", field="start_date")
    if program.start_date < today:
        raise ValidationError("The start date has passed: choose a new one.", field="start_date")
    length = parse_length_weeks(program.length_weeks)
    capacity = parse_capacity_max(program.mentor_capacity_max)
    questions = validate_questions(program.questions)
    journey = validate_journey(program.journey)
    if len(journey) != length:
        raise ValidationError(
            f"The journey has {len(journey)} weeks but the program lasts {length}: "
            "add or remove weeks so they match.",
            field="journey",
        )

    program.title, program.description = title, description
    program.mentor_capacity_max = capacity
    program.questions, program.journey = questions, journey
    program.status = "open"
    program.published_at = utcnow()
    db.add(program)
    db.flush()
    audit.record(
        db,
        actor_id=groups.acting_user_id(actor),
        action="program_published",
        target_type="program",
        target_id=program.id,
    )
    return program


def status_changed_message(status: str) -> str:
    return (
        f"The program's status changed meanwhile (it is now {status}), so nothing was "
        "changed. The page has been refreshed: check it, then try again if you still mean to."
    )


def advance_status(
    db: Session,
    *,
    actor: User,
    program_id: int,
    expected_status: str,
    ended_pairs: list[int] | None = None,
) -> Program:
    """open → active → closed, from the status the admin saw (`expected_status`): a click
    from a tab showing an older status, or a second click racing the first, moves nothing
    and raises Conflict. The UPDATE itself checks the status, so of two concurrent
    changes on PostgreSQL only one matches a row. Closing ends every active pair of the
    program (journey.end_pairs_of_closed_program); their ids are added to `ended_pairs`,
    so the caller can refresh the pairs' open pages once the change is committed."""
    program = admin_program(db, actor=actor, program_id=program_id)
    if program.status != expected_status:
        raise Conflict(status_changed_message(program.status))
    if program.status == "draft":
        raise Conflict("Publish the program first.")
    next_status = NEXT_STATUS.get(program.status)
    if next_status is None:
        raise Conflict("This program is closed.")
    moved = db.execute(
        update(Program)
        .where(col(Program.id) == program_id, col(Program.status) == expected_status)
        .values(status=next_status)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        db.refresh(program)
        raise Conflict(status_changed_message(program.status))
    set_committed_value(program, "status", next_status)
    actor_id = groups.acting_user_id(actor)
    detail = f"{expected_status} → {next_status}"
    if next_status == "closed":
        # Imported here: journey builds on this module.
        from mentor_app.services import journey

        ended = journey.end_pairs_of_closed_program(db, program=program, actor_id=actor_id)
        if ended_pairs is not None:
            ended_pairs.extend(ended)
        if ended:
            detail += f" ({count(len(ended), 'active pair')} ended)"
    audit.record(
        db,
        actor_id=actor_id,
        action="program_status_changed",
        target_type="program",
        target_id=program.id,
        detail=detail,
    )
    return program


# --- pages -------------------------------------------------------------------------------


def _template_title(key: str) -> str:
    template = TEMPLATES.get(key)
    return template.title if template is not None else key


def list_group_programs(db: Session, *, actor: User, group_id: int) -> list[ProgramCard]:
    """The group's programs, newest first; drafts for its admins only."""
    group = db.get(Group, group_id)
    mine = groups.membership_of(db, group_id=group_id, user_id=groups.acting_user_id(actor))
    if group is None or (mine is None and not group.is_open):
        raise NotFound("Group not found.")
    query = select(Program).where(Program.group_id == group_id)
    if mine is None or mine.role != "admin":
        query = query.where(Program.status != "draft")
    programs = db.exec(query.order_by(col(Program.created_at).desc(), col(Program.id).desc())).all()

    ids = [p.id for p in programs]
    counts: dict[tuple[int, str], int] = {}
    if ids:
        rows = db.exec(
            select(Enrollment.program_id, Enrollment.role, func.count())
            .where(col(Enrollment.program_id).in_(ids), Enrollment.status == "active")
            .group_by(col(Enrollment.program_id), col(Enrollment.role))
        ).all()
        counts = {(pid, role): n for pid, role, n in rows}
    return [
        ProgramCard(
            id=p.id or 0,
            title=p.title,
            status=p.status,
            template_title=_template_title(p.template_key),
            mentor_count=counts.get((p.id or 0, "mentor"), 0),
            mentee_count=counts.get((p.id or 0, "mentee"), 0),
        )
        for p in programs
    ]


def questions_for(program: Program, role: str) -> list[dict[str, Any]]:
    return [copy.deepcopy(q) for q in program.questions if q.get("role") == role]


def get_program_page(db: Session, *, actor: User, program_id: int) -> ProgramPage:
    program, group, mine = viewable_program(db, actor=actor, program_id=program_id)
    enrollment = db.exec(
        select(Enrollment).where(
            Enrollment.program_id == program_id, Enrollment.user_id == groups.acting_user_id(actor)
        )
    ).first()
    my_enrollment = None
    if enrollment is not None and enrollment.id is not None:
        my_enrollment = EnrollmentView(
            id=enrollment.id,
            role=enrollment.role,
            capacity=enrollment.capacity,
            answers=copy.deepcopy(enrollment.answers),
            status=enrollment.status,
            share_answers=enrollment.share_answers,
        )
    return ProgramPage(
        id=program_id,
        group_id=program.group_id,
        group_name=group.name,
        title=program.title,
        description=program.description,
        status=program.status,
        start_date=program.start_date,
        length_weeks=program.length_weeks,
        mentor_capacity_max=program.mentor_capacity_max,
        journey=copy.deepcopy(program.journey),
        is_admin=mine is not None and mine.role == "admin",
        is_member=mine is not None,
        my_enrollment=my_enrollment,
        mentor_questions=questions_for(program, "mentor"),
        mentee_questions=questions_for(program, "mentee"),
    )


def answer_summary(
    questions: Sequence[Mapping[str, Any]], answers: Mapping[str, Any]
) -> list[tuple[str, str]]:
    """(question, answer) in question order, skipping unanswered ones."""
    summary: list[tuple[str, str]] = []
    for question in questions:
        answer = answers.get(question["id"])
        if isinstance(answer, list):
            answer = ", ".join(str(a) for a in answer)
        if answer:
            summary.append((question["text"], str(answer)))
    return summary


def _applications_page(db: Session, program: Program, role: str, page: int) -> Page[ApplicationRow]:
    """One page of a role's applications: active ones first, then by date applied (and
    id, so that no row moves between pages)."""
    statement: Any = (
        sa_select(Enrollment, col(User.display_name))
        .join(User, col(User.id) == col(Enrollment.user_id))
        .where(col(Enrollment.program_id) == program.id, col(Enrollment.role) == role)
        .order_by(
            case((col(Enrollment.status) == "active", 0), else_=1),
            col(Enrollment.created_at),
            col(Enrollment.id),
        )
    )
    found = page_of(db, statement, page=page, scalars=False)
    questions = questions_for(program, role)
    return found.map(
        lambda row: ApplicationRow(
            enrollment_id=row[0].id or 0,
            user_id=row[0].user_id,
            display_name=row[1],
            role=row[0].role,
            capacity=row[0].capacity,
            status=row[0].status,
            created_at=row[0].created_at,
            answers=answer_summary(questions, row[0].answers),
        )
    )


def get_admin_overview(
    db: Session, *, actor: User, program_id: int, mentors_page: int = 0, mentees_page: int = 0
) -> AdminOverview:
    """Applications by role, a page of each (active ones first), with counts of the
    active ones. A page past the end of its list reads as its last page."""
    program = admin_program(db, actor=actor, program_id=program_id)
    counts = dict.fromkeys(ROLES, 0)
    for role, n in db.exec(
        select(Enrollment.role, func.count())
        .where(Enrollment.program_id == program_id, Enrollment.status == "active")
        .group_by(col(Enrollment.role))
    ).all():
        counts[role] = n
    return AdminOverview(
        program_id=program_id,
        group_id=program.group_id,
        title=program.title,
        status=program.status,
        next_status=NEXT_STATUS.get(program.status),
        mentors=_applications_page(db, program, "mentor", mentors_page),
        mentees=_applications_page(db, program, "mentee", mentees_page),
        counts=counts,
    )
