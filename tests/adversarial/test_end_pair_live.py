"""Ending a pair from the pairing workspace or the moderation queue, by someone who is also
a member of the pair and has its page open in the same browser: every open page of the pair
turns read-only, and no tab hangs.

Reflex keeps a tab's shared-state links across client-side navigation and locks them at
every event of the tab, so the workspace's (or the queue's) event holds the pair's locks
while it ends the pair. Each event here must be answered within a few seconds: a stuck one
fails the test instead of hanging it."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable

from sqlmodel import Session, select

from mentor_app.models import Group, Membership, Pair, User
from mentor_app.services import chat, enrollments, pairing, programs
from state.moderation import ModerationQueueState
from state.pairing import PairingWorkspaceState
from state.programs import ProgramPageState
from tests.adversarial.conftest import signed_in
from tests.adversarial.test_auth import _pair_page
from tests.factories import answers_for
from tests.support.rxclient import ReflexClient, handler

END = handler(PairingWorkspaceState, "end_pair")
ANSWERED_WITHIN_S = 10.0
ENDED_MESSAGE = "The pair has ended."


def _program_of(app_db: Session, pair_id: int) -> int:
    pair = app_db.get(Pair, pair_id)
    assert pair is not None
    app_db.commit()
    return pair.program_id


def _make_admin(app_db: Session, user: User) -> None:
    """`user` becomes an admin of the demo group their pair's program belongs to."""
    grow = app_db.exec(select(Group).where(Group.name == "Grow Every Day")).one()
    membership = app_db.exec(
        select(Membership).where(Membership.group_id == grow.id, Membership.user_id == user.id)
    ).one()
    membership.role = "admin"
    app_db.add(membership)
    app_db.commit()


def another_pair(app_db: Session, *, mentor: User, mentee: User) -> int:
    """A second active pair of two existing members of the demo group, in a new program of
    the group (a member may be mentor in one program and mentee in another)."""
    ada = app_db.exec(select(User).where(User.email == "ada.admin@example.org")).one()
    grow = app_db.exec(select(Group).where(Group.name == "Grow Every Day")).one()
    program = programs.start_program(
        app_db, actor=ada, group_id=grow.id or 0, template_key="skills_development"
    )
    programs.save_details(
        app_db, actor=ada, program_id=program.id or 0, title=f"Second {uuid.uuid4().hex[:6]}",
        description=program.description, start_date=dt.date.today().isoformat(),
        length_weeks=program.length_weeks, mentor_capacity_max=2,
    )  # fmt: skip
    programs.publish(app_db, actor=ada, program_id=program.id or 0)
    as_mentor = enrollments.apply(
        app_db, actor=mentor, program_id=program.id or 0, role="mentor",
        answers=answers_for(program, "mentor"), capacity=1,
    )  # fmt: skip
    as_mentee = enrollments.apply(
        app_db, actor=mentee, program_id=program.id or 0, role="mentee",
        answers=answers_for(program, "mentee"),
    )  # fmt: skip
    pair = pairing.pair_by_hand(
        app_db, actor=ada, program_id=program.id or 0,
        mentee_enrollment_id=as_mentee.id or 0, mentor_enrollment_id=as_mentor.id or 0,
    )  # fmt: skip
    pairing.publish_pairs(app_db, actor=ada, program_id=program.id or 0)
    app_db.commit()
    return pair.id or 0


def _answered(tab: ReflexClient) -> None:
    """Every event this tab sent is answered (a hung one raises TimeoutError)."""
    tab.barrier(timeout=ANSWERED_WITHIN_S)


def _read_only(tab: ReflexClient) -> bool:
    return (
        tab.var("pair_live_state.status") == "ended"
        and tab.var("pair_chat_state.can_send") is False
    )


def _pair_status(app_db: Session, pair_id: int) -> str:
    app_db.expire_all()
    pair = app_db.get(Pair, pair_id)
    assert pair is not None
    app_db.commit()
    return pair.status


def _end(tab: ReflexClient, pair_id: int) -> None:
    tab.emit(END, {"form": {"pair_id": str(pair_id), "reason": "no_longer_available"}})


def test_admin_member_ends_the_pair_from_the_workspace_in_the_tab_that_showed_the_pair(
    connect: Callable[..., ReflexClient], app_db: Session
) -> None:
    pair_id, mentor, mentee = _pair_page(app_db)
    _make_admin(app_db, mentor)
    page, workspace = f"/pairs/{pair_id}", f"/programs/{_program_of(app_db, pair_id)}/pairing"
    partner = signed_in(connect, mentee, page)
    tab = signed_in(connect, mentor, page)
    assert tab.var("pair_live_state.status") == "active"

    tab.navigate(workspace)  # client-side: the tab keeps its links to the pair
    _answered(tab)
    _end(tab, pair_id)
    _answered(tab)

    assert ENDED_MESSAGE in tab.var("pairing_workspace_state.message", "")
    assert pair_id in [p["id"] for p in tab.var("pairing_workspace_state.ended", [])]
    partner.wait_for(_read_only, timeout=ANSWERED_WITHIN_S)
    _answered(partner)
    tab.navigate(page)
    _answered(tab)
    assert _read_only(tab)
    assert _pair_status(app_db, pair_id) == "ended"


def test_admin_member_ends_the_pair_while_another_of_their_tabs_shows_it(
    connect: Callable[..., ReflexClient], app_db: Session
) -> None:
    pair_id, mentor, mentee = _pair_page(app_db)
    _make_admin(app_db, mentor)
    page, workspace = f"/pairs/{pair_id}", f"/programs/{_program_of(app_db, pair_id)}/pairing"
    partner = signed_in(connect, mentee, page)
    pair_tab = signed_in(connect, mentor, page)
    workspace_tab = signed_in(connect, mentor, workspace)

    _end(workspace_tab, pair_id)
    _answered(workspace_tab)

    assert ENDED_MESSAGE in workspace_tab.var("pairing_workspace_state.message", "")
    for member_tab in (pair_tab, partner):
        member_tab.wait_for(_read_only, timeout=ANSWERED_WITHIN_S)
        _answered(member_tab)
    assert _pair_status(app_db, pair_id) == "ended"


def test_moderator_member_suspends_their_partner_from_the_tab_that_showed_the_pair(
    connect: Callable[..., ReflexClient], app_db: Session, person: Callable[..., User]
) -> None:
    """A site moderator who is in a pair suspends their partner, reported by someone else
    (a moderator never acts on a report about themself): the suspension ends the pair."""
    pair_id, mentor, mentee = _pair_page(app_db)
    moderator = app_db.get(User, mentor.id)
    assert moderator is not None
    moderator.is_site_moderator = True
    app_db.add(moderator)
    app_db.commit()
    reporter = person("Other Mentor", group="Grow Every Day")
    elsewhere = another_pair(app_db, mentor=reporter, mentee=mentee)
    report = chat.report(app_db, actor=reporter, pair_id=elsewhere, category="spam", details="x")
    report_id = report.id
    app_db.commit()
    page = f"/pairs/{pair_id}"
    tab = signed_in(connect, mentor, page)
    assert tab.var("pair_live_state.status") == "active"

    tab.navigate("/moderation")  # client-side: the tab keeps its links to the pair
    tab.emit(handler(ModerationQueueState, "open_report"), {"report_id": report_id})
    tab.emit(handler(ModerationQueueState, "set_reason"), {"value": "spam, repeatedly"})
    tab.emit(handler(ModerationQueueState, "suspend"))
    _answered(tab)

    assert "suspended" in tab.var("moderation_queue_state.message", "")
    assert _pair_status(app_db, pair_id) == "ended"
    tab.wait_for(lambda c: c.var("pair_live_state.status") == "ended", timeout=ANSWERED_WITHIN_S)
    tab.navigate(page)
    _answered(tab)
    assert _read_only(tab)


def test_a_signed_out_socket_ending_a_pair_refreshes_no_page_of_it(
    connect: Callable[..., ReflexClient], app_db: Session
) -> None:
    """Check first, act second: the refusal comes before any of the pair's shared state is
    read or pushed. A message stored without a push shows whether anything was."""
    pair_id, mentor, mentee = _pair_page(app_db)
    page = f"/pairs/{pair_id}"
    member_tab = signed_in(connect, mentee, page)
    unpushed = f"unpushed-{uuid.uuid4().hex}"
    chat.send_message(app_db, actor=mentor, pair_id=pair_id, body=unpushed, client_id=None)
    app_db.commit()

    stranger = connect("/login")
    stranger.client.path = f"/programs/{_program_of(app_db, pair_id)}/pairing"
    _end(stranger, pair_id)
    _answered(stranger)
    assert stranger.redirects and stranger.redirects[-1].startswith("/login")
    _answered(member_tab)
    assert unpushed not in json.dumps(member_tab.updates)
    assert _pair_status(app_db, pair_id) == "active"

    # The control: the message was there to be pushed, as a page load of the pair shows.
    member_tab.navigate(page)
    assert unpushed in json.dumps(member_tab.updates)


def test_closing_the_program_turns_both_members_open_pair_pages_read_only(
    connect: Callable[..., ReflexClient], app_db: Session
) -> None:
    """The admin closes the program from its page while both members have the pair open:
    the closing ends the pair, and both pages turn read-only without a reload."""
    pair_id, mentor, mentee = _pair_page(app_db)
    program_id = _program_of(app_db, pair_id)
    ada = app_db.exec(select(User).where(User.email == "ada.admin@example.org")).one()
    programs.advance_status(app_db, actor=ada, program_id=program_id, expected_status="open")
    app_db.commit()
    page = f"/pairs/{pair_id}"
    members = [signed_in(connect, mentor, page), signed_in(connect, mentee, page)]
    for tab in members:
        assert tab.var("pair_live_state.status") == "active"
        assert tab.var("pair_chat_state.can_send") is True

    admin = signed_in(connect, ada, f"/programs/{program_id}")
    _answered(admin)
    assert admin.var("program_page_state.program", {}).get("status") == "active"
    admin.emit(handler(ProgramPageState, "advance"))
    _answered(admin)

    assert admin.var("program_page_state.message") == "Program status updated."
    assert _pair_status(app_db, pair_id) == "ended"
    for tab in members:
        tab.wait_for(_read_only, timeout=ANSWERED_WITHIN_S)
        _answered(tab)
