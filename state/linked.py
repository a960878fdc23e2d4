"""What every shared state of the app has in common.

Each `rx.SharedState` subclass sets `_internal_patch_linked_state = patch_in_fresh` and
`_clean = clean_and_send`, declares `_tab_sessions` and `link_token(access)`, and writes
with `assign_changed`: every field assigned travels to every linked tab.

Who may be linked. A tab joins a shared state's tabs only through `link`, which takes a
proof of access from `mentor_app.services.access` (the object a membership check returns),
and only for as long as the session that made the link lives: `patch_in_fresh` refuses the
link at the tab's next event once that session ended or another user signed in, and the
senders drop tabs whose session is no longer live before they send anything. Nothing else
in the app calls Reflex's `_link_to` (tests/adversarial/test_link_rule.py).

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
import contextvars
import logging
import weakref
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TypeVar

from reflex.istate.shared import SharedStateBaseInternal
from reflex.state import StateUpdate, _override_base_method
from reflex_base.constants.state import FIELD_MARKER
from reflex_base.registry import RegistrationContext

from mentor_app import web_auth
from mentor_app.db import single_select
from mentor_app.services import sessions
from mentor_app.services.access import MemberAccess, PairAccess
from state.off_loop import in_thread
from state.session import SessionState, SignedOut

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


class LinkRefused(SignedOut):
    """The tab's live session is not the proof's actor (signed out meanwhile, or another
    user signed in): nothing is linked, and the tab is sent to log in."""


# Set by `link` for the one `_link_to` it makes: a link made any other way is refused.
_linking: contextvars.ContextVar[str | None] = contextvars.ContextVar("linking", default=None)
# Each event's answer to "which live session is this tab's?", by the exit stack that holds
# the event's shared-state locks (asked once per event, however many links it patches).
_tab_session: weakref.WeakKeyDictionary[contextlib.AsyncExitStack, tuple[str, int] | None] = (
    weakref.WeakKeyDictionary()
)

S = TypeVar("S")


async def link(state: Any, shared_cls: type[S], access: PairAccess | MemberAccess) -> S:
    """Link this tab's copy of `shared_cls` to the token `access` proves the right to.

    The only way a tab joins a shared state's tabs. It takes the service's proof of access
    (an object a membership check returns, never an id), and checks that the tab's live
    session is the proof's actor. The link holds while that session does: at every later
    event of the tab, `patch_in_fresh` refuses the link once the tab's session has changed
    or ended (log-out, another user signing in, expiry, suspension, log out everywhere),
    and the senders drop such tabs from the shared state's tabs."""
    if not isinstance(access, (PairAccess, MemberAccess)):
        raise TypeError("link takes a proof of access from mentor_app.services.access")
    token = shared_cls.link_token(access)  # type: ignore[attr-defined]
    copy = await state.get_state(shared_cls)
    session = await _current_session(copy)
    if session is None or session[1] != access.actor_id:
        raise LinkRefused
    holder = await _session_holder(state)
    if holder._link_sessions.get(token) != session[0]:
        holder._link_sessions = {**holder._link_sessions, token: session[0]}
    linking = _linking.set(token)
    try:
        return await copy._link_to(token)  # type: ignore[no-any-return]
    finally:
        _linking.reset(linking)


async def _session_holder(state: Any) -> Any:
    """The tab's SessionState, which keeps the session each of its links was made with."""
    return await state._get_root_state().get_state(SessionState)


def _live_session(token: str | None) -> tuple[str, int] | None:
    with single_select() as db:  # waits for no writer
        return sessions.live_session(db, token=token)


async def _current_session(state: Any) -> tuple[str, int] | None:
    """(session key, user id) of the tab's live session, or None; once per event."""
    stack = state._linked_locks_holder()._exit_stack
    if stack is not None and stack in _tab_session:
        return _tab_session[stack]
    token = web_auth.token_for_socket(state._get_root_state().router.session.session_id)
    found = await in_thread(_live_session, token)
    if stack is not None:
        _tab_session[stack] = found
    return found


async def patch_in_fresh(self: Any, token: str, full_delta: bool = False) -> Any:
    """Link in a shared copy, if the tab may still hold it, with no memory of an earlier
    event's changes.

    Every event of a linked tab patches its links in again (Reflex keeps them on the tab's
    state): each time, the tab's live session must be the one that made the link through
    `link`. If not, the link is dropped at the end of the event and the tab keeps its own
    empty copy: a signed-out or re-used tab never sees the shared state again, and a
    reload (which sends the whole state) sends it nothing.

    Reflex relays a shared state to the other linked tabs when, at the end of an event,
    its "changes of this event" are not None or it is "touched" (changed since loaded). A
    shared state's changes are an empty set, never None, and in memory a state once changed
    stays touched, so every event would re-send every shared state of the page. Here each
    event starts with no changes (None) and untouched unless linking itself changed the
    copy (a new tab in `_linked_from` or its session, which must be saved).
    """
    if full_delta and _linking.get() != token:
        raise RuntimeError("A tab is linked through state.linked.link only.")
    session = await _current_session(self)
    holder = await _session_holder(self)
    if session is None or holder._link_sessions.get(token) != session[0]:
        _drop_link(self, token)
        return self
    root = self._get_root_state()
    root_changes = set(root.dirty_vars)
    linked = await SharedStateBaseInternal._internal_patch_linked_state(self, token, full_delta)
    # Patching marks the router changed (so computed vars reading it are refreshed) and
    # leaves it marked, linking too: every answer of every event, and the answer of each
    # link (the bell's on every signed-in page), would carry the unchanged router and
    # route ids, and re-render everything on the page that reads them.
    root.dirty_vars = root_changes
    tab = root.rx_router_session.client_token
    if linked._tab_sessions.get(tab) != session[0]:
        linked._tab_sessions = {**linked._tab_sessions, tab: session[0]}
    linked._previous_dirty_vars = None
    if not linked.dirty_vars:
        linked._was_touched = False
    return linked


def _drop_link(state: Any, token: str) -> None:
    """Forget the tab's link to `token` once the event is done (Reflex may be iterating
    over the links now), and the session it was made with."""
    root = state._get_root_state()
    name = state.get_full_name()

    async def drop() -> None:
        links = root._reflex_internal_links or {}
        if links.get(name) == token:
            root._reflex_internal_links = {k: v for k, v in links.items() if k != name}
        holder = await _session_holder(state)
        if token in holder._link_sessions:
            holder._link_sessions = {k: v for k, v in holder._link_sessions.items() if k != token}

    stack = state._linked_locks_holder()._exit_stack
    if stack is not None:
        stack.push_async_callback(drop)


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
            tabs = await _tabs_still_entitled(state) - {changes.own_tab}
            gone = await send_to_tabs(
                {
                    state.get_full_name(): {
                        name + FIELD_MARKER: state.get_value(name) for name in changes.fields
                    }
                },
                tabs,
            )
            if gone:
                _forget_tabs(state, gone)
        return False  # an exception goes on

    return send


def _live_keys(keys: set[str]) -> set[str]:
    with single_select() as db:
        return set(sessions.live_session_keys(db, keys=keys))


async def _tabs_still_entitled(state: Any) -> set[str]:
    """The linked tabs whose session, the one that made their link, is still live. The
    others (signed out, expired, suspended, logged out everywhere) are dropped from the
    state's tabs here, before anything is sent: they get nothing more."""
    linked_from = set(state._linked_from)
    by_tab: dict[str, str] = dict(state._tab_sessions)
    live = await in_thread(_live_keys, {by_tab[t] for t in linked_from if t in by_tab})
    entitled = {t for t in linked_from if by_tab.get(t) in live}
    _forget_tabs(state, (linked_from - entitled) | (set(by_tab) - linked_from))
    return entitled


def _forget_tabs(state: Any, tabs: set[str]) -> None:
    """Drop these tabs from the shared state's tabs (it is saved as the event lets go)."""
    if not tabs:
        return
    state._linked_from.difference_update(tabs)
    state._tab_sessions = {t: s for t, s in state._tab_sessions.items() if t not in tabs}
    state._was_touched = True


async def send_to_tabs(delta: dict[str, dict[str, Any]], tabs: set[str]) -> set[str]:
    """Send one delta to these tabs, wherever their sockets are (through Redis to another
    instance); a tab with no socket any more is skipped, and returned (its next page load
    links it again). A failure is logged, as Reflex logs a failed relay: the change is
    saved and the tab gets it at its next load."""
    namespace = RegistrationContext.get().app.event_namespace
    if namespace is None or not tabs:
        return set()
    tokens = namespace._token_manager
    update = StateUpdate(delta=delta)
    gone: set[str] = set()

    async def one(tab: str) -> None:
        try:
            if await tokens.is_token_connected(tab):
                await namespace.emit_update(update, tab)
            else:
                gone.add(tab)
        except Exception:
            logger.warning("Could not send a shared change to tab %s", tab, exc_info=True)

    await asyncio.gather(*(one(tab) for tab in sorted(tabs)))
    return gone


def note_read(state: Any) -> None:
    """This shared state now holds what the database says. Its `_read` flag (a server-side
    field each of our shared states declares) is False in a copy the server forgot
    (Reflex's token expiration) and made anew."""
    if not state._read:
        state._read = True


def keep_saved(*states: Any) -> bool:
    """A keep-alive's step for these shared states: False when one was forgotten and made
    anew (read it again); otherwise each is marked to be saved again, so that it is not
    forgotten while a tab shows it."""
    if not all(s._read for s in states):
        return False
    for s in states:
        s._was_touched = True
    return True


def assign_changed(state: Any, **values: Any) -> None:
    """Set the fields whose value differs; a field assigned its own value would still be
    sent to every tab linked to the state."""
    for name, value in values.items():
        if getattr(state, name) != value:
            setattr(state, name, value)
