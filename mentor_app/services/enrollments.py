"""Members signing up to an open program as mentor or mentee, editing and withdrawing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from mentor_app.models import Enrollment, Pair, Program, User, utcnow
from mentor_app.services import accounts, audit, groups, notifications, programs
from mentor_app.services.cleaning import storable
from mentor_app.services.errors import Conflict, NotFound, PermissionDenied, ValidationError

ANSWER_MAX = 2000
ROLES = programs.ROLES

APPLICATION_NOT_FOUND = "Application not found."
SIGNUPS_CLOSED = "Sign-ups are closed for this program."
JOIN_FIRST = "Join the group first to sign up."
UNDERAGE = "You must be 18 or older to sign up for a mentorship program."
ALREADY_APPLIED = "You have already applied to this program."
REMOVED = "The program's admins removed your application. Ask them if you would like to take part."
IN_A_PAIR = (
    "You are already paired in this program. To step back, end the pair from its page "
    "first; then you can withdraw."
)
REASON_MAX = 500


# --- answers ---------------------------------------------------------------------------


def _clean_answer(question: Mapping[str, Any], raw: Any) -> str | list[str] | None:
    """One answer, or None when it was left empty."""
    where = f"answers.{question['id']}"
    options: list[str] = question.get("options") or []
    qtype = question["type"]
    if qtype == "multiple_choice":
        picked = [raw] if isinstance(raw, str) else raw
        if picked is None:
            return None
        if not isinstance(picked, list | tuple) or not all(isinstance(p, str) for p in picked):
            raise ValidationError("Choose from the options.", field=where)
        chosen = list(dict.fromkeys(p for p in picked if p))  # no blanks, no repeats
        if any(choice not in options for choice in chosen):
            raise ValidationError("Choose from the options.", field=where)
        return chosen or None
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise ValidationError("This answer is malformed.", field=where)
    text = storable(raw).strip()
    if not text:
        return None
    if qtype == "single_choice":
        if text not in options:
            raise ValidationError("Choose one of the options.", field=where)
        return text
    if len(text) > ANSWER_MAX:
        raise ValidationError(f"Use at most {ANSWER_MAX} characters.", field=where)
    return text


def clean_answers(
    questions: Sequence[Mapping[str, Any]], answers: Mapping[str, Any]
) -> dict[str, str | list[str]]:
    """The answers to this role's questions, in question order; anything else is dropped."""
    if not isinstance(answers, Mapping):
        raise ValidationError("The answers are malformed.", field="answers")
    cleaned: dict[str, str | list[str]] = {}
    for question in questions:
        answer = _clean_answer(question, answers.get(question["id"]))
        if answer is None:
            if question.get("required"):
                message = (
                    "Choose at least one option."
                    if question["type"] == "multiple_choice"
                    else "This question needs an answer."
                )
                raise ValidationError(message, field=f"answers.{question['id']}")
            continue
        cleaned[question["id"]] = answer
    return cleaned


def clean_capacity(program: Program, role: str, capacity: int | str | None) -> int | None:
    if role != "mentor":
        return None  # mentees don't take anyone; a stray value from the form is ignored
    if capacity is None or (isinstance(capacity, str) and not capacity.strip()):
        raise ValidationError("Say how many mentees you can take.", field="capacity")
    if isinstance(capacity, str) and capacity.strip().isdigit():
        value = int(capacity.strip()[:4])
    elif isinstance(capacity, int) and not isinstance(capacity, bool):
        value = capacity
    else:
        raise ValidationError("Enter a whole number.", field="capacity")
    if not 1 <= value <= program.mentor_capacity_max:
        limit = program.mentor_capacity_max
        raise ValidationError(
            "This program lets each mentor take 1 mentee."
            if limit == 1
            else f"Choose between 1 and {limit} mentees.",
            field="capacity",
        )
    return value


# --- who may sign up -------------------------------------------------------------------


def _check_can_sign_up(
    db: Session, *, actor: User, program_id: int, today: dt.date | None
) -> Program:
    program, _group, mine = programs.viewable_program(db, actor=actor, program_id=program_id)
    if program.status != "open":
        raise Conflict(SIGNUPS_CLOSED)
    if mine is None:
        raise PermissionDenied(JOIN_FIRST)
    # The age gate of sign-up is checked again against what is stored, not trusted.
    dob = db.exec(
        select(col(User.date_of_birth)).where(User.id == groups.acting_user_id(actor))
    ).one()
    if not accounts.is_adult(dob, today=today or utcnow().date()):
        raise PermissionDenied(UNDERAGE)
    return program


def _existing_application(db: Session, *, program_id: int, user_id: int) -> Enrollment | None:
    return db.exec(
        select(Enrollment).where(Enrollment.program_id == program_id, Enrollment.user_id == user_id)
    ).first()


def _own_application(db: Session, *, actor: User, enrollment_id: int) -> Enrollment:
    enrollment = db.get(Enrollment, enrollment_id)
    # Someone else's application answers like a missing one.
    if enrollment is None or enrollment.user_id != groups.acting_user_id(actor):
        raise NotFound(APPLICATION_NOT_FOUND)
    return enrollment


def _live_pairs(db: Session, enrollment_id: int) -> list[Pair]:
    """Draft or active pairs this application is part of, on either side."""
    return list(
        db.exec(
            select(Pair).where(
                (col(Pair.mentor_enrollment_id) == enrollment_id)
                | (col(Pair.mentee_enrollment_id) == enrollment_id),
                col(Pair.status).in_(("draft", "active")),
            )
        ).all()
    )


# --- services ----------------------------------------------------------------------------


def apply(
    db: Session,
    *,
    actor: User,
    program_id: int,
    role: str,
    answers: dict[str, str | list[str]],
    capacity: int | str | None = None,
    share_answers: bool = True,
    today: dt.date | None = None,
) -> Enrollment:
    """Sign up as mentor or mentee. Applying again after withdrawing re-activates the
    same application, in either role."""
    actor_id = groups.acting_user_id(actor)
    program = _check_can_sign_up(db, actor=actor, program_id=program_id, today=today)
    if role not in ROLES:
        raise ValidationError("Choose to sign up as a mentor or as a mentee.", field="role")

    existing = _existing_application(db, program_id=program_id, user_id=actor_id)
    if existing is not None and existing.status == "removed":
        raise Conflict(REMOVED)
    if existing is not None and existing.status != "withdrawn":
        if existing.role != role:
            raise Conflict(
                f"You have already signed up as a {existing.role} in this program, "
                "and can't be both mentor and mentee."
            )
        raise Conflict(ALREADY_APPLIED)

    clean = clean_answers(programs.questions_for(program, role), answers)
    seats = clean_capacity(program, role, capacity)

    if existing is not None:
        existing.role, existing.answers, existing.capacity = role, clean, seats
        existing.share_answers = bool(share_answers)
        existing.status = "active"
        existing.updated_at = utcnow()
        db.add(existing)
        db.flush()
        return existing

    enrollment = Enrollment(
        program_id=program_id,
        user_id=actor_id,
        role=role,
        capacity=seats,
        answers=clean,
        share_answers=bool(share_answers),
    )
    try:
        # A savepoint, so a double submit racing this one becomes a Conflict the page can
        # show, not a broken transaction.
        with db.begin_nested():
            db.add(enrollment)
    except IntegrityError:
        raise Conflict(ALREADY_APPLIED) from None
    return enrollment


def update_application(
    db: Session,
    *,
    actor: User,
    enrollment_id: int,
    answers: dict[str, str | list[str]],
    capacity: int | str | None = None,
    share_answers: bool | None = None,
    today: dt.date | None = None,
) -> Enrollment:
    """Change the answers (and a mentor's capacity) while sign-ups are open."""
    enrollment = _own_application(db, actor=actor, enrollment_id=enrollment_id)
    program = _check_can_sign_up(db, actor=actor, program_id=enrollment.program_id, today=today)
    if enrollment.status == "withdrawn":
        raise Conflict("You withdrew this application. Sign up again to take part.")
    enrollment.answers = clean_answers(programs.questions_for(program, enrollment.role), answers)
    seats = clean_capacity(program, enrollment.role, capacity)
    if seats is not None:
        _lock(db, enrollment)
        _refit_seats(db, enrollment, seats)
    enrollment.capacity = seats
    if share_answers is not None:
        enrollment.share_answers = bool(share_answers)
    enrollment.updated_at = utcnow()
    db.add(enrollment)
    db.flush()
    return enrollment


def withdraw(db: Session, *, actor: User, enrollment_id: int) -> Enrollment:
    """Withdraw, whatever the program's status, unless in an active pair: then the pair is
    ended first (from its page), so the partner is told and the admins can rematch."""
    enrollment = _own_application(db, actor=actor, enrollment_id=enrollment_id)
    if enrollment.status == "removed":
        raise Conflict(REMOVED)
    if enrollment.status == "withdrawn":
        return enrollment
    _lock(db, enrollment)
    pairs = _live_pairs(db, enrollment.id or 0)
    if any(pair.status == "active" for pair in pairs):
        raise Conflict(IN_A_PAIR)
    for pair in pairs:  # drafts the admins proposed: the seat and the mentee are freed
        db.delete(pair)
    enrollment.status = "withdrawn"
    enrollment.updated_at = utcnow()
    db.add(enrollment)
    db.flush()
    return enrollment


def _lock(db: Session, enrollment: Enrollment) -> None:
    """Row-lock the application (PostgreSQL; SQLite transactions already write-lock), so a
    pair being made for it at the same moment waits for this change, then sees it."""
    db.exec(select(Enrollment.id).where(Enrollment.id == enrollment.id).with_for_update()).all()


def remove_application(db: Session, *, actor: User, enrollment_id: int, reason: str) -> Enrollment:
    """A group admin takes a waiting member off the program, with a reason the member is
    told. Someone in an active pair is removed only once that pair has ended."""
    enrollment = db.get(Enrollment, enrollment_id)
    if enrollment is None:
        raise NotFound(APPLICATION_NOT_FOUND)
    try:
        program = programs.admin_program(db, actor=actor, program_id=enrollment.program_id)
    except PermissionDenied:
        raise NotFound(APPLICATION_NOT_FOUND) from None  # nor whether it exists
    why = storable(reason if isinstance(reason, str) else "").strip()
    if not why:
        raise ValidationError(
            "Say why the application is removed: the member is told.", field="reason"
        )
    if len(why) > REASON_MAX:
        raise ValidationError(f"Use at most {REASON_MAX} characters.", field="reason")
    if enrollment.status == "removed":
        return enrollment
    _lock(db, enrollment)
    pairs = _live_pairs(db, enrollment.id or 0)
    if any(pair.status == "active" for pair in pairs):
        raise Conflict("This member is in an active pair. End their pair first, then remove them.")
    for pair in pairs:
        db.delete(pair)
    enrollment.status = "removed"
    enrollment.updated_at = utcnow()
    db.add(enrollment)
    db.flush()
    notifications.notify(
        db,
        user_id=enrollment.user_id,
        kind="application_removed",
        text=f"The admins of “{program.title}” removed your application: {why}",
        link=f"/programs/{program.id}",
    )
    audit.record(
        db,
        actor_id=groups.acting_user_id(actor),
        action="application_removed",
        target_type="enrollment",
        target_id=enrollment.id,
        detail=why,
    )
    return enrollment


def _refit_seats(db: Session, enrollment: Enrollment, seats: int) -> None:
    """Fit the mentor's live pairs into seats 1..`seats`: active pairs keep a seat, the
    admins' drafts fill what is left, newest dropped first, then seats are renumbered so a
    new pair can never take a seat number above the capacity."""
    mine = sorted(
        (p for p in _live_pairs(db, enrollment.id or 0) if p.mentor_enrollment_id == enrollment.id),
        key=lambda p: (p.status != "active", p.id or 0),
    )
    active = sum(1 for p in mine if p.status == "active")
    if active > seats:
        raise ValidationError(
            f"You are mentoring {active} mentees in this program: choose {active} or more, "
            "or end a pair first.",
            field="capacity",
        )
    kept, dropped = mine[:seats], mine[seats:]
    for pair in dropped:
        db.delete(pair)
    if dropped or any((p.mentor_seat or 0) > seats for p in kept):
        for pair in kept:  # two steps: the seat numbers are unique per mentor
            pair.mentor_seat = None
            db.add(pair)
        db.flush()
        for number, pair in enumerate(kept, start=1):
            pair.mentor_seat = number
            db.add(pair)
    db.flush()


def change_capacity(
    db: Session, *, actor: User, enrollment_id: int, capacity: int | str | None
) -> Enrollment:
    """A mentor changes how many mentees they take, while sign-ups are open or the program
    runs; never below the mentees they are mentoring now."""
    enrollment = _own_application(db, actor=actor, enrollment_id=enrollment_id)
    if enrollment.role != "mentor":
        raise Conflict("Only mentors have a capacity.")
    if enrollment.status != "active":
        raise Conflict("This application is no longer active.")
    program = db.get(Program, enrollment.program_id)
    if program is None or program.status not in ("open", "active"):
        raise Conflict("This program is over: its capacity can't change.")
    seats = clean_capacity(program, "mentor", capacity)
    assert seats is not None
    _lock(db, enrollment)
    _refit_seats(db, enrollment, seats)
    enrollment.capacity = seats
    enrollment.updated_at = utcnow()
    db.add(enrollment)
    db.flush()
    return enrollment


def get_my_application(db: Session, *, actor: User, program_id: int) -> Enrollment | None:
    programs.viewable_program(db, actor=actor, program_id=program_id)
    return _existing_application(db, program_id=program_id, user_id=groups.acting_user_id(actor))
