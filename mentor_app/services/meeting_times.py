"""When a pair's meetings happen: the one occurrence rule that reminders, the check-in, the
weekly nudge and the dashboard share (and the same rule as the meetings service's page and
invites: `RRULE:FREQ=WEEKLY;UNTIL=...` with the meeting's TZID). Read-only; no access check
(callers hold a meeting they were allowed to read, or are the system).

A confirmed meeting happens at `starts_at`; a weekly one also every week after it at the
same wall-clock time in the meeting's own zone (`Meeting.timezone`, its proposer's), so
across a daylight-saving change the series keeps its local time there and its UTC time
moves, up to and including the day `repeat_until` in that zone. A proposed or cancelled
meeting has no occurrence. Every text shows an occurrence in the reader's own zone.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import NamedTuple, Protocol

CONFIRMED = "confirmed"
WEEK = dt.timedelta(days=7)


class MeetingTimes(Protocol):
    """What the rule reads of a meeting: a `Meeting` row, or its `Times`."""

    @property
    def status(self) -> str: ...
    @property
    def starts_at(self) -> dt.datetime | None: ...
    @property
    def weekly(self) -> bool: ...
    @property
    def repeat_until(self) -> dt.date | None: ...
    @property
    def timezone(self) -> str: ...


class Times(NamedTuple):
    """A meeting's times as a bulk read gets them (five columns, in this order)."""

    status: str
    starts_at: dt.datetime | None
    weekly: bool
    repeat_until: dt.date | None
    timezone: str


def _utc(moment: dt.datetime) -> dt.datetime:
    if moment.utcoffset() is None:
        raise ValueError("a meeting time must carry its time zone")
    return moment.astimezone(dt.UTC)


def _zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def occurrences(meeting: MeetingTimes, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """The starts (UTC) of a confirmed meeting in [start, end), first first."""
    if meeting.status != CONFIRMED:
        return []
    return _starts(meeting, start, end)


def series(meeting: MeetingTimes) -> list[dt.datetime]:
    """Every start (UTC) of a meeting's time, whatever its status: a cancelled meeting's
    invite names the series it cancels."""
    if meeting.starts_at is None:
        return []
    return _starts(meeting, meeting.starts_at, dt.datetime.max.replace(tzinfo=dt.UTC))


def _starts(meeting: MeetingTimes, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    if meeting.starts_at is None:
        return []
    first, start, end = _utc(meeting.starts_at), _utc(start), _utc(end)
    if not meeting.weekly or meeting.repeat_until is None:
        return [first] if start <= first < end else []
    zone = _zone(meeting.timezone)
    # The series' wall clock in its zone, moved on a week at a time; whole weeks before
    # `start` are skipped (a daylight-saving shift is an hour: one week's slack).
    wall = first.astimezone(zone).replace(tzinfo=None)
    wall += max(0, (start - first) // WEEK - 1) * WEEK
    found: list[dt.datetime] = []
    while wall.date() <= meeting.repeat_until:
        moment = wall.replace(tzinfo=zone).astimezone(dt.UTC)
        if moment >= end:
            break
        if moment >= start:
            found.append(moment)
        wall += WEEK
    return found


def local(moment: dt.datetime, timezone: str) -> dt.datetime:
    """`moment` on the wall clock of `timezone` (UTC for a name the server doesn't know)."""
    return _utc(moment).astimezone(_zone(timezone))


def day_name(moment: dt.datetime, timezone: str) -> str:
    """The weekday of `moment` for someone in `timezone` ("Tuesday")."""
    return local(moment, timezone).strftime("%A")


def clock_time(moment: dt.datetime, timezone: str) -> str:
    """The time of `moment` for someone in `timezone` ("18:00")."""
    return local(moment, timezone).strftime("%H:%M")


def journey_week_bounds(
    start_date: dt.date, week: int, timezone: str
) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) in UTC of a journey week (1 = the seven days from `start_date`), from
    local midnight to local midnight in `timezone`: the week as that member's page counts
    it."""
    zone = _zone(timezone)
    first = start_date + dt.timedelta(days=7 * (week - 1))
    after = first + dt.timedelta(days=7)
    return tuple(  # type: ignore[return-value]
        dt.datetime(d.year, d.month, d.day, tzinfo=zone).astimezone(dt.UTC) for d in (first, after)
    )
