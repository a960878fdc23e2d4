"""Whether a member is here, how far they have read each pair chat, and the notice of
new messages that waited while they were away.

Presence (design). A member "has an open tab" when one of their sessions was seen in the
last PRESENCE_WINDOW: `UserSession.last_seen_at`, which every event of a tab already
refreshes (at most once a minute, `sessions.resolve_session`), and which each backend
worker also refreshes every HEARTBEAT_EVERY_S for the sessions of the sockets it holds
open (`touch_open_sessions`, from `mentor_app.away`), so a tab left open without a click
still counts. Sockets are per worker, in memory; the timestamp is in the database, so
every worker and the leader's job read one truth. When a worker is killed (kill -9) its
sockets stop being refreshed: their tabs reconnect to another worker, which refreshes them
from then on, or they are gone, and the member counts as away once PRESENCE_WINDOW has
passed since the last beat. Nothing needs cleaning up after a crash. One write per worker
every two minutes, however many tabs.

Read (design). The app had no read receipts; `ConversationRead.read_at` is the last time
the chat was in front of the member: when they open the pair page, when they send a
message, and when a message reaches a tab of theirs that shows the
chat live (`after_sends`, which state.read_marks calls for the sends of the last half
second in one transaction). Messages from the partner after it are unread.

Away notice. A leader-only job (every minute) finds partner messages unread for at least
AWAY_AFTER in active pairs, and for each such conversation whose member has no open tab
and was not yet told in this quiet period, writes one notification (which names the
partner, never the text, and queues the e-mail of kind "new_message" that the member's
preferences then decide on). `noticed_at` marks the period told; a new period begins when
they read the conversation (read_at passes noticed_at).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import case, or_, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, func, select

from mentor_app.db import insert_for
from mentor_app.models import ConversationRead, Message, Pair, User, UserSession, utcnow
from mentor_app.services import notifications, sessions

if TYPE_CHECKING:
    from mentor_app.services.access import PairAccess

PRESENCE_WINDOW = dt.timedelta(minutes=5)
HEARTBEAT_EVERY_S = 120  # well inside PRESENCE_WINDOW: one late beat does not mean away
AWAY_AFTER = dt.timedelta(minutes=15)
# Older unread messages are not announced (e.g. when this feature is first switched on).
LOOKBACK = dt.timedelta(days=2)
AWAY_KIND = "new_message"


# --- presence ------------------------------------------------------------------------------


def touch_open_sessions(
    db: Session, *, tokens: Iterable[str], now: dt.datetime | None = None
) -> int:
    """The heartbeat: mark the sessions behind these open sockets' tokens seen now (those
    not seen in the last minute, so a beat that comes right after an event writes
    nothing). Unknown or ended tokens touch nothing. Returns how many were touched."""
    now = now or utcnow()
    keys = sorted({sessions.session_key(t) for t in tokens if t and len(t) <= sessions.TOKEN_MAX})
    touched = 0
    for start in range(0, len(keys), 500):
        result = db.execute(
            update(UserSession)
            .where(
                col(UserSession.token_hash).in_(keys[start : start + 500]),
                col(UserSession.last_seen_at) < now - sessions.TOUCH_INTERVAL,
                col(UserSession.expires_at) > now,
            )
            .values(last_seen_at=now)
            .execution_options(synchronize_session=False)
        )
        touched += int(result.rowcount or 0)  # type: ignore[attr-defined]
    return touched


def present_user_ids(
    db: Session, *, user_ids: Iterable[int], now: dt.datetime | None = None
) -> set[int]:
    """Which of these members have a tab open now (a session seen within the window)."""
    wanted = sorted(set(user_ids))
    if not wanted:
        return set()
    now = now or utcnow()
    rows = db.exec(
        select(UserSession.user_id).where(
            col(UserSession.user_id).in_(wanted),
            col(UserSession.last_seen_at) > now - PRESENCE_WINDOW,
            col(UserSession.expires_at) > now,
        )
    ).all()
    return {int(r) for r in rows}


# --- reading -------------------------------------------------------------------------------


def _mark_read(db: Session, *, pair_id: int, user_id: int, now: dt.datetime) -> None:
    insert = insert_for(db.get_bind(), ConversationRead.__table__)  # type: ignore[attr-defined]
    db.execute(
        insert.values(pair_id=pair_id, user_id=user_id, read_at=now).on_conflict_do_update(
            index_elements=["pair_id", "user_id"], set_={"read_at": now}
        )
    )


def mark_conversation_read(
    db: Session, *, access: PairAccess, now: dt.datetime | None = None
) -> None:
    """The member in `access` has the pair's chat in front of them now."""
    _mark_read(db, pair_id=access.pair_id, user_id=access.actor_id, now=now or utcnow())


@dataclass(frozen=True)
class SendMark:
    """A message sent by `actor_id` in pair `pair_id` at `at`; `session_keys` are the
    sessions of the tabs linked to the pair's chat then (which the message was pushed to)."""

    pair_id: int
    actor_id: int
    session_keys: frozenset[str]
    at: dt.datetime


def after_send(
    db: Session,
    *,
    access: PairAccess,
    session_keys: Iterable[str],
    now: dt.datetime | None = None,
) -> bool:
    """After the member in `access` sent a message: writing in a conversation is reading
    it, and the partner has read it too if it reached a tab of theirs showing the chat
    (one of `session_keys` is a session of the partner's, seen within the window).
    Returns whether the partner had."""
    mark = SendMark(access.pair_id, access.actor_id, frozenset(session_keys), now or utcnow())
    return bool(after_sends(db, marks=[mark]))


def after_sends(db: Session, *, marks: Iterable[SendMark]) -> set[int]:
    """`after_send` for many sends at once, in three statements whatever their number
    (the chat writes its read marks in batches: state.read_marks). A conversation's read
    time only moves forward: a mark older than the one stored changes nothing. Returns
    the pairs whose partner had the message on their screen."""
    marks = list(marks)
    if not marks:
        return set()
    pairs = {
        int(pair_id or 0): (int(mentor_id), int(mentee_id))
        for pair_id, mentor_id, mentee_id in db.exec(
            select(Pair.id, Pair.mentor_id, Pair.mentee_id).where(
                col(Pair.id).in_(sorted({m.pair_id for m in marks}))
            )
        ).all()
    }
    keys = sorted({k for m in marks for k in m.session_keys})
    sessions_by_key: dict[str, tuple[int, dt.datetime, dt.datetime]] = {}
    for start in range(0, len(keys), 500):
        for key, user_id, last_seen_at, expires_at in db.exec(
            select(
                UserSession.token_hash,
                UserSession.user_id,
                UserSession.last_seen_at,
                UserSession.expires_at,
            ).where(col(UserSession.token_hash).in_(keys[start : start + 500]))
        ).all():
            sessions_by_key[str(key)] = (int(user_id), last_seen_at, expires_at)
    read: dict[tuple[int, int], dt.datetime] = {}
    watched: set[int] = set()

    def note(pair_id: int, user_id: int, at: dt.datetime) -> None:
        if (pair_id, user_id) not in read or read[(pair_id, user_id)] < at:
            read[(pair_id, user_id)] = at

    for mark in marks:
        if mark.pair_id not in pairs:
            continue
        note(mark.pair_id, mark.actor_id, mark.at)
        mentor_id, mentee_id = pairs[mark.pair_id]
        partner = mentee_id if mark.actor_id == mentor_id else mentor_id
        for key in mark.session_keys:
            user_id, last_seen_at, expires_at = sessions_by_key.get(key, (0, mark.at, mark.at))
            if (
                user_id == partner
                and last_seen_at > mark.at - PRESENCE_WINDOW
                and expires_at > mark.at
            ):
                note(mark.pair_id, partner, mark.at)
                watched.add(mark.pair_id)
                break
    _mark_read_many(db, read)
    return watched


def _mark_read_many(db: Session, read: dict[tuple[int, int], dt.datetime]) -> None:
    if not read:
        return
    table = ConversationRead.__table__  # type: ignore[attr-defined]
    insert = insert_for(db.get_bind(), table)
    db.execute(
        insert.values(
            [
                {"pair_id": pair_id, "user_id": user_id, "read_at": at}
                for (pair_id, user_id), at in sorted(read.items())
            ]
        ).on_conflict_do_update(
            index_elements=["pair_id", "user_id"],
            set_={
                "read_at": case(
                    (insert.excluded.read_at > table.c.read_at, insert.excluded.read_at),
                    else_=table.c.read_at,
                )
            },
        )
    )


# --- the away notice -----------------------------------------------------------------------


@dataclass
class AwayReport:
    waiting: int = 0  # conversations with a message unread for AWAY_AFTER
    present: int = 0  # ... whose member has a tab open: not told
    already_told: int = 0  # ... told earlier in this quiet period
    told: int = 0


def away_text(partner_name: str) -> str:
    return f"{partner_name} sent you a message in your mentoring pair. Open the chat to read it."


def notify_away_members(db: Session, *, now: dt.datetime | None = None) -> AwayReport:
    """One notice per conversation per quiet period, for members away from the app."""
    now = now or utcnow()
    report = AwayReport()
    # Five columns: beyond sqlmodel's typed select, so SQLAlchemy's (rows of plain tuples).
    waiting = db.execute(
        sa_select(
            col(Message.pair_id),
            col(Pair.mentor_id),
            col(Pair.mentee_id),
            col(Message.sender_id),
            func.max(Message.created_at),
        )
        .join(Pair, col(Pair.id) == col(Message.pair_id))
        .where(
            col(Pair.status) == "active",
            col(Message.created_at) <= now - AWAY_AFTER,
            col(Message.created_at) > now - LOOKBACK,
        )
        .group_by(
            col(Message.pair_id), col(Pair.mentor_id), col(Pair.mentee_id), col(Message.sender_id)
        )
    ).all()
    # The read marks of these conversations, in one query, not one a conversation.
    reads = {
        (r.pair_id, r.user_id): r
        for r in db.exec(
            select(ConversationRead).where(
                col(ConversationRead.pair_id).in_(sorted({row[0] for row in waiting}))
            )
        ).all()
    }
    candidates: list[tuple[int, int, int]] = []  # (pair, reader, sender)
    for row in waiting:
        pair_id, mentor_id, mentee_id, sender_id = (int(v) for v in row[:4])
        latest: dt.datetime = row[4]
        if sender_id not in (mentor_id, mentee_id):
            continue
        reader = mentee_id if sender_id == mentor_id else mentor_id
        read = reads.get((pair_id, reader))
        if read is not None and read.read_at is not None and latest <= read.read_at:
            continue  # read since
        report.waiting += 1
        if (
            read is not None
            and read.noticed_at is not None
            and (read.read_at is None or read.noticed_at >= read.read_at)
        ):
            report.already_told += 1
            continue
        candidates.append((pair_id, reader, sender_id))
    here = present_user_ids(db, user_ids=[reader for _, reader, _ in candidates], now=now)
    people = {
        u.id: u
        for u in db.exec(
            select(User).where(col(User.id).in_(sorted({who for c in candidates for who in c[1:]})))
        )
    }
    for pair_id, reader, sender_id in candidates:
        if reader in here:
            report.present += 1
            continue
        if reader not in people or people[reader].status != "active":
            continue
        if not _claim_notice(db, pair_id=pair_id, user_id=reader, now=now):
            report.already_told += 1
            continue
        sender = people.get(sender_id)
        notifications.notify(
            db,
            user_id=reader,
            kind=AWAY_KIND,
            text=away_text(sender.display_name if sender else "Your partner"),
            link=f"/pairs/{pair_id}",
        )
        report.told += 1
    return report


def _claim_notice(db: Session, *, pair_id: int, user_id: int, now: dt.datetime) -> bool:
    """Mark this quiet period told, if nobody did meanwhile: one conditional write, so two
    runs at once (a new leader while the old one finishes) cannot both tell."""
    insert = insert_for(db.get_bind(), ConversationRead.__table__)  # type: ignore[attr-defined]
    inserted = db.execute(
        insert.values(pair_id=pair_id, user_id=user_id, noticed_at=now)
        .on_conflict_do_nothing(index_elements=["pair_id", "user_id"])
        .returning(ConversationRead.__table__.c.id)  # type: ignore[attr-defined]
    ).first()
    if inserted is not None:
        return True
    result = db.execute(
        update(ConversationRead)
        .where(
            col(ConversationRead.pair_id) == pair_id,
            col(ConversationRead.user_id) == user_id,
            or_(
                col(ConversationRead.noticed_at).is_(None),
                col(ConversationRead.noticed_at) < col(ConversationRead.read_at),
            ),
        )
        .values(noticed_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0) == 1  # type: ignore[attr-defined]
