"""Security headers on every HTTP response the app serves (pages, built assets, /ping, API
routes, 404s): a pure-ASGI wrapper handed to `rx.App(api_transformer=...)`. Websocket
scopes (the /_event socket) pass through untouched."""

from __future__ import annotations

import asyncio
import logging
import time
from base64 import b64encode
from collections.abc import Iterable
from hashlib import sha256
from html.parser import HTMLParser
from pathlib import Path

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mentor_app.settings import Settings, settings

logger = logging.getLogger(__name__)
SLOW_REQUEST_S = 2.0  # an HTTP answer slower than this is logged (path and time, nothing else)
STUCK_REQUEST_S = 10.0  # a request still running this long is logged while it runs

HSTS = "max-age=31536000; includeSubDomains"

# Features the app never uses, turned off for it and for anything it might embed. Only
# names Chromium recognises: an unknown one is logged as an error on every page.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "hid",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "serial",
        "usb",
    )
)


def content_security_policy(config: Settings, script_hashes: Iterable[str] = ()) -> str:
    """The policy of every response. The compiled frontend needs two relaxations:

    - script-src 'unsafe-eval': Reflex runs what a handler returns for the browser
      (rx.call_script, rx.toast, rx.scroll_to, rx.download...) by eval() of the JavaScript
      text that arrives over the websocket (reflex_base/.templates/web/utils/state.js,
      `_call_script`/`_call_function`/`_download`). The pair page's browser time zone,
      the database-busy toast, the moderation queue's scroll and the CSV export use it.
      Inline scripts are NOT allowed: the prerendered pages' own inline scripts (theme,
      React Router's context and module loader, React's streaming helpers) are allowed
      one by one by their sha256, read from the built pages at the first request.
    - style-src 'unsafe-inline': Emotion (Reflex's `style=`/`css` props) and the
      prerendered pages put <style> elements in the document, whose text varies at run
      time (no hash can name them); styles run no code, and img-src/font-src keep them
      from loading anything from elsewhere.
    """
    connect = ["'self'"]
    for origin in dict.fromkeys((config.app_origin, *config.allowed_origins)):
        if "[" in origin:
            # CSP's host grammar has no IPv6 literal: Chromium reports `http://[::1]:8000` as
            # an invalid source. A page opened there reaches its own origin through 'self'.
            continue
        connect += [origin, _websocket_origin(origin)]
    hashes = [f"'sha256-{digest}'" for digest in sorted(set(script_hashes))]
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'", "'unsafe-eval'", *hashes],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": list(dict.fromkeys(connect)),
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


def security_headers(config: Settings, script_hashes: Iterable[str] = ()) -> dict[str, str]:
    headers = {
        "Content-Security-Policy": content_security_policy(config, script_hashes),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Permissions-Policy": PERMISSIONS_POLICY,
        "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "same-origin",
    }
    # Over plain http the header is ignored by browsers, and on a local http origin it
    # would only confuse: sent when the app's public origin is https.
    if config.app_origin.startswith("https://"):
        headers["Strict-Transport-Security"] = HSTS
    return headers


def _websocket_origin(origin: str) -> str:
    scheme, sep, rest = origin.partition("://")
    return f"{'wss' if scheme == 'https' else 'ws'}{sep}{rest}"


class _InlineScripts(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.bodies: list[str] = []
        self._current: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script" and not any(name == "src" for name, _ in attrs):
            self._current = []

    def handle_data(self, data: str) -> None:
        if self._current is not None:
            self._current.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._current is not None:
            self.bodies.append("".join(self._current))
            self._current = None


def inline_script_hashes(static_dir: Path) -> set[str]:
    """The base64 sha256 of every inline <script> in the built pages, as CSP wants them."""
    digests = set()
    for page in static_dir.rglob("*.html"):
        parser = _InlineScripts()
        parser.feed(page.read_text(encoding="utf-8"))
        parser.close()
        digests |= {b64encode(sha256(body.encode()).digest()).decode() for body in parser.bodies}
    return digests


class SecurityHeaders:
    """Adds the headers to each HTTP response that does not set one of them itself."""

    def __init__(self, app: ASGIApp, *, config: Settings, static_dir: Path | None) -> None:
        self.app = app
        self.config = config
        self.static_dir = static_dir
        self._headers: list[tuple[bytes, bytes]] | None = None

    def headers(self) -> list[tuple[bytes, bytes]]:
        if self._headers is not None:
            return self._headers
        hashes = inline_script_hashes(self.static_dir) if self.static_dir else set()
        headers = [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in security_headers(self.config, hashes).items()
        ]
        if hashes or self.static_dir is None:
            self._headers = headers  # else the pages are not built yet: read them next time
        return headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ours = self.headers()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in ours if name not in present]
                if 300 <= int(message.get("status", 200)) < 400 and b"connection" not in present:
                    # A redirect's follow-up goes on a fresh connection. Tried against the
                    # browser's request for /groups/ after a log-in's 307 hanging unanswered
                    # (about once in 100 log-ins under load); it did not stop that hang.
                    headers.append((b"connection", b"close"))
                message = {**message, "headers": headers}
            await send(message)

        started = time.monotonic()
        answered: list[int] = []

        async def send_noting_answer(message: Message) -> None:
            if message["type"] == "http.response.start":
                answered.append(int(message.get("status", 0)))
            await send_with_headers(message)

        def still_running() -> None:
            logger.warning(
                "Request still running after %.0f s (%s): %s %s",
                STUCK_REQUEST_S,
                f"answered {answered[0]}" if answered else "not answered yet",
                scope.get("method"),
                scope.get("path"),
            )

        # A request that never ends is logged while it hangs (the slow-request line below
        # comes only when it ends), and whether it had sent its answer already.
        watch = asyncio.get_running_loop().call_later(STUCK_REQUEST_S, still_running)
        try:
            await self.app(scope, receive, send_noting_answer)
        finally:
            watch.cancel()
        took = time.monotonic() - started
        if took > SLOW_REQUEST_S:
            logger.warning(
                "Slow request: %s %s took %.1f s", scope.get("method"), scope.get("path"), took
            )


def frontend_static_dir() -> Path:
    """Where `reflex run --env prod` puts the built pages it serves (as reflex.utils.exec's
    get_frontend_mount finds them)."""
    from reflex.utils import prerequisites
    from reflex_base import constants
    from reflex_base.config import get_config

    frontend_path = get_config().frontend_path.strip("/")
    return prerequisites.get_web_dir() / constants.Dirs.STATIC / frontend_path


def with_security_headers(app: ASGIApp) -> ASGIApp:
    """The app's api_transformer."""
    return SecurityHeaders(app, config=settings, static_dir=frontend_static_dir())
