"""In-app notifications: what a member is told (pairing now; nudges and reports later)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlmodel import Session, col, select

from mentor_app.models import Notification, User, utcnow
from mentor_app.services import groups

TEXT_MAX = 500
RECENT_LIMIT = 20


@dataclass(frozen=True)
class NotificationRow:
    id: int
    kind: str
    text: str
    link: str
    created_at: dt.datetime
    read: bool


def notify(db: Session, *, user_id: int, kind: str, text: str, link: str = "") -> Notification:
    notification = Notification(user_id=user_id, kind=kind, text=text[:TEXT_MAX], link=link)
    db.add(notification)
    db.flush()
    return notification


def list_recent(db: Session, *, actor: User, limit: int = RECENT_LIMIT) -> list[NotificationRow]:
    """The actor's own notifications, newest first."""
    rows = db.exec(
        select(Notification)
        .where(Notification.user_id == groups.acting_user_id(actor))
        .order_by(col(Notification.created_at).desc(), col(Notification.id).desc())
        .limit(max(1, min(limit, 100)))
    ).all()
    return [
        NotificationRow(
            id=n.id or 0,
            kind=n.kind,
            text=n.text,
            link=n.link,
            created_at=n.created_at,
            read=n.read_at is not None,
        )
        for n in rows
    ]


def mark_all_read(db: Session, *, actor: User) -> int:
    unread = db.exec(
        select(Notification).where(
            Notification.user_id == groups.acting_user_id(actor),
            col(Notification.read_at).is_(None),
        )
    ).all()
    now = utcnow()
    for n in unread:
        n.read_at = now
        db.add(n)
    db.flush()
    return len(unread)
