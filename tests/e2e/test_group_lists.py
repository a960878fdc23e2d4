"""Long lists on My groups and a group's page, in a real browser: each shows one page of
rows (never the whole list), moves with Previous and Next (mouse or keyboard), and the
groups to join and the members are searchable by name."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable

from playwright.sync_api import Locator, Page, expect
from sqlmodel import Session

from mentor_app.services import groups, programs
from tests.e2e.conftest import screenshot
from tests.e2e.test_group_roles import _person
from tests.e2e.test_programs import demo_log_in
from tests.factories import add_members, make_group, make_past_pairs, make_people


def _pager(page: Page, label: str) -> Locator:
    return page.get_by_role("navigation", name=label)


def test_my_groups_and_my_pairs_show_a_page_at_a_time(
    new_page: Callable[..., Page], app_db: Session
) -> None:
    tag = secrets.token_hex(3)
    me = _person(app_db, "Mo Many", tag)
    for n in range(1, 46):  # arranged: no count toward the hourly limit on new groups
        make_group(app_db, admin=me, name=f"{tag} circle {n:02}", category="other")
    # A mentor of long standing: 25 pairs, in a program of a group of their own.
    home = groups.create_group(
        app_db, actor=me, name=f"{tag} circle 46", description="", category="professional"
    )
    app_db.commit()
    program = programs.start_program(
        app_db, actor=me, group_id=home.id or 0, template_key="career_advancement"
    )
    app_db.commit()
    mentees = make_people(app_db, 25, name=f"Mentee {tag}")
    make_past_pairs(
        app_db,
        program=program,
        mentor=me,
        mentees=mentees,
        published=dt.datetime(2025, 3, 1, tzinfo=dt.UTC),
    )

    page = new_page()
    demo_log_in(page, me.email)
    mine = page.get_by_role("list", name="My groups").get_by_role("listitem")
    pager = _pager(page, "My groups pages")
    expect(pager).to_contain_text("Page 1 of 3")
    expect(mine).to_have_count(20)
    expect(mine.first).to_contain_text(f"{tag} circle 01")
    expect(pager.get_by_role("button", name="Previous")).to_be_disabled()

    pager.get_by_role("button", name="Next").click()
    expect(pager).to_contain_text("Page 2 of 3")
    expect(mine.first).to_contain_text(f"{tag} circle 21")
    expect(mine).to_have_count(20)
    # The keyboard works the pager too.
    pager.get_by_role("button", name="Next").focus()
    page.keyboard.press("Enter")
    expect(pager).to_contain_text("Page 3 of 3")
    expect(mine).to_have_count(6)
    expect(mine.last).to_contain_text(f"{tag} circle 46")
    expect(pager.get_by_role("button", name="Next")).to_be_disabled()
    pager.get_by_role("button", name="Previous").click()
    expect(pager).to_contain_text("Page 2 of 3")
    expect(mine.first).to_contain_text(f"{tag} circle 21")

    pairs = page.get_by_role("list", name="My pairs").get_by_role("listitem")
    pairs_pager = _pager(page, "My pairs pages")
    expect(pairs_pager).to_contain_text("Page 1 of 2")
    expect(pairs).to_have_count(20)
    expect(pairs.first).to_contain_text(f"Mentee {tag} 25 · your mentee")
    pairs_pager.get_by_role("button", name="Next").click()
    expect(pairs_pager).to_contain_text("Page 2 of 2")
    expect(pairs).to_have_count(5)
    expect(pairs.last).to_contain_text(f"Mentee {tag} 01 · your mentee")
    screenshot(page, "my-groups-paged")


def test_a_real_group_stays_in_view_among_a_flood_and_a_search_finds_groups(
    new_page: Callable[..., Page], app_db: Session
) -> None:
    tag = secrets.token_hex(3)
    flooder = _person(app_db, "Fay Flood", tag)
    founder = _person(app_db, "Rae Real", tag)
    seeker = _person(app_db, "Sid Seeker", tag)
    for n in range(1, 46):  # arranged: no count toward the hourly limit on new groups
        make_group(app_db, admin=flooder, name=f"AAA {tag} {n:02}", category="other")
    real = groups.create_group(
        app_db, actor=founder, name=f"Weekend Parents {tag}", description="", category="parenting"
    )
    app_db.commit()
    add_members(app_db, real, make_people(app_db, 29))

    page = new_page()
    demo_log_in(page, seeker.email)
    joinable = page.get_by_role("list", name="Groups you can join")
    rows = joinable.get_by_role("listitem")
    # Biggest first: the real group is on the first page, whatever the flood.
    expect(joinable.get_by_role("link", name=real.name)).to_be_visible()
    expect(joinable).to_contain_text("30 members")
    expect(rows).to_have_count(20)

    search = page.get_by_label("Find a group")
    search.fill(f"aaa {tag}")
    pager = _pager(page, "Groups you can join pages")
    expect(pager).to_contain_text("Page 1 of 3")
    expect(rows).to_have_count(20)
    expect(rows.first).to_contain_text(f"AAA {tag} 01")
    pager.get_by_role("button", name="Next").click()
    expect(pager).to_contain_text("Page 2 of 3")
    expect(rows.first).to_contain_text(f"AAA {tag} 21")
    pager.get_by_role("button", name="Next").click()
    expect(rows).to_have_count(5)
    pager.get_by_role("button", name="Previous").click()
    expect(rows.first).to_contain_text(f"AAA {tag} 21")

    # A new search starts on its first page; part of a name, in any case, finds the group.
    search.fill(f"PARENTS {tag}")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(real.name)
    expect(pager).to_have_count(0)  # one page: no pager
    search.fill(f"nothing {tag}")
    expect(page.get_by_text(f"No groups match “nothing {tag}”.")).to_be_visible()
    screenshot(page, "groups-to-join-no-match")


def test_a_groups_members_show_a_page_at_a_time_and_are_searchable(
    new_page: Callable[..., Page], app_db: Session
) -> None:
    tag = secrets.token_hex(3)
    admin = _person(app_db, "Ada Admin", tag)
    group = groups.create_group(
        app_db, actor=admin, name=f"Big circle {tag}", description="", category="professional"
    )
    app_db.commit()
    add_members(app_db, group, make_people(app_db, 44, name="Person"))

    page = new_page()
    demo_log_in(page, admin.email, then=f"/groups/{group.id}")
    body_rows = page.get_by_role("table").locator("tbody tr")
    pager = _pager(page, "Members pages")
    expect(pager).to_contain_text("Page 1 of 3")
    expect(body_rows).to_have_count(20)
    expect(body_rows.first).to_contain_text("Ada Admin")
    pager.get_by_role("button", name="Next").click()
    expect(pager).to_contain_text("Page 2 of 3")
    expect(body_rows.first).to_contain_text("Person 20")
    pager.get_by_role("button", name="Next").click()
    expect(body_rows).to_have_count(5)
    expect(body_rows.last).to_contain_text("Person 44")
    pager.get_by_role("button", name="Previous").click()
    expect(pager).to_contain_text("Page 2 of 3")

    # Search by part of a name: the hand-over choices follow the members shown.
    search = page.get_by_label("Find a member")
    search.fill("son 3")
    expect(body_rows).to_have_count(10)
    expect(pager).to_have_count(0)
    expect(page.get_by_label("New admin").locator("option")).to_have_count(11)
    search.fill("PERSON 44")
    expect(body_rows).to_have_count(1)
    page.get_by_role("button", name="Make Person 44 an admin").click()
    expect(page.get_by_role("status")).to_have_text("Member promoted to admin.")
    expect(body_rows).to_have_count(1)  # still the search's page
    search.fill("nobody")
    expect(page.get_by_text("No members match “nobody”.")).to_be_visible()
    screenshot(page, "group-members-search")
