"""Small helpers that arrange users, groups and memberships through the services."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from unittest import mock

from sqlmodel import Session, col, delete, select

from mentor_app.models import (
    Enrollment,
    Goal,
    Group,
    Meeting,
    Membership,
    Pair,
    Program,
    RateLimit,
    User,
)
from mentor_app.services import accounts, enrollments, groups, pairing, programs

TODAY = dt.date(2026, 1, 15)
PASSWORD = "correct horse battery"

_seq = itertools.count(1)

# A member's password hash, argon2id with the app's own settings, costs about 20 ms: the
# unit tests make thousands of members, and these hashes were a third of their time. The
# first member made with a password gets a real hash; later ones get the same hash (same
# salt), which verifies as any other. Tests about hashing itself call the service.
_REAL_HASH = accounts.pwd_context.hash
_hashes: dict[str, str] = {}


def _hash_once(password: str) -> str:
    if password not in _hashes:
        _hashes[password] = _REAL_HASH(password)
    return _hashes[password]


def make_user(
    db: Session,
    *,
    email: str | None = None,
    display_name: str = "Alex",
    password: str = PASSWORD,
    dob: dt.date = dt.date(1990, 1, 1),
    timezone: str | None = "UTC",
) -> User:
    """A member who signed up today (TODAY); their browser reported `timezone` (None: it
    reported nothing, so their zone is unknown)."""
    with mock.patch.object(accounts.pwd_context, "hash", _hash_once):
        user = accounts.sign_up(
            db,
            email=email or f"person{next(_seq)}@example.com",
            display_name=display_name,
            password=password,
            date_of_birth=dob.isoformat(),
            timezone=timezone,
            today=TODAY,
        )
    db.commit()
    return user


def make_group(
    db: Session,
    *,
    admin: User,
    category: str = "professional",
    name: str | None = None,
    description: str = "",
    is_open: bool = True,
) -> Group:
    group = groups.create_group(
        db,
        actor=admin,
        name=name or f"Circle {next(_seq)}",
        description=description,
        category=category,
    )
    if not is_open:
        group.is_open = False
        db.add(group)
    # Arranging data is not the member creating groups: no count toward their hourly limit.
    db.exec(delete(RateLimit).where(col(RateLimit.key) == groups.GROUPS_CREATED.key(admin.id or 0)))
    db.commit()
    return group


def add_member(db: Session, group: Group, user: User, role: str = "member") -> Membership:
    assert group.id is not None and user.id is not None
    membership = Membership(group_id=group.id, user_id=user.id, role=role)
    db.add(membership)
    db.commit()
    return membership


# --- programs and applications (issue 3) ----------------------------------------------

START = TODAY + dt.timedelta(days=14)


def make_program(
    db: Session,
    *,
    admin: User,
    group: Group | None = None,
    template_key: str = "career_advancement",
    status: str = "open",
    mentor_capacity_max: int = 3,
) -> Program:
    """A program through the wizard services, left in `status` (draft|open|active|closed)."""
    group = group or make_group(db, admin=admin)
    assert group.id is not None
    program = programs.start_program(db, actor=admin, group_id=group.id, template_key=template_key)
    assert program.id is not None
    programs.save_details(
        db,
        actor=admin,
        program_id=program.id,
        title=program.title,
        description=program.description,
        start_date=START.isoformat(),
        length_weeks=program.length_weeks,
        mentor_capacity_max=mentor_capacity_max,
        today=TODAY,
    )
    if status != "draft":
        programs.publish(db, actor=admin, program_id=program.id, today=TODAY)
    while program.status != status:
        programs.advance_status(
            db, actor=admin, program_id=program.id, expected_status=program.status
        )
    db.commit()
    return program


def make_minor(db: Session, *, dob: dt.date | None = None) -> User:
    """A user under 18, inserted directly: sign-up itself refuses them."""
    user = User(
        email=f"young{next(_seq)}@example.com",
        display_name="Young",
        password_hash="not-a-real-hash",
        date_of_birth=dob or TODAY.replace(year=TODAY.year - 16),
    )
    db.add(user)
    db.commit()
    return user


def answers_for(program: Program, role: str) -> dict[str, str | list[str]]:
    """Valid answers to every question of the role: first options, a sentence for text."""
    answers: dict[str, str | list[str]] = {}
    for question in program.questions:
        if question["role"] != role:
            continue
        if question["type"] == "single_choice":
            answers[question["id"]] = question["options"][0]
        elif question["type"] == "multiple_choice":
            answers[question["id"]] = question["options"][:2]
        else:
            answers[question["id"]] = "I'd like to learn and to help."
    return answers


def make_application(
    db: Session, *, program: Program, user: User, role: str = "mentee", capacity: int = 2
) -> Enrollment:
    assert program.id is not None
    enrollment = enrollments.apply(
        db,
        actor=user,
        program_id=program.id,
        role=role,
        answers=answers_for(program, role),
        capacity=capacity if role == "mentor" else None,
        today=TODAY,
    )
    db.commit()
    return enrollment


def add_applicants(
    db: Session,
    *,
    program: Program,
    role: str,
    names: list[str],
    capacity: int = 2,
    dob: dt.date = dt.date(1990, 1, 1),
) -> list[Enrollment]:
    """Many applications at once, for a cohort bigger than a page: members of the
    program's group inserted directly, without hashing a password each (they never log
    in), applying in the order of `names`."""
    made = []
    for name in names:
        user = User(
            email=f"applicant{next(_seq)}@example.com",
            display_name=name,
            password_hash="not-a-real-hash",
            date_of_birth=dob,
        )
        db.add(user)
        db.flush()
        db.add(Membership(group_id=program.group_id, user_id=user.id or 0))
        enrollment = Enrollment(
            program_id=program.id or 0,
            user_id=user.id or 0,
            role=role,
            capacity=capacity if role == "mentor" else None,
            answers=answers_for(program, role),
        )
        db.add(enrollment)
        db.flush()
        made.append(enrollment)
    db.commit()
    return made


# --- pairs (issues 4 and 5) -------------------------------------------------------------


@dataclass
class PairSetup:
    admin: User
    group: Group
    program: Program
    mentor: User
    mentee: User
    mentor_enrollment: Enrollment
    mentee_enrollment: Enrollment
    pair: Pair

    def at_week(self, week: int, *, hour: int = 12) -> dt.datetime:
        """A moment (UTC) inside the given journey week, counted from the pair's start."""
        assert self.pair.start_date is not None
        day = self.pair.start_date + dt.timedelta(days=7 * (week - 1) + 1)
        return dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.UTC)


def make_pair(db: Session, *, capacity: int = 2) -> PairSetup:
    """A published pair in an open Career advancement program; it starts on START."""
    admin = make_user(db, display_name="Ada")
    group = make_group(db, admin=admin)
    program = make_program(db, admin=admin, group=group)
    mentor = make_user(db, display_name="Maya")
    mentee = make_user(db, display_name="Theo")
    for person in (mentor, mentee):
        add_member(db, group, person)
    mentor_enrollment = make_application(
        db, program=program, user=mentor, role="mentor", capacity=capacity
    )
    mentee_enrollment = make_application(db, program=program, user=mentee, role="mentee")
    pair = pairing.pair_by_hand(
        db,
        actor=admin,
        program_id=program.id or 0,
        mentee_enrollment_id=mentee_enrollment.id or 0,
        mentor_enrollment_id=mentor_enrollment.id or 0,
        today=TODAY,
    )
    pairing.publish_pairs(db, actor=admin, program_id=program.id or 0, today=TODAY)
    db.commit()
    return PairSetup(
        admin, group, program, mentor, mentee, mentor_enrollment, mentee_enrollment, pair
    )


# --- many rows at once (paged lists, issue 18) ------------------------------------------


def make_pair_with_partner_admin(db: Session) -> PairSetup:
    """`make_pair`, with the mentor (Maya) also an admin of the group; Ada is an admin only."""
    setup = make_pair(db)
    membership = db.exec(
        select(Membership).where(
            Membership.group_id == setup.group.id, Membership.user_id == setup.mentor.id
        )
    ).one()
    membership.role = "admin"
    db.add(membership)
    db.commit()
    return setup


def make_people(db: Session, count: int, *, name: str = "Member") -> list[User]:
    """`count` adults named "<name> 01", "<name> 02"…, inserted directly: quicker than
    signing each up, and none of them can log in."""
    tag = next(_seq)
    people = [
        User(
            email=f"many{tag}.{n}@example.com",
            display_name=f"{name} {n:02}",
            password_hash="not-a-real-hash",
            date_of_birth=dt.date(1990, 1, 1),
        )
        for n in range(1, count + 1)
    ]
    db.add_all(people)
    db.commit()
    return people


def add_members(db: Session, group: Group, people: list[User]) -> None:
    assert group.id is not None
    db.add_all(Membership(group_id=group.id, user_id=p.id or 0) for p in people)
    db.commit()


def make_past_pairs(
    db: Session, *, program: Program, mentor: User, mentees: list[User], published: dt.datetime
) -> list[Pair]:
    """Completed pairs of `mentor` with each of `mentees` in `program`, all published at the
    same moment (inserted directly: the history of a long-serving mentor)."""
    assert program.id is not None and mentor.id is not None
    mine = Enrollment(program_id=program.id, user_id=mentor.id, role="mentor", capacity=1)
    theirs = [Enrollment(program_id=program.id, user_id=m.id or 0, role="mentee") for m in mentees]
    db.add_all([mine, *theirs])
    db.flush()
    pairs = [
        Pair(
            program_id=program.id,
            mentor_enrollment_id=mine.id or 0,
            mentee_enrollment_id=e.id or 0,
            mentor_id=mentor.id,
            mentee_id=e.user_id,
            status="completed",
            published_at=published,
        )
        for e in theirs
    ]
    db.add_all(pairs)
    db.commit()
    return pairs


# --- meetings and goals (issue 21), written as the meetings and goals services store them ---


def make_meeting(
    db: Session,
    *,
    pair: Pair,
    starts_at: dt.datetime,
    status: str = "confirmed",
    weekly: bool = False,
    repeat_until: dt.date | None = None,
    duration_minutes: int = 60,
    video_link: str = "",
    timezone: str = "UTC",
) -> Meeting:
    """A meeting of `pair` (confirmed at `starts_at` unless `status` says otherwise); a
    weekly one keeps its wall-clock time in `timezone`."""
    meeting = Meeting(
        pair_id=pair.id or 0,
        uid=f"meeting-{next(_seq)}@test",
        status=status,
        proposed_by=pair.mentor_id,
        options=[starts_at.astimezone(dt.UTC).isoformat()],
        starts_at=starts_at if status != "proposed" else None,
        duration_minutes=duration_minutes,
        video_link=video_link,
        timezone=timezone,
        weekly=weekly,
        repeat_until=repeat_until,
    )
    db.add(meeting)
    db.commit()
    return meeting


def make_goal(
    db: Session, *, pair: Pair, position: int = 1, text: str = "A goal", progress: int = 0
) -> Goal:
    goal = Goal(
        pair_id=pair.id or 0,
        position=position,
        text=text,
        progress=progress,
        created_by=pair.mentee_id,
    )
    db.add(goal)
    db.commit()
    return goal
