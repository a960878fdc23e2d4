"""A meeting's calendar invite (RFC 5545, through the `icalendar` package): the text of the
`invite.ics` its e-mails carry and the page's Download .ics.

METHOD:REQUEST for a confirmed or changed meeting, METHOD:CANCEL for a cancelled one. The
UID is the meeting's own and never changes; SEQUENCE is the meeting's, which goes up with
every change, so a calendar replaces its copy instead of adding a second event. The start
carries the meeting's time zone (TZID, with its VTIMEZONE), so a weekly series keeps its
local time across a daylight-saving change; its RRULE's UNTIL is the last occurrence, in UTC.

Each member gets an invite naming themself as the attendee: a member's e-mail address is
theirs alone (README, "What is private to whom"), so the partner is named in the summary
and description, never by address. The organizer is the app's sender address.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from email.utils import parseaddr

from icalendar import Calendar, Event, vCalAddress, vText

from mentor_app.models import Meeting, utcnow

PRODID = "-//Mentor circles//Meetings//EN"
REQUEST = "REQUEST"
CANCEL = "CANCEL"


@dataclass(frozen=True)
class Attendee:
    """The member an invite is for."""

    name: str
    email: str


def invite(
    meeting: Meeting,
    *,
    method: str,
    attendee: Attendee,
    summary: str,
    description: str,
    organizer: str,
    until: dt.datetime | None,
    now: dt.datetime | None = None,
) -> str:
    """The invite's text. `until`: the UTC start of a weekly series' last occurrence
    (None for a single meeting); `organizer`: the sender's address ("Name <addr>")."""
    if method not in (REQUEST, CANCEL):
        raise ValueError(f"unknown METHOD {method!r}")
    assert meeting.starts_at is not None
    zone = _zone(meeting.timezone)
    start = meeting.starts_at.astimezone(zone)
    end = start + dt.timedelta(minutes=meeting.duration_minutes)

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)

    event = Event()
    event.add("uid", meeting.uid)
    event.add("sequence", meeting.sequence)
    event.add("dtstamp", (now or utcnow()).astimezone(dt.UTC))
    event.add("dtstart", start)
    event.add("dtend", end)
    if meeting.weekly and until is not None:
        event.add("rrule", {"freq": "weekly", "until": until.astimezone(dt.UTC)})
    event.add("summary", summary)
    event.add("description", description)
    if meeting.video_link:
        event.add("location", meeting.video_link)
        event.add("url", meeting.video_link)
    event.add("status", "CANCELLED" if method == CANCEL else "CONFIRMED")
    event.add("transp", "OPAQUE")

    organizer_name, organizer_address = parseaddr(organizer)
    who = vCalAddress(f"mailto:{organizer_address or organizer}")
    who.params["cn"] = vText(organizer_name or "Mentor circles")
    event.add("organizer", who)
    guest = vCalAddress(f"mailto:{attendee.email}")
    guest.params["cn"] = vText(attendee.name)
    guest.params["role"] = vText("REQ-PARTICIPANT")
    guest.params["partstat"] = vText("ACCEPTED")
    guest.params["rsvp"] = vText("FALSE")
    event.add("attendee", guest)
    calendar.add_component(event)
    if zone is not dt.UTC:
        # The zone's rules over the meeting's own span only (a whole history is kilobytes).
        last = (until or meeting.starts_at).date() + dt.timedelta(days=400)
        calendar.add_missing_timezones(
            first_date=start.date() - dt.timedelta(days=400), last_date=last
        )
    return calendar.to_ical().decode()


def method_of(ics: str) -> str:
    """An invite's METHOD (REQUEST, CANCEL), for the e-mail's Content-Type; "" if none."""
    for line in ics.splitlines():
        if line.upper().startswith("METHOD:"):
            return line.split(":", 1)[1].strip().upper()
    return ""


def _zone(name: str) -> dt.tzinfo:
    if not name or name in ("UTC", "Etc/UTC"):
        return dt.UTC
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.UTC
