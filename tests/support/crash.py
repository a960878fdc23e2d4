"""Kill a running AppServer the hard way and bring it back on the same database, serving
the frontend it already built (a restart takes seconds, not a build)."""

from __future__ import annotations

import os
import signal
import sys

from tests.support.appserver import AppServer


def kill_hard(server: AppServer) -> None:
    """SIGKILL to the server's whole process group (the CLI and its workers): no
    shutdown handler, no lifespan exit, no flush."""
    assert server.process is not None and server.process.poll() is None, "server not running"
    os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait(10)


def restart_built(server: AppServer, timeout_s: float = 120) -> None:
    """Start the backend again with the frontend built by the first start
    (`python -m tests.support.built_app`), on the same port, data and state folders."""
    server.launch(
        [sys.executable, "-m", "tests.support.built_app"],
        timeout_s=timeout_s,
        poll_s=0.3,
        what="app after the restart",
    )


def kill_and_restart(server: AppServer) -> None:
    kill_hard(server)
    restart_built(server)
