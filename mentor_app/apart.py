"""Long CPU-bound work runs in a process of its own, not in a thread of the worker.

A thread shares the worker's interpreter, and its lock (the GIL), with the event loop:
while the nudge job planned 100,000 pairs in the scheduler's thread, the loop waited for
the interpreter at every step of every event, and a chat send on the worker took 312 ms at
p95 instead of 13 (bench/interference.py). `run_apart(fn, *args)` runs `fn(*args,
should_continue=...)` in a helper process and returns what it returns.

The helpers are a small pool (`HELPERS` processes) per worker, started once the worker
serves (`helpers_lifespan`; else on first use) from multiprocessing's fork server: a clean
process started once with the app's modules loaded,
so a helper inherits no thread, lock or database connection of the worker, and stays up
for the next piece of work (no start-up per call). `fn` is a module-level function; it
opens its own connections (from a URL it is given) and returns something picklable.

Helpers, and the fork server from its first import on (`mentor_app.apart_server`), run at
a lower CPU priority than the worker (`HELPER_NICENESS`), and their SQLite
writers let the worker's go first (`db.run_in_background`).

`stopping` (a threading.Event of the caller) is passed on: the work's `should_continue()`
turns False once it is set. Each call that passes one gets a stop flag of its own (a slot
in a shared array), so a stopped call never stops another: with one flag for the pool, a
scheduler stopped once left the flag set, and every later Publish wrote one chunk a call.
Work that fails, or a helper that dies, raises ApartFailed here; a dead helper's pool is
replaced for the next call.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import multiprocessing
import os
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from mentor_app import db
from mentor_app.settings import HELPER_NICENESS

logger = logging.getLogger(__name__)

T = TypeVar("T")
PRELOAD = [
    "mentor_app.apart_server",  # first: the server loads the rest at the helpers' priority
    "mentor_app.apart",
    "mentor_app.services.nudges",
    "mentor_app.services.dashboard",
    "mentor_app.services.pairing",
]
HELPERS = 2  # the nudge job and a dashboard at the same moment
# The helpers run at a lower CPU priority than the worker (nice 10, set in
# mentor_app.apart_server): on a machine whose cores are all busy, the worker's event loop
# (every member's chat) goes first, and the helpers take what is left. Their work is the
# kind that can take a moment longer.
POLL_S = 0.1
STOP_SLOTS = 16  # calls with a stop of their own at the same moment (the scheduler's: one)


class ApartFailed(RuntimeError):
    """The work raised in its process, or the process died before it answered."""


_lock = threading.Lock()
_pool: concurrent.futures.ProcessPoolExecutor | None = None
_stops: Any = None  # the pool's stop flags, a shared array its helpers inherit: 1 = stop
_free_slots: list[int] = []  # the slots of _stops no running call holds
_helper_stops: Any = None  # in a helper: the same array


def _start_helper(stops: Any) -> None:
    global _helper_stops
    _helper_stops = stops
    if os.getpriority(os.PRIO_PROCESS, 0) < HELPER_NICENESS:  # the fork server has lowered it
        os.setpriority(os.PRIO_PROCESS, 0, HELPER_NICENESS)
    db.run_in_background()  # its SQLite writers let the worker's go first


def _call(fn: Callable[..., Any], args: tuple[Any, ...], slot: int | None = None) -> Any:
    """In the helper; `slot` is the call's stop flag in the shared array, if it has one."""
    stops = _helper_stops
    try:
        return fn(
            *args,
            should_continue=lambda: slot is None or stops is None or not stops[slot],
        )
    except BaseException as error:
        logger.exception("%s failed in its own process", getattr(fn, "__name__", fn))
        raise ApartFailed(f"{type(error).__name__}: {error}") from None


def _the_pool() -> tuple[concurrent.futures.ProcessPoolExecutor, Any]:
    global _pool, _stops
    with _lock:
        if _pool is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(PRELOAD)
            _stops = context.Array("b", STOP_SLOTS, lock=False)
            _free_slots[:] = range(STOP_SLOTS)
            _pool = concurrent.futures.ProcessPoolExecutor(
                HELPERS, mp_context=context, initializer=_start_helper, initargs=(_stops,)
            )
        return _pool, _stops


def _take_slot(stops: Any) -> int | None:
    """A stop flag for one call, cleared; None when all are held (the call then runs to its
    end: nothing but the scheduler's job asks for one)."""
    with _lock:
        if stops is not _stops or not _free_slots:
            return None
        slot = _free_slots.pop()
    stops[slot] = 0
    return slot


def _give_back(stops: Any, slot: int | None) -> None:
    with _lock:
        if slot is not None and stops is _stops:
            _free_slots.append(slot)


def _drop_pool(broken: concurrent.futures.ProcessPoolExecutor) -> None:
    global _pool
    with _lock:
        if _pool is broken:
            _pool = None
    broken.shutdown(wait=False, cancel_futures=True)


def run_apart(fn: Callable[..., T], *args: Any, stopping: threading.Event | None = None) -> T:
    """`fn(*args, should_continue=...)` in a helper process; blocks the calling thread (not
    the interpreter) until it answers."""
    pool, stops = _the_pool()
    name = getattr(fn, "__name__", "work")
    slot = _take_slot(stops) if stopping is not None else None
    try:
        try:
            future = pool.submit(_call, fn, args, slot)
        except BrokenProcessPool:
            _drop_pool(pool)
            _give_back(stops, slot)
            pool, stops = _the_pool()
            slot = _take_slot(stops) if stopping is not None else None
            future = pool.submit(_call, fn, args, slot)
        while True:
            try:
                return future.result(timeout=POLL_S)  # type: ignore[no-any-return]
            except concurrent.futures.TimeoutError:
                if slot is not None and stopping is not None and stopping.is_set():
                    stops[slot] = 1
    except BrokenProcessPool:
        _drop_pool(pool)
        raise ApartFailed(f"{name}: its helper process died") from None
    finally:
        _give_back(stops, slot)


def _ready(*, should_continue: Callable[[], bool]) -> int:
    return os.getpid()


def start_helpers() -> int:
    """Starts the pool's fork server and its helpers now, if they are not up yet, and
    returns how many helpers are up. The worker calls it once it serves
    (`helpers_lifespan`), so the first Suggest all, Publish, dashboard or nudge run after a
    start does not wait for them (that Suggest all took 1.9 s instead of 0.6)."""
    pool, _ = _the_pool()
    # A submit starts a helper while none is idle: one call per helper starts them all,
    # unless a helper has answered before the next submit (a busy machine put this thread
    # aside) and counts as idle, so that submit started none: one helper of two was up.
    waiting = [pool.submit(_call, _ready, ()) for _ in range(HELPERS)]
    for call in waiting:
        call.result()
    spawn = getattr(pool, "_spawn_process", None)  # what its submit calls to start one
    if spawn is not None and _helpers_up(pool) < HELPERS:
        with pool._shutdown_lock:  # as the executor's submit holds it to start one
            while _helpers_up(pool) < HELPERS:
                spawn()
        for call in [pool.submit(_call, _ready, ()) for _ in range(HELPERS)]:
            call.result()
    return _helpers_up(pool)


def _helpers_up(pool: concurrent.futures.ProcessPoolExecutor) -> int:
    return len(getattr(pool, "_processes", None) or {})  # the executor's own table


@contextlib.asynccontextmanager
async def helpers_lifespan() -> AsyncIterator[asyncio.Task[int]]:
    """The app's lifespan task: the helpers start beside the serving worker (at their
    lower priority), not inside a member's first action that needs one."""
    starting = asyncio.create_task(asyncio.to_thread(start_helpers))
    starting.add_done_callback(_log_start)
    yield starting


def _log_start(task: asyncio.Task[int]) -> None:
    if task.cancelled():
        return
    if (error := task.exception()) is not None:
        logger.warning("Helper processes not started ahead: %s", error)
    else:
        logger.info("%s helper processes up", task.result())


def run_here(fn: Callable[..., T], *args: Any, stopping: threading.Event | None = None) -> T:
    """`run_apart`'s contract in the calling thread: for a test that changes the work's
    code in this process (a crash injected half-way) and so cannot run it in another."""
    return fn(*args, should_continue=lambda: stopping is None or not stopping.is_set())
