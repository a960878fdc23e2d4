"""axe-core over the app's pages and dialogs, at a desktop and a phone width, signed in as
each kind of member: zero violations of the WCAG 2.0, 2.1 and 2.2 A and AA rules.

axe-core comes bundled in axe-playwright-python (no network). A page is checked once its
main heading shows; a dialog, once it is open."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session, select

from mentor_app.models import Group, Message, Pair, Report
from tests.e2e.cohorts import arrange_big_cohort
from tests.e2e.test_journey import arrange_pair_two_weeks_in
from tests.e2e.test_programs import demo_log_in as log_in
from tests.support.appserver import AppServer

TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
# The theme follows the system's colour scheme: a phone in dark mode gets the dark theme.
DARK = "phone, dark"
# Rules skipped, each with its reason (none so far): {"rule-id": "why, on which element"}.
EXCEPTIONS: dict[str, str] = {}

_axe = Axe()


def violations(page: Page, where: str) -> list[str]:
    """Every node of every violation on the page as it is now, one line each."""
    result = _axe.run(
        page,
        options={
            "runOnly": {"type": "tag", "values": TAGS},
            "rules": {rule: {"enabled": False} for rule in EXCEPTIONS},
        },
    )
    return [
        f"{where}: {v['id']} ({v['impact']}) at {node['target']}: "
        + " ".join(node.get("failureSummary", "").split())
        for v in result.response["violations"]
        for node in v["nodes"]
    ]


def check(page: Page, path: str, where: str, found: list[str]) -> None:
    page.goto(path)
    expect(page.locator("h1").first).to_be_visible()
    page.wait_for_load_state("networkidle")
    found += violations(page, where)


def check_dialog(page: Page, trigger: str, where: str, found: list[str]) -> None:
    page.get_by_role("button", name=trigger, exact=True).click()
    dialog = page.get_by_role("alertdialog").or_(page.get_by_role("dialog"))
    expect(dialog).to_be_visible()
    # Checked at rest: while it fades in, its colours are blends of the page's.
    page.wait_for_function("document.getAnimations().every(a => a.playState !== 'running')")
    found += violations(page, where)
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)


@pytest.fixture
def person(browser: Browser, app_server: AppServer) -> Callable[[str], Page]:
    contexts = []

    def make(viewport: str) -> Page:
        context = browser.new_context(
            base_url=app_server.url,
            viewport=VIEWPORTS["phone" if viewport == DARK else viewport],
            color_scheme="dark" if viewport == DARK else "light",
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make  # type: ignore[misc]
    for context in contexts:
        context.close()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_public_pages(viewport: str, person: Callable[[str], Page]) -> None:
    page, found = person(viewport), []
    for path in ("/", "/login", "/signup"):
        check(page, path, f"{viewport} {path}", found)
    assert found == [], "\n".join(found)


@pytest.mark.parametrize("viewport", [*VIEWPORTS, DARK])
def test_a_paired_members_pages_and_the_pair_pages_dialogs(
    viewport: str, person: Callable[[str], Page], app_db: Session
) -> None:
    group = app_db.exec(select(Group).where(Group.name == "Grow Every Day")).one()
    suffix = uuid.uuid4().hex[:8]  # the arranging commits: no write lock held from here
    mentee = f"axe.mentee.{suffix}@example.org"
    _, pair_id = arrange_pair_two_weeks_in(
        app_db,
        mentor=(f"axe.mentor.{suffix}@example.org", "Axe Mentor"),
        mentee=(mentee, "Axe Mentee"),
        title=f"Axe program {suffix}",
    )
    page, found = person(viewport), []
    log_in(page, mentee)
    if viewport == DARK:  # the dark theme is the one checked
        expect(page.locator("html")).to_have_class(re.compile(r"\bdark\b"))
    found += violations(page, f"{viewport} /groups")
    for path in (f"/groups/{group.id}", "/settings", "/notifications"):
        check(page, path, f"{viewport} {path}", found)
    check(page, f"/pairs/{pair_id}", f"{viewport} pair page", found)
    page.get_by_label("Message", exact=True).fill("Hello from the accessibility sweep")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_text("Hello from the accessibility sweep")).to_be_visible()
    found += violations(page, f"{viewport} pair page with a message")
    for trigger in ("Report", "Block", "End this pair"):
        check_dialog(page, trigger, f"{viewport} pair page, {trigger} dialog", found)
    assert found == [], "\n".join(found)


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_an_admins_program_pages(
    viewport: str, person: Callable[[str], Page], app_db: Session
) -> None:
    group = app_db.exec(select(Group).where(Group.name == "Grow Every Day")).one()
    suffix = uuid.uuid4().hex[:8]  # the arranging commits: no write lock held from here
    program_id, _ = arrange_pair_two_weeks_in(
        app_db,
        mentor=(f"axe.m1.{suffix}@example.org", "Axe Mentor"),
        mentee=(f"axe.m2.{suffix}@example.org", "Axe Mentee"),
        title=f"Axe admin program {suffix}",
    )
    page, found = person(viewport), []
    log_in(page, "ada.admin@example.org")
    for path in (
        f"/groups/{group.id}",
        f"/groups/{group.id}/programs/new",
        f"/programs/{program_id}",
        f"/programs/{program_id}/pairing",
        f"/programs/{program_id}/dashboard",
    ):
        check(page, path, f"{viewport} {path}", found)
    assert found == [], "\n".join(found)


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_moderation_queue(viewport: str, person: Callable[[str], Page]) -> None:
    page, found = person(viewport), []
    log_in(page, "mo.moderator@example.org")
    check(page, "/moderation", f"{viewport} /moderation", found)
    assert found == [], "\n".join(found)


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_each_step_of_the_program_wizard(viewport: str, person: Callable[[str], Page]) -> None:
    page, found = person(viewport), []
    log_in(page, "ada.admin@example.org")
    page.goto("/groups")
    page.get_by_role("link", name="Grow Every Day").first.click()
    page.get_by_role("link", name="Create a program").click()
    expect(page.get_by_role("button", name="Use Career advancement")).to_be_visible()
    found += violations(page, f"{viewport} wizard, templates")
    page.get_by_role("button", name="Use Career advancement").click()
    for step in ("Details", "Sign-up questions", "Journey", "Review and publish"):
        if step == "Details":
            expect(page.get_by_label("Title")).to_be_visible()
            page.get_by_label("Start date").fill(
                (dt.date.today() + dt.timedelta(days=5)).isoformat()
            )
        else:
            expect(page.get_by_role("heading", name=step)).to_be_visible()
        found += violations(page, f"{viewport} wizard, {step}")
        if step != "Review and publish":
            page.get_by_role("button", name="Next").click()
    assert found == [], "\n".join(found)


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_pairing_workspace_with_drafts_and_its_publish_dialog(
    viewport: str, person: Callable[[str], Page], app_db: Session
) -> None:
    cohort = arrange_big_cohort(app_db, mentees=6, mentors=3)
    page, found = person(viewport), []
    log_in(page, cohort.admin_email)
    page.goto(f"/programs/{cohort.program_id}/pairing")
    expect(page.get_by_role("heading", name="Mentees waiting (6)")).to_be_visible()
    found += violations(page, f"{viewport} workspace")
    page.get_by_role("button", name="Suggest all").click()
    expect(page.get_by_role("status")).to_contain_text("Suggested 6 draft pairs")
    found += violations(page, f"{viewport} workspace with drafts")
    check_dialog(page, "Publish pairs", f"{viewport} workspace, Publish dialog", found)
    assert found == [], "\n".join(found)


def arrange_report(db: Session, suffix: str) -> int:
    """A pair two weeks in whose mentee reported one of the mentor's messages: the report's
    id (the mentor is "Axe Mentor")."""
    _, pair_id = arrange_pair_two_weeks_in(
        db,
        mentor=(f"axe.rep.mentor.{suffix}@example.org", "Axe Mentor"),
        mentee=(f"axe.rep.mentee.{suffix}@example.org", "Axe Mentee"),
        title=f"Axe report program {suffix}",
    )
    pair = db.get(Pair, pair_id)
    assert pair is not None
    text = "A message that was reported."
    message = Message(pair_id=pair_id, sender_id=pair.mentor_id, client_id=suffix, body=text)
    db.add(message)
    db.flush()
    report = Report(
        pair_id=pair_id,
        reporter_id=pair.mentee_id,
        reported_id=pair.mentor_id,
        category="harassment",
        details="Reported in the accessibility sweep.",
        evidence=[
            {
                "message_id": message.id,
                "sender_id": pair.mentor_id,
                "sender_name": "Axe Mentor",
                "body": text,
                "created_at": message.created_at.isoformat(),
            }
        ],
    )
    db.add(report)
    db.commit()
    return report.id or 0


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_a_report_in_the_moderation_queue_and_its_suspend_dialog(
    viewport: str, person: Callable[[str], Page], app_db: Session
) -> None:
    report_id = arrange_report(app_db, uuid.uuid4().hex[:8])
    page, found = person(viewport), []
    log_in(page, "mo.moderator@example.org")
    page.goto("/moderation")
    page.get_by_role(
        "button", name=f"View report {report_id}: Harassment, about Axe Mentor"
    ).click()
    selected = page.get_by_label("Selected report")
    expect(selected.get_by_role("heading", name=f"Report {report_id}: Harassment")).to_be_visible()
    found += violations(page, f"{viewport} a report")
    selected.get_by_label("Reason").fill("Checked in the accessibility sweep.")
    check_dialog(page, "Suspend the account", f"{viewport} report, Suspend dialog", found)
    assert found == [], "\n".join(found)
