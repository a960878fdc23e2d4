"""The embedded default's state files are purged now and then, not after every write.

On the embedded default (no Redis) Reflex's disk state manager keeps each tab's states in
files under `.states/`, one file per state of each tab, written a moment after they change.
After every round of writes it lists the whole folder and reads the age of every file, to
delete those idle for longer than the state expiry (an hour). Under steady traffic the
writes come many times a second, and the folder holds every tab of the last hour (tens of
files a tab): while 5 admins reloaded a 5,000-pair dashboard for 30 s
(bench/interference.py), that listing took a tenth of the worker's time, in a thread that
holds the interpreter the event loop needs.

`install()` lets the listing run at most once every `PURGE_EVERY_S` per state manager (the
first at start, as before); an idle file is deleted at most that much later than its
hour. The manager's own purge of the states it holds in memory is untouched.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from reflex.istate.manager.disk import StateManagerDisk

PURGE_EVERY_S = float(os.environ.get("MENTOR_STATE_FILES_PURGE_EVERY_S", "60"))
_LAST = "_mentor_files_purged_at"


def install() -> None:
    original: Callable[[Any], None] = StateManagerDisk._purge_expired_states
    if getattr(original, "now_and_then", False):
        return

    def purge_now_and_then(self: Any) -> None:
        now = time.monotonic()
        last = self.__dict__.get(_LAST)
        if last is not None and now - last < PURGE_EVERY_S:
            return
        self.__dict__[_LAST] = now
        original(self)

    purge_now_and_then.now_and_then = True  # type: ignore[attr-defined]
    StateManagerDisk._purge_expired_states = purge_now_and_then  # type: ignore[method-assign]
