"""On the embedded default, the folder of tab states is listed for expired files at most
once every PURGE_EVERY_S, not after every write (state/state_files.py)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from reflex.istate.manager.disk import StateManagerDisk
from reflex.utils import path_ops

from state import state_files


def _expired(folder: Path, name: str) -> Path:
    path = folder / f"{name}.pkl"
    path.write_bytes(b"old")
    two_hours_ago = time.time() - 7200
    os.utime(path, (two_hours_ago, two_hours_ago))
    return path


def test_the_states_folder_is_purged_at_start_then_at_most_once_a_minute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REFLEX_STATES_WORKDIR", str(tmp_path))
    state_files.install()
    state_files.install()  # once only, however often it is called
    old = _expired(tmp_path, "old")
    fresh = tmp_path / "fresh.pkl"
    fresh.write_bytes(b"new")

    manager = StateManagerDisk()  # purges at start, as Reflex does
    assert not old.exists() and fresh.exists()

    later = _expired(tmp_path, "later")
    listed: list[int] = []
    original_ls = path_ops.ls
    monkeypatch.setattr(path_ops, "ls", lambda d: listed.append(1) or original_ls(d))
    for _ in range(50):  # a round of writes, many times a second
        manager._purge_expired_states()
    assert listed == [] and later.exists()

    now = time.monotonic()
    monkeypatch.setattr(time, "monotonic", lambda: now + state_files.PURGE_EVERY_S + 1)
    manager._purge_expired_states()
    assert listed == [1] and not later.exists() and fresh.exists()
