"""The admin pairs the seeded demo cohort in the workspace; the mentee then finds their pair."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Page, expect
from sqlmodel import Session, func, select

from bench.bulk import session_for
from mentor_app.models import Pair
from mentor_app.seed import DEMO_PROGRAM
from tests.e2e.cohorts import arrange_big_cohort, pages_of
from tests.e2e.conftest import screenshot
from tests.e2e.test_notifications import bell
from tests.e2e.test_programs import demo_log_in, open_group
from tests.support.appserver import AppServer
from tests.support.rxclient import SESSION_COOKIE


def open_demo_program(page: Page) -> str:
    open_group(page, "Product Professionals Network")
    page.get_by_role("link", name=DEMO_PROGRAM).click()
    expect(page.get_by_role("heading", name=DEMO_PROGRAM)).to_be_visible()
    return page.url


def test_admin_pairs_by_hand_suggests_all_publishes_and_the_mentee_sees_the_pair(
    new_page: Callable[..., Page],
) -> None:
    admin = new_page()
    demo_log_in(admin, "ada.admin@example.org", then=None)
    open_demo_program(admin)
    admin.get_by_role("link", name="Open the pairing workspace").click()
    expect(admin.get_by_role("heading", name="Pairing", exact=True)).to_be_visible()
    waiting = admin.get_by_role("list", name="Mentees waiting")
    for name in ("Priya Nair", "Sam Rivera", "Theo Martin"):
        expect(waiting.get_by_role("button", name=name)).to_be_visible()

    # Explained suggestions for one mentee.
    waiting.get_by_role("button", name="Theo Martin").click()
    suggested = admin.get_by_role("list", name="Suggested mentors")
    first = suggested.get_by_role("listitem").first
    expect(first).to_contain_text("Score")
    expect(first).to_contain_text(re.compile(r"areas of help ∩ areas wanted: \d of \d \(\+\d+\)"))
    expect(first).to_contain_text("time zone")
    mentor_name = first.locator("strong").inner_text()

    # Pair by hand from the suggestion.
    first.get_by_role("button", name=f"Pair with {mentor_name}").click()
    expect(admin.get_by_role("status")).to_contain_text("Draft pair made for Theo Martin")
    drafts = admin.get_by_role("heading", name=re.compile(r"Draft pairs"))
    expect(drafts).to_have_text("Draft pairs (1)")
    expect(waiting.get_by_role("button", name="Theo Martin")).to_have_count(0)

    # Search filters by name.
    admin.get_by_label("Search by name").fill("pri")
    expect(waiting.get_by_role("button")).to_have_count(1)
    expect(waiting.get_by_role("button", name="Priya Nair")).to_be_visible()
    admin.get_by_label("Search by name").fill("")
    expect(waiting.get_by_role("button")).to_have_count(2)

    # A nonsense minimum score is refused next to its field; then Suggest all.
    admin.get_by_label("Minimum score").fill("lots")
    admin.get_by_role("button", name="Suggest all").click()
    expect(admin.get_by_text("Enter a whole number.")).to_be_visible()
    admin.get_by_label("Minimum score").fill("0")
    admin.get_by_role("button", name="Suggest all").click()
    expect(admin.get_by_role("status")).to_contain_text("Suggested 2 draft pairs")
    expect(drafts).to_have_text("Draft pairs (3)")
    expect(admin.get_by_text("Nobody is waiting.")).to_be_visible()

    # Unpair one draft before publishing.
    admin.get_by_role("button", name=re.compile(r"^Unpair Sam Rivera and ")).click()
    expect(drafts).to_have_text("Draft pairs (2)")
    expect(waiting.get_by_role("button", name="Sam Rivera")).to_be_visible()

    admin.get_by_role("button", name="Publish pairs").click()
    dialog = admin.get_by_role("alertdialog")
    expect(dialog).to_contain_text("Publish 2 pairs?")
    dialog.get_by_role("button", name="Publish").click()
    expect(admin.get_by_role("status")).to_contain_text("Published 2 pairs")
    expect(drafts).to_have_text("Draft pairs (0)")
    expect(admin.get_by_role("heading", name="Published pairs (2)")).to_be_visible()
    expect(admin.get_by_text("1: Sam Rivera")).to_be_visible()
    mentors = admin.get_by_role("list", name="Mentors").get_by_role("listitem")
    expect(mentors).to_have_count(3)
    loads = [re.search(r"(\d+)/(\d+) taken", t) for t in mentors.all_inner_texts()]
    full = sum(1 for m in loads if m and m.group(1) == m.group(2))
    admin.get_by_label("Only mentors with a free seat").check()
    expect(mentors).to_have_count(3 - full)
    admin.get_by_label("Only mentors with a free seat").uncheck()
    expect(mentors).to_have_count(3)
    bars = admin.get_by_role("img", name=re.compile(r"^\d+ pairs? scored "))
    expect(bars).to_have_count(5)
    counts = [int(str(b.get_attribute("aria-label")).split()[0]) for b in bars.all()]
    assert sum(counts) == 2, counts
    screenshot(admin, "pairing-workspace")

    mentee = new_page()
    demo_log_in(mentee, "theo.mentee@example.org")
    pairs = mentee.get_by_role("list", name="My pairs")
    expect(pairs).to_contain_text(f"{mentor_name} · your mentor")
    expect(mentee.get_by_role("list", name="Notifications")).to_contain_text(
        f"{mentor_name} is your mentor in “{DEMO_PROGRAM}”."
    )
    screenshot(mentee, "my-pairs")
    pairs.get_by_role("link", name=f"{mentor_name} · your mentor").click()
    expect(mentee.get_by_role("heading", name=f"Your mentor: {mentor_name}")).to_be_visible()
    expect(mentee.get_by_text(re.compile(r"^Week 1: "))).to_be_visible()


def test_a_plain_member_opening_the_workspace_url_is_refused(
    new_page: Callable[..., Page],
) -> None:
    member = new_page()
    demo_log_in(member, "priya.mentee@example.org", then=None)
    url = open_demo_program(member)
    expect(member.get_by_role("link", name="Open the pairing workspace")).to_have_count(0)
    member.goto(url.rstrip("/") + "/pairing")
    expect(member.get_by_role("alert")).to_contain_text("Only group admins")
    expect(member.get_by_role("list", name="Mentees waiting")).to_have_count(0)


def test_workspace_fits_a_phone_screen(new_page: Callable[..., Page]) -> None:
    admin = new_page(viewport={"width": 390, "height": 844})
    demo_log_in(admin, "ada.admin@example.org", then=None)
    url = open_demo_program(admin)
    admin.goto(url.rstrip("/") + "/pairing")
    expect(admin.get_by_role("heading", name="Pairing", exact=True)).to_be_visible()
    expect(admin.get_by_role("heading", name="Fairness")).to_be_visible()
    waiting = admin.get_by_role("list", name="Mentees waiting").get_by_role("button")
    waiting.first.click()  # the demo leaves at least one mentee waiting
    expect(admin.get_by_role("heading", name=re.compile("Suggested mentors for"))).to_be_visible()
    width = admin.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the workspace scrolls sideways on a phone ({width}px)"


# --- a cohort bigger than a page -------------------------------------------------------------


def test_the_workspace_pages_and_searches_a_cohort_bigger_than_a_page(
    new_page: Callable[..., Page], app_db: Session
) -> None:
    cohort = arrange_big_cohort(app_db)
    admin = new_page()
    demo_log_in(admin, cohort.admin_email, then=f"/programs/{cohort.program_id}/pairing")

    waiting = admin.get_by_role("list", name="Mentees waiting")
    mentee_pages = pages_of(admin, "Mentees waiting pages")
    expect(admin.get_by_role("heading", name="Mentees waiting (45)")).to_be_visible()
    expect(waiting.get_by_role("button")).to_have_count(20)
    expect(mentee_pages).to_contain_text("Page 1 of 3")
    expect(mentee_pages.get_by_role("button", name="Previous")).to_be_disabled()
    mentee_pages.get_by_role("button", name="Next").click()
    expect(mentee_pages).to_contain_text("Page 2 of 3")
    expect(waiting.get_by_role("button", name="Mentee 21")).to_be_visible()
    expect(waiting.get_by_role("button", name="Mentee 01")).to_have_count(0)
    # From the keyboard too.
    mentee_pages.get_by_role("button", name="Next").focus()
    admin.keyboard.press("Enter")
    expect(mentee_pages).to_contain_text("Page 3 of 3")
    expect(waiting.get_by_role("button")).to_have_count(5)
    expect(mentee_pages.get_by_role("button", name="Next")).to_be_disabled()

    # A mentee on the last page stays selected while the admin pages back.
    waiting.get_by_role("button", name="Mentee 45").click()
    expect(admin.get_by_role("heading", name="Suggested mentors for Mentee 45")).to_be_visible()
    mentee_pages.get_by_role("button", name="Previous").click()
    expect(mentee_pages).to_contain_text("Page 2 of 3")
    expect(admin.get_by_role("heading", name="Suggested mentors for Mentee 45")).to_be_visible()

    mentors = admin.get_by_role("list", name="Mentors", exact=True)
    mentor_pages = pages_of(admin, "Mentors pages")
    expect(mentors.get_by_role("listitem")).to_have_count(20)
    mentor_pages.get_by_role("button", name="Next").click()
    expect(mentor_pages).to_contain_text("Page 2 of 2")
    expect(mentors.get_by_role("listitem")).to_have_count(5)
    expect(mentors).to_contain_text("Mentor 25")

    # Searching starts both columns on their first page, and needs no pager here.
    admin.get_by_label("Search by name").fill("MENTEE 4")
    expect(waiting.get_by_role("button")).to_have_count(6)  # 40 to 45
    expect(mentee_pages).to_have_count(0)
    expect(admin.get_by_text("No mentors match.")).to_be_visible()
    admin.get_by_label("Search by name").fill("zzz")
    expect(admin.get_by_text("Nobody waiting matches.")).to_be_visible()
    admin.get_by_label("Search by name").fill("")
    expect(mentee_pages).to_contain_text("Page 1 of 3")
    screenshot(admin, "pairing-pages")

    # On a phone the suggestions show below both long lists: choosing a mentee brings
    # them into view, with no hunting for them.
    phone = new_page(viewport={"width": 390, "height": 844})
    demo_log_in(phone, cohort.admin_email, then=f"/programs/{cohort.program_id}/pairing")
    chosen = phone.get_by_role("list", name="Mentees waiting").get_by_role(
        "button", name="Mentee 01"
    )
    chosen.click()
    suggested = phone.get_by_role("heading", name="Suggested mentors for Mentee 01")
    expect(suggested).to_be_in_viewport()


def test_suggest_all_drafts_the_whole_cohort_and_drafts_and_pairs_page(
    new_page: Callable[..., Page], app_db: Session, app_server: AppServer
) -> None:
    cohort = arrange_big_cohort(app_db)
    admin = new_page()
    demo_log_in(admin, cohort.admin_email, then=f"/programs/{cohort.program_id}/pairing")
    expect(admin.get_by_role("heading", name="Mentees waiting (45)")).to_be_visible()

    # A cohort this size is planned and written in a helper process
    # (MENTOR_PLAN_APART_FROM in tests/support/app_fixtures.py): its refusal comes back
    # next to the field, and nothing is drafted.
    admin.get_by_label("Minimum score").fill("lots")
    admin.get_by_role("button", name="Suggest all").click()
    expect(admin.get_by_text("Enter a whole number.")).to_be_visible()
    expect(admin.get_by_role("heading", name=re.compile(r"^Draft pairs"))).to_have_text(
        "Draft pairs (0)"
    )
    admin.get_by_label("Minimum score").fill("0")
    admin.get_by_role("button", name="Suggest all").click()
    expect(admin.get_by_role("status")).to_contain_text("Suggested 45 draft pairs")
    drafts_heading = admin.get_by_role("heading", name=re.compile(r"^Draft pairs"))
    expect(drafts_heading).to_have_text("Draft pairs (45)")
    expect(admin.get_by_text("Nobody is waiting.")).to_be_visible()
    try:
        drafted = app_db.exec(
            select(func.count())
            .select_from(Pair)
            .where(Pair.program_id == cohort.program_id, Pair.status == "draft")
        ).one()
    finally:
        app_db.rollback()  # a transaction here holds SQLite's write lock (BEGIN IMMEDIATE)
    assert drafted == 45  # the mentees past the first page were paired too

    drafts = admin.get_by_role("region", name="Draft pairs").get_by_role("row")
    draft_pages = pages_of(admin, "Draft pairs pages")
    expect(drafts).to_have_count(21)  # the header and a page of pairs
    draft_pages.get_by_role("button", name="Next").click()
    draft_pages.get_by_role("button", name="Next").click()
    expect(draft_pages).to_contain_text("Page 3 of 3")
    expect(drafts).to_have_count(6)

    # Unpairing the last page empty: the list steps back to a page it has.
    for left in range(44, 39, -1):
        admin.get_by_role("region", name="Draft pairs").get_by_role(
            "button", name=re.compile(r"^Unpair ")
        ).first.click()
        expect(drafts_heading).to_have_text(f"Draft pairs ({left})")
    expect(draft_pages).to_contain_text("Page 2 of 2")
    expect(drafts).to_have_count(21)
    expect(admin.get_by_role("heading", name="Mentees waiting (5)")).to_be_visible()

    # One of the drafts' mentees has a page open: the bell says nothing new yet.
    try:
        waiting_mentee = app_db.exec(
            select(Pair.mentee_id).where(
                Pair.program_id == cohort.program_id, Pair.status == "draft"
            )
        ).first()
    finally:
        app_db.rollback()
    assert waiting_mentee is not None
    mentee = new_page()
    mentee.context.add_cookies(
        [
            {
                "name": SESSION_COOKIE,
                "value": session_for(app_db.get_bind().engine, waiting_mentee),
                "url": app_server.url,
            }
        ]
    )
    mentee.goto("/groups")
    expect(bell(mentee, 0)).to_be_visible()

    admin.get_by_role("button", name="Publish pairs").click()
    dialog = admin.get_by_role("alertdialog")
    expect(dialog).to_contain_text("Publish 40 pairs?")
    dialog.get_by_role("button", name="Publish").click()
    # 40 drafts: four transactions of PUBLISH_CHUNK (10), written from a helper process
    # (MENTOR_PUBLISH_APART_FROM in tests/support/app_fixtures.py), one answer.
    expect(admin.get_by_role("status")).to_contain_text("Published 40 pairs")
    # The helper told the members; the worker pushed it to the open page, no reload.
    expect(bell(mentee, 1)).to_be_visible()
    expect(drafts_heading).to_have_text("Draft pairs (0)")
    expect(admin.get_by_text("No draft pairs yet.")).to_be_visible()
    expect(admin.get_by_role("heading", name="Published pairs (40)")).to_be_visible()
    published = admin.get_by_role("region", name="Published pairs").get_by_role("row")
    published_pages = pages_of(admin, "Published pairs pages")
    expect(published).to_have_count(21)
    published_pages.get_by_role("button", name="Next").click()
    expect(published_pages).to_contain_text("Page 2 of 2")
    expect(published).to_have_count(21)
    published_pages.get_by_role("button", name="Previous").click()
    expect(published_pages).to_contain_text("Page 1 of 2")
