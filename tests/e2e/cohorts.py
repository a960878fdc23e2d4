"""A cohort bigger than a page, arranged straight in the app's database, for the browser
tests of paged lists."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from playwright.sync_api import Locator, Page
from sqlmodel import Session

from mentor_app.seed import DEMO_PASSWORD
from mentor_app.services import accounts, groups, pairing, programs
from tests.factories import add_applicants


@dataclass(frozen=True)
class BigCohort:
    admin_email: str
    program_id: int


def arrange_big_cohort(
    db: Session, *, mentees: int = 45, mentors: int = 25, paired: bool = False
) -> BigCohort:
    """An open program of a new group, with its own admin: `mentees` mentees ("Mentee 01",
    ...) and `mentors` mentors with two seats each ("Mentor 01", ...), all waiting, or all
    in published pairs that start today if `paired`."""
    tag = secrets.token_hex(3)
    admin = accounts.sign_up(
        db, email=f"bea.admin.{tag}@example.org", display_name="Bea Admin",
        password=DEMO_PASSWORD, date_of_birth="1985-03-03",
    )  # fmt: skip
    group = groups.create_group(
        db, actor=admin, name=f"Big cohort {tag}", description="A large circle.",
        category="professional",
    )  # fmt: skip
    program = programs.start_program(
        db, actor=admin, group_id=group.id or 0, template_key="career_advancement"
    )
    pid = program.id or 0
    programs.save_details(
        db, actor=admin, program_id=pid, title=f"Big cohort program {tag}",
        description=program.description, start_date=dt.date.today().isoformat(),
        length_weeks=program.length_weeks, mentor_capacity_max=2,
    )  # fmt: skip
    programs.publish(db, actor=admin, program_id=pid)
    db.commit()
    names = [f"Mentee {n:02d}" for n in range(1, mentees + 1)]
    add_applicants(db, program=program, role="mentee", names=names)
    names = [f"Mentor {n:02d}" for n in range(1, mentors + 1)]
    add_applicants(db, program=program, role="mentor", names=names, capacity=2)
    if paired:
        pairing.suggest_all(db, actor=admin, program_id=pid)
        pairing.publish_pairs(db, actor=admin, program_id=pid)
        db.commit()
    return BigCohort(admin.email, pid)


def pages_of(page: Page, label: str) -> Locator:
    """The pager of a list, found by its label ("Mentees waiting pages")."""
    return page.get_by_role("navigation", name=label)
