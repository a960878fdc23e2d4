"""A pair's meetings: times in both members' zones (across daylight-saving changes), the
weekly series, the invites' UID/SEQUENCE/METHOD, who may act, and a pair's end cancelling
its future meetings."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

import pytest
from icalendar import Calendar
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from starlette.testclient import TestClient

from mentor_app import web_auth
from mentor_app.db import read_scope, session_scope
from mentor_app.models import EmailOutbox, Meeting, Notification, User
from mentor_app.services import chat, journey, meetings, sessions
from mentor_app.services.errors import Conflict, NotFound, PermissionDenied, ValidationError
from tests.factories import PairSetup, make_pair, make_user

PARIS = "Europe/Paris"
LA = "America/Los_Angeles"
# Europe leaves summer time on 25 October 2026, the USA on 1 November 2026.
NOW = dt.datetime(2026, 10, 12, 9, 0, tzinfo=dt.UTC)
JOURNEY_START = dt.date(2026, 10, 5)  # eight weeks: the last day is Sunday 29 November


@pytest.fixture
def setup(db: Session) -> PairSetup:
    """Maya mentors from Paris, Theo is mentored from Los Angeles."""
    setup = make_pair(db)
    setup.mentor.timezone, setup.mentee.timezone = PARIS, LA
    setup.mentor.timezone_known = setup.mentee.timezone_known = True
    setup.pair.start_date = JOURNEY_START
    db.add_all([setup.mentor, setup.mentee, setup.pair])
    db.commit()
    return setup


def propose(db: Session, setup: PairSetup, *times: str, by: User | None = None, **kw) -> Meeting:  # type: ignore[no-untyped-def]
    return meetings.propose(
        db,
        actor=by or setup.mentor,
        pair_id=setup.pair.id or 0,
        times=list(times),
        now=NOW,
        **kw,
    )


def booked(db: Session, setup: PairSetup, time: str = "2026-10-20T18:00", **kw) -> Meeting:  # type: ignore[no-untyped-def]
    meeting = propose(db, setup, time, **kw)
    return meetings.accept(db, actor=setup.mentee, meeting_id=meeting.id, option=0, now=NOW)


def invites(db: Session, *, kind: str | None = None) -> list[EmailOutbox]:
    query = select(EmailOutbox).where(col(EmailOutbox.ics) != "").order_by(col(EmailOutbox.id))
    if kind:
        query = query.where(EmailOutbox.kind == kind)
    return list(db.exec(query).all())


def event_of(ics: str):  # type: ignore[no-untyped-def]
    calendar = Calendar.from_ical(ics)
    (event,) = calendar.walk("VEVENT")
    return calendar, event


def new_session(db: Session, user: User) -> str:
    token = sessions.create_session(db, user=user)
    db.commit()
    return token


def local(moment: dt.datetime, zone: str) -> str:
    return moment.astimezone(zoneinfo.ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


# --- time zones -----------------------------------------------------------------------------


def test_a_time_is_typed_in_the_proposers_zone_and_stored_in_utc(
    db: Session, setup: PairSetup
) -> None:
    meeting = propose(db, setup, "2026-10-20T18:00")  # Maya, Paris (UTC+2 in October)
    assert meeting.options == ["2026-10-20T16:00:00+00:00"]
    assert meeting.timezone == PARIS

    theirs = propose(db, setup, "2026-10-20T18:00", by=setup.mentee)  # Theo, LA (UTC-7)
    assert theirs.id == meeting.id  # the one open proposal, replaced
    assert theirs.options == ["2026-10-21T01:00:00+00:00"]


def test_each_member_reads_every_time_in_both_zones(db: Session, setup: PairSetup) -> None:
    propose(db, setup, "2026-10-20T18:00", "2026-10-27T18:00")
    view = meetings.get_meetings(db, actor=setup.mentee, pair_id=setup.pair.id or 0, now=NOW)

    assert view.proposal is not None
    before, after = view.proposal.options
    assert before.by_role == {
        "mentor": "Tue 20 Oct, 18:00 your time · 09:00 for Theo (America/Los_Angeles)",
        "mentee": "Tue 20 Oct, 09:00 your time · 18:00 for Maya (Europe/Paris)",
    }
    # Paris has left summer time, Los Angeles has not yet: 8 hours apart, not 9.
    assert after.by_role["mentor"] == (
        "Tue 27 Oct, 18:00 your time · 10:00 for Theo (America/Los_Angeles)"
    )
    assert view.proposal.waiting_for == "mentee" and view.proposal.proposer_role == "mentor"


def test_the_partners_date_is_named_when_it_is_another_day(db: Session, setup: PairSetup) -> None:
    assert (
        meetings.both_zones(
            dt.datetime(2026, 10, 21, 1, 0, tzinfo=dt.UTC),
            mine=LA,
            partner_name="Maya",
            partner_zone=PARIS,
        )
        == "Tue 20 Oct, 18:00 your time · Wed 21 Oct, 03:00 for Maya (Europe/Paris)"
    )


def test_a_time_the_clocks_skip_is_refused() -> None:
    with pytest.raises(ValidationError) as refused:
        meetings.parse_local("2027-03-28T02:30", PARIS, field_name="time1")
    assert refused.value.field == "time1"


def test_a_weekly_meeting_keeps_its_local_time_across_both_dst_changes(
    db: Session, setup: PairSetup
) -> None:
    meeting = booked(db, setup, "2026-10-20T18:00", weekly=True)

    starts = meetings.occurrences(meeting)
    assert [local(s, PARIS) for s in starts] == [
        f"2026-{d} 18:00" for d in ("10-20", "10-27", "11-03", "11-10", "11-17", "11-24")
    ]
    assert [local(s, LA)[-5:] for s in starts] == [
        "09:00",
        "10:00",
        "09:00",
        "09:00",
        "09:00",
        "09:00",
    ]
    assert meeting.repeat_until == dt.date(2026, 11, 29)  # the journey's last day


def test_every_invite_parses_and_starts_at_the_chosen_instant_in_both_zones(
    db: Session, setup: PairSetup
) -> None:
    meeting = booked(
        db, setup, "2026-10-27T18:00", weekly=True, video_link="https://meet.example.com/abc"
    )

    sent = invites(db)
    assert sorted(r.to_address for r in sent) == sorted([setup.mentor.email, setup.mentee.email])
    for row in sent:
        calendar, event = event_of(row.ics)
        assert str(calendar["METHOD"]) == "REQUEST"
        start = event["DTSTART"].dt
        assert start == meeting.starts_at == dt.datetime(2026, 10, 27, 17, 0, tzinfo=dt.UTC)
        assert local(start, PARIS) == "2026-10-27 18:00" and local(start, LA) == "2026-10-27 10:00"
        assert event["DTEND"].dt - start == dt.timedelta(minutes=60)
        assert str(event["UID"]) == meeting.uid and int(event["SEQUENCE"]) == 0
        # The weekly series ends with the journey's last week, UNTIL in UTC.
        (until,) = event["RRULE"]["UNTIL"]
        assert until == dt.datetime(2026, 11, 24, 17, 0, tzinfo=dt.UTC)
        assert local(until, PARIS) == "2026-11-24 18:00"
        assert str(event["LOCATION"]) == "https://meet.example.com/abc"
        # Each member's invite names them alone: the partner's address is theirs.
        attendees = event["ATTENDEE"]
        assert str(attendees) == f"mailto:{row.to_address}"
        assert calendar.walk("VTIMEZONE")  # TZID=Europe/Paris comes with its rules


# --- the rules of proposing ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("times", "field"),
    [
        (["2026-10-10T10:00"], "time1"),  # already past
        (["2026-10-20T10:00", "2026-10-20T10:00"], "time2"),  # the same time twice
        (["2026-12-01T10:00"], "time1"),  # after the journey's last day
        (["tomorrow"], "time1"),
        ([""], "time1"),
    ],
)
def test_a_proposal_refuses_bad_times(
    db: Session, setup: PairSetup, times: list[str], field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        propose(db, setup, *times)
    assert refused.value.field == field
    assert db.exec(select(Meeting)).all() == []


def test_at_most_three_times_may_be_proposed(db: Session, setup: PairSetup) -> None:
    four = [f"2026-10-2{d}T10:00" for d in range(4)]
    with pytest.raises(ValidationError):
        propose(db, setup, *four)
    assert len(propose(db, setup, *four[:3]).options) == 3


@pytest.mark.parametrize(
    "link",
    [
        "http://meet.example.com/abc",
        "javascript:alert(1)",
        "https://user:pw@meet.example.com/x",
        "https://meet.example.com/a b",
        "https://localhost/x",
        "https://" + "a" * 500 + ".com",
        'https://meet.example.com/"><script>',
    ],
)
def test_a_video_link_must_be_https_to_a_real_host(
    db: Session, setup: PairSetup, link: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        propose(db, setup, "2026-10-20T18:00", video_link=link)
    assert refused.value.field == "video_link"


def test_only_the_partner_picks_a_proposed_time(db: Session, setup: PairSetup) -> None:
    meeting = propose(db, setup, "2026-10-20T18:00")
    with pytest.raises(PermissionDenied):
        meetings.accept(db, actor=setup.mentor, meeting_id=meeting.id, option=0, now=NOW)
    assert meeting.status == "proposed" and invites(db) == []


def test_suggesting_other_times_makes_the_partner_the_proposer(
    db: Session, setup: PairSetup
) -> None:
    first = propose(db, setup, "2026-10-20T18:00")
    second = propose(db, setup, "2026-10-21T09:00", by=setup.mentee)
    assert second.id == first.id and second.proposed_by == setup.mentee.id
    assert len(db.exec(select(Meeting).where(Meeting.status == "proposed")).all()) == 1
    with pytest.raises(PermissionDenied):
        meetings.accept(db, actor=setup.mentee, meeting_id=second.id, option=0, now=NOW)
    done = meetings.accept(db, actor=setup.mentor, meeting_id=second.id, option=0, now=NOW)
    assert done.status == "confirmed" and local(done.starts_at, LA) == "2026-10-21 09:00"  # type: ignore[arg-type]


def test_the_partner_is_told_of_a_proposal(db: Session, setup: PairSetup) -> None:
    propose(db, setup, "2026-10-20T18:00", "2026-10-21T18:00")
    told = db.exec(select(Notification).where(Notification.user_id == setup.mentee.id)).all()
    assert [n.text for n in told if n.kind == "meeting"] == [
        "Maya proposed 2 times to meet: pick one on your pair's page."
    ]


# --- who may see and act ----------------------------------------------------------------------


def test_an_outsider_and_the_groups_admin_see_no_meeting(db: Session, setup: PairSetup) -> None:
    meeting = booked(db, setup)
    outsider = make_user(db, display_name="Olga")
    for who in (outsider, setup.admin):
        with pytest.raises(NotFound):
            meetings.get_meetings(db, actor=who, pair_id=setup.pair.id or 0, now=NOW)
        with pytest.raises(NotFound):
            propose(db, setup, "2026-10-22T18:00", by=who)
        with pytest.raises(NotFound):
            meetings.cancel(db, actor=who, meeting_id=meeting.id, now=NOW)
        with pytest.raises(NotFound):
            meetings.download_invite(db, actor=who, meeting_id=meeting.id, now=NOW)
    assert meeting.status == "confirmed"
    # The member themself does get it.
    text, _name = meetings.download_invite(db, actor=setup.mentee, meeting_id=meeting.id, now=NOW)
    assert str(event_of(text)[1]["UID"]) == meeting.uid


def test_nothing_can_be_planned_in_a_blocked_or_ended_pair(db: Session, setup: PairSetup) -> None:
    chat.block_partner(db, actor=setup.mentee, pair_id=setup.pair.id or 0)
    with pytest.raises(Conflict):
        propose(db, setup, "2026-10-20T18:00")
    other = make_pair(db)
    journey.end_pair(
        db, actor=other.mentor, pair_id=other.pair.id or 0, reason="no_longer_available"
    )
    with pytest.raises(Conflict):
        meetings.propose(
            db, actor=other.mentee, pair_id=other.pair.id or 0, times=["2026-02-20T18:00"]
        )


# --- changes: SEQUENCE, METHOD ------------------------------------------------------------------


def test_a_reschedule_raises_the_sequence_and_sends_a_new_request(
    db: Session, setup: PairSetup
) -> None:
    meeting = booked(db, setup, "2026-10-20T18:00")
    moved = meetings.reschedule(
        db, actor=setup.mentee, meeting_id=meeting.id, time="2026-10-22T08:30", now=NOW
    )

    assert moved.sequence == 1 and moved.timezone == LA
    changed = invites(db)[-2:]
    assert {r.subject for r in changed} == {meetings.SUBJECTS["changed"]}
    for row in changed:
        calendar, event = event_of(row.ics)
        assert str(calendar["METHOD"]) == "REQUEST" and int(event["SEQUENCE"]) == 1
        assert str(event["UID"]) == meeting.uid
        assert local(event["DTSTART"].dt, LA) == "2026-10-22 08:30"
        assert local(event["DTSTART"].dt, PARIS) == "2026-10-22 17:30"
    with pytest.raises(ValidationError):  # nothing new: no change, no invite
        meetings.reschedule(
            db, actor=setup.mentee, meeting_id=meeting.id, time="2026-10-22T08:30", now=NOW
        )
    assert moved.sequence == 1


def test_a_cancel_sends_both_a_cancel_with_a_higher_sequence(db: Session, setup: PairSetup) -> None:
    meeting = booked(db, setup)
    meetings.cancel(db, actor=setup.mentor, meeting_id=meeting.id, now=NOW)

    assert (meeting.status, meeting.sequence, meeting.cancelled_by) == (
        "cancelled",
        1,
        setup.mentor.id,
    )
    cancels = invites(db, kind=meetings.CANCEL_KIND)
    assert sorted(r.to_address for r in cancels) == sorted([setup.mentor.email, setup.mentee.email])
    for row in cancels:
        calendar, event = event_of(row.ics)
        assert str(calendar["METHOD"]) == "CANCEL" and str(event["STATUS"]) == "CANCELLED"
        assert (str(event["UID"]), int(event["SEQUENCE"])) == (meeting.uid, 1)
    with pytest.raises(Conflict):
        meetings.cancel(db, actor=setup.mentee, meeting_id=meeting.id, now=NOW)


# --- a pair's end cancels its future meetings -----------------------------------------------------


@pytest.mark.parametrize("how", ["end", "block", "close_program"])
def test_the_end_of_a_pair_cancels_its_future_meetings_and_tells_both(
    db: Session, setup: PairSetup, how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(meetings, "utcnow", lambda: NOW)  # the ending's clock
    meeting = booked(db, setup, weekly=True)
    open_one = propose(db, setup, "2026-10-23T18:00")
    before = len(invites(db))
    pair_id = setup.pair.id or 0
    if how == "end":
        journey.end_pair(db, actor=setup.mentor, pair_id=pair_id, reason="no_longer_available")
    elif how == "block":
        chat.block_partner(db, actor=setup.mentee, pair_id=pair_id)
    else:
        journey.end_pairs_of_closed_program(db, program=setup.program, actor_id=setup.admin.id or 0)

    db.refresh(meeting)
    db.refresh(open_one)
    assert (meeting.status, meeting.sequence) == ("cancelled", 1)
    assert open_one.status == "cancelled"
    cancels = invites(db)[before:]
    assert sorted(r.to_address for r in cancels) == sorted([setup.mentor.email, setup.mentee.email])
    assert all(str(event_of(r.ics)[0]["METHOD"]) == "CANCEL" for r in cancels)
    for member in (setup.mentor, setup.mentee):
        notes = db.exec(
            select(Notification.text).where(
                Notification.user_id == member.id, Notification.kind == "meeting"
            )
        ).all()
        assert any("has ended, so your meeting" in n for n in notes)


def test_a_meeting_already_held_is_left_as_it_was_when_the_pair_ends(
    db: Session, setup: PairSetup
) -> None:
    meeting = booked(db, setup, "2026-10-13T18:00")
    later = NOW + dt.timedelta(days=3)
    assert meetings.next_occurrence(meeting, later) is None
    from mentor_app.models import Pair

    pair = db.get(Pair, setup.pair.id)
    assert pair is not None
    assert meetings.cancel_for_closed_pair(db, pair=pair, by_user_id=None, now=later) == 0
    assert meeting.status == "confirmed"


# --- Download .ics ------------------------------------------------------------------------------


def test_download_ics_is_for_the_pairs_members_only(
    db: Session, setup: PairSetup, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    meeting = booked(db, setup)
    db.commit()
    monkeypatch.setattr(web_auth, "session_scope", lambda: session_scope(engine))
    monkeypatch.setattr(web_auth, "read_scope", lambda: read_scope(engine))
    client = TestClient(web_auth.routes())
    outsider = make_user(db, display_name="Olga")
    path = f"/meetings/{meeting.id}.ics"

    def as_member(user: User) -> Any:
        client.cookies.clear()
        client.cookies.set(web_auth.COOKIE_NAME, new_session(db, user))
        return client.get(path, follow_redirects=False)

    mine = as_member(setup.mentee)
    assert mine.status_code == 200
    assert mine.headers["content-type"].startswith("text/calendar")
    assert "attachment" in mine.headers["content-disposition"]
    assert str(event_of(mine.text)[1]["UID"]) == meeting.uid
    for who in (outsider, setup.admin):
        refused = as_member(who)
        assert refused.status_code == 404 and meeting.uid not in refused.text
    client.cookies.clear()
    assert client.get(path, follow_redirects=False).status_code == 303  # to log in
    client.cookies.set(web_auth.COOKIE_NAME, new_session(db, setup.mentee))
    foreign = client.get(path, headers={"Sec-Fetch-Site": "cross-site"})
    assert foreign.status_code == 403


def test_a_proposed_time_that_has_passed_is_no_longer_offered(
    db: Session, setup: PairSetup
) -> None:
    meeting = propose(db, setup, "2026-10-13T18:00", "2026-10-20T18:00")
    later = dt.datetime(2026, 10, 14, tzinfo=dt.UTC)
    view = meetings.get_meetings(db, actor=setup.mentee, pair_id=setup.pair.id or 0, now=later)

    assert view.proposal is not None
    assert [(o.index, local(o.at, PARIS)) for o in view.proposal.options] == [
        (1, "2026-10-20 18:00")
    ]
    with pytest.raises(Conflict):
        meetings.accept(db, actor=setup.mentee, meeting_id=meeting.id, option=0, now=later)
    done = meetings.accept(db, actor=setup.mentee, meeting_id=meeting.id, option=1, now=later)
    assert local(done.starts_at, PARIS) == "2026-10-20 18:00"  # type: ignore[arg-type]
