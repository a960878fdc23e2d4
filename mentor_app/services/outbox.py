"""The e-mail outbox: the sender delivers queued e-mails through a pluggable backend.

At most once. A sender claims one row at a time with a conditional UPDATE (pending and due
→ sending), so two senders never take the same row; it sends outside any transaction,
then records the outcome: sent, or pending again with a growing delay (1, 2, 4 … minutes,
up to 6 hours), or failed after MAX_ATTEMPTS. A row left in `sending` past its claim (the
sender died mid-send, or could not record that it sent) may or may not have gone out, so
it is marked failed for an operator to look at, never sent again.

The recipient is re-read when a row is claimed: an e-mail queued for someone whose account
has since stopped being active (suspended, say), or whose address has changed, is marked
skipped with the reason, and never sent or retried. So are their e-mail preferences
(`email_prefs.decide`): a kind they turned off is skipped, and one they take in their
weekly digest is `held` until the digest job gathers it (`digested`).

Every e-mail carries its recipient's one-click unsubscribe link (RFC 8058): in the
`List-Unsubscribe` and `List-Unsubscribe-Post` headers and at the foot of the text. It is
signed when the e-mail is sent, not stored with it. A row's calendar invite (`ics`) goes
with it as `invite.ics` (text/calendar, with its METHOD).
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
import ssl
import sys
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from email import policy as email_policy
from email.message import EmailMessage
from typing import Protocol, TextIO
from urllib.parse import unquote, urlsplit

from sqlalchemy import update
from sqlmodel import Session, col, func, select

from mentor_app.models import EmailOutbox, Notification, User, utcnow
from mentor_app.services import calendar_invites, email_prefs
from mentor_app.settings import Settings

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
FIRST_DELAY = dt.timedelta(minutes=1)
MAX_DELAY = dt.timedelta(hours=6)
# A claim lasts this long; a send takes at most SMTP_TIMEOUT_S, so a row still `sending`
# after it belongs to a sender that stopped.
CLAIM_TIMEOUT = dt.timedelta(minutes=15)
SMTP_TIMEOUT_S = 30
ERROR_MAX = 500
STUCK_ERROR = "The sender stopped while sending; it may have gone out, so it is not resent."
SKIPPED_INACTIVE = "Skipped: the recipient's account is no longer active."
SKIPPED_ADDRESS = "Skipped: this address is no longer the recipient's."
SKIPPED_NO_ACCOUNT = "Skipped: no account has this address any more."
SKIPPED_TURNED_OFF = "Skipped: the member turned these e-mails off."

DbFactory = Callable[[], AbstractContextManager[Session]]


class PermanentFailure(Exception):
    """The backend knows a retry cannot help (e.g. the recipient was refused)."""


@dataclass(frozen=True)
class OutgoingEmail:
    to: str
    subject: str
    body: str
    message_id: str  # the same for every attempt of a row, so mail servers can drop a copy
    unsubscribe_url: str = ""  # the recipient's signed one-click link (RFC 8058)
    ics: str = ""  # a calendar invite (RFC 5545), attached as invite.ics


class MailBackend(Protocol):
    def send(self, email: OutgoingEmail) -> None: ...


@dataclass
class DeliveryReport:
    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    stuck: int = 0
    skipped: int = 0  # recipient inactive, or at another address, or turned the kind off
    held: int = 0  # kept for the recipient's weekly digest


def backoff(attempts: int) -> dt.timedelta:
    """How long to wait after the `attempts`-th failed attempt (1 → 1 min, 2 → 2 min …)."""
    return min(FIRST_DELAY * 2 ** max(0, attempts - 1), MAX_DELAY)


# --- the sender ------------------------------------------------------------------------


def deliver_due(
    db_factory: DbFactory,
    *,
    backend: MailBackend,
    now: dt.datetime | None = None,
    batch: int = 50,
) -> DeliveryReport:
    """Send up to `batch` due e-mails, one claim at a time (a crash strands one row at most).

    `db_factory()` opens one unit of work that commits on success (`session_scope`)."""
    report = DeliveryReport()
    with db_factory() as db:
        report.stuck = _fail_stuck(db, now or utcnow())
    with db_factory() as db:
        due = _due_ids(db, now or utcnow(), batch)
    for row_id in due:
        claimed_at = now or utcnow()
        with db_factory() as db:
            email = _claim(db, row_id, claimed_at)
            verdict = _verdict(db, row_id) if email is not None else _Verdict("skip")
            if email is None:
                pass
            elif verdict.action == "skip":
                _mark_skipped(db, row_id, verdict.reason)
            elif verdict.action == "hold":
                _mark_held(db, row_id)
        if email is None:
            continue  # another sender took it, or it is no longer due
        report.claimed += 1
        if verdict.action == "skip":
            report.skipped += 1
            continue
        if verdict.action == "hold":
            report.held += 1
            continue
        if verdict.user_id is not None:
            email = replace(
                email, unsubscribe_url=email_prefs.unsubscribe_url(verdict.user_id, verdict.kind)
            )
        outcome = _attempt(backend, email)
        with db_factory() as db:
            _record(db, row_id, outcome, now or utcnow(), report)
    return report


def _due_ids(db: Session, now: dt.datetime, batch: int) -> list[int]:
    return list(
        db.exec(
            select(EmailOutbox.id)
            .where(EmailOutbox.status == "pending", col(EmailOutbox.next_attempt_at) <= now)
            .order_by(col(EmailOutbox.next_attempt_at), col(EmailOutbox.id))
            .limit(max(1, batch))
        ).all()  # type: ignore[arg-type]
    )


def _claim(db: Session, row_id: int, now: dt.datetime) -> OutgoingEmail | None:
    """Take the row if it is still pending and due; only one sender's UPDATE can match.

    While a row is `sending`, next_attempt_at is when its claim runs out."""
    taken = db.execute(
        update(EmailOutbox)
        .where(
            col(EmailOutbox.id) == row_id,
            col(EmailOutbox.status) == "pending",
            col(EmailOutbox.next_attempt_at) <= now,
        )
        .values(
            status="sending",
            attempts=col(EmailOutbox.attempts) + 1,
            next_attempt_at=now + CLAIM_TIMEOUT,
        )
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        return None
    row = db.exec(
        select(EmailOutbox)
        .where(EmailOutbox.id == row_id)
        .execution_options(populate_existing=True)
    ).one()
    return OutgoingEmail(
        to=row.to_address,
        subject=row.subject,
        body=row.body,
        message_id=_message_id(row),
        ics=row.ics,
    )


@dataclass(frozen=True)
class _Verdict:
    action: str  # send | skip | hold
    reason: str = ""
    user_id: int | None = None
    kind: str = ""


def _verdict(db: Session, row_id: int) -> _Verdict:
    """Whether a claimed e-mail goes out now, is skipped (with why) or held for the digest:
    its recipient (the member it was queued for, else the account with this address) and
    their preferences are read again now, in the claim's own transaction, since a
    suspension or a change of mind may have come after the e-mail was queued."""
    row = db.exec(select(EmailOutbox).where(EmailOutbox.id == row_id)).one()
    kind = row.kind
    recipient: User | None = db.get(User, row.user_id) if row.user_id is not None else None
    if row.notification_id is not None and (recipient is None or not kind):
        found = db.exec(
            select(User, Notification.kind)
            .join(Notification, col(Notification.user_id) == col(User.id))
            .where(Notification.id == row.notification_id)
        ).first()
        if found is not None:
            recipient = recipient or found[0]
            kind = kind or found[1]
    if recipient is None:
        recipient = db.exec(select(User).where(User.email == row.to_address)).first()
    if recipient is None:
        return _Verdict("skip", SKIPPED_NO_ACCOUNT)
    if recipient.status != "active":
        return _Verdict("skip", SKIPPED_INACTIVE)
    if recipient.email != row.to_address:
        return _Verdict("skip", SKIPPED_ADDRESS)
    user_id = recipient.id or 0
    choice = email_prefs.decide(db, user_id=user_id, kind=kind)
    if choice == "off":
        return _Verdict("skip", SKIPPED_TURNED_OFF)
    if choice == "hold":
        if row.user_id is None:  # the digest gathers by member
            row.user_id = user_id
            db.add(row)
        return _Verdict("hold")
    return _Verdict("send", user_id=user_id, kind=kind)


def _mark_held(db: Session, row_id: int) -> None:
    db.execute(
        update(EmailOutbox)
        .where(col(EmailOutbox.id) == row_id, col(EmailOutbox.status) == "sending")
        .values(status="held")
        .execution_options(synchronize_session=False)
    )


def _mark_skipped(db: Session, row_id: int, reason: str) -> None:
    db.execute(
        update(EmailOutbox)
        .where(col(EmailOutbox.id) == row_id, col(EmailOutbox.status) == "sending")
        .values(status="skipped", last_error=reason[:ERROR_MAX])
        .execution_options(synchronize_session=False)
    )
    logger.info("e-mail %s skipped: %s", row_id, reason)


def _message_id(row: EmailOutbox) -> str:
    return f"<outbox-{row.id}-{int(row.created_at.timestamp())}@mentor-circles>"


@dataclass(frozen=True)
class _Outcome:
    error: str = ""
    permanent: bool = False


def _attempt(backend: MailBackend, email: OutgoingEmail) -> _Outcome:
    try:
        backend.send(email)
    except PermanentFailure as error:
        return _Outcome(error=_describe(error), permanent=True)
    except Exception as error:  # any backend failure is retried, with backoff
        return _Outcome(error=_describe(error))
    return _Outcome()


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:ERROR_MAX]


def _record(
    db: Session, row_id: int, outcome: _Outcome, now: dt.datetime, report: DeliveryReport
) -> None:
    row = db.exec(
        select(EmailOutbox)
        .where(EmailOutbox.id == row_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    if not outcome.error:
        # Sent: recorded even if the claim ran out meanwhile (the truth wins over `failed`).
        row.status, row.sent_at, row.last_error = "sent", now, ""
        report.sent += 1
    elif row.status != "sending":
        return  # declared stuck meanwhile: leave it failed
    elif outcome.permanent or row.attempts >= MAX_ATTEMPTS:
        row.status, row.last_error = "failed", outcome.error
        report.failed += 1
        logger.warning(
            "e-mail %s failed after %s attempts: %s", row_id, row.attempts, outcome.error
        )
    else:
        row.status, row.last_error = "pending", outcome.error
        row.next_attempt_at = now + backoff(row.attempts)
        report.retrying += 1
    db.add(row)


def _fail_stuck(db: Session, now: dt.datetime) -> int:
    result = db.execute(
        update(EmailOutbox)
        .where(col(EmailOutbox.status) == "sending", col(EmailOutbox.next_attempt_at) <= now)
        .values(status="failed", last_error=STUCK_ERROR)
        .execution_options(synchronize_session=False)
    )
    stuck = int(result.rowcount or 0)  # type: ignore[attr-defined]
    if stuck:
        logger.warning("%s e-mail(s) left sending by a stopped sender marked failed", stuck)
    return stuck


def counts(db: Session) -> dict[str, int]:
    """Rows per status, for the operator."""
    rows = db.exec(select(EmailOutbox.status, func.count()).group_by(EmailOutbox.status)).all()
    return {status: int(n) for status, n in rows}


def list_failed(db: Session, *, limit: int = 50) -> Sequence[EmailOutbox]:
    return db.exec(
        select(EmailOutbox)
        .where(EmailOutbox.status == "failed")
        .order_by(col(EmailOutbox.id).desc())
        .limit(limit)
    ).all()


# --- backends --------------------------------------------------------------------------


# Header lines up to SMTP's own limit, so the unsubscribe address is never folded onto a
# line of its own (valid, but some mail clients then miss it).
_POLICY = email_policy.default.clone(max_line_length=998)


def _message(email: OutgoingEmail, sender: str) -> EmailMessage:
    message = EmailMessage(policy=_POLICY)
    message["From"] = sender
    message["To"] = email.to
    message["Subject"] = email.subject
    message["Message-ID"] = email.message_id
    body = email.body
    if email.unsubscribe_url:
        # RFC 8058: a mail client offers "Unsubscribe" and POSTs
        # "List-Unsubscribe=One-Click" to this address, without opening a page.
        message["List-Unsubscribe"] = f"<{email.unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        body = (
            body.rstrip("\n")
            + f"\n\nTo stop e-mails like this one: {email.unsubscribe_url}\n"
            + "Choose which e-mails you get in Settings.\n"
        )
    message.set_content(body)
    if email.ics:
        # What calendars look for (RFC 6047): text/calendar with the invite's METHOD.
        message.add_attachment(
            email.ics,
            subtype="calendar",
            filename="invite.ics",
            params={"method": calendar_invites.method_of(email.ics) or "REQUEST"},
        )
    return message


class ConsoleBackend:
    """The default: writes each e-mail to the console (standard output) instead of sending
    it, as Django's console backend does, so a developer sees what would go out."""

    def __init__(self, sender: str, stream: TextIO | None = None) -> None:
        self.sender = sender
        self.stream = stream
        self._lock = threading.Lock()

    def send(self, email: OutgoingEmail) -> None:
        text = f"--- e-mail (not sent: SMTP_URL is unset) ---\n{_message(email, self.sender)}"
        with self._lock:
            stream = self.stream or sys.stdout
            stream.write(text.rstrip("\n") + "\n---\n")
            stream.flush()


@dataclass(frozen=True)
class SmtpAddress:
    host: str
    port: int
    mode: str  # plain | starttls | ssl
    username: str
    password: str


SCHEMES = {"smtp": ("plain", 25), "smtp+starttls": ("starttls", 587), "smtps": ("ssl", 465)}


def parse_smtp_url(url: str) -> SmtpAddress:
    """`smtp://host:25`, `smtp+starttls://user:pass@host:587`, `smtps://user:pass@host:465`."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES or not parts.hostname:
        raise ValueError("SMTP_URL must look like smtp+starttls://user:password@host:587")
    mode, default_port = SCHEMES[parts.scheme]
    return SmtpAddress(
        host=parts.hostname,
        port=parts.port or default_port,
        mode=mode,
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
    )


class SmtpBackend:
    """Sends through an SMTP server; one connection per e-mail, with a timeout."""

    def __init__(self, url: str, sender: str) -> None:
        self.address = parse_smtp_url(url)
        self.sender = sender

    def _connect(self) -> smtplib.SMTP:
        a = self.address
        if a.mode == "ssl":
            return smtplib.SMTP_SSL(
                a.host, a.port, timeout=SMTP_TIMEOUT_S, context=ssl.create_default_context()
            )
        smtp = smtplib.SMTP(a.host, a.port, timeout=SMTP_TIMEOUT_S)
        if a.mode == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        return smtp

    def send(self, email: OutgoingEmail) -> None:
        try:
            with self._connect() as smtp:
                if self.address.username:
                    smtp.login(self.address.username, self.address.password)
                smtp.send_message(_message(email, self.sender))
        except smtplib.SMTPRecipientsRefused as error:
            raise PermanentFailure(f"recipient refused: {email.to}") from error
        except smtplib.SMTPDataError as error:
            # The server refused this message for good (a 5xx reply); a 4xx may pass later.
            if 500 <= error.smtp_code < 600:
                raise PermanentFailure(f"{error.smtp_code} {error.smtp_error!r}") from error
            raise


def backend_for(settings: Settings) -> MailBackend:
    if settings.smtp_url:
        return SmtpBackend(settings.smtp_url, settings.mail_from)
    return ConsoleBackend(settings.mail_from)
