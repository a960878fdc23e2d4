"""What a page's first load carries: no more script than the page shows."""

from __future__ import annotations

from pathlib import Path

from tests.support.appserver import AppServer


def pages_importing_every_icon(web: Path) -> list[str]:
    """The compiled pages that import lucide's dynamic icon: an icon chosen by a var
    (`rx.icon(rx.cond(...))`, `callout(icon=rx.cond(...))`) brings a map of the modules of
    all of lucide's 1,600 icons into the page's script (60 KB, gzip, on the groups pages)."""
    compiled = sorted((web / "app_components").rglob("*.jsx")) + sorted(
        (web / "app").rglob("*.jsx")
    )
    assert compiled, f"no compiled page in {web}"
    return [str(p.relative_to(web)) for p in compiled if "lucide-react/dynamic" in p.read_text()]


def test_no_page_imports_the_map_of_every_icon(app_server: AppServer) -> None:
    assert pages_importing_every_icon(Path(app_server.env["REFLEX_WEB_WORKDIR"])) == []
