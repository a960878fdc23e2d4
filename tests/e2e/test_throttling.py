"""The throttles as a person meets them: the message says when to try again, next to the
form, and what they typed is still there."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable

from playwright.sync_api import Page, expect
from sqlmodel import Session

from mentor_app.models import RateLimit, User
from mentor_app.seed import DEMO_PASSWORD
from mentor_app.services import accounts, groups
from tests.e2e.conftest import screenshot

# Made-up e-mails posted from the page itself, so they come from the browser's own address.
SPRAY = """async (count) => {
  const statuses = [];
  for (let i = 0; i < count; i++) {
    const body = new URLSearchParams({
      email: `made-up-${i}-${Math.random().toString(36).slice(2)}@example.org`,
      password: "a guess at it",
    });
    const answer = await fetch("/auth/login", { method: "POST", body, credentials: "same-origin" });
    statuses.push(answer.status);
  }
  return statuses;
}"""


def _account(app_db: Session, name: str) -> User:
    user = accounts.sign_up(
        app_db,
        email=f"{name.lower()}.{uuid.uuid4().hex[:8]}@example.org",
        display_name=name,
        password=DEMO_PASSWORD,
        date_of_birth="1990-05-05",
    )
    app_db.commit()
    return user


def test_login_page_says_when_to_try_again_and_keeps_what_was_typed(
    new_page: Callable[..., Page], app_db: Session
) -> None:
    owner = _account(app_db, "Olu")
    page = new_page()
    page.goto("/login")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    limit = accounts.LOGIN_UNKNOWN_PER_ADDRESS.max
    assert page.evaluate(SPRAY, limit) == [400] * limit

    # Someone else on the same network, with the right password: refused, told when.
    page.get_by_label("Email").fill(owner.email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(
        page.get_by_text("Too many attempts from your network. Try again in 15 minutes.")
    ).to_be_visible()
    expect(page.get_by_label("Email")).to_have_value(owner.email)
    expect(page.get_by_label("Password")).to_have_value(DEMO_PASSWORD)
    expect(page.get_by_role("button", name="Log in")).to_be_enabled()
    screenshot(page, "login-throttled")


def test_group_form_says_when_to_try_again_and_keeps_what_was_typed(
    new_page: Callable[..., Page], app_db: Session
) -> None:
    maker = _account(app_db, "Greta")
    page = new_page()
    page.goto("/login")
    page.get_by_label("Email").fill(maker.email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="My groups")).to_be_visible()
    # As if they had just created as many groups as an hour allows.
    limit = groups.GROUPS_CREATED
    app_db.add(
        RateLimit(
            key=limit.key(maker.id or 0), window_start=dt.datetime.now(dt.UTC), count=limit.max
        )
    )
    app_db.commit()

    page.get_by_label("Name").fill("One group too many")
    page.get_by_label("Description").fill("Typed with care, kept with care.")
    page.get_by_label("Category").select_option(label="Professional")
    page.get_by_role("button", name="Create group").click()
    expect(
        page.get_by_text("You have created many groups in a short time. Try again in 60 minutes.")
    ).to_be_visible()
    expect(page.get_by_label("Name")).to_have_value("One group too many")
    expect(page.get_by_label("Description")).to_have_value("Typed with care, kept with care.")
