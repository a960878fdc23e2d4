"""The member list of a group reaches its members only, whatever paging or search event an
outsider's socket sends (over the websocket, no browser)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

import pytest
from sqlmodel import Session

from mentor_app.models import User
from mentor_app.services import groups
from state.groups import GroupPageState
from tests.adversarial.conftest import signed_in
from tests.factories import add_members, make_people
from tests.support.rxclient import FIELD_SUFFIX, ReflexClient, handler

PAGING = {
    "search": ("search_members", {"value": ""}),
    "next page": ("members_next", {}),
    "previous page": ("members_previous", {}),
}


@pytest.mark.parametrize("closed", [False, True], ids=["open group", "closed group"])
def test_an_outsider_pages_and_searches_no_member_list(
    connect: Callable[..., ReflexClient],
    app_db: Session,
    person: Callable[..., User],
    closed: bool,
) -> None:
    secret_name = f"Hidden Member {uuid.uuid4().hex[:8]}"
    admin, member, outsider = person("Gia Admin"), person(secret_name), person("Olly Outsider")
    group = groups.create_group(
        app_db, actor=admin, name=f"Quiet circle {uuid.uuid4().hex[:6]}", description="",
        category="parenting",
    )  # fmt: skip
    groups.join_group(app_db, actor=member, group_id=group.id or 0)
    if closed:
        group.is_open = False
        app_db.add(group)
    app_db.commit()

    # The name is there to leak: a member's tab reads it.
    insider = signed_in(connect, admin, f"/groups/{group.id}")
    insider.wait_for(lambda c: secret_name in json.dumps(c.updates), timeout=30)

    tab = signed_in(connect, outsider, f"/groups/{group.id}")
    for name, payload in PAGING.values():
        tab.call(handler(GroupPageState, name), payload)
    tab.call(handler(GroupPageState, "search_members"), {"value": secret_name[:10]})
    assert secret_name not in json.dumps(tab.updates)
    assert tab.var("group_page_state.members") in (None, [])
    assert tab.var("group_page_state.not_found") is closed


def test_a_member_pages_with_a_loading_note_meanwhile(
    connect: Callable[..., ReflexClient], app_db: Session, person: Callable[..., User]
) -> None:
    admin = person("Gia Admin")
    group = groups.create_group(
        app_db, actor=admin, name=f"Busy circle {uuid.uuid4().hex[:6]}", description="",
        category="parenting",
    )  # fmt: skip
    app_db.commit()
    add_members(app_db, group, make_people(app_db, 30, name="Person"))

    tab = signed_in(connect, admin, f"/groups/{group.id}")
    tab.wait_for(lambda c: len(c.var("group_page_state.members") or []) == 20, timeout=30)
    updates = tab.call(handler(GroupPageState, "members_next"))
    # The note shows first, then the next page comes with the note gone.
    loading = [
        values["members_loading" + FIELD_SUFFIX]
        for update in updates
        for values in update.get("delta", {}).values()
        if "members_loading" + FIELD_SUFFIX in values
    ]
    assert loading == [True, False]
    assert tab.var("group_page_state.members_info")["page"] == 1
    assert [m["display_name"] for m in tab.var("group_page_state.members")] == [
        f"Person {n}" for n in range(20, 31)
    ]
