"""Which shared states a relay to another tab links in (state/linked.py).

An event notes the shared states it changed; the tasks Reflex starts from it to relay the
changes skip, for the tabs they relay to, the shared states the event left alone. Nothing
else is skipped: not the event's own task, not a tab the change does not go to, not a task
that did not come from the event.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from types import SimpleNamespace

from state.linked import _note_changed, _relay_skips
from tests.support.loops import run_in_own_loop


@dataclass
class FakeShared:
    """What the two helpers read of a shared state patched into a tab's tree."""

    name: str
    tab: str
    _linked_from: set[str] = field(default_factory=set)

    def get_full_name(self) -> str:
        return self.name

    @property
    def rx_router_session(self) -> SimpleNamespace:
        return SimpleNamespace(client_token=self.tab)

    def _get_root_state(self) -> FakeShared:
        return self


CHAT, LIVE, BELL = "state.pair_chat_state", "state.pair_live_state", "state.bell_state"
TABS = ("mentor-tab", "mentee-tab")


def test_a_relay_links_in_only_what_the_event_changed_for_the_tabs_it_goes_to() -> None:
    async def event() -> dict[str, bool]:
        # The mentor's tab changes the chat, linked from both members' tabs.
        _note_changed(FakeShared(CHAT, "mentor-tab", {"mentor-tab", "mentee-tab"}))
        # In the event's own task nothing is skipped, even for the partner's tab (a handler
        # may change another tab's state directly, and then every state must be there).
        own_task = [_relay_skips(FakeShared(n, tab)) for n in (CHAT, LIVE) for tab in TABS]

        async def relay(tab: str) -> dict[str, bool]:
            return {n: _relay_skips(FakeShared(n, tab)) for n in (CHAT, LIVE, BELL)}

        to_mentee = await asyncio.create_task(relay("mentee-tab"))
        to_stranger = await asyncio.create_task(relay("stranger-tab"))
        return {
            "own task skips nothing": not any(own_task),
            "mentee: chat linked in": not to_mentee[CHAT],
            "mentee: journey and bell skipped": to_mentee[LIVE] and to_mentee[BELL],
            "a tab the change does not go to skips nothing": not any(to_stranger.values()),
        }

    assert run_in_own_loop(event()) == {
        "own task skips nothing": True,
        "mentee: chat linked in": True,
        "mentee: journey and bell skipped": True,
        "a tab the change does not go to skips nothing": True,
    }


def test_changes_add_up_within_an_event_and_do_not_leak_into_the_next() -> None:
    async def first_event() -> tuple[bool, bool]:
        _note_changed(FakeShared(LIVE, "mentor-tab", {"mentor-tab", "mentee-tab"}))
        _note_changed(FakeShared(CHAT, "mentor-tab", {"mentor-tab", "mentee-tab"}))

        async def relay() -> tuple[bool, bool]:
            return (
                _relay_skips(FakeShared(LIVE, "mentee-tab")),
                _relay_skips(FakeShared(CHAT, "mentee-tab")),
            )

        return await asyncio.create_task(relay())

    async def next_event() -> bool:  # its own task, as Reflex runs every event
        return _relay_skips(FakeShared(LIVE, "mentee-tab"))

    async def both() -> tuple[tuple[bool, bool], bool]:
        changed_both = await asyncio.create_task(first_event())
        return changed_both, await asyncio.create_task(next_event())

    (skips_live, skips_chat), later = run_in_own_loop(both())
    assert (skips_live, skips_chat) == (False, False)  # both changed: both linked in
    assert later is False  # nothing noted in another event's task


def test_the_own_tab_is_not_a_relay_target_of_its_own_change() -> None:
    """A task the event starts for its own tab (not a relay) links everything in."""

    async def event() -> bool:
        _note_changed(FakeShared(CHAT, "mentor-tab", {"mentor-tab", "mentee-tab"}))

        async def own_tab_task() -> bool:
            return _relay_skips(FakeShared(LIVE, "mentor-tab"))

        return await asyncio.create_task(own_tab_task())

    assert run_in_own_loop(event()) is False
