"""The program wizard, a program's page (sign-up as mentor or mentee) and its admin view."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import reflex as rx
from reflex.event import EventSpec
from sqlmodel import Session

from mentor_app.models import Program, User
from mentor_app.program_templates import TEMPLATES
from mentor_app.services import enrollments, programs
from mentor_app.services.errors import Conflict, NotFound, PermissionDenied, ServiceError
from mentor_app.wording import count
from state.busy import while_busy
from state.journey import schedule_pair_refresh
from state.paging import EMPTY_PAGE_INFO, page_info
from state.session import SessionState, SignedOut

WIZARD_STEPS = ["Template", "Details", "Questions", "Journey", "Review"]
TEMPLATE_CHOICES: list[dict[str, Any]] = [
    {
        "key": t.key,
        "title": t.title,
        "description": t.description,
        "weeks": count(t.default_length_weeks, "week"),
    }
    for t in TEMPLATES.values()
]
QUESTION_TYPES = [
    {"value": "single_choice", "label": "Single choice"},
    {"value": "multiple_choice", "label": "Multiple choice"},
    {"value": "short_text", "label": "Short text"},
    {"value": "long_text", "label": "Long text"},
]


def _is_row(index: Any, rows: list[Any]) -> bool:
    """A card the page shows: a whole number from 0 (Python would read -1 as the last)."""
    return type(index) is int and 0 <= index < len(rows)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _error_key(field: str | None) -> str:
    """Where the wizard shows an error: field errors by name, and anything about one
    question or one week (its text, options, focus...) on that question's or week's card."""
    if not field:
        return "form"
    parts = field.split(".")
    if parts[0] in ("questions", "journey") and len(parts) > 2:
        return ".".join(parts[:2])
    return field


def _question_row(q: dict[str, Any]) -> dict[str, Any]:
    row = dict(q)
    row["options_text"] = "\n".join(q.get("options") or [])
    row["is_choice"] = q.get("type") in ("single_choice", "multiple_choice")
    return row


def _step_row(step: dict[str, Any]) -> dict[str, Any]:
    row = dict(step)
    row["prompts_text"] = "\n".join(step.get("prompts") or [])
    return row


class NewProgramState(SessionState):
    """Step 1: choose a template (creates the draft)."""

    denied: rx.Field[str] = rx.field("")
    starting: rx.Field[str] = rx.field("")

    def _group_id(self) -> int:
        return self._page_id("groups", "Group not found.")

    @rx.event
    def load(self) -> EventSpec | None:
        self.denied, self.starting = "", ""
        try:
            with self._reading_as_user() as (db, user):
                programs.check_can_create(db, actor=user, group_id=self._group_id())
        except SignedOut:
            return self._login_redirect()
        except ServiceError as error:
            self.denied = error.message
        return None

    @rx.event
    def choose(self, template_key: str):  # type: ignore[no-untyped-def]
        self.starting = template_key
        yield
        try:
            with self._as_user() as (db, user):
                program = programs.start_program(
                    db, actor=user, group_id=self._group_id(), template_key=template_key
                )
        except SignedOut:
            yield self._login_redirect()
            return
        except ServiceError as error:
            self.denied = error.message
            self.starting = ""
            return
        yield rx.redirect(f"/programs/{program.id}/wizard")


class WizardState(SessionState):
    """Steps 2-5 of the wizard; every Next (and Back) saves the draft."""

    step: rx.Field[int] = rx.field(2)
    title: rx.Field[str] = rx.field("")
    group_href: rx.Field[str] = rx.field("")
    details: rx.Field[dict[str, str]] = rx.field(default_factory=dict)
    questions: rx.Field[list[dict[str, Any]]] = rx.field(default_factory=list)
    journey: rx.Field[list[dict[str, Any]]] = rx.field(default_factory=list)
    errors: rx.Field[dict[str, str]] = rx.field(default_factory=dict)
    denied: rx.Field[str] = rx.field("")
    loaded: rx.Field[bool] = rx.field(False)
    saving: rx.Field[bool] = rx.field(False)

    def _program_id(self) -> int:
        return self._page_id("programs", "Program not found.")

    def _show(self, program: Program) -> None:
        self.step = max(2, program.wizard_step)
        self.title = program.title
        self.group_href = f"/groups/{program.group_id}"
        self.details = {
            "title": program.title,
            "description": program.description,
            "start_date": program.start_date.isoformat() if program.start_date else "",
            "length_weeks": str(program.length_weeks),
            "mentor_capacity_max": str(program.mentor_capacity_max),
        }
        self.questions = [_question_row(q) for q in program.questions]
        self.journey = [_step_row(s) for s in program.journey]

    @rx.event
    def load(self) -> EventSpec | None:
        self.errors, self.denied, self.loaded, self.saving = {}, "", False, False
        try:
            with self._reading_as_user() as (db, user):
                self._show(programs.get_draft(db, actor=user, program_id=self._program_id()))
        except SignedOut:
            return self._login_redirect()
        except (NotFound, PermissionDenied) as error:
            self.denied = error.message
            return None
        except ServiceError as error:  # already published
            self.denied = error.message
            return rx.redirect(f"/programs/{self._program_id()}")
        self.loaded = True
        return None

    def _save(self, save: Callable[[Session, User, int], Program], then_step: int) -> Any:
        """Save this step's changes, then move the draft (and the page) to `then_step`."""
        self.errors = {}
        self.saving = True
        try:
            with self._as_user() as (db, user):
                program_id = self._program_id()
                save(db, user, program_id)
                program = programs.set_wizard_step(
                    db, actor=user, program_id=program_id, step=then_step
                )
                self._show(program)
                self.step = then_step
        except SignedOut:
            self.saving = False
            return self._login_redirect()
        except ServiceError as error:
            self.errors = {_error_key(error.field): error.message}
        self.saving = False
        return None

    # --- step 2: details -------------------------------------------------------

    @rx.event
    def save_details(self, form: dict[str, str]) -> Any:
        return self._save(
            lambda db, user, pid: programs.save_details(
                db,
                actor=user,
                program_id=pid,
                title=form.get("title", ""),
                description=form.get("description", ""),
                start_date=form.get("start_date", ""),
                length_weeks=form.get("length_weeks", ""),
                mentor_capacity_max=form.get("mentor_capacity_max", ""),
            ),
            3,
        )

    # --- step 3: questions -----------------------------------------------------

    def _plain_questions(self) -> list[dict[str, Any]]:
        keep = ("id", "role", "text", "type", "options", "required", "for_matching", "match_key")
        return [{k: q.get(k) for k in keep} for q in self.questions]

    @rx.event
    def set_question(self, index: int, key: str, value: Any) -> None:
        rows = list(self.questions)
        if not _is_row(index, rows):
            return  # no such card (a crafted event): nothing to change
        row = dict(rows[index])
        if key == "options_text":
            row["options"] = _lines(str(value))
            row["options_text"] = str(value)
        else:
            row[key] = value
        if key == "type":
            row["is_choice"] = value in ("single_choice", "multiple_choice")
        rows[index] = row
        self.questions = rows

    @rx.event
    def add_question(self, role: str) -> None:
        self.questions = [*self.questions, _question_row(programs.new_question(role))]

    @rx.event
    def move_question(self, index: int, delta: int) -> None:
        moved = programs.move_question(self._plain_questions(), index, delta)
        self.questions = [_question_row(q) for q in moved]

    @rx.event
    def remove_question(self, index: int) -> None:
        kept = programs.remove_question(self._plain_questions(), index)
        self.questions = [_question_row(q) for q in kept]

    @rx.event
    def save_questions(self, then_step: int) -> Any:
        questions = self._plain_questions()
        return self._save(
            lambda db, user, pid: programs.save_questions(
                db, actor=user, program_id=pid, questions=questions
            ),
            then_step,
        )

    # --- step 4: journey -------------------------------------------------------

    def _plain_journey(self) -> list[dict[str, Any]]:
        return [
            {"week": i + 1, "title": s.get("title", ""), "focus": s.get("focus", ""),
             "prompts": list(s.get("prompts") or []),
             **({"goal": True} if s.get("goal") is True else {})}
            for i, s in enumerate(self.journey)
        ]  # fmt: skip

    @rx.event
    def set_step(self, index: int, key: str, value: str) -> None:
        rows = list(self.journey)
        if not _is_row(index, rows):
            return  # no such week (a crafted event): nothing to change
        row = dict(rows[index])
        if key == "prompts_text":
            row["prompts"] = _lines(value)
        row[key] = value
        rows[index] = row
        self.journey = rows

    @rx.event
    def set_step_goal(self, index: int, value: bool) -> None:
        """Whether the week is about the mentee's goals (the pair's page links to them)."""
        rows = list(self.journey)
        if not _is_row(index, rows):
            return  # no such week (a crafted event): nothing to change
        row = {k: v for k, v in rows[index].items() if k != "goal"}
        if value is True:
            row["goal"] = True
        rows[index] = row
        self.journey = rows

    @rx.event
    def add_step(self) -> None:
        self.journey = [_step_row(s) for s in programs.add_step(self.journey)]

    @rx.event
    def remove_step(self, index: int) -> None:
        self.journey = [_step_row(s) for s in programs.remove_step(self.journey, index)]

    @rx.event
    def save_journey(self, then_step: int) -> Any:
        journey = self._plain_journey()
        return self._save(
            lambda db, user, pid: programs.save_journey(
                db, actor=user, program_id=pid, journey=journey
            ),
            then_step,
        )

    # --- step 5: review --------------------------------------------------------

    @rx.event
    def back_to(self, step: int) -> Any:
        return self._save(
            lambda db, user, pid: programs.get_draft(db, actor=user, program_id=pid), step
        )

    @rx.event
    def publish(self) -> Any:
        self.errors = {}
        try:
            with self._as_user() as (db, user):
                program = programs.publish(db, actor=user, program_id=self._program_id())
        except SignedOut:
            return self._login_redirect()
        except ServiceError as error:
            # Publishing re-checks every step: show the problem on the step that holds it.
            self.errors = {_error_key(error.field): error.message}
            self.step = programs.wizard_step_for(error.field)
            return None
        return rx.redirect(f"/programs/{program.id}")


def _answer_rows(questions: list[dict[str, Any]], answers: dict[str, Any]) -> list[dict[str, Any]]:
    """What the sign-up form renders: each question with its options pre-checked."""
    rows = []
    for q in questions:
        given = answers.get(q["id"])
        chosen = given if isinstance(given, list) else ([given] if given else [])
        rows.append(
            {
                "id": q["id"],
                "text": q["text"],
                "type": q["type"],
                "required": bool(q.get("required")),
                "value": given if isinstance(given, str) else "",
                "options": [
                    {"value": opt, "id": f"a-{q['id']}-{n}", "checked": opt in chosen}
                    for n, opt in enumerate(q.get("options") or [])
                ],
            }
        )
    return rows


class ProgramPageState(SessionState):
    """A program's page: details, journey, sign-up and, for admins, the applications."""

    program: rx.Field[dict[str, Any]] = rx.field(default_factory=dict)
    journey: rx.Field[list[dict[str, Any]]] = rx.field(default_factory=list)
    mine: rx.Field[dict[str, Any]] = rx.field(default_factory=dict)
    my_answers: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    form_role: rx.Field[str] = rx.field("")  # "" = no form open
    form_questions: rx.Field[list[dict[str, Any]]] = rx.field(default_factory=list)
    capacity_choices: rx.Field[list[str]] = rx.field(default_factory=list)
    errors: rx.Field[dict[str, str]] = rx.field(default_factory=dict)
    # The admin's view: one page of each role's applications, and where each page is.
    mentor_applications: rx.Field[list[dict[str, Any]]] = rx.field(default_factory=list)
    mentee_applications: rx.Field[list[dict[str, Any]]] = rx.field(default_factory=list)
    mentor_applications_info: rx.Field[dict[str, Any]] = rx.field(
        default_factory=lambda: EMPTY_PAGE_INFO
    )
    mentee_applications_info: rx.Field[dict[str, Any]] = rx.field(
        default_factory=lambda: EMPTY_PAGE_INFO
    )
    application_pages: rx.Field[dict[str, int]] = rx.field(default_factory=dict)
    turning: rx.Field[str] = rx.field("")  # the role whose next page is on its way
    removing: rx.Field[bool] = rx.field(False)  # a "Remove the application" on its way
    counts: rx.Field[dict[str, int]] = rx.field(default_factory=dict)
    not_found: rx.Field[bool] = rx.field(False)
    message: rx.Field[str] = rx.field("")

    # Backend only: the page's questions by role, and the member's own answers.
    _questions: dict[str, list[dict[str, Any]]] = {}
    _mine_answers: dict[str, Any] = {}

    def _program_id(self) -> int:
        return self._page_id("programs", "Program not found.")

    def _load(self) -> EventSpec | None:
        try:
            with self._reading_as_user() as (db, user):
                program_id = self._program_id()
                page = programs.get_program_page(db, actor=user, program_id=program_id)
                overview = (
                    programs.get_admin_overview(
                        db,
                        actor=user,
                        program_id=program_id,
                        mentors_page=self.application_pages.get("mentor", 0),
                        mentees_page=self.application_pages.get("mentee", 0),
                    )
                    if page.is_admin
                    else None
                )
        except SignedOut:
            return self._login_redirect()
        except (NotFound, PermissionDenied):
            self.not_found, self.program = True, {}
            return None
        self.not_found = False
        self.program = {
            "id": page.id,
            "title": page.title,
            "description": page.description,
            "status": page.status,
            "start_date": page.start_date.isoformat() if page.start_date else "not set",
            "length": count(page.length_weeks, "week"),
            "group_name": page.group_name,
            "group_href": f"/groups/{page.group_id}",
            "is_admin": page.is_admin,
            "is_member": page.is_member,
            "is_open": page.status == "open",
            "next_status": {"open": "active", "active": "closed"}.get(page.status, ""),
        }
        self.journey = [
            {"week": str(s["week"]), "title": s["title"], "focus": s.get("focus", "")}
            for s in page.journey
        ]
        self._questions = {"mentor": page.mentor_questions, "mentee": page.mentee_questions}
        mine = page.my_enrollment
        if mine is not None and mine.status == "active":
            self.mine = {
                "id": mine.id,
                "role": mine.role,
                "capacity": str(mine.capacity or ""),
                "share": "yes" if mine.share_answers else "no",
            }
            questions = self._questions.get(mine.role, [])
            self.my_answers = [
                {"question": q["text"], "answer": _answer_text(mine.answers.get(q["id"]))}
                for q in questions
            ]
            self._mine_answers = dict(mine.answers)
        else:
            self.mine, self.my_answers, self._mine_answers = {}, [], {}
        self.capacity_choices = [str(n) for n in range(1, page.mentor_capacity_max + 1)]
        if overview is not None:
            self.counts = dict(overview.counts)
            self.mentor_applications = [_application_row(r) for r in overview.mentors.items]
            self.mentee_applications = [_application_row(r) for r in overview.mentees.items]
            self.mentor_applications_info = page_info(overview.mentors)
            self.mentee_applications_info = page_info(overview.mentees)
            # The pages read: after a change the list stays on a page it has.
            self.application_pages = {
                "mentor": overview.mentors.page,
                "mentee": overview.mentees.page,
            }
        else:
            self.counts, self.mentor_applications, self.mentee_applications = {}, [], []
            self.mentor_applications_info = self.mentee_applications_info = EMPTY_PAGE_INFO
        return None

    @rx.event
    def load(self) -> EventSpec | None:
        self.form_role, self.errors, self.message = "", {}, ""
        self.application_pages, self.turning = {}, ""
        return self._load()

    def _turn_applications(self, role: str, step: int):  # type: ignore[no-untyped-def]
        if role not in programs.ROLES:
            return
        self.turning = role  # the list shows it is loading until its page is here
        yield
        pages = dict(self.application_pages)
        pages[role] = max(0, pages.get(role, 0) + step)
        self.application_pages = pages
        follow_up = self._load()
        self.turning = ""
        if follow_up is not None:
            yield follow_up

    @rx.event
    def next_applications(self, role: str):  # type: ignore[no-untyped-def]
        yield from self._turn_applications(str(role), 1)

    @rx.event
    def previous_applications(self, role: str):  # type: ignore[no-untyped-def]
        yield from self._turn_applications(str(role), -1)

    @rx.event
    def open_form(self, role: str) -> None:
        editing = bool(self.mine) and role == self.mine.get("role")
        answers = self._mine_answers if editing else {}
        self.form_role = role
        self.errors = {}
        self.form_questions = _answer_rows(self._questions.get(role, []), answers)

    @rx.event
    def close_form(self) -> None:
        self.form_role, self.errors = "", {}

    def _answers_from(self, form: dict[str, Any]) -> dict[str, Any]:
        answers: dict[str, Any] = {}
        for q in self.form_questions:
            if q["type"] == "multiple_choice":
                answers[q["id"]] = [o["value"] for o in q["options"] if form.get(o["id"])]
            else:
                answers[q["id"]] = str(form.get(f"a-{q['id']}", ""))
        return answers

    @rx.event
    def submit_application(self, form: dict[str, Any]) -> EventSpec | None:
        self.errors = {}
        answers = self._answers_from(form)
        capacity = form.get("capacity") if self.form_role == "mentor" else None
        share = bool(form.get("share_answers"))
        try:
            with self._as_user() as (db, user):
                if self.mine:
                    enrollments.update_application(
                        db, actor=user, enrollment_id=int(self.mine["id"]),
                        answers=answers, capacity=capacity, share_answers=share,
                    )  # fmt: skip
                else:
                    enrollments.apply(
                        db, actor=user, program_id=self._program_id(), role=self.form_role,
                        answers=answers, capacity=capacity, share_answers=share,
                    )  # fmt: skip
        except SignedOut:
            return self._login_redirect()
        except ServiceError as error:
            self.errors = {error.field or "form": error.message}
            return None
        self.message = "Application saved." if self.mine else "Thanks! Your application is in."
        self.form_role = ""
        return self._load()

    def _act(self, action: Callable[[Session, User, int], object], success: str) -> Any:
        try:
            with self._as_user() as (db, user):
                action(db, user, self._program_id())
        except SignedOut:
            return self._login_redirect()
        except ServiceError as error:
            self.message = error.message
            return None
        self.message = success
        return self._load()

    @rx.event
    def withdraw(self) -> Any:
        enrollment_id = int(self.mine.get("id", 0))
        return self._act(
            lambda db, user, _pid: enrollments.withdraw(
                db, actor=user, enrollment_id=enrollment_id
            ),
            "You withdrew your application.",
        )

    @rx.event
    def change_capacity(self, form: dict[str, Any]) -> Any:
        """A mentor's capacity while the program runs (the application form does it while
        sign-ups are open)."""
        enrollment_id = int(self.mine.get("id", 0))
        capacity = form.get("capacity")
        return self._act(
            lambda db, user, _pid: enrollments.change_capacity(
                db, actor=user, enrollment_id=enrollment_id, capacity=capacity
            ),
            "Your capacity is updated.",
        )

    @rx.event
    def remove_application(self, form: dict[str, Any]) -> Iterator[Any]:
        yield from while_busy(self, "removing", lambda: self._remove_application(form))

    def _remove_application(self, form: dict[str, Any]) -> Any:
        raw = str(form.get("enrollment_id", ""))
        enrollment_id = int(raw) if raw.isdigit() and len(raw) < 12 else 0
        reason = str(form.get("reason", ""))
        return self._act(
            lambda db, user, _pid: enrollments.remove_application(
                db, actor=user, enrollment_id=enrollment_id, reason=reason
            ),
            "The application was removed and the member told why.",
        )

    @rx.event
    def advance(self) -> Any:
        # The status this tab shows: a click from a stale tab must not move the program on
        # from a status the admin never saw (a second "Start" would close it).
        seen = str(self.program.get("status", ""))
        ended: list[int] = []  # pairs the closing ended, known once it has committed
        try:
            with self._as_user() as (db, user):
                programs.advance_status(
                    db,
                    actor=user,
                    program_id=self._program_id(),
                    expected_status=seen,
                    ended_pairs=ended,
                )
        except SignedOut:
            return self._login_redirect()
        except Conflict as error:
            reload = self._load()
            self.message = error.message
            return reload
        except ServiceError as error:
            self.message = error.message
            return None
        for pair_id in ended:
            # After this event: its tab may hold the pair's locks (see refresh_pair_page).
            schedule_pair_refresh(pair_id)  # the members' open pages turn read-only
        self.message = "Program status updated."
        return self._load()


def _application_row(row: programs.ApplicationRow) -> dict[str, Any]:
    return {
        "id": row.enrollment_id,
        "name": row.display_name,
        "role": row.role,
        "capacity": str(row.capacity or ""),
        "status": row.status,
    }


def _answer_text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "—"
    return str(value) if value else "—"
