"""A chat send's write is announced to the helper processes the moment its event arrives.

On the embedded default (SQLite) a helper process writing the nudge job or a Publish holds
the writers' turn for parts of its job, one after another, and makes way for a writer of
the worker only once that writer asks for the turn: the send then waited for the rest of
the part and its commit (1.7 to 2.8 ms at p50, 5 to 9 ms at p95, in bench.interference's nudge
phase). Between the event's arrival on the socket and the handler's first statement,
Reflex takes about 3 ms (the tab's lock, its state, the hop to a handler thread): time
enough for the helper to finish its part, if it knows.

`install()` wraps Reflex's `EventNamespace.on_event` once: an event whose name was given to
`announce_on_arrival` announces a write (`mentor_app.db.announce_write`) for
ANNOUNCED_FOR_S, after which the handler's own announcement (`writing_soon`) and its
write's wait for the turn keep the helpers back. Never waits: a non-blocking file lock on
the loop. Nothing happens on PostgreSQL, where writers do not wait for each other.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any

from reflex.app import EventNamespace

from mentor_app.db import announce_write

logger = logging.getLogger(__name__)

# From the event's arrival until the handler has announced its own write: 3 ms at p50 on
# an idle worker, tens under load; past it, a helper may take one more part, as before.
ANNOUNCED_FOR_S = 0.05

_NAMES: set[str] = set()


def announce_on_arrival(event_name: str) -> None:
    """Events named `event_name` (a state's full name, a dot, the handler's) announce their
    write as they arrive."""
    _NAMES.add(event_name)


def announces(data: Any) -> bool:
    return isinstance(data, dict) and data.get("name") in _NAMES


def _announce() -> None:
    try:
        done = announce_write()
    except OSError:  # the mark's file: the write will wait as it would have
        logger.warning("could not announce a write", exc_info=True)
        return
    if done is not None:
        asyncio.get_running_loop().call_later(ANNOUNCED_FOR_S, done)


def install() -> None:
    """Wrap Reflex's `on_event` once (idempotent)."""
    original = EventNamespace.on_event
    if getattr(original, "_mentor_write_ahead", False):
        return

    @functools.wraps(original)
    async def on_event(self: EventNamespace, sid: str, data: Any) -> None:
        if announces(data):
            _announce()
        await original(self, sid, data)

    on_event._mentor_write_ahead = True  # type: ignore[attr-defined]
    EventNamespace.on_event = on_event  # type: ignore[method-assign]
