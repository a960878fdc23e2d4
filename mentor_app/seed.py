"""The demo community. Idempotent: running it twice changes nothing.

Two programs: one open for sign-ups with a cohort waiting to be paired (below), and one in
its third week with a pair in each state worth seeing (`seed_story`), dated from the day
the seed first runs. `python -m mentor_app.seed` seeds the configured database and prints
the logins.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlmodel import Session, select

from mentor_app.db import session_scope
from mentor_app.models import Group, Membership, Program, User
from mentor_app.seed_story import STORY_GROUP, seed_story, story_people
from mentor_app.services import accounts, enrollments, groups, programs

DEMO_PASSWORD = "demo-password-1"


@dataclass(frozen=True)
class DemoUser:
    email: str
    display_name: str
    role: str  # what the demo uses them for
    date_of_birth: dt.date
    is_site_moderator: bool = False
    in_story: bool = False  # a member of the running program only (seed_story)


DEMO_USERS = [
    DemoUser("ada.admin@example.org", "Ada (admin)", "group admin", dt.date(1984, 3, 14)),
    DemoUser("maya.mentor@example.org", "Maya Okafor", "would-be mentor", dt.date(1979, 7, 2)),
    DemoUser("omar.mentor@example.org", "Omar Haddad", "would-be mentor", dt.date(1986, 11, 23)),
    DemoUser("lina.mentor@example.org", "Lina Park", "would-be mentor", dt.date(1990, 5, 9)),
    DemoUser("theo.mentee@example.org", "Theo Martin", "would-be mentee", dt.date(2001, 1, 30)),
    DemoUser("priya.mentee@example.org", "Priya Nair", "would-be mentee", dt.date(1999, 9, 17)),
    DemoUser("sam.mentee@example.org", "Sam Rivera", "would-be mentee", dt.date(2004, 2, 29)),
    DemoUser(
        "mo.moderator@example.org",
        "Mo (moderator)",
        "site moderator",
        dt.date(1982, 6, 21),
        is_site_moderator=True,
    ),
    *(DemoUser(email, name, role, dob, in_story=True) for email, name, dob, role in story_people()),
]

DEMO_GROUPS = [
    ("Parents Together", "parenting", "Parents helping parents through every stage."),
    (
        "Product Professionals Network",
        "professional",
        "Product managers, designers and engineers growing their careers together.",
    ),
    (
        "Grow Every Day",
        "personal_development",
        "Habits, confidence and learning, one week at a time.",
    ),
    ("Sunday Hikers", "other", "Weekend walks around the city. Not a mentorship group."),
]


def _user(db: Session, demo: DemoUser) -> User:
    existing = db.exec(select(User).where(User.email == demo.email)).first()
    if existing:
        return existing
    user = accounts.sign_up(
        db,
        email=demo.email,
        display_name=demo.display_name,
        password=DEMO_PASSWORD,
        date_of_birth=demo.date_of_birth.isoformat(),
    )
    if demo.is_site_moderator:
        # Outside the demo an operator grants this with `python -m mentor_app.moderators`.
        user.is_site_moderator = True
        db.add(user)
        db.flush()
    return user


def seed(db: Session, *, now: dt.datetime | None = None) -> None:
    """`now`: when the seed runs (the running program is dated from it)."""
    users = [_user(db, demo) for demo in DEMO_USERS]
    # The moderator stays out of the groups and the programs: they only handle reports.
    # The story's members join its group alone, when the story is told.
    people = [
        u
        for u, demo in zip(users, DEMO_USERS, strict=True)
        if not demo.is_site_moderator and not demo.in_story
    ]
    admin, members = people[0], people[1:]
    for name, category, description in DEMO_GROUPS:
        group = db.exec(select(Group).where(Group.name == name)).first()
        if group is None:
            group = groups.create_group(
                db, actor=admin, name=name, description=description, category=category
            )
        for member in members:
            joined = db.exec(
                select(Membership).where(
                    Membership.group_id == group.id, Membership.user_id == member.id
                )
            ).first()
            if joined is None:
                assert group.id is not None
                groups.join_group(db, actor=member, group_id=group.id)
    _demo_program(db, admin, members)
    story = {u.display_name: u for u, demo in zip(users, DEMO_USERS, strict=True) if demo.in_story}
    seed_story(db, admin=admin, people=story, now=now)


DEMO_PROGRAM = "Product career mentoring (demo)"


def _demo_answers(program: Program, role: str, pick: int) -> dict[str, str | list[str]]:
    """Plausible answers: mentor i and mentee i overlap, and mentors are further along in
    their careers, so the workspace has something to explain. A sentence for text."""
    answers: dict[str, str | list[str]] = {}
    base = pick % 3
    for q in programs.questions_for(program, role):
        options = q["options"]
        if q["type"] == "single_choice":
            ordered = q.get("match_key") == "experience" and role == "mentor"
            answers[q["id"]] = options[-1 - base] if ordered else options[base % len(options)]
        elif q["type"] == "multiple_choice":
            answers[q["id"]] = [options[base % len(options)], options[(base + 1) % len(options)]]
        else:
            answers[q["id"]] = "Growing as a product person and helping others do the same."
    return answers


def _demo_program(db: Session, admin: User, members: list[User]) -> None:
    """One open program with a few applications, so pairing can be tried at once."""
    if db.exec(select(Program).where(Program.title == DEMO_PROGRAM)).first() is not None:
        return
    group = db.exec(select(Group).where(Group.name == "Product Professionals Network")).one()
    assert group.id is not None
    program = programs.start_program(
        db, actor=admin, group_id=group.id, template_key="career_advancement"
    )
    assert program.id is not None
    programs.save_details(
        db,
        actor=admin,
        program_id=program.id,
        title=DEMO_PROGRAM,
        description=program.description,
        start_date=(dt.date.today() + dt.timedelta(days=7)).isoformat(),
        length_weeks=program.length_weeks,
        mentor_capacity_max=3,
    )
    programs.publish(db, actor=admin, program_id=program.id)
    mentors, mentees = members[:3], members[3:]
    for pick, (person, role) in enumerate(
        [
            (mentors[0], "mentor"),
            (mentors[1], "mentor"),
            (mentors[2], "mentor"),
            (mentees[0], "mentee"),
            (mentees[1], "mentee"),
            (mentees[2], "mentee"),
        ]
    ):
        enrollments.apply(
            db,
            actor=person,
            program_id=program.id,
            role=role,
            answers=_demo_answers(program, role, pick),
            capacity=(1 if pick == 2 else 2) if role == "mentor" else None,
        )


def logins_text() -> str:
    lines = [f"Demo logins (password for all: {DEMO_PASSWORD}):"]
    lines += [f"  {u.email:<28} {u.display_name:<14} {u.role}" for u in DEMO_USERS]
    lines.append(f"The running program is in “{STORY_GROUP}”; the README says what to try.")
    return "\n".join(lines)


if __name__ == "__main__":
    with session_scope() as session:
        seed(session)
    print(logins_text())
