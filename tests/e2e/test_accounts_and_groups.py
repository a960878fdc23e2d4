"""A newcomer signs up (adults only), logs out and in, creates a group; another joins."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable

from playwright.sync_api import Page, Route, expect

from mentor_app.seed import DEMO_PASSWORD
from tests.e2e.conftest import screenshot
from tests.e2e.test_programs import log_in_on_the_form

PASSWORD = "a sturdy passphrase"


def _email(who: str) -> str:
    return f"{who}.{uuid.uuid4().hex[:8]}@example.org"


def _years_ago(years: int, *, days_short: int = 0) -> str:
    today = dt.date.today()
    try:
        birthday = today.replace(year=today.year - years)
    except ValueError:  # 29 February
        birthday = dt.date(today.year - years, 3, 1)
    return (birthday + dt.timedelta(days=days_short)).isoformat()


def fill_sign_up(page: Page, *, email: str, name: str, dob: str) -> None:
    page.goto("/signup")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Display name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Date of birth").fill(dob)
    page.get_by_role("button", name="Sign up").click()


def sign_up(page: Page, *, email: str, name: str) -> None:
    fill_sign_up(page, email=email, name=name, dob=_years_ago(30))
    expect(page.get_by_role("heading", name="My groups")).to_be_visible()


def test_under_18_is_refused_next_to_the_date_field(new_page: Callable[..., Page]) -> None:
    page = new_page()
    email = _email("young")
    fill_sign_up(page, email=email, name="Young Person", dob=_years_ago(18, days_short=1))

    error = page.locator("#field-date_of_birth-error")
    expect(error).to_have_text("You must be 18 or older to join Mentor circles.")
    expect(page.get_by_label("Date of birth")).to_have_attribute("aria-invalid", "true")
    # Nothing was lost from the form, and no account exists.
    expect(page.get_by_label("Email")).to_have_value(email)
    screenshot(page, "signup-refused")
    log_in_on_the_form(page, email, PASSWORD)
    expect(page.get_by_text("Email or password is incorrect.")).to_be_visible()


def test_newcomer_signs_up_logs_out_logs_in_and_creates_a_group(
    new_page: Callable[..., Page],
) -> None:
    page = new_page()
    email = _email("newcomer")
    sign_up(page, email=email, name="Nadia Newcomer")
    expect(page.get_by_text("Nadia Newcomer")).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.goto("/groups")
    expect(page).to_have_url(re.compile(r"/login/?\?next=/groups/?$"))

    log_in_on_the_form(page, email, PASSWORD)
    expect(page.get_by_role("heading", name="My groups")).to_be_visible()
    expect(page.get_by_text("You are not in any group yet.")).to_be_visible()

    page.get_by_label("Name").fill("Career Switchers")
    page.get_by_label("Description").fill("People moving into tech, helping each other.")
    page.get_by_label("Category").select_option(label="Professional")
    page.get_by_role("button", name="Create group").click()

    expect(page.get_by_role("heading", name="Career Switchers")).to_be_visible()
    expect(page.get_by_text("Mentorship programs are available")).to_be_visible()
    screenshot(page, "group-page")
    page.goto("/groups")
    mine = page.get_by_role("list", name="My groups")
    expect(mine.get_by_role("link", name="Career Switchers")).to_be_visible()
    expect(mine.get_by_text("admin")).to_be_visible()
    # Each card says what it is and nothing more (a stray list index once showed here).
    lines = [line.strip() for line in mine.inner_text().splitlines() if line.strip()]
    assert not [line for line in lines if line.isdigit()], lines
    screenshot(page, "my-groups")


def test_second_person_joins_an_open_group(new_page: Callable[..., Page]) -> None:
    founder = new_page()
    sign_up(founder, email=_email("founder"), name="Farah Founder")
    founder.get_by_label("Name").fill("Weekend Parents")
    founder.get_by_label("Category").select_option(label="Parenting")
    founder.get_by_role("button", name="Create group").click()
    expect(founder.get_by_role("heading", name="Weekend Parents")).to_be_visible()
    group_url = founder.url

    joiner = new_page()
    sign_up(joiner, email=_email("joiner"), name="Jonas Joiner")
    joiner.goto(group_url)
    joiner.get_by_role("button", name="Join group").click()
    expect(joiner.get_by_text("You joined this group.")).to_be_visible()
    expect(joiner.get_by_role("cell", name="Jonas Joiner")).to_be_visible()
    joiner.goto("/groups")
    expect(
        joiner.get_by_role("list", name="My groups").get_by_text("Weekend Parents")
    ).to_be_visible()

    # The founder sees the new member and can make them an admin.
    founder.reload()
    founder.get_by_role("button", name="Make Jonas Joiner an admin").click()
    expect(founder.get_by_role("button", name="Make Jonas Joiner an admin")).to_have_count(0)


def test_other_category_group_explains_why_no_programs(new_page: Callable[..., Page]) -> None:
    page = new_page()
    sign_up(page, email=_email("hiker"), name="Hana Hiker")
    page.get_by_label("Name").fill("Trail Runners")
    page.get_by_label("Category").select_option(label="Other")
    page.get_by_role("button", name="Create group").click()
    expect(page.get_by_role("heading", name="Trail Runners")).to_be_visible()
    expect(page.get_by_text("Mentorship programs are only available for parenting")).to_be_visible()


def test_a_group_typed_before_my_groups_is_live_is_created_once_it_is(
    new_page: Callable[..., Page],
) -> None:
    """My groups is prerendered: its form is on screen before the page's scripts have run.
    A press of Create group then was the browser's own submit, a GET of /groups that came
    back with an empty form. Now the button waits for the page, and nothing typed is lost."""
    page = new_page()
    sign_up(page, email=_email("early"), name="Early Bird")
    held: list[Route] = []
    entry = re.compile(r".*/entry\.client[^/]*\.js$")
    page.route(entry, lambda route: held.append(route))
    page.goto("/groups", wait_until="commit")
    page.get_by_label("Name").fill("Early Risers")
    page.get_by_label("Category").select_option(label="Parenting")
    expect(page.get_by_role("button", name="Create group")).to_be_disabled()
    page.get_by_label("Name").press("Enter")
    page.wait_for_timeout(500)  # a submit would have started loading another page by now
    assert page.url.endswith("/groups"), page.url
    assert held, "the page's script was never asked for: the page was live all along"

    for route in held:
        route.continue_()
    page.unroute(entry)
    expect(page.get_by_label("Name")).to_have_value("Early Risers")
    page.get_by_role("button", name="Create group").click()
    expect(page.get_by_role("heading", name="Early Risers")).to_be_visible()


def test_landing_page_works_on_a_phone(new_page: Callable[..., Page]) -> None:
    page = new_page(viewport={"width": 390, "height": 844})
    page.goto("/")
    expect(page.get_by_role("heading", name="Mentorship for your community")).to_be_visible()
    expect(page.get_by_role("link", name="Sign up").first).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"page scrolls sideways on a phone ({width}px)"
    screenshot(page, "landing-phone")


def _without_the_app_script(page: Page) -> list[str]:
    """Keep `page` as the server's HTML, never live (its scripts refused): what a visitor
    has before the page has loaded. The list fills with every URL the page asks for."""
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.route(re.compile(r".*\.m?js(\?.*)?$"), lambda route: route.abort())
    return asked


def test_before_the_page_is_live_the_log_in_form_is_inert_and_never_sends_a_get(
    new_page: Callable[..., Page],
) -> None:
    page = new_page()
    asked = _without_the_app_script(page)
    page.goto("/login")
    page.get_by_label("Email").fill("ada.admin@example.org")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    # Not live yet: the button cannot be pressed, and Enter in a field sends nothing.
    expect(page.get_by_role("button", name="Log in")).to_be_disabled()
    page.get_by_label("Password").press("Enter")
    page.wait_for_timeout(500)  # a submit would have started loading another page by now
    assert page.url.endswith("/login"), page.url  # served as typed, no redirect
    # Had the browser sent the form anyway, it goes to the endpoint as a POST: the password
    # is never in an address.
    form = page.locator("form")
    assert (form.get_attribute("method") or "").lower() == "post"
    assert form.get_attribute("action") == "/auth/login"
    with page.expect_navigation():
        page.evaluate("document.querySelector('form').requestSubmit()")
    assert page.url.endswith("/groups"), page.url  # 303 onwards, signed in
    assert any(c["name"] == "mc_session" for c in page.context.cookies())
    assert not [url for url in asked if "password" in url or DEMO_PASSWORD in url], asked


def test_a_refused_early_submit_comes_back_to_the_form_with_a_notice(
    new_page: Callable[..., Page],
) -> None:
    page = new_page()
    asked = _without_the_app_script(page)
    page.goto("/login?next=/notifications")
    page.get_by_label("Email").fill("ada.admin@example.org")
    page.get_by_label("Password").fill("not the password")
    with page.expect_navigation():
        page.evaluate("document.querySelector('form').requestSubmit()")
    assert "/login" in page.url and "notice=retry" in page.url, page.url
    assert "next=%2Fnotifications" in page.url, page.url
    assert not any(c["name"] == "mc_session" for c in page.context.cookies())
    assert not [url for url in asked if "password" in url], asked
    # Once live, the page says what happened, and the next try goes where it was asked to.
    page.unroute_all()
    page.reload()
    expect(page.get_by_role("alert")).to_contain_text("did not go through")
    page.get_by_label("Email").fill("ada.admin@example.org")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Notifications")).to_be_visible()
