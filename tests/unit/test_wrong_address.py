"""Loopback names and wrong addresses: with the default APP_ORIGIN the app is also
localhost's other names on its port; a page asked for under any other name is told which
address to open, and which variable to set."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from mentor_app.settings import Settings, _origins, loopback_aliases, settings
from mentor_app.wrong_address import STATUS, WrongAddress
from tests.support.loops import run_in_own_loop

PAGE = b"text/html,application/xhtml+xml,*/*;q=0.8"


def test_localhost_brings_its_other_loopback_names_on_the_same_port_and_nothing_else() -> None:
    assert _origins("http://localhost:8000", "") == (
        "http://localhost:8000",
        "http://127.0.0.1:8000",
        "http://[::1]:8000",
    )
    assert loopback_aliases("http://localhost") == ["http://127.0.0.1", "http://[::1]"]
    # A public origin, or a loopback address typed as such, has no aliases.
    assert _origins("https://mentor.example.org", "http://10.0.0.2:8000") == (
        "https://mentor.example.org",
        "http://10.0.0.2:8000",
    )
    assert loopback_aliases("http://127.0.0.1:8000") == []


def test_load_allows_the_loopback_names_only_while_app_origin_is_left_to_its_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mentor_app.settings import load

    monkeypatch.delenv("APP_ORIGIN", raising=False)
    monkeypatch.delenv("MENTOR_ALLOWED_ORIGINS", raising=False)
    monkeypatch.setenv("PORT", "8123")
    default = load()
    assert default.default_origin
    assert default.allowed_origins == (
        "http://localhost:8123",
        "http://127.0.0.1:8123",
        "http://[::1]:8123",
    )
    monkeypatch.setenv("APP_ORIGIN", "https://mentor.example.org")
    chosen = load()
    assert not chosen.default_origin
    assert chosen.allowed_origins == ("https://mentor.example.org",)


def _config(default_origin: bool = True) -> Settings:
    return dataclasses.replace(
        settings,
        app_origin="http://localhost:8000",
        allowed_origins=_origins("http://localhost:8000", ""),
        default_origin=default_origin,
    )


def _ask(
    app: WrongAddress, host: str, *, accept: bytes = PAGE, method: str = "GET"
) -> tuple[int, bytes]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": method,
        "path": "/groups",
        "headers": [(b"host", host.encode()), (b"accept", accept)],
    }
    run_in_own_loop(app(scope, receive, send))
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return int(sent[0]["status"]), body


async def _the_app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"the app"})


def test_a_page_under_another_name_says_which_address_to_open_and_what_to_set() -> None:
    app = WrongAddress(_the_app, config=_config())
    for name in ("localhost:8000", "127.0.0.1:8000", "[::1]:8000", "LOCALHOST:8000"):
        assert _ask(app, name) == (200, b"the app")
    status, body = _ask(app, "192.168.1.20:8000")
    assert status == STATUS
    text = body.decode()
    assert "http://localhost:8000" in text and "http://127.0.0.1:8000" in text
    assert "APP_ORIGIN=http://192.168.1.20:8000" in text
    assert "MENTOR_ALLOWED_ORIGINS" in text
    assert '<html lang="en">' in text
    # The same port under another loopback address is another origin too.
    assert _ask(app, "127.0.0.2:8000")[0] == STATUS
    assert _ask(app, "localhost:9000")[0] == STATUS
    # The typed name is the browser's: it is escaped, never run.
    hostile = _ask(app, "<script>alert(1)</script>")[1].decode()
    assert "<script>" not in hostile and "&lt;script&gt;" in hostile
    assert _ask(app, "192.168.1.20:8000", method="HEAD") == (STATUS, b"")


def test_anything_but_a_page_and_any_origin_an_operator_chose_go_on_untouched() -> None:
    app = WrongAddress(_the_app, config=_config())
    # An API client, a health check, a script: no HTML asked for.
    assert _ask(app, "192.168.1.20:8000", accept=b"application/json") == (200, b"the app")
    assert _ask(app, "192.168.1.20:8000", accept=b"*/*") == (200, b"the app")
    assert _ask(app, "192.168.1.20:8000", method="POST") == (200, b"the app")
    # Once APP_ORIGIN is set, a proxy may rewrite Host: no check at all.
    chosen = WrongAddress(_the_app, config=_config(default_origin=False))
    assert _ask(chosen, "192.168.1.20:8000") == (200, b"the app")
