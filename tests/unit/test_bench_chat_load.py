"""bench/chat_load.py --find-capacity: which step counts as held, and what is reported."""

from __future__ import annotations

import argparse

from bench.chat_load import Step, capacity_report


def _step(pairs: int, p95: float | None, lost: int = 0) -> Step:
    return Step(pairs=pairs, sent=pairs * 30, delivered=pairs * 30 - lost, p50_ms=5.0,
                p95_ms=p95, load="")  # fmt: skip


def test_a_step_is_held_only_under_the_target_and_with_nothing_lost() -> None:
    assert _step(50, 99.9).held(100)
    assert _step(50, 100.0).held(100)
    assert not _step(50, 100.1).held(100)
    assert not _step(50, 20.0, lost=1).held(100)
    assert not _step(50, None).held(100)  # nothing delivered


def test_the_capacity_is_the_largest_step_held_before_the_first_that_was_not() -> None:
    args = argparse.Namespace(target_p95_ms=100.0, step_seconds=30, workers=2)
    figures = capacity_report(args, [_step(25, 20), _step(50, 60), _step(100, 250)])
    assert figures["capacity_msgs_per_s"] == 50
    assert [s["pairs"] for s in figures["steps"]] == [25, 50, 100]
    assert figures["target_met"] is False
    lost = capacity_report(args, [_step(25, 20, lost=2)])
    assert lost["capacity_msgs_per_s"] == 0
