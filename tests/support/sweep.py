"""The confidentiality sweep's parts: a scenario with a canary in every private field, every
event handler the app registers (found by introspection, with plausible arguments made from
its signature), and a snapshot of every table to tell what changed.

Used by tests/adversarial/test_sweep.py; see there for who may see what.
"""

from __future__ import annotations

import datetime as dt
import inspect
import itertools
import typing
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import MetaData, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col
from sqlmodel import select as select_model

from mentor_app.models import (
    EmailOutbox,
    Enrollment,
    LoginThrottle,
    Membership,
    PairSurvey,
    User,
    utcnow,
)
from mentor_app.services import (
    accounts,
    audit,
    chat,
    enrollments,
    goals,
    groups,
    journey,
    meetings,
    moderation,
    notifications,
    pairing,
    programs,
    sessions,
)

PASSWORD = "correct horse battery"
SWEEP_EMAIL_PREFIX = "sweep-"  # accounts a sweeping socket signs up for itself


# --- the scenario ------------------------------------------------------------------------------


@dataclass
class Scenario:
    tag: str
    group_id: int
    program_id: int
    pair_id: int  # the target pair: live chat, check-ins, report
    other_pair_id: int  # a second pair of the same program
    ended_pair_id: int  # an ended pair of the same program (end reason and detail)
    report_id: int
    notification_id: int
    message_ids: list[int]
    mentor: User
    mentee: User
    mentor_enrollment_id: int
    mentee_enrollment_id: int
    question_ids: list[str]
    # The intruders: (name -> user); the signed-out socket has none.
    people: dict[str, User]
    other_group_id: int
    other_program_id: int
    # name -> the secret text; checked case-insensitively (e-mail addresses are lowered).
    canaries: dict[str, str] = field(default_factory=dict)
    meeting_ids: list[int] = field(default_factory=list)  # the target pair's: booked, proposed

    def canary(self, name: str) -> str:
        value = f"CANARY-{name}-{self.tag}"
        self.canaries[name] = value
        return value

    @property
    def chat_canaries(self) -> list[str]:
        return [n for n in self.canaries if n.startswith("message")]


def _person(db: Session, name: str, email: str) -> User:
    user = accounts.sign_up(
        db, email=email, display_name=name, password=PASSWORD, date_of_birth="1990-05-05"
    )
    db.flush()
    return user


def seed(db: Session) -> Scenario:
    """The target pair and its program, with a canary in every free-text private column of
    mentor_app/models.py; and the intruders. Through the services where there is one."""
    tag = uuid.uuid4().hex[:8]
    # The members' e-mail addresses are private too: canaries of their own (lower case, as
    # sign-up normalises them).
    mentor_email = f"canary-email_mentor-{tag}@example.org"
    mentee_email = f"canary-email_mentee-{tag}@example.org"
    admin = _person(db, f"Admin {tag}", f"a-{tag}@example.org")
    group = groups.create_group(
        db, actor=admin, name=f"Sweep circle {tag}", description="", category="professional"
    )
    program = programs.start_program(
        db, actor=admin, group_id=group.id or 0, template_key="career_advancement"
    )
    programs.save_details(
        db, actor=admin, program_id=program.id or 0, title=f"Sweep program {tag}",
        description=program.description, start_date=dt.date.today().isoformat(),
        length_weeks=program.length_weeks, mentor_capacity_max=3,
    )  # fmt: skip
    programs.publish(db, actor=admin, program_id=program.id or 0)
    mentor = _person(db, f"Mentor {tag}", mentor_email)
    mentee = _person(db, f"Mentee {tag}", mentee_email)
    mentor2 = _person(db, f"Mentor two {tag}", f"m2-{tag}@example.org")
    mentee2 = _person(db, f"Mentee two {tag}", f"e2-{tag}@example.org")
    mentee3 = _person(db, f"Mentee three {tag}", f"e3-{tag}@example.org")
    for user in (mentor, mentee, mentor2, mentee2, mentee3):
        db.add(Membership(group_id=group.id or 0, user_id=user.id or 0))
    db.flush()

    def apply(user: User, role: str, capacity: int | None = None) -> Enrollment:
        return enrollments.apply(
            db, actor=user, program_id=program.id or 0, role=role,
            answers=_answers(program.questions, role), capacity=capacity,
        )  # fmt: skip

    mentor_enr, mentor2_enr = apply(mentor, "mentor", 2), apply(mentor2, "mentor", 1)
    mentee_enr, mentee2_enr, mentee3_enr = (apply(u, "mentee") for u in (mentee, mentee2, mentee3))
    made = [
        pairing.pair_by_hand(
            db,
            actor=admin,
            program_id=program.id or 0,
            mentee_enrollment_id=e.id or 0,
            mentor_enrollment_id=m.id or 0,
        )
        for e, m in (
            (mentee_enr, mentor_enr),
            (mentee2_enr, mentor2_enr),
            (mentee3_enr, mentor_enr),
        )
    ]
    pairing.publish_pairs(db, actor=admin, program_id=program.id or 0)
    target, other, ended = made
    target.start_date = dt.date.today() - dt.timedelta(days=9)  # week 2: check-ins, fit check
    db.add(target)
    db.flush()
    pair_id = target.id or 0

    scenario = Scenario(
        tag=tag, group_id=group.id or 0, program_id=program.id or 0, pair_id=pair_id,
        other_pair_id=other.id or 0, ended_pair_id=ended.id or 0, report_id=0,
        notification_id=0, message_ids=[], mentor=mentor, mentee=mentee,
        mentor_enrollment_id=mentor_enr.id or 0, mentee_enrollment_id=mentee_enr.id or 0,
        question_ids=[str(q["id"]) for q in program.questions], people={},
        other_group_id=0, other_program_id=0,
    )  # fmt: skip
    scenario.canaries["email_mentor"] = mentor_email
    scenario.canaries["email_mentee"] = mentee_email
    # Hashes are secrets even without a canary in them.
    scenario.canaries["password_hash_mentor"] = mentor.password_hash
    scenario.canaries["password_hash_mentee"] = mentee.password_hash

    # Sign-up answers, sharing off: written directly (a canary is no valid choice option).
    for enrollment, who in ((mentor_enr, "mentor"), (mentee_enr, "mentee")):
        secret = scenario.canary(f"answers_{who}")
        enrollment.answers = {
            str(q["id"]): ([secret] if q["type"] == "multiple_choice" else secret)
            for q in program.questions
            if q["role"] == who
        }
        enrollment.share_answers = False
        db.add(enrollment)
    db.flush()

    # The chat, check-in notes, the fit check, a report with its frozen evidence.
    for i, sender in enumerate((mentor, mentee, mentor)):
        sent = chat.send_message(
            db, actor=sender, pair_id=pair_id, body=scenario.canary(f"message{i}"), client_id=None
        )
        scenario.message_ids.append(sent.id or 0)
    for who, user in (("mentor", mentor), ("mentee", mentee)):
        journey.save_check_in(
            db, actor=user, pair_id=pair_id, mood="4", met="yes",
            note=scenario.canary(f"checkin_note_{who}"),
        )  # fmt: skip
    # FitCheck.answer is one of good | deciding | not_good in 16 characters: no canary fits;
    # the row is made so the sweep runs with one there.
    journey.answer_fit_check(db, actor=mentee, pair_id=pair_id, answer="deciding")
    report = chat.report(
        db, actor=mentee, pair_id=pair_id, category="other",
        message_ids=[scenario.message_ids[0]],  # message0 is frozen into the evidence
        details=scenario.canary("report_details"),
    )  # fmt: skip
    scenario.report_id = report.id or 0
    moderator = _person(db, f"Moderator {tag}", f"mod-{tag}@example.org")
    moderator.is_site_moderator = True
    db.add(moderator)
    db.flush()
    moderation.take_into_review(
        db, actor=moderator, report_id=scenario.report_id,
        reason=scenario.canary("moderation_reason"),
    )  # fmt: skip

    # An ended pair: its reason and detail. end_rating is a number 1..5: no canary fits.
    journey.end_pair(
        db, actor=mentee3, pair_id=ended.id or 0, reason="other", rating="2",
        detail=scenario.canary("end_detail"),
    )  # fmt: skip
    ended.end_reason = scenario.canary("end_reason")  # 26 characters of its 32, written directly
    db.add(ended)
    # The closing survey's takeaway (rating: a number, no canary). Written directly: the
    # service takes surveys only after the last week, and this pair is in week 2.
    db.add(
        PairSurvey(
            pair_id=pair_id, user_id=mentee.id or 0, rating=4,
            takeaway=scenario.canary("survey_takeaway"),
        )
    )  # fmt: skip
    # The mentee's goals: their text (and a target date: no canary fits), a progress note
    # of each member and a mentor's comment.
    goal = goals.add_goal(
        db, actor=mentee, pair_id=pair_id, text=scenario.canary("goal_text"),
        target_date=(dt.date.today() + dt.timedelta(days=30)).isoformat(),
    )  # fmt: skip
    for who, user in (("mentor", mentor), ("mentee", mentee)):
        goals.mark_progress(
            db, actor=user, pair_id=pair_id, goal_id=goal.id, progress=40,
            note=scenario.canary(f"goal_note_{who}"),
        )  # fmt: skip
    goals.comment(
        db, actor=mentor, pair_id=pair_id, goal_id=goal.id, note=scenario.canary("goal_comment")
    )
    # A notification of the mentee's, and an e-mail of the mentor's (already sent, so the
    # outbox's sender leaves it alone).
    note = notifications.notify(
        db, user_id=mentee.id or 0, kind="sweep_canary", text=scenario.canary("notification"),
        link=f"/pairs/{pair_id}",
    )  # fmt: skip
    scenario.notification_id = note.id or 0
    db.add(
        EmailOutbox(
            to_address=mentor_email, subject=scenario.canary("outbox_subject"),
            body=scenario.canary("outbox_body"), status="sent", sent_at=utcnow(),
        )
    )  # fmt: skip
    # A booked weekly meeting and an open proposal, each with a video link (https, so the
    # canary is its path); their invite e-mails marked sent, as the mentor's e-mail above.
    soon = (utcnow() + dt.timedelta(days=2)).strftime("%Y-%m-%dT10:00")
    later = (utcnow() + dt.timedelta(days=3)).strftime("%Y-%m-%dT10:00")
    booked = meetings.propose(
        db, actor=mentor, pair_id=pair_id, times=[soon], weekly=True,
        video_link="https://meet.example.com/" + scenario.canary("video_link_booked"),
    )  # fmt: skip
    meetings.accept(db, actor=mentee, meeting_id=booked.id, option=0)
    proposed = meetings.propose(
        db, actor=mentee, pair_id=pair_id, times=[later],
        video_link="https://meet.example.com/" + scenario.canary("video_link_proposed"),
    )  # fmt: skip
    scenario.meeting_ids = [booked.id or 0, proposed.id or 0]
    for invite in db.exec(select_model(EmailOutbox).where(col(EmailOutbox.ics) != "")).all():
        invite.status, invite.sent_at = "sent", utcnow()
        db.add(invite)
    throttled = f"canary-throttle_email-{tag}@example.org"
    scenario.canaries["throttle_email"] = throttled
    db.add(LoginThrottle(email=throttled, failure_count=1, last_failure_at=utcnow()))
    audit.record(
        db, actor_id=admin.id, action="sweep_canary", target_type="pair", target_id=pair_id,
        detail=scenario.canary("audit_detail"),
    )  # fmt: skip
    # Not canaried: User.date_of_birth (a date), Block / ReportedMessage / Nudge /
    # StepCompletion (ids and times only), Pair.factors (made from choice answers, shown
    # to admins as match reasons), Program and Group texts (shown to members), Meeting's
    # times, zone and uid (no free text), MeetingReminder (ids and times only).

    loner = _person(db, f"Loner {tag}", f"l-{tag}@example.org")
    other_admin = _person(db, f"Other admin {tag}", f"oa-{tag}@example.org")
    other_group = groups.create_group(
        db, actor=other_admin, name=f"Other circle {tag}", description="", category="professional"
    )
    other_program = programs.start_program(
        db, actor=other_admin, group_id=other_group.id or 0, template_key="skills_development"
    )
    scenario.other_group_id, scenario.other_program_id = other_group.id or 0, other_program.id or 0
    scenario.people = {
        "loner": loner,
        "other_pair": mentee2,
        "group_admin": admin,
        "other_admin": other_admin,
        "moderator": moderator,
    }
    db.commit()
    return scenario


def _answers(questions: list[dict[str, Any]], role: str) -> dict[str, str | list[str]]:
    answers: dict[str, str | list[str]] = {}
    for q in questions:
        if q["role"] != role:
            continue
        if q["type"] == "single_choice":
            answers[q["id"]] = q["options"][0]
        elif q["type"] == "multiple_choice":
            answers[q["id"]] = q["options"][:1]
        else:
            answers[q["id"]] = "placeholder"
    return answers


def new_session(db: Session, user: User) -> str:
    token = sessions.create_session(db, user=user)
    db.commit()
    return token


# --- every handler ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Handler:
    state: type
    name: str

    @property
    def event(self) -> str:
        return f"{self.state.get_full_name()}.{self.name}"  # type: ignore[attr-defined]

    @property
    def label(self) -> str:
        return f"{self.state.__name__}.{self.name}"


def every_handler() -> list[Handler]:
    """Every event handler of every state class the app registers, Reflex's own included:
    `reflex.state.State` and its substates, recursively."""
    from reflex.state import State

    import mentor_app.mentor_app  # noqa: F401  (registers the app's states)

    def walk(cls: Any) -> Iterator[Any]:
        yield cls
        for sub in sorted(cls.get_substates(), key=lambda c: c.get_full_name()):
            yield from walk(sub)

    return [Handler(cls, name) for cls in walk(State) for name in sorted(cls.event_handlers)]


_nonce = itertools.count(1)


class Arguments:
    """Plausible arguments for a handler, from its parameters' names and types: ids of the
    scenario for ints, a form with every field the app's forms use for dicts."""

    def __init__(self, scenario: Scenario) -> None:
        s = scenario
        self.s = s
        self.ints = {
            "pair_id": s.pair_id,
            "report_id": s.report_id,
            "notification_id": s.notification_id,
            "user_id": s.mentee.id or 0,
            "blocked_id": s.mentor.id or 0,
            "enrollment_id": s.mentee_enrollment_id,
            "mentor_enrollment_id": s.mentor_enrollment_id,
            "week": 1,
            "index": 0,
            "delta": 1,
            "then_step": 3,
            "step": 2,
        }
        self.strings = {
            "name": "UTC",  # set_timezone's and the display names select_mentee/lift show
            "role": "mentee",
            "template_key": "career_advancement",
            "status": "open",
            "answer": "deciding",
            "key": "text",
            "info": "sweep",
            "component_stack": "",
            "value": str(s.pair_id),
            "meeting_id": str(s.meeting_ids[0]) if s.meeting_ids else "1",
            "option": "0",
        }

    def form(self) -> dict[str, Any]:
        n = next(_nonce)
        s = self.s
        soon = (utcnow() + dt.timedelta(days=2)).strftime("%Y-%m-%dT11:00")
        form: dict[str, Any] = {
            # chat, check-in, report, ending, survey
            "body": "sweep message", "client_id": f"sweep{n:06d}{s.tag}",
            "mood": "4", "met": "yes", "note": "sweep note",
            "category": "other", "details": "sweep details",
            "reason": "other", "detail": "sweep detail", "rating": "3", "takeaway": "sweep",
            # pairing workspace
            "pair_id": str(s.pair_id), "mentor": str(s.mentor_enrollment_id), "min_score": "0",
            # wizard, group, application
            "title": "Sweep", "description": "sweep", "start_date": dt.date.today().isoformat(),
            "length_weeks": "6", "mentor_capacity_max": "2", "name": f"Sweep circle {n} {s.tag}",
            "capacity": "1", "share_answers": "on",
            # sign-up and log-in: an account of the sweeping socket's own
            "email": f"{SWEEP_EMAIL_PREFIX}{n}-{s.tag}@example.org", "password": PASSWORD,
            "display_name": "Sweep", "date_of_birth": "1990-01-01",
            # meetings: propose, reschedule
            "time1": soon, "time": soon, "duration": "60", "weekly": "yes",
            "video_link": "https://meet.example.com/sweep",
            "meeting_id": str(s.meeting_ids[0]) if s.meeting_ids else "1",
        }  # fmt: skip
        form.update({f"m-{i}": "on" for i in s.message_ids})  # tick every message to report
        form.update({f"a-{q}": "sweep answer" for q in s.question_ids})
        return form

    def for_handler(self, handler: Handler) -> dict[str, Any]:
        fn = handler.state.event_handlers[handler.name].fn  # type: ignore[attr-defined]
        try:
            hints = typing.get_type_hints(fn)
        except Exception:
            hints = {}
        params = list(inspect.signature(fn).parameters)[1:]
        if handler.name == "setvar":
            return self._setvar(handler.state)
        return {p: self._value(p, hints.get(p, Any)) for p in params}

    def _value(self, name: str, hint: Any) -> Any:
        base = typing.get_origin(hint) or hint
        if name in ("vars", "hashes"):  # Reflex's client-storage payloads
            return {} if name == "vars" else None
        if base is dict or name == "form":
            return self.form()
        if hint is bool or name in ("paused",):
            return True
        if name in self.ints:
            return self.ints[name]
        if name in self.strings:
            return self.strings[name]
        if hint is int:
            return self.s.pair_id
        return str(self.s.pair_id)

    def _setvar(self, state: Any) -> dict[str, Any]:
        """One of the state's own fields, set to its default (the root's `is_hydrated`
        for states that declare none)."""
        own = [
            name
            for name, f in state.__fields__.items()
            if getattr(f, "_owner", state) is state and not name.startswith(("_", "router", "rx_"))
        ]
        if not own:
            return {"var_name": "is_hydrated", "value": True}
        name = own[0]
        default = state.__fields__[name].default_value()
        return {"var_name": name, "value": default}


# --- every table --------------------------------------------------------------------------------


Snapshot = dict[str, dict[tuple[Any, ...], dict[str, Any]]]


def snapshot(engine: Engine) -> Snapshot:
    """Every row of every table, by primary key (all columns when there is none)."""
    meta = MetaData()
    meta.reflect(engine)
    found: Snapshot = {}
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            keys = [c.name for c in table.primary_key.columns] or [c.name for c in table.columns]
            rows = {}
            for row in conn.execute(select(table)).mappings():
                values = dict(row)
                rows[tuple(values[k] for k in keys)] = values
            found[table.name] = rows
        conn.rollback()
    return found


@dataclass
class Change:
    table: str
    key: tuple[Any, ...]
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    def columns(self) -> set[str]:
        if self.before is None or self.after is None:
            return set((self.before or self.after or {}).keys())
        return {k for k in self.after if self.after.get(k) != self.before.get(k)}

    def __str__(self) -> str:
        if self.before is None:
            return f"{self.table} {self.key}: inserted {self.after}"
        if self.after is None:
            return f"{self.table} {self.key}: deleted {self.before}"
        diff = {k: (self.before.get(k), self.after.get(k)) for k in sorted(self.columns())}
        return f"{self.table} {self.key}: changed {diff}"


def changes(before: Snapshot, after: Snapshot) -> list[Change]:
    found = []
    for table in sorted(set(before) | set(after)):
        old, new = before.get(table, {}), after.get(table, {})
        for key in sorted(set(old) | set(new), key=repr):
            if old.get(key) != new.get(key):
                found.append(Change(table, key, old.get(key), new.get(key)))
    return found
