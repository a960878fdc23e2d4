"""Two members in two time zones plan a meeting on their pair's page: propose, the partner
sees it live and picks a time, both read it in both zones, the invites are in the outbox,
a reschedule raises SEQUENCE, and the member downloads the .ics."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from icalendar import Calendar
from playwright.sync_api import Page, expect
from sqlmodel import Session, col, select

from mentor_app.models import EmailOutbox, Meeting
from mentor_app.services.meetings import both_zones
from tests.e2e.test_journey import arrange_pair_two_weeks_in
from tests.e2e.test_programs import demo_log_in
from tests.support.app_fixtures import SCREENSHOTS

PARIS, LA = "Europe/Paris", "America/Los_Angeles"
MENTOR = ("mia.paris@example.org", "Mia Paris")
MENTEE = ("lou.angeles@example.org", "Lou Angeles")


@dataclass(frozen=True)
class Sent:
    id: int
    to_address: str
    ics: str


def invites(db: Session, *, after: int = 0) -> list[Sent]:
    """The outbox's e-mails with an invite, as plain values: a row read after the commit
    would open a transaction again, and on SQLite hold the app's write lock."""
    db.expire_all()
    rows = [
        Sent(r.id or 0, r.to_address, r.ics)
        for r in db.exec(
            select(EmailOutbox)
            .where(col(EmailOutbox.ics) != "", col(EmailOutbox.id) > after)
            .order_by(col(EmailOutbox.id))
        ).all()
    ]
    db.commit()
    return rows


def booked_uid(db: Session, pair_id: int) -> str:
    db.expire_all()
    uid = db.exec(
        select(Meeting.uid).where(Meeting.pair_id == pair_id, Meeting.status == "confirmed")
    ).one()
    db.commit()
    return uid


def event(ics: str):  # type: ignore[no-untyped-def]
    calendar = Calendar.from_ical(ics)
    (found,) = calendar.walk("VEVENT")
    return str(calendar["METHOD"]), found


def test_two_members_in_two_zones_book_and_move_a_meeting(
    new_page: Callable[..., Page], app_db: Session, tmp_path: Path
) -> None:
    _program_id, pair_id = arrange_pair_two_weeks_in(
        app_db, mentor=MENTOR, mentee=MENTEE, title="Meetings test program"
    )
    url = f"/pairs/{pair_id}"
    mentor = new_page(timezone_id=PARIS)
    mentee = new_page(viewport={"width": 390, "height": 844}, timezone_id=LA)
    demo_log_in(mentor, MENTOR[0])
    demo_log_in(mentee, MENTEE[0])
    mentor.goto(url)
    mentee.goto(url)
    for page in (mentor, mentee):
        expect(page.get_by_role("heading", name="Meetings")).to_be_visible()
    expect(mentee.get_by_text("No meeting booked yet.")).to_be_visible()

    # Mia proposes two times, in Paris time.
    day = (dt.datetime.now(zoneinfo.ZoneInfo(PARIS)) + dt.timedelta(days=3)).date()
    first = dt.datetime.combine(day, dt.time(18, 0), zoneinfo.ZoneInfo(PARIS)).astimezone(dt.UTC)
    mentor.get_by_label("Time 1").fill(f"{day.isoformat()}T18:00")
    mentor.get_by_label("Time 2 (optional)").fill(f"{day.isoformat()}T19:30")
    mentor.get_by_label("Video call link (optional, https)").fill(
        "https://meet.example.com/mia-lou"
    )
    mentor.get_by_role("button", name="Propose these times").click()
    expect(mentor.get_by_text("Waiting for Lou Angeles to pick a time.")).to_be_visible()

    # Lou's open page shows them without a reload, in Los Angeles time and in Paris time.
    as_mentee = both_zones(first, mine=LA, partner_name=MENTOR[1], partner_zone=PARIS)
    as_mentor = both_zones(first, mine=PARIS, partner_name=MENTEE[1], partner_zone=LA)
    assert "09:00 your time · 18:00 for Mia Paris (Europe/Paris)" in as_mentee
    expect(mentee.get_by_role("heading", name="Mia Paris proposed times to meet")).to_be_visible()
    expect(mentee.get_by_text(as_mentee)).to_be_visible()
    mentee.get_by_role("button", name="Pick " + as_mentee).click()

    # Both read the booking in both zones; Mia's page changed live.
    expect(mentee.get_by_text("Booked: " + as_mentee)).to_be_visible()
    expect(mentor.get_by_text("Booked: " + as_mentor)).to_be_visible()
    expect(mentor.get_by_role("link", name="https://meet.example.com/mia-lou")).to_have_attribute(
        "href", "https://meet.example.com/mia-lou"
    )

    for page, name in ((mentor, "meetings-booked"), (mentee, "meetings-booked-phone")):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.locator("#meetings").screenshot(path=str(SCREENSHOTS / f"{name}.png"))

    # The outbox holds an invite for each, which parses and starts at the chosen instant.
    uid = booked_uid(app_db, pair_id)
    sent = invites(app_db)
    assert sorted(r.to_address for r in sent) == sorted([MENTOR[0], MENTEE[0]])
    for row in sent:
        method, booked = event(row.ics)
        assert method == "REQUEST" and str(booked["UID"]) == uid
        assert booked["DTSTART"].dt == first and int(booked["SEQUENCE"]) == 0
    last = sent[-1].id

    # Lou moves it to 10:30 his time: both pages show it, and SEQUENCE goes up.
    moved = dt.datetime.combine(day, dt.time(10, 30), zoneinfo.ZoneInfo(LA)).astimezone(dt.UTC)
    mentee.get_by_role("button", name="Reschedule").click()
    mentee.get_by_label("New time").fill(f"{day.isoformat()}T10:30")
    mentee.get_by_role("button", name="Save the change").click()
    expect(mentee.get_by_role("dialog")).to_have_count(0)
    moved_for_mentor = both_zones(moved, mine=PARIS, partner_name=MENTEE[1], partner_zone=LA)
    expect(mentor.get_by_text("Booked: " + moved_for_mentor)).to_be_visible()
    changed = invites(app_db, after=last)
    assert sorted(r.to_address for r in changed) == sorted([MENTOR[0], MENTEE[0]])
    for row in changed:
        method, booked = event(row.ics)
        assert (method, str(booked["UID"]), int(booked["SEQUENCE"])) == ("REQUEST", uid, 1)
        assert booked["DTSTART"].dt == moved

    # Mia downloads the invite from her page.
    with mentor.expect_download() as download:
        mentor.get_by_role("link", name="Download .ics").click()
    saved = tmp_path / "invite.ics"
    download.value.save_as(saved)
    method, mine = event(saved.read_text())
    assert (str(mine["UID"]), int(mine["SEQUENCE"])) == (uid, 1)
    assert str(mine["ATTENDEE"]) == f"mailto:{MENTOR[0]}"
    assert re.fullmatch(r".+\.ics", download.value.suggested_filename)
