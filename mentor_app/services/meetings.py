"""A pair's meetings: one member proposes up to three times, the partner picks one (or
proposes others), either member reschedules or cancels; a confirmed meeting may repeat
weekly until the journey's last week.

Visible to the pair's two members only, on an active pair that no block stands between.
Times are typed in a member's own zone (`User.timezone`), stored in UTC, and shown in both
members' zones. Every confirmed, changed or cancelled meeting sends both members an e-mail
with its calendar invite (`calendar_invites`) through the outbox; a pair that ends, for
whatever reason, cancels its future meetings the same way (`cancel_for_closed_pair`, called
from `journey.close_pair`, which every ending passes through).
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sqlmodel import Session, col, select

from mentor_app.models import EmailOutbox, Meeting, Pair, Program, User, utcnow
from mentor_app.services import (
    blocks,
    calendar_invites,
    groups,
    journey,
    meeting_times,
    notifications,
)
from mentor_app.services.errors import Conflict, NotFound, PermissionDenied, ValidationError
from mentor_app.settings import settings

OPTIONS_MAX = 3
DURATION_DEFAULT = 60
DURATION_MIN, DURATION_MAX = 15, 240
LINK_MAX = 500
UPCOMING_MAX = 5  # confirmed meetings the page lists
MEETING_NOT_FOUND = "Meeting not found."
BLOCKED = "You can't plan meetings with this member."
# The kinds of the e-mails: never optional (email_prefs.REQUIRED_KINDS), since a calendar
# that missed a change or a cancellation shows a meeting that is not happening.
INVITE_KIND = "meeting_invite"
CANCEL_KIND = "meeting_cancelled"
NOTICE_KIND = "meeting"  # the in-app notification (not an e-mail of its own)
SUBJECTS = {
    "confirmed": "Your mentoring meeting is booked",
    "changed": "Your mentoring meeting has changed",
    "cancelled": "Your mentoring meeting is cancelled",
}
_LOCAL_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})")


# --- who may act ----------------------------------------------------------------------------


def _active_pair(db: Session, *, actor: User, pair_id: int) -> tuple[Pair, str]:
    """The pair (row-locked for the change) and the actor's role: one of its members,
    active, no block between them. NotFound for everyone else (admins included)."""
    pair, role = journey.pair_of_member(db, actor=actor, pair_id=pair_id)
    if pair.status != "active":
        raise Conflict(journey.ENDED)
    if blocks.is_blocked(db, pair.mentor_id, pair.mentee_id):
        raise Conflict(BLOCKED)
    # Two members acting at once on PostgreSQL: one waits for the other (SQLite's write
    # transactions are serial already), so a pair never has two open proposals.
    db.exec(select(Pair.id).where(Pair.id == pair.id).with_for_update()).first()
    return pair, role


def _meeting_of_member(
    db: Session, *, actor: User, meeting_id: Any, for_change: bool = True
) -> tuple[Meeting, Pair, str]:
    try:
        wanted = int(meeting_id)
    except (TypeError, ValueError):
        raise NotFound(MEETING_NOT_FOUND) from None
    meeting = db.get(Meeting, wanted)
    if meeting is None:
        raise NotFound(MEETING_NOT_FOUND)
    try:
        if for_change:
            pair, role = _active_pair(db, actor=actor, pair_id=meeting.pair_id)
        else:
            pair, role = journey.pair_of_member(db, actor=actor, pair_id=meeting.pair_id)
    except NotFound:
        raise NotFound(MEETING_NOT_FOUND) from None
    db.refresh(meeting)  # as it is now the pair is locked
    return meeting, pair, role


# --- time ----------------------------------------------------------------------------------


def _zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(journey.clean_timezone(name))


def parse_local(text: Any, timezone: str, *, field_name: str) -> dt.datetime:
    """A member's "YYYY-MM-DDTHH:MM" (what a datetime-local input sends), read in their own
    zone, as a UTC instant. A wall-clock time the clocks skip (spring forward) is refused;
    one they pass twice (fall back) is its first passing."""
    match = _LOCAL_TIME.fullmatch(str(text or "").strip()[:16])
    if match is None:
        raise ValidationError("Give a date and a time.", field=field_name)
    try:
        year, month, day, hour, minute = (int(part) for part in match.groups())
        naive = dt.datetime(year, month, day, hour, minute)
    except ValueError:
        raise ValidationError("That date doesn't exist.", field=field_name) from None
    zone = _zone(timezone)
    local = naive.replace(tzinfo=zone)
    instant = local.astimezone(dt.UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != naive:
        raise ValidationError(
            "The clocks change at that moment in your time zone: choose another time.",
            field=field_name,
        )
    return instant


def journey_last_day(db: Session, pair: Pair) -> dt.date | None:
    """The last day of the pair's journey (its last week's seventh day)."""
    program = db.get(Program, pair.program_id)
    if pair.start_date is None or program is None:
        return None
    weeks = len(program.journey) or program.length_weeks
    return pair.start_date + dt.timedelta(days=7 * weeks - 1)


def _check_when(
    instant: dt.datetime,
    *,
    now: dt.datetime,
    last_day: dt.date | None,
    timezone: str,
    field_name: str,
) -> None:
    if instant <= now:
        raise ValidationError("That time has passed: choose a time to come.", field=field_name)
    if last_day is not None and instant.astimezone(_zone(timezone)).date() > last_day:
        raise ValidationError(
            f"Your journey ends on {_day(last_day)}: choose a time before it ends.",
            field=field_name,
        )
    if instant - now > dt.timedelta(days=366):
        raise ValidationError("Choose a time within the coming year.", field=field_name)


def occurrences(meeting: Meeting) -> list[dt.datetime]:
    """Every start of the meeting's time, in UTC (`meeting_times.series`: one, or a weekly
    series at the same local time in the meeting's zone until its `repeat_until` date)."""
    return meeting_times.series(meeting) or ([meeting.starts_at] if meeting.starts_at else [])


def next_occurrence(meeting: Meeting, now: dt.datetime) -> dt.datetime | None:
    """The first occurrence not yet over at `now` (None: the meeting is behind us)."""
    length = dt.timedelta(minutes=meeting.duration_minutes)
    return next((at for at in occurrences(meeting) if at + length > now), None)


def _series_until(meeting: Meeting) -> dt.datetime | None:
    """RRULE's UNTIL: the last occurrence's start, in UTC (None for a single meeting)."""
    if not meeting.weekly:
        return None
    return occurrences(meeting)[-1]


def _day(day: dt.date) -> str:
    return f"{day:%a} {day.day} {day:%b}"


def _clock(moment: dt.datetime) -> str:
    return f"{_day(moment.date())}, {moment:%H:%M}"


def both_zones(instant: dt.datetime, *, mine: str, partner_name: str, partner_zone: str) -> str:
    """How a member reads a time: "Tue 8 Dec, 18:00 your time · 09:00 for Nora
    (America/Los_Angeles)" (with the partner's date when it is another day)."""
    here = instant.astimezone(_zone(mine))
    there = instant.astimezone(_zone(partner_zone))
    zone_name = journey.clean_timezone(partner_zone)
    if journey.clean_timezone(mine) == zone_name:
        return f"{_clock(here)} your time · the same for {partner_name}"
    theirs = f"{there:%H:%M}" if there.date() == here.date() else _clock(there)
    return f"{_clock(here)} your time · {theirs} for {partner_name} ({zone_name})"


# --- input ---------------------------------------------------------------------------------


def clean_video_link(value: Any) -> str:
    """An optional https link to a real host: no spaces, no user name or password, at most
    LINK_MAX characters. "" when none is given."""
    link = str(value or "").strip()
    if not link:
        return ""
    bad = "Give an https:// link to your video call, e.g. https://meet.example.com/abc."
    if len(link) > LINK_MAX:
        raise ValidationError(f"Use at most {LINK_MAX} characters.", field="video_link")
    if any(ch.isspace() or ord(ch) < 32 or ch in "\\<>\"'`" for ch in link):
        raise ValidationError(bad, field="video_link")
    try:
        parts = urlsplit(link)
        port = parts.port
    except ValueError:
        raise ValidationError(bad, field="video_link") from None
    host = parts.hostname or ""
    if (
        parts.scheme != "https"
        or not link.lower().startswith("https://")
        or parts.username is not None
        or parts.password is not None
        or "@" in parts.netloc
        or not re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", host)
        or host.split(".")[-1].isdigit()
        or any(not part or part[0] == "-" or part[-1] == "-" for part in host.split("."))
        or (port is not None and not 0 < port < 65536)
    ):
        raise ValidationError(bad, field="video_link")
    return link


def _clean_duration(value: Any) -> int:
    if value is None or (isinstance(value, str) and not value.strip()):
        return DURATION_DEFAULT
    message = f"Choose a length from {DURATION_MIN} to {DURATION_MAX} minutes."
    try:
        minutes = int(str(value).strip())
    except ValueError:
        raise ValidationError(message, field="duration") from None
    if not DURATION_MIN <= minutes <= DURATION_MAX:
        raise ValidationError(message, field="duration")
    return minutes


def _clean_flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in ("on", "yes", "true", "1")


# --- proposing and answering ----------------------------------------------------------------


def _open_proposal(db: Session, pair_id: int) -> Meeting | None:
    return db.exec(
        select(Meeting)
        .where(Meeting.pair_id == pair_id, Meeting.status == "proposed")
        .order_by(col(Meeting.id).desc())
    ).first()


def propose(
    db: Session,
    *,
    actor: User,
    pair_id: int,
    times: Sequence[Any],
    duration: Any = DURATION_DEFAULT,
    video_link: Any = "",
    weekly: Any = False,
    now: dt.datetime | None = None,
) -> Meeting:
    """Propose one to three times (each "YYYY-MM-DDTHH:MM" in the actor's own zone). A
    pair has one open proposal: a new one, by either member, replaces it (the partner's
    "suggest other times"). The partner is told."""
    now = now or utcnow()
    pair, _role = _active_pair(db, actor=actor, pair_id=pair_id)
    me = groups.acting_user_id(actor)
    given = [(i, str(t or "").strip()) for i, t in enumerate(times, start=1)]
    filled = [(i, t) for i, t in given if t]
    if not filled:
        raise ValidationError("Give at least one time.", field="time1")
    if len(filled) > OPTIONS_MAX:
        raise ValidationError(f"Propose at most {OPTIONS_MAX} times.", field="times")
    zone_name = journey.clean_timezone(actor.timezone)
    last_day = journey_last_day(db, pair)
    chosen: list[dt.datetime] = []
    for i, text in filled:
        name = f"time{min(i, OPTIONS_MAX)}"
        instant = parse_local(text, zone_name, field_name=name)
        _check_when(instant, now=now, last_day=last_day, timezone=zone_name, field_name=name)
        if instant in chosen:
            raise ValidationError("You gave this time twice.", field=name)
        chosen.append(instant)
    minutes = _clean_duration(duration)
    link = clean_video_link(video_link)
    meeting = _open_proposal(db, pair.id or 0)
    if meeting is None:
        meeting = Meeting(pair_id=pair.id or 0, uid=_new_uid())
    meeting.proposed_by = me
    meeting.options = [t.isoformat() for t in sorted(chosen)]
    meeting.duration_minutes = minutes
    meeting.video_link = link
    meeting.weekly = _clean_flag(weekly)
    meeting.timezone = zone_name
    meeting.updated_at = now
    db.add(meeting)
    db.flush()
    names = _names(db, pair)
    partner = _partner(pair, me)
    notifications.notify(
        db,
        user_id=partner,
        kind=NOTICE_KIND,
        text=f"{names[me]} proposed {_count_times(len(chosen))} to meet: pick one on your "
        "pair's page.",
        link=f"/pairs/{pair.id}",
    )
    return meeting


def _count_times(n: int) -> str:
    return "a time" if n == 1 else f"{n} times"


def accept(
    db: Session,
    *,
    actor: User,
    meeting_id: Any,
    option: Any,
    now: dt.datetime | None = None,
) -> Meeting:
    """The partner (not the proposer) picks one of the proposed times: the meeting is
    confirmed, and both members get its invite."""
    now = now or utcnow()
    meeting, pair, _role = _meeting_of_member(db, actor=actor, meeting_id=meeting_id)
    me = groups.acting_user_id(actor)
    if meeting.status != "proposed":
        raise Conflict("This proposal is no longer open.")
    if meeting.proposed_by == me:
        raise PermissionDenied("Your partner picks one of the times you proposed.")
    try:
        index = int(option)
    except (TypeError, ValueError):
        raise ValidationError("Choose one of the proposed times.", field="option") from None
    if not 0 <= index < len(meeting.options):
        raise ValidationError("Choose one of the proposed times.", field="option")
    starts_at = dt.datetime.fromisoformat(meeting.options[index]).astimezone(dt.UTC)
    if starts_at <= now:
        raise Conflict("That time has passed: suggest other times.")
    meeting.status, meeting.starts_at = "confirmed", starts_at
    meeting.repeat_until = journey_last_day(db, pair) if meeting.weekly else None
    meeting.updated_at = now
    db.add(meeting)
    db.flush()
    _send_invites(db, meeting=meeting, pair=pair, actor_id=me, change="confirmed", now=now)
    return meeting


def reschedule(
    db: Session,
    *,
    actor: User,
    meeting_id: Any,
    time: Any = "",
    video_link: Any = None,
    now: dt.datetime | None = None,
) -> Meeting:
    """Either member moves a confirmed meeting to a new time (in their own zone, which
    becomes the series' zone) and/or changes its video link: SEQUENCE goes up and both
    get the changed invite."""
    now = now or utcnow()
    meeting, pair, _role = _meeting_of_member(db, actor=actor, meeting_id=meeting_id)
    me = groups.acting_user_id(actor)
    if meeting.status != "confirmed":
        raise Conflict("Only a booked meeting can be moved.")
    changed = False
    if str(time or "").strip():
        zone_name = journey.clean_timezone(actor.timezone)
        instant = parse_local(time, zone_name, field_name="time")
        _check_when(
            instant,
            now=now,
            last_day=journey_last_day(db, pair),
            timezone=zone_name,
            field_name="time",
        )
        changed = changed or instant != meeting.starts_at or zone_name != meeting.timezone
        meeting.starts_at, meeting.timezone = instant, zone_name
    if video_link is not None:
        link = clean_video_link(video_link)
        changed = changed or link != meeting.video_link
        meeting.video_link = link
    if not changed:
        raise ValidationError("Choose a new time or a new link.", field="time")
    meeting.sequence += 1
    meeting.updated_at = now
    db.add(meeting)
    db.flush()
    _send_invites(db, meeting=meeting, pair=pair, actor_id=me, change="changed", now=now)
    return meeting


def cancel(db: Session, *, actor: User, meeting_id: Any, now: dt.datetime | None = None) -> Meeting:
    """Either member cancels a proposal or a booked meeting (a weekly one: the whole
    series). A booked one sends both members the cancellation for their calendars."""
    now = now or utcnow()
    meeting, pair, _role = _meeting_of_member(db, actor=actor, meeting_id=meeting_id)
    me = groups.acting_user_id(actor)
    if meeting.status == "cancelled":
        raise Conflict("This meeting is already cancelled.")
    was_booked = meeting.status == "confirmed"
    _mark_cancelled(db, meeting, by=me, now=now)
    if was_booked:
        _send_invites(db, meeting=meeting, pair=pair, actor_id=me, change="cancelled", now=now)
    else:
        names = _names(db, pair)
        notifications.notify(
            db,
            user_id=_partner(pair, me),
            kind=NOTICE_KIND,
            text=f"{names[me]} withdrew the times they proposed to meet.",
            link=f"/pairs/{pair.id}",
        )
    return meeting


def _mark_cancelled(db: Session, meeting: Meeting, *, by: int | None, now: dt.datetime) -> None:
    if meeting.status == "confirmed":
        meeting.sequence += 1  # a calendar takes a CANCEL only with a higher SEQUENCE
    meeting.status, meeting.cancelled_at, meeting.cancelled_by = "cancelled", now, by
    meeting.updated_at = now
    db.add(meeting)
    db.flush()


def cancel_for_closed_pair(
    db: Session, *, pair: Pair, by_user_id: int | None, now: dt.datetime | None = None
) -> int:
    """The pair has just ended, completed or been blocked (`journey.close_pair`): its open
    proposal is withdrawn, and every booked meeting with an occurrence still to come is
    cancelled, each member told in the app and sent the calendar's cancellation. Meetings
    wholly in the past stay as they were. Returns how many booked meetings were cancelled."""
    now = now or utcnow()
    cancelled = 0
    for meeting in db.exec(
        select(Meeting)
        .where(Meeting.pair_id == pair.id, col(Meeting.status).in_(["proposed", "confirmed"]))
        .order_by(col(Meeting.id))
    ).all():
        if meeting.status == "proposed":
            _mark_cancelled(db, meeting, by=by_user_id, now=now)
        elif next_occurrence(meeting, now) is not None:
            _mark_cancelled(db, meeting, by=by_user_id, now=now)
            _send_invites(
                db,
                meeting=meeting,
                pair=pair,
                actor_id=None,
                change="cancelled",
                now=now,
                ended=True,
            )
            cancelled += 1
    return cancelled


# --- invites --------------------------------------------------------------------------------


def _new_uid() -> str:
    return f"{secrets.token_hex(16)}@mentor-circles"


def _names(db: Session, pair: Pair) -> dict[int, str]:
    rows = db.exec(
        select(User.id, User.display_name).where(col(User.id).in_([pair.mentor_id, pair.mentee_id]))
    ).all()
    found = {uid or 0: name for uid, name in rows}
    return {member: found.get(member, "") for member in (pair.mentor_id, pair.mentee_id)}


def _partner(pair: Pair, me: int) -> int:
    return pair.mentee_id if me == pair.mentor_id else pair.mentor_id


def _program_title(db: Session, pair: Pair) -> str:
    program = db.get(Program, pair.program_id)
    return program.title if program is not None else ""


def invite_for(
    db: Session,
    *,
    meeting: Meeting,
    pair: Pair,
    member: User,
    method: str,
    now: dt.datetime | None = None,
) -> str:
    """The calendar invite of `meeting` for one of its pair's members (the system's: the
    callers have checked who asks)."""
    names = _names(db, pair)
    me = member.id or 0
    partner_name = names[_partner(pair, me)]
    title = _program_title(db, pair)
    page = f"{settings.app_origin}/pairs/{pair.id}"
    description = (
        f"Your mentoring meeting with {partner_name} in “{title}”.\nYour pair's page: {page}"
    )
    if meeting.video_link:
        description += f"\nVideo call: {meeting.video_link}"
    return calendar_invites.invite(
        meeting,
        method=method,
        attendee=calendar_invites.Attendee(member.display_name, member.email),
        summary=f"Mentoring: {names[me]} and {partner_name}",
        description=description,
        organizer=settings.mail_from,
        until=_series_until(meeting),
        now=now,
    )


def _send_invites(
    db: Session,
    *,
    meeting: Meeting,
    pair: Pair,
    actor_id: int | None,
    change: str,
    now: dt.datetime,
    ended: bool = False,
) -> None:
    """Both members get an e-mail with their invite (REQUEST, or CANCEL); the one who did
    not act (both, when the pair ended) is also told in the app."""
    method = calendar_invites.CANCEL if change == "cancelled" else calendar_invites.REQUEST
    kind = CANCEL_KIND if change == "cancelled" else INVITE_KIND
    names = _names(db, pair)
    members = db.exec(select(User).where(col(User.id).in_([pair.mentor_id, pair.mentee_id]))).all()
    for member in members:
        me = member.id or 0
        partner_name = names[_partner(pair, me)]
        zone = member.timezone
        partner_zone = next((m.timezone for m in members if m.id != me), "UTC")
        when = both_zones(
            meeting.starts_at or now,
            mine=zone,
            partner_name=partner_name,
            partner_zone=partner_zone,
        )
        repeat = (
            f", weekly until {_day(meeting.repeat_until)}"
            if meeting.weekly and meeting.repeat_until
            else ""
        )
        if change == "cancelled" and ended:
            text = (
                f"Your pair with {partner_name} has ended, so your meeting on {when} is cancelled."
            )
        elif change == "cancelled":
            text = f"Your meeting with {partner_name} on {when}{repeat} is cancelled."
        elif change == "changed":
            text = f"Your meeting with {partner_name} is now on {when}{repeat}."
        else:
            text = f"Your meeting with {partner_name} is booked: {when}{repeat}."
        link = f"/pairs/{pair.id}"
        notification_id = None
        if me != actor_id:
            notice = notifications.notify(db, user_id=me, kind=NOTICE_KIND, text=text, link=link)
            notification_id = notice.id
        if member.status != "active":
            continue  # a suspended member gets no mail
        db.add(
            EmailOutbox(
                notification_id=notification_id,
                to_address=member.email,
                subject=SUBJECTS[change],
                body=notifications.email_body(member.display_name, text, link)
                + "\nThe calendar invite is attached (invite.ics).\n",
                kind=kind,
                user_id=me,
                next_attempt_at=now,
                created_at=now,
                ics=invite_for(
                    db, meeting=meeting, pair=pair, member=member, method=method, now=now
                ),
            )
        )
    db.flush()


# --- what the page shows --------------------------------------------------------------------


@dataclass(frozen=True)
class TimeText:
    """One time as each member reads it ("mentor" / "mentee": the text for that member)."""

    at: dt.datetime
    by_role: dict[str, str]
    index: int = 0  # a proposed time's place among the options (what `accept` takes)


@dataclass(frozen=True)
class MeetingView:
    id: int
    status: str  # proposed | confirmed
    proposer_role: str
    waiting_for: str  # the role that must act now ("" when nobody must)
    options: list[TimeText]
    starts: TimeText | None
    next: TimeText | None
    duration_minutes: int
    video_link: str
    weekly: bool
    repeat_until: str  # "Mon 28 Dec", or ""
    sequence: int


@dataclass(frozen=True)
class MeetingsView:
    pair_id: int
    proposal: MeetingView | None
    booked: list[MeetingView] = field(default_factory=list)  # next occurrence first
    last_day: str = ""  # the journey's last day, for the forms' hint


def get_meetings(
    db: Session, *, actor: User, pair_id: int, now: dt.datetime | None = None
) -> MeetingsView:
    """The pair's open proposal and booked meetings still to come, the same for both of
    its members (each time is worded for each of them)."""
    pair, _role = journey.pair_of_member(db, actor=actor, pair_id=pair_id)
    return _view(db, pair, now or utcnow())


def shared_view(db: Session, *, pair: Pair, now: dt.datetime | None = None) -> MeetingsView:
    """`get_meetings` for a pair the caller has already checked (or the system)."""
    return _view(db, pair, now or utcnow())


def _view(db: Session, pair: Pair, now: dt.datetime) -> MeetingsView:
    people = {
        u.id or 0: u
        for u in db.exec(select(User).where(col(User.id).in_([pair.mentor_id, pair.mentee_id])))
    }
    roles = {pair.mentor_id: "mentor", pair.mentee_id: "mentee"}

    def text(at: dt.datetime, index: int = 0) -> TimeText:
        by_role = {}
        for member, role in roles.items():
            other = people.get(_partner(pair, member))
            mine = people.get(member)
            by_role[role] = both_zones(
                at,
                mine=mine.timezone if mine else "UTC",
                partner_name=other.display_name if other else "",
                partner_zone=other.timezone if other else "UTC",
            )
        return TimeText(at, by_role, index)

    def view(m: Meeting) -> MeetingView:
        proposer = roles.get(m.proposed_by or 0, "")
        coming = next_occurrence(m, now) if m.status == "confirmed" else None
        return MeetingView(
            id=m.id or 0,
            status=m.status,
            proposer_role=proposer,
            waiting_for=(
                {"mentor": "mentee", "mentee": "mentor"}.get(proposer, "")
                if m.status == "proposed"
                else ""
            ),
            # The times still to come (one that has passed can no longer be picked).
            options=[
                text(at, i)
                for i, at in enumerate(
                    dt.datetime.fromisoformat(o).astimezone(dt.UTC) for o in m.options
                )
                if at > now
            ],
            starts=text(m.starts_at) if m.starts_at else None,
            next=text(coming) if coming else None,
            duration_minutes=m.duration_minutes,
            video_link=m.video_link,
            weekly=m.weekly,
            repeat_until=_day(m.repeat_until) if m.weekly and m.repeat_until else "",
            sequence=m.sequence,
        )

    active = pair.status == "active"
    proposal = _open_proposal(db, pair.id or 0) if active else None
    booked: list[MeetingView] = []
    if active:
        rows = db.exec(
            select(Meeting)
            .where(Meeting.pair_id == pair.id, Meeting.status == "confirmed")
            .order_by(col(Meeting.starts_at))
        ).all()
        coming = [(next_occurrence(m, now), m) for m in rows]
        ordered = sorted(((at, m) for at, m in coming if at is not None), key=lambda p: p[0])
        booked = [view(m) for _at, m in ordered[:UPCOMING_MAX]]
    last = journey_last_day(db, pair)
    return MeetingsView(
        pair_id=pair.id or 0,
        proposal=view(proposal) if proposal is not None else None,
        booked=booked,
        last_day=_day(last) if last else "",
    )


def download_invite(
    db: Session, *, actor: User, meeting_id: Any, now: dt.datetime | None = None
) -> tuple[str, str]:
    """A booked meeting's invite for the member who asks (the page's Download .ics), and
    a file name. NotFound for anyone but the pair's two members, and for a meeting that
    is not booked."""
    meeting, pair, _role = _meeting_of_member(
        db, actor=actor, meeting_id=meeting_id, for_change=False
    )
    if meeting.status != "confirmed" or pair.status != "active":
        raise NotFound(MEETING_NOT_FOUND)
    member = db.get(User, groups.acting_user_id(actor))
    assert member is not None
    text = invite_for(
        db, meeting=meeting, pair=pair, member=member, method=calendar_invites.REQUEST, now=now
    )
    return text, f"mentoring-meeting-{meeting.id}.ics"
