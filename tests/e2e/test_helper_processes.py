"""The served app's helper processes (mentor_app.apart): up once the worker serves, before
anyone needs one, and at a lower CPU priority than the worker, their fork server too."""

from __future__ import annotations

import time
from pathlib import Path

from mentor_app.apart import HELPERS
from mentor_app.settings import HELPER_NICENESS
from tests.support.appserver import AppServer


def _stat(pid: int) -> tuple[int, int]:
    """(parent pid, nice value) of a live process, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[1]), int(fields[16])


def processes_under(root: int) -> dict[int, tuple[int, int, str]]:
    """Every live descendant of `root`: pid -> (parent pid, nice, command line)."""
    every: dict[int, tuple[int, int, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent, nice = _stat(int(entry.name))
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ValueError):
            continue  # gone meanwhile
        every[int(entry.name)] = (parent, nice, command)
    under, frontier = {}, {root}
    while frontier:
        frontier = {pid for pid, (parent, _, _) in every.items() if parent in frontier}
        under.update({pid: every[pid] for pid in frontier})
    return under


def test_the_helpers_are_up_at_a_lower_priority_than_the_worker(app_server: AppServer) -> None:
    assert app_server.process is not None
    served = app_server.process.pid
    deadline = time.monotonic() + 60
    while True:
        under = processes_under(served)
        # A helper is forked from the server, and keeps its command line.
        forked = {pid for pid, (_, _, command) in under.items() if "forkserver" in command}
        servers = [pid for pid in forked if under[pid][0] not in forked]
        helpers = [pid for pid, (parent, _, _) in under.items() if parent in servers]
        if (servers and len(helpers) >= HELPERS) or time.monotonic() > deadline:
            break
        time.sleep(0.2)

    assert len(servers) == 1, under
    worker = under[servers[0]][0]  # the fork server's parent
    assert _stat(worker)[1] == _stat(served)[1] < HELPER_NICENESS
    assert under[servers[0]][1] == HELPER_NICENESS
    assert len(helpers) == HELPERS and {under[h][1] for h in helpers} == {HELPER_NICENESS}
