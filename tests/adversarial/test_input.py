"""Hostile input: markup that must stay text on every page, oversized fields refused with
nothing half-written, and date-of-birth edges, also sent straight to the sign-up event."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from mentor_app.models import CheckIn, Group, Message, Report, User
from mentor_app.services import accounts, chat, groups, journey
from mentor_app.services.errors import ValidationError
from tests.adversarial.test_auth import _pair_page
from tests.e2e.test_programs import demo_log_in
from tests.factories import PASSWORD, make_group, make_user
from tests.support.rxclient import ReflexClient

# --- markup stays text ------------------------------------------------------------------

SCRIPT = "<script>window.__xss=1;alert(1)</script>"
IMG = '<img src=x onerror="window.__xss=1;alert(1)">'
LINKS = "[x](javascript:alert(1)) <a href='data:text/html,<script>alert(1)</script>'>d</a>"
TRICKS = "\u202egnp.exe\u202c zero\u200bwidth nul\x00end"


def _watch(page: Page) -> list[str]:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    return dialogs


def _inert(page: Page, dialogs: list[str]) -> None:
    page.wait_for_timeout(300)  # let any onerror fire
    assert dialogs == []
    assert page.evaluate("window.__xss") is None
    assert page.locator("img[src='x'], img[onerror], script:has-text('__xss')").count() == 0
    assert page.locator("a[href^='javascript:'], a[href^='data:']").count() == 0


def test_markup_in_every_text_renders_as_inert_text(
    new_page: Callable[..., Page], app_db: Session
) -> None:
    pair_id, mentor, mentee = _pair_page(app_db)
    mentor.display_name = IMG[:40]
    app_db.add(mentor)
    grow = app_db.exec(select(Group).where(Group.name == "Grow Every Day")).one()
    grow.description = SCRIPT + IMG
    app_db.add(grow)
    chat.send_message(app_db, actor=mentor, pair_id=pair_id, body=SCRIPT + IMG, client_id=None)
    chat.send_message(app_db, actor=mentor, pair_id=pair_id, body=LINKS + TRICKS, client_id=None)
    journey.save_check_in(app_db, actor=mentor, pair_id=pair_id, mood=3, met="yes", note=IMG)
    chat.report(app_db, actor=mentee, pair_id=pair_id, category="other", details=SCRIPT + IMG)
    evil_group = groups.create_group(
        app_db, actor=mentee, name=IMG[:60], description=LINKS, category="professional"
    )
    app_db.commit()

    member = new_page()
    dialogs = _watch(member)
    demo_log_in(member, mentee.email, then=f"/pairs/{pair_id}")
    expect(member.get_by_text("window.__xss=1;alert(1)</script>").first).to_be_visible()
    expect(member.get_by_text("zerowidth", exact=False).first).to_be_visible()  # ZWSP gone
    _inert(member, dialogs)
    for path in ("/groups", f"/groups/{grow.id}", f"/groups/{evil_group.id}", "/notifications"):
        member.goto(path)
        expect(member.get_by_role("heading").first).to_be_visible()
        _inert(member, dialogs)

    moderator = new_page()
    watched = _watch(moderator)
    demo_log_in(moderator, "mo.moderator@example.org", then="/moderation")
    moderator.get_by_role(
        "button", name=re.compile(r"^View report \d+: Other, about <img")
    ).first.click()
    expect(moderator.get_by_text("window.__xss=1;alert(1)").first).to_be_visible()
    _inert(moderator, watched)

    admin = new_page()
    seen = _watch(admin)
    demo_log_in(admin, "ada.admin@example.org")
    for path in (f"/groups/{grow.id}",):
        admin.goto(path)
        expect(admin.get_by_role("heading").first).to_be_visible()
        _inert(admin, seen)


# --- oversized input --------------------------------------------------------------------


def test_oversized_fields_are_refused_and_nothing_is_written(db: Session) -> None:
    admin = make_user(db, email="admin@example.com")
    with pytest.raises(ValidationError) as long_name:
        make_user(db, display_name="n" * (accounts.DISPLAY_NAME_MAX + 1))
    assert long_name.value.field == "display_name"
    db.rollback()
    with pytest.raises(ValidationError):
        make_user(db, email="e" * 250 + "@example.com")
    db.rollback()
    with pytest.raises(ValidationError) as group_name:
        groups.create_group(
            db, actor=admin, name="g" * (groups.NAME_MAX + 1), description="", category="other"
        )
    assert group_name.value.field == "name"
    db.rollback()
    with pytest.raises(ValidationError):
        make_group(db, admin=admin, description="d" * (groups.DESCRIPTION_MAX + 1))
    db.rollback()
    assert [u.email for u in db.exec(select(User)).all()] == ["admin@example.com"]
    assert db.exec(select(Group)).all() == []


def test_oversized_pair_texts_are_refused_and_nothing_is_written(
    app_db: Session,
) -> None:
    pair_id, mentor, mentee = _pair_page(app_db)
    attempts = [
        lambda: chat.send_message(
            app_db, actor=mentor, pair_id=pair_id, body="m" * (chat.BODY_MAX + 1), client_id=None
        ),
        lambda: journey.save_check_in(
            app_db,
            actor=mentor,
            pair_id=pair_id,
            mood=3,
            met="yes",
            note="n" * (journey.NOTE_MAX + 1),
        ),
        lambda: chat.report(
            app_db,
            actor=mentee,
            pair_id=pair_id,
            category="other",
            details="d" * (chat.DETAILS_MAX + 1),
        ),
    ]
    for attempt in attempts:
        with pytest.raises(ValidationError) as refused:
            attempt()
        assert "at most" in refused.value.message
        app_db.rollback()
    assert app_db.exec(select(Message).where(Message.pair_id == pair_id)).all() == []
    assert app_db.exec(select(CheckIn).where(CheckIn.pair_id == pair_id)).all() == []
    assert app_db.exec(select(Report).where(Report.pair_id == pair_id)).all() == []
    app_db.commit()


# --- date of birth ----------------------------------------------------------------------

TODAY = dt.date(2026, 3, 1)


@pytest.mark.parametrize(
    ("dob", "today", "outcome"),
    [
        ("2008-03-01", TODAY, "adult"),  # 18 today
        ("2008-03-02", TODAY, accounts.UNDERAGE),  # one day short
        ("2008-02-29", dt.date(2026, 2, 28), accounts.UNDERAGE),  # leapling, common year
        ("2008-02-29", dt.date(2026, 3, 1), "adult"),  # ...of age on 1 March
        ("2008-02-29", dt.date(2028, 2, 29), "adult"),
        ("2000-02-30", TODAY, "Enter a valid date."),
        ("2027-01-01", TODAY, "Date of birth can't be in the future."),
        ("1800-01-01", TODAY, "Enter a real date of birth."),
        ("01/02/1990", TODAY, "Enter a valid date."),
        ("", TODAY, "Enter your date of birth."),
    ],
)
def test_date_of_birth_edges(db: Session, dob: str, today: dt.date, outcome: str) -> None:
    def sign_up() -> User:
        return accounts.sign_up(
            db, email="dob@example.com", display_name="Dob", password=PASSWORD,
            date_of_birth=dob, today=today,
        )  # fmt: skip

    if outcome == "adult":
        assert sign_up().date_of_birth.isoformat() == dob
        return
    with pytest.raises(ValidationError) as refused:
        sign_up()
    assert (refused.value.field, refused.value.message) == ("date_of_birth", outcome)
    db.rollback()
    assert db.exec(select(User)).all() == []


@pytest.mark.parametrize(
    ("dob", "message"),
    [
        ((dt.date.today() - dt.timedelta(days=365 * 17)).isoformat(), accounts.UNDERAGE),
        ("1800-01-01", "Enter a real date of birth."),
        ("2999-12-31", "Date of birth can't be in the future."),
        ("not a date", "Enter a valid date."),
        (None, "Enter your date of birth."),
    ],
)
def test_sign_up_posted_directly_checks_the_date_of_birth(
    connect: Callable[..., ReflexClient], app_db: Session, dob: str | None, message: str
) -> None:
    email = f"direct-{uuid.uuid4().hex[:8]}@example.org"
    form = {"email": email, "display_name": "Direct", "password": "long enough pw"}
    if dob is not None:
        form["date_of_birth"] = dob
    tab = connect("/signup")
    answer = tab.post_form("/auth/signup", form)
    assert answer.json()["errors"] == {"date_of_birth": message}
    assert tab.session_cookie is None
    assert app_db.exec(select(User).where(User.email == email)).first() is None
    app_db.commit()
