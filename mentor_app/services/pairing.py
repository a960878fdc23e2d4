"""The pairing workspace: explained suggestions, pairing by hand, whole-cohort
auto-match, and publishing draft pairs. Admins of the program's group only.

Capacity is enforced by the database, not only here: every live pair (draft or active)
holds one numbered seat of its mentor (unique per mentor) and its mentee's enrollment
(unique), and the two enrollments are locked while a pair is made (`FOR UPDATE` on
PostgreSQL; SQLite transactions already begin with `BEGIN IMMEDIATE`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import String, cast
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, func, select

from mentor_app.apart import run_apart
from mentor_app.db import (
    checked_first,
    engine_for,
    foreground_waits_to_write,
    read_scope,
    session_scope,
    url_of,
)
from mentor_app.models import CheckIn, Enrollment, Pair, Program, User, utcnow
from mentor_app.services import (
    accounts,
    audit,
    blocks,
    groups,
    journey,
    matching,
    notifications,
    programs,
)
from mentor_app.services.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    Refusal,
    ServiceError,
    ValidationError,
    as_refusal,
    from_refusal,
)
from mentor_app.services.names import SEARCH_MAX as NAME_SEARCH_MAX
from mentor_app.services.names import clean_search, code_point_order, name_contains
from mentor_app.services.paging import PAGE_SIZE, Page, page_of
from mentor_app.wording import count

LIVE = ("draft", "active")
PAIRABLE_PROGRAM = ("open", "active")
SUGGESTIONS = 5
LIST_LIMIT = 100
MIN_SCORE_MAX = 500
SEARCH_MAX = NAME_SEARCH_MAX
FAIRNESS_NAMES = 10  # the fairness panel names this many unmatched mentees and full mentors
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
PRIVATE_TO_YOU = "Private: you were in this pair."
NOT_A_GOOD_FIT = "not_a_good_fit"  # the end reason (journey.END_REASONS) never proposed again
# The field of the Conflict pair_by_hand raises to ask the admin to confirm such a pair.
CONFIRM_NOT_A_GOOD_FIT = "confirm_not_a_good_fit"


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
    # The stored score (from drafting, or publishing) when the answers now give another.
    score_was: int | None = None


@dataclass(frozen=True)
class EndedRow:
    """A pair that is over; reasons and ratings are for admins' eyes only, and never for
    an admin who was in the pair and did not write them (`private`)."""

    id: int
    mentor_name: str
    mentee_name: str
    status: str  # completed | ended
    reason: str
    detail: str
    rating: int | None
    ended_at: dt.datetime | None
    private: bool = False


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
    unmatched_names: list[str]  # the first FAIRNESS_NAMES of them, in the waiting list's order
    full_mentors: list[str]  # at or over capacity: the first FAIRNESS_NAMES, by name
    score_buckets: list[tuple[str, int]]  # published pairs' scores
    published: int
    median_score: int | None
    full_mentors_total: int = 0


@dataclass(frozen=True)
class Workspace:
    program_id: int
    group_id: int
    title: str
    status: str
    can_pair: bool
    mentees_waiting: Page[MenteeRow]
    mentors: Page[MentorRow]
    drafts: Page[PairRow]
    published: Page[PairRow]
    fairness: Fairness
    ended: Page[EndedRow]
    # For pairing by hand: the first PAGE_SIZE mentors with a free seat matching the search.
    free_mentors: list[MentorRow] = field(default_factory=list)


@dataclass(frozen=True)
class PublishResult:
    published: int
    dropped: list[str] = field(default_factory=list)  # why a draft could not be published
    more: bool = False  # drafts are left: `limit` stopped this call


# Drafts published per transaction: each holds SQLite's write lock for tens of
# milliseconds, not for the whole cohort (1,536 pairs in one took 13 s, and every chat
# send waited behind it); a send waits for one chunk at most (db._SQLiteWriters).
PUBLISH_CHUNK = 10


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


PAIR_TABLE: Any = Pair.__table__  # type: ignore[attr-defined]


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
    applied_at: dt.datetime | None = None  # how long a mentee has waited


def _eligible(person: _Person, today: dt.date) -> bool:
    return (
        person.status == "active"
        and person.user_status == "active"
        and accounts.is_adult(person.date_of_birth, today=today)
    )


def _cohort_rows(
    db: Session, program_id: int, *, role: str | None = None, enrollment_id: int | None = None
) -> Sequence[Any]:
    """The program's applications (or those of one role, or one application) as plain
    rows, the answers as the JSON text the database holds (parsed by `_cohort`)."""
    statement = (
        sa_select(  # eleven columns: more than sqlmodel's typed select() takes
            col(Enrollment.id),
            col(Enrollment.user_id),
            col(User.display_name),
            col(Enrollment.role),
            col(Enrollment.status),
            col(User.status),
            col(User.date_of_birth),
            col(Enrollment.capacity),
            cast(col(Enrollment.answers), String),
            col(Enrollment.rematch_priority),
            col(Enrollment.created_at),
        )
        .join(User, col(User.id) == col(Enrollment.user_id))
        .where(col(Enrollment.program_id) == program_id)
    )
    if role is not None:
        statement = statement.where(col(Enrollment.role) == role)
    if enrollment_id is not None:
        statement = statement.where(col(Enrollment.id) == enrollment_id)
    return db.execute(statement).all()


def _cohort(
    db: Session,
    program_id: int,
    *,
    role: str | None = None,
    enrollment_id: int | None = None,
    rows: Sequence[Any] | None = None,
) -> list[_Person]:
    """The program's applications (or those of one role, or one application); `rows`:
    those `_cohort_rows` already read."""
    if rows is None:
        rows = _cohort_rows(db, program_id, role=role, enrollment_id=enrollment_id)
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
            dict(json.loads(answers) or {}) if answers else {},
            bool(rematch),
            _naive_utc(applied),
        )
        for eid, uid, name, role, status, ustatus, dob, capacity, answers, rematch, applied in rows
    ]


def _naive_utc(moment: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands back naive datetimes, PostgreSQL aware ones: compare them as naive UTC."""
    if moment is None or moment.tzinfo is None:
        return moment
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


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


def _not_a_good_fit(db: Session, program_id: int) -> set[tuple[int, int]]:
    """(mentee enrollment, mentor enrollment) of the program's pairs that ended as not a
    good fit: never proposed again."""
    return {
        (mentee, mentor)
        for mentee, mentor in db.exec(
            select(Pair.mentee_enrollment_id, Pair.mentor_enrollment_id).where(
                Pair.program_id == program_id, Pair.end_reason == NOT_A_GOOD_FIT
            )
        ).all()
    }


def _workspace_program(db: Session, *, actor: User, program_id: int) -> Program:
    return programs.admin_program(db, actor=actor, program_id=program_id)


def _pairable_program(db: Session, *, actor: User, program_id: int) -> Program:
    program = _workspace_program(db, actor=actor, program_id=program_id)
    if program.status not in PAIRABLE_PROGRAM:
        raise Conflict(NOT_PAIRABLE)
    return program


def _candidate(person: _Person, free: int = 0) -> matching.Candidate:
    return matching.Candidate(id=person.enrollment_id, answers=person.answers, free_capacity=free)


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


def feedback_is_private(pair: Pair, viewer_id: int) -> bool:
    """What a member said when ending a pair is hidden from an admin who was its partner."""
    return viewer_id in (pair.mentor_id, pair.mentee_id) and pair.ended_by != viewer_id


def _ended_row(pair: Pair, name_of: dict[int, str], viewer_id: int) -> EndedRow:
    private = feedback_is_private(pair, viewer_id)
    return EndedRow(
        id=pair.id or 0,
        mentor_name=name_of.get(pair.mentor_enrollment_id, ""),
        mentee_name=name_of.get(pair.mentee_enrollment_id, ""),
        status=pair.status,
        reason=pair.end_reason or "",
        detail=PRIVATE_TO_YOU if private else pair.end_detail,
        rating=None if private else pair.end_rating,
        ended_at=pair.ended_at,
        private=private,
    )


# --- the workspace's lists, a page at a time ---------------------------------------------


def _adult_born_by(today: dt.date) -> dt.date:
    """The latest date of birth of an adult `today` (`accounts.is_adult`, leaplings
    included): the eligibility rule as a bound a query can use."""
    years_ago = today.year - accounts.ADULT_AGE
    day = today.replace(year=years_ago, day=28) if (today.month, today.day) == (2, 29) else None
    day = day or today.replace(year=years_ago)
    while not accounts.is_adult(day, today=today):
        day -= dt.timedelta(days=1)
    while accounts.is_adult(day + dt.timedelta(days=1), today=today):
        day += dt.timedelta(days=1)
    return day


def _eligible_applications(program_id: int, role: str, today: dt.date) -> list[Any]:
    """`_eligible` in SQL, for one role of the program (Enrollment joined to User)."""
    return [
        col(Enrollment.program_id) == program_id,
        col(Enrollment.role) == role,
        col(Enrollment.status) == "active",
        col(User.status) == "active",
        col(User.date_of_birth) <= _adult_born_by(today),
    ]


def _waiting_mentees(program_id: int, today: dt.date, search: str = "") -> Any:
    """Eligible mentees in no live pair: rematch priority first, then by name (code point)
    and id, as the workspace has always listed them. Rows: (enrollment id, user id, name,
    rematch)."""
    in_live_pair = (
        sa_select(col(Pair.id))
        .where(col(Pair.mentee_enrollment_id) == col(Enrollment.id), col(Pair.status).in_(LIVE))
        .exists()
    )
    statement = (
        sa_select(
            col(Enrollment.id),
            col(Enrollment.user_id),
            col(User.display_name),
            col(Enrollment.rematch_priority),
        )
        .join(User, col(User.id) == col(Enrollment.user_id))
        .where(*_eligible_applications(program_id, "mentee", today), ~in_live_pair)
        .order_by(
            col(Enrollment.rematch_priority).desc(),
            code_point_order(col(User.display_name)),
            col(Enrollment.id),
        )
    )
    found = name_contains(col(User.display_name), search)
    return statement if found is None else statement.where(found)


def _mentor_list(
    program_id: int,
    today: dt.date,
    *,
    search: str = "",
    free_only: bool = False,
    full_only: bool = False,
) -> Any:
    """Eligible mentors by name (code point) and id, with the seats their live pairs take.
    Rows: (enrollment id, user id, name, seats taken, capacity)."""
    taken = (
        sa_select(func.count())
        .select_from(Pair)
        .where(col(Pair.mentor_enrollment_id) == col(Enrollment.id), col(Pair.status).in_(LIVE))
        .correlate(Enrollment)
        .scalar_subquery()
    )
    capacity = func.coalesce(col(Enrollment.capacity), 0)
    statement = (
        sa_select(
            col(Enrollment.id), col(Enrollment.user_id), col(User.display_name), taken, capacity
        )
        .join(User, col(User.id) == col(Enrollment.user_id))
        .where(*_eligible_applications(program_id, "mentor", today))
        .order_by(code_point_order(col(User.display_name)), col(Enrollment.id))
    )
    found = name_contains(col(User.display_name), search)
    if found is not None:
        statement = statement.where(found)
    if free_only:
        statement = statement.where(capacity > taken)
    if full_only:
        statement = statement.where(capacity > 0, taken >= capacity)
    return statement


def _mentor_row(row: Sequence[Any]) -> MentorRow:
    enrollment_id, user_id, name, used, capacity = row
    return MentorRow(
        enrollment_id=enrollment_id, user_id=user_id, name=name, used=used, capacity=capacity
    )


def _mentee_row(row: Sequence[Any]) -> MenteeRow:
    enrollment_id, user_id, name, rematch = row
    return MenteeRow(enrollment_id=enrollment_id, user_id=user_id, name=name, rematch=bool(rematch))


def _application_names(db: Session, enrollment_ids: set[int]) -> dict[int, str]:
    if not enrollment_ids:
        return {}
    return {
        eid or 0: name
        for eid, name in db.exec(
            select(Enrollment.id, User.display_name)
            .join(User, col(User.id) == col(Enrollment.user_id))
            .where(col(Enrollment.id).in_(enrollment_ids))
        ).all()
    }


def _pair_rows(db: Session, program: Program, pairs: Sequence[Pair]) -> list[PairRow]:
    """One page of live pairs, each scored afresh on today's answers."""
    ids = {e for p in pairs for e in (p.mentor_enrollment_id, p.mentee_enrollment_id)}
    people: dict[int, tuple[str, dict[str, Any]]] = {}
    if ids:
        found: Sequence[Any] = db.execute(
            sa_select(col(Enrollment.id), col(User.display_name), col(Enrollment.answers))
            .join(User, col(User.id) == col(Enrollment.user_id))
            .where(col(Enrollment.id).in_(ids))
        ).all()
        people = {eid: (name, dict(answers or {})) for eid, name, answers in found}
    active_ids = [p.id or 0 for p in pairs if p.status == "active"]
    steps_done: dict[int, int] = {}
    check_ins: dict[int, int] = {}
    if active_ids:
        steps_done = journey.weeks_done_by_both(db, active_ids)  # both members' marks
        check_ins = dict(
            db.exec(
                select(CheckIn.pair_id, func.count())
                .where(col(CheckIn.pair_id).in_(active_ids))
                .group_by(col(CheckIn.pair_id))
            ).all()
        )
    specs = matching.match_specs(program.questions)
    rows = []
    for pair in pairs:
        (mentor_name, mentor_answers), (mentee_name, mentee_answers) = (
            people[pair.mentor_enrollment_id],
            people[pair.mentee_enrollment_id],
        )
        # Scored afresh: either member may have changed their answers since the pair was
        # drafted (or published), and a stale score would mislead the admin.
        score, factors = matching.score_pair(specs, mentor_answers, mentee_answers)
        rows.append(
            PairRow(
                id=pair.id or 0,
                status=pair.status,
                mentor_enrollment_id=pair.mentor_enrollment_id,
                mentee_enrollment_id=pair.mentee_enrollment_id,
                mentor_name=mentor_name,
                mentee_name=mentee_name,
                score=score,
                reasons=[f.explain for f in factors],
                steps_done=steps_done.get(pair.id or 0, 0),
                steps_total=len(program.journey),
                check_ins=check_ins.get(pair.id or 0, 0),
                score_was=pair.score if pair.score != score else None,
            )
        )
    return rows


def _pairs_page(db: Session, program: Program, status: str, page: int) -> Page[PairRow]:
    found = page_of(
        db,
        select(Pair)
        .where(Pair.program_id == program.id, Pair.status == status)
        .order_by(col(Pair.created_at), col(Pair.id)),
        page=page,
    )
    return Page(_pair_rows(db, program, found.items), found.total, found.page, found.size)


def _ended_page(db: Session, *, program_id: int, viewer_id: int, page: int) -> Page[EndedRow]:
    found = page_of(
        db,
        select(Pair)
        .where(Pair.program_id == program_id, col(Pair.status).in_(("completed", "ended")))
        .order_by(col(Pair.ended_at).desc(), col(Pair.id).desc()),
        page=page,
    )
    name_of = _application_names(
        db, {e for p in found.items for e in (p.mentor_enrollment_id, p.mentee_enrollment_id)}
    )
    return found.map(lambda pair: _ended_row(pair, name_of, viewer_id))


# From this many active pairs, the fairness panel's scores are worked out in a helper
# process: scoring every published pair again (answers may have changed) is Python work
# that, in a worker's thread, holds the interpreter every other member's events need (a
# workspace of 4,600 pairs, reloaded after each Publish, took about 0.1 s of it).
FAIRNESS_APART_FROM = 300


def _pair_count(db: Session, program_id: int, status: str) -> int:
    return int(
        db.exec(
            select(func.count())
            .select_from(Pair)
            .where(Pair.program_id == program_id, Pair.status == status)
        ).one()
    )


def _published_scores(db: Session, program: Program) -> list[int]:
    """The score of every active pair of the program, on today's answers, in order."""
    mentor_e, mentee_e = aliased(Enrollment), aliased(Enrollment)
    specs = matching.match_specs(program.questions)
    published: Sequence[Any] = db.execute(
        sa_select(col(mentor_e.answers), col(mentee_e.answers))
        .select_from(Pair)
        .join(mentor_e, col(mentor_e.id) == col(Pair.mentor_enrollment_id))
        .join(mentee_e, col(mentee_e.id) == col(Pair.mentee_enrollment_id))
        .where(col(Pair.program_id) == program.id, col(Pair.status) == "active")
    ).all()
    return sorted(  # fresh, like the rows
        matching.score_pair(specs, dict(mentor_answers or {}), dict(mentee_answers or {}))[0]
        for mentor_answers, mentee_answers in published
    )


def published_scores_job(
    database_url: str, program_id: int, *, should_continue: Any = None
) -> list[int]:
    """`_published_scores` as `mentor_app.apart.run_apart` runs it, on a read transaction of
    its own process. Scores only, no names: the caller (`get_workspace`) has checked that
    its actor is an admin of the program."""
    with read_scope(engine_for(database_url)) as db:  # the helper keeps the engine
        program = db.get(Program, program_id)
        return [] if program is None else _published_scores(db, program)


def _fairness(db: Session, program: Program, today: dt.date) -> Fairness:
    """Over the whole program, whatever page the lists are on; names are a few examples."""
    program_id = program.id or 0
    waiting = page_of(
        db, _waiting_mentees(program_id, today), page=0, size=FAIRNESS_NAMES, scalars=False
    )
    full = page_of(
        db,
        _mentor_list(program_id, today, full_only=True),
        page=0,
        size=FAIRNESS_NAMES,
        scalars=False,
    )
    if _pair_count(db, program_id, "active") >= FAIRNESS_APART_FROM:
        scores = run_apart(published_scores_job, url_of(db), program_id)
    else:
        scores = _published_scores(db, program)
    return Fairness(
        unmatched=waiting.total,
        unmatched_names=[row[2] for row in waiting.items],
        full_mentors=[row[2] for row in full.items],
        score_buckets=[
            (label, sum(1 for s in scores if low <= s <= high))
            for label, low, high in SCORE_BUCKETS
        ],
        published=len(scores),
        median_score=scores[len(scores) // 2] if scores else None,
        full_mentors_total=full.total,
    )


def is_waiting(
    db: Session,
    *,
    actor: User,
    program_id: int,
    mentee_enrollment_id: int,
    today: dt.date | None = None,
) -> bool:
    """Whether this application is an eligible mentee of the program in no live pair."""
    _workspace_program(db, actor=actor, program_id=program_id)
    statement = _waiting_mentees(program_id, today or utcnow().date()).where(
        col(Enrollment.id) == mentee_enrollment_id
    )
    return db.execute(statement.limit(1)).first() is not None


def get_workspace(
    db: Session,
    *,
    actor: User,
    program_id: int,
    search: str = "",
    free_only: bool = False,
    today: dt.date | None = None,
    mentees_page: int = 0,
    mentors_page: int = 0,
    drafts_page: int = 0,
    published_page: int = 0,
    ended_page: int = 0,
) -> Workspace:
    """What the workspace shows: one page of each list (the two columns filtered by name,
    and mentors, if asked, to those with a free seat), and the fairness panel over the
    whole program. A page past the end of its list reads as its last page."""
    program = _workspace_program(db, actor=actor, program_id=program_id)
    today = today or utcnow().date()
    search = clean_search(search)
    mentees = page_of(
        db, _waiting_mentees(program_id, today, search), page=mentees_page, scalars=False
    )
    mentors = page_of(
        db,
        _mentor_list(program_id, today, search=search, free_only=free_only),
        page=mentors_page,
        scalars=False,
    )
    free = db.execute(
        _mentor_list(program_id, today, search=search, free_only=True).limit(PAGE_SIZE)
    ).all()
    return Workspace(
        program_id=program_id,
        group_id=program.group_id,
        title=program.title,
        status=program.status,
        can_pair=program.status in PAIRABLE_PROGRAM,
        mentees_waiting=mentees.map(_mentee_row),
        mentors=mentors.map(_mentor_row),
        drafts=_pairs_page(db, program, "draft", drafts_page),
        published=_pairs_page(db, program, "active", published_page),
        fairness=_fairness(db, program, today),
        ended=_ended_page(
            db, program_id=program_id, viewer_id=groups.acting_user_id(actor), page=ended_page
        ),
        free_mentors=[_mentor_row(row) for row in free],
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
    Blocked pairs, mentors whose earlier pair with this mentee ended as not a good fit and
    mentors without a free seat are left out."""
    program = _workspace_program(db, actor=actor, program_id=program_id)
    today = today or utcnow().date()
    mentee = next(iter(_cohort(db, program_id, enrollment_id=mentee_enrollment_id)), None)
    if mentee is None or mentee.role != "mentee":
        raise NotFound("This mentee has not applied to this program.")
    live = _live_pairs(db, program_id)
    if any(pair.mentee_enrollment_id == mentee_enrollment_id for pair in live):
        raise Conflict(f"{mentee.name} is already paired in this program.")
    if not _eligible(mentee, today):
        return []
    used = _seats_used(live)
    mentors = [p for p in _cohort(db, program_id, role="mentor") if _eligible(p, today)]
    blocked = blocks.blocked_pairs(db, [mentee.user_id, *(m.user_id for m in mentors)])
    excluded = {m.enrollment_id for m in mentors if (mentee.user_id, m.user_id) in blocked}
    excluded |= {
        mentor for other, mentor in _not_a_good_fit(db, program_id) if other == mentee_enrollment_id
    }
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


def _check_person(
    db: Session, enrollment: Enrollment, today: dt.date, user: User | None = None
) -> User:
    """The applicant may be paired today; `user`, the applicant's member, if already read."""
    user = user or db.get(User, enrollment.user_id)
    assert user is not None
    if enrollment.status == "removed":
        raise Conflict(f"{user.display_name}'s application was removed by the admins.")
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
    confirmed: bool = False,
) -> Pair:
    """A draft pair the admin chose (from a suggestion or any mentor with a free seat).

    If these two already had a pair in this program that ended as not a good fit, nothing
    is made until the admin confirms: a Conflict on CONFIRM_NOT_A_GOOD_FIT says so."""
    program = _pairable_program(db, actor=actor, program_id=program_id)
    actor_id = groups.acting_user_id(actor)
    again = (mentee_enrollment_id, mentor_enrollment_id) in _not_a_good_fit(db, program_id)
    if again and not confirmed:
        names = dict(
            db.exec(
                select(Enrollment.id, User.display_name)
                .join(User, col(User.id) == col(Enrollment.user_id))
                .where(col(Enrollment.id).in_((mentee_enrollment_id, mentor_enrollment_id)))
            ).all()
        )
        raise Conflict(
            f"{names.get(mentee_enrollment_id, '')} and {names.get(mentor_enrollment_id, '')}'s "
            "earlier pair in this program ended as “not a good fit”. Pair them again anyway?",
            field=CONFIRM_NOT_A_GOOD_FIT,
        )
    pair = _draft_pair(
        db,
        actor_id=actor_id,
        program=program,
        mentee_enrollment_id=mentee_enrollment_id,
        mentor_enrollment_id=mentor_enrollment_id,
        today=today or utcnow().date(),
    )
    audit.record(
        db,
        actor_id=actor_id,
        action="pair_drafted",
        target_type="pair",
        target_id=pair.id,
        detail="paired again after “not a good fit”, confirmed" if again else "",
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


@dataclass(frozen=True)
class _SuggestInputs:
    """Everything the cohort's assignment depends on, read from the database."""

    cohort: list[_Person]
    taken: dict[int, set[int]]  # mentor application -> seats in use
    mentees: list[matching.Candidate]
    mentors: list[matching.Candidate]
    forbidden: set[tuple[int, int]]
    priority: list[int]
    threshold: int
    digest: str = ""  # of the rows these were made from (`_inputs_digest`)


@dataclass(frozen=True)
class Draft:
    """One pair of Suggest all's assignment, scored with the factors its card shows, as the
    JSON text the database stores (made where the plan is made, not under the write lock)."""

    mentee_enrollment_id: int
    mentor_enrollment_id: int
    score: int
    factors_json: str


@dataclass(frozen=True)
class _Drafting:
    """What writing a cohort's drafts needs of each person in them: their account, a
    mentor's capacity (and name, for the error that would say it is full)."""

    user_id: int
    capacity: int
    name: str


@dataclass(frozen=True)
class SuggestPlan:
    """Suggest all's assignment, worked out and scored in a read transaction
    (`plan_suggest_all`): `suggest_all` writes it as it is when the rows it reads under the
    write lock have the digest of those the plan was made from (`digest`), and works it out
    again otherwise. It carries only what the write needs: the drafts, their people and
    their mentors' seats in use (a plan with the whole cohort's answers was 2.3 MB, which
    a worker took 18 ms of the interpreter to unpickle for 2,000 x 500)."""

    program_id: int
    digest: str
    drafts: list[Draft]
    people: dict[int, _Drafting]  # by application id
    taken: dict[int, frozenset[int]]  # mentor's application -> seats in use


def _plan(program_id: int, inputs: _SuggestInputs, drafts: list[Draft]) -> SuggestPlan:
    by_id = {p.enrollment_id: p for p in inputs.cohort}
    involved = {e for d in drafts for e in (d.mentee_enrollment_id, d.mentor_enrollment_id)}
    return SuggestPlan(
        program_id,
        inputs.digest,
        drafts,
        {e: _Drafting(by_id[e].user_id, by_id[e].capacity, by_id[e].name) for e in involved},
        {e: frozenset(inputs.taken.get(e, ())) for e in {d.mentor_enrollment_id for d in drafts}},
    )


@dataclass(frozen=True)
class Drafted:
    """A draft pair Suggest all wrote."""

    id: int
    mentee_enrollment_id: int
    mentor_enrollment_id: int
    mentor_seat: int
    score: int
    status: str = "draft"


_SuggestReads = tuple[
    Sequence[Any],
    list[tuple[int, int, int, int | None]],
    set[tuple[int, int]],
    set[tuple[int, int]],
]


def _suggest_reads(db: Session, program_id: int) -> _SuggestReads:
    """What Suggest all's inputs are made from, as plain values: the applications' rows,
    the live pairs (id, mentor's and mentee's applications, seat), the blocks among the
    program's members and the pairs that ended as not a good fit."""
    rows = _cohort_rows(db, program_id)
    found: Sequence[Any] = db.execute(
        sa_select(
            col(Pair.id),
            col(Pair.mentor_enrollment_id),
            col(Pair.mentee_enrollment_id),
            col(Pair.mentor_seat),
        ).where(col(Pair.program_id) == program_id, col(Pair.status).in_(LIVE))
    ).all()
    live = [
        (int(pid), int(mentor), int(mentee), None if seat is None else int(seat))
        for pid, mentor, mentee, seat in found
    ]
    applicants = sa_select(col(Enrollment.user_id)).where(col(Enrollment.program_id) == program_id)
    blocked = blocks.blocked_pairs_among(db, applicants)  # among the users of `rows`
    return rows, live, blocked, _not_a_good_fit(db, program_id)


def _inputs_digest(
    today: dt.date,
    threshold: int,
    rows: Sequence[Any],
    live: Sequence[tuple[int, int, int, int | None]],
    blocked: set[tuple[int, int]],
    unfit: set[tuple[int, int]],
) -> str:
    """A digest of everything Suggest all's inputs are a function of: equal digests, equal
    inputs. Rows as the database gives them (the answers' JSON text), in a fixed order: by
    application id, unique, so no two rows are compared past it. Made under the write lock
    (`suggest_all`): the rows are hashed as they are, not converted value by value first."""
    digest = hashlib.sha256(repr((today.isoformat(), threshold)).encode())
    cohort = sorted(map(tuple, rows))
    for part in (cohort, sorted(live), sorted(blocked), sorted(unfit)):
        digest.update(repr(part).encode())
    return digest.hexdigest()


def _suggest_inputs(
    db: Session,
    program: Program,
    today: dt.date,
    threshold: int,
    reads: _SuggestReads | None = None,
) -> _SuggestInputs:
    """`reads`: what `_suggest_reads` already read for this program, else read here."""
    program_id = program.id or 0
    rows, live, blocked, unfit = reads or _suggest_reads(db, program_id)
    cohort = [p for p in _cohort(db, program_id, rows=rows) if _eligible(p, today)]
    taken: dict[int, set[int]] = {}
    for _pid, mentor_eid, _mentee_eid, seat in live:
        if seat is not None:
            taken.setdefault(mentor_eid, set()).add(seat)
    paired = {mentee_eid for _pid, _mentor_eid, mentee_eid, _seat in live}
    mentees = [p for p in cohort if p.role == "mentee" and p.enrollment_id not in paired]
    mentors = [p for p in cohort if p.role == "mentor"]
    mentee_of = {p.user_id: p.enrollment_id for p in mentees}
    mentor_of = {p.user_id: p.enrollment_id for p in mentors}
    forbidden = {
        (mentee_of[a], mentor_of[b]) for a, b in blocked if a in mentee_of and b in mentor_of
    }
    forbidden |= unfit
    return _SuggestInputs(
        cohort=cohort,
        taken=taken,
        mentees=[_candidate(m) for m in mentees],
        mentors=[_candidate(m, m.capacity - len(taken.get(m.enrollment_id, ()))) for m in mentors],
        forbidden=forbidden,
        priority=_tie_ranks(mentees),
        threshold=threshold,
        digest=_inputs_digest(today, threshold, rows, live, blocked, unfit),
    )


def _tie_ranks(mentees: Sequence[_Person]) -> list[int]:
    """Who goes first when scores tie (rank 0 first): rematch priority, then whoever has
    waited longest since applying, then the cohort's own order (name, then id)."""
    never = dt.datetime.max
    order = sorted(
        range(len(mentees)),
        key=lambda i: (not mentees[i].rematch, mentees[i].applied_at or never, i),
    )
    ranks = [0] * len(mentees)
    for rank, i in enumerate(order):
        ranks[i] = rank
    return ranks


def _assign(program: Program, inputs: _SuggestInputs) -> list[Draft]:
    """The cohort's best assignment, each pair scored again one by one for its factors."""
    specs = matching.match_specs(program.questions)
    answers = {p.enrollment_id: p.answers for p in inputs.cohort}
    drafts = []
    for mentee, mentor, _total in matching.auto_match_cohort(
        specs,
        inputs.mentees,
        inputs.mentors,
        min_score=inputs.threshold,
        forbidden=inputs.forbidden,
        priority=inputs.priority,
    ):
        score, factors = matching.score_pair(specs, answers[int(mentor)], answers[int(mentee)])
        factors_json = json.dumps(_factor_docs(factors))  # as the JSON column's own dumps
        drafts.append(Draft(int(mentee), int(mentor), score, factors_json))
    return drafts


def plan_suggest_all(
    db: Session,
    *,
    actor: User,
    program_id: int,
    min_score: str | int | None = 0,
    today: dt.date | None = None,
) -> SuggestPlan:
    """Suggest all's heavy part (scoring the whole cohort and the assignment) in a read
    transaction, so that the write lock is held only to check and write the drafts."""
    program = _pairable_program(db, actor=actor, program_id=program_id)
    inputs = _suggest_inputs(db, program, today or utcnow().date(), parse_min_score(min_score))
    return _plan(program_id, inputs, _assign(program, inputs))


# From this many active applications (waiting or paired), Suggest all is planned, checked
# and written from a helper process (the browser tests lower it, so that their 70-person
# cohort goes that way).
PLAN_APART_FROM = int(os.environ.get("MENTOR_PLAN_APART_FROM", "300"))


def plan_apart(db: Session, *, actor: User, program_id: int) -> bool:
    """Whether Suggest all is worth a helper process: a cohort of this size takes
    the interpreter for long enough to slow everyone else's events; a small one takes a few
    milliseconds, less than the round trip."""
    _pairable_program(db, actor=actor, program_id=program_id)
    waiting = db.exec(
        select(func.count())
        .select_from(Enrollment)
        .where(Enrollment.program_id == program_id, Enrollment.status == "active")
    ).one()
    return int(waiting) >= PLAN_APART_FROM


def plan_job(
    database_url: str,
    actor_id: int,
    program_id: int,
    min_score: str | int | None,
    *,
    should_continue: Any = None,
) -> SuggestPlan:
    """`plan_suggest_all` as `mentor_app.apart.run_apart` runs it, on a read transaction of
    its own process: the scoring and the assignment of a whole cohort are a CPU-bound
    second that, in a thread, held the interpreter every chat send on the worker needs.
    The actor's rights are checked there as here."""
    with read_scope(engine_for(database_url)) as db:  # the helper keeps the engine
        return plan_suggest_all(
            db, actor=_actor_in(db, actor_id), program_id=program_id, min_score=min_score
        )


def _actor_in(db: Session, actor_id: int) -> User:
    """The acting member, by id, for work in a helper process (the worker checked the
    session; the service checks their rights)."""
    actor = db.get(User, actor_id)
    if actor is None:
        raise NotFound(programs.PROGRAM_NOT_FOUND)
    return actor


@dataclass(frozen=True, eq=False)
class PlanIsCurrent:
    """The check `session_scope(check_first=...)` makes before Suggest all's write, in a
    read transaction: whether the cohort's rows still have the digest of those the plan was
    made from. When it held and nothing was committed since (`checked_first`), the write
    does not read and hash the cohort again under the lock (half of its time there)."""

    plan: SuggestPlan
    program_id: int
    threshold: int
    today: dt.date
    rows: list[_DraftRow] = field(default_factory=list)  # the plan's, once it held

    def __call__(self, db: Session) -> bool:
        if self.plan.program_id != self.program_id:
            return False
        reads = _suggest_reads(db, self.program_id)
        if self.plan.digest != _inputs_digest(self.today, self.threshold, *reads):
            return False
        try:
            self.rows[:] = _draft_rows(self.plan)
        except Conflict:
            return False  # the write works it out again, and says so
        return True

    def covers(
        self, plan: SuggestPlan | None, program_id: int, threshold: int, day: dt.date
    ) -> bool:
        """Whether this check was made for this very write."""
        return self.plan is plan and (self.program_id, self.threshold, self.today) == (
            program_id,
            threshold,
            day,
        )


def plan_is_current(
    plan: SuggestPlan, *, program_id: int, min_score: str | int | None, today: dt.date
) -> PlanIsCurrent | None:
    """Suggest all's check before its write (`PlanIsCurrent`), or None for a minimum score
    that is not a number (the write says so)."""
    try:
        threshold = parse_min_score(min_score)
    except ServiceError:
        return None
    return PlanIsCurrent(plan, program_id, threshold, today)


@dataclass(frozen=True)
class SuggestedApart:
    """What `suggest_job` did: how many drafts it wrote, or the refusal that stopped it
    (nothing written)."""

    made: int | None
    refusal: Refusal | None = None

    def unwrap(self) -> int:
        if self.made is None:
            raise from_refusal(self.refusal or ("ServiceError", "Suggest all failed.", None))
        return self.made


def suggest_job(
    database_url: str,
    actor_id: int,
    program_id: int,
    min_score: str | int | None,
    today: dt.date,
    *,
    should_continue: Any = None,
) -> SuggestedApart:
    """Suggest all as `mentor_app.apart.run_apart` runs it for a large cohort: the plan,
    its check and the write, all on connections of the helper's process. In the worker's
    threads, the check (reading the cohort again and hashing it) and the making of the
    rows held the interpreter for about 50 ms that every other member's events on the
    worker wait for: a chat send met them at 73 ms instead of 9 (bench/interference.py).
    The actor's rights are checked in the plan's transaction and again in the write's, as
    in the worker."""
    plan: SuggestPlan | None = None
    with contextlib.suppress(ServiceError):  # told by the write, which checks it all again
        plan = plan_job(database_url, actor_id, program_id, min_score)
    check = (
        None
        if plan is None
        else plan_is_current(plan, program_id=program_id, min_score=min_score, today=today)
    )
    try:
        with session_scope(engine_for(database_url), check_first=check) as db:
            made = suggest_all(
                db,
                actor=_actor_in(db, actor_id),
                program_id=program_id,
                min_score=min_score,
                today=today,
                plan=plan,
            )
    except ServiceError as error:
        return SuggestedApart(None, as_refusal(error))
    return SuggestedApart(len(made))


def suggest_all(
    db: Session,
    *,
    actor: User,
    program_id: int,
    min_score: str | int | None = 0,
    today: dt.date | None = None,
    plan: SuggestPlan | None = None,
) -> list[Drafted]:
    """Draft pairs for the whole waiting cohort at once: the assignment with the highest
    total score within every mentor's free seats, leaving out pairs below `min_score`.
    Where scores tie, mentees with rematch priority go first, then those who have waited
    longest. With a `plan` made from the same cohort, its drafts are written as they are:
    under the write lock this only reads the cohort's rows again, compares their digest with
    the plan's (`_inputs_digest`: no answer parsed, nothing built) and inserts the rows in
    one statement (no scoring, no ORM objects: a cohort of 2,000 held the lock over a
    second; reading it again into objects, 0.25 s). On SQLite, when `PlanIsCurrent` held
    just before this transaction and nothing was committed since (`checked_first`), not
    even that: the rows are as the check read them."""
    program = _pairable_program(db, actor=actor, program_id=program_id)
    threshold = parse_min_score(min_score)
    today = today or utcnow().date()
    actor_id = groups.acting_user_id(actor)
    held = checked_first(db)
    if not (isinstance(held, PlanIsCurrent) and held.covers(plan, program_id, threshold, today)):
        # Every application of the program is locked before anything live is read (in id
        # order, like pairing by hand): a second admin doing the same waits, then sees
        # these.
        db.exec(
            select(Enrollment.id)
            .where(Enrollment.program_id == program_id)
            .order_by(col(Enrollment.id))
            .with_for_update()
        ).all()
        reads = _suggest_reads(db, program_id)
        if (
            plan is None
            or plan.program_id != program_id
            or plan.digest != _inputs_digest(today, threshold, *reads)
        ):  # worked out from the rows just read, not read a second time
            inputs = _suggest_inputs(db, program, today, threshold, reads)
            plan = _plan(program_id, inputs, _assign(program, inputs))
        rows = _draft_rows(plan)
    else:
        rows = held.rows  # made from the same plan by the check, before the lock
    id_of: dict[int, int] = {}  # mentee's application -> the new draft's id
    if rows:
        try:
            with db.begin_nested():
                _insert_drafts(db, program_id=program_id, actor_id=actor_id, rows=rows)
        except IntegrityError:
            raise Conflict(RACED) from None
        # A mentee has one live pair at most (uq_pair_live_mentee): these are ours.
        found: Sequence[Any] = db.execute(
            sa_select(PAIR_TABLE.c.live_mentee_enrollment_id, PAIR_TABLE.c.id).where(
                PAIR_TABLE.c.program_id == program_id, PAIR_TABLE.c.status == "draft"
            )
        ).all()
        id_of = {int(mentee): int(pair_id) for mentee, pair_id in found}
    audit.record(
        db,
        actor_id=actor_id,
        action="pairs_suggested",
        target_type="program",
        target_id=program_id,
        detail=f"{count(len(rows), 'draft pair')}, minimum score {threshold}",
    )
    return [
        Drafted(
            id=id_of[row.mentee_enrollment_id],
            mentee_enrollment_id=row.mentee_enrollment_id,
            mentor_enrollment_id=row.mentor_enrollment_id,
            mentor_seat=row.mentor_seat,
            score=row.score,
        )
        for row in rows
    ]


@dataclass(frozen=True)
class _DraftRow:
    """What differs from one of Suggest all's new drafts to the next."""

    mentor_enrollment_id: int
    mentee_enrollment_id: int
    mentor_id: int
    mentee_id: int
    mentor_seat: int
    score: int
    factors_json: str


def _draft_rows(plan: SuggestPlan) -> list[_DraftRow]:
    """The plan's drafts as rows to insert, each on its mentor's first free seat."""
    by_id = plan.people
    taken = {mentor: set(seats) for mentor, seats in plan.taken.items()}
    rows: list[_DraftRow] = []
    for draft in plan.drafts:
        mentor = by_id[draft.mentor_enrollment_id]
        seats = taken.setdefault(draft.mentor_enrollment_id, set())
        seat = _free_seat(seats, mentor.capacity)
        if seat is None:  # the assignment keeps to free seats; this would be a bug
            raise Conflict(f"{mentor.name} has no free capacity.")
        seats.add(seat)
        rows.append(
            _DraftRow(
                mentor_enrollment_id=draft.mentor_enrollment_id,
                mentee_enrollment_id=draft.mentee_enrollment_id,
                mentor_id=mentor.user_id,
                mentee_id=by_id[draft.mentee_enrollment_id].user_id,
                mentor_seat=seat,
                score=draft.score,
                factors_json=draft.factors_json,
            )
        )
    return rows


def _insert_drafts(
    db: Session, *, program_id: int, actor_id: int, rows: Sequence[_DraftRow]
) -> None:
    """Suggest all's drafts in one executemany of the driver, under the write lock: the
    values every draft shares are made ready for the database once (SQLAlchemy's own
    executemany turned each of 1,536 rows' fourteen values into the driver's, and dumped
    each row's factors to JSON: 45 of the write's 95 ms), the factors come as the JSON text
    the plan made, and the ids and scores go as they are. No RETURNING: it would make
    SQLite run a statement a row."""
    connection = db.connection()
    dialect = connection.dialect
    shared = {
        "program_id": program_id,
        "status": "draft",
        "created_by": actor_id,
        "created_at": utcnow(),
        "end_detail": "",
        "paused": False,
    }
    for name, value in shared.items():  # as SQLAlchemy would send them
        process = PAIR_TABLE.c[name].type.bind_processor(dialect)
        if process is not None:
            shared[name] = process(value)
        elif isinstance(value, dt.datetime) and dialect.name == "sqlite":
            # As sqlite3's default adapter makes it, once instead of once a row.
            shared[name] = value.isoformat(" ")
    names = [*shared, "mentor_enrollment_id", "mentee_enrollment_id", "mentor_id"]
    names += ["mentee_id", "mentor_seat", "live_mentee_enrollment_id", "score", "factors"]
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    statement = (
        f"INSERT INTO {dialect.identifier_preparer.format_table(PAIR_TABLE)} "
        f"({', '.join(dialect.identifier_preparer.quote(n) for n in names)}) "
        f"VALUES ({', '.join([mark] * len(names))})"
    )
    same = tuple(shared.values())
    connection.exec_driver_sql(
        statement,
        [
            (
                *same,
                row.mentor_enrollment_id,
                row.mentee_enrollment_id,
                row.mentor_id,
                row.mentee_id,
                row.mentor_seat,
                row.mentee_enrollment_id,  # live_mentee_enrollment_id: a draft is live
                row.score,
                row.factors_json,
            )
            for row in rows
        ],
    )


def publish_pairs(
    db: Session,
    *,
    actor: User,
    program_id: int,
    today: dt.date | None = None,
    now: dt.datetime | None = None,
    limit: int | None = None,
    yield_to: Callable[[], bool] | None = None,
) -> PublishResult:
    """Make the draft pairs real, scored on today's answers, and tell both members. A draft
    that breaks a rule by now (someone withdrew, blocked, or was suspended) is removed and
    reported instead. Each pair's start date follows `journey.journey_start` (`today`
    alone, as tests pass it, means noon UTC that day).

    `limit`: at most that many drafts, the oldest first, so that a large cohort is
    published in several short transactions (`PUBLISH_CHUNK`); the result says whether
    drafts are left. Each call keeps its own audit row. The caller passes the same `now`
    to every call of one Publish, so that every pair of it starts on the same rule.

    `yield_to`: asked after each draft; True stops there (what is done commits, the rest
    stays for the next call): a helper process's Publish lets a waiting chat send have
    SQLite's write lock after a pair instead of after the whole chunk."""
    program = _pairable_program(db, actor=actor, program_id=program_id)
    if now is None:
        now = dt.datetime.combine(today, dt.time(12), tzinfo=dt.UTC) if today else utcnow()
    today = today or now.astimezone(dt.UTC).date()
    actor_id = groups.acting_user_id(actor)
    # Locked, and re-read once the lock is ours: a second admin publishing at the same
    # moment waits here, then finds no drafts left instead of publishing them twice.
    drafts = list(
        db.exec(
            select(Pair)
            .where(Pair.program_id == program_id, Pair.status == "draft")
            .order_by(col(Pair.id))
            .limit(limit)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).all()
    )
    locked = _lock_enrollments(
        db, [e for p in drafts for e in (p.mentor_enrollment_id, p.mentee_enrollment_id)]
    )
    specs = matching.match_specs(program.questions)
    # The chunk's members and blocks in two reads, not two and one a pair (each of those
    # also flushed the pairs changed so far).
    members = sorted({u for p in drafts for u in (p.mentor_id, p.mentee_id)})
    applicants = sorted({e.user_id for e in locked.values()})
    user_of = {u.id: u for u in db.exec(select(User).where(col(User.id).in_(applicants)))}
    blocked = blocks.blocked_pairs(db, members)
    published = 0
    dropped: list[str] = []
    notices: list[notifications.Notice] = []
    for pair in drafts:
        if (published or dropped) and yield_to is not None and yield_to():
            break
        try:
            mentor_e, mentee_e = (
                locked[pair.mentor_enrollment_id],
                locked[pair.mentee_enrollment_id],
            )
            mentor = _check_person(db, mentor_e, today, user_of.get(mentor_e.user_id))
            mentee = _check_person(db, mentee_e, today, user_of.get(mentee_e.user_id))
            if (pair.mentor_id, pair.mentee_id) in blocked:
                raise Conflict(f"{mentor.display_name} and {mentee.display_name} can't be paired.")
        except (Conflict, PermissionDenied) as error:
            dropped.append(error.message)
            db.delete(pair)
            continue
        start = journey.journey_start(program.start_date, now, [mentor, mentee])
        pair.status, pair.published_at, pair.start_date = "active", utcnow(), start
        # Re-scored: answers may have changed since the draft was made.
        score, factors = matching.score_pair(
            specs,
            dict(locked[pair.mentor_enrollment_id].answers),
            dict(locked[pair.mentee_enrollment_id].answers),
        )
        pair.score, pair.factors = score, _factor_docs(factors)
        db.add(pair)
        mentee_enrollment = locked[pair.mentee_enrollment_id]
        if mentee_enrollment.rematch_priority:  # matched again: the flag has done its job
            mentee_enrollment.rematch_priority = False
            db.add(mentee_enrollment)
        link = f"/pairs/{pair.id}"
        notices += [
            notifications.Notice(
                pair.mentor_id,
                "paired",
                f"You are now mentoring {mentee.display_name} in “{program.title}”.",
                link,
            ),
            notifications.Notice(
                pair.mentee_id,
                "paired",
                f"{mentor.display_name} is your mentor in “{program.title}”.",
                link,
            ),
        ]
        published += 1
    notifications.notify_many(db, notices)  # both members of every pair, in one go
    db.flush()
    audit.record(
        db,
        actor_id=actor_id,
        action="pairs_published",
        target_type="program",
        target_id=program_id,
        detail=f"{published} published, {len(dropped)} dropped",
    )
    more = limit is not None and _has_drafts(db, program_id)
    return PublishResult(published=published, dropped=dropped, more=more)


# From this many drafts, Publish writes its chunks from a helper process (the browser tests
# lower it, so that their 40-draft Publish goes that way).
PUBLISH_APART_FROM = int(os.environ.get("MENTOR_PUBLISH_APART_FROM", "100"))


def publish_apart(db: Session, *, actor: User, program_id: int) -> bool:
    """Whether Publish is worth a helper process: each chunk's checks, scores and rows are
    Python work that, in a worker's thread, holds the interpreter every other member's
    events on the worker need (a chat send waited up to 64 ms behind a 1,536-pair
    Publish); a few drafts take less than the round trips."""
    _pairable_program(db, actor=actor, program_id=program_id)
    return _pair_count(db, program_id, "draft") >= PUBLISH_APART_FROM


@dataclass(frozen=True)
class PublishedApart:
    """What `publish_job` did: the chunk's result, or the refusal that stopped it (nothing
    of the chunk written), and the members whose notifications changed, for the worker to
    announce (a helper's listeners reach no page)."""

    result: PublishResult | None
    refusal: Refusal | None = None
    told: frozenset[int] = frozenset()

    def unwrap(self) -> PublishResult:
        if self.result is None:
            raise from_refusal(self.refusal or ("ServiceError", "Publish failed.", None))
        return self.result


def publish_job(
    database_url: str,
    actor_id: int,
    program_id: int,
    now: dt.datetime,
    limit: int,
    for_s: float = 0.0,
    *,
    should_continue: Any = None,
) -> PublishedApart:
    """Chunks of `publish_pairs` as `mentor_app.apart.run_apart` runs them, each in a write
    transaction of its own (SQLite's writers take turns across processes), one after the
    other until none is left or `for_s` seconds have gone (0: one chunk). The actor's
    rights are checked in each as here.

    A chunk a call each made the worker answer 150 round trips for a 1,536-pair Publish
    (each a handover, a progress update sent to the admin's page and the members told):
    every one of them was work on the worker's interpreter that a chat send could meet. A
    refusal after chunks of this call were written returns what they did (with more to
    do): the next call meets the refusal again at once and returns it."""
    started = time.monotonic()
    published, dropped, told = 0, list[str](), set[int]()
    while True:
        try:
            with session_scope(engine_for(database_url)) as db:  # the helper keeps the engine
                result = publish_pairs(
                    db,
                    actor=_actor_in(db, actor_id),
                    program_id=program_id,
                    now=now,
                    limit=limit,
                    yield_to=lambda: foreground_waits_to_write(db),
                )
                told |= notifications.take_changes(db)
        except ServiceError as error:
            if not (published or dropped):
                return PublishedApart(None, as_refusal(error), told=frozenset(told))
            result = PublishResult(published=0, dropped=[], more=True)
            break
        published, dropped = published + result.published, dropped + result.dropped
        if (
            not result.more
            or time.monotonic() - started >= for_s
            or (should_continue is not None and not should_continue())
        ):
            break
    return PublishedApart(
        PublishResult(published=published, dropped=dropped, more=result.more),
        told=frozenset(told),
    )


def _has_drafts(db: Session, program_id: int) -> bool:
    return (
        db.exec(
            select(Pair.id).where(Pair.program_id == program_id, Pair.status == "draft").limit(1)
        ).first()
        is not None
    )


# --- the members' side -----------------------------------------------------------------


def list_my_pairs(
    db: Session, *, actor: User, page: int = 0, size: int = PAGE_SIZE
) -> Page[MyPair]:
    """One page of the actor's published pairs, newest first (drafts are the admins'
    business)."""
    me = groups.acting_user_id(actor)
    found = page_of(
        db,
        sa_select(Pair, col(Program.title))
        .join(Program, col(Program.id) == col(Pair.program_id))
        .where(
            (col(Pair.mentor_id) == me) | (col(Pair.mentee_id) == me),
            col(Pair.status) != "draft",
        )
        .order_by(col(Pair.published_at).desc(), col(Pair.id).desc()),
        page=page,
        size=size,
        scalars=False,
    )
    partner_ids = {p.mentee_id if p.mentor_id == me else p.mentor_id for p, _ in found.items}
    names = dict(
        db.exec(
            select(User.id, User.display_name).where(col(User.id).in_(partner_ids or {0}))
        ).all()
    )
    return found.map(
        lambda row: MyPair(
            pair_id=row[0].id or 0,
            program_id=row[0].program_id,
            program_title=row[1],
            partner_name=names.get(
                row[0].mentee_id if row[0].mentor_id == me else row[0].mentor_id, ""
            ),
            my_role="mentor" if row[0].mentor_id == me else "mentee",
            status=row[0].status,
            start_date=row[0].start_date,
        )
    )


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
