"""The demo's running program: in its third week, with a pair in each state an admin, a
member and a moderator should see on their first visit (see the README's demo table).

Every row goes through the service that makes it in the app, so its rules hold (ages,
capacity, eligible category, who may write what). A service writes "now"; where the story
needs an earlier date (a message sent a week ago, a pair published before the start), the
service is given that moment when it takes one, and otherwise the date is moved back on
the row afterwards. The weekly nudge job and the away-notice job then run once, as the
scheduler would, so the members' notifications are the app's own.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, func, select

from mentor_app.models import (
    Enrollment,
    FitCheck,
    Goal,
    GoalUpdate,
    Group,
    Meeting,
    Message,
    Notification,
    Pair,
    Program,
    StepCompletion,
    User,
    utcnow,
)
from mentor_app.services import (
    chat,
    enrollments,
    goals,
    groups,
    journey,
    meetings,
    nudges,
    pairing,
    presence,
    programs,
)

STORY_PROGRAM = "Skills with a mentor (demo)"
STORY_GROUP = "Grow Every Day"
START_DAYS_AGO = 18  # day 5 of week 3: the week's nudge day has come, the week is not over

# The people of the story (e-mail, name, date of birth), mentor first in each pair.
HEALTHY = (
    ("grace.mentor@example.org", "Grace Liu", dt.date(1981, 4, 12)),
    ("noah.mentee@example.org", "Noah Brooks", dt.date(1998, 10, 3)),
)
ONE_SIDED = (
    ("ravi.mentor@example.org", "Ravi Shah", dt.date(1977, 8, 28)),
    ("elena.mentee@example.org", "Elena Petrova", dt.date(2000, 12, 19)),
)
NOT_A_GOOD_FIT = (
    ("kofi.mentor@example.org", "Kofi Mensah", dt.date(1988, 1, 7)),
    ("julia.mentee@example.org", "Julia Weber", dt.date(1996, 6, 24)),
)
ENDED = (
    ("ben.mentor@example.org", "Ben Carter", dt.date(1983, 3, 5)),
    ("aisha.mentee@example.org", "Aisha Khan", dt.date(2002, 7, 16)),
)
STORY_PAIRS = (HEALTHY, ONE_SIDED, NOT_A_GOOD_FIT, ENDED)
# Grace takes two mentees, so the waiting mentee can be rematched with her at once.
CAPACITY = {"Grace Liu": 2}

# What the members asked for and offer (skills_development's matched questions).
SKILLS = {
    "Grace Liu": ["Public speaking and presenting", "Writing and editing"],
    "Noah Brooks": ["Public speaking and presenting"],
    "Ravi Shah": ["Spreadsheets and data", "Budgeting and personal finance"],
    "Elena Petrova": ["Spreadsheets and data"],
    "Kofi Mensah": ["Programming", "Project management"],
    "Julia Weber": ["Programming"],
    "Ben Carter": ["Photography and video", "Design"],
    "Aisha Khan": ["Photography and video"],
}

# (day of the journey, hour UTC, sender, text); day 0 is the start date.
HEALTHY_CHAT = [
    (0, 18, "Grace Liu", "Hi Noah! Welcome. What talk are you working towards?"),
    (0, 20, "Noah Brooks", "Hi Grace! A 10-minute talk at our team meeting in six weeks."),
    (1, 8, "Grace Liu", "Great goal. Let's meet Thursday on video and pick a topic."),
    (3, 19, "Noah Brooks", "Thanks for today. I chose 'what I learnt moving teams'."),
    (8, 18, "Grace Liu", "Your outline reads well. Try opening with the story, not the agenda."),
    (9, 7, "Noah Brooks", "Done: the story opening works much better out loud."),
    (15, 19, "Grace Liu", "This week is practice and feedback: record yourself once?"),
    (16, 21, "Noah Brooks", "Recorded it! 11 minutes, so I need to cut a slide or two."),
    (17, 18, "Grace Liu", "Send me the recording when you're ready and I'll time each part."),
]
ONE_SIDED_CHAT = [
    (0, 17, "Ravi Shah", "Hello Elena, I'm Ravi. Which spreadsheet do you want to tame first?"),
    (1, 20, "Elena Petrova", "Hi Ravi! Our club's budget: it lives in three files right now."),
    (2, 9, "Ravi Shah", "Classic. Could you share the column headings of each?"),
    (4, 19, "Elena Petrova", "Here they are: date, item, amount, who paid. Mostly."),
    # Elena's last word, twelve days before the seed runs: see `_one_sided_silence`.
    (9, 19, "Ravi Shah", "Elena, how did merging the files go? Happy to do it together."),
    (13, 8, "Ravi Shah", "No rush, just checking in. Week 3 is about practice: any questions?"),
    (17, 9, "Ravi Shah", "Hi Elena, are you still up for this? A short reply is fine."),
]
ELENA_LAST_WORD = "Thanks! I'll try the lookup formula this weekend and tell you how it goes."
NOT_A_GOOD_FIT_CHAT = [
    (0, 19, "Kofi Mensah", "Hi Julia. I'll get you writing Python properly, no shortcuts."),
    (1, 18, "Julia Weber", "Hi Kofi, thanks. I'd like to start with small scripts for my job."),
    (3, 22, "Kofi Mensah", "Let's move this to WhatsApp. Send me your personal number."),
    (4, 9, "Julia Weber", "I'd rather keep to the chat here, if that's OK."),
    (
        7,
        23,
        "Kofi Mensah",
        "Why didn't you answer last night? I expect replies the same evening, "
        "otherwise this is a waste of my time.",
    ),
    (8, 12, "Julia Weber", "I work late some days. I'll answer when I can."),
]
# Noah's goals: (text, progress %, his note, the day he marked it).
NOAH_GOALS = [
    ("Give a 10-minute talk at my team's meeting", 40, "Outline done, recorded a first run.", 16),
    ("Practise out loud twice a week", 60, "Four sessions so far.", 10),
]
# Kofi's two messages Julia reports (their texts, from NOT_A_GOOD_FIT_CHAT).
REPORTED = [NOT_A_GOOD_FIT_CHAT[2][3], NOT_A_GOOD_FIT_CHAT[4][3]]
REPORT_DETAILS = (
    "He keeps pushing me to leave the app's chat and give him my personal number, and he "
    "is angry when I don't answer at night."
)
ENDED_CHAT = [
    (0, 18, "Ben Carter", "Hi Aisha! Ready to take better photos of your pottery?"),
    (1, 9, "Aisha Khan", "Yes! My shop pictures look flat. I only have a phone camera."),
    (3, 20, "Ben Carter", "A phone is plenty. Try a window on the left and a white card."),
    (8, 17, "Aisha Khan", "The window trick worked, look at the glaze now!"),
    (
        13,
        19,
        "Ben Carter",
        "Aisha, I'm sorry: my new job has me travelling every week, and I can't give you "
        "the time you deserve. I'm asking the admins to find you a new mentor.",
    ),
]
ENDED_ON_DAY = 14

# Check-ins: (pair's people, week, name, mood, met, note, day, hour).
CHECK_INS = [
    (HEALTHY, 1, "Grace Liu", 5, True, "Noah knows what he wants: a clear goal.", 3, 20),
    (HEALTHY, 1, "Noah Brooks", 4, True, "Good first call. Topic chosen.", 4, 8),
    (HEALTHY, 2, "Grace Liu", 4, True, "Outline done, opening reworked.", 9, 19),
    (HEALTHY, 2, "Noah Brooks", 5, True, "The story opening is a big improvement.", 10, 8),
    (NOT_A_GOOD_FIT, 1, "Kofi Mensah", 4, True, "Good start.", 4, 21),
    (NOT_A_GOOD_FIT, 1, "Julia Weber", 3, True, "We met once.", 5, 9),
    (NOT_A_GOOD_FIT, 2, "Julia Weber", 2, False, "", 9, 20),
    (NOT_A_GOOD_FIT, 2, "Kofi Mensah", 3, False, "Julia is hard to reach.", 11, 22),
    (ENDED, 1, "Ben Carter", 5, True, "", 4, 19),
    (ENDED, 1, "Aisha Khan", 5, True, "Lots of practical tips.", 5, 10),
    (ENDED, 2, "Aisha Khan", 4, False, "", 10, 9),
]
# Steps marked done: (pair's people, week, name, day, hour).
STEPS = [
    (HEALTHY, 1, "Noah Brooks", 3, 21),
    (HEALTHY, 1, "Grace Liu", 4, 7),
    (HEALTHY, 2, "Noah Brooks", 9, 8),
    (HEALTHY, 2, "Grace Liu", 10, 19),
    (NOT_A_GOOD_FIT, 1, "Julia Weber", 5, 9),
    (NOT_A_GOOD_FIT, 1, "Kofi Mensah", 6, 12),
    (ENDED, 1, "Aisha Khan", 5, 10),
    (ENDED, 1, "Ben Carter", 6, 8),
]
# The fit check, asked from week 2: (pair's people, name, answer, day, hour).
FIT_CHECKS = [
    (HEALTHY, "Noah Brooks", "good", 7, 19),
    (HEALTHY, "Grace Liu", "good", 8, 9),
    (NOT_A_GOOD_FIT, "Kofi Mensah", "good", 7, 22),
    (NOT_A_GOOD_FIT, "Julia Weber", "not_good", 9, 21),
]


@dataclass
class _Clock:
    """The story's dates, relative to the moment the seed runs."""

    now: dt.datetime
    start: dt.date = field(init=False)

    def __post_init__(self) -> None:
        self.start = self.now.astimezone(dt.UTC).date() - dt.timedelta(days=START_DAYS_AGO)

    def at(self, day: int, hour: int, minute: int = 0) -> dt.datetime:
        """`hour`:`minute` UTC on journey day `day` (0 is the start date; negative before)."""
        date = self.start + dt.timedelta(days=day)
        return dt.datetime.combine(date, dt.time(hour, minute), tzinfo=dt.UTC)


def story_exists(db: Session) -> bool:
    return db.exec(select(Program.id).where(Program.title == STORY_PROGRAM)).first() is not None


def seed_story(
    db: Session, *, admin: User, people: dict[str, User], now: dt.datetime | None = None
) -> None:
    """The running program, once: nothing when it exists already. `people` maps the story's
    display names to their accounts (made by the seed); `now` is when the seed runs."""
    if story_exists(db):
        return
    clock = _Clock(now or utcnow())
    group = db.exec(select(Group).where(Group.name == STORY_GROUP)).one()
    assert group.id is not None
    for user in people.values():
        _join(db, user=user, group_id=group.id, at=clock.at(-12, 10))
    program = _program(db, admin=admin, group_id=group.id, clock=clock)
    assert program.id is not None
    pairs = _pairs(db, admin=admin, program=program, people=people, clock=clock)
    programs.advance_status(db, actor=admin, program_id=program.id, expected_status="open")

    for cast, chat_lines in (
        (HEALTHY, HEALTHY_CHAT),
        (ONE_SIDED, ONE_SIDED_CHAT),
        (NOT_A_GOOD_FIT, NOT_A_GOOD_FIT_CHAT),
        (ENDED, ENDED_CHAT),
    ):
        lines = [(clock.at(day, hour), name, text) for day, hour, name, text in chat_lines]
        if cast is ONE_SIDED:
            lines.append((_one_sided_silence(clock), "Elena Petrova", ELENA_LAST_WORD))
        _chat(db, pair=pairs[cast], people=people, lines=sorted(lines, key=lambda line: line[0]))
    for cast, week, name, mood, met, note, day, hour in CHECK_INS:
        _check_in(db, pair=pairs[cast], user=people[name], week=week, at=clock.at(day, hour),
                  mood=mood, met=met, note=note)  # fmt: skip
    for cast, week, name, day, hour in STEPS:
        _step(db, pair=pairs[cast], user=people[name], week=week, at=clock.at(day, hour))
    for cast, name, answer, day, hour in FIT_CHECKS:
        _fit_check(db, pair=pairs[cast], user=people[name], answer=answer, at=clock.at(day, hour))
    # Grace and Noah meet every week (booked on day 1 for day 3, 17:00 UTC); Kofi and Julia
    # met once, on day 5. Noah's goals, with a mark and a comment each.
    _meeting(db, pair=pairs[HEALTHY], proposer=people["Grace Liu"], at=clock.at(3, 17),
             booked=clock.at(1, 19), weekly=True)  # fmt: skip
    _meeting(db, pair=pairs[NOT_A_GOOD_FIT], proposer=people["Kofi Mensah"],
             at=clock.at(5, 18), booked=clock.at(2, 9), weekly=False)  # fmt: skip
    for text, progress, note, day in NOAH_GOALS:
        _goal(db, pair=pairs[HEALTHY], mentee=people["Noah Brooks"], text=text,
              progress=progress, note=note, at=clock.at(day, 20))  # fmt: skip
    _report(db, pair=pairs[NOT_A_GOOD_FIT], reporter=people["Julia Weber"],
            at=clock.at(9, 21, 30))  # fmt: skip
    _end(db, pair=pairs[ENDED], mentor=people["Ben Carter"], at=clock.at(ENDED_ON_DAY, 19, 30))

    # What the scheduler's jobs would have made by now: this week's nudges, the one-sided
    # nudge, and "sent you a message" for messages waiting unread.
    nudges.run_nudges(db, now=clock.now)
    presence.notify_away_members(db, now=clock.now)
    db.flush()


def _meeting(
    db: Session,
    *,
    pair: Pair,
    proposer: User,
    at: dt.datetime,
    booked: dt.datetime,
    weekly: bool,
) -> None:
    """A meeting booked in the past (the service takes only times to come)."""
    db.add(
        Meeting(
            pair_id=pair.id or 0,
            uid=f"demo-{pair.id}-{int(at.timestamp())}@mentor-circles",
            status="confirmed",
            proposed_by=proposer.id,
            options=[at.isoformat()],
            starts_at=at,
            duration_minutes=45,
            weekly=weekly,
            repeat_until=meetings.journey_last_day(db, pair) if weekly else None,
            timezone=proposer.timezone,
            created_at=booked,
            updated_at=booked,
        )
    )


def _goal(
    db: Session, *, pair: Pair, mentee: User, text: str, progress: int, note: str, at: dt.datetime
) -> None:
    goal: Goal = goals.add_goal(db, actor=mentee, pair_id=pair.id or 0, text=text)
    goal.created_at = at - dt.timedelta(days=7)
    mark: GoalUpdate = goals.mark_progress(
        db, actor=mentee, pair_id=pair.id or 0, goal_id=goal.id, progress=progress, note=note
    )
    goal.updated_at = mark.created_at = at
    db.add_all([goal, mark])


def _one_sided_silence(clock: _Clock) -> dt.datetime:
    """Elena's last message: twelve days (and two hours) before the seed runs."""
    return clock.now - dt.timedelta(days=12, hours=2)


# --- the program and its pairs -------------------------------------------------------------


def _join(db: Session, *, user: User, group_id: int, at: dt.datetime) -> None:
    joined = groups.membership_of(db, group_id=group_id, user_id=user.id or 0)
    if joined is None:
        joined = groups.join_group(db, actor=user, group_id=group_id)
    joined.joined_at = at
    db.add(joined)


def _program(db: Session, *, admin: User, group_id: int, clock: _Clock) -> Program:
    """Built and published ten days before its start, as an admin would in the wizard."""
    published = clock.at(-10, 9)
    program = programs.start_program(
        db, actor=admin, group_id=group_id, template_key="skills_development"
    )
    assert program.id is not None
    programs.save_details(
        db,
        actor=admin,
        program_id=program.id,
        title=STORY_PROGRAM,
        description=(
            "Six weeks with a mentor to learn one practical skill: a plan, practice, "
            "feedback and a small piece of work to show at the end."
        ),
        start_date=clock.start,
        length_weeks=program.length_weeks,
        mentor_capacity_max=2,
        today=published.date(),
    )
    programs.publish(db, actor=admin, program_id=program.id, today=published.date())
    program.created_at, program.published_at = clock.at(-11, 16), published
    db.add(program)
    return program


def _answers(program: Program, role: str, name: str) -> dict[str, str | list[str]]:
    answers: dict[str, str | list[str]] = {}
    for question in programs.questions_for(program, role):
        options, key = question["options"], question.get("match_key")
        if key == "areas":
            answers[question["id"]] = SKILLS[name]
        elif key == "experience":
            answers[question["id"]] = options[3 if role == "mentor" else 1]
        elif key == "languages":
            answers[question["id"]] = ["English"]
        elif key == "timezone":
            answers[question["id"]] = "Europe/Africa"
        elif question["type"] == "multiple_choice":
            answers[question["id"]] = ["Video call", "Chat"]
        elif question["type"] == "single_choice":
            answers[question["id"]] = options[0]
        else:
            answers[question["id"]] = (
                "I learnt this the slow way and would like to make it quicker for someone."
                if role == "mentor"
                else "To get confident with one skill I keep putting off."
            )
    return answers


def _pairs(
    db: Session, *, admin: User, program: Program, people: dict[str, User], clock: _Clock
) -> dict[tuple[Any, ...], Pair]:
    """Everyone applies in the week after publishing; the admin pairs them by hand and
    publishes two days before the start, so every journey starts on the start date."""
    assert program.id is not None
    applied: dict[str, Enrollment] = {}
    for n, cast in enumerate(STORY_PAIRS):
        for role, (_email, name, _dob) in zip(("mentor", "mentee"), cast, strict=True):
            at = clock.at(-9 + n, 12 if role == "mentor" else 18)
            enrollment = enrollments.apply(
                db,
                actor=people[name],
                program_id=program.id,
                role=role,
                answers=_answers(program, role, name),
                capacity=CAPACITY.get(name, 1) if role == "mentor" else None,
                today=at.date(),
            )
            enrollment.created_at = enrollment.updated_at = at
            db.add(enrollment)
            applied[name] = enrollment
    made: dict[tuple[Any, ...], Pair] = {}
    for cast in STORY_PAIRS:
        mentor, mentee = (applied[name] for _email, name, _dob in cast)
        made[cast] = pairing.pair_by_hand(
            db,
            actor=admin,
            program_id=program.id,
            mentee_enrollment_id=mentee.id or 0,
            mentor_enrollment_id=mentor.id or 0,
            today=clock.at(-3, 10).date(),
        )
    published = clock.at(-2, 12)
    before = _last_notice_id(db)
    pairing.publish_pairs(db, actor=admin, program_id=program.id, now=published)
    for pair in made.values():
        assert pair.start_date == clock.start, "the pairs start with the program"
        pair.created_at, pair.published_at = clock.at(-3, 10), published
        db.add(pair)
    # Being paired was news three weeks ago: read since.
    _backdate_notices(db, after_id=before, kind="paired", at=published, read_at=clock.at(-2, 19))
    return made


def _member_ids(pairs: Any) -> list[int]:
    return sorted({who for pair in pairs for who in (pair.mentor_id, pair.mentee_id)})


def _last_notice_id(db: Session) -> int:
    return int(db.exec(select(func.max(Notification.id))).one() or 0)


def _backdate_notices(
    db: Session,
    *,
    after_id: int,
    kind: str,
    at: dt.datetime,
    read_at: dt.datetime | None = None,
) -> None:
    """The notices of `kind` the story made since `after_id`, dated when they happened."""
    made = db.exec(
        select(Notification).where(Notification.kind == kind, col(Notification.id) > after_id)
    ).all()
    assert made, f"the story expected a {kind} notice"
    for notice in made:
        notice.created_at, notice.read_at = at, read_at
        db.add(notice)
    db.flush()


# --- what the pairs did ----------------------------------------------------------------------


def _chat(
    db: Session,
    *,
    pair: Pair,
    people: dict[str, User],
    lines: Sequence[tuple[dt.datetime, str, str]],
) -> None:
    """Each message through the chat service at its own moment; writing is reading, as
    when it is sent from the page."""
    numbers = itertools.count(1)
    marks = []
    for at, name, text in lines:
        sender = people[name]
        message = chat.send_message(
            db,
            actor=sender,
            pair_id=pair.id or 0,
            body=text,
            client_id=f"demo-{pair.id}-{next(numbers):03d}",
            now=at,
        )
        marks.append(
            presence.SendMark(pair.id or 0, sender.id or 0, frozenset(), message.created_at)
        )
    presence.after_sends(db, marks=marks)


def _check_in(
    db: Session,
    *,
    pair: Pair,
    user: User,
    week: int,
    at: dt.datetime,
    mood: int,
    met: bool,
    note: str,
) -> None:
    check_in = journey.save_check_in(
        db, actor=user, pair_id=pair.id or 0, mood=mood, met=met, note=note, now=at
    )
    assert check_in.week == week, (user.display_name, week, check_in.week)
    check_in.created_at = check_in.updated_at = at
    db.add(check_in)


def _step(db: Session, *, pair: Pair, user: User, week: int, at: dt.datetime) -> None:
    done: StepCompletion = journey.mark_step_done(db, actor=user, pair_id=pair.id or 0, week=week)
    done.done_at = at
    db.add(done)


def _fit_check(db: Session, *, pair: Pair, user: User, answer: str, at: dt.datetime) -> None:
    before = _last_notice_id(db)
    fit: FitCheck = journey.answer_fit_check(
        db, actor=user, pair_id=pair.id or 0, answer=answer, now=at
    )
    fit.created_at = at
    db.add(fit)
    db.flush()
    if answer == "not_good":  # the admins' alert, dated with the answer
        _backdate_notices(db, after_id=before, kind="fit_alert", at=at)


def _report(db: Session, *, pair: Pair, reporter: User, at: dt.datetime) -> None:
    """The mentee reports two of the mentor's messages: open in the moderators' queue."""
    ticked = db.exec(
        select(Message.id).where(Message.pair_id == pair.id, col(Message.body).in_(REPORTED))
    ).all()
    assert len(ticked) == len(REPORTED)
    chat.report(
        db,
        actor=reporter,
        pair_id=pair.id or 0,
        category="harassment",
        message_ids=[i for i in ticked if i is not None],
        details=REPORT_DETAILS,
        now=at,
    )


def _end(db: Session, *, pair: Pair, mentor: User, at: dt.datetime) -> None:
    """The mentor steps back: the mentee waits again with rematch priority, the admins and
    the mentee are told (notices dated with the end)."""
    before = _last_notice_id(db)
    journey.end_pair(
        db,
        actor=mentor,
        pair_id=pair.id or 0,
        reason="no_longer_available",
        rating=4,
        detail="A new job with weekly travel.",
    )
    pair.ended_at = at
    db.add(pair)
    db.flush()
    _backdate_notices(db, after_id=before, kind="pair_ended", at=at)
    _backdate_notices(db, after_id=before, kind="rematch_needed", at=at)
    for enrollment in db.exec(
        select(Enrollment).where(
            col(Enrollment.id).in_((pair.mentor_enrollment_id, pair.mentee_enrollment_id))
        )
    ).all():
        enrollment.updated_at = at
        db.add(enrollment)


def story_people() -> list[tuple[str, str, dt.date, str]]:
    """(e-mail, name, date of birth, role in the demo) of everyone in the story."""
    roles = {
        HEALTHY: ("mentor of a healthy pair", "mentee of a healthy pair, in week 3"),
        ONE_SIDED: ("mentor writing to a silent mentee", "mentee silent for 12 days"),
        NOT_A_GOOD_FIT: ("mentor reported by his mentee", "mentee: “not a good fit”, reported"),
        ENDED: ("mentor who stepped back", "mentee waiting with rematch priority"),
    }
    return [
        (email, name, dob, role)
        for cast in STORY_PAIRS
        for (email, name, dob), role in zip(cast, roles[cast], strict=True)
    ]
