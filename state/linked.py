"""What every shared state of the app has in common.

Each `rx.SharedState` subclass sets `_internal_patch_linked_state = patch_in_fresh` and
`_clean = clean_and_remember`, and writes with `assign_changed`: every field assigned
travels to every linked tab.
"""

from __future__ import annotations

from typing import Any

from reflex.istate.shared import SharedStateBaseInternal
from reflex.state import _override_base_method


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
    records what the event changes. A shared state the event leaves alone is not relayed.
    """
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
