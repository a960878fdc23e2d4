"""A member far from UTC: their browser's time zone is recorded at sign-up and at log-in,
and their pair's page shows the start as a date in their own zone."""

from __future__ import annotations

import datetime as dt
import re
import uuid
import zoneinfo
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from mentor_app.models import Group, Membership, Pair, User
from mentor_app.services import accounts, enrollments, pairing, programs
from tests.e2e.test_accounts_and_groups import PASSWORD, sign_up
from tests.e2e.test_programs import log_in_on_the_form
from tests.factories import answers_for

HONOLULU, KIRITIMATI = "Pacific/Honolulu", "Pacific/Kiritimati"


@pytest.fixture
def page_in(new_page: Callable[..., Page]) -> Callable[[str], Page]:
    """page_in(zone): a new person whose browser lives in `zone`."""
    return lambda zone: new_page(viewport={"width": 390, "height": 844}, timezone_id=zone)


def zone_of(db: Session, email: str) -> tuple[str, bool]:
    db.expire_all()
    user = db.exec(select(User).where(User.email == email)).one()
    zone = user.timezone, user.timezone_known
    db.commit()  # no transaction left open: on SQLite it would hold the write lock
    return zone


def test_the_zone_is_recorded_at_sign_up_and_at_log_in(
    page_in: Callable[[str], Page], app_db: Session
) -> None:
    email = f"kai.{uuid.uuid4().hex[:8]}@example.org"
    honolulu = page_in(HONOLULU)
    sign_up(honolulu, email=email, name="Kai Honolulu")
    assert zone_of(app_db, email) == (HONOLULU, True)

    # The same member logs in from a browser in Kiritimati (no pair page opened).
    kiritimati = page_in(KIRITIMATI)
    log_in_on_the_form(kiritimati, email, PASSWORD)
    expect(kiritimati.get_by_role("heading", name="My groups")).to_be_visible()
    assert zone_of(app_db, email) == (KIRITIMATI, True)


def arrange_pair_published_now(db: Session, mentor: str, mentee: str) -> Pair:
    """Mentor and mentee (e-mails of accounts already made) paired in a new program of a demo
    group that started today (UTC), published now."""
    ada = db.exec(select(User).where(User.email == "ada.admin@example.org")).one()
    group = db.exec(select(Group).where(Group.name == "Grow Every Day")).one()
    people = {}
    for email in (mentor, mentee):
        user = db.exec(select(User).where(User.email == email)).one()
        db.add(Membership(group_id=group.id or 0, user_id=user.id or 0))
        people[email] = user
    db.flush()
    program = programs.start_program(
        db, actor=ada, group_id=group.id or 0, template_key="skills_development"
    )
    programs.save_details(
        db, actor=ada, program_id=program.id or 0, title=f"Far away {uuid.uuid4().hex[:6]}",
        description=program.description, start_date=dt.datetime.now(dt.UTC).date().isoformat(),
        length_weeks=program.length_weeks, mentor_capacity_max=2,
    )  # fmt: skip
    programs.publish(db, actor=ada, program_id=program.id or 0)
    applied = {
        email: enrollments.apply(
            db,
            actor=people[email],
            program_id=program.id or 0,
            role=role,
            answers=answers_for(program, role),
            capacity=1 if role == "mentor" else None,
        )
        for email, role in ((mentor, "mentor"), (mentee, "mentee"))
    }
    pair = pairing.pair_by_hand(
        db, actor=ada, program_id=program.id or 0,
        mentee_enrollment_id=applied[mentee].id or 0, mentor_enrollment_id=applied[mentor].id or 0,
    )  # fmt: skip
    pairing.publish_pairs(db, actor=ada, program_id=program.id or 0)
    db.commit()
    db.refresh(pair)
    db.commit()  # no transaction left open: on SQLite it would hold the write lock
    return pair


def test_the_pair_page_shows_the_start_as_a_date_in_the_members_own_zone(
    page_in: Callable[[str], Page], app_db: Session
) -> None:
    suffix = uuid.uuid4().hex[:8]
    mentor, mentee = f"tia.{suffix}@example.org", f"kai.{suffix}@example.org"
    accounts.sign_up(
        app_db, email=mentor, display_name="Tia Kiritimati", password=PASSWORD,
        date_of_birth="1990-05-05", timezone=KIRITIMATI,
    )  # fmt: skip
    app_db.commit()
    honolulu = page_in(HONOLULU)
    sign_up(honolulu, email=mentee, name="Kai Honolulu")

    pair = arrange_pair_published_now(app_db, mentor, mentee)

    # The first date that has begun for neither: the day after today in Kiritimati (UTC+14),
    # two days after today in Honolulu (UTC-10).
    now = dt.datetime.now(dt.UTC)
    start = now.astimezone(zoneinfo.ZoneInfo(KIRITIMATI)).date() + dt.timedelta(days=1)
    assert pair.start_date == start
    assert (start - now.astimezone(zoneinfo.ZoneInfo(HONOLULU)).date()).days == 2

    honolulu.goto(f"/pairs/{pair.id}")
    expect(honolulu.get_by_role("heading", name="Your mentor: Tia Kiritimati")).to_be_visible()
    expect(
        honolulu.get_by_text(f"Starts {start:%A} {start.day} {start:%B}", exact=True)
    ).to_be_visible()
    expect(honolulu.get_by_text("(Pacific/Honolulu time)")).to_be_visible()

    # The mentor, in Kiritimati, reads the same date as tomorrow.
    kiritimati = page_in(KIRITIMATI)
    log_in_on_the_form(kiritimati, mentor, PASSWORD)
    expect(kiritimati.get_by_role("heading", name="My groups")).to_be_visible()
    kiritimati.goto(f"/pairs/{pair.id}")
    expect(
        kiritimati.get_by_text(re.compile(rf"^Starts tomorrow, {start:%A} {start.day} {start:%B}$"))
    ).to_be_visible()
