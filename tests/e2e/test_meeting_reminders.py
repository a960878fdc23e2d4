"""A meeting an hour away: the reminder job rings the member's bell; after the meeting the
check-in asks about it by its day, with "we met" ticked; the admin's dashboard counts it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from mentor_app.models import Goal, Meeting, MeetingReminder, Pair, User, utcnow
from mentor_app.services.meeting_reminders import run_reminders
from mentor_app.services.meeting_times import clock_time, day_name
from tests.e2e.conftest import screenshot
from tests.e2e.test_journey import arrange_pair_two_weeks_in
from tests.e2e.test_notifications import bell
from tests.e2e.test_programs import demo_log_in

ZONE = "America/Los_Angeles"  # the mentee's browser


def meeting_partner(db: Session, pair_id: int, member_id: int | None) -> int:
    pair = db.get(Pair, pair_id)
    assert pair is not None
    return pair.mentor_id if pair.mentee_id == member_id else pair.mentee_id


def test_the_member_is_reminded_then_asked_about_the_meeting_and_the_admin_counts_it(
    new_page: Callable[..., Page], app_db: Session
) -> None:
    program_id, pair_id = arrange_pair_two_weeks_in(
        app_db,
        ("nora.reminders@example.org", "Nora Mentor"),
        ("leo.reminders@example.org", "Leo Mentee"),
        title="Reminder test program",
    )
    mentee = new_page(timezone_id=ZONE)
    demo_log_in(mentee, "leo.reminders@example.org")  # his browser's zone is on record now
    leo = app_db.exec(select(User).where(User.email == "leo.reminders@example.org")).one()
    app_db.refresh(leo)
    assert leo.timezone == ZONE

    # A confirmed meeting 50 minutes from now (as the meetings service stores one), and
    # the job's run: what the scheduler's leader does every five minutes (the running app's
    # own scheduler may get there first: either way, one reminder each).
    starts = (utcnow() + dt.timedelta(minutes=50)).replace(second=0, microsecond=0)
    meeting = Meeting(
        pair_id=pair_id,
        uid=f"e2e-reminder-{pair_id}@test",
        status="confirmed",
        starts_at=starts,
        options=[starts.isoformat()],
    )
    app_db.add(meeting)
    app_db.commit()
    run_reminders(app_db.get_bind(), now=utcnow())  # type: ignore[arg-type]
    reminded = app_db.exec(
        select(MeetingReminder.user_id).where(MeetingReminder.meeting_id == meeting.id)
    ).all()
    assert sorted(reminded) == sorted([leo.id, meeting_partner(app_db, pair_id, leo.id)])

    # Leo's bell: being paired, and the reminder, in his own time.
    reminder = f"Your meeting with Nora Mentor starts at {clock_time(starts, ZONE)} (your time)"
    mentee.goto("/groups")
    bell(mentee, 2).click()
    items = mentee.get_by_role("list", name="Notifications").get_by_role("listitem")
    expect(items.first).to_contain_text(reminder)
    expect(items.first).to_contain_text("New")
    screenshot(mentee, "meeting-reminder")

    # The meeting has happened (moved to ten minutes ago): the check-in asks about it by
    # its day in Leo's zone, with "we met" already ticked.
    held = utcnow() - dt.timedelta(minutes=10)
    meeting.starts_at = held
    app_db.add(meeting)
    app_db.add_all(
        Goal(pair_id=pair_id, position=n, text=f"Goal {n}", progress=p)
        for n, p in ((1, 20), (2, 60))
    )
    app_db.commit()
    mentee.get_by_role("link", name=f"Open: {reminder}").click()
    question = f"How did {day_name(held, ZONE)}'s meeting go?"
    expect(mentee.get_by_role("group", name=question)).to_be_visible()
    met = mentee.get_by_role("group", name="Did you meet or talk this week?")
    expect(met.get_by_role("radio", name="Yes")).to_be_checked()
    expect(met.get_by_role("radio", name="No")).not_to_be_checked()
    mentee.get_by_role("group", name=question).get_by_role("radio", name="4 Good").check()
    mentee.get_by_role("button", name="Save check-in").click()
    expect(mentee.get_by_role("status")).to_contain_text("Check-in saved.")
    expect(mentee.get_by_label("Check-in history")).to_contain_text("Met or talked")

    # The admin's dashboard: the one active pair met in week 2; two goals, 40% on average.
    admin = new_page()
    demo_log_in(admin, "ada.admin@example.org", then=f"/programs/{program_id}/dashboard")
    expect(admin.get_by_role("heading", name="Meetings held per week")).to_be_visible()
    expect(
        admin.get_by_role("img", name="Meetings in week 2: 100% of active pairs")
    ).to_be_visible()
    expect(admin.get_by_role("img", name="Meetings in week 1: 0% of active pairs")).to_be_visible()
    goals = admin.get_by_role("group", name="Goals set")
    expect(goals).to_contain_text("2")
    expect(goals).to_contain_text("average progress 40%")
    expect(admin.get_by_text("Goal 1")).to_have_count(0)  # counts only
    screenshot(admin, "dashboard-meetings")
