"""What every shared state of the app has in common.

Each `rx.SharedState` subclass sets `_internal_patch_linked_state = patch_in_fresh`, and
writes with `assign_changed`: every field assigned travels to every linked tab.
"""

from __future__ import annotations

from typing import Any

from reflex.istate.shared import SharedStateBaseInternal


async def patch_in_fresh(self: Any, token: str, full_delta: bool = False) -> Any:
    """Link in a shared copy with no memory of an earlier event's changes.

    Reflex 0.10.1 relays a shared state's "changes of the last event" to the other linked
    tabs after every event of a tab it is loaded in, but records them only when that state
    changes, so a state changed once kept being re-sent: every chat message carried the
    whole journey to the partner (5.6 kB instead of 2.6 kB), every journey action the last
    50 messages. Starting each event from no changes sends only what it changed.
    """
    linked = await SharedStateBaseInternal._internal_patch_linked_state(self, token, full_delta)
    if linked._previous_dirty_vars is not None:
        linked._previous_dirty_vars.clear()
    return linked


def assign_changed(state: Any, **values: Any) -> None:
    """Set the fields whose value differs; a field assigned its own value would still be
    sent to every tab linked to the state."""
    for name, value in values.items():
        if getattr(state, name) != value:
            setattr(state, name, value)
