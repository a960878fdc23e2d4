"""A live message names its sender by their role in the pair it was written to, whatever
the sending tab showed last: a member can be mentor in one pair and mentee in another."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlmodel import Session

from mentor_app.models import User
from state.journey import PairChatFormState
from tests.adversarial.conftest import signed_in
from tests.adversarial.test_auth import _pair_page
from tests.adversarial.test_end_pair_live import another_pair
from tests.support.rxclient import ReflexClient, handler

SEND = handler(PairChatFormState, "send")


def _message(tab: ReflexClient, body: str) -> dict[str, Any] | None:
    return next((m for m in tab.var("pair_chat_state.messages", []) if m["body"] == body), None)


def test_a_message_sent_to_another_pair_than_the_page_shows_carries_the_role_in_that_pair(
    connect: Callable[..., ReflexClient], app_db: Session, person: Callable[..., User]
) -> None:
    pair_a, both, _mentee_a = _pair_page(app_db)  # `both` is pair A's mentor
    mentor_b = person("Mentor Of B", group="Grow Every Day")
    pair_b = another_pair(app_db, mentor=mentor_b, mentee=both)  # ... and pair B's mentee
    tab = signed_in(connect, both, f"/pairs/{pair_a}")
    assert tab.var("pair_page_state.pair")["my_role"] == "mentor"
    partner_b = signed_in(connect, mentor_b, f"/pairs/{pair_b}")

    # A crafted (or racing) event: pair B's route, no page load of it in this tab.
    tab.client.path = f"/pairs/{pair_b}"
    body = f"to-b-{uuid.uuid4().hex}"
    tab.call(SEND, {"form": {"body": body, "client_id": uuid.uuid4().hex}})

    partner_b.wait_for(lambda c: _message(c, body) is not None, timeout=10)
    shown = _message(partner_b, body)
    assert shown is not None and shown["role"] == "mentee"
