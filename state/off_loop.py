"""Our event handlers' blocking work runs in worker threads, never on the event loop.

Reflex calls every event handler on the worker's event loop, sync ones too, and every socket
of the worker waits while one runs: a log-in's argon2 hash, a database call, or a wait for
SQLite's write lock would stall every chat on the worker.

`install()` wraps Reflex's `process_event` once, so that every sync handler defined in our
`state` package (and every step of a sync generator handler) runs in `HANDLER_THREADS`.
The event still holds the state's lock while its thread works, as before: state changes
stay serialised per tab, and the deltas are computed and sent on the loop afterwards.
Async handlers run on the loop as Reflex runs them; they put their own blocking calls in
a thread (`in_thread`). Reflex's own handlers (hydrate, setters) are left alone.

From a handler's thread, work that belongs on the loop (a task that pushes to other tabs)
goes through `soon(...)`, which works from the loop and from any thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import inspect
import logging
import os
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from reflex_base.event.processor import base_state_processor
from sqlalchemy.exc import OperationalError

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Enough threads that a few handlers waiting on SQLite's write lock (up to its 5 s busy
# timeout) leave others running; the connection pool allows 15 connections.
HANDLER_THREADS = int(os.environ.get("MENTOR_HANDLER_THREADS", "12"))
OUR_PACKAGE = "state"

_executor: ThreadPoolExecutor | None = None
_app_loop: asyncio.AbstractEventLoop | None = None
_tasks: set[asyncio.Future[Any]] = set()
_original_process_event = base_state_processor.process_event


def _pool() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(HANDLER_THREADS, thread_name_prefix="handler")
    return _executor


def ours(fn: Callable[..., Any]) -> bool:
    module = getattr(fn, "__module__", "") or ""
    return module == OUR_PACKAGE or module.startswith(OUR_PACKAGE + ".")


async def in_thread(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`fn(*args, **kwargs)` in a handler thread, with the caller's context variables."""
    loop = asyncio.get_running_loop()
    context = contextvars.copy_context()
    return await loop.run_in_executor(_pool(), functools.partial(context.run, fn, *args, **kwargs))


def serve_here() -> None:
    """Mark the running loop as the app's: the one `soon` runs work on. The app's lifespan
    calls it when a worker starts serving (`off_loop_lifespan`)."""
    global _app_loop
    _app_loop = asyncio.get_running_loop()


@contextlib.asynccontextmanager
async def off_loop_lifespan() -> AsyncIterator[None]:
    serve_here()
    yield


def soon(make: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run `make()` on the app's event loop without waiting for it, from the loop itself
    or from a handler's or a job's thread. A no-op where no app serves: a CLI, or a test
    process whose own loop (Playwright's, say) runs while it arranges data through the
    services; the push would otherwise run there, against that process's default database.
    """
    app_loop = _app_loop
    if app_loop is None or not app_loop.is_running():
        return
    try:
        loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    if loop is app_loop:
        task = loop.create_task(make())
        _tasks.add(task)
        task.add_done_callback(_tasks.discard)
    else:
        future = asyncio.run_coroutine_threadsafe(make(), app_loop)
        _tasks.add(future)  # type: ignore[arg-type]
        future.add_done_callback(_tasks.discard)  # type: ignore[arg-type]


# A refresh that met a busy database (SQLite's write lock held past its busy timeout by a
# burst of writers, a PostgreSQL fail-over) waits this long, then tries again, once per delay.
REFRESH_RETRY_DELAYS_S: tuple[float, ...] = (0.25, 1.0, 3.0)


def soon_logged(make: Callable[[], Coroutine[Any, Any, None]], what: str) -> None:
    """`soon(make)` for a refresh of open pages. A database that is busy or unreachable
    (`OperationalError`) is tried again after each of `REFRESH_RETRY_DELAYS_S`: the change
    is committed, and the open pages would otherwise show it only at their next load. Any
    other failure, or the last one, is logged, not raised."""

    async def run() -> None:
        for delay in (*REFRESH_RETRY_DELAYS_S, None):
            try:
                await make()
                return
            except OperationalError:
                if delay is None:
                    logger.exception("could not refresh %s", what)
                    return
                logger.warning("the database was busy refreshing %s; again in %s s", what, delay)
                await asyncio.sleep(delay)
            except Exception:
                logger.exception("could not refresh %s", what)
                return

    soon(run)


_DONE = object()


def _step(generator: Iterator[Any]) -> Any:
    """One step of a sync generator handler; its return value wrapped (StopIteration must
    not cross a future)."""
    try:
        return next(generator)
    except StopIteration as stop:
        return (_DONE, stop.value)


async def _steps_in_thread(generator: Iterator[Any]) -> AsyncIterator[Any]:
    while True:
        item = await in_thread(_step, generator)
        if isinstance(item, tuple) and len(item) == 2 and item[0] is _DONE:
            if item[1] is not None:
                yield item[1]
            return
        yield item


async def process_event(handler: Any, payload: dict[str, Any], state: Any, root_state: Any) -> None:
    """Reflex's `process_event`, with our sync handlers' bodies in a thread."""
    fn = handler.fn
    on_the_loop = handler._is_coroutine_function or inspect.isasyncgenfunction(fn)
    if on_the_loop or not ours(fn):
        await _original_process_event(handler, payload, state, root_state)
        return
    handler_name = fn.__qualname__
    payload = base_state_processor._prepare_event_payload(handler, payload)
    events = await in_thread(fn, state, **payload)
    chain_updates = base_state_processor.chain_updates
    ensure_locked = base_state_processor.ensure_locked
    if inspect.isgenerator(events):
        async for event in _steps_in_thread(events):
            await chain_updates(
                event, root_state=ensure_locked(state, root_state), handler_name=handler_name
            )
        events = None
    await chain_updates(
        events, root_state=ensure_locked(state, root_state), handler_name=handler_name
    )


def install() -> None:
    """Wrap Reflex's `process_event` once (idempotent)."""
    if base_state_processor.process_event is not process_event:
        base_state_processor.process_event = process_event  # type: ignore[assignment]
