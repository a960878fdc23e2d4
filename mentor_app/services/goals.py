"""The goals a pair works toward: the mentee sets one to three, both members mark progress
(0 to 100 % in steps of 10) with a dated note, the mentor comments, and the closing survey asks
each member how far each goal got.

Only the pair's two members see goals and their history; admins get counts and averages
(services/dashboard.py), never the text. Changes need an active pair with no block between
the two; an ended or completed pair's goals stay readable, as its journey does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from mentor_app.models import Goal, GoalUpdate, Pair, User, utcnow
from mentor_app.services import blocks, groups, journey
from mentor_app.services.cleaning import storable
from mentor_app.services.errors import Conflict, NotFound, PermissionDenied, ValidationError

GOALS_MAX = 3
TEXT_MAX = 200
NOTE_MAX = 500
HISTORY_SHOWN = 20  # the newest entries of each goal a page shows
TARGET_DAYS_MAX = 2 * 365  # a target date further out than two years is no target for a pair
PROGRESS_STEPS = tuple(range(0, 101, 10))
# The progress select's choices, as a member reads them.
PROGRESS_LABELS = {
    p: f"{p} %" + {0: " · not started", 50: " · halfway", 100: " · done"}.get(p, "")
    for p in PROGRESS_STEPS
}
KINDS = ("progress", "comment", "survey")

GOAL_NOT_FOUND = "That goal doesn't exist."
MENTEE_ONLY = "Only the mentee sets and edits the goals; you can mark progress and comment."
MENTOR_ONLY = "Comments are the mentor's; mark progress with a note instead."
BLOCKED = "A block stands between you: the goals are read-only."
FULL = f"A pair works toward at most {GOALS_MAX} goals: remove one to add another."
SURVEY_PREFIX = "goal-"  # the closing survey's field for a goal: "goal-<id>"


# --- what the page shows ------------------------------------------------------------------


@dataclass(frozen=True)
class GoalEntry:
    id: int
    kind: str  # progress | comment | survey
    progress: int | None
    note: str
    name: str  # who wrote it ("" once their account is gone)
    role: str  # "mentor" | "mentee" | "" (account gone)
    created_at: dt.datetime


@dataclass(frozen=True)
class GoalView:
    id: int
    position: int
    text: str
    target_date: dt.date | None
    progress: int
    updated_at: dt.datetime
    entries: list[GoalEntry]  # newest first, at most HISTORY_SHOWN
    entries_total: int


@dataclass(frozen=True)
class GoalsView:
    pair_id: int
    status: str
    can_change: bool  # active, and no block between the two
    goals: list[GoalView]


# --- checks ---------------------------------------------------------------------------------


def _open_pair(db: Session, *, actor: User, pair_id: int) -> tuple[Pair, str]:
    """The pair and the actor's role, for a change: a member, an active pair, no block."""
    pair, role = journey.pair_of_member(db, actor=actor, pair_id=pair_id)
    if pair.status != "active":
        raise Conflict(journey.ENDED)
    if blocks.is_blocked(db, pair.mentor_id, pair.mentee_id):
        raise Conflict(BLOCKED)
    return pair, role


def _goal_of(db: Session, pair: Pair, goal_id: Any) -> Goal:
    """One of this pair's goals; NotFound for any other id (another pair's included)."""
    try:
        wanted = int(str(goal_id).strip())
    except ValueError:
        raise NotFound(GOAL_NOT_FOUND) from None
    goal = db.get(Goal, wanted)
    if goal is None or goal.pair_id != pair.id:
        raise NotFound(GOAL_NOT_FOUND)
    return goal


def clean_text(value: Any) -> str:
    """A goal's text: one line, 1..TEXT_MAX characters once trimmed."""
    text = " ".join(storable(str(value or "")).split())
    if not text:
        raise ValidationError("Write the goal in a few words.", field="text")
    if len(text) > TEXT_MAX:
        raise ValidationError(
            f"Keep a goal to {TEXT_MAX} characters; this one has {len(text)}.", field="text"
        )
    return text


def clean_target_date(value: Any, *, today: dt.date) -> dt.date | None:
    """An optional target date, from today (the member's own date) up to two years on."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, dt.datetime):
        value = value.date()
    if not isinstance(value, dt.date):
        try:
            value = dt.date.fromisoformat(str(value).strip())
        except ValueError:
            raise ValidationError(
                "Choose a date, or leave it empty.", field="target_date"
            ) from None
    if value < today:
        raise ValidationError("Choose a date from today on.", field="target_date")
    if value > today + dt.timedelta(days=TARGET_DAYS_MAX):
        raise ValidationError("Choose a date within the next two years.", field="target_date")
    return value


def clean_progress(value: Any, field_name: str = "progress") -> int:
    """0..100 in steps of 10."""
    message = "Choose how far it got: 0 to 100 %, in steps of 10."
    if isinstance(value, bool):
        raise ValidationError(message, field=field_name)
    try:
        progress = int(str(value).strip())
    except ValueError:
        raise ValidationError(message, field=field_name) from None
    if progress not in PROGRESS_STEPS:
        raise ValidationError(message, field=field_name)
    return progress


def clean_note(value: Any, *, required: bool = False) -> str:
    note = storable(str(value or "")).replace("\r\n", "\n").strip()
    if required and not note:
        raise ValidationError("Write your comment first.", field="note")
    if len(note) > NOTE_MAX:
        raise ValidationError(
            f"Use at most {NOTE_MAX} characters; this has {len(note)}.", field="note"
        )
    return note


def _today(actor: User, now: dt.datetime | None) -> dt.date:
    return journey.local_date(now or utcnow(), actor.timezone)


# --- the mentee's goals ---------------------------------------------------------------------


def add_goal(
    db: Session,
    *,
    actor: User,
    pair_id: int,
    text: Any,
    target_date: Any = None,
    now: dt.datetime | None = None,
) -> Goal:
    """The mentee adds a goal, in the first free place of three."""
    pair, role = _open_pair(db, actor=actor, pair_id=pair_id)
    if role != "mentee":
        raise PermissionDenied(MENTEE_ONLY, field="text")
    clean = clean_text(text)
    target = clean_target_date(target_date, today=_today(actor, now))
    taken = set(db.exec(select(Goal.position).where(Goal.pair_id == pair.id)).all())
    free = [p for p in range(1, GOALS_MAX + 1) if p not in taken]
    if not free:
        raise Conflict(FULL, field="text")
    goal = Goal(
        pair_id=pair.id or 0,
        position=free[0],
        text=clean,
        target_date=target,
        created_by=groups.acting_user_id(actor),
    )
    try:
        with db.begin_nested():
            db.add(goal)
    except IntegrityError:  # a double submit took the same place a moment ago
        raise Conflict("That goal was just added: look at the list again.", field="text") from None
    return goal


def edit_goal(
    db: Session,
    *,
    actor: User,
    pair_id: int,
    goal_id: Any,
    text: Any,
    target_date: Any = None,
    now: dt.datetime | None = None,
) -> Goal:
    """The mentee rewords a goal or moves its target date. A target date left as it was
    may have passed; a new one may not."""
    pair, role = _open_pair(db, actor=actor, pair_id=pair_id)
    if role != "mentee":
        raise PermissionDenied(MENTEE_ONLY, field="text")
    goal = _goal_of(db, pair, goal_id)
    clean = clean_text(text)
    unchanged = (
        goal.target_date is not None
        and isinstance(target_date, str | dt.date)
        and str(target_date).strip() == goal.target_date.isoformat()
    )
    target = (
        goal.target_date if unchanged else clean_target_date(target_date, today=_today(actor, now))
    )
    goal.text, goal.target_date, goal.updated_at = clean, target, utcnow()
    db.add(goal)
    db.flush()
    return goal


def remove_goal(db: Session, *, actor: User, pair_id: int, goal_id: Any) -> None:
    """The mentee removes a goal, with its history."""
    pair, role = _open_pair(db, actor=actor, pair_id=pair_id)
    if role != "mentee":
        raise PermissionDenied(MENTEE_ONLY)
    goal = _goal_of(db, pair, goal_id)
    db.execute(delete(GoalUpdate).where(col(GoalUpdate.goal_id) == goal.id))
    db.delete(goal)
    db.flush()


# --- progress and comments ------------------------------------------------------------------


def mark_progress(
    db: Session, *, actor: User, pair_id: int, goal_id: Any, progress: Any, note: Any = ""
) -> GoalUpdate:
    """Either member marks how far a goal got, with an optional note; the goal keeps the
    latest mark."""
    pair, _role = _open_pair(db, actor=actor, pair_id=pair_id)
    goal = _goal_of(db, pair, goal_id)
    value = clean_progress(progress)
    update = GoalUpdate(
        goal_id=goal.id or 0,
        pair_id=pair.id or 0,
        user_id=groups.acting_user_id(actor),
        kind="progress",
        progress=value,
        note=clean_note(note),
    )
    goal.progress, goal.updated_at = value, utcnow()
    db.add(goal)
    db.add(update)
    db.flush()
    return update


def comment(db: Session, *, actor: User, pair_id: int, goal_id: Any, note: Any) -> GoalUpdate:
    """The mentor comments on a goal."""
    pair, role = _open_pair(db, actor=actor, pair_id=pair_id)
    if role != "mentor":
        raise PermissionDenied(MENTOR_ONLY, field="note")
    goal = _goal_of(db, pair, goal_id)
    update = GoalUpdate(
        goal_id=goal.id or 0,
        pair_id=pair.id or 0,
        user_id=groups.acting_user_id(actor),
        kind="comment",
        note=clean_note(note, required=True),
    )
    db.add(update)
    db.flush()
    return update


# --- the closing survey ---------------------------------------------------------------------


def clean_survey_answers(
    db: Session, *, pair: Pair, answers: Mapping[str, Any] | None
) -> dict[int, int]:
    """The closing survey's answer for each of the pair's goals (by goal id), every goal
    answered with 0..100 in steps of 10; the field of a missing or wrong one is
    "goal-<id>". Answers about other goals are refused, not ignored."""
    given = {str(k).strip(): v for k, v in (answers or {}).items()}
    goal_ids = [
        g or 0
        for g in db.exec(
            select(Goal.id).where(Goal.pair_id == pair.id).order_by(col(Goal.position))
        ).all()
    ]
    if set(given) - {str(g) for g in goal_ids}:
        raise ValidationError(GOAL_NOT_FOUND, field="survey")
    cleaned: dict[int, int] = {}
    for goal_id in goal_ids:
        value = given.get(str(goal_id))
        if value is None or (isinstance(value, str) and not value.strip()):
            raise ValidationError("Say how far this goal got.", field=f"{SURVEY_PREFIX}{goal_id}")
        cleaned[goal_id] = clean_progress(value, f"{SURVEY_PREFIX}{goal_id}")
    return cleaned


def record_survey_answers(
    db: Session, *, pair: Pair, user_id: int, answers: Mapping[int, int]
) -> list[GoalUpdate]:
    """The member's survey answers as goal entries: journey.complete_pair calls this with
    the answers `clean_survey_answers` checked, in the transaction that stores the member's
    one closing survey (so they are stored once per member)."""
    rows = [
        GoalUpdate(
            goal_id=goal_id, pair_id=pair.id or 0, user_id=user_id, kind="survey", progress=value
        )
        for goal_id, value in answers.items()
    ]
    db.add_all(rows)
    db.flush()
    return rows


def survey_fields(form: Mapping[str, Any]) -> dict[str, Any]:
    """The goal answers in a submitted survey form ({"goal-7": "60"} -> {"7": "60"})."""
    return {
        key[len(SURVEY_PREFIX) :]: value
        for key, value in form.items()
        if isinstance(key, str) and key.startswith(SURVEY_PREFIX)
    }


# --- reading ----------------------------------------------------------------------------------


def _view(db: Session, pair: Pair) -> GoalsView:
    goals = db.exec(select(Goal).where(Goal.pair_id == pair.id).order_by(col(Goal.position))).all()
    people = {
        uid: (name, "mentor" if uid == pair.mentor_id else "mentee")
        for uid, name in db.exec(
            select(User.id, User.display_name).where(
                col(User.id).in_([pair.mentor_id, pair.mentee_id])
            )
        ).all()
    }
    totals = dict(
        db.exec(
            select(GoalUpdate.goal_id, func.count())
            .where(GoalUpdate.pair_id == pair.id)
            .group_by(col(GoalUpdate.goal_id))
        ).all()
    )
    views = []
    for goal in goals:
        entries = [
            GoalEntry(
                id=u.id or 0,
                kind=u.kind,
                progress=u.progress,
                note=u.note,
                name=people.get(u.user_id or 0, ("", ""))[0],
                role=people.get(u.user_id or 0, ("", ""))[1],
                created_at=u.created_at,
            )
            for u in db.exec(
                select(GoalUpdate)
                .where(GoalUpdate.goal_id == goal.id)
                .order_by(col(GoalUpdate.created_at).desc(), col(GoalUpdate.id).desc())
                .limit(HISTORY_SHOWN)
            ).all()
        ]
        views.append(
            GoalView(
                id=goal.id or 0,
                position=goal.position,
                text=goal.text,
                target_date=goal.target_date,
                progress=goal.progress,
                updated_at=goal.updated_at,
                entries=entries,
                entries_total=int(totals.get(goal.id or 0, 0)),
            )
        )
    can_change = pair.status == "active" and not blocks.is_blocked(
        db, pair.mentor_id, pair.mentee_id
    )
    return GoalsView(pair_id=pair.id or 0, status=pair.status, can_change=can_change, goals=views)


def list_goals(db: Session, *, actor: User, pair_id: int) -> GoalsView:
    """The pair's goals with their latest history, for one of its two members (ended and
    completed pairs included: read-only)."""
    pair, _role = journey.pair_of_member(db, actor=actor, pair_id=pair_id)
    return _view(db, pair)


def goals_as_system(db: Session, *, pair_id: int) -> GoalsView | None:
    """The same view with no member asking, for refreshing the pair's open pages after a
    change made elsewhere (a closing survey). It only ever goes to the tabs linked to the
    pair's goals, which `list_goals`'s check let in. None for a missing or draft pair."""
    pair = db.get(Pair, pair_id)
    if pair is None or pair.status == "draft":
        return None
    return _view(db, pair)


def is_goal_step(step: Mapping[str, Any]) -> bool:
    """Whether a journey step is about the goals (its page links to them): a flag the
    program's step carries, set on the templates' goal steps and kept through the wizard."""
    return step.get("goal") is True
