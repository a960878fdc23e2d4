"""axe-core over the admins' and moderators' pages and dialogs, at a desktop and a phone
width: zero violations (the helpers and the rules checked: test_accessibility.py)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from mentor_app.models import Group, Pair, User
from tests.e2e.cohorts import arrange_big_cohort
from tests.e2e.test_accessibility import check_dialog, check_here, person, visit
from tests.e2e.test_journey import arrange_pair_two_weeks_in
from tests.e2e.test_moderation import add_report
from tests.e2e.test_programs import demo_log_in as log_in
from tests.e2e.test_programs import through_the_wizard

__all__ = ["person"]  # the fixture, shared


def test_each_step_of_the_program_wizard(person: Callable[..., Page]) -> None:
    page, found = person(), []
    log_in(page, "ada.admin@example.org")
    page.goto("/groups")
    page.get_by_role("link", name="Grow Every Day").first.click()
    page.get_by_role("link", name="Create a program").click()
    expect(page.get_by_role("button", name="Use Career advancement")).to_be_visible()
    check_here(page, "wizard, templates", found)
    page.get_by_role("button", name="Use Career advancement").click()
    page.set_viewport_size({"width": 1280, "height": 800})
    through_the_wizard(page, lambda step: check_here(page, f"wizard, {step}", found))
    assert found == [], "\n".join(found)


def test_an_admins_group_and_program_pages(person: Callable[..., Page], app_db: Session) -> None:
    group = app_db.exec(select(Group).where(Group.name == "Grow Every Day")).one()
    suffix = uuid.uuid4().hex[:8]
    program_id, _ = arrange_pair_two_weeks_in(  # commits: no write lock held from here
        app_db,
        mentor=(f"axe.m1.{suffix}@example.org", "Axe Mentor"),
        mentee=(f"axe.m2.{suffix}@example.org", "Axe Mentee"),
        title=f"Axe admin program {suffix}",
    )
    page, found = person(), []
    log_in(page, "ada.admin@example.org")
    for path in (
        f"/groups/{group.id}",
        f"/groups/{group.id}/programs/new",
        f"/programs/{program_id}",
        f"/programs/{program_id}/pairing",
        f"/programs/{program_id}/dashboard",
    ):
        visit(page, path, found)
    assert found == [], "\n".join(found)


def test_the_pairing_workspace_with_drafts_and_its_publish_dialog(
    person: Callable[..., Page], app_db: Session
) -> None:
    cohort = arrange_big_cohort(app_db, mentees=6, mentors=3)
    page, found = person(), []
    log_in(page, cohort.admin_email)
    page.goto(f"/programs/{cohort.program_id}/pairing")
    expect(page.get_by_role("heading", name="Mentees waiting (6)")).to_be_visible()
    check_here(page, "workspace", found)
    page.get_by_role("button", name="Suggest all").click()
    expect(page.get_by_role("status")).to_contain_text("Suggested 6 draft pairs")
    check_here(page, "workspace with drafts", found)
    check_dialog(page, "Publish pairs", "workspace, Publish dialog", found)
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
    mentor = db.get(User, pair.mentor_id)
    assert mentor is not None
    return add_report(
        db,
        pair_id=pair_id,
        reporter_id=pair.mentee_id,
        reported=mentor,
        body="A message that was reported.",
        details="Reported in the accessibility sweep.",
        client_id=suffix,
    )


def test_the_moderation_queue_a_report_and_its_suspend_dialog(
    person: Callable[..., Page], app_db: Session
) -> None:
    report_id = arrange_report(app_db, uuid.uuid4().hex[:8])
    page, found = person(), []
    log_in(page, "mo.moderator@example.org")
    visit(page, "/moderation", found)
    page.get_by_role(
        "button", name=f"View report {report_id}: Harassment, about Axe Mentor"
    ).click()
    selected = page.get_by_label("Selected report")
    expect(selected.get_by_role("heading", name=f"Report {report_id}: Harassment")).to_be_visible()
    check_here(page, "a report", found)
    selected.get_by_label("Reason").fill("Checked in the accessibility sweep.")
    check_dialog(page, "Suspend the account", "report, Suspend dialog", found)
    assert found == [], "\n".join(found)
