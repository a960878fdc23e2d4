"""An admin builds a program in the wizard; members sign up as mentor and mentee."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from playwright.sync_api import Page, expect

from mentor_app.seed import DEMO_PASSWORD
from tests.e2e.conftest import screenshot


def demo_log_in(page: Page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="My groups")).to_be_visible()


def open_group(page: Page, name: str) -> str:
    page.goto("/groups")
    page.get_by_role("link", name=name).first.click()
    expect(page.get_by_role("heading", name=name)).to_be_visible()
    return page.url


def test_admin_builds_a_program_resumes_and_members_sign_up(
    new_page: Callable[..., Page],
) -> None:
    admin = new_page()
    demo_log_in(admin, "ada.admin@example.org")
    open_group(admin, "Product Professionals Network")
    admin.get_by_role("link", name="Create a program").click()
    admin.get_by_role("button", name="Use Career advancement").click()

    # Step 2: details, validated before Next.
    expect(admin.get_by_label("Title")).to_be_visible()
    admin.get_by_label("Title").fill("Spring product mentoring")
    admin.get_by_label("Length in weeks").fill("0")
    admin.get_by_role("button", name="Next").click()
    expect(admin.get_by_text("Choose between 1 and 52 weeks.")).to_be_visible()
    admin.get_by_label("Length in weeks").fill("8")
    start = (dt.date.today() + dt.timedelta(days=14)).isoformat()
    admin.get_by_label("Start date").fill(start)
    admin.get_by_role("button", name="Next").click()

    # Step 3: questions. Leave here and come back: the wizard resumes at step 3.
    expect(admin.get_by_role("heading", name="Sign-up questions")).to_be_visible()
    wizard_url = admin.url
    admin.goto("/groups")
    admin.goto(wizard_url)
    expect(admin.get_by_role("heading", name="Sign-up questions")).to_be_visible()
    screenshot(admin, "wizard-questions")
    admin.get_by_role("button", name="Next").click()

    # Step 4: journey, then 5: review and publish.
    expect(admin.get_by_role("heading", name="Journey")).to_be_visible()
    admin.get_by_role("button", name="Next").click()
    expect(admin.get_by_role("heading", name="Review and publish")).to_be_visible()
    admin.get_by_role("button", name="Publish").click()
    expect(admin.get_by_role("heading", name="Spring product mentoring")).to_be_visible()
    expect(admin.get_by_text("open", exact=True)).to_be_visible()
    program_url = admin.url

    mentor = new_page()
    demo_log_in(mentor, "maya.mentor@example.org")
    mentor.goto(program_url)
    mentor.get_by_role("button", name="Sign up as mentor").click()
    mentor.get_by_role("button", name="Send application").click()
    expect(mentor.get_by_role("alert").first).to_be_visible()  # required answers missing
    for group in mentor.locator("fieldset").all():
        boxes = group.locator("input[type=checkbox], input[type=radio]")
        if boxes.count():
            boxes.first.check()
        else:
            group.locator("input, textarea").first.fill("I have led product teams for ten years.")
    mentor.get_by_label("How many mentees can you take?").select_option("2")
    mentor.get_by_role("button", name="Send application").click()
    expect(mentor.get_by_role("heading", name="Your application")).to_be_visible()

    mentee = new_page()
    demo_log_in(mentee, "theo.mentee@example.org")
    mentee.goto(program_url)
    mentee.get_by_role("button", name="Sign up as mentee").click()
    for group in mentee.locator("fieldset").all():
        boxes = group.locator("input[type=checkbox], input[type=radio]")
        if boxes.count():
            boxes.first.check()
        else:
            group.locator("input, textarea").first.fill("I want to move into product management.")
    mentee.get_by_role("button", name="Send application").click()
    expect(mentee.get_by_role("heading", name="Your application")).to_be_visible()

    admin.reload()
    expect(admin.get_by_label("Application counts")).to_have_text(
        re.compile(r"Mentors: \d+ · Mentees: \d+")
    )
    expect(admin.get_by_role("cell", name="Maya Okafor")).to_be_visible()
    expect(admin.get_by_role("cell", name="Theo Martin")).to_be_visible()
    screenshot(admin, "program-admin")


def test_ineligible_group_offers_no_program_and_non_admin_is_refused(
    new_page: Callable[..., Page],
) -> None:
    admin = new_page()
    demo_log_in(admin, "ada.admin@example.org")
    open_group(admin, "Sunday Hikers")
    expect(admin.get_by_role("link", name="Create a program")).to_have_count(0)
    url = admin.url.rstrip("/") + "/programs/new"
    admin.goto(url)
    expect(admin.get_by_role("alert")).to_contain_text("only available for")

    member = new_page()
    demo_log_in(member, "sam.mentee@example.org")
    group_url = open_group(member, "Product Professionals Network")
    expect(member.get_by_role("link", name="Create a program")).to_have_count(0)
    member.goto(group_url.rstrip("/") + "/programs/new")
    expect(member.get_by_role("alert")).to_contain_text("Only group admins")


def test_a_week_added_by_lengthening_asks_for_its_focus_on_its_own_card(
    new_page: Callable[..., Page],
) -> None:
    admin = new_page()
    demo_log_in(admin, "ada.admin@example.org")
    open_group(admin, "Grow Every Day")
    admin.get_by_role("link", name="Create a program").click()
    admin.get_by_role("button", name="Use Skills development").click()
    weeks = admin.get_by_label("Length in weeks")
    expect(weeks).to_have_value("6")
    weeks.fill("7")
    start = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    admin.get_by_label("Start date").fill(start)
    admin.get_by_role("button", name="Next").click()
    expect(admin.get_by_role("heading", name="Sign-up questions")).to_be_visible()
    admin.get_by_role("button", name="Next").click()
    expect(admin.get_by_role("heading", name="Journey")).to_be_visible()
    admin.get_by_role("button", name="Next").click()

    week_7 = admin.locator(".rt-Card").filter(has=admin.get_by_label("Week 7 focus"))
    expect(week_7.get_by_role("alert")).to_have_text("Say what pairs should talk about in week 7.")
    admin.get_by_label("Week 7 focus").fill("Look back on the program and plan what comes next.")
    admin.get_by_role("button", name="Next").click()
    expect(admin.get_by_role("heading", name="Review and publish")).to_be_visible()
