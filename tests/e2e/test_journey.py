"""Two members on their pair's page: live progress, check-ins, ending; others see nothing."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from mentor_app.models import Group, Membership, User
from mentor_app.seed import DEMO_PASSWORD
from mentor_app.services import accounts, enrollments, pairing, programs
from tests.e2e.conftest import screenshot
from tests.e2e.test_programs import demo_log_in
from tests.factories import answers_for


def arrange_pair_two_weeks_in(
    db: Session,
    mentor: tuple[str, str] = ("jo.mentor@example.org", "Jo Mentor"),
    mentee: tuple[str, str] = ("kim.mentee@example.org", "Kim Mentee"),
    group_name: str = "Grow Every Day",
    title: str = "Journey test program",
) -> tuple[int, int]:
    """Two new members (e-mail, name), paired as mentor and mentee in a new program of a
    demo group whose journey started nine days ago. Returns (program id, pair id)."""
    ada = db.exec(select(User).where(User.email == "ada.admin@example.org")).one()
    group = db.exec(select(Group).where(Group.name == group_name)).one()
    people = {}
    for email, name in (mentor, mentee):
        user = accounts.sign_up(
            db, email=email, display_name=name, password=DEMO_PASSWORD, date_of_birth="1990-05-05"
        )
        db.add(Membership(group_id=group.id or 0, user_id=user.id or 0))
        people[name] = user
    db.flush()
    program = programs.start_program(
        db, actor=ada, group_id=group.id or 0, template_key="skills_development"
    )
    programs.save_details(
        db, actor=ada, program_id=program.id or 0, title=title,
        description=program.description, start_date=dt.date.today().isoformat(),
        length_weeks=program.length_weeks, mentor_capacity_max=2,
    )  # fmt: skip
    programs.publish(db, actor=ada, program_id=program.id or 0)
    mentor = enrollments.apply(
        db, actor=people[mentor[1]], program_id=program.id or 0, role="mentor",
        answers=answers_for(program, "mentor"), capacity=1,
    )  # fmt: skip
    mentee = enrollments.apply(
        db, actor=people[mentee[1]], program_id=program.id or 0, role="mentee",
        answers=answers_for(program, "mentee"),
    )  # fmt: skip
    pair = pairing.pair_by_hand(
        db, actor=ada, program_id=program.id or 0,
        mentee_enrollment_id=mentee.id or 0, mentor_enrollment_id=mentor.id or 0,
    )  # fmt: skip
    pairing.publish_pairs(db, actor=ada, program_id=program.id or 0)
    pair.start_date = dt.date.today() - dt.timedelta(days=9)  # the journey is in week 2
    db.add(pair)
    db.commit()
    return program.id or 0, pair.id or 0


def check_in(page: Page, mood: str, met: str, note: str) -> None:
    page.get_by_role("radio", name=mood).check()
    page.get_by_role("radio", name=met, exact=True).check()
    page.get_by_label("Note (optional, only the two of you see it)").fill(note)
    page.get_by_role("button", name="Save check-in").click()
    expect(page.get_by_role("status")).to_contain_text("Check-in saved.")


def test_a_pair_walks_its_journey_live_then_the_mentor_ends_it(
    new_page: Callable[..., Page], app_db: Session
) -> None:
    program_id, pair_id = arrange_pair_two_weeks_in(app_db)
    url = f"/pairs/{pair_id}"

    mentor, mentee = new_page(), new_page()
    demo_log_in(mentor, "jo.mentor@example.org")
    demo_log_in(mentee, "kim.mentee@example.org")
    mentor.goto(url)
    mentee.goto(url)
    expect(mentor.get_by_role("heading", name="Your mentee: Kim Mentee")).to_be_visible()
    expect(mentee.get_by_role("heading", name="Your mentor: Jo Mentor")).to_be_visible()
    expect(mentee.get_by_text("Week 2 of 6")).to_be_visible()
    expect(mentee.get_by_text("0 of 6 steps done")).to_be_visible()

    # The mentee marks step 1 done; the mentor's open page shows it without a reload.
    steps = mentor.get_by_role("list", name="Journey steps").get_by_role("listitem")
    mentee.get_by_role("button", name=re.compile(r"^Mark step done: Week 1: ")).click()
    expect(steps.first).to_contain_text("Done by Kim Mentee")
    expect(mentor.get_by_text("1 of 6 steps done")).to_be_visible()
    expect(
        mentee.get_by_role("button", name=re.compile(r"^Undo my mark on Week 1"))
    ).to_be_visible()

    # The fit check, asked after week 1.
    mentee.get_by_role("button", name="Still deciding").click()
    expect(mentee.get_by_role("heading", name="How is the match going?")).to_have_count(0)

    # Both check in; each sees the other's check-in arrive.
    checked = mentor.get_by_label("This week's check-ins")
    expect(checked).to_contain_text("Kim Mentee")
    check_in(mentee, "4 Good", "Yes", "We planned the first practice session.")
    expect(checked.get_by_text("checked in")).to_have_count(1)
    expect(mentor.get_by_label("Check-in history")).to_contain_text(
        "We planned the first practice session."
    )
    check_in(mentor, "5 Great", "Yes", "Kim is motivated.")
    expect(mentee.get_by_label("This week's check-ins").get_by_text("checked in")).to_have_count(2)
    screenshot(mentee, "journey")

    # The mentor ends the pair; the mentee's page turns read-only.
    mentor.get_by_role("button", name="End this pair").click()
    dialog = mentor.get_by_role("alertdialog")
    dialog.get_by_label("Why is it ending?").select_option("not_a_good_fit")
    dialog.get_by_role("button", name="End the pair").click()
    expect(mentor.get_by_role("status")).to_contain_text("The pair has ended")
    expect(mentee.get_by_text(re.compile("This pair ended on"))).to_be_visible()
    expect(mentee.get_by_role("button", name=re.compile("^Mark step done"))).to_have_count(0)
    expect(mentee.get_by_role("heading", name="This week's check-in")).to_have_count(0)
    expect(mentee.get_by_label("Check-in history")).to_contain_text("Kim is motivated.")

    # The admin finds Kim waiting with rematch priority, and the reason.
    admin = new_page()
    demo_log_in(admin, "ada.admin@example.org")
    admin.goto(f"/programs/{program_id}/pairing")
    waiting = admin.get_by_role("list", name="Mentees waiting")
    expect(waiting.get_by_role("button", name=re.compile("Kim Mentee"))).to_contain_text(
        "Rematch priority"
    )
    expect(admin.get_by_role("heading", name="Ended pairs (1)")).to_be_visible()
    expect(admin.get_by_role("cell", name="Not a good fit")).to_be_visible()

    # Nobody else can open the pair: not even the admin.
    admin.goto(url)
    expect(admin.get_by_role("heading", name="Pair not found")).to_be_visible()
    outsider = new_page()
    demo_log_in(outsider, "sam.mentee@example.org")
    outsider.goto(url)
    expect(outsider.get_by_role("heading", name="Pair not found")).to_be_visible()
    expect(outsider.get_by_text("Kim is motivated.")).to_have_count(0)
