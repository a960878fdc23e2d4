"""The e-mail outbox sender: sent once, retried with backoff, never sent twice.

E-mails go through the SMTP backend to a real SMTP server the test starts (aiosmtpd,
tests/support/smtp.py), which can refuse a recipient, fail for a while, or be slow."""

from __future__ import annotations

import datetime as dt
import ssl
import threading
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from icalendar import Calendar
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from mentor_app import outbox as outbox_cli
from mentor_app.db import session_scope
from mentor_app.models import EmailOutbox, User, utcnow
from mentor_app.services import accounts, meetings, notifications, outbox
from mentor_app.settings import settings
from tests.factories import make_pair, make_user
from tests.support.smtp import SmtpServer, smtp_server, tls_smtp_server

__all__ = ["smtp_server", "tls_smtp_server"]  # fixtures, used by name

NOW = dt.datetime(2026, 3, 9, 14, 0, tzinfo=dt.UTC)


def smtp(server: SmtpServer) -> outbox.SmtpBackend:
    return outbox.SmtpBackend(server.url, "mc@example.com")


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


def test_a_due_email_is_sent_once_and_marked_sent(engine: Engine, smtp_server: SmtpServer) -> None:
    queue(engine, 2)
    backend = smtp(smtp_server)

    first = deliver(engine, backend)
    again = deliver(engine, backend, NOW + dt.timedelta(hours=1))

    assert (first.sent, again.sent) == (2, 0)
    assert sorted(smtp_server.mailbox.to()) == sorted(r.to_address for r in rows(engine))
    assert [(r.status, r.attempts, r.sent_at) for r in rows(engine)] == [("sent", 1, NOW)] * 2


def test_an_email_not_yet_due_waits(engine: Engine, smtp_server: SmtpServer) -> None:
    queue(engine)

    deliver(engine, smtp(smtp_server), NOW - dt.timedelta(minutes=5))

    assert smtp_server.mailbox.attempts == []
    assert rows(engine)[0].status == "pending"


def test_a_failing_email_is_retried_with_growing_delays_then_given_up(
    engine: Engine, smtp_server: SmtpServer
) -> None:
    queue(engine)
    smtp_server.mailbox.fail_times = -1  # the server always answers 451
    backend = smtp(smtp_server)
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
    assert row.last_error.startswith("SMTPDataError: (451, ")
    assert len(smtp_server.mailbox.attempts) == outbox.MAX_ATTEMPTS
    deliver(engine, backend, at + dt.timedelta(days=1))
    # A failed e-mail is left alone.
    assert len(smtp_server.mailbox.attempts) == outbox.MAX_ATTEMPTS


def test_the_delay_between_attempts_is_capped_at_six_hours() -> None:
    assert outbox.backoff(1) == dt.timedelta(minutes=1)
    assert outbox.backoff(9) == dt.timedelta(hours=4, minutes=16)
    assert outbox.backoff(10) == outbox.backoff(30) == dt.timedelta(hours=6)


def test_an_email_that_failed_once_is_delivered_exactly_once_on_retry(
    engine: Engine, smtp_server: SmtpServer
) -> None:
    queue(engine)
    smtp_server.mailbox.fail_times = 1
    backend = smtp(smtp_server)

    assert deliver(engine, backend).retrying == 1
    assert deliver(engine, backend, NOW + dt.timedelta(minutes=1)).sent == 1
    deliver(engine, backend, NOW + dt.timedelta(hours=2))

    row = rows(engine)[0]
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, "")
    assert len(smtp_server.mailbox.messages) == 1
    # Both attempts carried one Message-ID, so a mail server can drop a duplicate.
    assert len({m["Message-ID"] for m in smtp_server.mailbox.attempts}) == 1
    assert len(smtp_server.mailbox.attempts) == 2


def test_a_recipient_the_server_refuses_is_a_permanent_failure_not_retried(
    engine: Engine, smtp_server: SmtpServer
) -> None:
    refused, accepted = queue(engine, 2)
    smtp_server.mailbox.refuse = {_recipient(engine, refused).email}  # 550 for that one
    backend = smtp(smtp_server)

    report = deliver(engine, backend)
    deliver(engine, backend, NOW + dt.timedelta(days=1))

    assert (report.sent, report.failed) == (1, 1)
    first, second = rows(engine)
    assert (first.status, second.status) == ("failed", "sent")
    assert first.attempts == 1 and "recipient refused" in first.last_error
    assert smtp_server.mailbox.to() == [_recipient(engine, accepted).email]


def test_two_senders_racing_send_every_email_exactly_once(
    any_engine: Engine, smtp_server: SmtpServer
) -> None:
    queue(any_engine, 30)
    smtp_server.mailbox.delay_s = 0.005
    backend = smtp(smtp_server)
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

    sent_to = Counter(smtp_server.mailbox.to())
    assert len(sent_to) == 30 and set(sent_to.values()) == {1}
    assert sum(r.sent for r in reports) == 30
    assert {(r.status, r.attempts) for r in rows(any_engine)} == {("sent", 1)}


# --- the recipient's status, re-read at send time ------------------------------------------


def _recipient(engine: Engine, row_id: int) -> User:
    with Session(engine, expire_on_commit=False) as db:
        row = db.get(EmailOutbox, row_id)
        assert row is not None
        return db.exec(select(User).where(User.email == row.to_address)).one()


def test_an_email_queued_before_a_suspension_is_skipped_not_sent(
    engine: Engine, smtp_server: SmtpServer
) -> None:
    first, second = queue(engine, 2)
    with session_scope(engine) as db:
        accounts.suspend_user(db, user_id=_recipient(engine, first).id or 0, actor_id=None)
    backend = smtp(smtp_server)

    report = deliver(engine, backend)
    later = deliver(engine, backend, NOW + dt.timedelta(days=1))

    assert smtp_server.mailbox.to() == [_recipient(engine, second).email]
    assert (report.sent, report.skipped, report.failed, report.retrying) == (1, 1, 0, 0)
    assert later.claimed == 0  # skipped is final: never retried
    skipped = rows(engine)[0]
    assert (skipped.status, skipped.sent_at) == ("skipped", None)
    assert skipped.last_error == outbox.SKIPPED_INACTIVE


def test_an_email_to_an_address_its_member_no_longer_uses_is_skipped(
    engine: Engine, smtp_server: SmtpServer
) -> None:
    (row_id,) = queue(engine)
    with session_scope(engine) as db:
        person = db.exec(select(User).where(User.id == _recipient(engine, row_id).id)).one()
        person.email = "new-address@example.com"
        db.add(person)

    report = deliver(engine, smtp(smtp_server))

    assert smtp_server.mailbox.attempts == [] and report.skipped == 1
    assert (rows(engine)[0].status, rows(engine)[0].last_error) == (
        "skipped",
        outbox.SKIPPED_ADDRESS,
    )


def test_the_operator_sees_skipped_emails_counted(
    engine: Engine, smtp_server: SmtpServer, capsys: pytest.CaptureFixture[str]
) -> None:
    (row_id,) = queue(engine)
    with session_scope(engine) as db:
        accounts.suspend_user(db, user_id=_recipient(engine, row_id).id or 0, actor_id=None)
    deliver(engine, smtp(smtp_server))
    with Session(engine) as db:
        assert outbox.counts(db) == {"skipped": 1}
    assert outbox_cli.main(["status"], engine=engine) == 0
    assert "skipped: 1" in capsys.readouterr().out


class Crash(BaseException):
    """The sender's process dies in the middle of a send."""


class Dying:
    """A sender that dies as it hands the e-mail over (not a stand-in for SMTP: the crash)."""

    def send(self, email: outbox.OutgoingEmail) -> None:
        raise Crash


def test_an_email_left_sending_by_a_crashed_sender_is_never_resent(
    engine: Engine, smtp_server: SmtpServer
) -> None:
    queue(engine)
    with pytest.raises(Crash):
        deliver(engine, Dying())
    assert rows(engine)[0].status == "sending"
    backend = smtp(smtp_server)

    deliver(engine, backend, NOW + dt.timedelta(minutes=5))  # still within the claim
    assert rows(engine)[0].status == "sending"
    report = deliver(engine, backend, NOW + outbox.CLAIM_TIMEOUT)

    row = rows(engine)[0]
    assert report.stuck == 1 and smtp_server.mailbox.attempts == []
    assert (row.status, row.last_error) == ("failed", outbox.STUCK_ERROR)


# --- backends -------------------------------------------------------------------------------


EMAIL = outbox.OutgoingEmail(
    to="amy@example.org", subject="Hello", body="Hi Amy", message_id="<outbox-1-1@mentor-circles>"
)


def test_the_smtp_backend_logs_in_over_starttls_and_sends(
    tls_smtp_server: tuple[SmtpServer, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, cert = tls_smtp_server
    # The server's certificate is this test's own: trusted here, verified as any other.
    trusting = ssl.create_default_context(cafile=str(cert))
    monkeypatch.setattr(outbox.ssl, "create_default_context", lambda: trusting)
    backend = outbox.SmtpBackend(
        f"smtp+starttls://mailer:p%40ss@127.0.0.1:{server.port}", "a@b.org"
    )

    backend.send(EMAIL)

    assert server.mailbox.logins == [("mailer", "p@ss")]
    (message,) = server.mailbox.messages
    assert (message["To"], message["Subject"], message["Message-ID"]) == (
        "amy@example.org",
        "Hello",
        "<outbox-1-1@mentor-circles>",
    )


def test_a_refused_recipient_is_a_permanent_failure(smtp_server: SmtpServer) -> None:
    smtp_server.mailbox.refuse = {"amy@example.org"}
    with pytest.raises(outbox.PermanentFailure):
        smtp(smtp_server).send(EMAIL)
    assert smtp_server.mailbox.attempts == []


def test_a_booked_meetings_email_arrives_with_its_calendar_invite(
    engine: Engine, smtp_server: SmtpServer
) -> None:
    with Session(engine, expire_on_commit=False) as db:
        setup = make_pair(db)
        meeting = meetings.propose(
            db, actor=setup.mentor, pair_id=setup.pair.id or 0, times=["2026-01-30T18:00"],
            now=dt.datetime(2026, 1, 15, tzinfo=dt.UTC),
        )  # fmt: skip
        meetings.accept(
            db, actor=setup.mentee, meeting_id=meeting.id, option=0,
            now=dt.datetime(2026, 1, 15, tzinfo=dt.UTC),
        )  # fmt: skip
        for earlier in db.exec(select(EmailOutbox).where(EmailOutbox.ics == "")).all():
            earlier.status = "sent"  # the pairing news: not what this test is about
            db.add(earlier)
        db.commit()

    deliver(engine, smtp(smtp_server), utcnow())

    assert sorted(smtp_server.mailbox.to()) == sorted([setup.mentor.email, setup.mentee.email])
    for message in smtp_server.mailbox.messages:
        assert message["Subject"] == meetings.SUBJECTS["confirmed"]
        (invite,) = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
        assert invite.get_filename() == "invite.ics"
        assert invite.get_param("method") == "REQUEST"
        calendar = Calendar.from_ical(invite.get_payload(decode=True))
        (event,) = calendar.walk("VEVENT")
        assert str(event["UID"]) == meeting.uid
        assert event["DTSTART"].dt == dt.datetime(2026, 1, 30, 18, 0, tzinfo=dt.UTC)
        assert str(event["ATTENDEE"]) == f"mailto:{message['To']}"


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
    chosen = outbox.backend_for(replace(settings, smtp_url="smtp://localhost:2525"))
    assert isinstance(chosen, outbox.SmtpBackend)


def test_rows_are_claimed_before_they_are_sent(engine: Engine, smtp_server: SmtpServer) -> None:
    """While the backend sends, the row is already `sending`: nobody else can take it."""
    [row_id] = queue(engine)
    seen: list[str] = []
    real = smtp(smtp_server)

    class Peek:
        def send(self, email: outbox.OutgoingEmail) -> None:
            with Session(engine) as db:
                seen.append(db.get(EmailOutbox, row_id).status)  # type: ignore[union-attr]
            real.send(email)

    deliver(engine, Peek())
    assert seen == ["sending"] and len(smtp_server.mailbox.messages) == 1


# --- the job and the operator's command -----------------------------------------------------


def test_the_job_drains_the_outbox_batch_after_batch(
    engine: Engine,
    smtp_server: SmtpServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(outbox_cli, "settings", replace(settings, smtp_url=smtp_server.url))
    queue(engine, outbox_cli.BATCH + 5)
    with Session(engine) as db:  # due by the real clock too
        for row in db.exec(select(EmailOutbox)).all():
            row.next_attempt_at = utcnow() - dt.timedelta(minutes=1)
            db.add(row)
        db.commit()

    assert outbox_cli.main(["send"], engine=engine) == 0
    assert "sent 55, retrying 0, failed 0" in capsys.readouterr().out
    assert len(smtp_server.mailbox.messages) == 55
    assert outbox_cli.main(["status"], engine=engine) == 0
    assert "sent: 55" in capsys.readouterr().out
