"""Long CPU-bound work runs in a process of its own, not in a thread of the worker.

A thread shares the worker's interpreter, and its lock (the GIL), with the event loop:
while the nudge job planned 100,000 pairs in the scheduler's thread, the loop waited for
the interpreter at every step of every event, and a chat send on the worker took 312 ms at
p95 instead of 13 (bench/interference.py). `run_apart(fn, *args)` runs `fn(*args,
should_continue=...)` in a helper process and returns what it returns.

The helpers are a small pool (`HELPERS` processes) per worker, started on first use from
multiprocessing's fork server: a clean process started once with the app's modules loaded,
so a helper inherits no thread, lock or database connection of the worker, and stays up
for the next piece of work (no start-up per call). `fn` is a module-level function; it
opens its own connections (from a URL it is given) and returns something picklable.

Helpers run at a lower CPU priority than the worker (`HELPER_NICENESS`), and their SQLite
writers let the worker's go first (`db.run_in_background`).

`stopping` (a threading.Event of the caller) is passed on: the work's `should_continue()`
turns False once it is set (one stop flag for the pool: only the scheduler's job, one at
a time, asks it). Work that fails, or a helper that dies, raises ApartFailed here; a dead
helper's pool is replaced for the next call.
"""

from __future__ import annotations

import concurrent.futures
import logging
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from mentor_app import db

logger = logging.getLogger(__name__)

T = TypeVar("T")
PRELOAD = [
    "mentor_app.apart",
    "mentor_app.services.nudges",
    "mentor_app.services.dashboard",
    "mentor_app.services.pairing",
]
HELPERS = 2  # the nudge job and a dashboard at the same moment
# The helpers run at a lower CPU priority than the worker (nice +10): on a machine whose
# cores are all busy, the worker's event loop (every member's chat) goes first, and the
# helpers take what is left. Their work is the kind that can take a moment longer.
HELPER_NICENESS = 10
POLL_S = 0.1


class ApartFailed(RuntimeError):
    """The work raised in its process, or the process died before it answered."""


_lock = threading.Lock()
_pool: concurrent.futures.ProcessPoolExecutor | None = None
_stop: Any = None  # the pool's stop flag, a multiprocessing Event its helpers inherit
_helper_stop: Any = None  # in a helper: the same flag


def _start_helper(stop: Any) -> None:
    global _helper_stop
    _helper_stop = stop
    os.nice(HELPER_NICENESS)
    db.run_in_background()  # its SQLite writers let the worker's go first


def _call(fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    """In the helper."""
    stop = _helper_stop
    try:
        return fn(*args, should_continue=lambda: stop is None or not stop.is_set())
    except BaseException as error:
        logger.exception("%s failed in its own process", getattr(fn, "__name__", fn))
        raise ApartFailed(f"{type(error).__name__}: {error}") from None


def _the_pool() -> tuple[concurrent.futures.ProcessPoolExecutor, Any]:
    global _pool, _stop
    with _lock:
        if _pool is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(PRELOAD)
            _stop = context.Event()
            _pool = concurrent.futures.ProcessPoolExecutor(
                HELPERS, mp_context=context, initializer=_start_helper, initargs=(_stop,)
            )
        return _pool, _stop


def _drop_pool(broken: concurrent.futures.ProcessPoolExecutor) -> None:
    global _pool
    with _lock:
        if _pool is broken:
            _pool = None
    broken.shutdown(wait=False, cancel_futures=True)


def run_apart(fn: Callable[..., T], *args: Any, stopping: threading.Event | None = None) -> T:
    """`fn(*args, should_continue=...)` in a helper process; blocks the calling thread (not
    the interpreter) until it answers."""
    pool, stop = _the_pool()
    name = getattr(fn, "__name__", "work")
    try:
        future = pool.submit(_call, fn, args)
    except BrokenProcessPool:
        _drop_pool(pool)
        pool, stop = _the_pool()
        future = pool.submit(_call, fn, args)
    if stopping is not None:
        stop.clear()
    try:
        while True:
            try:
                return future.result(timeout=POLL_S)  # type: ignore[no-any-return]
            except concurrent.futures.TimeoutError:
                if stopping is not None and stopping.is_set():
                    stop.set()
    except BrokenProcessPool:
        _drop_pool(pool)
        raise ApartFailed(f"{name}: its helper process died") from None


def run_here(fn: Callable[..., T], *args: Any, stopping: threading.Event | None = None) -> T:
    """`run_apart`'s contract in the calling thread: for a test that changes the work's
    code in this process (a crash injected half-way) and so cannot run it in another."""
    return fn(*args, should_continue=lambda: stopping is None or not stopping.is_set())
