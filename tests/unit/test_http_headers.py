"""The security headers' values and rules, without a server: HSTS only on an https origin,
a script policy with no inline scripts but the built pages' own, and the websocket left
alone by the middleware."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from base64 import b64encode
from hashlib import sha256
from pathlib import Path
from typing import Any

import pytest

from mentor_app import http_headers
from mentor_app.http_headers import (
    SecurityHeaders,
    content_security_policy,
    inline_script_hashes,
    security_headers,
)
from mentor_app.settings import Settings, settings
from tests.support.loops import run_in_own_loop


def _config(origin: str, *more: str) -> Settings:
    return dataclasses.replace(settings, app_origin=origin, allowed_origins=(origin, *more))


def _directives(policy: str) -> dict[str, list[str]]:
    parts = [part.split() for part in policy.split(";")]
    return {words[0]: words[1:] for words in parts if words}


def _digest(text: str) -> str:
    return b64encode(sha256(text.encode()).digest()).decode()


def test_strict_transport_security_is_sent_only_when_the_origin_is_https() -> None:
    assert "Strict-Transport-Security" not in security_headers(_config("http://localhost:8000"))
    https = security_headers(_config("https://mentor.example.org"))
    assert https["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_every_other_header_has_its_strict_value() -> None:
    headers = security_headers(_config("http://localhost:8000"))
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    permissions = dict(item.split("=") for item in headers["Permissions-Policy"].split(", "))
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert permissions[feature] == "()"


def test_policy_allows_no_inline_script_but_the_built_pages_own() -> None:
    policy = _directives(content_security_policy(_config("http://localhost:8000"), {"abc="}))
    assert policy["script-src"] == ["'self'", "'unsafe-eval'", "'sha256-abc='"]
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]


def test_websocket_may_reach_the_app_origin_and_the_allowed_origins_only() -> None:
    config = _config("https://mentor.example.org", "http://10.0.0.2:8000")
    policy = _directives(content_security_policy(config))
    assert policy["connect-src"] == [
        "'self'",
        "https://mentor.example.org",
        "wss://mentor.example.org",
        "http://10.0.0.2:8000",
        "ws://10.0.0.2:8000",
    ]


def test_an_ipv6_literal_origin_is_left_to_self_since_csp_cannot_name_it() -> None:
    config = _config("http://localhost:8000", "http://127.0.0.1:8000", "http://[::1]:8000")
    connect = _directives(content_security_policy(config))["connect-src"]
    assert connect == [
        "'self'",
        "http://localhost:8000",
        "ws://localhost:8000",
        "http://127.0.0.1:8000",
        "ws://127.0.0.1:8000",
    ]


def test_inline_script_hashes_cover_every_built_page_and_skip_external_scripts(
    tmp_path: Path,
) -> None:
    (tmp_path / "login").mkdir()
    (tmp_path / "index.html").write_text(
        '<html><head><script>window.a = "<b>";</script>'
        '<script type="module" async="">import "/assets/x.js";</script>'
        '<script src="/assets/y.js"></script></head></html>'
    )
    (tmp_path / "login" / "index.html").write_text("<script>$RC('B:1','S:1')</script>")
    assert inline_script_hashes(tmp_path) == {
        _digest('window.a = "<b>";'),
        _digest('import "/assets/x.js";'),
        _digest("$RC('B:1','S:1')"),
    }


def _run(app: SecurityHeaders, scope: dict[str, Any]) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: Any) -> None:
        sent.append(message)

    run_in_own_loop(app(scope, receive, send))
    return sent


async def _page_with_own_referrer_policy(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.accept", "headers": []})
        return
    await send(
        {
            "type": "http.response.start",
            "status": 404,
            "headers": [(b"content-type", b"text/html"), (b"referrer-policy", b"no-referrer")],
        }
    )
    await send({"type": "http.response.body", "body": b"not found"})


def test_middleware_adds_the_headers_to_http_responses_and_leaves_the_websocket_alone(
    tmp_path: Path,
) -> None:
    app = SecurityHeaders(
        _page_with_own_referrer_policy, config=_config("http://localhost:8000"), static_dir=tmp_path
    )
    start, body = _run(app, {"type": "http", "path": "/nope", "headers": []})
    headers = dict(start["headers"])
    assert start["status"] == 404 and body["body"] == b"not found"
    assert headers[b"x-frame-options"] == b"DENY"
    assert headers[b"content-security-policy"].startswith(b"default-src 'self'")
    # A response that chose its own value keeps it, once.
    assert [v for k, v in start["headers"] if k == b"referrer-policy"] == [b"no-referrer"]

    (accept,) = _run(app, {"type": "websocket", "path": "/_event", "headers": []})
    assert accept == {"type": "websocket.accept", "headers": []}


def test_a_slow_answer_is_logged_with_its_path_and_time_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    app = SecurityHeaders(
        _page_with_own_referrer_policy, config=_config("http://localhost:8000"), static_dir=tmp_path
    )
    with caplog.at_level(logging.WARNING, logger="mentor_app.http_headers"):
        _run(app, {"type": "http", "method": "GET", "path": "/groups?t=secret", "headers": []})
        assert caplog.messages == []  # quick: nothing logged
        monkeypatch.setattr(http_headers, "SLOW_REQUEST_S", -1.0)  # every answer counts as slow
        _run(app, {"type": "http", "method": "GET", "path": "/groups", "headers": []})
    [line] = caplog.messages
    assert line.startswith("Slow request: GET /groups took ") and line.endswith(" s")


async def _answers_then_hangs(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 307, "headers": []})
    await send({"type": "http.response.body", "body": b""})
    await asyncio.sleep(0.3)  # the app has answered but its call has not returned


def test_a_request_still_running_is_logged_while_it_runs_and_says_if_it_had_answered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    app = SecurityHeaders(
        _answers_then_hangs, config=_config("http://localhost:8000"), static_dir=tmp_path
    )
    with caplog.at_level(logging.WARNING, logger="mentor_app.http_headers"):
        _run(app, {"type": "http", "method": "GET", "path": "/groups", "headers": []})
        assert caplog.messages == []  # ended before STUCK_REQUEST_S
        monkeypatch.setattr(http_headers, "STUCK_REQUEST_S", 0.1)
        monkeypatch.setattr(http_headers, "SLOW_REQUEST_S", 60.0)
        _run(app, {"type": "http", "method": "GET", "path": "/groups", "headers": []})
    assert caplog.messages == ["Request still running after 0 s (answered 307): GET /groups"]


def test_a_redirect_closes_its_connection_and_other_answers_keep_theirs(tmp_path: Path) -> None:
    redirect = SecurityHeaders(
        _answers_then_hangs, config=_config("http://localhost:8000"), static_dir=tmp_path
    )
    start, _body = _run(
        redirect, {"type": "http", "method": "GET", "path": "/groups", "headers": []}
    )
    assert start["status"] == 307 and (b"connection", b"close") in start["headers"]

    page = SecurityHeaders(
        _page_with_own_referrer_policy, config=_config("http://localhost:8000"), static_dir=tmp_path
    )
    start, _body = _run(page, {"type": "http", "path": "/nope", "headers": []})
    assert all(name != b"connection" for name, _ in start["headers"])
