"""A pair's journey: weeks and steps, weekly check-ins, the early fit check, ending a pair
(with rematch priority for a mentee left without a partner) and completing the program.

Only the two members of a pair see its page; to anyone else it does not exist. Group
admins get status, progress and counts through the pairing workspace, never notes.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from mentor_app.models import (
    CheckIn,
    Enrollment,
    FitCheck,
    Membership,
    Pair,
    PairSurvey,
    Program,
    StepCompletion,
    User,
    utcnow,
)
from mentor_app.services import audit, groups, notifications, programs
from mentor_app.services.cleaning import storable
from mentor_app.services.errors import Conflict, NotFound, PermissionDenied, ValidationError

NOTE_MAX = 1000
DETAIL_MAX = 500
MOODS = {1: "Hard going", 2: "Not great", 3: "OK", 4: "Good", 5: "Great"}
FIT_ANSWERS = {"good": "Good fit", "deciding": "Still deciding", "not_good": "Not a good fit"}
END_REASONS = {
    "completed": "Completed",
    "not_a_good_fit": "Not a good fit",
    "no_longer_available": "No longer available",
    "other": "Other",
}
PAIR_NOT_FOUND = "Pair not found."
ENDED = "This pair has ended: its history is read-only."


# --- weeks --------------------------------------------------------------------------------


def clean_timezone(name: str | None) -> str:
    """An IANA time zone name the server knows, or UTC."""
    if not name or len(name) > 64:
        return "UTC"
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return "UTC"
    return name


def local_date(now: dt.datetime, timezone: str) -> dt.date:
    """The calendar date at `now` for someone living in `timezone`."""
    return now.astimezone(zoneinfo.ZoneInfo(clean_timezone(timezone))).date()


def week_of(start: dt.date | None, today: dt.date) -> int:
    """The journey week `today` falls in: 0 before the start, 1 for the first seven days
    from the start date, and so on (past the last week the number keeps growing)."""
    if start is None or today < start:
        return 0
    return (today - start).days // 7 + 1


# --- what the page shows ------------------------------------------------------------------


@dataclass(frozen=True)
class StepView:
    week: int
    title: str
    focus: str
    prompts: list[str]
    done_by: list[tuple[str, dt.datetime]]  # (display name, when), in order
    done_by_me: bool
    done_roles: list[str] = field(default_factory=list)  # "mentor" / "mentee", same order


@dataclass(frozen=True)
class CheckInView:
    week: int
    name: str
    role: str
    mood: int
    met: bool
    note: str
    updated_at: dt.datetime


@dataclass(frozen=True)
class JourneyView:
    pair_id: int
    program_id: int
    program_title: str
    status: str  # active | completed | ended
    start_date: dt.date | None
    length_weeks: int
    current_week: int  # in the viewer's time zone
    my_role: str
    my_name: str
    partner_name: str
    partner_role: str
    partner_answers: list[tuple[str, str]]  # what the partner agreed to share
    steps: list[StepView]
    check_ins: list[CheckInView]  # newest week first
    fit_check_due: bool
    my_fit_answer: str
    can_complete: bool
    my_survey_due: bool
    ended_at: dt.datetime | None
    weeks_done: int = field(default=0)


def pair_of_member(db: Session, *, actor: User, pair_id: int) -> tuple[Pair, str]:
    """The pair and the actor's role in it; NotFound for drafts and for everyone else."""
    me = groups.acting_user_id(actor)
    pair = db.get(Pair, pair_id)
    if pair is not None and me not in (pair.mentor_id, pair.mentee_id):
        audit.refused(actor_id=me, action="not a member", target_type="pair", target_id=pair_id)
    if pair is None or pair.status == "draft" or me not in (pair.mentor_id, pair.mentee_id):
        raise NotFound(PAIR_NOT_FOUND)
    return pair, "mentor" if pair.mentor_id == me else "mentee"


def _require_active(pair: Pair) -> None:
    if pair.status != "active":
        raise Conflict(ENDED)


def _program(db: Session, pair: Pair) -> Program:
    program = db.get(Program, pair.program_id)
    assert program is not None
    return program


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or utcnow()


def current_week(db: Session, *, actor: User, pair: Pair, now: dt.datetime | None = None) -> int:
    return week_of(pair.start_date, local_date(_now(now), actor.timezone))


def _names(db: Session, pair: Pair) -> dict[int, str]:
    rows = db.exec(
        select(User.id, User.display_name).where(col(User.id).in_([pair.mentor_id, pair.mentee_id]))
    ).all()
    return {uid or 0: name for uid, name in rows}


def _last_step_done_by_both(db: Session, pair: Pair, length: int) -> bool:
    who = set(
        db.exec(
            select(StepCompletion.user_id).where(
                StepCompletion.pair_id == pair.id, StepCompletion.week == length
            )
        ).all()
    )
    return {pair.mentor_id, pair.mentee_id} <= who


def get_journey(
    db: Session, *, actor: User, pair_id: int, now: dt.datetime | None = None
) -> JourneyView:
    pair, my_role = pair_of_member(db, actor=actor, pair_id=pair_id)
    program = _program(db, pair)
    me = groups.acting_user_id(actor)
    partner_id = pair.mentee_id if my_role == "mentor" else pair.mentor_id
    names = _names(db, pair)
    week = current_week(db, actor=actor, pair=pair, now=now)
    length = len(program.journey)

    done: dict[int, list[tuple[str, dt.datetime]]] = {}
    roles: dict[int, list[str]] = {}
    mine: set[int] = set()
    for c in db.exec(
        select(StepCompletion)
        .where(StepCompletion.pair_id == pair_id)
        .order_by(col(StepCompletion.done_at), col(StepCompletion.id))
    ).all():
        done.setdefault(c.week, []).append((names.get(c.user_id, ""), c.done_at))
        roles.setdefault(c.week, []).append("mentor" if c.user_id == pair.mentor_id else "mentee")
        if c.user_id == me:
            mine.add(c.week)
    steps = [
        StepView(
            week=int(step.get("week", i + 1)),
            title=str(step.get("title", "")),
            focus=str(step.get("focus", "")),
            prompts=[str(p) for p in step.get("prompts", [])],
            done_by=done.get(int(step.get("week", i + 1)), []),
            done_by_me=int(step.get("week", i + 1)) in mine,
            done_roles=roles.get(int(step.get("week", i + 1)), []),
        )
        for i, step in enumerate(program.journey)
    ]
    check_ins = [
        CheckInView(
            week=c.week,
            name=names.get(c.user_id, ""),
            role="mentor" if c.user_id == pair.mentor_id else "mentee",
            mood=c.mood,
            met=c.met,
            note=c.note,
            updated_at=c.updated_at,
        )
        for c in db.exec(
            select(CheckIn)
            .where(CheckIn.pair_id == pair_id)
            .order_by(col(CheckIn.week).desc(), col(CheckIn.user_id))
        ).all()
    ]
    fit = db.exec(
        select(FitCheck.answer).where(FitCheck.pair_id == pair_id, FitCheck.user_id == me)
    ).first()
    partner_enrollment = db.get(
        Enrollment, pair.mentee_enrollment_id if my_role == "mentor" else pair.mentor_enrollment_id
    )
    partner_answers: list[tuple[str, str]] = []
    if partner_enrollment is not None and partner_enrollment.share_answers:
        partner_role = "mentee" if my_role == "mentor" else "mentor"
        partner_answers = programs.answer_summary(
            programs.questions_for(program, partner_role), partner_enrollment.answers
        )
    surveyed = db.exec(
        select(PairSurvey.id).where(PairSurvey.pair_id == pair_id, PairSurvey.user_id == me)
    ).first()
    last_passed = length > 0 and week > length
    can_complete = (
        pair.status == "active" and last_passed and _last_step_done_by_both(db, pair, length)
    )
    return JourneyView(
        pair_id=pair_id,
        program_id=program.id or 0,
        program_title=program.title,
        status=pair.status,
        start_date=pair.start_date,
        length_weeks=length,
        current_week=week,
        my_role=my_role,
        my_name=names.get(me, ""),
        partner_name=names.get(partner_id, ""),
        partner_role="mentee" if my_role == "mentor" else "mentor",
        partner_answers=partner_answers,
        steps=steps,
        check_ins=check_ins,
        fit_check_due=pair.status == "active" and week >= 2 and fit is None,
        my_fit_answer=fit or "",
        can_complete=can_complete,
        my_survey_due=pair.status == "completed" and surveyed is None,
        ended_at=pair.ended_at,
        weeks_done=sum(1 for s in steps if s.done_by),
    )


def get_shared_view(
    db: Session, *, pair_id: int, now: dt.datetime | None = None
) -> JourneyView | None:
    """The journey as its mentor sees it, for refreshing what both members share when
    someone else (an admin) changed the pair. None for a missing or draft pair."""
    pair = db.get(Pair, pair_id)
    if pair is None or pair.status == "draft":
        return None
    mentor = db.get(User, pair.mentor_id)
    assert mentor is not None
    return get_journey(db, actor=mentor, pair_id=pair_id, now=now)


# --- steps ----------------------------------------------------------------------------------


def _check_week(program: Program, week: Any) -> int:
    if isinstance(week, bool) or not isinstance(week, int):
        raise ValidationError("That step doesn't exist.", field="week")
    if not 1 <= week <= len(program.journey):
        raise ValidationError("That step doesn't exist.", field="week")
    return week


def mark_step_done(db: Session, *, actor: User, pair_id: int, week: int) -> StepCompletion:
    """The actor marks a week's step done; marking it twice is the same mark."""
    pair, _role = pair_of_member(db, actor=actor, pair_id=pair_id)
    _require_active(pair)
    week = _check_week(_program(db, pair), week)
    me = groups.acting_user_id(actor)
    query = select(StepCompletion).where(
        StepCompletion.pair_id == pair_id,
        StepCompletion.week == week,
        StepCompletion.user_id == me,
    )
    existing = db.exec(query).first()
    if existing is not None:
        return existing
    completion = StepCompletion(pair_id=pair_id, week=week, user_id=me)
    try:
        with db.begin_nested():
            db.add(completion)
    except IntegrityError:  # a double click racing this one
        return db.exec(query).one()
    return completion


def undo_step(db: Session, *, actor: User, pair_id: int, week: int) -> None:
    """Take back one's own mark (the partner's stays)."""
    pair, _role = pair_of_member(db, actor=actor, pair_id=pair_id)
    _require_active(pair)
    week = _check_week(_program(db, pair), week)
    me = groups.acting_user_id(actor)
    for completion in db.exec(
        select(StepCompletion).where(
            StepCompletion.pair_id == pair_id,
            StepCompletion.week == week,
            StepCompletion.user_id == me,
        )
    ).all():
        db.delete(completion)
    db.flush()


# --- check-ins ----------------------------------------------------------------------------


def _clean_mood(value: Any) -> int:
    try:
        mood = int(str(value).strip())
    except ValueError:
        raise ValidationError("Choose how it's going, from 1 to 5.", field="mood") from None
    if mood not in MOODS:
        raise ValidationError("Choose how it's going, from 1 to 5.", field="mood")
    return mood


def _clean_met(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("yes", "true", "1"):
        return True
    if text in ("no", "false", "0"):
        return False
    raise ValidationError("Say whether you met or talked this week.", field="met")


def _clean_note(value: Any, limit: int = NOTE_MAX, field_name: str = "note") -> str:
    note = storable(str(value or "")).replace("\r\n", "\n").strip()
    if len(note) > limit:
        raise ValidationError(f"Use at most {limit} characters.", field=field_name)
    return note


def save_check_in(
    db: Session,
    *,
    actor: User,
    pair_id: int,
    mood: Any,
    met: Any,
    note: Any = "",
    now: dt.datetime | None = None,
) -> CheckIn:
    """This week's check-in for the actor: created, or edited if it exists. The week is
    the actor's current journey week; past weeks cannot be written."""
    pair, _role = pair_of_member(db, actor=actor, pair_id=pair_id)
    _require_active(pair)
    program = _program(db, pair)
    week = current_week(db, actor=actor, pair=pair, now=now)
    if week < 1:
        raise Conflict("Your journey hasn't started yet: check in from its first week.")
    if week > len(program.journey):
        raise Conflict("The journey's weeks are over, so there is nothing left to check in.")
    clean = (_clean_mood(mood), _clean_met(met), _clean_note(note))
    me = groups.acting_user_id(actor)
    query = select(CheckIn).where(
        CheckIn.pair_id == pair_id, CheckIn.user_id == me, CheckIn.week == week
    )
    check_in = db.exec(query).first()
    if check_in is None:
        check_in = CheckIn(pair_id=pair_id, user_id=me, week=week, mood=1, met=False)
        try:
            with db.begin_nested():
                check_in.mood, check_in.met, check_in.note = clean
                db.add(check_in)
            return check_in
        except IntegrityError:  # a second submit won the race: edit its row instead
            check_in = db.exec(query).one()
    check_in.mood, check_in.met, check_in.note = clean
    check_in.updated_at = utcnow()
    db.add(check_in)
    db.flush()
    return check_in


# --- fit check ------------------------------------------------------------------------------


def _admin_ids(db: Session, group_id: int) -> list[int]:
    return list(
        db.exec(
            select(Membership.user_id).where(
                Membership.group_id == group_id, Membership.role == "admin"
            )
        ).all()
    )


def answer_fit_check(
    db: Session, *, actor: User, pair_id: int, answer: str, now: dt.datetime | None = None
) -> FitCheck:
    """Asked once, after the first week. "Not a good fit" tells the program's admins."""
    pair, _role = pair_of_member(db, actor=actor, pair_id=pair_id)
    _require_active(pair)
    if answer not in FIT_ANSWERS:
        raise ValidationError("Choose one of the answers.", field="fit")
    if current_week(db, actor=actor, pair=pair, now=now) < 2:
        raise Conflict("The fit check opens after your first week together.")
    me = groups.acting_user_id(actor)
    fit = FitCheck(pair_id=pair_id, user_id=me, answer=answer)
    try:
        with db.begin_nested():
            db.add(fit)
    except IntegrityError:
        raise Conflict("You have already answered the fit check.") from None
    if answer == "not_good":
        program = _program(db, pair)
        names = _names(db, pair)
        partner = pair.mentee_id if me == pair.mentor_id else pair.mentor_id
        for admin_id in _admin_ids(db, program.group_id):
            notifications.notify(
                db,
                user_id=admin_id,
                kind="fit_alert",
                text=(
                    f"{names.get(me, '')} says their pair with {names.get(partner, '')} in "
                    f"“{program.title}” is not a good fit."
                ),
                link=f"/programs/{program.id}/pairing",
            )
    return fit


# --- ending and completing ------------------------------------------------------------------


def _clean_rating(value: Any, field_name: str, *, required: bool) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationError("Choose a rating from 1 to 5.", field=field_name)
        return None
    try:
        rating = int(str(value).strip())
    except ValueError:
        raise ValidationError("Choose a rating from 1 to 5.", field=field_name) from None
    if not 1 <= rating <= 5:
        raise ValidationError("Choose a rating from 1 to 5.", field=field_name)
    return rating


def close_pair(
    db: Session,
    *,
    pair: Pair,
    by_user_id: int | None,
    reason: str,
    rating: int | None = None,
    detail: str = "",
) -> None:
    """Mark a pair over and free its mentor's seat and its mentee; callers decide what
    happens to the two applications and who is told."""
    pair.status = "completed" if reason == "completed" else "ended"
    pair.ended_at, pair.ended_by = utcnow(), by_user_id
    pair.end_reason, pair.end_rating, pair.end_detail = reason, rating, detail
    pair.mentor_seat = None
    pair.live_mentee_enrollment_id = None
    db.add(pair)


def end_pair(
    db: Session,
    *,
    actor: User,
    pair_id: int,
    reason: str,
    rating: Any = None,
    detail: Any = "",
) -> Pair:
    """End an active pair, by one of its members or an admin of the program's group.

    A mentee whose pair ended through no fault of theirs (the mentor or an admin ended it)
    goes back to the waiting list with rematch priority; a mentee who ends it as "not a
    good fit" goes back to wait for a new match; otherwise the mentee's part is done."""
    me = groups.acting_user_id(actor)
    pair = db.get(Pair, pair_id)
    if pair is None or pair.status == "draft":
        raise NotFound(PAIR_NOT_FOUND)
    program = _program(db, pair)
    by_member = me in (pair.mentor_id, pair.mentee_id)
    if not by_member:
        try:
            groups.require_admin(db, actor=actor, group_id=program.group_id)
        except PermissionDenied:
            raise NotFound(PAIR_NOT_FOUND) from None
    _require_active(pair)
    if reason not in END_REASONS:
        raise ValidationError("Choose why the pair is ending.", field="reason")
    clean_rating = _clean_rating(rating, "rating", required=False)
    clean_detail = _clean_note(detail, DETAIL_MAX, "detail")
    if reason == "other" and not clean_detail:
        raise ValidationError("Say briefly why the pair is ending.", field="detail")

    close_pair(
        db, pair=pair, by_user_id=me, reason=reason, rating=clean_rating, detail=clean_detail
    )

    mentee = db.get(Enrollment, pair.mentee_enrollment_id)
    mentor = db.get(Enrollment, pair.mentor_enrollment_id)
    assert mentee is not None and mentor is not None
    if reason == "completed":
        mentee.status = "done"
    elif me == pair.mentee_id:
        mentee.status = "active" if reason == "not_a_good_fit" else "done"
        mentee.rematch_priority = False
    else:  # the mentor or an admin: not the mentee's doing
        mentee.status, mentee.rematch_priority = "active", True
    if me == pair.mentor_id and reason == "no_longer_available":
        mentor.status = "done"  # no new mentees; their other pairs carry on
    for enrollment in (mentee, mentor):
        enrollment.updated_at = utcnow()
        db.add(enrollment)
    db.flush()

    names = _names(db, pair)
    for member in (pair.mentor_id, pair.mentee_id):
        if member == me:
            continue
        other = pair.mentee_id if member == pair.mentor_id else pair.mentor_id
        notifications.notify(
            db,
            user_id=member,
            kind="pair_ended",
            text=(
                f"Your pair with {names.get(other, '')} in “{program.title}” has "
                + ("completed the program." if reason == "completed" else "ended.")
            ),
            link=f"/pairs/{pair.id}",
        )
    audit.record(
        db,
        actor_id=me,
        action="pair_ended",
        target_type="pair",
        target_id=pair.id,
        detail=f"{reason} by {'member' if by_member else 'admin'}",
    )
    return pair


def complete_pair(
    db: Session,
    *,
    actor: User,
    pair_id: int,
    rating: Any,
    takeaway: Any = "",
    now: dt.datetime | None = None,
) -> PairSurvey:
    """The closing survey. The first member to send it completes the pair (once the last
    week has passed and both marked its step done); the other may still send theirs."""
    pair, _role = pair_of_member(db, actor=actor, pair_id=pair_id)
    me = groups.acting_user_id(actor)
    program = _program(db, pair)
    if pair.status == "ended":
        raise Conflict(ENDED)
    if pair.status == "active":
        length = len(program.journey)
        if current_week(db, actor=actor, pair=pair, now=now) <= length:
            raise Conflict("The program can be completed once its last week has passed.")
        if not _last_step_done_by_both(db, pair, length):
            raise Conflict("Both of you need to mark the last step done first.")
    survey = PairSurvey(
        pair_id=pair_id,
        user_id=me,
        rating=_clean_rating(rating, "rating", required=True) or 1,
        takeaway=_clean_note(takeaway, NOTE_MAX, "takeaway"),
    )
    try:
        with db.begin_nested():
            db.add(survey)
    except IntegrityError:
        raise Conflict("You have already sent your closing survey.") from None
    if pair.status == "active":
        end_pair(db, actor=actor, pair_id=pair_id, reason="completed")
    return survey


def set_timezone(db: Session, *, actor: User, timezone: str) -> str:
    """Remember the member's time zone (from their browser), for their journey weeks."""
    clean = clean_timezone(timezone)
    user = db.get(User, groups.acting_user_id(actor))
    assert user is not None
    if user.timezone != clean:
        user.timezone = clean
        db.add(user)
        db.flush()
    actor.timezone = clean
    return clean
