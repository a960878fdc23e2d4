"""A bench stopped with SIGTERM stops what it started (its `finally` blocks run), as on
Ctrl-C: `pkill -f bench.chat_load` had left its two app instances running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.appserver import PROJECT_ROOT

# A bench in small: it starts a server (here a `sleep`), and stops it in `finally`.
BENCH = """
import subprocess, sys, time
from pathlib import Path
from bench import stop_cleanly_on_sigterm
if sys.argv[1] == "handled":
    stop_cleanly_on_sigterm()
server = subprocess.Popen(["sleep", "60"])
Path(sys.argv[2]).write_text(str(server.pid))
try:
    time.sleep(60)
finally:
    server.terminate()
    server.wait()
    Path(sys.argv[2]).write_text("stopped")
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _run_and_terminate(tmp_path: Path, mode: str) -> tuple[int, str, int]:
    """Starts the small bench, sends it SIGTERM once its server is up: its exit code, what
    it wrote last, and its server's pid."""
    marker = tmp_path / f"{mode}.txt"
    bench = subprocess.Popen([sys.executable, "-c", BENCH, mode, str(marker)], cwd=PROJECT_ROOT)
    deadline = time.monotonic() + 30
    while not (marker.exists() and marker.read_text().isdigit()):
        assert time.monotonic() < deadline, "the bench never started its server"
        time.sleep(0.05)
    server = int(marker.read_text())
    assert _alive(server)
    bench.send_signal(signal.SIGTERM)
    return bench.wait(timeout=30), marker.read_text(), server


def test_a_bench_stopped_with_sigterm_stops_the_server_it_started(tmp_path: Path) -> None:
    code, last, server = _run_and_terminate(tmp_path, "handled")
    assert code == 128 + signal.SIGTERM
    assert last == "stopped"
    assert not _alive(server)


def test_without_it_sigterm_leaves_the_server_running(tmp_path: Path) -> None:
    # The control: Python's default for SIGTERM ends the process without its `finally`.
    code, last, server = _run_and_terminate(tmp_path, "default")
    try:
        assert code == -signal.SIGTERM
        assert last == str(server)  # `finally` never ran
        assert _alive(server)
    finally:
        os.kill(server, signal.SIGTERM)


@pytest.mark.parametrize(
    "name",
    [
        "account_data", "chat_latency", "chat_load", "interference", "lighthouse",
        "matching", "nudges", "pages", "suggest_write", "writers",
    ],
)  # fmt: skip
def test_every_bench_run_as_a_program_stops_cleanly_on_sigterm(name: str) -> None:
    source = (PROJECT_ROOT / "bench" / f"{name}.py").read_text()
    main_block = source.split('if __name__ == "__main__":', 1)[1]
    assert main_block.split() == ["stop_cleanly_on_sigterm()", "main()"]
