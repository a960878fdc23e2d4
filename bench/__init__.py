"""Benchmarks: run one with `python -m bench.<name>`."""

from __future__ import annotations

import signal
from types import FrameType


def stop_cleanly_on_sigterm() -> None:
    """A bench stopped with SIGTERM (`kill`, `pkill`, `timeout`) goes through its `finally`
    blocks as it does on Ctrl-C, so the app servers and helper processes it started are
    stopped too. By default SIGTERM ends the process at once: `pkill -f bench.chat_load`
    left its two app instances running, busy with their own load."""

    def leave(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, leave)
