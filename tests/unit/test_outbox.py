"""The e-mail outbox sender: sent once, retried with backoff, never sent twice.

The backend is the one fake here: sending e-mail is the outside world."""

from __future__ import annotations

import datetime as dt
import smtplib
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from mentor_app import outbox as outbox_cli
from mentor_app.db import session_scope
from mentor_app.models import EmailOutbox, User, utcnow
from mentor_app.services import accounts, notifications, outbox
from mentor_app.settings import settings
from tests.factories import make_user

NOW = dt.datetime(2026, 3, 9, 14, 0, tzinfo=dt.UTC)


class FakeBackend:
    """Records what was delivered; fails as told (thread-safe: senders race on it)."""

    def __init__(
        self, *, fail_times: int = 0, error: Exception | None = None, delay_s: float = 0
    ) -> None:
        self.fail_times = fail_times
        self.error = error or ConnectionError("server busy")
        self.delay_s = delay_s
        self.attempts: list[outbox.OutgoingEmail] = []
        self.delivered: list[outbox.OutgoingEmail] = []
        self._lock = threading.Lock()

    def send(self, email: outbox.OutgoingEmail) -> None:
        time.sleep(self.delay_s)
        with self._lock:
            self.attempts.append(email)
            if self.fail_times != 0:
                self.fail_times -= 1
                raise self.error
            self.delivered.append(email)


def factory(engine: Engine) -> Callable[[], AbstractContextManager[Session]]:
    return lambda: session_scope(engine)


def queue(engine: Engine, count: int = 1) -> list[int]:
    """`count` members, each with a nudge that queues an e-mail. Returns the outbox ids."""
    with Session(engine, expire_on_commit=False) as db:
        for _ in range(count):
            user = make_user(db)
            notifications.notify(db, user_id=user.id or 0, kind="nudge", text="Week 2 is here.")
        for row in db.exec(select(EmailOutbox)).all():
            row.next_attempt_at = NOW - dt.timedelta(minutes=1)
            db.add(row)
        db.commit()
        return list(db.exec(select(EmailOutbox.id).order_by(col(EmailOutbox.id))).all())  # type: ignore[arg-type]


def rows(engine: Engine) -> list[EmailOutbox]:
    with Session(engine) as db:
        return list(db.exec(select(EmailOutbox).order_by(col(EmailOutbox.id))).all())


def deliver(engine: Engine, backend: Any, at: dt.datetime = NOW) -> outbox.DeliveryReport:
    return outbox.deliver_due(factory(engine), backend=backend, now=at)


def test_a_due_email_is_sent_once_and_marked_sent(engine: Engine) -> None:
    queue(engine, 2)
    backend = FakeBackend()

    first = deliver(engine, backend)
    again = deliver(engine, backend, NOW + dt.timedelta(hours=1))

    assert (first.sent, again.sent) == (2, 0)
    assert len(backend.delivered) == 2
    assert [(r.status, r.attempts, r.sent_at) for r in rows(engine)] == [("sent", 1, NOW)] * 2


def test_an_email_not_yet_due_waits(engine: Engine) -> None:
    queue(engine)
    backend = FakeBackend()

    deliver(engine, backend, NOW - dt.timedelta(minutes=5))

    assert backend.attempts == []
    assert rows(engine)[0].status == "pending"


def test_a_failing_email_is_retried_with_growing_delays_then_given_up(engine: Engine) -> None:
    queue(engine)
    backend = FakeBackend(fail_times=-1)  # always fails
    at, delays = NOW, []
    while rows(engine)[0].status == "pending":
        deliver(engine, backend, at)
        row = rows(engine)[0]
        if row.status == "pending":
            delays.append(row.next_attempt_at - at)
            # Not before the delay is over.
            deliver(engine, backend, row.next_attempt_at - dt.timedelta(seconds=1))
            at = row.next_attempt_at

    row = rows(engine)[0]
    assert [d / dt.timedelta(minutes=1) for d in delays] == [1, 2, 4, 8, 16, 32, 64]
    assert (row.status, row.attempts) == ("failed", outbox.MAX_ATTEMPTS)
    assert row.last_error == "ConnectionError: server busy"
    assert len(backend.attempts) == outbox.MAX_ATTEMPTS
    deliver(engine, backend, at + dt.timedelta(days=1))
    assert len(backend.attempts) == outbox.MAX_ATTEMPTS  # a failed e-mail is left alone


def test_the_delay_between_attempts_is_capped_at_six_hours() -> None:
    assert outbox.backoff(1) == dt.timedelta(minutes=1)
    assert outbox.backoff(9) == dt.timedelta(hours=4, minutes=16)
    assert outbox.backoff(10) == outbox.backoff(30) == dt.timedelta(hours=6)


def test_an_email_that_failed_once_is_delivered_exactly_once_on_retry(engine: Engine) -> None:
    queue(engine)
    backend = FakeBackend(fail_times=1)

    assert deliver(engine, backend).retrying == 1
    assert deliver(engine, backend, NOW + dt.timedelta(minutes=1)).sent == 1
    deliver(engine, backend, NOW + dt.timedelta(hours=2))

    row = rows(engine)[0]
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, "")
    assert len(backend.delivered) == 1
    # Both attempts carried one Message-ID, so a mail server can drop a duplicate.
    assert len({e.message_id for e in backend.attempts}) == 1


def test_a_permanent_failure_is_not_retried(engine: Engine) -> None:
    queue(engine)
    backend = FakeBackend(fail_times=-1, error=outbox.PermanentFailure("recipient refused"))

    assert deliver(engine, backend).failed == 1
    deliver(engine, backend, NOW + dt.timedelta(days=1))

    assert rows(engine)[0].status == "failed"
    assert len(backend.attempts) == 1


def test_two_senders_racing_send_every_email_exactly_once(any_engine: Engine) -> None:
    queue(any_engine, 30)
    backend = FakeBackend(delay_s=0.005)
    start = threading.Barrier(2)
    reports: list[outbox.DeliveryReport] = []

    def sender() -> None:
        start.wait()
        reports.append(deliver(any_engine, backend))

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    sent_to = Counter(e.to for e in backend.attempts)
    assert len(sent_to) == 30 and set(sent_to.values()) == {1}
    assert sum(r.sent for r in reports) == 30
    assert {(r.status, r.attempts) for r in rows(any_engine)} == {("sent", 1)}


# --- the recipient's status, re-read at send time ------------------------------------------


def _recipient(engine: Engine, row_id: int) -> User:
    with Session(engine, expire_on_commit=False) as db:
        row = db.get(EmailOutbox, row_id)
        assert row is not None
        return db.exec(select(User).where(User.email == row.to_address)).one()


def test_an_email_queued_before_a_suspension_is_skipped_not_sent(engine: Engine) -> None:
    first, second = queue(engine, 2)
    with session_scope(engine) as db:
        accounts.suspend_user(db, user_id=_recipient(engine, first).id or 0, actor_id=None)
    backend = FakeBackend()

    report = deliver(engine, backend)
    later = deliver(engine, backend, NOW + dt.timedelta(days=1))

    assert [e.to for e in backend.attempts] == [_recipient(engine, second).email]
    assert (report.sent, report.skipped, report.failed, report.retrying) == (1, 1, 0, 0)
    assert later.claimed == 0  # skipped is final: never retried
    skipped = rows(engine)[0]
    assert (skipped.status, skipped.sent_at) == ("skipped", None)
    assert skipped.last_error == outbox.SKIPPED_INACTIVE


def test_an_email_to_an_address_its_member_no_longer_uses_is_skipped(engine: Engine) -> None:
    (row_id,) = queue(engine)
    with session_scope(engine) as db:
        person = db.exec(select(User).where(User.id == _recipient(engine, row_id).id)).one()
        person.email = "new-address@example.com"
        db.add(person)
    backend = FakeBackend()

    report = deliver(engine, backend)

    assert backend.attempts == [] and report.skipped == 1
    assert (rows(engine)[0].status, rows(engine)[0].last_error) == (
        "skipped",
        outbox.SKIPPED_ADDRESS,
    )


def test_the_operator_sees_skipped_emails_counted(
    engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    (row_id,) = queue(engine)
    with session_scope(engine) as db:
        accounts.suspend_user(db, user_id=_recipient(engine, row_id).id or 0, actor_id=None)
    deliver(engine, FakeBackend())
    with Session(engine) as db:
        assert outbox.counts(db) == {"skipped": 1}
    assert outbox_cli.main(["status"], engine=engine) == 0
    assert "skipped: 1" in capsys.readouterr().out


class Crash(BaseException):
    """The sender's process dies in the middle of a send."""


def test_an_email_left_sending_by_a_crashed_sender_is_never_resent(engine: Engine) -> None:
    queue(engine)
    with pytest.raises(Crash):
        deliver(engine, FakeBackend(fail_times=-1, error=Crash()))  # type: ignore[arg-type]
    assert rows(engine)[0].status == "sending"
    backend = FakeBackend()

    deliver(engine, backend, NOW + dt.timedelta(minutes=5))  # still within the claim
    assert rows(engine)[0].status == "sending"
    report = deliver(engine, backend, NOW + outbox.CLAIM_TIMEOUT)

    row = rows(engine)[0]
    assert report.stuck == 1 and backend.attempts == []
    assert (row.status, row.last_error) == ("failed", outbox.STUCK_ERROR)


# --- backends -------------------------------------------------------------------------------


class FakeSmtp:
    """Stands in for an SMTP server connection (smtplib.SMTP)."""

    log: list[tuple[Any, ...]] = []
    refuse: bool = False

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.log.append(("connect", host, port, timeout))

    def __enter__(self) -> FakeSmtp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.log.append(("quit",))

    def starttls(self, context: Any) -> None:
        self.log.append(("starttls",))

    def login(self, user: str, password: str) -> None:
        self.log.append(("login", user, password))

    def send_message(self, message: Any) -> None:
        if self.refuse:
            raise smtplib.SMTPRecipientsRefused({message["To"]: (550, b"no such user")})
        self.log.append(("send", message["To"], message["Subject"], message["Message-ID"]))


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> type[FakeSmtp]:
    FakeSmtp.log, FakeSmtp.refuse = [], False
    monkeypatch.setattr(smtplib, "SMTP", FakeSmtp)
    return FakeSmtp


EMAIL = outbox.OutgoingEmail(
    to="amy@example.org", subject="Hello", body="Hi Amy", message_id="<outbox-1-1@mentor-circles>"
)


def test_the_smtp_backend_logs_in_over_starttls_and_sends(smtp: type[FakeSmtp]) -> None:
    backend = outbox.SmtpBackend("smtp+starttls://mailer:p%40ss@mail.example.org", "a@b.org")

    backend.send(EMAIL)

    assert smtp.log == [
        ("connect", "mail.example.org", 587, outbox.SMTP_TIMEOUT_S),
        ("starttls",),
        ("login", "mailer", "p@ss"),
        ("send", "amy@example.org", "Hello", "<outbox-1-1@mentor-circles>"),
        ("quit",),
    ]


def test_a_refused_recipient_is_a_permanent_failure(smtp: type[FakeSmtp]) -> None:
    smtp.refuse = True
    with pytest.raises(outbox.PermanentFailure):
        outbox.SmtpBackend("smtp://localhost:2525", "a@b.org").send(EMAIL)


def test_smtp_urls_are_read_or_refused() -> None:
    plain = outbox.parse_smtp_url("smtp://localhost:2525")
    assert (plain.host, plain.port, plain.mode, plain.username) == ("localhost", 2525, "plain", "")
    assert outbox.parse_smtp_url("smtps://u:p@mail.example.org").port == 465
    with pytest.raises(ValueError):
        outbox.parse_smtp_url("http://mail.example.org")


def test_without_smtp_url_emails_are_written_to_the_console(
    capsys: pytest.CaptureFixture[str],
) -> None:
    backend = outbox.backend_for(settings)
    assert isinstance(backend, outbox.ConsoleBackend)
    backend.send(EMAIL)
    out = capsys.readouterr().out
    assert "To: amy@example.org" in out and "Subject: Hello" in out and "Hi Amy" in out


def test_with_smtp_url_the_smtp_backend_is_used() -> None:
    from dataclasses import replace

    chosen = outbox.backend_for(replace(settings, smtp_url="smtp://localhost:2525"))
    assert isinstance(chosen, outbox.SmtpBackend)


def test_rows_are_claimed_before_they_are_sent(engine: Engine) -> None:
    """While the backend sends, the row is already `sending`: nobody else can take it."""
    [row_id] = queue(engine)
    seen: list[str] = []

    class Peek:
        def send(self, email: outbox.OutgoingEmail) -> None:
            with Session(engine) as db:
                seen.append(db.get(EmailOutbox, row_id).status)  # type: ignore[union-attr]

    deliver(engine, Peek())
    assert seen == ["sending"]


# --- the job and the operator's command -----------------------------------------------------


def test_the_job_drains_the_outbox_batch_after_batch(
    engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    queue(engine, outbox_cli.BATCH + 5)
    with Session(engine) as db:  # due by the real clock too
        for row in db.exec(select(EmailOutbox)).all():
            row.next_attempt_at = utcnow() - dt.timedelta(minutes=1)
            db.add(row)
        db.commit()

    assert outbox_cli.main(["send"], engine=engine) == 0
    assert "sent 55, retrying 0, failed 0" in capsys.readouterr().out
    assert outbox_cli.main(["status"], engine=engine) == 0
    assert "sent: 55" in capsys.readouterr().out
