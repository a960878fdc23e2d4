"""Run several calls at the same moment, each in its own thread and database session."""

from __future__ import annotations

import threading
from collections.abc import Callable

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
