"""A pair's journey: weeks and steps, weekly check-ins, the early fit check, ending a pair
(with rematch priority for a mentee left without a partner) and completing the program.

Only the two members of a pair see its page; to anyone else it does not exist. Group
admins get status, progress and counts through the pairing workspace, never notes.
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, func, select

from mentor_app.models import (
    CheckIn,
    Enrollment,
    FitCheck,
    Pair,
    PairSurvey,
    Program,
    StepCompletion,
    User,
    utcnow,
)
from mentor_app.services import audit, groups, meeting_reminders, notifications, programs
from mentor_app.services.cleaning import storable
from mentor_app.services.errors import Conflict, NotFound, PermissionDenied, ValidationError

NOTE_MAX = 1000
DETAIL_MAX = 500
MOODS = {1: "Hard going", 2: "Not great", 3: "OK", 4: "Good", 5: "Great"}
FIT_ANSWERS = {"good": "Good fit", "deciding": "Still deciding", "not_good": "Not a good fit"}
# Why a pair ended, as admins read it. "completed" comes only from completing the program
# (complete_pair, with its rule), "program_closed" only from closing the program,
# "account_deleted" only from a member deleting their account and "left_group" only from a
# member leaving the program's group.
END_REASONS = {
    "completed": "Completed",
    "not_a_good_fit": "Not a good fit",
    "no_longer_available": "No longer available",
    "other": "Other",
    "program_closed": "Program closed",
    "account_deleted": "Account deleted",
    "left_group": "Left the group",
}
# The reasons a member or an admin may choose when ending a pair (the end forms' options).
END_CHOICES = {key: END_REASONS[key] for key in ("not_a_good_fit", "no_longer_available", "other")}
COMPLETE_INSTEAD = (
    "A pair can't be ended as completed: use “Complete the program” on the pair's page "
    "once its last week has passed and both of you marked the last step done."
)
PAIR_NOT_FOUND = "Pair not found."
ENDED = "This pair has ended: its history is read-only."
ALREADY_ENDED = "This pair has already ended."


# --- weeks --------------------------------------------------------------------------------


@functools.cache
def _iana_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def known_timezone(name: Any) -> str | None:
    """`name` if it is an IANA time zone name the server knows (what a browser's
    `Intl.DateTimeFormat().resolvedOptions().timeZone` gives), None otherwise."""
    if not isinstance(name, str) or not name or len(name) > 64:
        return None
    if name not in _iana_names():
        return None
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None
    return name


def clean_timezone(name: str | None) -> str:
    """An IANA time zone name the server knows, or UTC."""
    return known_timezone(name) or "UTC"


def _new_timezone(user: User, name: Any) -> str | None:
    """The zone `name` names, if it is a real IANA zone other than the one on record."""
    clean = known_timezone(name)
    if clean is None or (user.timezone == clean and user.timezone_known):
        return None
    return clean


def record_timezone(user: User, name: Any) -> bool:
    """Remember the zone a member's browser reports, if it is a real IANA name; a bad or
    missing one changes nothing. Returns whether the user row changed (the caller adds
    and flushes it)."""
    clean = _new_timezone(user, name)
    if clean is None:
        return False
    user.timezone, user.timezone_known = clean, True
    return True


def local_date(now: dt.datetime, timezone: str) -> dt.date:
    """The calendar date at `now` for someone living in `timezone`."""
    return now.astimezone(zoneinfo.ZoneInfo(clean_timezone(timezone))).date()


# Where the calendar is furthest ahead (Kiritimati, UTC+14): a member whose zone is unknown
# may live there, so a start date that has not begun there has not begun for them.
LATEST_ZONE = "Etc/GMT-14"


def first_new_day(now: dt.datetime, members: Sequence[User]) -> dt.date:
    """The first calendar date that has not yet begun, at `now`, for any of `members`: the
    day after today in the easternmost of their zones (UTC+14 for a zone not known)."""
    zones = [m.timezone if m.timezone_known else LATEST_ZONE for m in members] or [LATEST_ZONE]
    return max(local_date(now, zone) for zone in zones) + dt.timedelta(days=1)


def journey_start(
    program_start: dt.date | None, now: dt.datetime, members: Sequence[User]
) -> dt.date:
    """The rule for a pair's start date, the same date for both members: the journey
    starts at midnight, each member's own time, on the program's start date, or on the
    first date that has not yet begun for either of them if that is later. Nobody loses
    part of day 1, and nobody's journey begins before the pair was published."""
    earliest = first_new_day(now, members)
    return max(program_start, earliest) if program_start else earliest


def start_label(start: dt.date, today: dt.date) -> str:
    """How a member reads the start, `today` being their own date: "Saturday 3 January"
    ("tomorrow, ..." the day before; the year when it is not this year's)."""
    text = f"{start:%A} {start.day} {start:%B}"
    if start.year != today.year:
        text += f" {start.year}"
    return f"tomorrow, {text}" if start - today == dt.timedelta(days=1) else text


def week_of(start: dt.date | None, today: dt.date) -> int:
    """The journey week `today` falls in: 0 before the start, 1 for the first seven days
    from the start date, and so on (past the last week the number keeps growing)."""
    if start is None or today < start:
        return 0
    return (today - start).days // 7 + 1


def silent_since(
    start: dt.date | None, published_at: dt.datetime | None, timezone: str
) -> dt.datetime | None:
    """Where a member's silence is counted from when they have said nothing yet: the
    journey's first day (local midnight), or publishing if the pair was published later.
    Nobody is silent before the journey begins, however early the pair was published."""
    if start is None:
        return published_at
    midnight = dt.datetime(start.year, start.month, start.day)
    begun = midnight.replace(tzinfo=zoneinfo.ZoneInfo(clean_timezone(timezone)))
    begun = begun.astimezone(dt.UTC)
    return begun if published_at is None else max(begun, published_at)


def week_counted(start: dt.date | None, today: dt.date, *, nudge_day: int) -> int:
    """The latest journey week that counts as missed without a check-in: the current week
    only once its nudge day (1..7) has passed, the week before otherwise."""
    week = week_of(start, today)
    if start is None or week == 0:
        return 0
    day_of_week = (today - start).days % 7 + 1
    return week if day_of_week > nudge_day else week - 1


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
    goal: bool = False  # a step about the goals: its card links to them (goals.is_goal_step)

    @property
    def done(self) -> bool:
        """A step is done once both members marked it: one mark is one member's word."""
        return {"mentor", "mentee"} <= set(self.done_roles)


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
    surveyed_roles: list[str] = field(default_factory=list)  # who sent the closing survey
    starts: str = ""  # before the start: the date as the viewer reads it ("Saturday 3 January")
    # After a meeting this week: "How did Tuesday's meeting go?" (the check-in asks it).
    meeting_question: str = ""


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


def weeks_done_by_both(db: Session, pair_ids: Any) -> dict[int, int]:
    """How many weeks of each pair both members marked done (pairs with none are left
    out): what "done" means on the pair's page, in the admins' counts and for completing
    the journey. `pair_ids`: a list of ids, or a select of them."""
    both = (
        select(StepCompletion.pair_id, StepCompletion.week)
        .where(col(StepCompletion.pair_id).in_(pair_ids))
        .group_by(col(StepCompletion.pair_id), col(StepCompletion.week))
        .having(func.count(func.distinct(StepCompletion.user_id)) >= 2)
        .subquery()
    )
    return {
        int(pair_id): int(weeks)
        for pair_id, weeks in db.exec(
            select(both.c.pair_id, func.count()).group_by(both.c.pair_id)
        ).all()
    }


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
            goal=step.get("goal") is True,
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
    surveyed_by = set(db.exec(select(PairSurvey.user_id).where(PairSurvey.pair_id == pair_id)))
    surveyed = me in surveyed_by
    last_passed = length > 0 and week > length
    # The last week's step done by both (as `complete_pair` checks), read off the steps.
    last_done = any(s.week == length and s.done for s in steps)
    can_complete = pair.status == "active" and last_passed and last_done
    return JourneyView(
        pair_id=pair_id,
        program_id=program.id or 0,
        program_title=program.title,
        status=pair.status,
        start_date=pair.start_date,
        starts=(
            start_label(pair.start_date, local_date(_now(now), actor.timezone))
            if pair.start_date and week < 1
            else ""
        ),
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
        my_survey_due=pair.status == "completed" and not surveyed,
        ended_at=pair.ended_at,
        weeks_done=sum(1 for s in steps if s.done),
        meeting_question=(
            meeting_reminders.meeting_question(
                db,
                pair_id=pair_id,
                start_date=pair.start_date,
                week=week,
                timezone=clean_timezone(actor.timezone),
                now=_now(now),
            )
            if pair.status == "active" and 1 <= week <= length
            else ""
        ),
        surveyed_roles=[
            role
            for role, uid in (("mentor", pair.mentor_id), ("mentee", pair.mentee_id))
            if uid in surveyed_by
        ],
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
        notifications.notify_admins_about_pair(
            db,
            group_id=program.group_id,
            member_ids=(pair.mentor_id, pair.mentee_id),
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
    """Mark an active pair over and free its mentor's seat and its mentee; callers decide
    what happens to the two applications and who is told (of the pair's end: its future
    meetings are cancelled here, and both members told of that).

    The UPDATE itself requires the pair to be active, so of two people ending a pair at the
    same moment exactly one closes it and the other gets Conflict: on PostgreSQL the second
    UPDATE waits for the first to commit, then finds the pair over and matches no row
    (reading the status earlier in the transaction proves nothing by then)."""
    values: dict[str, Any] = {
        "status": "completed" if reason == "completed" else "ended",
        "ended_at": utcnow(),
        "ended_by": by_user_id,
        "end_reason": reason,
        "end_rating": rating,
        "end_detail": detail,
        "mentor_seat": None,
        "live_mentee_enrollment_id": None,
    }
    closed = db.execute(
        update(Pair)
        .where(col(Pair.id) == pair.id, col(Pair.status) == "active")
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if closed.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(ALREADY_ENDED)
    for name, value in values.items():  # what the row now holds, without another write
        set_committed_value(pair, name, value)
    # Every ending passes here (a member or an admin ending it, completing, a block,
    # leaving the group, deleting the account, closing the program): its future meetings
    # are cancelled and both members told, in the same transaction.
    from mentor_app.services import meetings  # meetings reads the journey's weeks

    meetings.cancel_for_closed_pair(db, pair=pair, by_user_id=by_user_id)


def end_pair(
    db: Session,
    *,
    actor: User,
    pair_id: int,
    reason: str,
    rating: Any = None,
    detail: Any = "",
) -> Pair:
    """End an active pair, by one of its members or an admin of the program's group, for
    one of END_CHOICES ("completed" is complete_pair's alone).

    A mentee whose pair ended through no fault of theirs (the mentor or an admin ended it)
    goes back to the waiting list with rematch priority; a mentee who ends it as "not a
    good fit" goes back to wait for a new match; a mentee who steps back otherwise has
    their application withdrawn, so they may sign up again while sign-ups are open."""
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
    if pair.status != "active":
        raise Conflict(ALREADY_ENDED)
    if reason == "completed":
        raise ValidationError(COMPLETE_INSTEAD, field="reason")
    if reason not in END_CHOICES:
        raise ValidationError("Choose why the pair is ending.", field="reason")
    clean_rating = _clean_rating(rating, "rating", required=False)
    clean_detail = _clean_note(detail, DETAIL_MAX, "detail")
    if reason == "other" and not clean_detail:
        raise ValidationError("Say briefly why the pair is ending.", field="detail")

    # Raises Conflict when someone else ended the pair since it was read: before anything
    # else is written or anyone is told.
    close_pair(
        db, pair=pair, by_user_id=me, reason=reason, rating=clean_rating, detail=clean_detail
    )

    mentee = db.get(Enrollment, pair.mentee_enrollment_id)
    mentor = db.get(Enrollment, pair.mentor_enrollment_id)
    assert mentee is not None and mentor is not None
    if me == pair.mentee_id:
        # Only completing the program makes a mentee's application done: stepping back
        # leaves it withdrawn, which a new sign-up re-activates.
        mentee.status = "active" if reason == "not_a_good_fit" else "withdrawn"
        mentee.rematch_priority = False
    else:  # the mentor or an admin: not the mentee's doing
        mentee.status, mentee.rematch_priority = "active", True
    if me == pair.mentor_id and reason == "no_longer_available":
        # No new mentees; their other pairs carry on. Not "withdrawn": that status means no
        # running pair (a new sign-up re-activates it, the dashboard stops counting it).
        mentor.status = "done"
    _save_applications(db, mentee, mentor)
    _tell_pair_ended(db, pair=pair, program=program, actor_id=me, completed=False)
    tell_admins_mentee_waiting(db, pair=pair, program=program, mentee=mentee, actor_id=me)
    audit.record(
        db,
        actor_id=me,
        action="pair_ended",
        target_type="pair",
        target_id=pair.id,
        detail=f"{reason} by {'member' if by_member else 'admin'}",
    )
    return pair


def end_pair_for_leaving(
    db: Session,
    *,
    pair: Pair,
    program: Program,
    leaver_id: int,
    reason: str = "left_group",
    text: Callable[[str], str] | None = None,
) -> int:
    """The leaver has just left the program's group (groups.leave_group, reason
    "left_group") or deleted their account (account_data, "account_deleted"): end their
    active pair and tell the partner, in `text` (from the leaver's name) if given. A mentee
    left without their mentor waits again with rematch priority (the admins are told); a
    leaving mentee's application is withdrawn. Returns the pair's id, or 0 if someone else
    ended it meanwhile."""
    try:
        close_pair(db, pair=pair, by_user_id=leaver_id, reason=reason)
    except Conflict:
        return 0  # ended meanwhile by someone else, who told its members
    mentee = db.get(Enrollment, pair.mentee_enrollment_id)
    assert mentee is not None
    if leaver_id == pair.mentee_id:
        mentee.status, mentee.rematch_priority = "withdrawn", False
    else:
        mentee.status, mentee.rematch_priority = "active", True
    _save_applications(db, mentee)
    if text is None:
        group_name = groups.group_name(db, program.group_id)

        def text(other: str) -> str:
            return f"{other} left “{group_name}”, so your pair in “{program.title}” has ended."

    _tell_pair_ended(db, pair=pair, program=program, actor_id=leaver_id, text=text)
    tell_admins_mentee_waiting(db, pair=pair, program=program, mentee=mentee, actor_id=leaver_id)
    audit.record(
        db,
        actor_id=leaver_id,
        action="pair_ended",
        target_type="pair",
        target_id=pair.id,
        detail=f"{reason} by member",
    )
    return pair.id or 0


def tell_admins_mentee_waiting(
    db: Session, *, pair: Pair, program: Program, mentee: Enrollment, actor_id: int | None
) -> None:
    """A pair has just ended and its mentee waits again with rematch priority: tell the
    group's admins (in-app and by e-mail), never an admin who was in the pair, nor the
    admin who ended it (they know)."""
    if mentee.status != "active" or not mentee.rematch_priority or program.status == "closed":
        return
    names = _names(db, pair)
    notifications.notify_admins_about_pair(
        db,
        group_id=program.group_id,
        member_ids=[m for m in (pair.mentor_id, pair.mentee_id, actor_id) if m is not None],
        kind="rematch_needed",
        text=(
            f"{names.get(pair.mentee_id, '')}'s pair in “{program.title}” has ended: they are "
            "waiting for a new mentor, with rematch priority."
        ),
        link=f"/programs/{program.id}/pairing",
    )


def _save_applications(db: Session, *applications: Enrollment) -> None:
    for enrollment in applications:
        enrollment.updated_at = utcnow()
        db.add(enrollment)
    db.flush()


def _tell_pair_ended(
    db: Session,
    *,
    pair: Pair,
    program: Program,
    actor_id: int,
    completed: bool = False,
    text: Callable[[str], str] | None = None,
) -> None:
    """Tell the pair's members it is over; whoever ended it knows already. `text` words
    the notice from the partner's name (by default: ended, or completed the program)."""
    names = _names(db, pair)
    for member in (pair.mentor_id, pair.mentee_id):
        if member == actor_id:
            continue
        other = names.get(pair.mentee_id if member == pair.mentor_id else pair.mentor_id, "")
        notifications.notify(
            db,
            user_id=member,
            kind="pair_ended",
            text=(
                text(other)
                if text is not None
                else f"Your pair with {other} in “{program.title}” has "
                + ("completed the program." if completed else "ended.")
            ),
            link=f"/pairs/{pair.id}",
        )


def _complete(db: Session, *, pair: Pair, program: Program, actor_id: int) -> None:
    """Close a pair as completed (complete_pair has checked its rule): the mentee's
    application is done, the partner told."""
    close_pair(db, pair=pair, by_user_id=actor_id, reason="completed")
    mentee = db.get(Enrollment, pair.mentee_enrollment_id)
    assert mentee is not None
    mentee.status = "done"
    _save_applications(db, mentee)
    _tell_pair_ended(db, pair=pair, program=program, actor_id=actor_id, completed=True)
    audit.record(
        db,
        actor_id=actor_id,
        action="pair_ended",
        target_type="pair",
        target_id=pair.id,
        detail="completed by member",
    )


def end_pairs_of_closed_program(db: Session, *, program: Program, actor_id: int) -> list[int]:
    """The program has just closed: end each of its active pairs (reason "program_closed"),
    tell both members, and log it as the closing admin's act. The admin is not told of
    what they did themselves, nor is anyone else alerted; the applications stay as they
    are (no rematching in a closed program). Returns the ended pairs' ids."""
    pairs = db.exec(
        select(Pair)
        .where(Pair.program_id == program.id, Pair.status == "active")
        .order_by(col(Pair.id))
    ).all()
    ended: list[int] = []
    for pair in pairs:
        try:
            close_pair(db, pair=pair, by_user_id=actor_id, reason="program_closed")
        except Conflict:
            continue  # ended meanwhile by someone else, who told its members
        _tell_pair_ended(
            db,
            pair=pair,
            program=program,
            actor_id=actor_id,
            text=lambda other: (
                f"“{program.title}” has closed, so your pair with {other} has ended."
            ),
        )
        audit.record(
            db,
            actor_id=actor_id,
            action="pair_ended",
            target_type="pair",
            target_id=pair.id,
            detail="program_closed by admin",
        )
        ended.append(pair.id or 0)
    return ended


def complete_pair(
    db: Session,
    *,
    actor: User,
    pair_id: int,
    rating: Any,
    takeaway: Any = "",
    goal_answers: Any = None,
    now: dt.datetime | None = None,
) -> PairSurvey:
    """The closing survey. The first member to send it completes the pair (once the last
    week has passed and both marked its step done); the other may still send theirs. It
    asks how far each of the pair's goals got (`goal_answers`, by goal id: services.goals),
    stored with the survey, once per member."""
    from mentor_app.services import goals  # goals builds on this module

    pair, _role = pair_of_member(db, actor=actor, pair_id=pair_id)
    me = groups.acting_user_id(actor)
    program = _program(db, pair)
    if pair.status == "ended":  # e.g. the partner ended it a moment ago
        raise Conflict(ALREADY_ENDED)
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
    answers = goals.clean_survey_answers(db, pair=pair, answers=goal_answers)
    if pair.status == "active":
        # Closed first, before the survey row: its foreign key would share-lock the pair,
        # and two members completing at once would then deadlock on PostgreSQL.
        try:
            _complete(db, pair=pair, program=program, actor_id=me)
        except Conflict:
            # Closed by someone else meanwhile: by the partner's own survey, the survey
            # still counts (they told everyone); by an ending, there is nothing to complete.
            db.refresh(pair)
            if pair.status != "completed":
                raise
    try:
        with db.begin_nested():
            db.add(survey)
            db.flush()
            goals.record_survey_answers(db, pair=pair, user_id=me, answers=answers)
    except IntegrityError:
        raise Conflict("You have already sent your closing survey.") from None
    return survey


def timezone_differs(db: Session, *, actor: User, timezone: str) -> bool:
    """Whether `set_timezone` would change the member's zone on record: `timezone` is a
    real IANA zone, and not the one known. Reads only."""
    user = db.get(User, groups.acting_user_id(actor))
    assert user is not None
    return _new_timezone(user, timezone) is not None


def set_timezone(db: Session, *, actor: User, timezone: str) -> str:
    """Remember the member's time zone (from their browser), for their journey weeks. A
    name that is no IANA zone changes nothing. Returns the zone now on record."""
    user = db.get(User, groups.acting_user_id(actor))
    assert user is not None
    if record_timezone(user, timezone):
        db.add(user)
        db.flush()
    actor.timezone, actor.timezone_known = user.timezone, user.timezone_known
    return user.timezone
