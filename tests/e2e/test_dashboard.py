"""The admin opens a program's dashboard: the check-in chart, an at-risk pair and why, the
CSV export and pausing; a plain member is refused."""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlmodel import Session, col, select

from mentor_app.models import Group, Membership, Pair, User
from mentor_app.seed import DEMO_PASSWORD
from mentor_app.services import accounts, enrollments, journey, pairing, programs
from tests.e2e.cohorts import arrange_big_cohort, pages_of
from tests.e2e.conftest import screenshot
from tests.e2e.test_programs import demo_log_in
from tests.factories import answers_for

HEALTHY = (("dee.mentor@example.org", "Dee Mentor"), ("eli.mentee@example.org", "Eli Mentee"))
AT_RISK = (("fay.mentor@example.org", "Fay Mentor"), ("gus.mentee@example.org", "Gus Mentee"))


def arrange_program_with_two_pairs(
    db: Session, group_name: str = "Grow Every Day", title: str = "Dashboard test program"
) -> int:
    """A new program of a demo group with two pairs whose journeys started twelve days ago
    (day 6 of week 2, past its nudge day, so the week counts as missed without a check-in):
    Dee and Eli both checked in this week; Fay and Gus never did, and Gus says it is not a
    good fit. Returns the program id."""
    ada = db.exec(select(User).where(User.email == "ada.admin@example.org")).one()
    group = db.exec(select(Group).where(Group.name == group_name)).one()
    people: dict[str, User] = {}
    for email, name in (*HEALTHY, *AT_RISK):
        user = accounts.sign_up(
            db, email=email, display_name=name, password=DEMO_PASSWORD, date_of_birth="1990-05-05"
        )
        db.add(Membership(group_id=group.id or 0, user_id=user.id or 0))
        people[name] = user
    db.flush()
    program = programs.start_program(
        db, actor=ada, group_id=group.id or 0, template_key="skills_development"
    )
    pid = program.id or 0
    programs.save_details(
        db, actor=ada, program_id=pid, title=title, description=program.description,
        start_date=dt.date.today().isoformat(), length_weeks=program.length_weeks,
        mentor_capacity_max=2,
    )  # fmt: skip
    programs.publish(db, actor=ada, program_id=pid)
    for (_, mentor_name), (_, mentee_name) in (HEALTHY, AT_RISK):
        mentor = enrollments.apply(
            db, actor=people[mentor_name], program_id=pid, role="mentor",
            answers=answers_for(program, "mentor"), capacity=1,
        )  # fmt: skip
        mentee = enrollments.apply(
            db, actor=people[mentee_name], program_id=pid, role="mentee",
            answers=answers_for(program, "mentee"),
        )  # fmt: skip
        pairing.pair_by_hand(
            db, actor=ada, program_id=pid,
            mentee_enrollment_id=mentee.id or 0, mentor_enrollment_id=mentor.id or 0,
        )  # fmt: skip
    pairing.publish_pairs(db, actor=ada, program_id=pid)
    healthy, at_risk = db.exec(
        select(Pair).where(Pair.program_id == pid).order_by(col(Pair.id))
    ).all()
    for pair in (healthy, at_risk):
        pair.start_date = dt.date.today() - dt.timedelta(days=12)  # day 6 of week 2
        db.add(pair)
    db.flush()
    for name in ("Dee Mentor", "Eli Mentee"):
        journey.save_check_in(db, actor=people[name], pair_id=healthy.id or 0, mood=4, met="yes")
    journey.answer_fit_check(
        db, actor=people["Gus Mentee"], pair_id=at_risk.id or 0, answer="not_good"
    )
    db.commit()
    return pid


def test_the_admin_sees_the_chart_an_at_risk_pair_and_downloads_the_csv(
    new_page: Callable[..., Page], app_db: Session
) -> None:
    program_id = arrange_program_with_two_pairs(app_db)

    admin = new_page()
    demo_log_in(admin, "ada.admin@example.org", then=f"/programs/{program_id}")
    admin.get_by_role("link", name="Program dashboard").click()
    expect(admin.get_by_role("heading", name="Program dashboard")).to_be_visible()

    # Figures, and the chart: week 1 nobody checked in, week 2 two of four check-ins.
    expect(admin.get_by_role("group", name="Match rate")).to_contain_text("100%")
    expect(admin.get_by_role("group", name="Pairs by status")).to_contain_text("2 active")
    expect(admin.get_by_role("img", name=re.compile("Week 1"))).to_have_accessible_name(
        "Week 1: 0% checked in"
    )
    expect(admin.get_by_role("img", name="Week 2: 50% checked in")).to_be_visible()

    # The at-risk pair comes first, with its reasons and what to do.
    table = admin.get_by_role("region", name="Pairs by health")
    rows = table.get_by_role("row")
    expect(rows).to_have_count(3)  # the header and two pairs
    at_risk = rows.nth(1)
    expect(at_risk).to_contain_text("Gus Mentee")
    expect(at_risk).to_contain_text("30 · at risk")
    expect(at_risk).to_contain_text("no check-in for 2 weeks")
    expect(at_risk).to_contain_text("fit check: not a good fit (mentee)")
    expect(at_risk).to_contain_text("Offer a rematch")
    expect(rows.nth(2)).to_contain_text("100 · healthy")

    admin.get_by_text("At risk only").click()
    expect(rows).to_have_count(2)
    expect(table).not_to_contain_text("Eli Mentee")
    screenshot(admin, "dashboard")

    # The CSV: both pairs, their progress and health, no private text.
    with admin.expect_download() as download:
        admin.get_by_role("button", name="Export CSV").click()
    assert download.value.suggested_filename == f"program-{program_id}-pairs.csv"
    text = Path(download.value.path()).read_text(encoding="utf-8")
    exported = {row["mentee"]: row for row in csv.DictReader(text.splitlines())}
    assert set(exported) == {"Eli Mentee", "Gus Mentee"}
    assert exported["Gus Mentee"]["mentor"] == "Fay Mentor"
    assert exported["Gus Mentee"]["health score"] == "30"
    assert "no check-in for 2 weeks" in exported["Gus Mentee"]["reasons"]
    assert (exported["Eli Mentee"]["status"], exported["Eli Mentee"]["check-ins"]) == (
        "active",
        "2",
    )
    assert exported["Eli Mentee"]["current week"] == "2"

    # Pausing the at-risk pair: it says so, and the action becomes resuming it.
    at_risk.get_by_role("button", name="Pause the pair of Gus Mentee and Fay Mentor").click()
    expect(admin.get_by_role("status")).to_contain_text("The pair is paused")
    expect(at_risk).to_contain_text("paused by an admin")
    at_risk.get_by_role("button", name="Resume the pair of Gus Mentee and Fay Mentor").click()
    expect(admin.get_by_role("status")).to_contain_text("The pair is resumed")
    expect(at_risk).not_to_contain_text("paused by an admin")

    # A plain member of the group is refused.
    member = new_page()
    demo_log_in(member, "sam.mentee@example.org", then=f"/programs/{program_id}/dashboard")
    expect(member.get_by_role("alert")).to_contain_text("Only group admins can do that.")
    expect(member.get_by_text("Gus Mentee")).to_have_count(0)

    # On a phone the page does not scroll sideways: the table scrolls in its own box.
    phone = new_page(viewport={"width": 390, "height": 844})
    demo_log_in(phone, "ada.admin@example.org", then=f"/programs/{program_id}/dashboard")
    expect(phone.get_by_role("region", name="Pairs by health")).to_be_visible()
    overflow = phone.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
    screenshot(phone, "dashboard-phone")


def test_the_admin_pages_through_the_pairs_of_a_big_program(
    new_page: Callable[..., Page], app_db: Session
) -> None:
    cohort = arrange_big_cohort(app_db, mentees=45, mentors=25, paired=True)
    admin = new_page()
    demo_log_in(admin, cohort.admin_email, then=f"/programs/{cohort.program_id}/dashboard")

    expect(admin.get_by_role("heading", name="Active pairs by health (45)")).to_be_visible()
    expect(admin.get_by_role("group", name="Pairs by status")).to_contain_text("45 active")
    rows = admin.get_by_role("region", name="Pairs by health").get_by_role("row")
    pair_pages = pages_of(admin, "Pairs by health pages")
    expect(rows).to_have_count(21)  # the header and a page
    expect(pair_pages).to_contain_text("Page 1 of 3")
    pair_pages.get_by_role("button", name="Next").click()
    expect(pair_pages).to_contain_text("Page 2 of 3")
    pair_pages.get_by_role("button", name="Next").click()
    expect(pair_pages).to_contain_text("Page 3 of 3")
    expect(rows).to_have_count(6)

    # Pausing a pair on the last page: it moves up the list (its health drops), and the
    # admin stays on the page they were reading.
    who = rows.nth(1).get_by_role("rowheader").inner_text().split("\n")[0]
    rows.nth(1).get_by_role("button", name=re.compile("^Pause the pair of ")).click()
    expect(admin.get_by_role("status")).to_contain_text("The pair is paused")
    expect(pair_pages).to_contain_text("Page 3 of 3")
    pair_pages.get_by_role("button", name="Previous").click()
    pair_pages.get_by_role("button", name="Previous").click()
    expect(pair_pages).to_contain_text("Page 1 of 3")
    expect(rows.nth(1)).to_contain_text(who)
    expect(rows.nth(1)).to_contain_text("paused by an admin")

    # Nobody is at risk on the first day: the filter says so, with no pager.
    admin.get_by_text("At risk only").click()
    expect(admin.get_by_text("No pair is at risk.")).to_be_visible()
    expect(pair_pages).to_have_count(0)
    admin.get_by_text("At risk only").click()
    expect(pair_pages).to_contain_text("Page 1 of 3")
