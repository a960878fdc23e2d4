"""In-app notifications: what a member is told, their notification center, and the e-mail
each notification of an e-mail kind queues in the outbox, in the same transaction.

When a transaction that changed someone's notifications commits, the listeners registered
with `on_change` hear whose (the web app uses it to refresh those members' bells live).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import event, func, insert, update
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col, select

from mentor_app.models import EmailOutbox, Membership, Notification, User, utcnow
from mentor_app.services import groups
from mentor_app.services.errors import NotFound
from mentor_app.settings import settings

logger = logging.getLogger(__name__)

TEXT_MAX = 500
RECENT_LIMIT = 20
PAGE_SIZE = 50
PAGE_MAX = 1000  # deeper than anyone reads; keeps OFFSET bounded
NOT_FOUND = "Notification not found."

# The kinds that also go out by e-mail (the nudge kinds are the scheduler's: a weekly
# nudge, a one-sided nudge to the quiet member, and the alert to the program's admins).
SUBJECTS = {
    "paired": "You have a new mentoring pair",
    "nudge": "Your mentoring pair this week",
    "one_sided": "Your mentoring pair is waiting to hear from you",
    "one_sided_alert": "A pair in your program has gone quiet",
    "report_outcome": "Your report has been reviewed",
    "application_removed": "Your application to a mentoring program was removed",
    "rematch_needed": "A mentee in your program is waiting for a new match",
    "suspension_lifted": "Your Mentor circles account is active again",
    "new_message": "You have unread messages in Mentor circles",
    "meeting_reminder": "Your mentoring meeting starts soon",
}
EMAIL_KINDS = frozenset(SUBJECTS)
_IN_CLAUSE = 500  # ids per IN (...) list

ChangeListener = Callable[[frozenset[int]], None]
_listeners: list[ChangeListener] = []
_CHANGED = "mentor_app.notifications.changed_user_ids"


@dataclass(frozen=True)
class NotificationRow:
    id: int
    kind: str
    text: str
    link: str
    created_at: dt.datetime
    read: bool


@dataclass(frozen=True)
class NotificationPage:
    rows: list[NotificationRow]
    page: int
    has_older: bool
    unread: int


# --- writing ---------------------------------------------------------------------------


def notify(db: Session, *, user_id: int, kind: str, text: str, link: str = "") -> Notification:
    (notification,) = notify_many(db, [Notice(user_id, kind, text, link)])
    return notification


@dataclass(frozen=True)
class Notice:
    """One notification to write: to whom, of what kind, what it says, where it leads."""

    user_id: int
    kind: str
    text: str
    link: str = ""


def notify_many(db: Session, notices: Sequence[Notice]) -> list[Notification]:
    """`notify` for several at once, in this order: one flush and one e-mail queueing for
    all (Publish tells both members of every pair of a chunk: per notice, that was three
    statements more each)."""
    rows = [
        Notification(user_id=n.user_id, kind=n.kind, text=n.text[:TEXT_MAX], link=n.link)
        for n in notices
    ]
    if not rows:
        return []
    db.add_all(rows)
    db.flush()
    _queue_emails(db, [n for n in rows if n.kind in EMAIL_KINDS])
    _changed(db, [n.user_id for n in rows])
    return rows


# --- alerts to a program's admins about a pair ------------------------------------------
# The one gate every admin alert about a pair passes: an admin who is a member of the pair
# is that pair's member first, and must not read what their partner told the admins.


def admins_outside_pair(admin_ids: Iterable[int], *, member_ids: Iterable[int]) -> list[int]:
    """The admins an alert about a pair may reach: every one except the pair's members."""
    members = set(member_ids)
    return [admin_id for admin_id in admin_ids if admin_id not in members]


def notify_admins_about_pair(
    db: Session,
    *,
    group_id: int,
    member_ids: Iterable[int],
    kind: str,
    text: str,
    link: str = "",
) -> list[Notification]:
    """Tell the group's admins about a pair, except an admin who is one of its members."""
    admin_ids = db.exec(
        select(Membership.user_id)
        .where(Membership.group_id == group_id, Membership.role == "admin")
        .order_by(col(Membership.user_id))
    ).all()
    return notify_many(
        db,
        [
            Notice(admin_id, kind, text, link)
            for admin_id in admins_outside_pair(admin_ids, member_ids=member_ids)
        ],
    )


def after_bulk_notify(db: Session, rows: Sequence[Notification]) -> int:
    """Queue the e-mails of notifications inserted in bulk (the nudge scheduler), in the
    caller's transaction. Idempotent: a notification already queued is skipped. Their bells
    are not pushed (thousands at a time): they are re-counted at each member's next page
    load. Returns how many e-mails were queued."""
    return _queue_emails(db, [n for n in rows if n.kind in EMAIL_KINDS])


def _queue_emails(db: Session, rows: Sequence[Notification]) -> int:
    rows = [n for n in rows if n.id is not None]
    if not rows:
        return 0
    ids = [n.id or 0 for n in rows]
    queued: set[int] = set()
    people: dict[int, User] = {}
    user_ids = sorted({n.user_id for n in rows})
    for chunk in _chunks(ids):
        queued.update(
            db.exec(
                select(EmailOutbox.notification_id).where(
                    col(EmailOutbox.notification_id).in_(chunk)
                )
            ).all()  # type: ignore[arg-type]
        )
    for chunk in _chunks(user_ids):
        people.update((u.id or 0, u) for u in db.exec(select(User).where(col(User.id).in_(chunk))))
    now = utcnow()
    values = []
    for n in rows:
        person = people.get(n.user_id)
        if n.id in queued or person is None or person.status != "active":
            continue  # a suspended member gets no mail
        values.append(
            {
                "notification_id": n.id,
                "to_address": person.email,
                "subject": SUBJECTS[n.kind],
                "body": email_body(person.display_name, n.text, n.link),
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "last_error": "",
                "created_at": now,
                "kind": n.kind,
                "user_id": n.user_id,
            }
        )
    if values:
        db.execute(insert(EmailOutbox), values)
    return len(values)


def email_body(name: str, text: str, link: str) -> str:
    target = safe_link(link) or "/notifications"
    return (
        f"Hello {name},\n\n{text}\n\nOpen it in Mentor circles: {settings.app_origin}{target}\n\n"
        "You get this e-mail because you take part in a mentorship program on Mentor circles.\n"
    )


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), _IN_CLAUSE):
        yield ids[start : start + _IN_CLAUSE]


# --- reading ---------------------------------------------------------------------------


def safe_link(link: str) -> str:
    """Only same-site paths are links (`/pairs/7`); anything else shows no link."""
    if link.startswith("/") and not link.startswith("//") and "\\" not in link:
        return link
    return ""


def _row(n: Notification) -> NotificationRow:
    return NotificationRow(
        id=n.id or 0,
        kind=n.kind,
        text=n.text,
        link=safe_link(n.link),
        created_at=n.created_at,
        read=n.read_at is not None,
    )


def _newest_first(user_id: int):  # type: ignore[no-untyped-def]
    return (
        select(Notification)
        .where(Notification.user_id == user_id)
        .order_by(col(Notification.created_at).desc(), col(Notification.id).desc())
    )


def list_recent(db: Session, *, actor: User, limit: int = RECENT_LIMIT) -> list[NotificationRow]:
    """The actor's own notifications, newest first."""
    rows = db.exec(_newest_first(groups.acting_user_id(actor)).limit(max(1, min(limit, 100)))).all()
    return [_row(n) for n in rows]


def list_page(
    db: Session, *, actor: User, page: int = 1, per_page: int = PAGE_SIZE
) -> NotificationPage:
    """One page of the actor's own notifications, newest first."""
    user_id = groups.acting_user_id(actor)
    page = max(1, min(int(page), PAGE_MAX))
    per_page = max(1, min(int(per_page), 100))
    rows = db.exec(_newest_first(user_id).offset((page - 1) * per_page).limit(per_page + 1)).all()
    return NotificationPage(
        rows=[_row(n) for n in rows[:per_page]],
        page=page,
        has_older=len(rows) > per_page and page < PAGE_MAX,
        unread=unread_count(db, actor=actor),
    )


def unread_count(db: Session, *, actor: User) -> int:
    return unread_counts(db, user_ids=[groups.acting_user_id(actor)]).get(actor.id or 0, 0)


def unread_counts(db: Session, *, user_ids: Iterable[int]) -> dict[int, int]:
    """Unread notifications per member, for the system (the bells): every id given gets a
    count, zero included. Never call it with an id that came from a browser."""
    wanted = sorted(set(user_ids))
    counts = dict.fromkeys(wanted, 0)
    for chunk in _chunks(wanted):
        counts.update(
            db.exec(
                select(Notification.user_id, func.count())
                .where(col(Notification.user_id).in_(chunk), col(Notification.read_at).is_(None))
                .group_by(col(Notification.user_id))
            ).all()  # type: ignore[arg-type]
        )
    return counts


# --- marking read ----------------------------------------------------------------------


def mark_read(db: Session, *, actor: User, notification_id: int) -> bool:
    """Mark one of the actor's own notifications read; someone else's is NotFound.
    Returns whether it was unread."""
    user_id = groups.acting_user_id(actor)
    notification = db.get(Notification, notification_id)
    if notification is None or notification.user_id != user_id:
        raise NotFound(NOT_FOUND)
    if notification.read_at is not None:
        return False
    notification.read_at = utcnow()
    db.add(notification)
    db.flush()
    _changed(db, [user_id])
    return True


def mark_all_read(db: Session, *, actor: User) -> int:
    user_id = groups.acting_user_id(actor)
    result = db.execute(
        update(Notification)
        .where(col(Notification.user_id) == user_id, col(Notification.read_at).is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session="fetch")
    )
    changed = int(result.rowcount or 0)  # type: ignore[attr-defined]
    if changed:
        _changed(db, [user_id])
    return changed


# --- telling listeners, after commit ---------------------------------------------------


def on_change(listener: ChangeListener) -> None:
    """Call `listener(user_ids)` after each commit that changed those members' notifications
    (new, or marked read). It runs in the committing thread and must not block."""
    if listener not in _listeners:
        _listeners.append(listener)


def _changed(db: Session, user_ids: Iterable[int]) -> None:
    db.info.setdefault(_CHANGED, set()).update(user_ids)


def take_changes(db: Session) -> frozenset[int]:
    """The members whose notifications this transaction changed, taken from it: its commit
    tells no listener. For work done in a helper process (mentor_app.apart), whose
    listeners reach no page: the worker passes them to `announce` once it has committed."""
    return frozenset(db.info.pop(_CHANGED, None) or ())


@event.listens_for(OrmSession, "after_commit")
def _announce(session: OrmSession) -> None:
    if session.get_nested_transaction() is not None:
        return  # a savepoint: the outer transaction may still roll back
    announce(session.info.pop(_CHANGED, None) or frozenset())


def announce(changed: Iterable[int]) -> None:
    """Tell the listeners that these members' notifications changed (after a commit)."""
    changed = frozenset(changed)
    if not changed:
        return
    for listener in list(_listeners):
        try:
            listener(changed)
        except Exception:  # a listener's failure must not look like a failed commit
            logger.exception("notification change listener failed")


@event.listens_for(OrmSession, "after_rollback")
def _forget(session: OrmSession) -> None:
    if session.get_nested_transaction() is None:  # a savepoint's rollback keeps the rest
        session.info.pop(_CHANGED, None)
