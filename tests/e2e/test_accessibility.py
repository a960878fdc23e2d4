"""axe-core over the app's pages and dialogs, each at a desktop and a phone width (the
window resized, the page kept), signed in as each kind of member: zero violations of the
WCAG 2.0, 2.1 and 2.2 A and AA rules, and axe's rules on heading levels. The admins' and
moderators' pages are in test_accessibility_admin.py (a file of their own, so the two run
side by side).

axe-core comes bundled in axe-playwright-python (no network). A page is checked once its
main heading shows; a dialog, once it is open and its opening animation is over (mid-fade
its colours are blends of the page's)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from mentor_app.models import Group, Membership
from tests.e2e.test_journey import arrange_tagged_pair
from tests.e2e.test_programs import demo_log_in as log_in
from tests.factories import make_user
from tests.support.app_fixtures import open_dialog

TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
# Beyond the WCAG tags, two of axe's best-practice rules: headings do not skip levels, and
# every page has a level-one heading.
BEST_PRACTICES = ["heading-order", "page-has-heading-one"]
# Rules skipped, each with its reason (none so far): {"rule-id": "why, on which element"}.
EXCEPTIONS: dict[str, str] = {}

_axe = Axe()


def violations(page: Page, where: str) -> list[str]:
    """Every node of every violation on the page as it is now, one line each."""
    result = _axe.run(
        page,
        options={
            "runOnly": {"type": "tag", "values": TAGS},
            "resultTypes": ["violations"],  # the passes' details cost time and are not read
            "rules": {
                **{rule: {"enabled": True} for rule in BEST_PRACTICES},
                **{rule: {"enabled": False} for rule in EXCEPTIONS},
            },
        },
    )
    return [
        f"{where}: {v['id']} ({v['impact']}) at {node['target']}: "
        + " ".join(node.get("failureSummary", "").split())
        for v in result.response["violations"]
        for node in v["nodes"]
    ]


def settle(page: Page) -> None:
    page.wait_for_function("document.getAnimations().every(a => a.playState !== 'running')")


def check_here(page: Page, where: str, found: list[str], widths: Iterable[str] = VIEWPORTS) -> None:
    """axe at each width, the page as it is (the window resized in between)."""
    for width in widths:
        page.set_viewport_size(VIEWPORTS[width])
        settle(page)
        found += violations(page, f"{width} {where}")


def visit(page: Page, path: str, found: list[str], widths: Iterable[str] = VIEWPORTS) -> None:
    page.goto(path)
    expect(page.locator("h1").first).to_be_visible()
    check_here(page, path, found, widths)


def check_dialog(
    page: Page, trigger: str, where: str, found: list[str], widths: Iterable[str] = VIEWPORTS
) -> None:
    dialog = open_dialog(page, page.get_by_role("button", name=trigger, exact=True))
    check_here(page, where, found, widths)
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)


@pytest.fixture
def person(new_page: Callable[..., Page]) -> Callable[..., Page]:
    """person(scheme): a new person at the desktop width, the system in that colour scheme."""
    return lambda scheme="light": new_page(viewport=VIEWPORTS["desktop"], color_scheme=scheme)


def test_public_pages(person: Callable[..., Page]) -> None:
    page, found = person(), []
    for path in ("/", "/login", "/signup"):
        visit(page, path, found)
    assert found == [], "\n".join(found)


# The theme follows the system's colour scheme: a phone in dark mode gets the dark theme.
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_paired_members_pages_and_the_pair_pages_dialogs(
    scheme: str, person: Callable[..., Page], app_db: Session
) -> None:
    widths = list(VIEWPORTS) if scheme == "light" else ["phone"]
    group = app_db.exec(select(Group).where(Group.name == "Grow Every Day")).one()
    # A name with no space to break at: it must not push the member list off a phone.
    long_name = make_user(app_db, display_name="Bartholomew" * 4)
    app_db.add(Membership(group_id=group.id or 0, user_id=long_name.id or 0))
    # It commits: no write lock held from here.
    mentee, pair_id = arrange_tagged_pair(app_db, "axe", "Axe program")
    page, found = person(scheme), []
    log_in(page, mentee)
    if scheme == "dark":  # the dark theme is the one checked
        expect(page.locator("html")).to_have_class(re.compile(r"\bdark\b"))
    if scheme == "light":  # in the dark theme, the pair page and its dialogs stand for all
        check_here(page, "/groups", found, widths)
        for path in (f"/groups/{group.id}", "/settings", "/notifications"):
            visit(page, path, found, widths)
    visit(page, f"/pairs/{pair_id}", found, widths)
    page.get_by_label("Message", exact=True).fill("Hello from the accessibility sweep")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_text("Hello from the accessibility sweep")).to_be_visible()
    check_here(page, "pair page with a message", found, widths)
    for trigger in ("Report", "Block", "End this pair"):
        check_dialog(page, trigger, f"pair page, {trigger} dialog", found, widths)
    assert found == [], "\n".join(found)


def test_a_dialog_opens_without_motion_when_the_system_asks_for_less(
    new_page: Callable[..., Page], app_db: Session
) -> None:
    mentee, pair_id = arrange_tagged_pair(app_db, "still", "Still program")
    durations = {}
    for motion in ("no-preference", "reduce"):
        page = new_page(reduced_motion=motion)
        log_in(page, mentee)
        page.goto(f"/pairs/{pair_id}")
        page.get_by_role("button", name="Block", exact=True).click()
        dialog = page.get_by_role("alertdialog")
        expect(dialog).to_be_visible()
        durations[motion] = dialog.evaluate("el => getComputedStyle(el).animationDuration")
    assert durations["no-preference"] not in ("0s", "1e-05s"), durations  # it does animate
    assert durations["reduce"] == "1e-05s", durations  # 0.01 ms: no visible motion
