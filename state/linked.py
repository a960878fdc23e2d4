"""What every shared state of the app has in common.

Each `rx.SharedState` subclass sets `_internal_patch_linked_state = patch_in_fresh` and
`_clean = clean_and_send`, and writes with `assign_changed`: every field assigned travels
to every linked tab.

How a change reaches the other tabs. Reflex 0.10.1 relays a shared state's change by
opening every other linked tab's own state (lock it, load its tree, link the shared state
in, resolve the delta, save both, unlock) after the event has let go of its locks, in a
task per tab. None of that is needed here: no computed var reads a shared state, so the
other tabs' delta is the changed fields of the shared state alone, the same for every
tab. `clean_and_send` notes them as the event's answers are resolved, and sends them to
the other linked tabs as the event lets go of the shared state, while it still holds its
lock: two events changing one shared state reach every tab in the order they changed it
(a later message never arrives before an earlier one's list), and no tab's own lock is
waited for (a member's own send no longer holds up their partner's message to them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from reflex.istate.shared import SharedStateBaseInternal
from reflex.state import StateUpdate, _override_base_method
from reflex_base.constants.state import FIELD_MARKER
from reflex_base.registry import RegistrationContext

logger = logging.getLogger(__name__)


@dataclass
class _Changes:
    """One shared state's changes in one event, to be sent to its other tabs."""

    state: Any
    own_tab: str
    fields: set[str] = field(default_factory=set)
    touched: bool = False


# The changes noted in each event, by the exit stack that holds its shared states' locks.
_noted: weakref.WeakKeyDictionary[contextlib.AsyncExitStack, dict[str, _Changes]] = (
    weakref.WeakKeyDictionary()
)


async def patch_in_fresh(self: Any, token: str, full_delta: bool = False) -> Any:
    """Link in a shared copy with no memory of an earlier event's changes.

    Reflex relays a shared state to the other linked tabs when, at the end of an event,
    its "changes of this event" are not None or it is "touched" (changed since loaded). A
    shared state's changes are an empty set, never None, and in memory a state once changed
    stays touched, so every event would re-send every shared state of the page. Here each
    event starts with no changes (None) and untouched unless linking itself changed the
    copy (a new tab in `_linked_from`, which must be saved).
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
def clean_and_send(self: Any) -> None:
    """`_clean` for a shared state: note the fields this answer of the event changed and
    have them sent to the other linked tabs as the event lets go of the state.

    Fields whose names start with an underscore stay on the server and are not sent. The
    state's "touched" mark is held back until then too, so that Reflex finds nothing to
    relay its own way; it is put back before the state is saved."""
    stack = self._linked_locks_holder()._exit_stack
    shown = {name for name in self.dirty_vars if not name.startswith("_")}
    if stack is not None and (shown or self._was_touched):
        noted = _noted.setdefault(stack, {})
        name = self.get_full_name()
        if (changes := noted.get(name)) is None or changes.state is not self:
            own_tab = self._get_root_state().rx_router_session.client_token
            changes = noted[name] = _Changes(self, own_tab)
            stack.push_async_exit(_make_sender(changes))
        changes.fields |= shown
        changes.touched = changes.touched or self._was_touched
        self._was_touched = False
    self._previous_dirty_vars = None  # Reflex's _clean would keep this answer's changes
    SharedStateBaseInternal._clean(self)


def _make_sender(changes: _Changes) -> Any:
    async def send(
        exc_type: type[BaseException] | None,
        _exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> bool:
        state = changes.state
        if changes.touched:
            state._was_touched = True  # saved as its lock is let go, right after this
        if exc_type is None and changes.fields:
            await send_to_tabs(
                {
                    state.get_full_name(): {
                        name + FIELD_MARKER: state.get_value(name) for name in changes.fields
                    }
                },
                set(state._linked_from) - {changes.own_tab},
            )
        return False  # an exception goes on

    return send


async def send_to_tabs(delta: dict[str, dict[str, Any]], tabs: set[str]) -> None:
    """Send one delta to these tabs, wherever their sockets are (through Redis to another
    instance); a tab with no socket any more is skipped. A failure is logged, as Reflex
    logs a failed relay: the change is saved and the tab gets it at its next load."""
    namespace = RegistrationContext.get().app.event_namespace
    if namespace is None or not tabs:
        return
    tokens = namespace._token_manager
    update = StateUpdate(delta=delta)

    async def one(tab: str) -> None:
        try:
            if await tokens.is_token_connected(tab):
                await namespace.emit_update(update, tab)
        except Exception:
            logger.warning("Could not send a shared change to tab %s", tab, exc_info=True)

    await asyncio.gather(*(one(tab) for tab in sorted(tabs)))


def assign_changed(state: Any, **values: Any) -> None:
    """Set the fields whose value differs; a field assigned its own value would still be
    sent to every tab linked to the state."""
    for name, value in values.items():
        if getattr(state, name) != value:
            setattr(state, name, value)
