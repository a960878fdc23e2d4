"""The pairing workspace: explained suggestions, pairing by hand, whole-cohort
auto-match, and publishing draft pairs. Admins of the program's group only.

Capacity is enforced by the database, not only here: every live pair (draft or active)
holds one numbered seat of its mentor (unique per mentor) and its mentee's enrollment
(unique), and the two enrollments are locked while a pair is made (`FOR UPDATE` on
PostgreSQL; SQLite transactions already begin with `BEGIN IMMEDIATE`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from mentor_app.models import CheckIn, Enrollment, Pair, Program, StepCompletion, User, utcnow
from mentor_app.services import accounts, audit, blocks, groups, matching, notifications, programs
from mentor_app.services.errors import Conflict, NotFound, PermissionDenied, ValidationError

LIVE = ("draft", "active")
PAIRABLE_PROGRAM = ("open", "active")
SUGGESTIONS = 5
LIST_LIMIT = 100
MIN_SCORE_MAX = 500
SEARCH_MAX = 80
SCORE_BUCKETS: tuple[tuple[str, int, int], ...] = (
    ("0-19", 0, 19),
    ("20-39", 20, 39),
    ("40-59", 40, 59),
    ("60-79", 60, 79),
    ("80+", 80, 10_000),
)

PAIR_NOT_FOUND = "Pair not found."
NOT_PAIRABLE = "Pairs can be made while the program is open or active."
RACED = "Someone else just paired one of these people. Reload the workspace and try again."


# --- what the workspace shows ------------------------------------------------------------


@dataclass(frozen=True)
class MenteeRow:
    enrollment_id: int
    user_id: int
    name: str
    rematch: bool = False  # their last pair ended through no fault of theirs


@dataclass(frozen=True)
class MentorRow:
    enrollment_id: int
    user_id: int
    name: str
    used: int
    capacity: int

    @property
    def free(self) -> int:
        return max(0, self.capacity - self.used)


@dataclass(frozen=True)
class PairRow:
    id: int
    status: str
    mentor_enrollment_id: int
    mentee_enrollment_id: int
    mentor_name: str
    mentee_name: str
    score: int
    reasons: list[str]
    steps_done: int = 0
    steps_total: int = 0
    check_ins: int = 0


@dataclass(frozen=True)
class EndedRow:
    """A pair that is over; reasons and ratings are for admins' eyes only."""

    id: int
    mentor_name: str
    mentee_name: str
    status: str  # completed | ended
    reason: str
    detail: str
    rating: int | None
    ended_at: dt.datetime | None


@dataclass(frozen=True)
class SuggestionRow:
    mentor_enrollment_id: int
    name: str
    score: int
    used: int
    capacity: int
    reasons: list[str]


@dataclass(frozen=True)
class Fairness:
    unmatched: int
    unmatched_names: list[str]
    full_mentors: list[str]  # at or over capacity
    score_buckets: list[tuple[str, int]]  # published pairs' scores
    published: int
    median_score: int | None


@dataclass(frozen=True)
class Workspace:
    program_id: int
    group_id: int
    title: str
    status: str
    can_pair: bool
    mentees_waiting: list[MenteeRow]
    mentees_waiting_total: int
    mentors: list[MentorRow]
    mentors_total: int
    drafts: list[PairRow]
    published: list[PairRow]
    fairness: Fairness
    ended: list[EndedRow] = field(default_factory=list)


@dataclass(frozen=True)
class PublishResult:
    published: int
    dropped: list[str] = field(default_factory=list)  # why a draft could not be published


@dataclass(frozen=True)
class MyPair:
    pair_id: int
    program_id: int
    program_title: str
    partner_name: str
    my_role: str
    status: str
    start_date: dt.date | None


@dataclass(frozen=True)
class PairPage:
    pair_id: int
    program_id: int
    program_title: str
    status: str
    my_role: str
    partner_name: str
    partner_role: str
    start_date: dt.date | None
    journey: list[dict[str, Any]]


# --- the cohort ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Person:
    """One application and its member, read as plain columns (cohorts can be thousands)."""

    enrollment_id: int
    user_id: int
    name: str
    role: str
    status: str  # the application's
    user_status: str
    date_of_birth: dt.date
    capacity: int
    answers: dict[str, Any]
    rematch: bool = False


def _eligible(person: _Person, today: dt.date) -> bool:
    return (
        person.status == "active"
        and person.user_status == "active"
        and accounts.is_adult(person.date_of_birth, today=today)
    )


def _cohort(db: Session, program_id: int) -> list[_Person]:
    rows: Sequence[Any] = db.execute(
        sa_select(  # nine columns: more than sqlmodel's typed select() takes
            col(Enrollment.id),
            col(Enrollment.user_id),
            col(User.display_name),
            col(Enrollment.role),
            col(Enrollment.status),
            col(User.status),
            col(User.date_of_birth),
            col(Enrollment.capacity),
            col(Enrollment.answers),
            col(Enrollment.rematch_priority),
        )
        .join(User, col(User.id) == col(Enrollment.user_id))
        .where(col(Enrollment.program_id) == program_id)
    ).all()
    # Sorted here, not by the database: PostgreSQL sorts text by its collation (en-US puts
    # "alice" before "Bob"; SQLite and "C" put "Bob" first), and this order is the
    # workspace's and auto-matching's tie-break, so it must not depend on the engine.
    rows = sorted(rows, key=lambda r: (r[2], r[0] or 0))  # name by code point, then id
    return [
        _Person(
            eid or 0,
            uid,
            name,
            role,
            status,
            ustatus,
            dob,
            capacity or 0,
            dict(answers or {}),
            bool(rematch),
        )
        for eid, uid, name, role, status, ustatus, dob, capacity, answers, rematch in rows
    ]


def _live_pairs(db: Session, program_id: int) -> list[Pair]:
    return list(
        db.exec(
            select(Pair)
            .where(Pair.program_id == program_id, col(Pair.status).in_(LIVE))
            .order_by(col(Pair.created_at), col(Pair.id))
        ).all()
    )


def _seats_used(pairs: Sequence[Pair]) -> dict[int, int]:
    used: dict[int, int] = {}
    for pair in pairs:
        used[pair.mentor_enrollment_id] = used.get(pair.mentor_enrollment_id, 0) + 1
    return used


def _workspace_program(db: Session, *, actor: User, program_id: int) -> Program:
    return programs.admin_program(db, actor=actor, program_id=program_id)


def _pairable_program(db: Session, *, actor: User, program_id: int) -> Program:
    program = _workspace_program(db, actor=actor, program_id=program_id)
    if program.status not in PAIRABLE_PROGRAM:
        raise Conflict(NOT_PAIRABLE)
    return program


def _candidate(person: _Person, free: int = 0) -> matching.Candidate:
    return matching.Candidate(id=person.enrollment_id, answers=person.answers, free_capacity=free)


def _reasons(factors: Sequence[dict[str, Any]]) -> list[str]:
    return [str(f.get("explain", "")) for f in factors]


def _factor_docs(factors: Sequence[matching.Factor]) -> list[dict[str, Any]]:
    return [
        {
            "key": f.key,
            "label": f.label,
            "detail": f.detail,
            "points": f.points,
            "explain": f.explain,
        }
        for f in factors
    ]


def _matches(needle: str, name: str) -> bool:
    return not needle or needle in name.casefold()


def _clean_search(search: str) -> str:
    return (search or "").strip().casefold()[:SEARCH_MAX]


def get_workspace(
    db: Session,
    *,
    actor: User,
    program_id: int,
    search: str = "",
    free_only: bool = False,
    today: dt.date | None = None,
) -> Workspace:
    """Everything the workspace shows; the two columns are filtered by name (and mentors,
    if asked, to those with a free seat) and bounded."""
    program = _workspace_program(db, actor=actor, program_id=program_id)
    today = today or utcnow().date()
    needle = _clean_search(search)
    cohort = _cohort(db, program_id)
    by_enrollment = {p.enrollment_id: p for p in cohort}
    live = _live_pairs(db, program_id)
    used = _seats_used(live)
    paired_mentees = {pair.mentee_enrollment_id for pair in live}

    waiting = [
        p
        for p in cohort
        if p.role == "mentee" and _eligible(p, today) and p.enrollment_id not in paired_mentees
    ]
    waiting.sort(key=lambda p: not p.rematch)  # rematch priority first, then by name
    mentors = [
        MentorRow(
            enrollment_id=p.enrollment_id,
            user_id=p.user_id,
            name=p.name,
            used=used.get(p.enrollment_id, 0),
            capacity=p.capacity,
        )
        for p in cohort
        if p.role == "mentor" and _eligible(p, today)
    ]

    active_ids = [p.id or 0 for p in live if p.status == "active"]
    steps_done: dict[int, int] = {}
    check_ins: dict[int, int] = {}
    if active_ids:
        steps_done = dict(
            db.exec(
                select(StepCompletion.pair_id, func.count(func.distinct(StepCompletion.week)))
                .where(col(StepCompletion.pair_id).in_(active_ids))
                .group_by(col(StepCompletion.pair_id))
            ).all()
        )
        check_ins = dict(
            db.exec(
                select(CheckIn.pair_id, func.count())
                .where(col(CheckIn.pair_id).in_(active_ids))
                .group_by(col(CheckIn.pair_id))
            ).all()
        )

    def row(pair: Pair) -> PairRow:
        mentor, mentee = (
            by_enrollment[pair.mentor_enrollment_id],
            by_enrollment[pair.mentee_enrollment_id],
        )
        return PairRow(
            id=pair.id or 0,
            status=pair.status,
            mentor_enrollment_id=pair.mentor_enrollment_id,
            mentee_enrollment_id=pair.mentee_enrollment_id,
            mentor_name=mentor.name,
            mentee_name=mentee.name,
            score=pair.score,
            reasons=_reasons(pair.factors),
            steps_done=steps_done.get(pair.id or 0, 0),
            steps_total=len(program.journey),
            check_ins=check_ins.get(pair.id or 0, 0),
        )

    ended = [
        EndedRow(
            id=pair.id or 0,
            mentor_name=by_enrollment[pair.mentor_enrollment_id].name,
            mentee_name=by_enrollment[pair.mentee_enrollment_id].name,
            status=pair.status,
            reason=pair.end_reason or "",
            detail=pair.end_detail,
            rating=pair.end_rating,
            ended_at=pair.ended_at,
        )
        for pair in db.exec(
            select(Pair)
            .where(Pair.program_id == program_id, col(Pair.status).in_(("completed", "ended")))
            .order_by(col(Pair.ended_at).desc(), col(Pair.id).desc())
            .limit(LIST_LIMIT)
        ).all()
    ]

    drafts = [row(p) for p in live if p.status == "draft"]
    published = [row(p) for p in live if p.status == "active"]
    scores = sorted(p.score for p in published)
    fairness = Fairness(
        unmatched=len(waiting),
        unmatched_names=[p.name for p in waiting[:LIST_LIMIT]],
        full_mentors=[m.name for m in mentors if m.capacity and m.used >= m.capacity],
        score_buckets=[
            (label, sum(1 for s in scores if low <= s <= high))
            for label, low, high in SCORE_BUCKETS
        ],
        published=len(published),
        median_score=scores[len(scores) // 2] if scores else None,
    )
    shown_waiting = [p for p in waiting if _matches(needle, p.name.casefold())]
    shown_mentors = [
        m for m in mentors if _matches(needle, m.name.casefold()) and (m.free > 0 or not free_only)
    ]
    return Workspace(
        program_id=program_id,
        group_id=program.group_id,
        title=program.title,
        status=program.status,
        can_pair=program.status in PAIRABLE_PROGRAM,
        mentees_waiting=[
            MenteeRow(
                enrollment_id=p.enrollment_id, user_id=p.user_id, name=p.name, rematch=p.rematch
            )
            for p in shown_waiting[:LIST_LIMIT]
        ],
        mentees_waiting_total=len(shown_waiting),
        mentors=shown_mentors[:LIST_LIMIT],
        mentors_total=len(shown_mentors),
        drafts=drafts,
        published=published,
        fairness=fairness,
        ended=ended,
    )


def suggest_mentors(
    db: Session,
    *,
    actor: User,
    program_id: int,
    mentee_enrollment_id: int,
    k: int = SUGGESTIONS,
    today: dt.date | None = None,
) -> list[SuggestionRow]:
    """The best mentors with free capacity for one waiting mentee, each with its reasons.
    Blocked pairs and mentors without a free seat are left out."""
    program = _workspace_program(db, actor=actor, program_id=program_id)
    today = today or utcnow().date()
    cohort = _cohort(db, program_id)
    mentee = next((p for p in cohort if p.enrollment_id == mentee_enrollment_id), None)
    if mentee is None or mentee.role != "mentee":
        raise NotFound("This mentee has not applied to this program.")
    live = _live_pairs(db, program_id)
    if any(pair.mentee_enrollment_id == mentee_enrollment_id for pair in live):
        raise Conflict(f"{mentee.name} is already paired in this program.")
    if not _eligible(mentee, today):
        return []
    used = _seats_used(live)
    mentors = [p for p in cohort if p.role == "mentor" and _eligible(p, today)]
    blocked = blocks.blocked_pairs(db, [mentee.user_id, *(m.user_id for m in mentors)])
    excluded = {m.enrollment_id for m in mentors if (mentee.user_id, m.user_id) in blocked}
    candidates = [_candidate(m, m.capacity - used.get(m.enrollment_id, 0)) for m in mentors]
    specs = matching.match_specs(program.questions)
    found = matching.suggest(specs, mentee.answers, candidates, k=k, excluded=excluded)
    by_id = {m.enrollment_id: m for m in mentors}
    return [
        SuggestionRow(
            mentor_enrollment_id=s.mentor_id,
            name=by_id[s.mentor_id].name,
            score=s.score,
            used=used.get(s.mentor_id, 0),
            capacity=by_id[s.mentor_id].capacity,
            reasons=[f.explain for f in s.factors],
        )
        for s in found
    ]


# --- making pairs ---------------------------------------------------------------------


def _lock_enrollments(db: Session, ids: Sequence[int]) -> dict[int, Enrollment]:
    """The enrollments, re-read and row-locked in id order (no deadlock between two admins)."""
    rows = db.exec(
        select(Enrollment)
        .where(col(Enrollment.id).in_(sorted(set(ids))))
        .order_by(col(Enrollment.id))
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    return {e.id or 0: e for e in rows}


def _check_person(db: Session, enrollment: Enrollment, today: dt.date) -> User:
    user = db.get(User, enrollment.user_id)
    assert user is not None
    if enrollment.status != "active":
        raise Conflict(f"{user.display_name} has withdrawn from this program.")
    if user.status != "active":
        raise Conflict(f"{user.display_name}'s account is suspended.")
    if not accounts.is_adult(user.date_of_birth, today=today):
        raise PermissionDenied("Only adults (18 and over) can take part in mentorship programs.")
    return user


def _free_seat(taken: set[int], capacity: int) -> int | None:
    """The mentor's lowest seat number not held by a live pair, if any is left."""
    return next((n for n in range(1, capacity + 1) if n not in taken), None)


def _draft_pair(
    db: Session,
    *,
    actor_id: int,
    program: Program,
    mentee_enrollment_id: int,
    mentor_enrollment_id: int,
    today: dt.date,
) -> Pair:
    """Every never-pair rule, then the insert; the caller has checked the admin."""
    program_id = program.id or 0
    locked = _lock_enrollments(db, [mentor_enrollment_id, mentee_enrollment_id])
    mentor_e, mentee_e = locked.get(mentor_enrollment_id), locked.get(mentee_enrollment_id)
    if mentor_e is None or mentee_e is None:
        raise NotFound("Application not found.")
    if mentor_e.program_id != program_id or mentee_e.program_id != program_id:
        raise ValidationError("Both people must have applied to this program.", field="pair")
    if mentor_e.user_id == mentee_e.user_id:
        raise ValidationError("A member can't be paired with themselves.", field="pair")
    if mentor_e.role != "mentor" or mentee_e.role != "mentee":
        raise ValidationError("A pair is one mentor and one mentee.", field="pair")
    mentor = _check_person(db, mentor_e, today)
    mentee = _check_person(db, mentee_e, today)
    if blocks.is_blocked(db, mentor_e.user_id, mentee_e.user_id):
        raise Conflict(f"{mentor.display_name} and {mentee.display_name} can't be paired.")
    already = db.exec(
        select(Pair.id).where(Pair.live_mentee_enrollment_id == mentee_enrollment_id)
    ).first()
    if already is not None:
        raise Conflict(f"{mentee.display_name} is already paired in this program.")
    taken = {
        seat
        for seat in db.exec(
            select(Pair.mentor_seat).where(Pair.mentor_enrollment_id == mentor_enrollment_id)
        ).all()
        if seat is not None
    }
    capacity = mentor_e.capacity or 0
    seat = _free_seat(taken, capacity)
    if seat is None:
        raise Conflict(
            f"{mentor.display_name} has no free capacity ({len(taken)} of {capacity} taken)."
        )
    score, factors = matching.score_pair(
        matching.match_specs(program.questions), dict(mentor_e.answers), dict(mentee_e.answers)
    )
    pair = Pair(
        program_id=program_id,
        mentor_enrollment_id=mentor_enrollment_id,
        mentee_enrollment_id=mentee_enrollment_id,
        mentor_id=mentor_e.user_id,
        mentee_id=mentee_e.user_id,
        status="draft",
        mentor_seat=seat,
        live_mentee_enrollment_id=mentee_enrollment_id,
        score=score,
        factors=_factor_docs(factors),
        created_by=actor_id,
    )
    try:
        with db.begin_nested():
            db.add(pair)
    except IntegrityError:
        raise Conflict(RACED) from None
    return pair


def pair_by_hand(
    db: Session,
    *,
    actor: User,
    program_id: int,
    mentee_enrollment_id: int,
    mentor_enrollment_id: int,
    today: dt.date | None = None,
) -> Pair:
    """A draft pair the admin chose (from a suggestion or any mentor with a free seat)."""
    program = _pairable_program(db, actor=actor, program_id=program_id)
    actor_id = groups.acting_user_id(actor)
    pair = _draft_pair(
        db,
        actor_id=actor_id,
        program=program,
        mentee_enrollment_id=mentee_enrollment_id,
        mentor_enrollment_id=mentor_enrollment_id,
        today=today or utcnow().date(),
    )
    audit.record(
        db, actor_id=actor_id, action="pair_drafted", target_type="pair", target_id=pair.id
    )
    return pair


def unpair(db: Session, *, actor: User, pair_id: int) -> None:
    """Remove a draft pair; published pairs end from their own page instead."""
    pair = db.get(Pair, pair_id)
    if pair is None:
        raise NotFound(PAIR_NOT_FOUND)
    _workspace_program(db, actor=actor, program_id=pair.program_id)
    if pair.status != "draft":
        raise Conflict("This pair has been published, so it can't be unpaired here.")
    db.delete(pair)
    db.flush()
    audit.record(
        db,
        actor_id=groups.acting_user_id(actor),
        action="pair_removed",
        target_type="pair",
        target_id=pair_id,
    )


def parse_min_score(value: str | int | None) -> int:
    if value is None or (isinstance(value, str) and not value.strip()):
        return 0
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ValidationError("Enter a whole number.", field="min_score") from None
    if not 0 <= number <= MIN_SCORE_MAX:
        raise ValidationError(f"Choose between 0 and {MIN_SCORE_MAX}.", field="min_score")
    return number


def suggest_all(
    db: Session,
    *,
    actor: User,
    program_id: int,
    min_score: str | int | None = 0,
    today: dt.date | None = None,
) -> list[Pair]:
    """Draft pairs for the whole waiting cohort at once: the assignment with the highest
    total score within every mentor's free seats, leaving out pairs below `min_score`."""
    program = _pairable_program(db, actor=actor, program_id=program_id)
    threshold = parse_min_score(min_score)
    today = today or utcnow().date()
    actor_id = groups.acting_user_id(actor)
    # Every application of the program is locked before anything live is read (in id
    # order, like pairing by hand): a second admin doing the same waits, then sees these.
    db.exec(
        select(Enrollment.id)
        .where(Enrollment.program_id == program_id)
        .order_by(col(Enrollment.id))
        .with_for_update()
    ).all()
    cohort = [p for p in _cohort(db, program_id) if _eligible(p, today)]
    live = _live_pairs(db, program_id)
    taken: dict[int, set[int]] = {}
    for pair in live:
        if pair.mentor_seat is not None:
            taken.setdefault(pair.mentor_enrollment_id, set()).add(pair.mentor_seat)
    paired = {pair.mentee_enrollment_id for pair in live}
    mentees = [p for p in cohort if p.role == "mentee" and p.enrollment_id not in paired]
    mentors = [p for p in cohort if p.role == "mentor"]
    mentee_of = {p.user_id: p.enrollment_id for p in mentees}
    mentor_of = {p.user_id: p.enrollment_id for p in mentors}
    forbidden = {
        (mentee_of[a], mentor_of[b])
        for a, b in blocks.blocked_pairs(db, [p.user_id for p in cohort])
        if a in mentee_of and b in mentor_of
    }
    specs = matching.match_specs(program.questions)
    assignment = matching.auto_match_cohort(
        specs,
        [_candidate(m) for m in mentees],
        [_candidate(m, m.capacity - len(taken.get(m.enrollment_id, ()))) for m in mentors],
        min_score=threshold,
        forbidden=forbidden,
    )
    by_id = {p.enrollment_id: p for p in cohort}
    made: list[Pair] = []
    for mentee_id, mentor_id, _score in assignment:
        mentor, mentee = by_id[mentor_id], by_id[mentee_id]
        seats = taken.setdefault(mentor_id, set())
        seat = _free_seat(seats, mentor.capacity)
        if seat is None:  # the assignment keeps to free seats; this would be a bug
            raise Conflict(f"{mentor.name} has no free capacity.")
        seats.add(seat)
        score, factors = matching.score_pair(specs, mentor.answers, mentee.answers)
        made.append(
            Pair(
                program_id=program_id,
                mentor_enrollment_id=mentor_id,
                mentee_enrollment_id=mentee_id,
                mentor_id=mentor.user_id,
                mentee_id=mentee.user_id,
                status="draft",
                mentor_seat=seat,
                live_mentee_enrollment_id=mentee_id,
                score=score,
                factors=_factor_docs(factors),
                created_by=actor_id,
            )
        )
    try:
        with db.begin_nested():
            db.add_all(made)
    except IntegrityError:
        raise Conflict(RACED) from None
    audit.record(
        db,
        actor_id=actor_id,
        action="pairs_suggested",
        target_type="program",
        target_id=program_id,
        detail=f"{len(made)} draft pairs, minimum score {threshold}",
    )
    return made


def publish_pairs(
    db: Session, *, actor: User, program_id: int, today: dt.date | None = None
) -> PublishResult:
    """Make the draft pairs real and tell both members. A draft that breaks a rule by
    now (someone withdrew, blocked, or was suspended) is removed and reported instead."""
    program = _pairable_program(db, actor=actor, program_id=program_id)
    today = today or utcnow().date()
    actor_id = groups.acting_user_id(actor)
    # Locked, and re-read once the lock is ours: a second admin publishing at the same
    # moment waits here, then finds no drafts left instead of publishing them twice.
    drafts = list(
        db.exec(
            select(Pair)
            .where(Pair.program_id == program_id, Pair.status == "draft")
            .order_by(col(Pair.id))
            .with_for_update()
            .execution_options(populate_existing=True)
        ).all()
    )
    locked = _lock_enrollments(
        db, [e for p in drafts for e in (p.mentor_enrollment_id, p.mentee_enrollment_id)]
    )
    start = max(program.start_date or today, today)
    published, dropped = 0, []
    for pair in drafts:
        try:
            mentor = _check_person(db, locked[pair.mentor_enrollment_id], today)
            mentee = _check_person(db, locked[pair.mentee_enrollment_id], today)
            if blocks.is_blocked(db, pair.mentor_id, pair.mentee_id):
                raise Conflict(f"{mentor.display_name} and {mentee.display_name} can't be paired.")
        except (Conflict, PermissionDenied) as error:
            dropped.append(error.message)
            db.delete(pair)
            continue
        pair.status, pair.published_at, pair.start_date = "active", utcnow(), start
        db.add(pair)
        mentee_enrollment = locked[pair.mentee_enrollment_id]
        if mentee_enrollment.rematch_priority:  # matched again: the flag has done its job
            mentee_enrollment.rematch_priority = False
            db.add(mentee_enrollment)
        link = f"/pairs/{pair.id}"
        notifications.notify(
            db,
            user_id=pair.mentor_id,
            kind="paired",
            text=f"You are now mentoring {mentee.display_name} in “{program.title}”.",
            link=link,
        )
        notifications.notify(
            db,
            user_id=pair.mentee_id,
            kind="paired",
            text=f"{mentor.display_name} is your mentor in “{program.title}”.",
            link=link,
        )
        published += 1
    db.flush()
    audit.record(
        db,
        actor_id=actor_id,
        action="pairs_published",
        target_type="program",
        target_id=program_id,
        detail=f"{published} published, {len(dropped)} dropped",
    )
    return PublishResult(published=published, dropped=dropped)


# --- the members' side -----------------------------------------------------------------


def list_my_pairs(db: Session, *, actor: User) -> list[MyPair]:
    """The actor's published pairs, newest first (drafts are the admins' business)."""
    me = groups.acting_user_id(actor)
    rows = db.exec(
        select(Pair, Program.title)
        .join(Program, col(Program.id) == col(Pair.program_id))
        .where(
            (col(Pair.mentor_id) == me) | (col(Pair.mentee_id) == me),
            col(Pair.status) != "draft",
        )
        .order_by(col(Pair.published_at).desc(), col(Pair.id).desc())
        .limit(LIST_LIMIT)
    ).all()
    partner_ids = {p.mentee_id if p.mentor_id == me else p.mentor_id for p, _ in rows}
    names = dict(
        db.exec(
            select(User.id, User.display_name).where(col(User.id).in_(partner_ids or {0}))
        ).all()
    )
    return [
        MyPair(
            pair_id=pair.id or 0,
            program_id=pair.program_id,
            program_title=title,
            partner_name=names.get(pair.mentee_id if pair.mentor_id == me else pair.mentor_id, ""),
            my_role="mentor" if pair.mentor_id == me else "mentee",
            status=pair.status,
            start_date=pair.start_date,
        )
        for pair, title in rows
    ]


def get_pair_page(db: Session, *, actor: User, pair_id: int) -> PairPage:
    """A published pair, for its two members only: to anyone else it does not exist."""
    me = groups.acting_user_id(actor)
    pair = db.get(Pair, pair_id)
    if pair is None or pair.status == "draft" or me not in (pair.mentor_id, pair.mentee_id):
        raise NotFound(PAIR_NOT_FOUND)
    program = db.get(Program, pair.program_id)
    assert program is not None
    my_role = "mentor" if pair.mentor_id == me else "mentee"
    partner = db.get(User, pair.mentee_id if my_role == "mentor" else pair.mentor_id)
    assert partner is not None
    return PairPage(
        pair_id=pair_id,
        program_id=program.id or 0,
        program_title=program.title,
        status=pair.status,
        my_role=my_role,
        partner_name=partner.display_name,
        partner_role="mentee" if my_role == "mentor" else "mentor",
        start_date=pair.start_date,
        journey=[dict(step) for step in program.journey],
    )


def live_pair_count(db: Session, *, mentor_enrollment_id: int) -> int:
    return db.exec(
        select(func.count())
        .select_from(Pair)
        .where(
            Pair.mentor_enrollment_id == mentor_enrollment_id, col(Pair.mentor_seat).is_not(None)
        )
    ).one()
