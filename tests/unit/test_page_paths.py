"""A prerendered page is served at its address without a slash (mentor_app/page_paths.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from starlette.types import Receive, Scope, Send

from mentor_app.page_paths import PagePaths


def _built(root: Path) -> Path:
    """The layout of Reflex's production build: each page as a folder and its copy."""
    for page in ("login", "groups", "deep/page"):
        (root / page).mkdir(parents=True)
        (root / page / "index.html").write_text(f"<title>{page}</title>")
        (root / f"{page}.html").write_text(f"<title>{page}</title>")
    (root / "assets").mkdir()
    (root / "assets" / "root.js").write_text("")
    (root / "only-a-folder").mkdir()  # no index.html: not a page
    return root


def _path_seen_for(root: Path, path: str, method: str = "GET", kind: str = "http") -> str:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["path"])
        assert scope.get("raw_path", scope["path"].encode()) == scope["path"].encode()

    scope = {"type": kind, "method": method, "path": path, "raw_path": path.encode()}
    asyncio.run(PagePaths(app, static_dir=root)(scope, None, None))  # type: ignore[arg-type]
    [got] = seen
    return got


@pytest.mark.parametrize(
    "path, served",
    [
        ("/login", "/login.html"),
        ("/groups", "/groups.html"),
        ("/deep/page", "/deep/page.html"),
        # Left to the static files server as they were:
        ("/login/", "/login/"),
        ("/", "/"),
        ("/login.html", "/login.html"),
        ("/assets/root.js", "/assets/root.js"),
        ("/assets", "/assets"),
        ("/only-a-folder", "/only-a-folder"),
        ("/groups/42", "/groups/42"),  # a dynamic page: the SPA fallback's
        ("/no-such-page", "/no-such-page"),
        ("/deep/../login", "/deep/../login"),
        ("//login", "//login"),
    ],
)
def test_a_page_address_without_its_slash_is_served_its_copy(
    tmp_path: Path, path: str, served: str
) -> None:
    assert _path_seen_for(_built(tmp_path), path) == served


def test_only_reads_of_pages_are_turned(tmp_path: Path) -> None:
    root = _built(tmp_path)
    assert _path_seen_for(root, "/login", method="HEAD") == "/login.html"
    assert _path_seen_for(root, "/login", method="POST") == "/login"
    assert _path_seen_for(root, "/login", kind="websocket") == "/login"
