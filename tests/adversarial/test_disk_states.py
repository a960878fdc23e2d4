"""The embedded deployment with Reflex's disk state manager, an operator's choice
(REFLEX_STATE_MANAGER_MODE=disk; the default keeps tab states in the worker's memory,
rxconfig.py): no state file it writes holds the raw session token.

In a file of its own, with a server of its own, so that make test runs it in the lane of
the sweeps (the Makefile), which has time to spare, and not in the browser lane."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import Session

from mentor_app.db import make_engine
from state.session import SessionState
from tests.adversarial.test_session_cookie import (
    _browse,
    _leaks,
    _live_user,
    _pair,
    _settled_folder,
    _signed_in_tab,
    _state_file,
    _wait_for_state_files,
)
from tests.support.appserver import AppServer
from tests.support.rxclient import ROOT_STATE, ReflexClient


@pytest.fixture(scope="module")
def disk_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """The embedded deployment with Reflex's disk state manager, an operator's choice
    (REFLEX_STATE_MANAGER_MODE=disk): each tab's states are written to files."""
    app = AppServer(tmp_path_factory.mktemp("disk-states"), REFLEX_STATE_MANAGER_MODE="disk")
    app.start()
    yield app
    app.stop()


@pytest.mark.e2e
def test_with_the_disk_state_manager_no_state_file_holds_the_token(disk_app: AppServer) -> None:
    folder = disk_app.work_dir / "states"
    engine = make_engine(disk_app.database_url)
    clients: list[ReflexClient] = []

    def connect(path: str = "/", **kwargs: Any) -> ReflexClient:
        client = ReflexClient(disk_app.url, **kwargs)
        clients.append(client)
        return client.connect(path)

    try:
        with Session(engine, expire_on_commit=False) as db:
            pair_id, mentor, _mentee = _pair(db)
            tab, token = _signed_in_tab(connect, mentor, db)
            _browse(tab, pair_id)
            mine = [
                _state_file(folder, tab.token, ROOT_STATE),  # the router data is on each
                _state_file(folder, tab.token, SessionState.get_full_name()),
            ]
            _wait_for_state_files(mine, mentor.display_name.encode())
            files = _settled_folder(folder)
            # The scan finds the tab's own state: it reads what a leak would be written to.
            holding_name = [p for p, blob in files.items() if mentor.display_name.encode() in blob]
            assert set(mine) <= set(files) and holding_name, sorted(files)

            leaks = {str(p): found for p, blob in files.items() if (found := _leaks(blob, token))}
            assert leaks == {}
            assert _live_user(db, token) is not None
    finally:
        for client in clients:
            client.close()
        engine.dispose()
