"""E-mail preferences: honoured when an e-mail is sent, the weekly digest, the signed
one-click unsubscribe link (in the headers of the real SMTP message, and at its address).
Every e-mail goes through a real SMTP server the test starts (tests/support/smtp.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from email.message import Message
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from starlette.testclient import TestClient

from mentor_app import outbox as outbox_cli
from mentor_app import settings as settings_module
from mentor_app import web_auth
from mentor_app.db import session_scope
from mentor_app.models import EmailOutbox, User
from mentor_app.services import email_prefs, notifications, outbox
from mentor_app.services.errors import ValidationError
from mentor_app.settings import settings
from tests.factories import make_user
from tests.support.smtp import SmtpServer, smtp_server

__all__ = ["smtp_server"]  # a fixture, used by name

NOW = dt.datetime(2026, 3, 9, 14, 0, tzinfo=dt.UTC)
ALL_ON = email_prefs.EmailPreferences(nudges=True, reminders=True, pairing=True, digest=False)


class Backend:
    """The outbox's SMTP backend, to the real SMTP server the test started: `delivered`
    reads back what the server received."""

    def __init__(self, server: SmtpServer) -> None:
        self.server = server
        self.smtp = outbox.SmtpBackend(server.url, "mc@example.com")

    def send(self, email: outbox.OutgoingEmail) -> None:
        self.smtp.send(email)

    @property
    def delivered(self) -> list[Received]:
        return [Received.of(m) for m in self.server.mailbox.messages]


@dataclass(frozen=True)
class Received:
    to: str
    subject: str
    body: str

    @classmethod
    def of(cls, message: Message) -> Received:
        payload = message.get_payload(decode=True)  # these e-mails are one text part
        return cls(str(message["To"]), str(message["Subject"]), bytes(payload or b"").decode())


@pytest.fixture
def mail(smtp_server: SmtpServer) -> Callable[[], Backend]:
    return lambda: Backend(smtp_server)


def deliver(engine: Engine, backend: Any, at: dt.datetime = NOW) -> outbox.DeliveryReport:
    return outbox.deliver_due(lambda: session_scope(engine), backend=backend, now=at)


def member(engine: Engine, **prefs: bool) -> User:
    with Session(engine, expire_on_commit=False) as db:
        user = make_user(db)
        if prefs:
            email_prefs.save_preferences(db, actor=user, **{**ALL_ON.__dict__, **prefs})
            db.commit()
        return user


def tell(engine: Engine, user: User, kind: str, text: str = "Week 2 is here.") -> None:
    with Session(engine) as db:
        notifications.notify(db, user_id=user.id or 0, kind=kind, text=text)
        for row in db.exec(select(EmailOutbox)).all():
            row.next_attempt_at = min(row.next_attempt_at, NOW - dt.timedelta(minutes=1))
            db.add(row)
        db.commit()


def statuses(engine: Engine) -> list[tuple[str, str]]:
    with Session(engine) as db:
        return [
            (r.kind, r.status)
            for r in db.exec(select(EmailOutbox).order_by(col(EmailOutbox.id))).all()
        ]


def prefs_of(engine: Engine, user: User) -> email_prefs.EmailPreferences:
    with Session(engine) as db:
        return email_prefs.preferences_of(db, user_id=user.id or 0)


# --- which e-mails ------------------------------------------------------------------------


def test_every_kind_of_email_the_app_queues_is_optional_or_required() -> None:
    unclassified = [
        kind
        for kind in notifications.SUBJECTS
        if kind not in email_prefs.KIND_CATEGORY and kind not in email_prefs.REQUIRED_KINDS
    ]
    assert unclassified == []
    assert "report_outcome" in email_prefs.REQUIRED_KINDS  # safety: never optional


def test_a_new_member_gets_every_email_and_no_digest(engine: Engine) -> None:
    assert prefs_of(engine, member(engine)) == ALL_ON


def test_a_kind_turned_off_after_it_was_queued_is_skipped_when_sent(
    engine: Engine, mail: Callable[[], Backend]
) -> None:
    person = member(engine)
    tell(engine, person, "nudge")
    tell(engine, person, "paired", "You were paired.")
    with Session(engine) as db:
        email_prefs.save_preferences(
            db, actor=person, nudges=False, reminders=True, pairing=True, digest=False
        )
        db.commit()
    backend = mail()

    report = deliver(engine, backend)

    assert [e.subject for e in backend.delivered] == [notifications.SUBJECTS["paired"]]
    assert (report.sent, report.skipped) == (1, 1)
    assert statuses(engine) == [("nudge", "skipped"), ("paired", "sent")]


def test_safety_emails_go_out_with_every_switch_off(
    engine: Engine, mail: Callable[[], Backend]
) -> None:
    person = member(engine, nudges=False, reminders=False, pairing=False, digest=True)
    tell(engine, person, "report_outcome", "Your report has been reviewed.")
    backend = mail()

    deliver(engine, backend)

    assert [e.subject for e in backend.delivered] == [notifications.SUBJECTS["report_outcome"]]


# --- the weekly digest --------------------------------------------------------------------


def test_the_digest_holds_optional_emails_and_sends_them_as_one_a_week(
    engine: Engine, mail: Callable[[], Backend]
) -> None:
    person = member(engine, digest=True)
    tell(engine, person, "nudge", "This week: set goals.")
    tell(engine, person, "paired", "You were paired with Maya.")
    backend = mail()

    held = deliver(engine, backend)
    assert backend.delivered == [] and held.held == 2
    assert statuses(engine) == [("nudge", "held"), ("paired", "held")]

    with session_scope(engine) as db:
        assert email_prefs.send_digests(db, now=NOW) == 1
    with session_scope(engine) as db:
        assert email_prefs.send_digests(db, now=NOW) == 0  # nothing left to gather
    deliver(engine, backend, NOW + dt.timedelta(minutes=1))

    (digest,) = backend.delivered
    assert digest.subject == email_prefs.DIGEST_SUBJECT and digest.to == person.email
    assert "This week: set goals." in digest.body and "You were paired with Maya." in digest.body
    assert statuses(engine) == [("nudge", "digested"), ("paired", "digested"), ("digest", "sent")]


def test_a_required_email_is_not_held_for_the_digest(
    engine: Engine, mail: Callable[[], Backend]
) -> None:
    person = member(engine, digest=True)
    tell(engine, person, "report_outcome", "Your report has been reviewed.")
    backend = mail()

    deliver(engine, backend)

    assert len(backend.delivered) == 1 and statuses(engine) == [("report_outcome", "sent")]


def test_the_digest_leaves_out_kinds_turned_off_since_they_were_held(
    engine: Engine, mail: Callable[[], Backend]
) -> None:
    person = member(engine, digest=True)
    tell(engine, person, "nudge", "This week: set goals.")
    tell(engine, person, "paired", "You were paired with Maya.")
    deliver(engine, mail())
    with Session(engine) as db:
        email_prefs.save_preferences(
            db, actor=person, nudges=False, reminders=True, pairing=True, digest=True
        )
        db.commit()

    with session_scope(engine) as db:
        email_prefs.send_digests(db, now=NOW)
    backend = mail()
    deliver(engine, backend, NOW + dt.timedelta(minutes=1))

    (digest,) = backend.delivered
    assert "You were paired with Maya." in digest.body and "set goals" not in digest.body


def test_the_digest_job_runs_weekly_on_the_leader(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, mail: Callable[[], Backend]
) -> None:
    from mentor_app import scheduler

    monkeypatch.setattr(scheduler, "_registered", {})  # other tests' schedulers: untouched
    outbox_cli.schedule()
    job = scheduler._registered[outbox_cli.DIGEST_JOB_ID]
    assert job.leader_only and job.trigger == outbox_cli.DIGEST_TRIGGER
    assert (job.trigger["trigger"], job.trigger["day_of_week"]) == ("cron", "mon")
    person = member(engine, digest=True)
    tell(engine, person, "nudge")
    deliver(engine, mail())
    assert outbox_cli.main(["digest"], engine=engine) == 0  # by hand, as the job does
    assert statuses(engine) == [("nudge", "digested"), ("digest", "pending")]


# --- the signed link ----------------------------------------------------------------------


def test_an_unsubscribe_link_names_its_member_and_kind(engine: Engine) -> None:
    token = email_prefs.unsubscribe_token(42, "nudges")
    link = email_prefs.read_token(token)
    assert (link.user_id, link.category) == (42, "nudges")
    assert email_prefs.link_category("one_sided") == "nudges"
    assert email_prefs.link_category("report_outcome") == email_prefs.ALL


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t.replace("42.", "43.", 1),  # another member
        lambda t: t.replace(".nudges.", ".pairing.", 1),  # another kind
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # another signature
        lambda t: t[:-1],  # cut short
        lambda t: "",
    ],
)
def test_a_changed_link_is_refused(tamper: Any) -> None:
    with pytest.raises(ValidationError) as refused:
        email_prefs.read_token(tamper(email_prefs.unsubscribe_token(42, "nudges")))
    assert refused.value.message == email_prefs.BAD_LINK


def test_a_link_signed_with_another_servers_secret_is_refused(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    person = member(engine)
    monkeypatch.setattr(email_prefs, "email_secret", lambda: b"another server's secret")
    foreign = email_prefs.unsubscribe_token(person.id or 0, "nudges")
    monkeypatch.undo()

    with Session(engine) as db, pytest.raises(ValidationError):
        email_prefs.unsubscribe(db, token=foreign)
    assert prefs_of(engine, person) == ALL_ON


def test_a_link_turns_off_its_own_kind_only(engine: Engine) -> None:
    person = member(engine)
    with Session(engine) as db:
        email_prefs.unsubscribe(db, token=email_prefs.unsubscribe_token(person.id or 0, "nudges"))
        db.commit()
    assert prefs_of(engine, person) == email_prefs.EmailPreferences(
        nudges=False, reminders=True, pairing=True, digest=False
    )


def test_the_secret_is_made_once_and_kept_in_the_data_dir(tmp_path: Any) -> None:
    config = settings_module.Settings(
        port=1,
        data_dir=tmp_path,
        database_url="",
        redis_url=None,
        app_origin="http://x",
        cookie_secure=False,
    )
    first = settings_module.email_secret(config)
    assert len(first) >= 32 and settings_module.email_secret(config) == first
    assert (tmp_path / settings_module.EMAIL_SECRET_FILE).stat().st_mode & 0o077 == 0
    assert settings_module.email_secret(replace(config, email_secret_env="env!")) == b"env!"


# --- the real SMTP message ----------------------------------------------------------------


def test_every_email_carries_a_one_click_unsubscribe_over_smtp(
    engine: Engine, smtp_server: SmtpServer
) -> None:
    inbox, port = smtp_server.mailbox, smtp_server.port
    person = member(engine)
    tell(engine, person, "nudge")
    tell(engine, person, "report_outcome", "Your report has been reviewed.")

    deliver(engine, outbox.SmtpBackend(f"smtp://127.0.0.1:{port}", "mc@example.com"))

    assert len(inbox.messages) == 2
    for message, category in zip(inbox.messages, ["nudges", email_prefs.ALL], strict=True):
        header = str(message["List-Unsubscribe"])
        assert header.startswith(f"<{settings.app_origin}/unsubscribe?t=") and header[-1] == ">"
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        url = header[1:-1]
        token = parse_qs(urlsplit(url).query)["t"][0]
        link = email_prefs.read_token(token)
        assert (link.user_id, link.category) == (person.id, category)
        assert url in message.get_payload(decode=True).decode()  # type: ignore[union-attr]


# --- the link's address -------------------------------------------------------------------


@pytest.fixture
def client(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    monkeypatch.setattr(web_auth, "session_scope", lambda: session_scope(engine))
    return TestClient(web_auth.routes())


def test_opening_the_link_asks_first_and_changes_nothing(
    engine: Engine, client: TestClient
) -> None:
    person = member(engine)
    token = email_prefs.unsubscribe_token(person.id or 0, "reminders")

    page = client.get("/unsubscribe", params={"t": token})

    assert page.status_code == 200 and "Unsubscribe</button>" in page.text
    assert "reminders" in page.text.lower()
    assert prefs_of(engine, person) == ALL_ON  # a mail scanner's GET unsubscribes no one


def test_a_mail_clients_one_click_post_from_elsewhere_unsubscribes(
    engine: Engine, client: TestClient
) -> None:
    person = member(engine)
    token = email_prefs.unsubscribe_token(person.id or 0, "reminders")

    done = client.post(
        f"/unsubscribe?t={token}",
        data={"List-Unsubscribe": "One-Click"},
        headers={"Origin": "https://mail.example.net"},
    )

    assert done.status_code == 200 and "You are unsubscribed" in done.text
    assert prefs_of(engine, person).reminders is False


def test_a_changed_link_gets_a_clear_page_and_changes_nothing(
    engine: Engine, client: TestClient
) -> None:
    person = member(engine)
    token = email_prefs.unsubscribe_token(person.id or 0, "reminders")
    other = member(engine)
    forged = token.replace(f"{person.id}.", f"{other.id}.", 1)

    shown = client.get("/unsubscribe", params={"t": forged})
    posted = client.post(f"/unsubscribe?t={forged}", data={"List-Unsubscribe": "One-Click"})

    assert (shown.status_code, posted.status_code) == (400, 400)
    assert "not valid" in posted.text and 'href="/settings"' in posted.text
    assert prefs_of(engine, person) == ALL_ON and prefs_of(engine, other) == ALL_ON
