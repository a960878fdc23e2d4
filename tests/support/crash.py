"""Kill a running AppServer the hard way and bring it back on the same database, serving
the frontend it already built (a restart takes seconds, not a build)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from tests.support.appserver import PROJECT_ROOT, AppServer


def kill_hard(server: AppServer) -> None:
    """SIGKILL to the server's whole process group (the CLI and its workers): no
    shutdown handler, no lifespan exit, no flush."""
    assert server.process is not None and server.process.poll() is None, "server not running"
    os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait(10)


def restart_built(server: AppServer, timeout_s: float = 120) -> None:
    """Start the backend again with the frontend built by the first start
    (`python -m tests.support.built_app`), on the same port, data and state folders."""
    log = server.log_path.open("ab")
    server.process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.built_app"],
        cwd=PROJECT_ROOT,
        env=server.env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"app exited early after the restart:\n{server.log_tail()}")
        if server._answers("/ping") and server._answers("/"):
            return
        time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"app did not restart in {timeout_s}s:\n{server.log_tail()}")


def kill_and_restart(server: AppServer) -> None:
    kill_hard(server)
    restart_built(server)
