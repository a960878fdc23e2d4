"""Run several calls at the same moment, each in its own thread and database session."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session


def race(engine: Engine, *calls: Callable[[Session], object]) -> list[object]:
    """Each call's result, or the exception it raised (its transaction rolled back)."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(i: int, call: Callable[[Session], object]) -> None:
        with Session(engine, expire_on_commit=False) as session:
            barrier.wait()
            try:
                results[i] = call(session)
                session.commit()
            except Exception as error:  # the loser's refusal is the result under test
                session.rollback()
                results[i] = error

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def meet_once_at(
    monkeypatch: pytest.MonkeyPatch,
    target: object,
    name: str,
    parties: int = 2,
    timeout: float = 2.0,
    after: bool = False,
) -> None:
    """Make each thread's first call of `target.name` wait for the other racers there
    (before the call, or with `after` once it has returned: when the call is the read).

    A race that only starts together can be lost by one side before the other has read
    anything; stopping both between their reads and their writes makes the lost update
    happen on every run where the engine lets both read (PostgreSQL). Where the engine
    lets only one transaction in at a time (SQLite's BEGIN IMMEDIATE) the others never
    arrive: the first waits `timeout` seconds and goes on alone."""
    original = getattr(target, name)
    barrier = threading.Barrier(parties, timeout=timeout)
    seen = threading.local()

    def meet() -> None:
        if not getattr(seen, "done", False):
            seen.done = True
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait()

    def waiting(*args: object, **kwargs: object) -> object:
        if not after:
            meet()
        result = original(*args, **kwargs)
        if after:
            meet()
        return result

    monkeypatch.setattr(target, name, waiting)
