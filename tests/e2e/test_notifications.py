"""The header bell and the notification center: counts live in every tab of a member."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Locator, Page, expect
from sqlmodel import Session, select

from mentor_app.models import Notification, User
from mentor_app.seed import DEMO_PASSWORD
from mentor_app.services import accounts
from tests.e2e.conftest import screenshot
from tests.e2e.test_journey import arrange_pair_two_weeks_in
from tests.e2e.test_programs import demo_log_in

NUDGE = "Week 2 is under way: check in with Zed Mentor."


def bell(page: Page, unread: int) -> Locator:
    name = f"Notifications, {unread} unread" if unread else "Notifications"
    return page.get_by_role("banner").get_by_role("link", name=name, exact=True)


def test_a_member_follows_the_bell_to_an_unread_nudge_and_every_tab_keeps_count(
    new_page: Callable[..., Page], app_db: Session
) -> None:
    _program_id, pair_id = arrange_pair_two_weeks_in(
        app_db,
        ("zed.mentor@example.org", "Zed Mentor"),
        ("amy.mentee@example.org", "Amy Mentee"),
        title="Bell test program",
    )
    amy_id = app_db.exec(select(User.id).where(User.email == "amy.mentee@example.org")).one()
    app_db.add(Notification(user_id=amy_id, kind="nudge", text=NUDGE, link=f"/pairs/{pair_id}"))
    app_db.commit()

    # Amy has two unread: being paired, and the nudge. Her second tab shows the same.
    amy = new_page()
    demo_log_in(amy, "amy.mentee@example.org")
    expect(bell(amy, 2)).to_be_visible()
    other_tab = amy.context.new_page()
    other_tab.goto("/groups")
    expect(bell(other_tab, 2)).to_be_visible()

    # The bell opens the center: newest first, unread ones marked.
    bell(amy, 2).click()
    expect(amy).to_have_url(re.compile(r"/notifications$"))
    expect(amy.get_by_role("heading", name="Notifications", level=1)).to_be_visible()
    items = amy.get_by_role("list", name="Notifications").get_by_role("listitem")
    expect(items).to_have_count(2)
    expect(items.first).to_contain_text(NUDGE)
    expect(items.first).to_contain_text("New")
    expect(items.nth(1)).to_contain_text("Zed Mentor is your mentor in “Bell test program”.")
    expect(amy.get_by_text("2 unread")).to_be_visible()
    screenshot(amy, "notifications")

    # Open follows the link to the pair page and marks that one read, in both tabs.
    amy.get_by_role("link", name=f"Open: {NUDGE}").click()
    expect(amy).to_have_url(re.compile(rf"/pairs/{pair_id}$"))
    expect(amy.get_by_role("heading", name="Your mentor: Zed Mentor")).to_be_visible()
    expect(bell(amy, 1)).to_be_visible()
    expect(bell(other_tab, 1)).to_be_visible()

    # Mark all read: the count goes, in the other tab too, without a reload.
    bell(amy, 1).click()
    amy.get_by_role("button", name="Mark all read").click()
    expect(amy.get_by_role("status")).to_contain_text("Marked 1 notification read.")
    expect(amy.get_by_text("You're all caught up.")).to_be_visible()
    expect(items.first).not_to_contain_text("New")
    expect(bell(amy, 0)).to_be_visible()
    expect(bell(other_tab, 0)).to_be_visible()

    # Someone else's action reaches Amy's open tabs live: Zed ends the pair.
    zed = new_page()
    demo_log_in(zed, "zed.mentor@example.org", then=f"/pairs/{pair_id}")
    zed.get_by_role("button", name="End this pair").click()
    dialog = zed.get_by_role("alertdialog")
    dialog.get_by_label("Why is it ending?").select_option("not_a_good_fit")
    dialog.get_by_role("button", name="End the pair").click()
    expect(bell(other_tab, 1)).to_be_visible()
    expect(bell(amy, 1)).to_be_visible()


def test_a_member_without_notifications_sees_an_empty_center(
    new_page: Callable[..., Page], app_db: Session
) -> None:
    accounts.sign_up(
        app_db,
        email="nia.new@example.org",
        display_name="Nia New",
        password=DEMO_PASSWORD,
        date_of_birth="1991-02-03",
    )
    app_db.commit()
    page = new_page()
    demo_log_in(page, "nia.new@example.org")
    page.get_by_role("link", name="Notifications", exact=True).click()
    expect(page.get_by_text("No notifications yet.")).to_be_visible()
    expect(page.get_by_role("button", name="Mark all read")).to_have_count(0)


def test_the_center_needs_a_signed_in_member(new_page: Callable[..., Page]) -> None:
    page = new_page()
    page.goto("/notifications")
    expect(page).to_have_url(re.compile(r"/login/?\?next=/notifications/?$"))
