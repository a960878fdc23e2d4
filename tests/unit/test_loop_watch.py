"""The event-loop watchdog names where a worker's loop was blocked."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import pytest

from mentor_app.loop_watch import LoopWatch, loop_watch_enabled


def _handler_that_blocks_the_loop() -> None:
    time.sleep(0.6)  # stands in for argon2 or a database wait run on the loop


async def _serve(block: bool) -> list[float]:
    watch = LoopWatch(asyncio.get_running_loop(), threading.get_ident(), poll_s=0.05, blocked_s=0.2)
    watch.start()
    try:
        for _ in range(6):
            await asyncio.sleep(0.05)  # a loop that keeps answering
        if block:
            _handler_that_blocks_the_loop()
        await asyncio.sleep(0.2)
    finally:
        await asyncio.to_thread(watch.stop)
    return watch.blocks


def test_a_blocked_loop_is_logged_with_the_blocking_function_and_how_long(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="mentor_app.loop_watch"):
        assert asyncio.run(_serve(block=False)) == []
        assert caplog.messages == []  # an answering loop logs nothing

        [took] = asyncio.run(_serve(block=True))
    assert 0.5 < took < 1.5
    stuck, ended = caplog.messages
    assert stuck.startswith("Event loop blocked for over 0.2 s")
    assert "_handler_that_blocks_the_loop" in stuck and "time.sleep(0.6)" in stuck
    assert ended == f"Event loop was blocked for {took:.1f} s"


def test_the_watch_can_be_turned_off() -> None:
    assert loop_watch_enabled({})
    assert not loop_watch_enabled({"MENTOR_LOOP_WATCH": "off"})
