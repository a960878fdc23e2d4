"""A watchdog for the worker's event loop: every socket of the worker waits while a handler
blocks the loop, so a block is logged with where the loop was stuck.

A thread asks the loop to answer every `POLL_S`; when the loop has not answered within
`BLOCKED_S`, the loop thread's stack is logged ("Event loop blocked"), and when it answers
again, how long it was blocked in all. Started from the app's lifespan, once per worker.
Set MENTOR_LOOP_WATCH=off to start none.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
import time
import traceback
from collections.abc import AsyncIterator

from mentor_app.settings import switched_on

logger = logging.getLogger(__name__)

POLL_S = 0.25
BLOCKED_S = 1.0


class LoopWatch:
    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        loop_thread: int,
        *,
        poll_s: float = POLL_S,
        blocked_s: float = BLOCKED_S,
    ) -> None:
        self.loop = loop
        self.loop_thread = loop_thread
        self.poll_s = poll_s
        self.blocked_s = blocked_s
        self.blocks: list[float] = []  # how long each block lasted, seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="loop-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _stack(self) -> str:
        frame = sys._current_frames().get(self.loop_thread)
        return "".join(traceback.format_stack(frame)) if frame is not None else "(no stack)"

    def _run(self) -> None:
        while not self._stop.wait(self.poll_s):
            answered = threading.Event()
            asked = time.monotonic()
            try:
                self.loop.call_soon_threadsafe(answered.set)
            except RuntimeError:  # the loop is closed: the worker is stopping
                return
            if answered.wait(self.blocked_s):
                continue
            logger.warning(
                "Event loop blocked for over %.1f s; the loop thread is at:\n%s",
                self.blocked_s,
                self._stack(),
            )
            while not answered.wait(self.poll_s):
                if self._stop.is_set():
                    return
            took = time.monotonic() - asked
            self.blocks.append(took)
            logger.warning("Event loop was blocked for %.1f s", took)


def loop_watch_enabled(env: dict[str, str] | None = None) -> bool:
    return switched_on("MENTOR_LOOP_WATCH", env)


@contextlib.asynccontextmanager
async def loop_watch_lifespan() -> AsyncIterator[LoopWatch | None]:
    """The app's lifespan task: watch this worker's loop while it serves."""
    if not loop_watch_enabled():
        yield None
        return
    watch = LoopWatch(asyncio.get_running_loop(), threading.get_ident())
    watch.start()
    try:
        yield watch
    finally:
        await asyncio.to_thread(watch.stop)
