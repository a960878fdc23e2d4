"""The demo seed is idempotent and gives a newcomer something to look at."""

from __future__ import annotations

from sqlmodel import Session, func, select

from mentor_app import seed
from mentor_app.models import AuditLog, Enrollment, Group, Membership, Program, User


def _counts(db: Session) -> tuple[int, ...]:
    return tuple(
        db.exec(select(func.count()).select_from(table)).one()
        for table in (User, Group, Membership, AuditLog, Program, Enrollment)
    )


def test_seeding_twice_changes_nothing(db: Session) -> None:
    seed.seed(db)
    db.commit()
    first = _counts(db)
    seed.seed(db)
    db.commit()
    assert _counts(db) == first
    assert first[:2] == (len(seed.DEMO_USERS), len(seed.DEMO_GROUPS))


def test_demo_has_a_group_per_eligible_category_and_one_other(db: Session) -> None:
    seed.seed(db)
    categories = sorted(db.exec(select(Group.category)).all())
    assert categories == ["other", "parenting", "personal_development", "professional"]


def test_demo_has_an_open_program_with_applications_of_both_roles(db: Session) -> None:
    seed.seed(db)
    program = db.exec(select(Program).where(Program.title == seed.DEMO_PROGRAM)).one()
    assert program.status == "open"
    roles = sorted(db.exec(select(Enrollment.role).where(Enrollment.program_id == program.id)))
    assert roles == ["mentee"] * 3 + ["mentor"] * 3


def test_demo_has_a_site_moderator_outside_the_groups(db: Session) -> None:
    seed.seed(db)
    moderator = db.exec(select(User).where(User.email == "mo.moderator@example.org")).one()
    assert moderator.is_site_moderator is True
    assert moderator.display_name == "Mo (moderator)"
    assert db.exec(select(Membership).where(Membership.user_id == moderator.id)).first() is None
    others = db.exec(select(User).where(User.email != "mo.moderator@example.org")).all()
    assert not any(u.is_site_moderator for u in others)
