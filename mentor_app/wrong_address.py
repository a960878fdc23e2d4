"""A page asked for under an address its websocket would be refused at says so, and which
address to use instead.

With the default APP_ORIGIN (`http://localhost:PORT`), the app also answers as 127.0.0.1
and [::1] on that port (`settings.loopback_aliases`). Under any other name (the machine's
network address, its host name) the page would load, but its websocket would be refused
for its origin, and Reflex would show only "Cannot connect to server". Instead, a page
asked for under such a name gets a short page that names the address to open, and the
variable to set to serve the app under the name typed.

Only with the default APP_ORIGIN: once it is set, a reverse proxy in front may rewrite the
Host header, and the app cannot tell a wrong address from a proxied request."""

from __future__ import annotations

from html import escape
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from mentor_app.settings import Settings, settings

STATUS = 421  # Misdirected Request: this server does not serve that name


def page(typed: str, config: Settings) -> str:
    """The page shown at a wrong address (`typed`, the Host the browser sent)."""
    typed_origin = escape(f"http://{typed}")
    links = "".join(
        f'<li><a href="{escape(origin)}/">{escape(origin)}</a></li>'
        for origin in config.allowed_origins
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Open Mentor circles at its own address</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;
padding:0 1rem;color:#1a1a1a}}code{{background:#eef;padding:0 .2em}}a{{color:#0b5d57}}</style>
</head><body><main>
<h1>Open Mentor circles at its own address</h1>
<p>This server runs Mentor circles for <strong>{escape(config.app_origin)}</strong>. Under
<code>{typed_origin}</code> the page could not reach the server: its live connection is
accepted only from the app's own addresses.</p>
<p>On this computer, open one of these:</p>
<ul>{links}</ul>
<p>To use the app at <code>{typed_origin}</code> (from another device, say), start it with
<code>APP_ORIGIN={typed_origin}</code>, or add that address to
<code>MENTOR_ALLOWED_ORIGINS</code>, and restart it.</p>
</main></body></html>
"""


class WrongAddress:
    """The ASGI middleware: a page request (GET or HEAD that accepts HTML) whose Host is
    none of the allowed origins' gets `page` with status 421; anything else goes on."""

    def __init__(self, app: ASGIApp, *, config: Settings) -> None:
        self.app = app
        self.config = config
        self.hosts = {urlsplit(origin).netloc.lower() for origin in config.allowed_origins}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and self.config.default_origin
            and scope.get("method") in ("GET", "HEAD")
        ):
            headers = dict(scope.get("headers") or [])
            host = headers.get(b"host", b"").decode("latin-1").strip().lower()
            wants_page = b"text/html" in headers.get(b"accept", b"")
            if host and wants_page and host not in self.hosts:
                body = page(host, self.config).encode()
                await send(
                    {
                        "type": "http.response.start",
                        "status": STATUS,
                        "headers": [
                            (b"content-type", b"text/html; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()),
                            (b"cache-control", b"no-store"),
                        ],
                    }
                )
                await send(
                    {
                        "type": "http.response.body",
                        "body": b"" if scope["method"] == "HEAD" else body,
                    }
                )
                return
        await self.app(scope, receive, send)


def only_known_addresses(app: ASGIApp) -> ASGIApp:
    """For `rx.App(api_transformer=...)`."""
    return WrongAddress(app, config=settings)
