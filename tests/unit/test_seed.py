"""The demo seed is idempotent and gives a newcomer something to look at."""

from __future__ import annotations

from sqlmodel import Session, func, select

from mentor_app import seed
from mentor_app.models import AuditLog, Group, Membership, User


def _counts(db: Session) -> tuple[int, ...]:
    return tuple(
        db.exec(select(func.count()).select_from(table)).one()
        for table in (User, Group, Membership, AuditLog)
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
