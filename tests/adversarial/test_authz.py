"""Authorization, driven over the websocket with crafted events (no browser, no UI): another
pair's chat and journey, another group's programs, admin and moderator handlers, Origin."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from mentor_app.models import (
    CheckIn,
    Group,
    Membership,
    Message,
    Pair,
    Program,
    Report,
    StepCompletion,
    User,
)
from mentor_app.services import chat, groups, journey, programs
from mentor_app.settings import load as load_settings
from state.dashboard import ProgramDashboardState
from state.groups import GroupPageState
from state.journey import PairChatFormState, PairPageState
from state.moderation import ModerationQueueState
from state.pairing import PairingWorkspaceState
from state.programs import ProgramPageState, WizardState
from tests.adversarial.conftest import server_log, signed_in
from tests.adversarial.test_auth import _pair_page
from tests.support.appserver import AppServer
from tests.support.rxclient import ConnectRefused, ReflexClient, handler

SECRET = "the-secret-only-two-people-know"
NOTE = "a-check-in-note-only-two-people-read"


def _count(app_db: Session, table: Any, **where: Any) -> int:
    # No expire_all: a refreshed object would open a transaction, and SQLite's are
    # IMMEDIATE, so the server would wait on this test's write lock.
    query = select(func.count()).select_from(table)
    for name, value in where.items():
        query = query.where(getattr(table, name) == value)
    found = int(app_db.exec(query).one())
    app_db.commit()  # never hold SQLite's (IMMEDIATE) transaction open
    return found


def _seen(tab: ReflexClient, text: str) -> bool:
    return text in json.dumps(tab.updates)


# --- another pair's chat and journey ------------------------------------------------------

CRAFTED = {
    "send a message": (
        handler(PairChatFormState, "send"),
        {"form": {"body": "hi", "client_id": "x"}},
    ),
    "load earlier messages": (handler(PairChatFormState, "load_earlier"), {}),
    "load newer messages": (handler(PairChatFormState, "load_newer"), {}),
    "mark a step": (handler(PairPageState, "mark_done"), {"week": 1}),
    "check in": (
        handler(PairPageState, "save_check_in"),
        {"form": {"mood": "4", "met": "yes", "note": "planted"}},
    ),
    "report": (
        handler(PairPageState, "send_report"),
        {"form": {"category": "spam", "details": "planted report"}},
    ),
}


@pytest.mark.parametrize("attempt", list(CRAFTED))
def test_outsider_cannot_read_or_act_in_another_pairs_chat_and_is_logged(
    connect: Callable[..., ReflexClient],
    app_db: Session,
    app_server: AppServer,
    attempt: str,
) -> None:
    pair_id, mentor, _mentee = _pair_page(app_db)
    chat.send_message(app_db, actor=mentor, pair_id=pair_id, body=SECRET, client_id=None)
    journey.save_check_in(app_db, actor=mentor, pair_id=pair_id, mood="4", met="yes", note=NOTE)
    app_db.commit()
    _other_pair, outsider, _ = _pair_page(app_db)  # a member of some other pair
    # A member has the page open: the pair's shared states hold the secrets to leak.
    member_tab = signed_in(connect, mentor, f"/pairs/{pair_id}")
    member_tab.drain()  # the page's load and what it queued (linking the chat) answered
    assert SECRET in [m["body"] for m in member_tab.var("pair_chat_state.messages", [])]
    assert NOTE in [c["note"] for c in member_tab.var("pair_live_state.check_ins", [])]
    before = {t: _count(app_db, t, pair_id=pair_id) for t in (Message, StepCompletion, CheckIn)} | {
        Report: _count(app_db, Report)
    }

    tab = signed_in(connect, outsider, f"/pairs/{pair_id}")  # the page itself: not found
    assert tab.var("pair_page_state.not_found") is True
    name, payload = CRAFTED[attempt]
    tab.call(name, payload)

    assert not _seen(tab, SECRET) and not _seen(tab, NOTE)
    assert tab.var("pair_chat_state.messages") in (None, [])
    assert tab.var("pair_live_state.check_ins") in (None, [])
    after = {t: _count(app_db, t, pair_id=pair_id) for t in (Message, StepCompletion, CheckIn)} | {
        Report: _count(app_db, Report)
    }
    assert after == before
    assert f"refused: user {outsider.id} " in server_log(app_server)
    assert f"on pair {pair_id}" in server_log(app_server)


def test_member_of_pair_sees_own_chat(
    connect: Callable[..., ReflexClient], app_db: Session
) -> None:
    """The control for the refusals above: the same events work for a member."""
    pair_id, mentor, mentee = _pair_page(app_db)
    chat.send_message(app_db, actor=mentor, pair_id=pair_id, body=SECRET, client_id=None)
    app_db.commit()
    tab = signed_in(connect, mentee, f"/pairs/{pair_id}")
    assert _seen(tab, SECRET)
    tab.call(handler(PairPageState, "mark_done"), {"week": 1})
    assert _count(app_db, StepCompletion, pair_id=pair_id) == 1


# --- another group's programs -------------------------------------------------------------


def _admin_of_own_group(app_db: Session, person: Callable[..., User]) -> tuple[User, Program]:
    admin = person("Other Admin")
    group = groups.create_group(
        app_db,
        actor=admin,
        name=f"Other circle {uuid.uuid4().hex[:6]}",
        description="",
        category="professional",
    )
    own = programs.start_program(
        app_db, actor=admin, group_id=group.id or 0, template_key="career_advancement"
    )
    app_db.commit()
    return admin, own


def test_admin_of_one_group_cannot_touch_another_groups_programs(
    connect: Callable[..., ReflexClient],
    app_db: Session,
    app_server: AppServer,
    person: Callable[..., User],
) -> None:
    pair_id, _mentor, _mentee = _pair_page(app_db)
    pair = app_db.get(Pair, pair_id)
    assert pair is not None
    program_id = pair.program_id
    ada = app_db.exec(select(User).where(User.email == "ada.admin@example.org")).one()
    grow = app_db.exec(select(Group).where(Group.name == "Grow Every Day")).one()
    draft = programs.start_program(
        app_db, actor=ada, group_id=grow.id or 0, template_key="skills_development"
    )
    draft_title = draft.title
    app_db.commit()
    intruder, own = _admin_of_own_group(app_db, person)

    workspace = signed_in(connect, intruder, f"/programs/{program_id}/pairing")
    assert workspace.var("pairing_workspace_state.denied")
    assert workspace.var("pairing_workspace_state.mentees") in (None, [])
    dashboard = signed_in(connect, intruder, f"/programs/{program_id}/dashboard")
    assert dashboard.var("program_dashboard_state.denied")
    dashboard.call(handler(ProgramDashboardState, "export_csv"))
    assert not [e for e in dashboard.frontend_events if "download" in e.get("name", "")]
    dashboard.call(
        handler(ProgramDashboardState, "set_paused"), {"pair_id": pair_id, "paused": True}
    )
    wizard = signed_in(connect, intruder, f"/programs/{draft.id}/wizard")
    wizard.call(
        handler(WizardState, "save_details"),
        {"form": {"title": "Hijacked", "description": "x", "start_date": "2030-01-01",
                  "length_weeks": "6", "mentor_capacity_max": "2"}},
    )  # fmt: skip
    page = signed_in(connect, intruder, f"/programs/{program_id}")
    page.call(handler(ProgramPageState, "advance"))
    # From their own workspace, aiming at the other group's pair by id.
    mine = signed_in(connect, intruder, f"/programs/{own.id}/pairing")
    mine.call(
        handler(PairingWorkspaceState, "end_pair"),
        {"form": {"pair_id": str(pair_id), "reason": "other", "detail": "hijack"}},
    )

    app_db.expire_all()
    pair = app_db.get(Pair, pair_id)
    program = app_db.get(Program, program_id)
    still_draft = app_db.get(Program, draft.id)
    assert pair is not None and program is not None and still_draft is not None
    assert (pair.status, pair.paused) == ("active", False)
    assert program.status == "open"
    assert still_draft.title == draft_title
    app_db.commit()
    log = server_log(app_server)
    assert f"refused: user {intruder.id} admin action on group {grow.id}" in log


def test_plain_member_cannot_call_admin_or_moderator_handlers(
    connect: Callable[..., ReflexClient],
    app_db: Session,
    app_server: AppServer,
    person: Callable[..., User],
) -> None:
    pair_id, mentor, mentee = _pair_page(app_db)
    report = chat.report(app_db, actor=mentee, pair_id=pair_id, category="spam", details="x")
    report_id, report_status = report.id, report.status
    grow = app_db.exec(select(Group).where(Group.name == "Grow Every Day")).one()
    app_db.commit()
    member = person("Plain Member", group="Grow Every Day")

    group_page = signed_in(connect, member, f"/groups/{grow.id}")
    group_page.call(handler(GroupPageState, "promote"), {"user_id": member.id})
    queue = signed_in(connect, member, "/moderation")
    assert not queue.var("moderation_queue_state.allowed")
    queue.call(handler(ModerationQueueState, "open_report"), {"report_id": report_id})
    assert not queue.var("moderation_queue_state.evidence")
    for step in ("take_into_review", "dismiss", "warn", "suspend"):
        queue.call(handler(ModerationQueueState, step))
    dashboard = signed_in(connect, member, f"/programs/{_program_of(app_db, pair_id)}/dashboard")
    dashboard.call(
        handler(ProgramDashboardState, "set_paused"), {"pair_id": pair_id, "paused": True}
    )

    app_db.expire_all()
    role = app_db.exec(
        select(Membership.role).where(
            Membership.group_id == grow.id, Membership.user_id == member.id
        )
    ).one()
    found = app_db.get(Report, report_id)
    suspect = app_db.get(User, mentor.id)
    pair = app_db.get(Pair, pair_id)
    assert role == "member"
    assert found is not None and found.status == report_status
    assert suspect is not None and suspect.status == "active"
    assert pair is not None and not pair.paused
    app_db.commit()
    log = server_log(app_server)
    assert f"refused: user {member.id} moderator action" in log
    assert f"refused: user {member.id} admin action on group {grow.id}" in log


def _program_of(app_db: Session, pair_id: int) -> int:
    pair = app_db.get(Pair, pair_id)
    assert pair is not None
    app_db.commit()
    return pair.program_id


# --- Origin -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "origin",
    ["http://evil.example", "null", "http://localhost.evil.example", "https://localhost"],
)
def test_websocket_from_a_foreign_origin_is_refused(app_server: AppServer, origin: str) -> None:
    tab = ReflexClient(app_server.url, origin=origin)
    try:
        with pytest.raises(ConnectRefused):
            tab.connect("/login")
    finally:
        tab.close()


def test_websocket_from_the_apps_own_origin_is_accepted(
    connect: Callable[..., ReflexClient], app_server: AppServer
) -> None:
    tab = connect("/login", origin=app_server.url)
    assert tab.connected and tab.state


def test_app_origin_is_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ORIGIN", "https://mentors.example.org/")
    assert load_settings().app_origin == "https://mentors.example.org"
    monkeypatch.delenv("APP_ORIGIN")
    monkeypatch.setenv("PORT", "8123")
    assert load_settings().app_origin == "http://localhost:8123"
