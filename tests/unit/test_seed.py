"""The demo seed is idempotent and gives a newcomer something to look at: an open program
with a cohort to pair, and a program in its third week with a pair in each state."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, col, func, select

from mentor_app import seed
from mentor_app.models import (
    CheckIn,
    Enrollment,
    FitCheck,
    Group,
    Membership,
    Message,
    Notification,
    Nudge,
    Pair,
    Program,
    Report,
    StepCompletion,
    User,
)
from mentor_app.seed_story import STORY_GROUP, STORY_PROGRAM
from mentor_app.services import (
    accounts,
    chat,
    dashboard,
    groups,
    journey,
    moderation,
    notifications,
    pairing,
)


def _everything(db: Session) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order."""
    rows = {}
    for table in SQLModel.metadata.sorted_tables:
        order = [c for c in table.primary_key.columns] or list(table.columns)
        rows[table.name] = [tuple(r) for r in db.connection().execute(
            sa_select(table).order_by(*order)
        )]  # fmt: skip
    return rows


def _user(db: Session, email: str) -> User:
    return db.exec(select(User).where(User.email == email)).one()


def _story_pair(db: Session, mentee_email: str) -> Pair:
    return db.exec(select(Pair).where(Pair.mentee_id == _user(db, mentee_email).id)).one()


@pytest.fixture(scope="module")
def seeded_engine(module_engine: Engine) -> Engine:
    """The demo, seeded once for the module (seeding takes seconds); the tests read it."""
    with Session(module_engine) as db:
        seed.seed(db)
        db.commit()
    return module_engine


@pytest.fixture
def seeded(seeded_engine: Engine) -> Iterator[Session]:
    with Session(seeded_engine, expire_on_commit=False) as db:
        yield db
        db.rollback()


def test_seeding_twice_changes_nothing(seeded: Session) -> None:
    first = _everything(seeded)
    seed.seed(seeded)
    seeded.commit()
    assert _everything(seeded) == first
    assert len(first["app_user"]) == len(seed.DEMO_USERS)
    assert len(first["community_group"]) == len(seed.DEMO_GROUPS)
    # Something of each kind was written, once.
    for table in ("mentor_pair", "pair_message", "check_in", "report", "notification", "nudge"):
        assert first[table], table


def test_demo_has_a_group_per_eligible_category_and_one_other(seeded: Session) -> None:
    categories = sorted(seeded.exec(select(Group.category)).all())
    assert categories == ["other", "parenting", "personal_development", "professional"]


def test_demo_has_an_open_program_with_applications_of_both_roles(seeded: Session) -> None:
    program = seeded.exec(select(Program).where(Program.title == seed.DEMO_PROGRAM)).one()
    assert program.status == "open"
    assert program.start_date is not None and program.start_date > dt.date.today()
    roles = sorted(seeded.exec(select(Enrollment.role).where(Enrollment.program_id == program.id)))
    assert roles == ["mentee"] * 3 + ["mentor"] * 3
    assert seeded.exec(select(Pair).where(Pair.program_id == program.id)).all() == []


def test_demo_has_a_site_moderator_outside_the_groups(seeded: Session) -> None:
    moderator = _user(seeded, "mo.moderator@example.org")
    assert moderator.is_site_moderator is True
    assert moderator.display_name == "Mo (moderator)"
    assert seeded.exec(select(Membership).where(Membership.user_id == moderator.id)).first() is None
    others = seeded.exec(select(User).where(User.email != "mo.moderator@example.org")).all()
    assert not any(u.is_site_moderator for u in others)


def test_every_demo_account_logs_in_with_the_readme_password_and_is_an_adult(
    seeded: Session,
) -> None:
    for demo in seed.DEMO_USERS:
        user = accounts.authenticate(seeded, email=demo.email, password=seed.DEMO_PASSWORD)
        assert user.display_name == demo.display_name
        assert accounts.is_adult(user.date_of_birth, today=dt.date.today())


def test_the_running_program_is_in_its_third_week_in_an_eligible_group(seeded: Session) -> None:
    program = seeded.exec(select(Program).where(Program.title == STORY_PROGRAM)).one()
    group = seeded.get(Group, program.group_id)
    assert group is not None and group.name == STORY_GROUP
    assert groups.program_eligibility(group.category)[0]
    assert program.status == "active"
    assert program.start_date is not None
    assert journey.week_of(program.start_date, dt.date.today()) == 3
    pairs = seeded.exec(select(Pair).where(Pair.program_id == program.id)).all()
    assert sorted(p.status for p in pairs) == ["active", "active", "active", "ended"]
    assert {p.start_date for p in pairs} == {program.start_date}


def test_everything_a_pair_did_was_done_by_its_own_two_members(seeded: Session) -> None:
    pairs = seeded.exec(select(Pair)).all()
    assert len(pairs) == 4
    for pair in pairs:
        members = {pair.mentor_id, pair.mentee_id}
        for model in (Message, CheckIn, StepCompletion, FitCheck):
            who = "sender_id" if model is Message else "user_id"
            authors = set(
                seeded.exec(select(getattr(model, who)).where(model.pair_id == pair.id)).all()
            )
            assert authors <= members, (model.__name__, pair.id)
        for enrollment_id, user_id in (
            (pair.mentor_enrollment_id, pair.mentor_id),
            (pair.mentee_enrollment_id, pair.mentee_id),
        ):
            enrollment = seeded.get(Enrollment, enrollment_id)
            assert enrollment is not None and enrollment.user_id == user_id
            assert enrollment.program_id == pair.program_id
    # Nothing dated in the future, nothing before the pair was published.
    now = dt.datetime.now(dt.UTC)
    for message in seeded.exec(select(Message)).all():
        pair = seeded.get(Pair, message.pair_id)
        assert pair is not None and pair.published_at is not None
        assert pair.published_at < message.created_at < now


def test_the_healthy_pairs_mentee_is_in_week_3_with_a_chat_and_a_check_in_to_do(
    seeded: Session,
) -> None:
    noah = _user(seeded, "noah.mentee@example.org")
    pair = _story_pair(seeded, noah.email)
    view = journey.get_journey(seeded, actor=noah, pair_id=pair.id or 0)
    assert (view.status, view.current_week, view.partner_name) == ("active", 3, "Grace Liu")
    assert [s.week for s in view.steps if len(s.done_by) == 2] == [1, 2]
    assert sorted((c.week, c.role) for c in view.check_ins) == [
        (1, "mentee"), (1, "mentor"), (2, "mentee"), (2, "mentor"),
    ]  # fmt: skip
    assert not any(c.week == 3 for c in view.check_ins)  # this week's form is waiting
    messages, _more = chat.list_messages(seeded, actor=noah, pair_id=pair.id or 0)
    assert len(messages) >= 6
    assert {m.sender_id for m in messages} == {pair.mentor_id, pair.mentee_id}


def test_the_admins_dashboard_shows_the_one_sided_pair_at_risk(seeded: Session) -> None:
    ada = _user(seeded, "ada.admin@example.org")
    program = seeded.exec(select(Program).where(Program.title == STORY_PROGRAM)).one()
    board = dashboard.get_dashboard(seeded, actor=ada, program_id=program.id or 0)
    health = {p.mentee_name: p for p in board.pairs}
    assert board.pair_counts == {"active": 3, "ended": 1, "completed": 0}
    assert health["Elena Petrova"].band == dashboard.AT_RISK
    assert "one-sided: mentor writing, mentee silent for 12 days" in [
        r.text for r in health["Elena Petrova"].reasons
    ]
    assert board.pairs[0].mentee_name == "Elena Petrova"  # lowest health first
    assert health["Noah Brooks"].band == dashboard.HEALTHY
    assert health["Julia Weber"].band == dashboard.WATCH
    assert [r.key for r in health["Julia Weber"].reasons] == ["not_good_fit"]  # met on day 5
    # Grace and Noah meet weekly (days 3, 10, 17); Elena's pair never met.
    assert health["Noah Brooks"].meetings_held == 3
    assert "no_meeting" in [r.key for r in health["Elena Petrova"].reasons]
    assert (board.goals_set, board.goal_progress) == (2, 50)  # Noah's 40 % and 60 %


def test_the_not_a_good_fit_answer_is_the_mentees_fit_check(seeded: Session) -> None:
    pair = _story_pair(seeded, "julia.mentee@example.org")
    answers = dict(
        seeded.exec(
            select(FitCheck.user_id, FitCheck.answer).where(FitCheck.pair_id == pair.id)
        ).all()
    )
    assert answers == {pair.mentee_id: "not_good", pair.mentor_id: "good"}
    assert "not_good" in journey.FIT_ANSWERS


def test_the_ended_pairs_mentee_waits_with_rematch_priority(seeded: Session) -> None:
    ada = _user(seeded, "ada.admin@example.org")
    pair = _story_pair(seeded, "aisha.mentee@example.org")
    assert (pair.status, pair.end_reason) == ("ended", "no_longer_available")
    ws = pairing.get_workspace(seeded, actor=ada, program_id=pair.program_id)
    assert [(m.name, m.rematch) for m in ws.mentees_waiting.items] == [("Aisha Khan", True)]
    # A mentor with a free seat is there to rematch her with.
    assert [m.name for m in ws.mentors.items if m.free] == ["Grace Liu"]


def test_the_moderator_finds_an_open_report_with_its_evidence(seeded: Session) -> None:
    mo = _user(seeded, "mo.moderator@example.org")
    queue = moderation.list_reports(seeded, actor=mo, status="open")
    assert [(r.reporter_name, r.reported_name) for r in queue.reports.items] == [
        ("Julia Weber", "Kofi Mensah")
    ]
    detail = moderation.get_report(seeded, actor=mo, report_id=queue.reports.items[0].id)
    assert len(detail.evidence) == 2
    report = seeded.get(Report, detail.id)
    assert report is not None and report.pair_id is not None
    pair = seeded.get(Pair, report.pair_id)
    assert pair is not None and detail.reported_id == pair.mentor_id
    kept = seeded.exec(
        select(Message.id, Message.body).where(Message.pair_id == pair.id)
    ).all()  # the frozen copies are messages of that pair, from the reported member
    assert {(e.message_id, e.body) for e in detail.evidence} <= set(kept)
    assert {e.sender_id for e in detail.evidence} == {pair.mentor_id}


def test_demo_members_have_unread_notifications_among_them_a_nudge(seeded: Session) -> None:
    unread = {
        email: notifications.unread_count(seeded, actor=_user(seeded, email))
        for email in (
            "ada.admin@example.org",
            "noah.mentee@example.org",
            "elena.mentee@example.org",
            "aisha.mentee@example.org",
        )
    }
    assert all(unread.values()), unread
    elena = _user(seeded, "elena.mentee@example.org")
    kinds = {
        n.kind
        for n in seeded.exec(
            select(Notification).where(
                Notification.user_id == elena.id, col(Notification.read_at).is_(None)
            )
        )
    }
    assert {"nudge", "one_sided"} <= kinds
    # Each nudge is the job's own (its dedup row), for a member of that pair.
    for nudge in seeded.exec(select(Nudge)).all():
        pair = seeded.get(Pair, nudge.pair_id)
        assert pair is not None and nudge.user_id in (pair.mentor_id, pair.mentee_id)
    assert seeded.exec(select(func.count()).select_from(Nudge)).one() >= 2
