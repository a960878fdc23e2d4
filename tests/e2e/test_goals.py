"""The goals a pair works toward, in two browsers: set by the mentee, seen and progressed by
the mentor live, commented on, and asked about in the closing survey."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from playwright.sync_api import Locator, Page, expect
from sqlmodel import Session, col, select

from mentor_app.models import GoalUpdate, Pair, StepCompletion
from tests.e2e.test_accessibility import violations
from tests.e2e.test_journey import arrange_pair_two_weeks_in
from tests.e2e.test_programs import demo_log_in
from tests.support.app_fixtures import SCREENSHOTS


def _goal(page: Page, heading: str) -> Locator:
    """The card of one goal, found by its heading."""
    return (
        page.get_by_role("list", name="Goals", exact=True)
        .get_by_role("listitem")
        .filter(has=page.get_by_role("heading", name=heading))
    )


def test_the_mentee_sets_goals_the_mentor_progresses_them_live_and_the_survey_asks_about_each(
    new_page: Callable[..., Page], app_db: Session
) -> None:
    _program, pair_id = arrange_pair_two_weeks_in(
        app_db,
        ("gil.goals@example.org", "Gil Mentor"),
        ("hana.goals@example.org", "Hana Mentee"),
        title="Goals program",
    )
    url = f"/pairs/{pair_id}"
    mentor, mentee = new_page(), new_page(viewport={"width": 390, "height": 844})
    demo_log_in(mentor, "gil.goals@example.org")
    demo_log_in(mentee, "hana.goals@example.org")
    mentor.goto(url)
    mentee.goto(url)

    # Nothing set yet: each is told what to do, or what to expect.
    expect(mentee.get_by_text("Set one to 3 goals below")).to_be_visible()
    expect(mentor.get_by_text("Hana Mentee hasn't set any goals yet.")).to_be_visible()
    # The journey's first step is about the goals, and links down to them.
    first_step = mentee.get_by_role("list", name="Journey steps").get_by_role("listitem").first
    first_step.get_by_role("link", name="See your goals").click()
    expect(mentee.locator("#goals")).to_be_focused()

    # The mentee sets two goals; the mentor's open page shows them without a reload.
    target = dt.date.today() + dt.timedelta(days=30)
    for text, date in (("Give a talk at the meetup", target.isoformat()), ("Write weekly", "")):
        mentee.get_by_label("Goal", exact=True).fill(text)
        if date:
            mentee.get_by_label("Target date (optional)").fill(date)
        mentee.get_by_role("button", name="Add goal").click()
        expect(mentee.get_by_role("status")).to_contain_text("Goal added.")
    talk = _goal(mentor, "Goal 1: Give a talk at the meetup")
    expect(talk).to_contain_text(f"Target: {target.day} {target:%B %Y}")
    expect(_goal(mentor, "Goal 2: Write weekly")).to_contain_text("Progress: 0 % · not started")
    expect(mentor.get_by_role("button", name="Add goal")).to_have_count(0)  # the mentee's
    expect(mentor.get_by_role("button", name=re.compile("^Edit goal"))).to_have_count(0)

    # The mentor marks progress with a note; the mentee sees it, with who and when.
    talk.get_by_label("How far has it got?").select_option("30")
    talk.get_by_label("Note (optional)").fill("Topic chosen, outline drafted.")
    talk.get_by_role("button", name="Save progress").click()
    expect(mentor.get_by_role("status")).to_contain_text("Progress saved.")
    mine = _goal(mentee, "Goal 1: Give a talk at the meetup")
    expect(mine).to_contain_text("Progress: 30 %")
    mine.get_by_text(re.compile(r"^History")).click()
    expect(mine).to_contain_text("Gil Mentor marked 30 %")
    expect(mine).to_contain_text("Topic chosen, outline drafted.")

    # The mentor comments; the comment reaches the mentee live, newest first.
    talk.get_by_label("Your comment").fill("Ask the organisers for a 10-minute slot.")
    talk.get_by_role("button", name="Add comment").click()
    history = mine.get_by_role("list", name="History of goal 1")
    expect(history.get_by_role("listitem").first).to_contain_text("Gil Mentor commented")
    expect(history.get_by_role("listitem").first).to_contain_text("10-minute slot")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    mentee.locator("#goals").screenshot(path=str(SCREENSHOTS / "goals-phone.png"))

    # Goals with their forms and an open history pass axe, at 1280 and at 390 px.
    found = violations(mentor, "mentor's goals") + violations(mentee, "mentee's goals, phone")
    assert found == [], "\n".join(found)

    # The last week is over and both marked its step done: the closing survey asks, for
    # each goal, how far it got, and takes no survey with one left out.
    pair = app_db.get(Pair, pair_id)
    assert pair is not None
    pair.start_date = dt.date.today() - dt.timedelta(days=7 * 6 + 1)
    app_db.add(pair)
    for member in (pair.mentor_id, pair.mentee_id):
        app_db.add(StepCompletion(pair_id=pair_id, week=6, user_id=member))
    app_db.commit()
    mentee.reload()
    mentee.get_by_label("How useful was the program for you?").select_option("5")
    mentee.get_by_label("How far did “Give a talk at the meetup” get?").select_option("80")
    mentee.get_by_role("button", name="Complete the program").click()
    expect(mentee.get_by_text("Say how far this goal got.")).to_be_visible()
    mentee.get_by_label("How far did “Write weekly” get?").select_option("50")
    mentee.get_by_role("button", name="Complete the program").click()
    expect(mentee.get_by_role("status")).to_contain_text("Your closing survey is in")

    # The answers are the mentee's, once per goal; the mentor's open page shows them too.
    app_db.expire_all()
    try:
        answers = app_db.exec(
            select(GoalUpdate.progress)
            .where(GoalUpdate.pair_id == pair_id, GoalUpdate.kind == "survey")
            .order_by(col(GoalUpdate.goal_id))
        ).all()
    finally:
        app_db.rollback()  # a transaction here holds SQLite's write lock (BEGIN IMMEDIATE)
    assert answers == [80, 50]
    talk.get_by_text(re.compile(r"^History")).click()
    expect(talk).to_contain_text("Hana Mentee closing survey: 80 %")
    expect(mentor.get_by_role("heading", name="Your closing survey")).to_be_visible()
    expect(mentor.get_by_label("How far did “Write weekly” get?")).to_be_visible()
