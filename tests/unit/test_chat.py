"""The pair chat: who can read and send, idempotent sends, limits, reports and blocks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from mentor_app.models import Enrollment, Message, Notification, Pair, Report
from mentor_app.services import blocks, chat, pairing
from mentor_app.services.errors import Conflict, NotFound, Throttled, ValidationError
from tests.factories import PairSetup, add_member, make_application, make_pair, make_user
from tests.support.race import race


@pytest.fixture
def setup(db: Session) -> PairSetup:
    return make_pair(db)


def send(
    setup: PairSetup,
    db: Session,
    body: str,
    *,
    by: str = "mentee",
    cid: str | None = None,
    **kw: object,
) -> Message:
    actor = setup.mentee if by == "mentee" else setup.mentor
    return chat.send_message(
        db,
        actor=actor,
        pair_id=setup.pair.id or 0,
        body=body,
        client_id=cid,
        **kw,  # type: ignore[arg-type]
    )


# --- who --------------------------------------------------------------------------------------


def test_only_the_two_members_can_read_send_report_or_block(db: Session, setup: PairSetup) -> None:
    send(setup, db, "Hello Maya")
    stranger = make_user(db)
    add_member(db, setup.group, stranger)
    pid = setup.pair.id or 0
    actions: list[Callable[[object], object]] = [
        lambda u: chat.list_messages(db, actor=u, pair_id=pid),  # type: ignore[arg-type]
        lambda u: chat.send_message(db, actor=u, pair_id=pid, body="hi", client_id="abcdefgh1"),  # type: ignore[arg-type]
        lambda u: chat.report(db, actor=u, pair_id=pid, category="spam"),  # type: ignore[arg-type]
        lambda u: chat.block_partner(db, actor=u, pair_id=pid),  # type: ignore[arg-type]
    ]
    for outsider in (stranger, setup.admin):  # group admins never read chats
        for action in actions:
            with pytest.raises(NotFound, match="Pair not found"):
                action(outsider)
    assert len(db.exec(select(Message)).all()) == 1


# --- sending ---------------------------------------------------------------------------------


def test_a_message_is_stored_exactly_as_sent_and_read_back_oldest_first(
    db: Session, setup: PairSetup
) -> None:
    raw = "<img src=x onerror=alert(1)>\nSecond line\u202e"
    send(setup, db, "First")
    send(setup, db, raw, by="mentor")
    views, more = chat.list_messages(db, actor=setup.mentee, pair_id=setup.pair.id or 0)
    assert [(v.sender_name, v.sender_role, v.body) for v in views] == [
        ("Theo", "mentee", "First"),
        ("Maya", "mentor", raw),
    ]
    assert more is False


def test_display_strips_control_and_direction_characters_but_keeps_lines() -> None:
    assert chat.displayable("a\x00b\u202ec\u2066d\n\te\x7f") == "abcd\n\te"


def test_history_pages_fifty_at_a_time(db: Session, setup: PairSetup) -> None:
    base = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
    for i in range(120):  # spread out: the rate limit is not what this test is about
        send(setup, db, f"m{i}", now=base + dt.timedelta(minutes=i))
    pid = setup.pair.id or 0
    latest, more = chat.list_messages(db, actor=setup.mentor, pair_id=pid)
    assert [v.body for v in latest] == [f"m{i}" for i in range(70, 120)] and more
    page2, more2 = chat.list_messages(db, actor=setup.mentor, pair_id=pid, before_id=latest[0].id)
    assert [v.body for v in page2] == [f"m{i}" for i in range(20, 70)] and more2
    page3, more3 = chat.list_messages(db, actor=setup.mentor, pair_id=pid, before_id=page2[0].id)
    assert [v.body for v in page3] == [f"m{i}" for i in range(20)] and not more3


def test_newer_messages_page_forward_after_a_given_one(db: Session, setup: PairSetup) -> None:
    base = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
    for i in range(70):
        send(setup, db, f"m{i}", now=base + dt.timedelta(minutes=i))
    pid = setup.pair.id or 0
    oldest, _ = chat.list_messages(db, actor=setup.mentor, pair_id=pid, after_id=0, limit=10)
    assert [v.body for v in oldest] == [f"m{i}" for i in range(10)]
    newer, more = chat.list_messages(db, actor=setup.mentee, pair_id=pid, after_id=oldest[4].id)
    assert [v.body for v in newer] == [f"m{i}" for i in range(5, 55)] and more
    rest, more2 = chat.list_messages(db, actor=setup.mentee, pair_id=pid, after_id=newer[-1].id)
    assert [v.body for v in rest] == [f"m{i}" for i in range(55, 70)] and not more2


def test_a_retry_with_the_same_client_id_makes_one_message(db: Session, setup: PairSetup) -> None:
    first = send(setup, db, "Are we still on for Tuesday?", cid="c0ffee-0001")
    again = send(setup, db, "Are we still on for Tuesday?", cid="c0ffee-0001")
    assert again.id == first.id
    assert len(db.exec(select(Message)).all()) == 1


def test_the_same_send_racing_from_two_connections_makes_one_row(any_engine: Engine) -> None:
    with Session(any_engine, expire_on_commit=False) as db:
        setup = make_pair(db)

    def attempt(session: Session) -> object:
        return send(setup, session, "Sent twice by a flaky connection", cid="retry-123456")

    results = race(any_engine, attempt, attempt)

    assert not [r for r in results if isinstance(r, Exception)], results
    with Session(any_engine) as db:
        assert len(db.exec(select(Message)).all()) == 1


@pytest.mark.parametrize("body", ["", "   ", "\n\t \n"])
def test_an_empty_message_is_not_sent(db: Session, setup: PairSetup, body: str) -> None:
    with pytest.raises(ValidationError, match="Write a message first"):
        send(setup, db, body)


def test_a_message_over_4000_characters_is_refused_with_its_length(
    db: Session, setup: PairSetup
) -> None:
    send(setup, db, "x" * 4000)
    with pytest.raises(ValidationError, match="4,001"):
        send(setup, db, "x" * 4001)
    assert len(db.exec(select(Message)).all()) == 1


def test_sending_is_rate_limited_per_sender(db: Session, setup: PairSetup) -> None:
    start = dt.datetime(2026, 2, 1, 12, tzinfo=dt.UTC)
    for i in range(chat.RATE_MAX):
        send(setup, db, f"quick {i}", now=start + dt.timedelta(milliseconds=100 * i))
    with pytest.raises(Throttled, match="very quickly"):
        send(setup, db, "one too many", now=start + dt.timedelta(seconds=3))
    send(setup, db, "the partner is not limited", by="mentor", now=start + dt.timedelta(seconds=3))
    send(setup, db, "later is fine", now=start + dt.timedelta(seconds=12))


# --- reporting -------------------------------------------------------------------------------


def test_a_report_keeps_a_frozen_copy_of_the_ticked_messages(db: Session, setup: PairSetup) -> None:
    bad = send(setup, db, "Send me your bank details", by="mentor")
    send(setup, db, "Why?")
    filed = chat.report(
        db, actor=setup.mentee, pair_id=setup.pair.id or 0, category="spam",
        message_ids=[bad.id or 0], details="Asked for money.",
    )  # fmt: skip
    db.commit()
    # Later changes to the message do not alter the evidence.
    db.execute(text("UPDATE pair_message SET body = 'edited' WHERE id = :id"), {"id": bad.id})
    db.commit()
    stored = db.get(Report, filed.id)
    assert stored is not None
    db.refresh(stored)
    assert stored.reported_id == setup.mentor.id and stored.status == "open"
    assert [(e["sender_name"], e["body"]) for e in stored.evidence] == [
        ("Maya", "Send me your bank details")
    ]
    # The reported member is told nothing.
    told = db.exec(select(Notification.kind).where(Notification.user_id == setup.mentor.id)).all()
    assert told == ["paired"]  # from publishing, nothing since


def test_reporting_the_same_message_twice_counts_once(db: Session, setup: PairSetup) -> None:
    bad = send(setup, db, "Rude", by="mentor")
    worse = send(setup, db, "Ruder", by="mentor")
    pid = setup.pair.id or 0
    chat.report(
        db, actor=setup.mentee, pair_id=pid, category="harassment", message_ids=[bad.id or 0]
    )
    with pytest.raises(Conflict, match="already reported"):
        chat.report(
            db, actor=setup.mentee, pair_id=pid, category="harassment", message_ids=[bad.id or 0]
        )
    second = chat.report(
        db, actor=setup.mentee, pair_id=pid, category="harassment",
        message_ids=[bad.id or 0, worse.id or 0],
    )  # fmt: skip
    assert [e["body"] for e in second.evidence] == ["Ruder"]


def test_reports_are_rate_limited_per_reporter(db: Session, setup: PairSetup) -> None:
    pid = setup.pair.id or 0
    for i in range(chat.REPORTS_MAX):
        chat.report(db, actor=setup.mentee, pair_id=pid, category="other", details=f"Problem {i}")
    with pytest.raises(Throttled):
        chat.report(db, actor=setup.mentee, pair_id=pid, category="other", details="Again")


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"category": "annoying"}, "category"),
        ({"category": "other"}, "details"),
        ({"category": "spam", "details": "x" * 2001}, "details"),
    ],
)
def test_a_bad_report_is_refused_next_to_its_field(
    db: Session, setup: PairSetup, kw: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        chat.report(db, actor=setup.mentee, pair_id=setup.pair.id or 0, **kw)  # type: ignore[arg-type]
    assert refused.value.field == field
    assert db.exec(select(Report)).all() == []


def test_messages_of_another_chat_cannot_be_ticked(db: Session, setup: PairSetup) -> None:
    other = make_pair(db)
    foreign = chat.send_message(
        db, actor=other.mentee, pair_id=other.pair.id or 0, body="elsewhere", client_id="zzzzzzzz1"
    )
    with pytest.raises(ValidationError, match="this chat"):
        chat.report(
            db, actor=setup.mentee, pair_id=setup.pair.id or 0, category="spam",
            message_ids=[foreign.id or 0],
        )  # fmt: skip


# --- blocking --------------------------------------------------------------------------------


def test_a_block_stops_messages_both_ways_and_ends_the_pair(db: Session, setup: PairSetup) -> None:
    send(setup, db, "Before the block", by="mentor")
    chat.block_partner(db, actor=setup.mentee, pair_id=setup.pair.id or 0)
    db.commit()

    for by in ("mentee", "mentor"):
        with pytest.raises(Conflict, match="no longer send"):
            send(setup, db, "after", by=by)
    pair = db.get(Pair, setup.pair.id)
    assert pair is not None and (pair.status, pair.end_reason) == ("ended", "blocked")
    # History stays for the two members.
    views, _ = chat.list_messages(db, actor=setup.mentor, pair_id=setup.pair.id or 0)
    assert [v.body for v in views] == ["Before the block"]
    # The blocking mentee waits for a new match, first in line.
    enrollment = db.get(Enrollment, setup.mentee_enrollment.id)
    assert enrollment is not None and enrollment.rematch_priority is True


@pytest.mark.parametrize(
    ("blocker", "sender"),
    [("mentee", "mentor"), ("mentee", "mentee"), ("mentor", "mentee"), ("mentor", "mentor")],
)
def test_a_block_stops_messages_even_while_the_pair_is_still_active(
    db: Session, setup: PairSetup, blocker: str, sender: str
) -> None:
    # A block row with the pair left active (a block made outside the chat, or one that
    # raced the pair's publishing): the pair's status alone would let the message through.
    send(setup, db, "Before the block", by="mentor")
    me, partner = (
        (setup.mentee, setup.mentor) if blocker == "mentee" else (setup.mentor, setup.mentee)
    )
    blocks.block_member(db, actor=me, blocked_id=partner.id or 0)
    db.commit()
    pair = db.get(Pair, setup.pair.id)
    assert pair is not None and pair.status == "active"

    with pytest.raises(Conflict, match="no longer send"):
        send(setup, db, "Through the block?", by=sender, cid="through-block-1")

    assert not chat.can_send(db, pair)
    bodies = db.exec(select(Message.body).where(Message.pair_id == setup.pair.id)).all()
    assert bodies == ["Before the block"]


def test_two_people_with_a_block_are_never_paired_or_suggested_again(
    db: Session, setup: PairSetup
) -> None:
    chat.block_partner(db, actor=setup.mentor, pair_id=setup.pair.id or 0)
    program_id = setup.program.id or 0
    suggestions = pairing.suggest_mentors(
        db, actor=setup.admin, program_id=program_id,
        mentee_enrollment_id=setup.mentee_enrollment.id or 0,
    )  # fmt: skip
    assert setup.mentor_enrollment.id not in [s.mentor_enrollment_id for s in suggestions]
    with pytest.raises(Conflict, match="can't be paired"):
        pairing.pair_by_hand(
            db, actor=setup.admin, program_id=program_id,
            mentee_enrollment_id=setup.mentee_enrollment.id or 0,
            mentor_enrollment_id=setup.mentor_enrollment.id or 0,
        )  # fmt: skip
    # Nor in another program of the group.
    from tests.factories import make_program

    other = make_program(db, admin=setup.admin, group=setup.group)
    mentor = make_application(db, program=other, user=setup.mentor, role="mentor")
    mentee = make_application(db, program=other, user=setup.mentee, role="mentee")
    with pytest.raises(Conflict, match="can't be paired"):
        pairing.pair_by_hand(
            db, actor=setup.admin, program_id=other.id or 0,
            mentee_enrollment_id=mentee.id or 0, mentor_enrollment_id=mentor.id or 0,
        )  # fmt: skip


def test_blocks_are_listed_and_lifting_one_does_not_restore_the_pair(
    db: Session, setup: PairSetup
) -> None:
    chat.block_partner(db, actor=setup.mentee, pair_id=setup.pair.id or 0)
    assert [b.name for b in chat.list_my_blocks(db, actor=setup.mentee)] == ["Maya"]
    assert chat.list_my_blocks(db, actor=setup.mentor) == []
    with pytest.raises(NotFound):
        chat.lift_block(db, actor=setup.mentor, blocked_id=setup.mentee.id or 0)

    chat.lift_block(db, actor=setup.mentee, blocked_id=setup.mentor.id or 0)

    assert chat.list_my_blocks(db, actor=setup.mentee) == []
    assert db.get(Pair, setup.pair.id).status == "ended"  # type: ignore[union-attr]
    with pytest.raises(Conflict, match="no longer send"):
        send(setup, db, "hello again")
