"""Settings → security: a password change and "Log out everywhere" sign out the member's
other browsers, whose open tabs land on the log-in page at their next action."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.e2e.conftest import screenshot
from tests.e2e.test_programs import log_in_on_the_form

OLD_PASSWORD = "a sturdy passphrase"
NEW_PASSWORD = "an even sturdier passphrase"
PHONE = {"width": 390, "height": 844}


def _email() -> str:
    return f"sam.{uuid.uuid4().hex[:8]}@example.org"


def sign_up(page: Page, *, email: str) -> None:
    page.goto("/signup")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Display name").fill("Sam Settings")
    page.get_by_label("Password").fill(OLD_PASSWORD)
    page.get_by_label("Date of birth").fill("1990-05-05")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="My groups")).to_be_visible()


def open_settings(page: Page) -> None:
    page.get_by_role("link", name="Settings", exact=True).click()
    expect(page.get_by_role("heading", name="Password")).to_be_visible()
    # Live: a form's button stays disabled until the page's state has come (Enter sends
    # nothing before, and what was typed stays). A run under load pressed Enter earlier.
    expect(page.get_by_role("button", name="Change password")).to_be_enabled()


def fill_password_form(page: Page, *, current: str, new: str, confirm: str) -> None:
    page.get_by_label("Current password").fill(current)
    page.get_by_label("New password", exact=True).fill(new)
    page.get_by_label("Confirm new password").fill(confirm)


def expect_sent_to_log_in(page: Page) -> None:
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/login/?\?next=/"))


def test_password_change_and_log_out_everywhere_sign_out_the_other_browser(
    new_page: Callable[..., Page],
) -> None:
    email = _email()
    laptop = new_page()
    sign_up(laptop, email=email)
    phone = new_page(PHONE)
    log_in_on_the_form(phone, email, OLD_PASSWORD)
    expect(phone.get_by_role("heading", name="My groups")).to_be_visible()

    open_settings(laptop)
    fill_password_form(laptop, current=OLD_PASSWORD, new=NEW_PASSWORD, confirm=NEW_PASSWORD)
    laptop.get_by_role("button", name="Change password").click()
    expect(laptop.get_by_text("Your password was changed.")).to_be_visible()
    # The form is emptied: no password stays on the page.
    for label in ("Current password", "Confirm new password"):
        expect(laptop.get_by_label(label)).to_have_value("")
    expect(laptop.get_by_label("New password", exact=True)).to_have_value("")
    screenshot(laptop, "settings-password-changed")

    # The phone's tab is still open on My groups; its next action finds it signed out.
    phone.get_by_role("link", name="Settings", exact=True).click()
    expect_sent_to_log_in(phone)

    # The laptop kept its session.
    laptop.get_by_role("link", name="My groups").click()
    expect(laptop.get_by_role("heading", name="My groups")).to_be_visible()

    # The old password no longer opens the account; the new one does.
    log_in_on_the_form(phone, email, OLD_PASSWORD)
    expect(phone.get_by_text("Email or password is incorrect.")).to_be_visible()
    log_in_on_the_form(phone, email, NEW_PASSWORD)
    expect(phone.get_by_role("heading", name="My groups")).to_be_visible()

    # Log out everywhere, from the laptop, after saying what it does.
    open_settings(laptop)
    laptop.get_by_role("button", name="Log out everywhere").click()
    dialog = laptop.get_by_role("alertdialog")
    expect(dialog).to_contain_text("this one included")
    screenshot(laptop, "settings-log-out-everywhere-dialog")
    dialog.get_by_role("button", name="Log out everywhere").click()
    expect_sent_to_log_in(laptop)

    phone.get_by_role("link", name="Settings", exact=True).click()
    expect_sent_to_log_in(phone)
    log_in_on_the_form(phone, email, NEW_PASSWORD)
    expect(phone.get_by_role("heading", name="My groups")).to_be_visible()


def test_password_form_shows_each_refusal_next_to_its_field_on_a_phone(
    new_page: Callable[..., Page],
) -> None:
    page = new_page(PHONE)
    email = _email()
    sign_up(page, email=email)
    open_settings(page)

    # Keyboard only: type, Tab to the next field, Enter submits.
    page.get_by_label("Current password").focus()
    page.keyboard.type(OLD_PASSWORD)
    page.keyboard.press("Tab")
    page.keyboard.type(NEW_PASSWORD)
    page.keyboard.press("Tab")
    page.keyboard.type("something else entirely")
    page.keyboard.press("Enter")
    confirm = page.get_by_label("Confirm new password")
    expect(page.locator("#field-confirm_password-error")).to_have_text(
        "The new passwords don't match."
    )
    expect(confirm).to_have_attribute("aria-invalid", "true")

    fill_password_form(page, current="not my password", new=NEW_PASSWORD, confirm=NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.locator("#field-current_password-error")).to_have_text(
        "Your current password is incorrect."
    )
    expect(page.locator("#field-confirm_password-error")).to_have_count(0)

    fill_password_form(page, current=OLD_PASSWORD, new="short", confirm="short")
    page.get_by_role("button", name="Change password").click()
    expect(page.locator("#field-new_password-error")).to_have_text("Use at least 8 characters.")
    expect(page.locator("#field-current_password-error")).to_have_count(0)
    # Nothing on the page is wider than the phone.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width
    screenshot(page, "settings-password-refused-phone")

    # Cancelling the dialog (Escape) keeps this browser signed in.
    page.get_by_role("button", name="Log out everywhere").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("alertdialog")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("alertdialog")).to_have_count(0)
    page.get_by_role("link", name="My groups").click()
    expect(page.get_by_role("heading", name="My groups")).to_be_visible()

    # None of it changed the password.
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()  # the page reloaded
    log_in_on_the_form(page, email, OLD_PASSWORD)
    expect(page.get_by_role("heading", name="My groups")).to_be_visible()
