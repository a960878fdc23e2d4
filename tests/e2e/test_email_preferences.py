"""Settings → E-mail, and the one-click unsubscribe link opened in a browser that is not
signed in."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import replace

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from mentor_app import settings as settings_module
from mentor_app.models import User
from mentor_app.services import email_prefs
from tests.e2e.conftest import screenshot
from tests.support.appserver import AppServer

PASSWORD = "a sturdy passphrase"
PHONE = {"width": 390, "height": 844}


def sign_up(page: Page, email: str) -> None:
    page.goto("/signup")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Display name").fill("Robin Mail")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Date of birth").fill("1990-05-05")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="My groups")).to_be_visible()


def choice(page: Page, starts: str):  # type: ignore[no-untyped-def]
    return page.get_by_role("checkbox", name=re.compile(f"^{re.escape(starts)}"))


def open_email_settings(page: Page) -> None:
    page.goto("/settings")
    expect(page.get_by_role("heading", name="E-mail")).to_be_visible()
    expect(page.get_by_role("button", name="Save e-mail choices")).to_be_visible()


def test_email_choices_are_saved_and_shown_after_a_reload(
    new_page: Callable[..., Page],
) -> None:
    page = new_page(PHONE)
    sign_up(page, f"robin.{uuid.uuid4().hex[:8]}@example.org")
    open_email_settings(page)
    # The defaults: every e-mail, no digest.
    for name in ("Nudges", "Reminders", "Pairing news"):
        expect(choice(page, name)).to_be_checked()
    expect(choice(page, "A weekly digest")).not_to_be_checked()

    choice(page, "Nudges").click()
    choice(page, "A weekly digest").click()
    page.get_by_role("button", name="Save e-mail choices").click()
    expect(page.get_by_text("Your e-mail choices are saved.")).to_be_visible()
    screenshot(page, "settings-email-choices")

    page.reload()
    expect(page.get_by_role("button", name="Save e-mail choices")).to_be_visible()
    expect(choice(page, "Nudges")).not_to_be_checked()
    expect(choice(page, "Reminders")).to_be_checked()
    expect(choice(page, "Pairing news")).to_be_checked()
    expect(choice(page, "A weekly digest")).to_be_checked()


@pytest.fixture
def server_links(app_server: AppServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Sign links as the running server does: with the secret kept in its data dir."""
    config = replace(
        settings_module.settings,
        data_dir=app_server.work_dir / "data",
        email_secret_env=None,
        app_origin=app_server.url,
    )
    secret = settings_module.email_secret(config)
    monkeypatch.setattr(email_prefs, "email_secret", lambda: secret)
    monkeypatch.setattr(email_prefs, "settings", config)


def user_id_of(app_db: Session, email: str) -> int:
    try:
        return app_db.exec(select(User.id).where(User.email == email)).one() or 0
    finally:
        app_db.rollback()  # a transaction here holds SQLite's write lock (BEGIN IMMEDIATE)


def reminders_of(app_db: Session, email: str) -> bool:
    try:
        prefs = email_prefs.preferences_of(app_db, user_id=user_id_of(app_db, email))
        return prefs.reminders
    finally:
        app_db.rollback()


@pytest.mark.usefixtures("server_links")
def test_the_unsubscribe_link_works_without_logging_in_after_a_confirmation(
    new_page: Callable[..., Page], app_db: Session
) -> None:
    email = f"robin.{uuid.uuid4().hex[:8]}@example.org"
    sign_up(new_page(), email)
    # The link of an away notice (a reminder).
    link = email_prefs.unsubscribe_url(user_id_of(app_db, email), "new_message")

    mailbox = new_page(PHONE)  # another browser: not signed in
    mailbox.goto(link)
    expect(mailbox.get_by_role("heading", name="Unsubscribe")).to_be_visible()
    expect(mailbox.get_by_text(re.compile("Stop getting reminders"))).to_be_visible()
    assert reminders_of(app_db, email) is True  # opening the link changed nothing
    screenshot(mailbox, "unsubscribe-confirm")

    mailbox.get_by_role("button", name="Unsubscribe").click()
    expect(mailbox.get_by_role("heading", name="You are unsubscribed")).to_be_visible()
    assert reminders_of(app_db, email) is False

    # Settings, from the page's link: log in first, then the switch shows off.
    mailbox.get_by_role("link", name="Choose which e-mails you get in Settings").click()
    expect(mailbox.get_by_role("heading", name="Log in")).to_be_visible()
    mailbox.get_by_label("Email").fill(email)
    mailbox.get_by_label("Password").fill(PASSWORD)
    mailbox.get_by_role("button", name="Log in").click()
    expect(mailbox.get_by_role("button", name="Save e-mail choices")).to_be_visible()
    expect(choice(mailbox, "Reminders")).not_to_be_checked()
    expect(choice(mailbox, "Nudges")).to_be_checked()


@pytest.mark.usefixtures("server_links")
def test_a_changed_unsubscribe_link_says_so_and_changes_nothing(
    new_page: Callable[..., Page], app_db: Session
) -> None:
    email = f"robin.{uuid.uuid4().hex[:8]}@example.org"
    sign_up(new_page(), email)
    forged = email_prefs.unsubscribe_url(user_id_of(app_db, email), "nudge")
    forged = forged.replace(".nudges.", ".reminders.")

    page = new_page()
    page.goto(forged)

    expect(page.get_by_role("heading", name="This link does not work")).to_be_visible()
    expect(page.get_by_role("button", name="Unsubscribe")).to_have_count(0)
    assert reminders_of(app_db, email) is True
