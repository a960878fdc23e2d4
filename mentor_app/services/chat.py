"""A pair's private chat, and reporting and blocking from it.

Messages are visible to the pair's two members alone (not to group admins; site
moderators see only the copies frozen into a report). The database is the source of
truth: a message exists once its row is committed, and a retry carrying the same client
id finds that row instead of writing another.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import bindparam, exists, literal, or_
from sqlalchemy import select as core_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from mentor_app.db import insert_for
from mentor_app.models import (
    Block,
    Enrollment,
    Message,
    Pair,
    Program,
    Report,
    ReportedMessage,
    User,
    utcnow,
)
from mentor_app.services import audit, blocks, groups, journey
from mentor_app.services.cleaning import storable
from mentor_app.services.errors import Conflict, NotFound, Throttled, ValidationError

BODY_MAX = 4000
PAGE_SIZE = 50
RATE_WINDOW = dt.timedelta(seconds=10)
RATE_MAX = 20
REPORT_WINDOW = dt.timedelta(hours=1)
REPORTS_MAX = 5
REPORT_MESSAGES_MAX = 20
DETAILS_MAX = 2000
REPORT_CATEGORIES = {
    "harassment": "Harassment",
    "inappropriate": "Inappropriate content",
    "spam": "Spam or scam",
    "safety": "Safety concern",
    "other": "Other",
}
CANNOT_SEND = "You can no longer send messages in this chat."
_CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
# C0/C1 controls (newline and tab kept) and the bidirectional overrides/isolates that
# can make text display as something it is not.
_HIDDEN = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def displayable(text: str) -> str:
    """What the page shows of a stored text: control and direction-changing characters
    removed. The stored text itself is never changed."""
    return _HIDDEN.sub("", text)


@dataclass(frozen=True)
class MessageView:
    id: int
    sender_id: int
    sender_name: str
    sender_role: str
    body: str
    created_at: dt.datetime


def _partner_id(pair: Pair, me: int) -> int:
    return pair.mentee_id if me == pair.mentor_id else pair.mentor_id


def _views(db: Session, pair: Pair, rows: Sequence[Message]) -> list[MessageView]:
    names = dict(
        db.exec(
            select(User.id, User.display_name).where(
                col(User.id).in_([pair.mentor_id, pair.mentee_id])
            )
        ).all()
    )
    return [
        MessageView(
            id=m.id or 0,
            sender_id=m.sender_id,
            sender_name=names.get(m.sender_id, ""),
            sender_role="mentor" if m.sender_id == pair.mentor_id else "mentee",
            body=m.body,
            created_at=m.created_at,
        )
        for m in rows
    ]


# --- reading and sending ---------------------------------------------------------------------


def list_messages(
    db: Session,
    *,
    actor: User,
    pair_id: int,
    before_id: int | None = None,
    after_id: int | None = None,
    limit: int = PAGE_SIZE,
) -> tuple[list[MessageView], bool]:
    """Up to `limit` messages before `before_id` (the latest ones without it), oldest
    first, and whether there are earlier ones still. With `after_id` instead: the first
    `limit` messages after it, oldest first, and whether there are later ones still.
    Members only, ended pairs included."""
    pair, _role = journey.pair_of_member(db, actor=actor, pair_id=pair_id)
    limit = max(1, min(limit, PAGE_SIZE))
    query = select(Message).where(Message.pair_id == pair_id)
    if after_id is not None:
        query = query.where(col(Message.id) > after_id)
        rows = list(db.exec(query.order_by(col(Message.id)).limit(limit + 1)).all())
        return _views(db, pair, rows[:limit]), len(rows) > limit
    if before_id is not None:
        query = query.where(col(Message.id) < before_id)
    rows = list(db.exec(query.order_by(col(Message.id).desc()).limit(limit + 1)).all())
    more = len(rows) > limit
    return _views(db, pair, list(reversed(rows[:limit]))), more


def can_send(db: Session, pair: Pair) -> bool:
    return pair.status == "active" and not blocks.is_blocked(db, pair.mentor_id, pair.mentee_id)


def _clean_body(body: Any) -> str:
    # Stored as sent, NUL apart (see cleaning.storable).
    text = storable(str(body or "")).replace("\r\n", "\n")
    if not text.strip():
        raise ValidationError("Write a message first.", field="body")
    if len(text) > BODY_MAX:
        raise ValidationError(
            f"Messages can be at most {BODY_MAX:,} characters; this one has {len(text):,}.",
            field="body",
        )
    return text


def send_message(
    db: Session,
    *,
    actor: User,
    pair_id: int,
    body: Any,
    client_id: str | None,
    now: dt.datetime | None = None,
) -> Message:
    """Store a message as sent. The same client id twice is the same message.

    Every check is read in one query, and the row is written by one INSERT that yields to
    an equal one (same sender and client id) committed meanwhile: a message is the most
    frequent write there is, and each round trip is time the partner waits."""
    me = groups.acting_user_id(actor)
    cid = client_id if client_id and _CLIENT_ID.fullmatch(client_id) else None
    now = now or utcnow()
    conn = db.connection()  # Core, not the ORM: the hot path of the whole app
    found = conn.execute(
        _SEND_CHECK if cid is not None else _SEND_CHECK_NO_CLIENT_ID,
        {"pair_id": pair_id, "me": me, "cid": cid, "since": now - RATE_WINDOW},
    ).first()
    # The same rule as journey.pair_of_member: drafts and non-members see no pair.
    if found is not None and me not in (found[0], found[1]):
        audit.refused(actor_id=me, action="send message", target_type="pair", target_id=pair_id)
    if found is None or found[2] == "draft" or me not in (found[0], found[1]):
        raise NotFound(journey.PAIR_NOT_FOUND)
    status, earlier_id, blocked, recent = found[2], found[3], bool(found[4]), int(found[5])
    if earlier_id is not None:
        return _earlier(db, int(earlier_id), pair_id)  # a retry: the first attempt was committed
    if status != "active" or blocked:
        raise Conflict(CANNOT_SEND)
    text = _clean_body(body)
    if recent >= RATE_MAX:
        raise Throttled(
            "You're sending messages very quickly. Wait a few seconds, then send again.",
            retry_after_s=int(RATE_WINDOW.total_seconds()),
            field="body",
        )
    values = {
        "pair_id": pair_id,
        "sender_id": me,
        "client_id": cid or uuid.uuid4().hex,
        "body": text,
        "created_at": now,
    }
    new_id = conn.execute(_insert_message(conn.dialect.name), values).scalar_one_or_none()
    if new_id is None:  # the same send, racing from another tab or a reconnect
        raced = db.exec(
            select(Message.id).where(Message.sender_id == me, Message.client_id == cid)
        ).one()
        return _earlier(db, raced or 0, pair_id)
    return Message(id=new_id, **values)


# The send's statements are built once, with parameters: building a SQLAlchemy expression
# and its cache key costs more than SQLite takes to run it.
_pair = Pair.__table__.c  # type: ignore[attr-defined]
_block = Block.__table__.c  # type: ignore[attr-defined]
_message_c = Message.__table__.c  # type: ignore[attr-defined]
_me = bindparam("me", type_=_message_c.sender_id.type)


def _send_check(by_client_id: bool) -> Any:
    """The pair's members and status, the message an earlier attempt with this client id
    stored, whether either member blocked the other, and the sender's recent messages."""
    return core_select(
        _pair.mentor_id,
        _pair.mentee_id,
        _pair.status,
        (
            core_select(_message_c.id)
            .where(
                _message_c.sender_id == _me,
                _message_c.client_id == bindparam("cid", type_=_message_c.client_id.type),
            )
            .scalar_subquery()
            if by_client_id
            else literal(None)
        ),
        exists().where(
            or_(
                (_block.blocker_id == _pair.mentor_id) & (_block.blocked_id == _pair.mentee_id),
                (_block.blocker_id == _pair.mentee_id) & (_block.blocked_id == _pair.mentor_id),
            )
        ),
        core_select(func.count())
        .select_from(Message.__table__)  # type: ignore[attr-defined]
        .where(
            _message_c.sender_id == _me,
            _message_c.created_at > bindparam("since", type_=_message_c.created_at.type),
        )
        .scalar_subquery(),
    ).where(_pair.id == bindparam("pair_id", type_=_pair.id.type))


_SEND_CHECK = _send_check(by_client_id=True)
_SEND_CHECK_NO_CLIENT_ID = _send_check(by_client_id=False)
_MESSAGE_VALUES = ("pair_id", "sender_id", "client_id", "body", "created_at")


@cache
def _insert_message(dialect: str) -> Any:
    """INSERT ... ON CONFLICT (sender_id, client_id) DO NOTHING RETURNING id, for the
    dialect: one that lost a race to an equal message yields no row."""
    return (
        insert_for(dialect, Message.__table__)  # type: ignore[attr-defined]
        .values({name: bindparam(name, type_=_message_c[name].type) for name in _MESSAGE_VALUES})
        .on_conflict_do_nothing(index_elements=["sender_id", "client_id"])
        .returning(_message_c.id)
    )


def _earlier(db: Session, message_id: int, pair_id: int) -> Message:
    earlier = db.get(Message, message_id)
    assert earlier is not None
    if earlier.pair_id != pair_id:
        raise Conflict("This message was already sent in another chat.")
    return earlier


# --- reporting -------------------------------------------------------------------------------


def report(
    db: Session,
    *,
    actor: User,
    pair_id: int,
    category: str,
    message_ids: Sequence[int] = (),
    details: Any = "",
    now: dt.datetime | None = None,
) -> Report:
    """Report the partner, optionally pointing at messages of this chat. The ticked
    messages are copied into the report as evidence; the reported member is not told."""
    pair, _role = journey.pair_of_member(db, actor=actor, pair_id=pair_id)
    me = groups.acting_user_id(actor)
    if category not in REPORT_CATEGORIES:
        raise ValidationError("Choose what kind of problem this is.", field="category")
    text = storable(str(details or "")).replace("\r\n", "\n").strip()
    if len(text) > DETAILS_MAX:
        raise ValidationError(f"Use at most {DETAILS_MAX:,} characters.", field="details")
    if category == "other" and not text:
        raise ValidationError("Describe the problem in a few words.", field="details")
    ids = sorted({int(i) for i in message_ids})
    if len(ids) > REPORT_MESSAGES_MAX:
        raise ValidationError(f"Tick at most {REPORT_MESSAGES_MAX} messages.", field="messages")
    now = now or utcnow()
    recent = db.exec(
        select(func.count())
        .select_from(Report)
        .where(Report.reporter_id == me, col(Report.created_at) > now - REPORT_WINDOW)
    ).one()
    if recent >= REPORTS_MAX:
        raise Throttled(
            "You have sent several reports in the last hour. Please wait before sending "
            "another; if you are in danger, contact the emergency services.",
            retry_after_s=int(REPORT_WINDOW.total_seconds()),
        )
    messages = (
        list(
            db.exec(
                select(Message).where(col(Message.id).in_(ids), Message.pair_id == pair_id)
            ).all()
        )
        if ids
        else []
    )
    if len(messages) != len(ids):
        raise ValidationError("Only messages of this chat can be reported here.", field="messages")
    already = (
        set(
            db.exec(
                select(ReportedMessage.message_id).where(
                    ReportedMessage.reporter_id == me, col(ReportedMessage.message_id).in_(ids)
                )
            ).all()
        )
        if ids
        else set()
    )
    fresh = [m for m in messages if m.id not in already]
    if ids and not fresh and not text:
        raise Conflict("You have already reported these messages.")
    evidence = [
        {
            "message_id": v.id,
            "sender_id": v.sender_id,
            "sender_name": v.sender_name,
            "body": v.body,
            "created_at": v.created_at.isoformat(),
        }
        for v in _views(db, pair, sorted(fresh, key=lambda m: m.id or 0))
    ]
    filed = Report(
        pair_id=pair_id,
        reporter_id=me,
        reported_id=_partner_id(pair, me),
        category=category,
        details=text,
        evidence=evidence,
        created_at=now,
        updated_at=now,
    )
    db.add(filed)
    db.flush()
    try:
        with db.begin_nested():
            for m in fresh:
                db.add(
                    ReportedMessage(report_id=filed.id or 0, reporter_id=me, message_id=m.id or 0)
                )
    except IntegrityError:  # the same report, double-submitted
        raise Conflict("You have already reported these messages.") from None
    audit.record(db, actor_id=me, action="report_filed", target_type="report", target_id=filed.id)
    return filed


# --- blocking --------------------------------------------------------------------------------


def block_partner(db: Session, *, actor: User, pair_id: int) -> Block:
    """Block the partner: no message passes either way from now on, every active pair of
    the two ends (reason "blocked"), and they are never suggested or paired again. A
    blocking mentee goes back to the waiting list with rematch priority."""
    pair, _role = journey.pair_of_member(db, actor=actor, pair_id=pair_id)
    me = groups.acting_user_id(actor)
    partner = _partner_id(pair, me)
    block = blocks.block_member(db, actor=actor, blocked_id=partner)
    between = db.exec(
        select(Pair).where(
            Pair.status == "active",
            ((col(Pair.mentor_id) == me) & (col(Pair.mentee_id) == partner))
            | ((col(Pair.mentor_id) == partner) & (col(Pair.mentee_id) == me)),
        )
    ).all()
    for live in between:
        try:
            journey.close_pair(db, pair=live, by_user_id=me, reason="blocked")
        except Conflict:
            continue  # ended by someone else meanwhile, who saw to the applications
        mentee = db.get(Enrollment, live.mentee_enrollment_id)
        assert mentee is not None
        mentee.status = "active"  # back in the waiting list, to be matched with someone else
        mentee.rematch_priority = live.mentee_id == me
        mentee.updated_at = utcnow()
        db.add(mentee)
        db.flush()
        program = db.get(Program, live.program_id)
        assert program is not None
        journey.tell_admins_mentee_waiting(
            db, pair=live, program=program, mentee=mentee, actor_id=me
        )
    db.flush()
    audit.record(db, actor_id=me, action="member_blocked", target_type="user", target_id=partner)
    return block


@dataclass(frozen=True)
class BlockRow:
    blocked_id: int
    name: str
    created_at: dt.datetime


def list_my_blocks(db: Session, *, actor: User) -> list[BlockRow]:
    rows = db.exec(
        select(Block, User.display_name)
        .join(User, col(User.id) == col(Block.blocked_id))
        .where(Block.blocker_id == groups.acting_user_id(actor))
        .order_by(col(Block.created_at).desc())
        .limit(200)
    ).all()
    return [BlockRow(b.blocked_id, name, b.created_at) for b, name in rows]


def lift_block(db: Session, *, actor: User, blocked_id: int) -> None:
    """Lift one's own block. The ended pair stays ended."""
    block = db.exec(
        select(Block).where(
            Block.blocker_id == groups.acting_user_id(actor), Block.blocked_id == blocked_id
        )
    ).first()
    if block is None:
        raise NotFound("Block not found.")
    db.delete(block)
    db.flush()
    audit.record(
        db,
        actor_id=groups.acting_user_id(actor),
        action="block_lifted",
        target_type="user",
        target_id=blocked_id,
    )
