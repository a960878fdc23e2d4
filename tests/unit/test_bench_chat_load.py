"""bench/chat_load.py --find-capacity: which step counts as held, and what is reported."""

from __future__ import annotations

import argparse
import os
import time

from bench.chat_load import Step, capacity_report, cpu_snapshot, cpu_split


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


def test_the_cpu_split_gives_each_part_its_cores_and_its_milliseconds_a_message() -> None:
    before = {"app": {7: 6.0, 8: 4.0}, "client": {9: 2.0}, "redis": {5: 1.0}, "machine": {0: 20.0},
              "postgresql": {11: 9.0, 12: 1.0}}  # fmt: skip
    after = {"app": {7: 8.0, 8: 6.0}, "client": {9: 3.0}, "redis": {5: 1.0}, "machine": {0: 26.0},
             "postgresql": {12: 1.25, 13: 0.25}}  # fmt: skip
    split = cpu_split(before, after, seconds=4.0, messages=200)
    assert split["app"] == {"cores": 1.0, "ms_per_msg": 20.0}
    assert split["client"] == {"cores": 0.25, "ms_per_msg": 5.0}
    assert split["redis"] == {"cores": 0.0, "ms_per_msg": 0.0}
    assert split["machine"] == {"cores": 1.5, "ms_per_msg": 30.0}
    # Backend 11 ended (its 9 s are not taken off), 12 went on, 13 started in between.
    assert split["postgresql"] == {"cores": 0.12, "ms_per_msg": 2.5}
    assert cpu_split(before, after, seconds=0, messages=0)["app"] == {"cores": 0, "ms_per_msg": 0}


def test_a_cpu_snapshot_reads_this_process_and_the_machine_from_proc() -> None:
    first = cpu_snapshot([os.getpgid(0)])
    deadline = time.process_time() + 0.2
    while time.process_time() < deadline:  # burn 0.2 s of this process's CPU
        pass
    second = cpu_snapshot([os.getpgid(0)])
    assert set(first) == {"app", "client", "redis", "postgresql", "machine"}
    split = cpu_split(first, second, seconds=1.0, messages=1000)
    assert split["client"]["ms_per_msg"] >= 0.15
    assert split["app"]["ms_per_msg"] >= 0.15  # this test's own process group
    assert split["machine"]["ms_per_msg"] >= 0.15
