"""Long CPU-bound work runs in a process of its own (mentor_app.apart): the answer comes
back, a failure or a death is told, and the caller's stop reaches the work."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from mentor_app import apart
from mentor_app.apart import (
    HELPER_NICENESS,
    HELPERS,
    ApartFailed,
    helpers_lifespan,
    run_apart,
    start_helpers,
)


def where(tag: str, *, should_continue: Callable[[], bool]) -> tuple[str, int]:
    return tag, os.getpid()


def niceness(*, should_continue: Callable[[], bool]) -> int:
    return os.nice(0)


def fails(*, should_continue: Callable[[], bool]) -> None:
    raise ValueError("no such program")


def dies(*, should_continue: Callable[[], bool]) -> None:
    os._exit(3)


def until_stopped(*, should_continue: Callable[[], bool]) -> int:
    rounds = 0
    deadline = time.monotonic() + 10
    while should_continue() and time.monotonic() < deadline:
        rounds += 1
        time.sleep(0.01)
    return -1 if should_continue() else rounds


def test_the_work_runs_in_another_process_and_its_answer_comes_back() -> None:
    tag, pid = run_apart(where, "nudges")

    assert tag == "nudges" and pid != os.getpid()


def test_the_work_yields_the_cpu_to_the_worker() -> None:
    # A helper at a lower priority than the worker: on busy cores, the worker's event
    # loop (everyone's chat) runs first.
    assert run_apart(niceness) == os.nice(0) + HELPER_NICENESS


def test_a_failure_in_the_work_is_raised_here() -> None:
    with pytest.raises(ApartFailed, match="ValueError: no such program"):
        run_apart(fails)


def test_a_process_that_dies_is_told() -> None:
    with pytest.raises(ApartFailed, match="died"):
        run_apart(dies)


def test_the_callers_stop_reaches_the_work() -> None:
    stopping = threading.Event()
    threading.Timer(0.5, stopping.set).start()

    started = time.monotonic()
    rounds = run_apart(until_stopped, stopping=stopping)

    # It stopped on the caller's word, not at its own 10 s deadline (-1). On busy cores the
    # helper (at a lower priority) may not have run a round before the word came: 0 rounds.
    assert rounds >= 0 and time.monotonic() - started < 10


def stays_asked_to_go_on(seconds: float, *, should_continue: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not should_continue():
            return False
        time.sleep(0.01)
    return True


def test_a_stopped_call_stops_no_other_then_or_later() -> None:
    stopping, not_stopping = threading.Event(), threading.Event()
    threading.Timer(0.3, stopping.set).start()

    with concurrent.futures.ThreadPoolExecutor(2) as calls:
        other = calls.submit(run_apart, stays_asked_to_go_on, 1.5, stopping=not_stopping)
        stopped = calls.submit(run_apart, until_stopped, stopping=stopping)
        assert stopped.result() >= 0  # the stop reached it (-1: it ran to its deadline)
        assert other.result() is True  # ... and not the call beside it

    # Nor a call after it: one stop flag for the pool stayed set, and a later Publish
    # (which asks should_continue between chunks) wrote one chunk a call.
    assert run_apart(stays_asked_to_go_on, 0.1) is True
    assert run_apart(stays_asked_to_go_on, 0.1, stopping=threading.Event()) is True


def priorities(*, should_continue: Callable[[], bool]) -> tuple[int, int]:
    """This helper's nice value and its fork server's (the helper's parent)."""
    return os.getpriority(os.PRIO_PROCESS, 0), os.getpriority(os.PRIO_PROCESS, os.getppid())


def test_the_fork_server_loads_the_app_at_the_helpers_priority_the_worker_keeps_its_own() -> None:
    ours = os.getpriority(os.PRIO_PROCESS, 0)
    assert ours < HELPER_NICENESS  # else this test could not tell

    helper, fork_server = run_apart(priorities)

    # The server imported the app's modules (a second of CPU) at the helpers' priority,
    # and its helpers start there, not lowered twice (nice 19).
    assert fork_server == HELPER_NICENESS and helper == HELPER_NICENESS
    # The module that lowers its importer never ran in the worker.
    assert os.getpriority(os.PRIO_PROCESS, 0) == ours
    assert "mentor_app.apart_server" not in sys.modules


def test_all_the_helpers_start_when_the_first_answers_before_the_next_is_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On a busy machine the thread starting the helpers can be put aside between two
    submits, long enough for the first helper to answer: it then counts as idle, and the
    next submit starts no helper (make test once saw 1 of 2). Here each submit waits for
    its answer before the next."""
    if apart._pool is not None:
        apart._drop_pool(apart._pool)
    pool, _ = apart._the_pool()
    submit = pool.submit

    def answered_before_the_next(*args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        future = submit(*args, **kwargs)
        future.result(60)
        return future

    monkeypatch.setattr(pool, "submit", answered_before_the_next)
    assert start_helpers() == HELPERS


def test_the_helpers_start_with_the_worker_not_with_the_first_action() -> None:
    if apart._pool is not None:  # the earlier tests' pool: none is up before the start
        apart._drop_pool(apart._pool)
    assert apart._pool is None

    async def serve() -> int:
        async with helpers_lifespan() as starting:
            return await asyncio.wait_for(starting, timeout=60)

    assert asyncio.run(serve()) == HELPERS
    # Started once: a later start keeps the helpers that are up.
    assert start_helpers() == HELPERS
