"""A chat send's write is announced to the helper processes as its event arrives
(state/write_ahead.py)."""

from __future__ import annotations

import asyncio
import fcntl
from pathlib import Path
from typing import Any

import pytest
from reflex.app import EventNamespace

from mentor_app import db as db_module
from state import write_ahead
from state.journey import PairChatFormState

SEND = f"{PairChatFormState.get_full_name()}.send"


def _marked(database: Path) -> bool:
    """Whether the worker's mark that a writer of it waits (`<database>-waiting`) is held:
    what a helper process looks at before it takes the writers' turn."""
    with open(f"{database}-waiting", "a+b") as probe:
        try:
            fcntl.flock(probe.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(probe.fileno(), fcntl.LOCK_UN)
        return False


@pytest.mark.sqlite_only(reason="the writers' turn of SQLite")
def test_a_chat_send_announces_its_write_as_it_arrives_and_for_a_moment_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "a.db"
    engine = db_module.make_engine(f"sqlite:///{database}")
    monkeypatch.setattr(db_module, "get_engine", lambda: engine)
    handled: list[str] = []

    async def reflex_on_event(_self: Any, _sid: str, data: Any) -> None:
        handled.append(data["name"])

    monkeypatch.setattr(EventNamespace, "on_event", reflex_on_event)
    write_ahead.install()
    write_ahead.install()  # once only
    namespace = EventNamespace.__new__(EventNamespace)

    async def arrive() -> tuple[bool, bool, bool]:
        await namespace.on_event("sid", {"name": "state.other_state.save", "payload": {}})
        other = _marked(database)
        await namespace.on_event("sid", {"name": SEND, "payload": {"form": {}}})
        during = _marked(database)
        await asyncio.sleep(write_ahead.ANNOUNCED_FOR_S + 0.05)
        return other, during, _marked(database)

    other, during, after = asyncio.run(arrive())
    assert handled == ["state.other_state.save", SEND]  # Reflex still handles both
    assert (other, during, after) == (False, True, False)
    # The name the page sends for the chat's Send is the one announced.
    assert write_ahead.announces({"name": SEND})
    assert not write_ahead.announces("not a dict")
    engine.dispose()


def test_on_postgresql_nothing_is_announced(pg_engine: Any) -> None:
    assert db_module.announce_write(pg_engine) is None
