"""Settings → security over the websocket: no password travels back to a tab, the other
tabs of the account are signed out at their next event, and a tab without a live session
changes nothing."""

from __future__ import annotations

import json
from collections.abc import Callable

from sqlmodel import Session

from mentor_app.models import User
from mentor_app.seed import DEMO_PASSWORD
from state.settings import SettingsState
from tests.adversarial.conftest import signed_in
from tests.support.rxclient import ReflexClient, handler

CHANGE = handler(SettingsState, "change_password")
EVERYWHERE = handler(SettingsState, "log_out_everywhere")
NEW_PASSWORD = "canary-new-password-" + "q" * 8


def _hash_of(app_db: Session, user: User) -> str:
    app_db.expire_all()
    found = app_db.get(User, user.id)
    assert found is not None
    app_db.commit()  # SQLite begins every transaction IMMEDIATE: never hold one open
    return found.password_hash


def test_a_password_change_sends_no_password_back_and_signs_out_the_other_tab(
    connect: Callable[..., ReflexClient], person: Callable[..., User]
) -> None:
    user = person()
    tab = signed_in(connect, user, "/settings")
    other = signed_in(connect, user, "/groups")

    answers = tab.call(
        CHANGE,
        {
            "form": {
                "current_password": DEMO_PASSWORD,
                "new_password": NEW_PASSWORD,
                "confirm_password": NEW_PASSWORD,
            }
        },
        until=lambda c: bool(c.var("settings_state.password_message")),
    )
    sent = json.dumps(answers)
    assert answers and DEMO_PASSWORD not in sent and NEW_PASSWORD not in sent
    assert DEMO_PASSWORD not in json.dumps(tab.state) and NEW_PASSWORD not in json.dumps(tab.state)

    other.navigate("/settings")
    assert other.redirects and other.redirects[-1].startswith("/login"), other.redirects
    assert not other.var("session_state.signed_in")
    tab.navigate("/groups")
    assert tab.var("session_state.signed_in")


def test_a_tab_without_a_live_session_changes_no_password(
    connect: Callable[..., ReflexClient], person: Callable[..., User], app_db: Session
) -> None:
    user = person()
    before = _hash_of(app_db, user)
    tab = connect("/settings")
    tab.redirects.clear()  # the page load's own redirect; this is about the event's
    tab.call(
        CHANGE,
        {
            "form": {
                "current_password": DEMO_PASSWORD,
                "new_password": NEW_PASSWORD,
                "confirm_password": NEW_PASSWORD,
            }
        },
    )
    assert tab.redirects and tab.redirects[-1].startswith("/login"), tab.redirects
    assert _hash_of(app_db, user) == before


def test_log_out_everywhere_over_the_socket_ends_every_tab_of_the_account(
    connect: Callable[..., ReflexClient], person: Callable[..., User]
) -> None:
    user, bystander = person(), person("Bo Bystander")
    tabs = [signed_in(connect, user, "/settings") for _ in range(2)]
    theirs = signed_in(connect, bystander, "/groups")

    tabs[0].call(EVERYWHERE)
    assert tabs[0].redirects[-1].startswith("/login"), tabs[0].redirects
    for tab in tabs:
        tab.navigate("/settings")
        assert tab.redirects[-1].startswith("/login"), tab.redirects
        assert not tab.var("session_state.signed_in")
    theirs.navigate("/settings")
    assert theirs.var("session_state.signed_in")
