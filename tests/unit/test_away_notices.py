"""New messages while away: one notice per conversation per quiet period, naming the
partner and never the text, only once the member has no open tab."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select, update

from mentor_app import away
from mentor_app.models import ConversationRead, EmailOutbox, Notification, Pair, User, utcnow
from mentor_app.services import chat, email_prefs, outbox, presence, sessions
from mentor_app.services.access import access_pair
from tests.factories import PairSetup, make_pair
from tests.support.smtp import SmtpServer, smtp_server

__all__ = ["smtp_server"]  # a fixture, used by name

T0 = dt.datetime(2026, 3, 9, 14, 0, tzinfo=dt.UTC)
SECRET_TEXT = "my private worry about the interview"


@pytest.fixture
def pair(db: Session) -> PairSetup:
    return make_pair(db)


def say(db: Session, who: User, pair: PairSetup, at: dt.datetime, body: str = SECRET_TEXT) -> None:
    chat.send_message(db, actor=who, pair_id=pair.pair.id or 0, body=body, client_id=None, now=at)
    db.commit()


def run(db: Session, at: dt.datetime) -> presence.AwayReport:
    report = presence.notify_away_members(db, now=at)
    db.commit()
    return report


def notices(db: Session, user: User) -> list[Notification]:
    return list(
        db.exec(
            select(Notification)
            .where(Notification.user_id == user.id, Notification.kind == presence.AWAY_KIND)
            .order_by(col(Notification.id))
        ).all()
    )


def opens_tab(db: Session, user: User, at: dt.datetime) -> str:
    """A signed-in browser whose tab was seen at `at`."""
    token = sessions.create_session(db, user=user, now=at)
    db.commit()
    return token


def reads(db: Session, user: User, pair: PairSetup, at: dt.datetime) -> None:
    access = access_pair(db, actor=user, pair_id=pair.pair.id or 0)
    presence.mark_conversation_read(db, access=access, now=at)
    db.commit()


def test_a_member_away_is_told_once_after_15_minutes_naming_the_partner(
    db: Session, pair: PairSetup
) -> None:
    say(db, pair.mentor, pair, T0)

    early = run(db, T0 + dt.timedelta(minutes=14))
    told = run(db, T0 + dt.timedelta(minutes=15))

    assert (early.told, told.told) == (0, 1)
    (notice,) = notices(db, pair.mentee)
    assert "Maya" in notice.text and notice.link == f"/pairs/{pair.pair.id}"
    assert notices(db, pair.mentor) == []  # the sender is not told of their own message


def test_the_notice_and_its_email_never_include_the_text(db: Session, pair: PairSetup) -> None:
    say(db, pair.mentor, pair, T0)
    run(db, T0 + dt.timedelta(minutes=20))

    (notice,) = notices(db, pair.mentee)
    (mail,) = db.exec(select(EmailOutbox).where(EmailOutbox.kind == presence.AWAY_KIND)).all()
    assert mail.to_address == pair.mentee.email
    for text in (notice.text, mail.subject, mail.body):
        assert "interview" not in text and "worry" not in text


def test_one_notice_per_quiet_period_however_many_messages(db: Session, pair: PairSetup) -> None:
    say(db, pair.mentor, pair, T0)
    run(db, T0 + dt.timedelta(minutes=15))
    say(db, pair.mentor, pair, T0 + dt.timedelta(minutes=16), "and another")
    say(db, pair.mentor, pair, T0 + dt.timedelta(minutes=17), "and one more")

    again = run(db, T0 + dt.timedelta(hours=2))

    assert again.told == 0 and again.already_told == 1
    assert len(notices(db, pair.mentee)) == 1


def test_reading_the_conversation_starts_a_new_quiet_period(db: Session, pair: PairSetup) -> None:
    say(db, pair.mentor, pair, T0)
    run(db, T0 + dt.timedelta(minutes=15))
    reads(db, pair.mentee, pair, T0 + dt.timedelta(minutes=30))
    say(db, pair.mentor, pair, T0 + dt.timedelta(minutes=40), "next day")

    quiet = run(db, T0 + dt.timedelta(minutes=50))  # read, then only 10 minutes waited
    told = run(db, T0 + dt.timedelta(minutes=55))

    assert (quiet.told, told.told) == (0, 1)
    assert len(notices(db, pair.mentee)) == 2


def test_a_message_read_in_time_is_never_announced(db: Session, pair: PairSetup) -> None:
    say(db, pair.mentor, pair, T0)
    reads(db, pair.mentee, pair, T0 + dt.timedelta(minutes=5))

    assert run(db, T0 + dt.timedelta(hours=1)).told == 0
    assert notices(db, pair.mentee) == []


def test_no_notice_while_the_member_has_an_open_tab(db: Session, pair: PairSetup) -> None:
    say(db, pair.mentor, pair, T0)
    token = opens_tab(db, pair.mentee, T0)
    # The worker holding the tab's socket beats every two minutes.
    for minute in range(2, 21, 2):
        presence.touch_open_sessions(db, tokens=[token], now=T0 + dt.timedelta(minutes=minute))
        db.commit()

    present = run(db, T0 + dt.timedelta(minutes=21))
    # The tab closed (or its worker was killed) at minute 20: away once the window passed.
    still = run(db, T0 + dt.timedelta(minutes=24))
    away_now = run(db, T0 + dt.timedelta(minutes=26))

    assert (present.present, present.told) == (1, 0)
    assert (still.told, away_now.told) == (0, 1)


def test_the_heartbeat_touches_only_the_sessions_of_open_sockets(
    db: Session, pair: PairSetup, monkeypatch: pytest.MonkeyPatch, engine: Engine
) -> None:
    an_hour_ago = utcnow() - dt.timedelta(hours=1)  # the job runs at the real time
    open_token = opens_tab(db, pair.mentee, an_hour_ago)
    opens_tab(db, pair.mentor, an_hour_ago)
    from mentor_app import web_auth

    monkeypatch.setattr(web_auth, "open_socket_tokens", lambda: {open_token})

    assert away.beat(engine) == 1
    db.expire_all()
    assert presence.present_user_ids(db, user_ids=[pair.mentor.id or 0, pair.mentee.id or 0]) == {
        pair.mentee.id
    }


def test_a_message_that_reached_the_partners_open_chat_counts_as_read(
    db: Session, pair: PairSetup
) -> None:
    token = opens_tab(db, pair.mentee, T0)
    say(db, pair.mentor, pair, T0)
    access = access_pair(db, actor=pair.mentor, pair_id=pair.pair.id or 0)

    seen = presence.after_send(
        db, access=access, session_keys={sessions.session_key(token)}, now=T0
    )
    db.commit()
    # The partner closes the tab at once: the message they saw is not announced.
    later = run(db, T0 + dt.timedelta(hours=1))

    assert seen is True and later.told == 0


def test_a_tab_of_someone_else_does_not_count_as_the_partner_reading(
    db: Session, pair: PairSetup
) -> None:
    token = opens_tab(db, pair.admin, T0)
    say(db, pair.mentor, pair, T0)
    access = access_pair(db, actor=pair.mentor, pair_id=pair.pair.id or 0)

    assert (
        presence.after_send(db, access=access, session_keys={sessions.session_key(token)}, now=T0)
        is False
    )
    db.commit()
    assert run(db, T0 + dt.timedelta(minutes=15)).told == 1


def test_the_away_email_follows_the_reminders_switch(
    db: Session, pair: PairSetup, smtp_server: SmtpServer
) -> None:
    email_prefs.save_preferences(
        db, actor=pair.mentee, nudges=True, reminders=False, pairing=True, digest=False
    )
    db.commit()
    say(db, pair.mentor, pair, T0)
    run(db, T0 + dt.timedelta(minutes=15))
    (mail,) = db.exec(select(EmailOutbox).where(EmailOutbox.kind == presence.AWAY_KIND)).all()
    mail_id = mail.id
    db.exec(update(EmailOutbox).values(next_attempt_at=T0))  # type: ignore[call-overload]
    db.commit()

    engine = db.get_bind()
    from mentor_app.db import session_scope

    outbox.deliver_due(
        lambda: session_scope(engine),  # type: ignore[arg-type]
        backend=outbox.SmtpBackend(smtp_server.url, "mc@example.com"),
        now=T0 + dt.timedelta(minutes=16),
    )

    received = smtp_server.mailbox.messages
    assert [m["Subject"] for m in received if m["To"] == pair.mentee.email] == [
        "You have a new mentoring pair"  # the pairing e-mail: that switch is on
    ]
    db.expire_all()
    assert db.get(EmailOutbox, mail_id).status == "skipped"  # type: ignore[union-attr]
    assert len(notices(db, pair.mentee)) == 1  # the in-app notice comes all the same


def test_an_ended_pair_gets_no_notice(db: Session, pair: PairSetup) -> None:
    say(db, pair.mentor, pair, T0)
    row = db.get(Pair, pair.pair.id)
    assert row is not None
    row.status = "ended"
    db.add(row)
    db.commit()

    assert run(db, T0 + dt.timedelta(minutes=30)).told == 0


def test_the_heartbeat_runs_on_every_worker_and_the_notices_on_the_leader_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mentor_app import scheduler

    monkeypatch.setattr(scheduler, "_registered", {})  # other tests' schedulers: untouched
    away.schedule()

    beat = scheduler._registered[away.HEARTBEAT_JOB_ID]
    notices_job = scheduler._registered[away.AWAY_JOB_ID]
    assert (beat.leader_only, beat.trigger["seconds"]) == (False, presence.HEARTBEAT_EVERY_S)
    assert (notices_job.leader_only, notices_job.trigger["minutes"]) == (True, 1)
    assert presence.PRESENCE_WINDOW.total_seconds() > presence.HEARTBEAT_EVERY_S * 2


def read_at(db: Session, user: User, pair: PairSetup) -> dt.datetime | None:
    db.expire_all()
    row = db.exec(
        select(ConversationRead).where(
            ConversationRead.pair_id == pair.pair.id, ConversationRead.user_id == user.id
        )
    ).first()
    return None if row is None else row.read_at


def test_sends_noted_in_one_batch_mark_each_pair_read_as_one_at_a_time_would(
    db: Session, pair: PairSetup
) -> None:
    other = make_pair(db)
    watching = sessions.session_key(opens_tab(db, pair.mentee, T0))
    elsewhere = sessions.session_key(opens_tab(db, other.admin, T0))
    later = T0 + dt.timedelta(seconds=1)
    marks = [
        presence.SendMark(pair.pair.id or 0, pair.mentor.id or 0, frozenset({watching}), T0),
        # The same sender a second later: the latest time is kept.
        presence.SendMark(pair.pair.id or 0, pair.mentor.id or 0, frozenset({watching}), later),
        # Another pair, pushed to a tab that is not the partner's: the sender alone.
        presence.SendMark(other.pair.id or 0, other.mentee.id or 0, frozenset({elsewhere}), T0),
    ]

    watched = presence.after_sends(db, marks=marks)
    db.commit()

    assert watched == {pair.pair.id}
    assert (read_at(db, pair.mentor, pair), read_at(db, pair.mentee, pair)) == (later, later)
    assert read_at(db, other.mentee, other) == T0
    assert read_at(db, other.mentor, other) is None


def test_a_late_batch_never_moves_a_read_time_back(db: Session, pair: PairSetup) -> None:
    reads(db, pair.mentor, pair, T0 + dt.timedelta(minutes=1))  # opened the page since

    presence.after_sends(
        db, marks=[presence.SendMark(pair.pair.id or 0, pair.mentor.id or 0, frozenset(), T0)]
    )
    db.commit()

    assert read_at(db, pair.mentor, pair) == T0 + dt.timedelta(minutes=1)
