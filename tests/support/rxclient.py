"""A protocol-level Reflex client: talks to the app's websocket the way the browser does,
without a browser, to send crafted events and read what the server answers.

What it does, like `.web/utils/state.js` (Reflex 0.10.1):

- connects a Socket.IO client to `<base_url>/_event` over the websocket transport, with
  the tab token in the query (`?token=<uuid>`), an `Origin` header (the app's own origin
  unless told otherwise) and a `Cookie: mc_session=...` header when it has a session
  (the server reads the session from that header only: it is an HttpOnly cookie);
- hydrates in the CONNECT packet (`auth={"event": hydrate_and_load}`);
- logs in as the page does: POST /auth/login, keep the cookie it sets, then load the next
  page afresh (a new socket, same tab token), since a socket knows only the cookie it
  was opened with;
- sends events as `{"name": "<full state name>.<handler>", "payload": {...},
  "router_data": {"pathname", "asPath", "query"}}` on the "event" channel;
- merges every delta it receives into `state` (full substate name -> {var: value}), keeps
  each raw update in `updates`, and re-sends the backend events an update asks for (an
  `on_load` chain, a handler returning another handler) as the browser's event queue does;
  frontend-only events (`_redirect`, `_call_script`...) are recorded in
  `frontend_events`, redirects (and full page loads, `window.location.assign`) also in
  `redirects` (not followed: call `navigate`).

Reflex sends no "done" marker for an event, so `call` waits until the server has been
quiet for `quiet` seconds (or `until` holds); `wait_for` waits for any condition on the
merged state. Without waiting on time: the events of one tab are handled one after the
other, so `barrier()` sends a cheap event whose answer is recognisable and waits for it;
`drain()` repeats barriers until one finds nothing else arrived before it (an event's
follow-ups, e.g. an on_load chain, are queued behind the first barrier).

Two APIs, same methods:

    # sync (tests): the client runs its own event loop in a thread
    with ReflexClient(server.url) as c:
        c.log_in("ada@example.com", "correct horse")     # the real POST /auth/login
        c.navigate("/pairs/3")                           # on_load handlers run
        c.call(handler(PairChatFormState, "send"), {"form": {...}})
        c.var("pair_chat_form_state.chat_error")              # by substate suffix + var name

    # async (benches): one event loop, many clients
    async with AsyncReflexClient(url, session_cookie=token) as c:
        await c.navigate("/pairs/3")

`handler(StateClass, "method")` gives the full event name from the app's own classes,
so it keeps up with renames; a plain string works too.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import socketio  # type: ignore[import-untyped]

FIELD_SUFFIX = "_rx_state_"
ROOT_STATE = "reflex___state____state"
HYDRATE = f"{ROOT_STATE}.hydrate_and_load"
UPDATE_VARS = f"{ROOT_STATE}.reflex___state____update_vars_internal_state.update_vars_internal"
ON_LOAD = f"{ROOT_STATE}.reflex___state____on_load_internal_state.on_load_internal"
SESSION_STATE = f"{ROOT_STATE}.state___session____session_state"
NAMESPACE = "/_event"  # Reflex serves its events on this namespace, at this path
SESSION_COOKIE = "mc_session"
FULL_LOAD = re.compile(r"^window\.location\.assign\((\".*\")\)$")
# The barrier: Reflex's own leaf handler that sets the root's `is_hydrated`, given a number
# no other event sets it to, so its answer can be told from every other frame.
BARRIER = f"{ROOT_STATE}.reflex___state____on_load_internal_state.set_is_hydrated"
BARRIER_VAR = f"is_hydrated{FIELD_SUFFIX}"


class ConnectRefused(Exception):
    """The server refused the websocket (e.g. a foreign Origin)."""


def handler(state_cls: Any, method: str) -> str:
    """The full event name of `state_cls.method`, as the compiled frontend names it."""
    return f"{state_cls.get_full_name()}.{method}"


def router_data(path: str) -> dict[str, Any]:
    parts = urlsplit(path)
    data: dict[str, Any] = {
        "pathname": parts.path or "/",
        "asPath": path,
    }
    query = dict(parse_qsl(parts.query))
    if query:
        data["query"] = query
    return data


class AsyncReflexClient:
    """One browser tab, at the protocol level. See the module docstring."""

    def __init__(
        self,
        base_url: str,
        *,
        session_cookie: str | None = None,
        origin: str | None = None,
        token: str | None = None,
        follow_backend_events: bool = True,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.origin = self.base_url if origin is None else origin
        self.token = token or str(uuid.uuid4())
        self.session_cookie = session_cookie
        self.follow_backend_events = follow_backend_events
        self.path = "/"
        self.state: dict[str, dict[str, Any]] = {}
        self.updates: list[dict[str, Any]] = []
        self.frontend_events: list[dict[str, Any]] = []
        self.redirects: list[str] = []
        self.last_answer: dict[str, Any] = {}
        self.disconnected = False
        self.barriers_answered: dict[int, int] = {}  # barrier number -> index in updates
        self._barrier_seq = 0
        self._last_update_at = 0.0
        self._changed: asyncio.Condition | None = None
        self._sio: Any = None

    # --- connection --------------------------------------------------------------

    async def connect(self, path: str = "/", *, timeout: float = 15) -> None:
        """Open the websocket on `path` (its on_load handlers run) and wait for the hydrate."""
        self.path = path
        self._changed = asyncio.Condition()
        self._sio = socketio.AsyncClient(reconnection=False, logger=False, engineio_logger=False)
        self._sio.on("event", self._on_update, namespace=NAMESPACE)
        self._sio.on("new_token", self._on_new_token, namespace=NAMESPACE)
        self._sio.on("disconnect", self._on_disconnect, namespace=NAMESPACE)
        headers = {"Origin": self.origin} if self.origin else {}
        if self.session_cookie:
            headers["Cookie"] = f"{SESSION_COOKIE}={self.session_cookie}"
        boot = self._event(HYDRATE, {})
        try:
            await self._sio.connect(
                f"{self.base_url}?token={self.token}",
                headers=headers,
                transports=["websocket"],
                socketio_path="/_event",
                namespaces=[NAMESPACE],
                auth={"event": boot},
                wait_timeout=timeout,
            )
        except socketio.exceptions.ConnectionError as error:
            raise ConnectRefused(str(error)) from error
        await self.wait_for(lambda c: bool(c.state), timeout=timeout)
        await self.settle()

    async def close(self) -> None:
        if self._sio is not None and self._sio.connected:
            await self._sio.disconnect()

    async def __aenter__(self) -> AsyncReflexClient:
        await self.connect(self.path)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def connected(self) -> bool:
        return bool(self._sio is not None and self._sio.connected)

    # --- sending -----------------------------------------------------------------

    async def emit(self, name: str, payload: dict[str, Any] | None = None) -> None:
        """Send one event and return at once (nothing awaited from the server)."""
        assert self._sio is not None, "connect() first"
        await self._sio.emit("event", self._event(name, payload or {}), namespace=NAMESPACE)

    async def call(
        self,
        name: str,
        payload: dict[str, Any] | None = None,
        *,
        quiet: float = 0.4,
        timeout: float = 15,
        until: Callable[[AsyncReflexClient], bool] | None = None,
    ) -> list[dict[str, Any]]:
        """Send one event, wait for its answers, return the updates that arrived meanwhile.

        Waits until `until(self)` holds, or else until the server has been quiet for
        `quiet` seconds."""
        first = len(self.updates)
        self._last_update_at = time.monotonic()
        await self.emit(name, payload)
        if until is not None:
            await self.wait_for(until, timeout=timeout)
        await self.settle(quiet=quiet, timeout=timeout)
        return self.updates[first:]

    async def barrier(self, *, timeout: float = 30) -> int:
        """Send a barrier event and wait for its answer: every event this tab sent before
        has been handled, and its answers have arrived. Returns the answer's index in
        `updates`."""
        self._barrier_seq += 1
        number = 1_000_000 + self._barrier_seq  # never a bool, never a real value
        await self.emit(BARRIER, {"value": number})
        await self.wait_for(lambda c: number in c.barriers_answered, timeout=timeout)
        return self.barriers_answered[number]

    async def drain(self, *, max_rounds: int = 5, timeout: float = 30) -> None:
        """Barriers until one finds that no other frame arrived since the previous one:
        the events sent so far and the follow-ups they queued are all answered."""
        start = len(self.updates)
        for _ in range(max_rounds):
            answered = await self.barrier(timeout=timeout)
            others = [u for u in self.updates[start:answered] if not self.is_barrier_answer(u)]
            if not others:
                return
            start = answered + 1

    @staticmethod
    def is_barrier_answer(update: dict[str, Any]) -> bool:
        value = (update.get("delta") or {}).get(ROOT_STATE, {}).get(BARRIER_VAR)
        return type(value) is int and value > 1_000_000

    async def navigate(self, path: str, **kwargs: Any) -> list[dict[str, Any]]:
        """Go to `path` as a client-side navigation does: cookie vars, then its on_load."""
        self.path = path
        first = len(self.updates)
        await self.call(ON_LOAD, **kwargs)
        return self.updates[first:]

    async def post_form(self, path: str, form: dict[str, str]) -> httpx.Response:
        """POST a form to the app as its pages do (same Origin, this tab's cookie), keeping
        a session cookie the answer sets or clears."""
        cookies = {SESSION_COOKIE: self.session_cookie} if self.session_cookie else {}
        headers = {"Origin": self.origin} if self.origin else {}
        async with httpx.AsyncClient(base_url=self.base_url, cookies=cookies) as http:
            response = await http.post(path, data=form, headers=headers)
        if SESSION_COOKIE in response.cookies:
            self.session_cookie = response.cookies[SESSION_COOKIE] or None
        elif any(
            h.startswith(f"{SESSION_COOKIE}=") for h in response.headers.get_list("set-cookie")
        ):
            self.session_cookie = None  # cleared (an expired Set-Cookie)
        return response

    async def log_in(self, email: str, password: str, **kwargs: Any) -> bool:
        """Log in through the real endpoint; True when it accepted. The tab then loads the
        next page afresh (new socket, same tab token), as the page's script does."""
        before = self.session_cookie
        response = await self.post_form("/auth/login", {"email": email, "password": password})
        self.last_answer = response.json()
        if not self.last_answer.get("ok"):
            return False
        if self.connected and self.session_cookie != before:
            await self.reconnect(self.path if self.path != "/login" else "/groups", **kwargs)
        return True

    async def reconnect(self, path: str | None = None, **kwargs: Any) -> None:
        """A full page load: a new socket with the current cookie, the same tab token, and
        the page's state from scratch (what it shows comes from this load alone)."""
        await self.close()
        self.disconnected = False
        self.state = {}
        await self.connect(path or self.path, **kwargs)

    # --- reading -----------------------------------------------------------------

    def var(self, name: str, default: Any = None) -> Any:
        """A var by `<substate suffix>.<var>`: "pair_chat_form_state.chat_error",
        "session_state.signed_in", or a full substate name."""
        substate, _, var_name = name.rpartition(".")
        key = var_name + FIELD_SUFFIX
        for full, values in self.state.items():
            if (full == substate or full.endswith("_" + substate)) and key in values:
                return values[key]
        return default

    async def wait_for(
        self, predicate: Callable[[AsyncReflexClient], bool], *, timeout: float = 15
    ) -> None:
        assert self._changed is not None, "connect() first"
        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: predicate(self) or self.disconnected), timeout
            )
        if not predicate(self):
            raise ConnectionError("the server closed the websocket")

    async def settle(self, *, quiet: float = 0.4, timeout: float = 15) -> None:
        """Wait until no update has arrived for `quiet` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            idle = time.monotonic() - self._last_update_at
            if idle >= quiet:
                return
            await asyncio.sleep(quiet - idle)

    # --- internals ---------------------------------------------------------------

    def _event(self, name: str, payload: dict[str, Any]) -> dict[str, Any]:
        event: dict[str, Any] = {"name": name, "router_data": router_data(self.path)}
        if payload:
            event["payload"] = payload
        return event

    async def _on_update(self, update: dict[str, Any]) -> None:
        self._last_update_at = time.monotonic()
        self.updates.append(update)
        if self.is_barrier_answer(update):
            value = update["delta"][ROOT_STATE][BARRIER_VAR]
            self.barriers_answered[value] = len(self.updates) - 1
        for substate, values in (update.get("delta") or {}).items():
            self.state.setdefault(substate, {}).update(values)
        for event in update.get("events") or []:
            name = event.get("name", "")
            if name.startswith("_") or "." not in name:
                self.frontend_events.append(event)
                payload = event.get("payload") or {}
                if name == "_redirect":
                    self.redirects.append(payload.get("path", ""))
                if name == "_call_script" and (
                    found := FULL_LOAD.match(str(payload.get("javascript_code", "")))
                ):
                    self.redirects.append(json.loads(found.group(1)))
            elif self.follow_backend_events:
                await self.emit(name, event.get("payload") or {})
        if self._changed is not None:
            async with self._changed:
                self._changed.notify_all()

    async def _on_new_token(self, new_token: str) -> None:
        self.token = new_token

    async def _on_disconnect(self, *args: Any) -> None:
        self.disconnected = True
        if self._changed is not None:
            async with self._changed:
                self._changed.notify_all()


class ReflexClient:
    """The same client with a blocking API, for tests: its own event loop in a thread."""

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._client = self._run(_make(base_url, kwargs))

    def _run(self, coro: Coroutine[Any, Any, Any], timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    @property
    def client(self) -> AsyncReflexClient:
        return self._client

    def __getattr__(self, name: str) -> Any:
        # Plain attributes (state, updates, redirects, var...) read through.
        return getattr(self._client, name)

    def connect(self, path: str = "/", **kwargs: Any) -> ReflexClient:
        self._run(self._client.connect(path, **kwargs))
        return self

    def emit(self, name: str, payload: dict[str, Any] | None = None) -> None:
        self._run(self._client.emit(name, payload))

    def call(self, name: str, payload: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        return self._run(self._client.call(name, payload, **kwargs))

    def navigate(self, path: str, **kwargs: Any) -> Any:
        return self._run(self._client.navigate(path, **kwargs))

    def barrier(self, **kwargs: Any) -> int:
        return int(self._run(self._client.barrier(**kwargs)))

    def drain(self, **kwargs: Any) -> None:
        self._run(self._client.drain(**kwargs))

    def log_in(self, email: str, password: str, **kwargs: Any) -> bool:
        return bool(self._run(self._client.log_in(email, password, **kwargs)))

    def post_form(self, path: str, form: dict[str, str]) -> httpx.Response:
        return self._run(self._client.post_form(path, form))  # type: ignore[no-any-return]

    def reconnect(self, path: str | None = None, **kwargs: Any) -> None:
        self._run(self._client.reconnect(path, **kwargs))

    def wait_for(self, predicate: Callable[[AsyncReflexClient], bool], **kwargs: Any) -> None:
        self._run(self._client.wait_for(predicate, **kwargs))

    def settle(self, **kwargs: Any) -> None:
        self._run(self._client.settle(**kwargs))

    def close(self) -> None:
        try:
            self._run(self._client.close(), timeout=10)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)

    def __enter__(self) -> ReflexClient:
        if not self._client.connected:
            self.connect(self._client.path)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


async def _make(base_url: str, kwargs: dict[str, Any]) -> AsyncReflexClient:
    # Built inside the client's loop, so its Socket.IO client binds to that loop.
    return AsyncReflexClient(base_url, **kwargs)
