"""What every shared state of the app has in common.

Each `rx.SharedState` subclass sets `_internal_patch_linked_state = patch_in_fresh` and
`_clean = clean_and_remember`, and writes with `assign_changed`: every field assigned
travels to every linked tab.
"""

from __future__ import annotations

import asyncio
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from reflex.istate.shared import SharedStateBaseInternal
from reflex.state import _override_base_method


@dataclass(frozen=True)
class _Relay:
    """What an event's changes will be relayed with: the event's task, the shared states it
    changed (full names) and the other tabs linked to them."""

    task: asyncio.Task[Any] | None
    states: frozenset[str]
    tabs: frozenset[str]


# Set in the event's task; the tasks Reflex starts from it to relay its changes to the
# other tabs inherit it (a task copies its creator's context; each event has its own task).
_relay: ContextVar[_Relay | None] = ContextVar("mentor_shared_relay", default=None)


def _note_changed(state: Any) -> None:
    task = asyncio.current_task()
    own_tab = state._get_root_state().rx_router_session.client_token
    noted = _relay.get()
    if noted is None or noted.task is not task:
        noted = _Relay(task, frozenset(), frozenset())
    _relay.set(
        _Relay(
            task,
            noted.states | {state.get_full_name()},
            noted.tabs | (frozenset(state._linked_from) - {own_tab}),
        )
    )


def _relay_skips(state: Any) -> bool:
    """True while relaying another event's changes to this tab (a task started by that
    event, for a tab linked to what it changed) when this shared state was not among them:
    it is neither read nor changed, so it need not be locked, loaded and patched in."""
    noted = _relay.get()
    return (
        noted is not None
        and noted.task is not asyncio.current_task()
        and state.get_full_name() not in noted.states
        and state.rx_router_session.client_token in noted.tabs
    )


async def patch_in_fresh(self: Any, token: str, full_delta: bool = False) -> Any:
    """Link in a shared copy with no memory of an earlier event's changes.

    Reflex 0.10.1 relays a shared state to the other tabs linked to it after every event
    of a tab it is loaded in, unless its "changes of this event" are None and it is not
    "touched" (changed since it was loaded). A shared state's changes are an empty set,
    never None, and in memory a state once changed stays touched, so every event re-sent
    every shared state of the page to every partner tab: a chat message ran a full state
    round trip on the partner's tab for the journey and the bell as well, and before the
    changes were reset per event it carried the whole journey (5.6 kB instead of 2.6 kB).

    Here each event starts with no changes (None) and untouched unless linking itself
    changed the copy (a new tab in `_linked_from`, which must be saved); `clean_and_remember`
    records what the event changes. A shared state the event leaves alone is not relayed,
    and when a change is relayed to a tab, its other shared states are left unlinked for
    that round (a chat message no longer locks and loads the journey and the bell too).
    """
    if not full_delta and _relay_skips(self):
        return self
    root = self._get_root_state()
    root_changes = set(root.dirty_vars)
    linked = await SharedStateBaseInternal._internal_patch_linked_state(self, token, full_delta)
    if not full_delta:
        # Patching marks the router changed (so computed vars reading it are refreshed)
        # and leaves it marked: every answer of every event would carry the unchanged
        # router and route ids, and re-render everything on the page that reads them.
        root.dirty_vars = root_changes
    linked._previous_dirty_vars = None
    if not linked.dirty_vars:
        linked._was_touched = False
    return linked


@_override_base_method  # Reflex refuses a subclass's `_clean` otherwise
def clean_and_remember(self: Any) -> None:
    """`_clean` for a shared state: remember the fields this event changed (every answer
    of the event, when a handler yields), which Reflex relays to the other linked tabs.
    Fields whose names start with an underscore stay on the server and are not relayed."""
    shown = {name for name in self.dirty_vars if not name.startswith("_")}
    if shown:
        _note_changed(self)
        if self._previous_dirty_vars is None:
            self._previous_dirty_vars = set()
        self._previous_dirty_vars |= shown
    remembered = self._previous_dirty_vars
    self._previous_dirty_vars = None  # Reflex's _clean would replace it with this answer's
    try:
        SharedStateBaseInternal._clean(self)
    finally:
        self._previous_dirty_vars = remembered


def assign_changed(state: Any, **values: Any) -> None:
    """Set the fields whose value differs; a field assigned its own value would still be
    sent to every tab linked to the state."""
    for name, value in values.items():
        if getattr(state, name) != value:
            setattr(state, name, value)
