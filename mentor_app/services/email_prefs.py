"""A member's say over their e-mail: which kinds they get, a weekly digest instead of
each e-mail, and the signed one-click unsubscribe link every e-mail carries.

Every kind of e-mail the app queues is classified here once (`KIND_CATEGORY`): nudges,
reminders or pairing news, which a member may turn off, or `REQUIRED_KINDS` (safety,
moderation, account security), which always go out. The outbox asks `decide` when it
claims an e-mail, so a choice made after an e-mail was queued still counts.

An unsubscribe link names a member and a category and is signed with HMAC-SHA256 under
the server's e-mail secret (`settings.email_secret`): it works without logging in, and
a changed or foreign link changes nothing.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
from collections import defaultdict
from dataclasses import dataclass
from urllib.parse import quote

from sqlalchemy import update
from sqlmodel import Session, col, select

from mentor_app.models import EmailOutbox, EmailPreference, Notification, User, utcnow
from mentor_app.services import groups
from mentor_app.services.errors import ValidationError
from mentor_app.settings import email_secret, settings

# The member's switches, in the order Settings shows them.
CATEGORIES: dict[str, str] = {
    "nudges": "Nudges: your pair's week, and a nudge when your partner waits to hear from you",
    "reminders": (
        "Reminders: your meetings, an hour before; new messages while you are away; and (for "
        "admins) pairs that went quiet and mentees waiting for a new match"
    ),
    "pairing": "Pairing news: a new pair, or a change to your application",
}
# Every kind of e-mail the app queues (notifications.SUBJECTS), by the switch it follows.
KIND_CATEGORY: dict[str, str] = {
    "nudge": "nudges",
    "one_sided": "nudges",
    "new_message": "reminders",
    "meeting_reminder": "reminders",
    "one_sided_alert": "reminders",
    "rematch_needed": "reminders",
    "paired": "pairing",
    "application_removed": "pairing",
}
# Never optional: what a member must hear about safety, moderation and their account.
REQUIRED_KINDS = frozenset(
    {
        "report_outcome",
        "moderation_warning",
        "account_security",
        "suspension_lifted",
        # A calendar invite or its cancellation (services.meetings): a calendar that missed
        # one shows a meeting that is not happening.
        "meeting_invite",
        "meeting_cancelled",
    }
)
DIGEST_KIND = "digest"
ALL = "all"  # an unsubscribe link from a required e-mail or a digest: every optional kind
DIGEST_EVERY = dt.timedelta(days=7)
DIGEST_SUBJECT = "Your week in Mentor circles"
DIGEST_ITEMS_MAX = 100

BAD_LINK = (
    "This unsubscribe link is not valid: it may have been cut short or changed. Nothing "
    "was changed. Open the link from the e-mail again, or choose your e-mails in Settings."
)
_TOKEN = re.compile(r"(\d{1,12})\.([a-z]{1,16})\.([A-Za-z0-9_-]{22})")
_SIGN_PREFIX = b"mentor-circles/unsubscribe/v1:"


@dataclass(frozen=True)
class EmailPreferences:
    nudges: bool = True
    reminders: bool = True
    pairing: bool = True
    digest: bool = False


DEFAULTS = EmailPreferences()


def category_of(kind: str) -> str | None:
    """The switch an e-mail kind follows, or None when it cannot be turned off. A kind not
    classified yet is treated as required: it is never dropped by mistake."""
    return KIND_CATEGORY.get(kind)


# --- preferences ---------------------------------------------------------------------------


def _stored(db: Session, user_id: int) -> EmailPreference | None:
    return db.get(EmailPreference, user_id)


def _view(row: EmailPreference | None) -> EmailPreferences:
    if row is None:
        return DEFAULTS
    return EmailPreferences(row.nudges, row.reminders, row.pairing, row.digest)


def preferences_of(db: Session, *, user_id: int) -> EmailPreferences:
    """For the system (the outbox, the digest): never with an id from a browser."""
    return _view(_stored(db, user_id))


def get_preferences(db: Session, *, actor: User) -> EmailPreferences:
    return preferences_of(db, user_id=groups.acting_user_id(actor))


def _save(db: Session, user_id: int, **changes: bool) -> EmailPreferences:
    row = _stored(db, user_id)
    if row is None:
        row = EmailPreference(user_id=user_id)
    for name, value in changes.items():
        setattr(row, name, bool(value))
    row.updated_at = utcnow()
    db.add(row)
    db.flush()
    return _view(row)


def save_preferences(
    db: Session, *, actor: User, nudges: bool, reminders: bool, pairing: bool, digest: bool
) -> EmailPreferences:
    """The actor's own switches; e-mails already queued follow them when they are sent."""
    return _save(
        db,
        groups.acting_user_id(actor),
        nudges=nudges,
        reminders=reminders,
        pairing=pairing,
        digest=digest,
    )


def decide(db: Session, *, user_id: int, kind: str) -> str:
    """At send time: "send", "off" (the member turned this kind off) or "hold" (kept for
    their weekly digest). Required kinds and the digest itself are always sent."""
    category = category_of(kind)
    if kind == DIGEST_KIND or category is None:
        return "send"
    prefs = preferences_of(db, user_id=user_id)
    if not getattr(prefs, category):
        return "off"
    return "hold" if prefs.digest else "send"


# --- the signed link -----------------------------------------------------------------------


def _signature(user_id: int, category: str) -> str:
    digest = hmac.new(
        email_secret(), _SIGN_PREFIX + f"{user_id}.{category}".encode(), hashlib.sha256
    ).digest()[:16]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def link_category(kind: str) -> str:
    """What the link in an e-mail of this kind turns off: its own switch, or every optional
    e-mail for a required one (its own cannot be turned off) and for a digest."""
    return category_of(kind) or ALL


def unsubscribe_token(user_id: int, category: str) -> str:
    if category not in CATEGORIES and category != ALL:
        raise ValueError(f"unknown e-mail category {category!r}")
    return f"{user_id}.{category}.{_signature(user_id, category)}"


def unsubscribe_url(user_id: int, kind: str) -> str:
    token = unsubscribe_token(user_id, link_category(kind))
    return f"{settings.app_origin}/unsubscribe?t={quote(token)}"


@dataclass(frozen=True)
class UnsubscribeLink:
    user_id: int
    category: str

    @property
    def label(self) -> str:
        if self.category == ALL:
            return "all optional e-mails (nudges, reminders and pairing news)"
        return CATEGORIES[self.category].split(":")[0].lower()


def read_token(token: str | None) -> UnsubscribeLink:
    """The member and category a link names; ValidationError(BAD_LINK) unless its signature
    is ours (compared in constant time)."""
    found = _TOKEN.fullmatch((token or "").strip())
    if found is None:
        raise ValidationError(BAD_LINK)
    user_id, category, signature = int(found[1]), found[2], found[3]
    if category not in CATEGORIES and category != ALL:
        raise ValidationError(BAD_LINK)
    if not hmac.compare_digest(signature, _signature(user_id, category)):
        raise ValidationError(BAD_LINK)
    return UnsubscribeLink(user_id, category)


def unsubscribe(db: Session, *, token: str | None) -> UnsubscribeLink:
    """Turn off what a signed link names (the link is the member's proof: it came in their
    e-mail). A link for an account that no longer exists is refused like a bad one."""
    link = read_token(token)
    if db.get(User, link.user_id) is None:
        raise ValidationError(BAD_LINK)
    names = list(CATEGORIES) if link.category == ALL else [link.category]
    _save(db, link.user_id, **dict.fromkeys(names, False))
    return link


# --- the weekly digest ---------------------------------------------------------------------


def send_digests(db: Session, *, now: dt.datetime | None = None) -> int:
    """Gather each member's held e-mails into one digest e-mail (queued in the outbox), and
    mark them digested, in this transaction: a second run finds nothing left to send.
    Kinds the member has turned off since are dropped. Returns how many digests."""
    now = now or utcnow()
    held = db.exec(
        select(EmailOutbox, Notification.text)
        .outerjoin(Notification, col(Notification.id) == col(EmailOutbox.notification_id))
        .where(EmailOutbox.status == "held")
        .order_by(col(EmailOutbox.user_id), col(EmailOutbox.created_at), col(EmailOutbox.id))
        .with_for_update(of=EmailOutbox)  # type: ignore[arg-type]
    ).all()
    by_member: dict[int, list[tuple[EmailOutbox, str | None]]] = defaultdict(list)
    for row, text in held:
        if row.user_id is not None:
            by_member[row.user_id].append((row, text))
    digests = 0
    for user_id, items in by_member.items():
        person = db.get(User, user_id)
        prefs = preferences_of(db, user_id=user_id)
        wanted = [
            (row, text)
            for row, text in items
            if getattr(prefs, category_of(row.kind) or "nudges", True)
        ]
        ids = [row.id for row, _ in items]
        db.execute(
            update(EmailOutbox)
            .where(col(EmailOutbox.id).in_(ids), col(EmailOutbox.status) == "held")
            .values(status="digested")
            .execution_options(synchronize_session=False)
        )
        if not wanted or person is None or person.status != "active":
            continue
        db.add(
            EmailOutbox(
                to_address=person.email,
                subject=DIGEST_SUBJECT,
                body=digest_body(person.display_name, wanted),
                kind=DIGEST_KIND,
                user_id=user_id,
                next_attempt_at=now,
                created_at=now,
            )
        )
        stored = db.get(EmailPreference, user_id)
        if stored is not None:
            stored.last_digest_at = now
            db.add(stored)
        digests += 1
    db.flush()
    return digests


def digest_body(name: str, items: list[tuple[EmailOutbox, str | None]]) -> str:
    lines = [
        f"- {row.created_at:%a %d %b}: {row.subject}" + (f". {text}" if text else "")
        for row, text in items[:DIGEST_ITEMS_MAX]
    ]
    if len(items) > DIGEST_ITEMS_MAX:
        lines.append(f"- and {len(items) - DIGEST_ITEMS_MAX} more")
    return (
        f"Hello {name},\n\nHere is what happened in Mentor circles this week:\n\n"
        + "\n".join(lines)
        + f"\n\nSee them all: {settings.app_origin}/notifications\n\n"
        "You get one e-mail a week instead of each e-mail, as you chose in Settings.\n"
    )
