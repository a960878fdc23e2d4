"""When the right to a pair's chat ends, so does the link: a tab of a signed-out person gets
nothing more of the pair, live or on reload, however the session ended.

Each case first shows the secret live in the tab (the message before the session ended),
and a control tab that keeps its session receives the later message: so the tab that lost
its session had every chance to receive it too, and did not."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable

import pytest
from sqlmodel import Session, col, select

from mentor_app.models import User, UserSession, utcnow
from mentor_app.seed import DEMO_PASSWORD
from mentor_app.services import accounts, sessions
from state.journey import PairChatFormState, PairPageState
from tests.adversarial.conftest import signed_in
from tests.adversarial.test_auth import _pair_page
from tests.support.rxclient import ReflexClient, handler

SEND = handler(PairChatFormState, "send")
BARRIER = handler(PairPageState, "close_report")  # cheap; answers in order after others


def _seen(tab: ReflexClient, text: str) -> bool:
    return text in json.dumps(tab.updates)


def _send(tab: ReflexClient, body: str) -> None:
    tab.call(SEND, {"form": {"body": body, "client_id": uuid.uuid4().hex}})


def _end_session(how: str, tab: ReflexClient, user: User, app_db: Session) -> None:
    token = tab.session_cookie
    if how == "log out":
        assert tab.post_form("/auth/logout", {}).status_code == 303
        return
    if how == "log out everywhere":
        sessions.end_all_sessions(app_db, user_id=user.id or 0)
    elif how == "suspension":
        accounts.suspend_user(app_db, user_id=user.id or 0, actor_id=None)
    elif how == "expiry":
        row = app_db.exec(
            select(UserSession).where(col(UserSession.token_hash) == sessions._hash(token or ""))
        ).one()
        row.last_seen_at = utcnow() - sessions.IDLE_LIFETIME - dt.timedelta(minutes=1)
        app_db.add(row)
    app_db.commit()


@pytest.mark.parametrize("how", ["log out", "log out everywhere", "suspension", "expiry"])
def test_partner_message_reaches_no_tab_whose_session_ended(
    connect: Callable[..., ReflexClient], app_db: Session, how: str
) -> None:
    pair_id, mentor, mentee = _pair_page(app_db)
    page = f"/pairs/{pair_id}"
    before, after = f"before-{uuid.uuid4().hex}", f"after-{uuid.uuid4().hex}"
    mentor_tab = signed_in(connect, mentor, page)
    mentee_tab = signed_in(connect, mentee, page)
    _send(mentor_tab, before)
    mentee_tab.wait_for(lambda c: _seen(c, before))  # the secret was there to leak

    _end_session(how, mentee_tab, mentee, app_db)
    # The control: a tab of the mentor's on another device, still signed in.
    control = signed_in(connect, mentor, page)
    if how == "suspension":
        # Suspension ends the pair, so no message can pass: the change both members'
        # pages would show is the ending itself, which the control's page load pushes.
        mentor_tab.wait_for(lambda c: c.var("pair_live_state.status") == "ended")
        mentee_tab.call(BARRIER)
        assert mentee_tab.var("pair_live_state.status") == "active"
    else:
        _send(mentor_tab, after)
        control.wait_for(lambda c: _seen(c, after))
        mentee_tab.call(BARRIER)  # anything sent to it before this answer has arrived
        assert not _seen(mentee_tab, after)

    # A reload of the same tab (same tab token, the browser's cookie as it is now) sends
    # the whole state: none of the pair's chat is in it.
    first = len(mentee_tab.updates)
    mentee_tab.reconnect(page)
    reloaded = json.dumps(mentee_tab.updates[first:])
    assert before not in reloaded and after not in reloaded
    assert not mentee_tab.var("session_state.signed_in")


def test_signing_in_as_someone_else_in_the_same_tab_leaves_the_pair_behind(
    connect: Callable[..., ReflexClient], app_db: Session, person: Callable[..., User]
) -> None:
    pair_id, mentor, mentee = _pair_page(app_db)
    page = f"/pairs/{pair_id}"
    before, after = f"before-{uuid.uuid4().hex}", f"after-{uuid.uuid4().hex}"
    mentor_tab = signed_in(connect, mentor, page)
    shared_desk = signed_in(connect, mentee, page)
    _send(mentor_tab, before)
    shared_desk.wait_for(lambda c: _seen(c, before))

    # The mentee logs out and a friend logs in, in the same tab.
    assert shared_desk.post_form("/auth/logout", {}).status_code == 303
    friend = person("Friend At The Desk")
    first = len(shared_desk.updates)
    assert shared_desk.log_in(friend.email, DEMO_PASSWORD)  # reloads the tab
    shared_desk.navigate("/groups")
    control = signed_in(connect, mentee, page)
    _send(mentor_tab, after)
    control.wait_for(lambda c: _seen(c, after))
    shared_desk.call(BARRIER)
    seen_by_friend = json.dumps(shared_desk.updates[first:])
    assert before not in seen_by_friend and after not in seen_by_friend
    assert shared_desk.var("session_state.display_name") == "Friend At The Desk"


def test_the_same_member_in_a_new_session_gets_the_chat_again(
    connect: Callable[..., ReflexClient], app_db: Session
) -> None:
    """The control for the cases above: the link is refused for the session, not for the
    person; logging in again and opening the page links the tab anew."""
    pair_id, mentor, mentee = _pair_page(app_db)
    page = f"/pairs/{pair_id}"
    mentor_tab = signed_in(connect, mentor, page)
    tab = signed_in(connect, mentee, page)
    assert tab.post_form("/auth/logout", {}).status_code == 303
    assert tab.log_in(mentee.email, DEMO_PASSWORD)
    tab.navigate(page)
    again = f"again-{uuid.uuid4().hex}"
    _send(mentor_tab, again)
    tab.wait_for(lambda c: _seen(c, again))
