"""Long CPU-bound work runs in a process of its own, not in a thread of the worker.

A thread shares the worker's interpreter, and its lock (the GIL), with the event loop:
while the nudge job planned 100,000 pairs in the scheduler's thread, the loop waited for
the interpreter at every step of every event, and a chat send on the worker took 312 ms at
p95 instead of 13 (bench/interference.py). `run_apart(fn, *args)` runs `fn(*args,
should_continue=...)` in a child process and returns what it returns. The child is forked
from multiprocessing's fork server, a clean process started once with the app's modules
loaded: it starts in milliseconds and inherits no thread, lock or database connection of
the worker. `fn` is a module-level function; it opens its own connections (from a URL it
is given) and returns something picklable.

`stopping` (a threading.Event of the caller) is passed on: the child's `should_continue()`
turns False once it is set. A child that fails or dies raises ApartFailed here.
"""

from __future__ import annotations

import functools
import logging
import multiprocessing
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")
PRELOAD = ["mentor_app.apart", "mentor_app.services.nudges", "mentor_app.services.dashboard"]
POLL_S = 0.1


class ApartFailed(RuntimeError):
    """The work raised in its process, or the process died before it answered."""


@functools.cache
def _context() -> Any:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


def _child(fn: Callable[..., Any], args: tuple[Any, ...], stop: Any, answer: Connection) -> None:
    try:
        result = fn(*args, should_continue=lambda: not stop.is_set())
    except BaseException as error:
        logger.exception("%s failed in its own process", getattr(fn, "__name__", fn))
        answer.send((False, f"{type(error).__name__}: {error}"))
    else:
        answer.send((True, result))
    finally:
        answer.close()


def run_apart(fn: Callable[..., T], *args: Any, stopping: threading.Event | None = None) -> T:
    """`fn(*args, should_continue=...)` in a child process; blocks the calling thread (not
    the interpreter) until it answers."""
    context = _context()
    stop = context.Event()
    receive, send = context.Pipe(duplex=False)
    name = f"apart-{getattr(fn, '__name__', 'work')}"
    process = context.Process(target=_child, args=(fn, args, stop, send), name=name, daemon=True)
    process.start()
    send.close()  # the child holds the only writing end: its exit ends the pipe
    try:
        while not receive.poll(POLL_S):
            if stopping is not None and stopping.is_set():
                stop.set()
            if not process.is_alive() and not receive.poll():
                raise ApartFailed(f"{name} died (exit code {process.exitcode})")
        try:
            ok, value = receive.recv()
        except EOFError:
            process.join(5)
            raise ApartFailed(f"{name} died (exit code {process.exitcode})") from None
    finally:
        receive.close()
        process.join(30)
    if not ok:
        raise ApartFailed(f"{name}: {value}")
    return value  # type: ignore[no-any-return]


def run_here(fn: Callable[..., T], *args: Any, stopping: threading.Event | None = None) -> T:
    """`run_apart`'s contract in the calling thread: for a test that changes the work's
    code in this process (a crash injected half-way) and so cannot run it in another."""
    return fn(*args, should_continue=lambda: stopping is None or not stopping.is_set())
