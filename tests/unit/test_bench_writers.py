"""bench/writers.py: the helper's chunks really hold the turn while the short writes are
timed, through the app's engine, and the figures are reported per gap."""

from __future__ import annotations

import json

import pytest

from bench import writers


@pytest.mark.sqlite_only(reason="SQLite's writers' turn")
def test_the_bench_times_short_writes_behind_the_helpers_chunks(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = writers.main(["--chunk-ms", "5", "--gap-ms", "0", "2", "--writes", "8"])
    printed = capsys.readouterr().out.splitlines()
    assert json.loads(printed[-1]) == result
    for gap in ("gap_0_ms", "gap_2_ms"):
        figures = result[gap]
        assert 0 < figures["p50_ms"] <= figures["p95_ms"] <= figures["max_ms"]
        assert figures["chunks"] > 0, "the helper wrote no chunk while the writes were timed"
