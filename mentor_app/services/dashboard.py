"""A program's dashboard for its group's admins: applications, match rate, pairs by status,
check-in rate per week, meetings held per week, goals set and their average progress, steps
completed, each active pair's health with its reasons and a suggested action, a CSV
export, and pausing a pair.

Counts and timestamps only: no note, message body, survey or goal text, video link or
meeting time is ever read here (a meeting's times are read only to count what was held).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import os
import pickle
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, func, select

from mentor_app.apart import run_apart
from mentor_app.db import engine_for, read_scope, url_of
from mentor_app.models import (
    CheckIn,
    Enrollment,
    FitCheck,
    Goal,
    Meeting,
    Message,
    Pair,
    Program,
    StepCompletion,
    User,
    utcnow,
)
from mentor_app.services import audit, groups, programs
from mentor_app.services.errors import Conflict, NotFound
from mentor_app.services.journey import (
    END_REASONS,
    local_date,
    silent_since,
    week_counted,
    week_of,
    weeks_done_by_both,
)
from mentor_app.services.meeting_times import Times, occurrences
from mentor_app.services.nudges import NudgeRules
from mentor_app.services.paging import PAGE_SIZE, Page, clamp_page
from mentor_app.wording import count

logger = logging.getLogger(__name__)

PUBLISHED = ("active", "completed", "ended")
PAIR_NOT_FOUND = "Pair not found."

# What each reason costs a pair's health, out of 100.
SILENT_WEEKS = 2  # journey weeks without a check-in from either member
SILENT_POINTS = 30  # for SILENT_WEEKS, plus SILENT_EXTRA per further week, at most SILENT_MAX
SILENT_EXTRA = 10
SILENT_MAX = 50
ONE_SIDED_DAYS = 10
ONE_SIDED_POINTS = 25
NOT_GOOD_FIT_POINTS = 40  # one member says so; both: NOT_GOOD_FIT_BOTH
NOT_GOOD_FIT_BOTH = 50
BEHIND_WEEKS = 2  # steps done may trail the current week by this much
BEHIND_POINTS = 15
PAUSED_POINTS = 10
NO_MEETING_DAYS = 14  # no meeting held for this long, once the journey is this far in
NO_MEETING_POINTS = 15

HEALTHY, WATCH, AT_RISK = "healthy", "watch", "at risk"
HEALTHY_MIN, WATCH_MIN = 70, 40

NUDGE, MESSAGE, REMATCH, RESUME, MEET = (
    "Nudge again",
    "Message the pair",
    "Offer a rematch",
    "Resume or end the pair",
    "Suggest planning a meeting",
)
ACTIONS = {
    "no_check_in": NUDGE,
    "one_sided": MESSAGE,
    "not_good_fit": REMATCH,
    "behind": NUDGE,
    "paused": RESUME,
    "no_meeting": MEET,
}
# Among reasons of equal points, the one whose action helps most comes first.
PRIORITY = ("not_good_fit", "one_sided", "no_check_in", "no_meeting", "paused", "behind")

CSV_COLUMNS = (
    "pair id",
    "mentor",
    "mentee",
    "status",
    "start date",
    "current week",
    "steps done/total",
    "check-ins",
    "last activity date",
    "health score",
    "reasons",
    "end reason",
    "meetings held",
    "goals set",
    "average goal progress %",
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class HealthReason:
    key: str  # no_check_in | one_sided | not_good_fit | behind | paused | no_meeting
    text: str
    points: int


@dataclass(frozen=True)
class PairHealth:
    pair_id: int
    mentor_name: str
    mentee_name: str
    status: str  # active | completed | ended
    paused: bool
    start_date: dt.date | None
    current_week: int  # the week the journey is in (or ended in), at most its length
    steps_done: int
    steps_total: int
    check_ins: int
    last_activity: dt.datetime | None
    score: int | None  # active pairs only
    band: str  # healthy | watch | at risk; "" when not active
    reasons: list[HealthReason] = field(default_factory=list)
    action: str = ""
    end_reason: str = ""
    meetings_held: int = 0  # occurrences of its confirmed meetings that have started
    goals: int = 0
    goal_progress: int | None = None  # average over its goals, %; None without goals


@dataclass(frozen=True)
class WeekRate:
    week: int
    check_ins: int
    expected: int  # two members times the pairs whose journey had reached this week

    @property
    def percent(self) -> int:
        return round(100 * self.check_ins / self.expected) if self.expected else 0


@dataclass(frozen=True)
class MeetingRate:
    week: int
    held: int  # active pairs that held a meeting in this journey week
    pairs: int  # active pairs whose journey had reached this week

    @property
    def percent(self) -> int:
        return round(100 * self.held / self.pairs) if self.pairs else 0


@dataclass(frozen=True)
class Dashboard:
    program_id: int
    group_id: int
    title: str
    status: str
    length_weeks: int
    applications: dict[str, int]  # role -> applications not withdrawn nor removed
    withdrawn: int  # withdrawn by the member or removed by an admin
    signed_up: int
    matched: int  # members in an active pair
    pair_counts: dict[str, int]  # active | ended | completed
    check_in_rates: list[WeekRate]
    steps_completed: int
    pairs: list[PairHealth]  # active ones by health, lowest first, then the others
    meeting_rates: list[MeetingRate] = field(default_factory=list)
    goals_set: int = 0
    goal_progress: int | None = None  # average progress of every goal set, %

    @property
    def match_rate(self) -> int | None:
        return round(100 * self.matched / self.signed_up) if self.signed_up else None


# --- health ------------------------------------------------------------------------------


def band_of(score: int) -> str:
    if score >= HEALTHY_MIN:
        return HEALTHY
    return WATCH if score >= WATCH_MIN else AT_RISK


def health_reasons(
    *,
    current_week: int,
    last_check_in_week: int,
    mentor_last: dt.datetime | None,
    mentee_last: dt.datetime | None,
    silent_since: dt.datetime,
    not_good_fit: Sequence[str],
    steps_done: int,
    paused: bool,
    now: dt.datetime,
    counted_week: int | None = None,
    journey_began: dt.datetime | None = None,
    last_meeting: dt.datetime | None = None,
) -> list[HealthReason]:
    """Why an active pair may need help, worst first. `mentor_last`/`mentee_last` are each
    member's last message or check-in; `silent_since` stands in for a member with none.
    `counted_week` is the latest week a missing check-in counts for (the current week only
    once its nudge day has passed); the current week when not given. `journey_began` and
    `last_meeting` (the latest meeting held): no meeting for NO_MEETING_DAYS is a reason
    once the journey is that far in (left out when `journey_began` is not given)."""
    reasons: list[HealthReason] = []
    counted = current_week if counted_week is None else counted_week
    silent_weeks = counted - last_check_in_week
    if silent_weeks >= SILENT_WEEKS:
        points = min(SILENT_MAX, SILENT_POINTS + SILENT_EXTRA * (silent_weeks - SILENT_WEEKS))
        reasons.append(
            HealthReason("no_check_in", f"no check-in for {count(silent_weeks, 'week')}", points)
        )
    last = {"mentor": mentor_last, "mentee": mentee_last}
    for writer, silent in (("mentee", "mentor"), ("mentor", "mentee")):
        wrote, quiet = last[writer], last[silent]
        if wrote is None or (quiet is not None and quiet >= wrote):
            continue
        days = (now - (quiet or silent_since)).days
        if days >= ONE_SIDED_DAYS:
            reasons.append(
                HealthReason(
                    "one_sided",
                    f"one-sided: {writer} writing, {silent} silent for {count(days, 'day')}",
                    ONE_SIDED_POINTS,
                )
            )
    if not_good_fit:
        who = " and ".join(role for role in ("mentor", "mentee") if role in not_good_fit)
        points = NOT_GOOD_FIT_BOTH if len(set(not_good_fit)) > 1 else NOT_GOOD_FIT_POINTS
        reasons.append(HealthReason("not_good_fit", f"fit check: not a good fit ({who})", points))
    due = current_week - BEHIND_WEEKS
    if steps_done < due:
        reasons.append(
            HealthReason(
                "behind",
                f"behind on steps: {steps_done} done by week {current_week}",
                BEHIND_POINTS,
            )
        )
    if journey_began is not None:
        # Counted from the journey's start at the earliest: a new pair is not flagged.
        since = max(last_meeting or journey_began, journey_began)
        if now - since >= dt.timedelta(days=NO_MEETING_DAYS):
            reasons.append(
                HealthReason(
                    "no_meeting", f"no meeting for {NO_MEETING_DAYS} days", NO_MEETING_POINTS
                )
            )
    if paused:
        reasons.append(HealthReason("paused", "paused by an admin", PAUSED_POINTS))
    reasons.sort(key=lambda r: (-r.points, PRIORITY.index(r.key)))
    return reasons


def health_score(reasons: Iterable[HealthReason]) -> int:
    return max(0, 100 - sum(r.points for r in reasons))


def suggested_action(reasons: Sequence[HealthReason], *, paused: bool) -> str:
    """What the worst reason calls for; nudges skip a paused pair, so it is resumed first."""
    if not reasons:
        return ""
    action = ACTIONS[reasons[0].key]
    return RESUME if paused and action == NUDGE else action


# --- the dashboard -----------------------------------------------------------------------

_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
_TICK = dt.timedelta(microseconds=1)  # a meeting starting at `now` has been held


def _later(a: dt.datetime | None, b: dt.datetime | None) -> dt.datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def _start_moment(pair: Pair, zones: Sequence[str]) -> dt.datetime:
    """When the journey's first day has begun for both members (the later of their local
    midnights): nobody is silent before it."""
    if pair.start_date is None:
        return pair.published_at or pair.created_at
    return max(silent_since(pair.start_date, None, zone) or pair.created_at for zone in zones)


def _pair_date(moment: dt.datetime, zones: Sequence[str]) -> dt.date:
    """The date both members of a pair have reached at `moment` (the earlier of their two
    local dates): the dashboard counts a pair's weeks as its members' pages do, and a week
    only once it has begun for both."""
    return min(local_date(moment, zone) for zone in zones)


def _reached_week(pair: Pair, today: dt.date, zones: Sequence[str], length: int) -> int:
    """The journey week the pair is in, or ended in, counted no further than its length."""
    if pair.status == "active" or pair.ended_at is None:
        week = week_of(pair.start_date, today)
    else:
        week = week_of(pair.start_date, _pair_date(pair.ended_at, zones))
    return min(week, length)


def get_dashboard(
    db: Session, *, actor: User, program_id: int, now: dt.datetime | None = None
) -> Dashboard:
    """Everything the dashboard shows, in a fixed number of grouped queries."""
    program = programs.admin_program(db, actor=actor, program_id=program_id)
    return _work_out(db, program=program, actor=actor, now=now)


def _work_out(db: Session, *, program: Program, actor: User, now: dt.datetime | None) -> Dashboard:
    """`get_dashboard` for a program whose admin `actor` is already known to be."""
    program_id = program.id or 0
    now = now or utcnow()
    length = len(program.journey)
    nudge_day = NudgeRules.from_env().from_day

    applications = {role: 0 for role in programs.ROLES}
    withdrawn = 0
    for role, status, n in db.exec(
        select(Enrollment.role, Enrollment.status, func.count())
        .where(Enrollment.program_id == program_id)
        .group_by(col(Enrollment.role), col(Enrollment.status))
    ).all():
        if status in ("withdrawn", "removed"):  # removed: by an admin, with a reason
            withdrawn += n
        else:
            applications[role] = applications.get(role, 0) + n

    pairs = list(
        db.exec(
            select(Pair)
            .where(Pair.program_id == program_id, col(Pair.status).in_(PUBLISHED))
            .order_by(col(Pair.id))
        ).all()
    )
    active = [p for p in pairs if p.status == "active"]
    people = {uid for p in pairs for uid in (p.mentor_id, p.mentee_id)}
    names: dict[int, str] = {}
    zone_of: dict[int, str] = {}
    if people:
        for uid, name, zone in db.exec(
            select(User.id, User.display_name, User.timezone).where(col(User.id).in_(people))
        ).all():
            names[uid or 0], zone_of[uid or 0] = name, zone

    in_program = select(Pair.id).where(Pair.program_id == program_id)
    # Check-ins per pair and member: how many, the last week, the last change.
    check_count: dict[int, int] = {}
    check_week: dict[int, int] = {}
    last_seen: dict[tuple[int, int], dt.datetime | None] = {}
    check_rows: Sequence[Any] = db.execute(
        sa_select(  # five columns: more than sqlmodel's typed select() takes
            col(CheckIn.pair_id),
            col(CheckIn.user_id),
            func.count(),
            func.max(CheckIn.week),
            func.max(CheckIn.updated_at),
        )
        .where(col(CheckIn.pair_id).in_(in_program))
        .group_by(col(CheckIn.pair_id), col(CheckIn.user_id))
    ).all()
    for pair_id, user_id, n, last_week, last_at in check_rows:
        check_count[pair_id] = check_count.get(pair_id, 0) + n
        check_week[pair_id] = max(check_week.get(pair_id, 0), last_week or 0)
        last_seen[(pair_id, user_id)] = last_at
    per_week = dict(
        db.exec(
            select(CheckIn.week, func.count())
            .where(col(CheckIn.pair_id).in_(in_program))
            .group_by(col(CheckIn.week))
        ).all()
    )
    # The last message of each member of each pair: when, never what.
    for pair_id, sender_id, last_at in db.exec(
        select(Message.pair_id, Message.sender_id, func.max(Message.created_at))
        .where(col(Message.pair_id).in_(in_program))
        .group_by(col(Message.pair_id), col(Message.sender_id))
    ).all():
        last_seen[(pair_id, sender_id)] = _later(last_seen.get((pair_id, sender_id)), last_at)
    # A step counts as done once both members marked it (weeks_done_by_both); any
    # member's mark is a sign of life.
    steps_done = weeks_done_by_both(db, in_program)
    last_step: dict[int, dt.datetime | None] = dict(
        db.exec(
            select(StepCompletion.pair_id, func.max(StepCompletion.done_at))
            .where(col(StepCompletion.pair_id).in_(in_program))
            .group_by(col(StepCompletion.pair_id))
        ).all()
    )
    # A fit answer is the answering member's word to the admins: an admin who is the
    # partner sees only their own.
    viewer = groups.acting_user_id(actor)
    member_of = {p.id: (p.mentor_id, p.mentee_id) for p in pairs}
    unfit: dict[int, set[int]] = {}
    for pair_id, user_id in db.exec(
        select(FitCheck.pair_id, FitCheck.user_id).where(
            col(FitCheck.pair_id).in_(in_program), FitCheck.answer == "not_good"
        )
    ).all():
        if viewer in member_of.get(pair_id, ()) and user_id != viewer:
            continue
        unfit.setdefault(pair_id, set()).add(user_id)

    # Meetings: the starts of confirmed ones, to count those held (never shown).
    meetings: dict[int, list[Any]] = {}
    for meeting in db.execute(
        sa_select(
            col(Meeting.pair_id),
            col(Meeting.status),
            col(Meeting.starts_at),
            col(Meeting.weekly),
            col(Meeting.repeat_until),
            col(Meeting.timezone),
        ).where(
            col(Meeting.pair_id).in_(in_program),
            col(Meeting.status) == "confirmed",
            col(Meeting.starts_at) <= now,
        )
    ).all():
        meetings.setdefault(meeting[0], []).append(meeting)
    # Goals: how many and their progress, never their text.
    goal_rows: Sequence[Any] = db.execute(
        sa_select(col(Goal.pair_id), func.count(), func.sum(Goal.progress))
        .where(col(Goal.pair_id).in_(in_program))
        .group_by(col(Goal.pair_id))
    ).all()
    goal_stats = {int(pair_id): (int(n), int(total or 0)) for pair_id, n, total in goal_rows}
    held_in_week: dict[int, int] = {}  # journey week -> active pairs that met in it

    rows: list[PairHealth] = []
    reached: list[int] = []
    for pair in pairs:
        pid = pair.id or 0
        zones = [zone_of.get(pair.mentor_id, "UTC"), zone_of.get(pair.mentee_id, "UTC")]
        today = _pair_date(now, zones)
        week = _reached_week(pair, today, zones, length)
        reached.append(week)
        mentor_last = last_seen.get((pid, pair.mentor_id))
        mentee_last = last_seen.get((pid, pair.mentee_id))
        last_activity = _later(_later(mentor_last, mentee_last), last_step.get(pid))
        held = [
            at
            for m in meetings.get(pid, ())
            for at in occurrences(Times(*m[1:]), _EPOCH, now + _TICK)
        ]
        if pair.status == "active":
            for met_week in {week_of(pair.start_date, _pair_date(at, zones)) for at in held}:
                if 1 <= met_week <= week:
                    held_in_week[met_week] = held_in_week.get(met_week, 0) + 1
        goals, goal_total = goal_stats.get(pid, (0, 0))
        score: int | None = None
        reasons: list[HealthReason] = []
        if pair.status == "active":
            reasons = health_reasons(
                current_week=week,
                counted_week=min(week_counted(pair.start_date, today, nudge_day=nudge_day), length),
                last_check_in_week=check_week.get(pid, 0),
                mentor_last=mentor_last,
                mentee_last=mentee_last,
                silent_since=_start_moment(pair, zones),
                not_good_fit=[
                    "mentor" if uid == pair.mentor_id else "mentee" for uid in unfit.get(pid, ())
                ],
                steps_done=steps_done.get(pid, 0),
                paused=pair.paused,
                now=now,
                journey_began=_start_moment(pair, zones) if pair.start_date else None,
                last_meeting=max(held, default=None),
            )
            score = health_score(reasons)
        rows.append(
            PairHealth(
                pair_id=pid,
                mentor_name=names.get(pair.mentor_id, ""),
                mentee_name=names.get(pair.mentee_id, ""),
                status=pair.status,
                paused=pair.paused,
                start_date=pair.start_date,
                current_week=week,
                steps_done=steps_done.get(pid, 0),
                steps_total=length,
                check_ins=check_count.get(pid, 0),
                last_activity=last_activity,
                score=score,
                band=band_of(score) if score is not None else "",
                reasons=reasons,
                action=suggested_action(reasons, paused=pair.paused),
                end_reason=END_REASONS.get(pair.end_reason or "", pair.end_reason or ""),
                meetings_held=len(held),
                goals=goals,
                goal_progress=round(goal_total / goals) if goals else None,
            )
        )
    rows.sort(key=lambda r: (r.score is None, r.score or 0, r.pair_id))

    top = max(reached, default=0)
    rates = [
        WeekRate(
            week=w,
            check_ins=per_week.get(w, 0),
            expected=2 * sum(1 for reach in reached if reach >= w),
        )
        for w in range(1, top + 1)
    ]
    active_reached = [w for p, w in zip(pairs, reached, strict=True) if p.status == "active"]
    meeting_rates = [
        MeetingRate(
            week=w,
            held=held_in_week.get(w, 0),
            pairs=sum(1 for reach in active_reached if reach >= w),
        )
        for w in range(1, max(active_reached, default=0) + 1)
    ]
    goals_set = sum(n for n, _total in goal_stats.values())
    goal_sum = sum(total for _n, total in goal_stats.values())
    matched = {e for p in active for e in (p.mentor_enrollment_id, p.mentee_enrollment_id)}
    return Dashboard(
        program_id=program_id,
        group_id=program.group_id,
        title=program.title,
        status=program.status,
        length_weeks=length,
        applications=applications,
        withdrawn=withdrawn,
        signed_up=sum(applications.values()),
        matched=len(matched),
        pair_counts={s: sum(1 for p in pairs if p.status == s) for s in PUBLISHED},
        check_in_rates=rates,
        steps_completed=sum(steps_done.get(p.id or 0, 0) for p in pairs),
        pairs=rows,
        meeting_rates=meeting_rates,
        goals_set=goals_set,
        goal_progress=round(goal_sum / goals_set) if goals_set else None,
    )


@dataclass(frozen=True)
class DashboardPage:
    """The dashboard as its page shows it: the figures and chart over every pair, and one
    page of the active pairs by health (only those at risk, if asked)."""

    board: Dashboard  # its `pairs` left empty: the page holds them
    pairs: Page[PairHealth]
    active_total: int  # active pairs, whatever the filter


@dataclass(frozen=True)
class PackedBoard:
    """A board as the cache keeps it: its figures (`board`, with `pairs` empty) and its
    active pairs by health, a page to a pickle (`PAGE_SIZE` pairs each), all of them and
    those at risk. A 5,000-pair board is about 15,000 Python objects: unpickled whole when
    it came back from its helper process, it held the worker's interpreter for about 95 ms,
    and kept in the cache, every full garbage collection walked it. Packed, it comes back
    as a few hundred byte strings (under a millisecond), and a page read unpickles 20
    pairs."""

    board: Dashboard
    active_total: int
    at_risk_total: int
    pages: tuple[bytes, ...]
    at_risk_pages: tuple[bytes, ...]

    def page(self, number: int, *, at_risk_only: bool = False) -> Page[PairHealth]:
        """Page `number` (from 0) of the active pairs, or of those at risk; a page past the
        end reads as the last page."""
        total, pages = (
            (self.at_risk_total, self.at_risk_pages)
            if at_risk_only
            else (self.active_total, self.pages)
        )
        number = clamp_page(number, total, PAGE_SIZE)
        items: list[PairHealth] = pickle.loads(pages[number]) if pages else []
        return Page(items, total, number, PAGE_SIZE)


def pack(board: Dashboard) -> PackedBoard:
    """`board` as the cache keeps it (see PackedBoard)."""
    active = [p for p in board.pairs if p.status == "active"]
    at_risk = [p for p in active if p.band == AT_RISK]

    def pages(pairs: list[PairHealth]) -> tuple[bytes, ...]:
        return tuple(
            pickle.dumps(pairs[i : i + PAGE_SIZE], protocol=pickle.HIGHEST_PROTOCOL)
            for i in range(0, len(pairs), PAGE_SIZE)
        )

    return PackedBoard(
        board=replace(board, pairs=[]),
        active_total=len(active),
        at_risk_total=len(at_risk),
        pages=pages(active),
        at_risk_pages=pages(at_risk),
    )


def get_dashboard_page(
    db: Session,
    *,
    actor: User,
    program_id: int,
    page: int = 0,
    at_risk_only: bool = False,
    now: dt.datetime | None = None,
    max_age_s: float | None = None,
) -> DashboardPage:
    """`get_dashboard` with one page of its active pairs. Health is worked out for every
    pair (the order is the health score, which no column holds), then one page is kept: a
    page past the end reads as the last page.

    Live (no `now`), the board may come from `cached_dashboard`, at most `max_age_s`
    old (DASHBOARD_CACHE_S when None; 0 computes it afresh)."""
    if now is None:
        age = DASHBOARD_CACHE_S if max_age_s is None else max_age_s
        packed = cached_dashboard(db, actor=actor, program_id=program_id, max_age_s=age)
    else:
        packed = pack(get_dashboard(db, actor=actor, program_id=program_id, now=now))
    return DashboardPage(
        board=packed.board,
        pairs=packed.page(page, at_risk_only=at_risk_only),
        active_total=packed.active_total,
    )


# --- a short cache: page turns and several admins reloading work the health out once -----
#
# A 5,000-pair program's board takes a CPU-bound second or so to work out, and that second
# is taken from every other member's events on the same worker. Within DASHBOARD_CACHE_S of
# one another, the reads of the same board share one: a check-in shows on the dashboard
# that much later at most; an admin's own change (pausing a pair) reads it afresh.
# What a board shows depends on who asks in one case only: an admin who is a member of one
# of the program's pairs does not see their partner's "not a good fit" answer. So the key
# is (program, that admin) for such an admin, and (program, 0) for every other admin.
# Every call still checks that the actor is an admin of the program first.

DASHBOARD_CACHE_S = float(os.environ.get("MENTOR_DASHBOARD_CACHE_S", "5"))
# A big program's board (worked out in a helper, see APART_FROM_PAIRS) older than
# DASHBOARD_CACHE_S but not older than DASHBOARD_STALE_S is shown at once while a new one
# is worked out in the background for the next read: an admin who reloads does not wait
# the half second or so of the helper's work each time the short cache runs out. Older
# than that, or an admin's own change, waits for a new one.
DASHBOARD_STALE_S = float(os.environ.get("MENTOR_DASHBOARD_STALE_S", "30"))
_CACHE_ENTRIES = 32


@dataclass(frozen=True)
class _Cached:
    at: float  # _clock() when it was worked out
    board: PackedBoard
    apart: bool  # worked out in a helper: a big program's


_cache: OrderedDict[tuple[int, int], _Cached] = OrderedDict()
_cache_lock = threading.Lock()
_computing: dict[tuple[int, int], threading.Lock] = {}
_clock = time.monotonic  # tests move it


def _viewer_key(db: Session, actor: User, program_id: int) -> int:
    """The actor's id if they are a member of one of the program's published pairs, else
    0: every admin outside the pairs sees the same board."""
    viewer = groups.acting_user_id(actor)
    # The viewer's own pairs, found through the person's indexes, the program and status
    # checked here: with the program in the query, SQLite went through the program's index
    # instead, every pair of it (a millisecond of each dashboard load at 5,000 pairs, in
    # a handler thread holding the interpreter against the event loop). A member is in a
    # handful of pairs.
    theirs = db.exec(
        select(Pair.program_id, Pair.status).where(
            (col(Pair.mentor_id) == viewer) | (col(Pair.mentee_id) == viewer)
        )
    ).all()
    partner = any(p == program_id and status in PUBLISHED for p, status in theirs)
    return viewer if partner else 0


def cached_dashboard(
    db: Session, *, actor: User, program_id: int, max_age_s: float = DASHBOARD_CACHE_S
) -> PackedBoard:
    """`get_dashboard`, packed, or the same board worked out at most `max_age_s` ago (a big
    program's: at most DASHBOARD_STALE_S ago, while a new one is on its way). Several
    callers asking at once for a board that is not there wait for one of them to work it
    out."""
    program = programs.admin_program(db, actor=actor, program_id=program_id)  # every time
    key = (program_id, _viewer_key(db, actor, program_id))
    with _cache_lock:
        computing = _computing.setdefault(key, threading.Lock())
        hit = _cache.get(key)
    if hit is not None and max_age_s > 0:
        age = _clock() - hit.at
        if age <= max_age_s:
            return hit.board
        if hit.apart and age <= DASHBOARD_STALE_S:
            if computing.acquire(blocking=False):  # else a new one is already on its way
                _renew_in_background(db, key, computing, program=program, actor=actor)
            return hit.board
    with computing:
        with _cache_lock:
            hit = _cache.get(key)
        if hit is not None and max_age_s > 0 and _clock() - hit.at <= max_age_s:
            return hit.board  # worked out while this caller waited
        apart = _published_pairs(db, program_id) >= APART_FROM_PAIRS
        if apart:
            board = _work_out_apart(db, program=program, actor=actor)
        else:  # a few milliseconds: a helper's round trip would cost more than it saves
            board = pack(_work_out(db, program=program, actor=actor, now=None))
        _keep(key, board, apart=apart)
        return board


def _keep(key: tuple[int, int], board: PackedBoard, *, apart: bool) -> None:
    with _cache_lock:
        _cache[key] = _Cached(_clock(), board, apart)
        _cache.move_to_end(key)
        while len(_cache) > _CACHE_ENTRIES:
            oldest, _ = _cache.popitem(last=False)
            _computing.pop(oldest, None)


def _renew_in_background(
    db: Session,
    key: tuple[int, int],
    computing: threading.Lock,
    *,
    program: Program,
    actor: User,
) -> None:
    """A new board for `key` from a helper, kept for the next read; `computing` (held by
    the caller) is let go when it is there, or when the helper failed (the old board stays
    until it is too old to show, and the read after that waits, and sees the failure)."""
    url, program_id, actor_id = url_of(db), program.id or 0, actor.id or 0

    def renew() -> None:
        try:
            _keep(key, _board_apart(url, program_id, actor_id), apart=True)
        except Exception:
            logger.exception("the dashboard of program %s was not worked out again", program_id)
        finally:
            computing.release()

    threading.Thread(target=renew, name="dashboard-renew", daemon=True).start()


# From this many published pairs, the board is worked out in a helper process.
APART_FROM_PAIRS = 300


def _published_pairs(db: Session, program_id: int) -> int:
    return int(
        db.exec(
            select(func.count())
            .select_from(Pair)
            .where(Pair.program_id == program_id, col(Pair.status).in_(PUBLISHED))
        ).one()
    )


def _work_out_apart(db: Session, *, program: Program, actor: User) -> PackedBoard:
    """`_work_out` now, in a process of its own (mentor_app.apart): in a thread, the CPU-bound
    second of a big program's health held the interpreter every other member's events on
    the worker need. The caller has checked that `actor` is an admin of `program`."""
    return _board_apart(url_of(db), program.id or 0, actor.id or 0)


def _board_apart(database_url: str, program_id: int, actor_id: int) -> PackedBoard:
    return run_apart(board_job, database_url, program_id, actor_id)


def board_job(
    database_url: str, program_id: int, actor_id: int, *, should_continue: Any
) -> PackedBoard:
    """The board as `run_apart` works it out: on a connection of its own process, packed
    there."""
    with read_scope(engine_for(database_url)) as db:  # the helper keeps the engine
        program, actor = db.get(Program, program_id), db.get(User, actor_id)
        if program is None or actor is None:
            raise NotFound(programs.PROGRAM_NOT_FOUND)
        return pack(_work_out(db, program=program, actor=actor, now=None))


def clear_dashboard_cache() -> None:
    with _cache_lock:
        _cache.clear()
        _computing.clear()


# --- export ------------------------------------------------------------------------------


def safe_cell(value: Any) -> str:
    """A cell a spreadsheet shows as text: one that would start a formula gets a `'`."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def export_csv(db: Session, *, actor: User, program_id: int, now: dt.datetime | None = None) -> str:
    """The program's pairs with their status and progress, for a spreadsheet."""
    board = get_dashboard(db, actor=actor, program_id=program_id, now=now)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for p in sorted(board.pairs, key=lambda r: r.pair_id):
        status = "active (paused)" if p.status == "active" and p.paused else p.status
        row: list[Any] = [
            p.pair_id,
            p.mentor_name,
            p.mentee_name,
            status,
            p.start_date.isoformat() if p.start_date else "",
            p.current_week,
            f"{p.steps_done}/{p.steps_total}",
            p.check_ins,
            p.last_activity.date().isoformat() if p.last_activity else "",
            "" if p.score is None else p.score,
            "; ".join(r.text for r in p.reasons),
            p.end_reason,
            p.meetings_held,
            p.goals,
            "" if p.goal_progress is None else p.goal_progress,
        ]
        writer.writerow([safe_cell(cell) for cell in row])
    return out.getvalue()


# --- pausing -----------------------------------------------------------------------------


def set_paused(db: Session, *, actor: User, pair_id: int, paused: bool) -> Pair:
    """Pause (no nudges) or resume an active pair; admins of the program's group only."""
    pair = db.get(Pair, pair_id)
    if pair is None or pair.status == "draft":
        raise NotFound(PAIR_NOT_FOUND)
    programs.admin_program(db, actor=actor, program_id=pair.program_id)
    if pair.status != "active":
        raise Conflict("This pair is over, so it can't be paused or resumed.")
    if pair.paused == bool(paused):
        return pair
    pair.paused = bool(paused)
    db.add(pair)
    db.flush()
    audit.record(
        db,
        actor_id=groups.acting_user_id(actor),
        action="pair_paused" if paused else "pair_resumed",
        target_type="pair",
        target_id=pair.id,
    )
    return pair
