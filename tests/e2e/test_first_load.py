"""What a page's first load carries: no more script than the page shows."""

from __future__ import annotations

from pathlib import Path

from mentor_app.lean_styles import ACCENT, COLORS, GRAY, RADIX_COLORS
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


def defined_colors(css: str) -> set[str]:
    """The Radix colours whose scale the stylesheet defines (`--<colour>-9: ...`)."""
    return {name for name in RADIX_COLORS if f"--{name}-9:" in css}


def test_the_stylesheet_holds_the_colours_the_app_uses_and_no_other(app_server: AppServer) -> None:
    web = Path(app_server.env["REFLEX_WEB_WORKDIR"])
    [css] = (web / "build" / "client" / "assets").glob("__reflex_global_styles-*.css")
    assert defined_colors(css.read_text()) == set(COLORS)
    # The gray the theme pairs with its accent is the one kept.
    login = (web / "build" / "client" / "login.html").read_text()
    assert f'data-gray-color="{GRAY}"' in login and f'data-accent-color="{ACCENT}"' in login
