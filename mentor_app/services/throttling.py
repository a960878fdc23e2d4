"""Rate limits kept in the database, so every worker counts the same attempts: a client
address's failed log-ins and sign-ups, a member's new groups and joins.

Each limit is a fixed window per key (`RateLimit`: key, window start, count). The window
opens at the key's first counted attempt and lasts `Limit.window`; the first attempt after
it opens a new one. Counting is one upsert, atomic on SQLite and PostgreSQL alike. A limit
that is reached answers `Throttled` with the time left in its window."""

from __future__ import annotations

import datetime as dt
import ipaddress
import math
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import case, delete, literal
from sqlmodel import Session, col, select

from mentor_app.db import insert_for
from mentor_app.models import RateLimit
from mentor_app.services.errors import Throttled

KEY_MAX = 200
# A client gets a whole IPv6 /64 (often more) and may use any address in it at will: its
# addresses count as one.
IPV6_PREFIX = 64
NO_ADDRESS = "unknown"

_TABLE = RateLimit.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Limit:
    """At most `max` counted attempts per key in `window`. `message` names who is limited;
    " Try again in …." is added to it."""

    name: str
    max: int
    window: dt.timedelta
    message: str

    def __post_init__(self) -> None:
        if LIMITS.setdefault(self.name, self) != self:
            raise ValueError(f"two different limits are named {self.name!r}")

    def key(self, subject: str | int) -> str:
        return f"{self.name}:{subject}"[:KEY_MAX]


# Every limit by name, as they are made (for the cleaning job's longest window).
LIMITS: dict[str, Limit] = {}


def longest_window() -> dt.timedelta:
    return max((limit.window for limit in LIMITS.values()), default=dt.timedelta(0))


def wait_text(seconds: int) -> str:
    """'1 second', '45 seconds', '4 minutes' (rounded up), '2 hours'."""
    seconds = max(1, int(seconds))
    if seconds < 60:
        return "1 second" if seconds == 1 else f"{seconds} seconds"
    minutes = math.ceil(seconds / 60)
    if minutes < 120:
        return "1 minute" if minutes == 1 else f"{minutes} minutes"
    return f"{math.ceil(minutes / 60)} hours"


def try_again(message: str, wait_s: int, *, field: str | None = None) -> Throttled:
    wait_s = max(1, int(wait_s))
    return Throttled(
        f"{message} Try again in {wait_text(wait_s)}.", retry_after_s=wait_s, field=field
    )


def address_key(address: str | None) -> str:
    """What a client address counts as: the address itself (IPv4, and IPv4 mapped into
    IPv6), its /64 network for IPv6, NO_ADDRESS when there is none. Anything else (a name
    a test client gives) is kept as it is."""
    text = (address or "").strip()
    if not text:
        return NO_ADDRESS
    try:
        ip = ipaddress.ip_address(_without_port(text).split("%", 1)[0])  # no zone ("%eth0")
    except ValueError:
        return text[:100]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, IPV6_PREFIX), strict=False))
    return str(ip)


def _without_port(text: str) -> str:
    """`[2001:db8::1]:443` → `2001:db8::1`, `192.0.2.1:443` → `192.0.2.1` (some proxies
    write the port too: each port must not count as an address of its own)."""
    if text.startswith("["):
        return text[1:].split("]", 1)[0]
    if text.count(":") == 1:
        return text.split(":", 1)[0]
    return text


def wait_seconds(db: Session, limit: Limit, subject: str | int, *, now: dt.datetime) -> int:
    """How long until `limit` lets `subject` try again: 0 when it may now."""
    row = db.exec(
        select(RateLimit.count, RateLimit.window_start).where(RateLimit.key == limit.key(subject))
    ).first()
    if row is None:
        return 0
    count, window_start = row
    ends = window_start + limit.window
    if count < limit.max or ends <= now:
        return 0
    return max(1, math.ceil((ends - now).total_seconds()))


def refuse_if_reached(
    db: Session,
    checks: Iterable[tuple[Limit, str | int]],
    *,
    now: dt.datetime,
    field: str | None = None,
) -> None:
    """Throttled if any of these limits is reached; reads only (count with `hit`)."""
    for limit, subject in checks:
        wait_s = wait_seconds(db, limit, subject, now=now)
        if wait_s:
            raise try_again(limit.message, wait_s, field=field)


def hit(db: Session, limit: Limit, subject: str | int, *, now: dt.datetime) -> tuple[int, int]:
    """Count one attempt, atomically: (the window's count with it, seconds left in the
    window). On PostgreSQL the row stays locked until the transaction ends, so attempts of
    one key that count before they act (`take`) run one after the other."""
    expired = col(RateLimit.window_start) <= now - limit.window
    started = literal(now, _TABLE.c.window_start.type)  # stored as UTC, like every write
    statement = (
        insert_for(db.get_bind(), _TABLE)
        .values(key=limit.key(subject), window_start=now, count=1)
        .on_conflict_do_update(
            index_elements=["key"],
            set_={
                "count": case((expired, 1), else_=_TABLE.c.count + 1),
                "window_start": case((expired, started), else_=_TABLE.c.window_start),
            },
        )
        .returning(_TABLE.c.count, _TABLE.c.window_start)
    )
    row = db.execute(statement).one()
    count: int = row[0]
    window_start: dt.datetime = row[1]
    left = (window_start + limit.window - now).total_seconds()
    return count, max(1, math.ceil(left))


def take(
    db: Session,
    limit: Limit,
    subject: str | int,
    *,
    now: dt.datetime,
    field: str | None = None,
) -> None:
    """Count this attempt, or refuse it once the limit is reached. A refused attempt is
    not counted: the caller's rollback of the refusal takes it back."""
    count, left_s = hit(db, limit, subject, now=now)
    if count > limit.max:
        raise try_again(limit.message, left_s, field=field)


def forget_expired(db: Session, *, now: dt.datetime, at_most: int = 1000) -> int:
    """Delete up to `at_most` rows whose window has ended whatever their limit (it began
    longer ago than the longest window): such a row counts as nothing. Returns how many
    went; the caller repeats, a transaction each, while it gets `at_most`."""
    cutoff = now - longest_window()
    old = select(RateLimit.key).where(col(RateLimit.window_start) < cutoff).limit(at_most)
    result = db.execute(delete(RateLimit).where(col(RateLimit.key).in_(old)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
