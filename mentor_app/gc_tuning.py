"""The worker's objects from its start-up leave the cyclic garbage collector's scans.

A full collection (generation 2) stops the whole interpreter, the event loop with it, while
it walks every object that can hold a reference. On a worker under load (bench/interference,
5 admins reloading a 5,000-pair dashboard, Suggest all and Publish), those walks took 80 to
190 ms each, eight times in a run, over 150,000 to 300,000 objects; a chat message that met
one waited that long. Most of those objects are the modules, Reflex's compiled pages and
states, and SQLAlchemy's mappings, made at start-up and alive until the worker stops.
`gc.freeze()` once the worker has started moves them to a permanent generation that no
collection walks; what is made later is collected as before.
"""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import AsyncIterator

from mentor_app.settings import switched_on

logger = logging.getLogger(__name__)


def gc_freeze_enabled(env: dict[str, str] | None = None) -> bool:
    return switched_on("MENTOR_GC_FREEZE", env)


def freeze_what_start_up_made() -> int:
    """Collects once, then freezes every object still alive; returns how many were frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


@contextlib.asynccontextmanager
async def gc_freeze_lifespan() -> AsyncIterator[int]:
    """The app's lifespan task: freeze the start-up's objects once the worker serves."""
    frozen = freeze_what_start_up_made() if gc_freeze_enabled() else 0
    if frozen:
        logger.info("%s objects from start-up frozen out of the collector's scans", frozen)
    yield frozen
