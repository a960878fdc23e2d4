"""Settings → Your data: a member downloads their data, then deletes their account with
their password; every tab of theirs is signed out, and the account no longer logs in."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable

from playwright.sync_api import Page, expect
from sqlmodel import Session

from mentor_app.seed import DEMO_PASSWORD
from tests.e2e.conftest import screenshot
from tests.e2e.test_journey import arrange_pair_two_weeks_in
from tests.e2e.test_programs import demo_log_in, log_in_on_the_form

PASSWORD = "a sturdy passphrase"
PHONE = {"width": 390, "height": 844}
NAME = "Robin Leaving"


def _email() -> str:
    return f"robin.{uuid.uuid4().hex[:8]}@example.org"


def sign_up(page: Page, *, email: str) -> None:
    page.goto("/signup")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Display name").fill(NAME)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Date of birth").fill("1990-05-05")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="My groups")).to_be_visible()


def open_settings(page: Page) -> None:
    page.get_by_role("link", name="Settings", exact=True).click()
    expect(page.get_by_role("heading", name="Your data")).to_be_visible()


def test_member_downloads_their_data_from_settings(new_page: Callable[..., Page]) -> None:
    page = new_page()
    email = _email()
    sign_up(page, email=email)
    open_settings(page)

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download my data").click()
    download = download_info.value
    assert re.fullmatch(
        r"mentor-circles-my-data(-\d{4}-\d{2}-\d{2})?\.json", download.suggested_filename
    )
    path = download.path()
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["profile"]["email"] == email
    assert data["profile"]["display_name"] == NAME
    assert data["profile"]["date_of_birth"] == "1990-05-05"
    assert data["pairs"] == [] and "notifications" in data


def test_member_deletes_their_account_with_their_password(new_page: Callable[..., Page]) -> None:
    email = _email()
    phone = new_page(PHONE)
    sign_up(phone, email=email)
    laptop = new_page()
    log_in_on_the_form(laptop, email, PASSWORD)
    expect(laptop.get_by_role("heading", name="My groups")).to_be_visible()

    open_settings(phone)
    phone.get_by_role("button", name="Delete my account").click()
    dialog = phone.get_by_role("alertdialog")  # a destructive act
    expect(dialog).to_contain_text("Your active pairs end")
    expect(dialog).to_contain_text("Deleted member 7f3a")
    password = dialog.get_by_label("Your password")

    # A wrong password first: refused next to the field, and the dialog stays open.
    password.fill("not my password")
    dialog.get_by_role("button", name="Delete my account for good").click()
    expect(phone.locator("#field-delete_password-error")).to_have_text(
        "Your password is incorrect."
    )
    expect(password).to_have_attribute("aria-invalid", "true")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width
    screenshot(phone, "settings-delete-account-wrong-password")

    password.fill(PASSWORD)
    dialog.get_by_role("button", name="Delete my account for good").click()
    expect(phone.get_by_text("Your account has been deleted")).to_be_visible()
    expect(phone).to_have_url(re.compile(r"/\?account=deleted$"))
    expect(phone.get_by_role("banner").get_by_role("link", name="Log in")).to_be_visible()
    screenshot(phone, "home-after-account-deleted")

    # The other browser's tab is signed out at its next step.
    laptop.get_by_role("link", name="Settings", exact=True).click()
    expect(laptop.get_by_role("heading", name="Log in")).to_be_visible()

    # The account no longer logs in; the address is free to sign up again.
    log_in_on_the_form(laptop, email, PASSWORD)
    expect(laptop.get_by_text("Email or password is incorrect.")).to_be_visible()
    sign_up(laptop, email=email)


def test_the_download_needs_the_members_own_session_and_page(
    new_page: Callable[..., Page],
) -> None:
    page = new_page()
    # Signed out: sent to log in, nothing else.
    answer = page.request.get("/account/data", max_redirects=0)
    assert answer.status == 303 and answer.headers["location"] == "/login?next=/settings"
    sign_up(page, email=_email())
    signed_in = page.request.get("/account/data", max_redirects=0)
    assert signed_in.status == 200 and signed_in.json()["profile"]["display_name"] == NAME
    # Asked for by another site's page (the browser says so): refused.
    foreign = page.request.get(
        "/account/data", max_redirects=0, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert foreign.status == 403 and NAME not in foreign.text()


def test_the_partners_open_page_shows_the_pair_ended_and_the_message_gone(
    new_page: Callable[..., Page], app_db: Session
) -> None:
    _program, pair_id = arrange_pair_two_weeks_in(
        app_db,
        ("ola.mentor@example.org", "Ola Mentor"),
        ("bo.mentee@example.org", "Bo Mentee"),
        title="Deletion test program",
    )
    url = f"/pairs/{pair_id}"
    mentor, mentee = new_page(), new_page()
    for page, email in ((mentor, "ola.mentor@example.org"), (mentee, "bo.mentee@example.org")):
        demo_log_in(page, email, then=url)
        expect(page.get_by_label("Message", exact=True)).to_be_visible()
    mentee.get_by_label("Message", exact=True).fill("A message Bo will take away")
    mentee.get_by_role("button", name="Send").click()
    log = mentor.get_by_role("log", name="Messages")
    expect(log).to_contain_text("A message Bo will take away")

    open_settings(mentee)
    mentee.get_by_role("button", name="Delete my account").click()
    mentee.get_by_label("Your password").fill(DEMO_PASSWORD)
    mentee.get_by_role("button", name="Delete my account for good").click()
    expect(mentee.get_by_text("Your account has been deleted")).to_be_visible()

    # The mentor's page, open all along, turns read-only and loses Bo's words.
    expect(mentor.get_by_text(re.compile("This pair ended on"))).to_be_visible()
    expect(log).not_to_contain_text("A message Bo will take away")
    # Loaded afresh, the page names the partner by the pseudonym.
    mentor.reload()
    expect(mentor.get_by_text(re.compile(r"Deleted member [0-9a-f]{4}")).first).to_be_visible()
    expect(mentor.get_by_text("Bo Mentee")).to_have_count(0)
    mentor.get_by_role("link", name=re.compile("Notifications")).first.click()
    expect(mentor.get_by_text("deleted their account, so your pair has ended.")).to_be_visible()
