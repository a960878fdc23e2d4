"""How long a short write waits for its turn behind another process's series of writes.

    python -m bench.writers [--chunk-ms 15] [--gap-ms 0 2] [--writes 300]

SQLite has one writer at a time; the app's engine (mentor_app.db.make_engine) has its
writers take turns, in one process on a lock and between processes on an advisory lock
on a file beside the database, which a writer of another process tries every
`FILE_TURN_POLL_S` (1 ms). A helper process writing chunks one after the other (Publish's,
the nudge job's) gives the turn back and asks for it again at once. This bench measures
what that does to a short write in another process (a chat send's): a helper process
writes chunks that hold the turn `--chunk-ms` each (inserts, then busy Python), with
`--gap-ms` between the end of one and the start of the next; this process makes a
one-row write every 20 ms and times each from asking for the turn to its commit. Both
go through the app's own engine on a temporary SQLite database. One line per gap, then
one JSON line.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench import stop_cleanly_on_sigterm
from mentor_app.db import engine_for, run_in_background

SCHEMA = (
    "CREATE TABLE chunk_rows (id INTEGER PRIMARY KEY, body TEXT)",
    "CREATE TABLE short_rows (id INTEGER PRIMARY KEY, body TEXT)",
)


def _chunks(url: str, chunk_s: float, gap_s: float, stop: Any, started: Any) -> None:
    """The helper: chunk after chunk, each holding the writers' turn about `chunk_s`. Its
    writers are a helper process's (mentor_app.apart): they let the foreground's go first."""
    run_in_background()
    engine = engine_for(url)
    started.set()
    while not stop.is_set():
        with engine.begin() as connection:
            # Each row says when its chunk took the turn (the machine's monotonic clock,
            # the same in every process): tests/unit/test_read_scope.py reads it.
            body = f"{time.monotonic():.6f} ".ljust(300, "x")
            rows = [{"body": body}] * 50
            connection.execute(text("INSERT INTO chunk_rows (body) VALUES (:body)"), rows)
            busy_until = time.perf_counter() + chunk_s
            while time.perf_counter() < busy_until:
                pass  # a chunk's Python work, under the turn
        if gap_s:
            time.sleep(gap_s)


def measure(url: str, *, chunk_s: float, gap_s: float, writes: int) -> list[float]:
    engine = engine_for(url)
    spawn = mp.get_context("spawn")  # a fresh process: no engine or lock inherited
    stop, started = spawn.Event(), spawn.Event()
    helper = spawn.Process(target=_chunks, args=(url, chunk_s, gap_s, stop, started))
    helper.start()
    try:
        started.wait(30)
        time.sleep(0.3)  # the helper's chunks are under way
        waits: list[float] = []
        for _ in range(writes):
            began = time.perf_counter()
            with engine.begin() as connection:
                connection.execute(text("INSERT INTO short_rows (body) VALUES ('hello')"))
            waits.append((time.perf_counter() - began) * 1000)
            time.sleep(0.02)
        return waits
    finally:
        stop.set()
        helper.join(30)


def chunks_written(url: str) -> int:
    with engine_for(url).connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM chunk_rows")).scalar_one()) // 50


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunk-ms", type=float, default=15, help="each chunk holds the turn")
    parser.add_argument("--gap-ms", type=float, nargs="+", default=[0, 2], help="between chunks")
    parser.add_argument("--writes", type=int, default=300, help="short writes timed per gap")
    args = parser.parse_args(argv)
    result: dict[str, Any] = {"chunk_ms": args.chunk_ms, "writes": args.writes}
    for gap_ms in args.gap_ms:
        with tempfile.TemporaryDirectory(prefix="writers-") as folder:
            url = f"sqlite:///{Path(folder) / 'bench.db'}"
            with engine_for(url).begin() as connection:
                for statement in SCHEMA:
                    connection.execute(text(statement))
            waits = measure(
                url, chunk_s=args.chunk_ms / 1000, gap_s=gap_ms / 1000, writes=args.writes
            )
            chunks = chunks_written(url)
        q = statistics.quantiles(waits, n=100, method="inclusive")
        figures = {
            "chunks": chunks,
            "p50_ms": round(q[49], 1),
            "p95_ms": round(q[94], 1),
            "max_ms": round(max(waits), 1),
        }
        result[f"gap_{gap_ms:g}_ms"] = figures
        print(
            f"chunks of {args.chunk_ms:g} ms, {gap_ms:g} ms apart: a short write waited p50 "
            f"{figures['p50_ms']} ms, p95 {figures['p95_ms']} ms, max {figures['max_ms']} ms",
            flush=True,
        )
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    stop_cleanly_on_sigterm()
    main()
