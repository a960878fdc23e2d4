"""Which handlers `state.off_loop` moves to a thread: our sync ones (and each step of a sync
generator), never async ones, async generators or Reflex's own."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from state import off_loop

sync_handler_threads: list[str] = []


def sync_handler(state: Any) -> None:
    sync_handler_threads.append(threading.current_thread().name)


def generator_handler(state: Any) -> Iterator[None]:
    sync_handler_threads.append(threading.current_thread().name)
    yield
    sync_handler_threads.append(threading.current_thread().name)


async def async_handler(state: Any) -> None:
    sync_handler_threads.append(threading.current_thread().name)


async def async_generator_handler(state: Any) -> AsyncIterator[None]:
    sync_handler_threads.append(threading.current_thread().name)
    yield


for fn in (sync_handler, generator_handler, async_handler, async_generator_handler):
    fn.__module__ = "state.example"  # as if written in our state package


def _handler(fn: Any) -> Any:
    import inspect

    return SimpleNamespace(fn=fn, _is_coroutine_function=inspect.iscoroutinefunction(fn))


@pytest.mark.parametrize(
    ("fn", "where"),
    [
        (sync_handler, ["handler"]),
        (generator_handler, ["handler", "handler"]),
        (async_handler, ["MainThread"]),
        (async_generator_handler, ["MainThread"]),
    ],
)
def test_our_sync_handlers_run_in_a_handler_thread_and_async_ones_on_the_loop(
    monkeypatch: pytest.MonkeyPatch, fn: Any, where: list[str]
) -> None:
    chained: list[Any] = []

    async def original(handler: Any, payload: Any, state: Any, root_state: Any) -> None:
        result = handler.fn(state, **payload)  # Reflex's own way, on the loop
        if hasattr(result, "__aiter__"):
            async for _ in result:
                pass
        elif asyncio.iscoroutine(result):
            await result

    async def chain_updates(events: Any, **_kwargs: Any) -> None:
        chained.append(events)

    bsp = off_loop.base_state_processor
    monkeypatch.setattr(off_loop, "_original_process_event", original)
    monkeypatch.setattr(bsp, "_prepare_event_payload", lambda handler, payload: payload)
    monkeypatch.setattr(bsp, "chain_updates", chain_updates)
    monkeypatch.setattr(bsp, "ensure_locked", lambda state, root: root)
    sync_handler_threads.clear()

    asyncio.run(off_loop.process_event(_handler(fn), {}, object(), object()))

    assert [name.split("_")[0] for name in sync_handler_threads] == where
    if fn is generator_handler:
        assert chained == [None, None]  # the yield's update, then the end's


def test_reflex_s_own_handlers_stay_as_reflex_runs_them() -> None:
    def setter(state: Any) -> None:
        pass

    setter.__module__ = "reflex.state"
    assert not off_loop.ours(setter)
    assert off_loop.ours(sync_handler)


def _run_soon_logged(make: Any, what: str = "the test's pages") -> None:
    async def main() -> None:
        off_loop.serve_here()  # as the app's lifespan does
        off_loop.soon_logged(make, what)
        while off_loop._tasks:
            await asyncio.gather(*list(off_loop._tasks))

    asyncio.run(main())


def test_soon_runs_work_on_the_apps_loop_from_the_loop_and_from_a_thread() -> None:
    ran: list[str] = []

    async def work(where: str) -> None:
        ran.append(where)

    async def main() -> None:
        async with off_loop.off_loop_lifespan():  # the app's lifespan marks its loop
            off_loop.soon(lambda: work("loop"))
            thread = threading.Thread(target=off_loop.soon, args=(lambda: work("thread"),))
            thread.start()
            await asyncio.to_thread(thread.join)
            while off_loop._tasks:
                await asyncio.sleep(0.01)

    asyncio.run(main())
    assert sorted(ran) == ["loop", "thread"]


def test_soon_does_nothing_on_a_loop_that_is_not_the_apps() -> None:
    """A test process arranges data through the services while Playwright's loop runs: the
    pushes those changes schedule must not run there, against its default database."""
    ran: list[str] = []

    async def work() -> None:
        ran.append("ran")

    async def the_app() -> None:
        off_loop.serve_here()
        off_loop.soon(work)
        await asyncio.sleep(0.05)

    async def another_loop() -> None:  # the app's loop above has ended
        off_loop.soon(work)
        await asyncio.sleep(0.05)

    asyncio.run(the_app())
    assert ran == ["ran"]  # where an app serves, the work runs
    asyncio.run(another_loop())
    assert ran == ["ran"]  # and nowhere else
    assert not off_loop._tasks


def _locked() -> Exception:
    import sqlite3

    from sqlalchemy.exc import OperationalError

    return OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked"))


def test_a_refresh_that_met_a_locked_database_is_tried_again_until_it_reads(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(off_loop, "REFRESH_RETRY_DELAYS_S", (0.01, 0.01, 0.01))
    tries: list[int] = []

    async def refresh() -> None:
        tries.append(1)
        if len(tries) < 3:
            raise _locked()

    _run_soon_logged(refresh)
    assert len(tries) == 3
    assert "could not refresh" not in caplog.text


def test_a_refresh_gives_up_after_its_last_try_and_logs_why(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(off_loop, "REFRESH_RETRY_DELAYS_S", (0.01, 0.01))
    tries: list[int] = []

    async def refresh() -> None:
        tries.append(1)
        raise _locked()

    _run_soon_logged(refresh, "the open goals of pair 7")
    assert len(tries) == 3
    assert "could not refresh the open goals of pair 7" in caplog.text


def test_a_refresh_that_fails_for_another_reason_is_not_tried_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tries: list[int] = []

    async def refresh() -> None:
        tries.append(1)
        raise ValueError("a bug, not a busy database")

    _run_soon_logged(refresh, "the open pages of pair 3")
    assert tries == [1]
    assert "could not refresh the open pages of pair 3" in caplog.text
