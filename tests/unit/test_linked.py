"""How a shared state's changes reach the other tabs linked to it (state/linked.py).

`clean_and_send` notes the fields each answer of an event changed and sends them, once, to
the other linked tabs as the event lets go of the state's lock, with the values the state
holds then. Meanwhile the state looks unchanged and untouched to Reflex, whose own relay
(lock, load and save every other tab's tree) then finds nothing to do; its "touched" mark
is put back before it is saved. And a pair's page and the bell read what they put in their
shared states only once they hold their locks.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest

import state.linked as linked
from state.notifications import BellState
from state.session import SessionState
from tests.support.loops import run_in_own_loop

CHAT = "state.pair_chat_state"


@dataclass
class FakeShared:
    """What `clean_and_send` reads of a shared state patched into a tab's tree."""

    tab: str
    linked_from: set[str]
    values: dict[str, Any] = field(default_factory=dict)
    dirty_vars: set[str] = field(default_factory=set)
    _was_touched: bool = False
    _previous_dirty_vars: set[str] | None = None
    cleaned: int = 0

    def __post_init__(self) -> None:
        self._exit_stack: contextlib.AsyncExitStack | None = None

    # Reflex's side.
    @property
    def _linked_from(self) -> set[str]:
        return self.linked_from

    @property
    def rx_router_session(self) -> SimpleNamespace:
        return SimpleNamespace(client_token=self.tab)

    def _linked_locks_holder(self) -> FakeShared:
        return self

    def _get_root_state(self) -> FakeShared:
        return self

    def get_full_name(self) -> str:
        return CHAT

    def get_value(self, name: str) -> Any:
        return self.values[name]

    # What a handler does.
    def set(self, **values: Any) -> None:
        self.values.update(values)
        self.dirty_vars |= set(values)
        self._was_touched = True

    def clean(self) -> None:
        """Resolving an answer of the event: Reflex calls `_clean`."""
        linked.clean_and_send(self)


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[dict[str, Any], set[str]]]:
    calls: list[tuple[dict[str, Any], set[str]]] = []

    async def record(delta: dict[str, Any], tabs: set[str]) -> set[str]:
        calls.append((delta, tabs))
        return set()

    def base_clean(state: FakeShared) -> None:  # what Reflex's own `_clean` does
        state.cleaned += 1
        state.dirty_vars = set()

    monkeypatch.setattr(linked, "send_to_tabs", record)
    monkeypatch.setattr(linked.SharedStateBaseInternal, "_clean", base_clean)

    # Every tab here is signed in (which tabs still may be: tests below, on a database).
    async def entitled(state: FakeShared) -> set[str]:
        return set(state.linked_from)

    monkeypatch.setattr(linked, "_tabs_still_entitled", entitled)
    return calls


async def _event(state: FakeShared, handler: Any, *, fail: bool = False) -> dict[str, Any]:
    """Hold the state's lock as Reflex does (an exit stack), run the handler, and report
    what Reflex's relay would see at the end of the event, before the locks are let go."""
    seen: dict[str, Any] = {}
    with contextlib.suppress(RuntimeError):
        async with contextlib.AsyncExitStack() as stack:
            state._exit_stack = stack
            handler(state)
            seen = {
                "touched": state._was_touched,
                "previous dirty vars": state._previous_dirty_vars,
            }
            if fail:
                raise RuntimeError("the event failed")
    state._exit_stack = None
    return seen


def test_changes_of_every_answer_go_once_to_the_other_tabs_with_the_last_values(
    sent: list[tuple[dict[str, Any], set[str]]],
) -> None:
    chat = FakeShared("mentor-tab", {"mentor-tab", "mentee-tab", "mentor-tab-2"})

    def handler(state: FakeShared) -> None:
        state.set(messages=["hi"], _cursor=1)
        state.clean()  # a first answer (the handler yields)
        state.set(messages=["hi", "there"], can_send=True)
        state.clean()

    relay_sees = run_in_own_loop(_event(chat, handler))

    assert sent == [
        (
            {CHAT: {"messages_rx_state_": ["hi", "there"], "can_send_rx_state_": True}},
            {"mentee-tab", "mentor-tab-2"},
        )
    ]
    # Reflex's own relay finds nothing changed and nothing touched ...
    assert relay_sees == {"touched": False, "previous dirty vars": None}
    # ... and the state is touched again by the time its lock is let go: it is saved.
    assert chat._was_touched is True
    assert chat.cleaned == 2


def test_an_event_that_changed_nothing_shown_sends_nothing_but_is_still_saved(
    sent: list[tuple[dict[str, Any], set[str]]],
) -> None:
    chat = FakeShared("mentee-tab", {"mentor-tab", "mentee-tab"})

    def handler(state: FakeShared) -> None:
        state.set(_cursor=5)  # server-side only
        state.clean()

    run_in_own_loop(_event(chat, handler))
    assert sent == []
    assert chat._was_touched is True


def test_a_failed_event_sends_nothing(sent: list[tuple[dict[str, Any], set[str]]]) -> None:
    chat = FakeShared("mentor-tab", {"mentor-tab", "mentee-tab"})

    def handler(state: FakeShared) -> None:
        state.set(messages=["never"])
        state.clean()

    run_in_own_loop(_event(chat, handler, fail=True))
    assert sent == []


def test_each_event_sends_only_its_own_changes(
    sent: list[tuple[dict[str, Any], set[str]]],
) -> None:
    chat = FakeShared("mentor-tab", {"mentor-tab", "mentee-tab"})

    def first(state: FakeShared) -> None:
        state.set(messages=["one"], has_earlier=False)
        state.clean()

    def second(state: FakeShared) -> None:
        state.set(messages=["one", "two"])
        state.clean()

    run_in_own_loop(_event(chat, first))
    run_in_own_loop(_event(chat, second))
    assert [delta for delta, _ in sent] == [
        {CHAT: {"messages_rx_state_": ["one"], "has_earlier_rx_state_": False}},
        {CHAT: {"messages_rx_state_": ["one", "two"]}},
    ]


def test_outside_a_locked_event_nothing_is_noted(
    sent: list[tuple[dict[str, Any], set[str]]],
) -> None:
    chat = FakeShared("mentor-tab", {"mentor-tab", "mentee-tab"})
    chat.set(messages=["x"])
    chat.clean()  # no exit stack: Reflex is not relaying anything either
    assert sent == []
    assert chat._was_touched is True


# --- reading a pair's shared states: after linking, under their locks ------------------------


class FakePairPage:
    """What `PairPageState._reload` uses of its tab, recording the order of what it does."""

    def __init__(self, steps: list[str]) -> None:
        self.steps = steps
        self.not_found = False
        self.pair: dict[str, Any] = {}

    def _pair_id(self) -> int:
        return 7

    _with_user = SessionState._with_user  # the real one: `_as_user` below, in a thread

    @contextlib.contextmanager
    def _as_user(self) -> Any:
        yield SimpleNamespace(), SimpleNamespace(id=1)

    async def _live(self, access: Any) -> Any:
        assert access == "proof"
        self.steps.append("link journey (its lock)")
        return SimpleNamespace(_apply=lambda view: self.steps.append("show journey"))

    async def _chat(self, access: Any) -> Any:
        assert access == "proof"
        self.steps.append("link chat (its lock)")
        return SimpleNamespace(_apply_chat=lambda snap: self.steps.append("show chat"))

    def _show(self, view: Any, me: Any) -> None:
        self.steps.append("show page")


def test_a_pair_page_reads_the_journey_and_chat_only_once_it_holds_their_locks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A message the partner commits while this tab reloads must not be overwritten by an
    older copy read before the lock (the partner commits first, then takes the lock)."""
    import state.journey as page

    steps: list[str] = []

    def step(name: str) -> Any:
        return lambda *args, **kwargs: steps.append(name)

    def check(*args: Any, **kwargs: Any) -> str:
        steps.append("check membership")
        return "proof"

    monkeypatch.setattr(page, "access_pair", check)
    monkeypatch.setattr(page.journey, "get_journey", step("read journey"))
    monkeypatch.setattr(page, "chat_snapshot", step("read chat"))
    monkeypatch.setattr(page.presence, "mark_conversation_read", step("note chat read"))

    run_in_own_loop(page.PairPageState.__dict__["_reload"](FakePairPage(steps)))
    assert steps == [
        "check membership",  # nobody is linked to a pair they are not a member of
        "link journey (its lock)",
        "link chat (its lock)",
        "read journey",
        "read chat",
        "note chat read",
        "show page",
        "show journey",
        "show chat",
    ]


class FakeBellTab:
    """What `BellState.connect` uses of its tab, recording the order of what it does."""

    def __init__(self, steps: list[str]) -> None:
        self.steps = steps
        self.connected = False

    _with_user = SessionState._with_user  # the real one: `_as_user` below, in a thread

    @contextlib.contextmanager
    def _as_user(self) -> Any:
        self.steps.append("resolve the user")
        yield SimpleNamespace(), SimpleNamespace(id=3)

    _reading_as_user = _as_user  # the bell only reads
    _connect = BellState._connect  # the real one, which `connect` awaits


def test_the_bell_counts_only_once_it_holds_its_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    import state.notifications as bell

    steps: list[str] = []

    def count(_db: Any, *, user_ids: list[int]) -> dict[int, int]:
        steps.append("count unread")
        return dict.fromkeys(user_ids, 2)

    monkeypatch.setattr(bell.notifications, "unread_counts", count)

    async def link(tab: Any, cls: Any, access: Any) -> Any:
        steps.append(f"link {cls.link_token(access)} (its lock)")
        return SimpleNamespace(unread=0, _read=False)

    monkeypatch.setattr(bell, "link", link)
    monkeypatch.setattr(bell, "_bell_first", lambda state: None)
    monkeypatch.setattr(bell, "read_scope", lambda: contextlib.nullcontext(None))
    tab = FakeBellTab(steps)
    connect = bell.BellState.__dict__["connect"]
    run_in_own_loop(getattr(connect, "fn", connect)(tab))
    assert steps == ["resolve the user", "link user-3 (its lock)", "count unread"]
    assert tab.connected is True


# --- which tabs still may: the session that linked each one must be live -----------------


@dataclass
class FakeLinked:
    """What the senders read and prune of a shared state: its tabs and their sessions."""

    _linked_from: set[str]
    _tab_sessions: dict[str, str]
    _was_touched: bool = False


def test_tabs_whose_session_ended_are_dropped_before_anything_is_sent(
    db: Any, engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mentor_app.db import single_select
    from mentor_app.services import sessions
    from tests.factories import make_user

    mentor, mentee = make_user(db), make_user(db)
    keep = sessions.create_session(db, user=mentor)
    gone = sessions.create_session(db, user=mentee)
    db.commit()
    key = sessions.live_session(db, token=keep)
    dead = sessions.live_session(db, token=gone)
    assert key is not None and dead is not None
    shared = FakeLinked(
        {"mentor-tab", "mentee-tab", "never-recorded-tab"},
        {"mentor-tab": key[0], "mentee-tab": dead[0], "closed-long-ago": key[0]},
    )
    monkeypatch.setattr(linked, "single_select", lambda: single_select(engine))
    # Both live: both may (the tab with no session on record may not).
    assert asyncio.run(linked._tabs_still_entitled(shared)) == {"mentor-tab", "mentee-tab"}

    sessions.end_session(db, token=gone)  # the mentee logs out
    db.commit()
    assert asyncio.run(linked._tabs_still_entitled(shared)) == {"mentor-tab"}
    # ... and the state forgets the tab, so its list of tabs does not grow forever.
    assert shared._linked_from == {"mentor-tab"}
    assert shared._tab_sessions == {"mentor-tab": key[0]}
    assert shared._was_touched  # saved as the event lets go


def test_a_tab_with_no_socket_any_more_is_forgotten_after_a_send(
    sent: list[tuple[dict[str, Any], set[str]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    chat = FakeShared("mentor-tab", {"mentor-tab", "mentee-tab", "closed-tab"})
    chat._tab_sessions = {"mentor-tab": "a", "mentee-tab": "b", "closed-tab": "c"}  # type: ignore[attr-defined]

    async def closed_tab_is_gone(delta: dict[str, Any], tabs: set[str]) -> set[str]:
        sent.append((delta, tabs))
        return {"closed-tab"}

    monkeypatch.setattr(linked, "send_to_tabs", closed_tab_is_gone)

    def handler(state: FakeShared) -> None:
        state.set(messages=["hi"])
        state.clean()

    run_in_own_loop(_event(chat, handler))
    assert sent[-1][1] == {"mentee-tab", "closed-tab"}
    assert chat.linked_from == {"mentor-tab", "mentee-tab"}
    assert chat._tab_sessions == {"mentor-tab": "a", "mentee-tab": "b"}  # type: ignore[attr-defined]
