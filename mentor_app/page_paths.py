"""A prerendered page is served at its own address, without a redirect to add a slash.

The production build writes each static page twice: `login/index.html` and `login.html`
(Reflex copies the first to the second so that `/login` and `/login/` both work). The
static files server finds the folder `login/` first, and answers `/login` with a 307 to
`/login/`: the address people type and the app's links cost a round trip before the page
starts to load (Lighthouse on a phone: about 600 ms of `/login`'s first load). This
wrapper sends a GET or HEAD of such an address (no slash at the end, no dot in its last
part) to the page's `.html` copy instead, when that copy exists. The address in the
browser stays as typed; React Router matches `/login` and `/login/` to the same page.
"""

from __future__ import annotations

from pathlib import Path

from starlette.types import ASGIApp, Receive, Scope, Send

from mentor_app.http_headers import frontend_static_dir


class PagePaths:
    def __init__(self, app: ASGIApp, *, static_dir: Path) -> None:
        self.app = app
        self.static_dir = static_dir

    def page_copy(self, path: str) -> str | None:
        """The `.html` copy of the prerendered page at `path`, or None."""
        if not path.startswith("/") or path.endswith("/") or "." in path.rsplit("/", 1)[-1]:
            return None
        parts = path[1:].split("/")
        if any(part in ("", "..") for part in parts):
            return None
        copy = self.static_dir.joinpath(*parts[:-1], parts[-1] + ".html")
        if copy.is_file() and (self.static_dir.joinpath(*parts) / "index.html").is_file():
            return path + ".html"
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("method") in ("GET", "HEAD"):
            copy = self.page_copy(scope["path"])
            if copy is not None:
                scope = {**scope, "path": copy, "raw_path": copy.encode()}
        await self.app(scope, receive, send)


def pages_without_redirect(app: ASGIApp) -> ASGIApp:
    """The api_transformer: wraps the backend, which serves the built frontend too."""
    return PagePaths(app, static_dir=frontend_static_dir())
