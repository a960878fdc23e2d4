"""An admin builds a program in the wizard; members sign up as mentor and mentee."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from playwright.sync_api import Page, expect
from sqlmodel import Session

from mentor_app.seed import DEMO_PASSWORD
from tests.e2e.cohorts import arrange_big_cohort, pages_of
from tests.e2e.conftest import screenshot
from tests.support.app_fixtures import open_dialog

# What the log-in page's script posts (components: post_form_script), posted by the browser
# from a page of the app's origin: the form's fields, the browser's time zone, same-origin.
_LOG_IN = """async ([email, password]) => {
    const body = new FormData();
    body.set("email", email);
    body.set("password", password);
    body.set("timezone", Intl.DateTimeFormat().resolvedOptions().timeZone || "");
    const answer = await fetch("/auth/login", {method: "POST", body, credentials: "same-origin"});
    return [answer.status, await answer.text()];
}"""


def demo_log_in(page: Page, email: str, then: str | None = "/groups") -> None:
    """Signs a demo member in through the real log-in endpoint, as the log-in page's script
    does, then opens `then` (My groups by default) as the page after a log-in loads it, or
    nothing (None: the caller opens the page it needs). The browser posts from the app's
    plain-text /ping, not from the log-in page: each page the tests load costs the browser
    about half a second of CPU, the suite's largest cost on two cores, and the log-in form
    has tests of its own (test_accounts_and_groups, test_keyboard, tests/adversarial/
    test_auth)."""
    page.goto("/ping")
    status, answer = page.evaluate(_LOG_IN, [email, DEMO_PASSWORD])
    assert status == 200 and '"ok":true' in answer.replace(" ", ""), (status, answer)
    if then is not None:
        page.goto(then)
    if then == "/groups":
        expect(page.get_by_role("heading", name="My groups")).to_be_visible()


def log_in_on_the_form(page: Page, email: str, password: str = DEMO_PASSWORD) -> None:
    """Signs in on the log-in page itself, as a member does: for the tests of that page and
    of what follows a log-in (a changed password, a second device). Waits for nothing after
    the press."""
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def open_group(page: Page, name: str) -> str:
    page.goto("/groups")
    page.get_by_role("link", name=name).first.click()
    expect(page.get_by_role("heading", name=name)).to_be_visible()
    return page.url


def test_admin_builds_a_program_resumes_and_members_sign_up(
    new_page: Callable[..., Page],
) -> None:
    admin = new_page()
    demo_log_in(admin, "ada.admin@example.org", then=None)
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
    demo_log_in(mentor, "maya.mentor@example.org", then=program_url)
    mentor.get_by_role("button", name="Sign up as mentor").click()
    mentor.get_by_role("button", name="Send application").click()
    expect(mentor.get_by_role("alert").first).to_be_visible()  # required answers missing
    fill_application(mentor, "I have led product teams for ten years.")
    mentor.get_by_label("How many mentees can you take?").select_option("2")
    mentor.get_by_role("button", name="Send application").click()
    expect(mentor.get_by_role("heading", name="Your application")).to_be_visible()

    mentee = new_page()
    demo_log_in(mentee, "theo.mentee@example.org", then=program_url)
    mentee.get_by_role("button", name="Sign up as mentee").click()
    fill_application(mentee, "I want to move into product management.")
    mentee.get_by_role("button", name="Send application").click()
    expect(mentee.get_by_role("heading", name="Your application")).to_be_visible()

    admin.reload()
    expect(admin.get_by_label("Application counts")).to_have_text(
        re.compile(r"Mentors: \d+ · Mentees: \d+")
    )
    expect(admin.get_by_role("cell", name="Maya Okafor", exact=True)).to_be_visible()
    expect(admin.get_by_role("cell", name="Theo Martin", exact=True)).to_be_visible()
    screenshot(admin, "program-admin")


def test_ineligible_group_offers_no_program_and_non_admin_is_refused(
    new_page: Callable[..., Page],
) -> None:
    admin = new_page()
    demo_log_in(admin, "ada.admin@example.org", then=None)
    open_group(admin, "Sunday Hikers")
    expect(admin.get_by_role("link", name="Create a program")).to_have_count(0)
    url = admin.url.rstrip("/") + "/programs/new"
    admin.goto(url)
    expect(admin.get_by_role("alert")).to_contain_text("only available for")

    member = new_page()
    demo_log_in(member, "sam.mentee@example.org", then=None)
    group_url = open_group(member, "Product Professionals Network")
    expect(member.get_by_role("link", name="Create a program")).to_have_count(0)
    member.goto(group_url.rstrip("/") + "/programs/new")
    expect(member.get_by_role("alert")).to_contain_text("Only group admins")


def test_a_week_added_by_lengthening_asks_for_its_focus_on_its_own_card(
    new_page: Callable[..., Page],
) -> None:
    admin = new_page()
    demo_log_in(admin, "ada.admin@example.org", then=None)
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


def publish_program(admin: Page, group: str, template: str, title: str) -> str:
    """Walks an admin through the wizard with the template's defaults; returns the page URL."""
    open_group(admin, group)
    admin.get_by_role("link", name="Create a program").click()
    admin.get_by_role("button", name=f"Use {template}").click()
    admin.get_by_label("Title").fill(title)
    start = (dt.date.today() + dt.timedelta(days=7)).isoformat()
    admin.get_by_label("Start date").fill(start)
    admin.get_by_role("button", name="Next").click()
    expect(admin.get_by_role("heading", name="Sign-up questions")).to_be_visible()
    admin.get_by_role("button", name="Next").click()
    expect(admin.get_by_role("heading", name="Journey")).to_be_visible()
    admin.get_by_role("button", name="Next").click()
    admin.get_by_role("button", name="Publish").click()
    expect(admin.get_by_role("heading", name=title)).to_be_visible()
    return admin.url


def fill_application(page: Page, text: str) -> None:
    """Answers every question: the first choice, or `text`. Waits for the form first, since
    `.all()` itself does not wait and would find no question yet."""
    expect(page.locator("fieldset").first).to_be_visible()
    for group in page.locator("fieldset").all():
        boxes = group.locator("input[type=checkbox], input[type=radio]")
        if boxes.count():
            boxes.first.check()
        else:
            group.locator("input, textarea").first.fill(text)


def test_admin_reorders_edits_and_removes_questions_and_the_draft_keeps_them(
    new_page: Callable[..., Page],
) -> None:
    admin = new_page()
    demo_log_in(admin, "ada.admin@example.org", then=None)
    open_group(admin, "Grow Every Day")
    admin.get_by_role("link", name="Create a program").click()
    admin.get_by_role("button", name="Use Encouragement and support").click()
    admin.get_by_label("Title").fill("Question editing")
    admin.get_by_label("Start date").fill((dt.date.today() + dt.timedelta(days=5)).isoformat())
    admin.get_by_role("button", name="Next").click()
    expect(admin.get_by_role("heading", name="Sign-up questions")).to_be_visible()

    first, second = admin.get_by_label("Question 1 text"), admin.get_by_label("Question 2 text")
    text_1, text_2 = first.input_value(), second.input_value()
    assert text_1 and text_2 and text_1 != text_2
    cards = admin.locator(".rt-Card").filter(has=admin.get_by_text("Used for matching"))
    count = cards.count()

    # Reorder: question 1 moves down, so the old second question now comes first.
    admin.get_by_role("button", name="Move Question 1 down").click()
    expect(admin.get_by_label("Question 1 text")).to_have_value(text_2)
    expect(admin.get_by_label("Question 2 text")).to_have_value(text_1)

    # Edit: a new wording for the (new) first question.
    admin.get_by_label("Question 1 text").fill("What kind of encouragement helps you most?")
    admin.get_by_label("Question 1 text").press("Tab")

    # Remove the third question.
    text_3 = admin.get_by_label("Question 3 text").input_value()
    admin.get_by_role("button", name="Remove Question 3").click()
    expect(cards).to_have_count(count - 1)
    expect(admin.get_by_label("Question 3 text")).not_to_have_value(text_3)

    # An added question with no text is refused on its own card.
    admin.get_by_role("button", name="Add mentee question").click()
    expect(cards).to_have_count(count)
    admin.get_by_role("button", name="Next").click()
    new_card = cards.filter(has=admin.get_by_label(f"Question {count} text"))
    expect(new_card.get_by_role("alert")).to_have_text("Write the question.")
    admin.get_by_label(f"Question {count} text").fill("Anything else we should know?")
    admin.get_by_label(f"Question {count} text").press("Tab")
    admin.get_by_role("button", name="Next").click()
    expect(admin.get_by_role("heading", name="Journey")).to_be_visible()

    # The saved draft holds every change: reload, go back to the questions.
    admin.reload()
    expect(admin.get_by_role("heading", name="Journey")).to_be_visible()
    admin.get_by_role("button", name="Back").click()
    expect(admin.get_by_label("Question 1 text")).to_have_value(
        "What kind of encouragement helps you most?"
    )
    expect(admin.get_by_label("Question 2 text")).to_have_value(text_1)
    expect(cards).to_have_count(count)
    expect(admin.get_by_label(f"Question {count} text")).to_have_value(
        "Anything else we should know?"
    )


def test_member_edits_then_withdraws_an_application(new_page: Callable[..., Page]) -> None:
    admin = new_page()
    demo_log_in(admin, "ada.admin@example.org")
    url = publish_program(admin, "Product Professionals Network", "Career advancement", "Edits")

    member = new_page()
    demo_log_in(member, "lina.mentor@example.org", then=url)
    member.get_by_role("button", name="Sign up as mentor").click()
    fill_application(member, "I have coached designers into product roles.")
    member.get_by_label("How many mentees can you take?").select_option("1")
    member.get_by_role("button", name="Send application").click()
    expect(member.get_by_role("heading", name="Your application")).to_be_visible()
    expect(
        member.get_by_text(re.compile(r"for up to 1 mentee\.$"))
    ).to_be_visible()  # not "1 mentees"

    member.get_by_role("button", name="Edit application").click()
    why = (
        member.locator("fieldset").filter(has_text="Why do you want to mentor").locator("textarea")
    )
    expect(why).to_have_value("I have coached designers into product roles.")
    why.fill("Ten years of product work, happy to share it.")
    member.get_by_label("How many mentees can you take?").select_option("3")
    member.get_by_role("button", name="Send application").click()
    expect(member.get_by_text("Application saved.")).to_be_visible()
    expect(member.get_by_text("Ten years of product work, happy to share it.")).to_be_visible()
    expect(member.get_by_text("for up to 3 mentees")).to_be_visible()

    # Withdrawing asks first; Cancel keeps the application.
    member.get_by_role("button", name="Withdraw").click()
    dialog = member.get_by_role("alertdialog")
    expect(dialog).to_contain_text("Withdraw your application?")
    dialog.get_by_role("button", name="Cancel").click()
    expect(member.get_by_role("heading", name="Your application")).to_be_visible()
    dialog = open_dialog(member, member.get_by_role("button", name="Withdraw"))
    dialog.get_by_role("button", name="Withdraw").click()
    expect(member.get_by_text("You withdrew your application.")).to_be_visible()
    expect(member.get_by_role("heading", name="Your application")).to_have_count(0)
    expect(member.get_by_role("button", name="Sign up as mentor")).to_be_visible()

    admin.reload()
    row = admin.get_by_role("row").filter(has_text="Lina Park")
    expect(row).to_contain_text("withdrawn")


def test_admin_starts_then_closes_a_program_after_confirming(
    new_page: Callable[..., Page],
) -> None:
    admin = new_page()
    demo_log_in(admin, "ada.admin@example.org")
    publish_program(admin, "Product Professionals Network", "Skills development", "Lifecycle")
    expect(admin.get_by_text("open", exact=True)).to_be_visible()

    admin.get_by_role("button", name="Start the program").click()
    admin.get_by_role("alertdialog").get_by_role("button", name="Cancel").click()
    expect(admin.get_by_text("open", exact=True)).to_be_visible()

    admin.get_by_role("button", name="Start the program").click()
    expect(admin.get_by_role("alertdialog")).to_contain_text("Sign-ups close")
    admin.get_by_role("alertdialog").get_by_role("button", name="Start the program").click()
    expect(admin.get_by_text("active", exact=True)).to_be_visible()

    admin.get_by_role("button", name="Close the program").click()
    expect(admin.get_by_role("alertdialog")).to_contain_text("can't be undone")
    admin.get_by_role("alertdialog").get_by_role("button", name="Close the program").click()
    expect(admin.get_by_text("closed", exact=True)).to_be_visible()
    expect(admin.get_by_role("button", name="Close the program")).to_have_count(0)


def test_wizard_fits_a_phone_screen(new_page: Callable[..., Page]) -> None:
    admin = new_page(viewport={"width": 390, "height": 844})
    demo_log_in(admin, "ada.admin@example.org", then=None)
    open_group(admin, "Grow Every Day")
    admin.get_by_role("link", name="Create a program").click()
    admin.get_by_role("button", name="Use Career advancement").click()

    def fits(heading: str) -> None:
        width = admin.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"wizard step {heading!r} scrolls sideways on a phone ({width}px)"
        if heading == "Sign-up questions":
            screenshot(admin, "wizard-phone")

    through_the_wizard(admin, fits)


def through_the_wizard(page: Page, at_each_step: Callable[[str], None]) -> None:
    """From the Details step to Review and publish with the template's values (a start date
    five days on), calling `at_each_step(heading)` once each step shows."""
    for heading in ("Details", "Sign-up questions", "Journey", "Review and publish"):
        if heading == "Details":
            expect(page.get_by_label("Title")).to_be_visible()
            page.get_by_label("Start date").fill(
                (dt.date.today() + dt.timedelta(days=5)).isoformat()
            )
        else:
            expect(page.get_by_role("heading", name=heading)).to_be_visible()
        at_each_step(heading)
        if heading != "Review and publish":
            page.get_by_role("button", name="Next").click()


def test_the_admin_pages_through_each_roles_applications(
    new_page: Callable[..., Page], app_db: Session
) -> None:
    cohort = arrange_big_cohort(app_db, mentees=45, mentors=25)
    admin = new_page()
    demo_log_in(admin, cohort.admin_email, then=f"/programs/{cohort.program_id}")
    expect(admin.get_by_label("Application counts")).to_have_text("Mentors: 25 · Mentees: 45")

    mentees = admin.get_by_role("region", name="Mentee applications").get_by_role("row")
    mentee_pages = pages_of(admin, "Mentee applications pages")
    expect(admin.get_by_role("heading", name="Mentee applications (45)")).to_be_visible()
    expect(mentees).to_have_count(21)  # the header and a page
    expect(mentee_pages).to_contain_text("Page 1 of 3")
    expect(mentee_pages.get_by_role("button", name="Previous")).to_be_disabled()
    mentee_pages.get_by_role("button", name="Next").click()
    expect(mentee_pages).to_contain_text("Page 2 of 3")
    expect(admin.get_by_role("cell", name="Mentee 21", exact=True)).to_be_visible()
    expect(admin.get_by_role("cell", name="Mentee 01", exact=True)).to_have_count(0)
    mentee_pages.get_by_role("button", name="Next").click()
    expect(mentee_pages).to_contain_text("Page 3 of 3")
    expect(mentees).to_have_count(6)
    expect(mentee_pages.get_by_role("button", name="Next")).to_be_disabled()

    # Each role pages on its own.
    mentors = admin.get_by_role("region", name="Mentor applications").get_by_role("row")
    mentor_pages = pages_of(admin, "Mentor applications pages")
    expect(mentor_pages).to_contain_text("Page 1 of 2")
    mentor_pages.get_by_role("button", name="Next").click()
    expect(mentor_pages).to_contain_text("Page 2 of 2")
    expect(mentors).to_have_count(6)
    expect(admin.get_by_role("cell", name="Mentor 25", exact=True)).to_be_visible()
    expect(mentee_pages).to_contain_text("Page 3 of 3")

    # Removing an application keeps the page: the removed one goes after the active ones.
    row = admin.get_by_role("row").filter(has_text="Mentee 41")
    row.get_by_role("button", name="Remove the application of Mentee 41").click()
    admin.get_by_label("Reason (the member is told)").fill("Applied twice.")
    admin.get_by_role("button", name="Remove the application", exact=True).click()
    expect(admin.get_by_label("Application counts")).to_have_text("Mentors: 25 · Mentees: 44")
    expect(mentee_pages).to_contain_text("Page 3 of 3")
    expect(mentees.last).to_contain_text("Mentee 41")
    expect(mentees.last).to_contain_text("removed")
