"""Notifications: a member's own list and marks, and the e-mails some kinds queue."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from mentor_app.models import EmailOutbox, Notification, User, utcnow
from mentor_app.services import notifications
from mentor_app.services.errors import NotFound
from tests.factories import make_pair, make_user


def outbox(db: Session) -> list[EmailOutbox]:
    return list(db.exec(select(EmailOutbox).order_by(col(EmailOutbox.id))).all())


@pytest.fixture
def heard() -> Iterator[list[frozenset[int]]]:
    """What the change listeners hear, commit by commit."""
    calls: list[frozenset[int]] = []
    notifications.on_change(calls.append)
    yield calls
    notifications._listeners.remove(calls.append)


def test_notify_queues_an_email_only_for_email_kinds(db: Session) -> None:
    amy = make_user(db, display_name="Amy", email="amy@example.org")
    for kind in ("paired", "nudge", "report_outcome", "fit_alert", "pair_ended", "warning"):
        notifications.notify(db, user_id=amy.id or 0, kind=kind, text=f"A {kind} note", link="")
    db.commit()

    mails = outbox(db)
    assert [m.subject for m in mails] == [
        notifications.SUBJECTS["paired"],
        notifications.SUBJECTS["nudge"],
        notifications.SUBJECTS["report_outcome"],
    ]
    assert {m.to_address for m in mails} == {"amy@example.org"}
    assert all(m.status == "pending" and m.attempts == 0 for m in mails)


def test_the_email_says_what_happened_and_links_to_it_in_the_app(db: Session) -> None:
    amy = make_user(db, display_name="Amy")
    note = notifications.notify(
        db,
        user_id=amy.id or 0,
        kind="nudge",
        text="Time for your weekly check-in.",
        link="/pairs/7",
    )
    db.commit()

    [mail] = outbox(db)
    assert mail.notification_id == note.id
    assert mail.body.startswith("Hello Amy,\n\nTime for your weekly check-in.")
    assert "/pairs/7" in mail.body


def test_publishing_pairs_queues_one_email_per_member(db: Session) -> None:
    setup = make_pair(db)

    mails = outbox(db)
    assert sorted(m.to_address for m in mails) == sorted([setup.mentor.email, setup.mentee.email])


def test_a_suspended_member_gets_the_notification_but_no_email(db: Session) -> None:
    amy = make_user(db)
    amy.status = "suspended"
    db.add(amy)
    notifications.notify(db, user_id=amy.id or 0, kind="report_outcome", text="Thank you.")
    db.commit()

    assert outbox(db) == []
    assert db.exec(select(Notification).where(Notification.user_id == amy.id)).one()


def test_many_notices_at_once_are_written_in_order_each_mailed_as_notify_would(
    db: Session, heard: list[frozenset[int]]
) -> None:
    amy, bob, cy = (make_user(db, display_name=n) for n in ("Amy", "Bob", "Cy"))
    cy.status = "suspended"
    db.add(cy)
    notices = [
        notifications.Notice(amy.id or 0, "paired", "You are now mentoring Bob.", "/pairs/3"),
        notifications.Notice(bob.id or 0, "paired", "Amy is your mentor.", "/pairs/3"),
        notifications.Notice(bob.id or 0, "fit_alert", "Not an e-mail kind."),
        notifications.Notice(cy.id or 0, "paired", "Suspended: no mail."),
    ]

    rows = notifications.notify_many(db, notices)
    db.commit()

    assert [(r.user_id, r.text) for r in rows] == [(n.user_id, n.text) for n in notices]
    mails = outbox(db)
    assert [(m.notification_id, m.to_address) for m in mails] == [
        (rows[0].id, amy.email),
        (rows[1].id, bob.email),
    ]
    assert mails[0].body.startswith("Hello Amy,\n\nYou are now mentoring Bob.")
    assert heard == [frozenset({amy.id, bob.id, cy.id})]  # one announcement for all


def bulk_nudges(db: Session, users: list[User]) -> list[Notification]:
    """As the scheduler does: rows inserted without notify()."""
    rows = [
        Notification(user_id=u.id or 0, kind="nudge", text="How is week 2 going?", link="/pairs/1")
        for u in users
    ] + [Notification(user_id=users[0].id or 0, kind="fit_alert", text="not mailed")]
    db.add_all(rows)
    db.flush()
    return rows


def test_bulk_notifications_queue_their_emails_once(db: Session) -> None:
    users = [make_user(db) for _ in range(3)]
    rows = bulk_nudges(db, users)

    assert notifications.after_bulk_notify(db, rows) == 3
    assert notifications.after_bulk_notify(db, rows) == 0  # a rerun queues nothing more
    db.commit()
    assert sorted(m.to_address for m in outbox(db)) == sorted(u.email for u in users)


# --- a member's own notifications -----------------------------------------------------------


def test_mark_read_marks_only_the_members_own_notification(db: Session) -> None:
    amy, bob = make_user(db), make_user(db)
    hers = notifications.notify(db, user_id=amy.id or 0, kind="nudge", text="Hi Amy")
    db.commit()

    with pytest.raises(NotFound):
        notifications.mark_read(db, actor=bob, notification_id=hers.id or 0)
    with pytest.raises(NotFound):
        notifications.mark_read(db, actor=bob, notification_id=999_999)
    assert notifications.unread_count(db, actor=amy) == 1

    assert notifications.mark_read(db, actor=amy, notification_id=hers.id or 0) is True
    assert notifications.mark_read(db, actor=amy, notification_id=hers.id or 0) is False
    assert notifications.unread_count(db, actor=amy) == 0


def test_unread_count_counts_only_the_members_unread(db: Session) -> None:
    amy, bob = make_user(db), make_user(db)
    for text in ("one", "two", "three"):
        notifications.notify(db, user_id=amy.id or 0, kind="nudge", text=text)
    notifications.notify(db, user_id=bob.id or 0, kind="nudge", text="Bob's")
    first = notifications.list_recent(db, actor=amy)[-1]
    notifications.mark_read(db, actor=amy, notification_id=first.id)
    db.commit()

    assert notifications.unread_count(db, actor=amy) == 2
    assert notifications.unread_counts(db, user_ids=[amy.id or 0, bob.id or 0, 424242]) == {
        amy.id: 2,
        bob.id: 1,
        424242: 0,
    }


def test_mark_all_read_leaves_other_members_unread(db: Session) -> None:
    amy, bob = make_user(db), make_user(db)
    for user in (amy, amy, bob):
        notifications.notify(db, user_id=user.id or 0, kind="nudge", text="Hello")
    db.commit()

    assert notifications.mark_all_read(db, actor=amy) == 2
    assert notifications.mark_all_read(db, actor=amy) == 0
    assert notifications.unread_count(db, actor=amy) == 0
    assert notifications.unread_count(db, actor=bob) == 1


def test_the_center_lists_newest_first_fifty_a_page(db: Session) -> None:
    amy, bob = make_user(db), make_user(db)
    start = utcnow() - dt.timedelta(days=1)
    db.add_all(
        Notification(
            user_id=amy.id or 0,
            kind="nudge",
            text=f"Note {i}",
            created_at=start + dt.timedelta(minutes=i),
        )
        for i in range(60)
    )
    db.add(Notification(user_id=bob.id or 0, kind="nudge", text="Bob's own"))
    db.commit()

    first = notifications.list_page(db, actor=amy)
    second = notifications.list_page(db, actor=amy, page=2)

    assert [r.text for r in first.rows[:2]] == ["Note 59", "Note 58"]
    assert len(first.rows) == 50 and first.has_older and first.unread == 60
    assert [r.text for r in second.rows] == [f"Note {i}" for i in range(9, -1, -1)]
    assert not second.has_older


def test_only_same_site_links_are_shown(db: Session) -> None:
    amy = make_user(db)
    for link in ("/pairs/3", "javascript:alert(1)", "//evil.example/x", "https://evil.example"):
        notifications.notify(db, user_id=amy.id or 0, kind="nudge", text=link, link=link)
    db.commit()

    shown = {r.text: r.link for r in notifications.list_page(db, actor=amy).rows}
    assert shown == {
        "/pairs/3": "/pairs/3",
        "javascript:alert(1)": "",
        "//evil.example/x": "",
        "https://evil.example": "",
    }


# --- telling the bells, after commit --------------------------------------------------------


def test_listeners_hear_whose_notifications_changed_once_committed(
    engine: Engine, heard: list[frozenset[int]]
) -> None:
    with Session(engine) as db:
        amy, bob = make_user(db), make_user(db)
        heard.clear()
        notifications.notify(db, user_id=amy.id or 0, kind="nudge", text="Hi")
        notifications.notify(db, user_id=bob.id or 0, kind="pair_ended", text="Ended")
        assert heard == []  # not before the commit
        db.commit()
        assert heard == [frozenset({amy.id, bob.id})]

        notifications.mark_all_read(db, actor=amy)
        db.commit()
        assert heard[-1] == frozenset({amy.id})


def test_listeners_hear_nothing_of_a_rolled_back_notification(
    engine: Engine, heard: list[frozenset[int]]
) -> None:
    with Session(engine) as db:
        amy = make_user(db)
        heard.clear()
        notifications.notify(db, user_id=amy.id or 0, kind="nudge", text="Hi")
        db.rollback()
        db.commit()
        assert heard == []


def test_a_savepoint_inside_the_transaction_does_not_announce_early(
    engine: Engine, heard: list[frozenset[int]]
) -> None:
    with Session(engine) as db:
        amy = make_user(db)
        heard.clear()
        notifications.notify(db, user_id=amy.id or 0, kind="nudge", text="Hi")
        with db.begin_nested():
            db.add(Notification(user_id=amy.id or 0, kind="x", text="inner"))
        assert heard == []
        db.commit()
        assert heard == [frozenset({amy.id})]


def test_bells_are_pushed_to_members_with_a_tab_open_only(
    db: Session, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Publish tells thousands at once, nearly all away: only a member with a tab open now
    has a bell state to update, with their own count; the others' are read at next load."""
    import asyncio
    import contextlib
    import sys
    import types
    from collections.abc import AsyncIterator
    from types import SimpleNamespace

    from mentor_app import db as app_db
    from mentor_app.services import sessions
    from state import notifications as bell_states

    here, away = make_user(db, display_name="Here"), make_user(db, display_name="Away")
    sessions.create_session(db, user=here)  # a tab seen just now
    for user in (here, away):
        notifications.notify(db, user_id=user.id or 0, kind="nudge", text="Week 2")
    db.commit()
    monkeypatch.setattr(app_db, "get_engine", lambda: engine)
    bells: dict[str, SimpleNamespace] = {}

    class App:
        @contextlib.asynccontextmanager
        async def modify_state(self, token: object) -> AsyncIterator[object]:
            bell = bells.setdefault(token.ident, SimpleNamespace(unread=0))  # type: ignore[attr-defined]

            async def get_state(_cls: object) -> SimpleNamespace:
                return bell

            yield SimpleNamespace(get_state=get_state)

    # The app module itself is not imported here: it would register every job of the app
    # in this process (tests/unit/test_scheduler.py counts them).
    app_module = types.ModuleType("mentor_app.mentor_app")
    app_module.app = App()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "mentor_app.mentor_app", app_module)

    asyncio.run(bell_states.push_unread({here.id or 0, away.id or 0}))

    assert {token: bell.unread for token, bell in bells.items()} == {
        bell_states.bell_token(here.id or 0): 1
    }
