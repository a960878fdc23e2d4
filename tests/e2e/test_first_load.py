"""What a page's first load carries: no more script than the page shows."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlmodel import Session

from mentor_app.lean_styles import ACCENT, COLORS, GRAY, RADIX_COLORS
from tests.e2e.test_journey import arrange_tagged_pair
from tests.e2e.test_keyboard import log_in
from tests.support.appserver import AppServer
from tests.support.socket_gate import SocketGate


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


def scripts_with(web: Path, text: str) -> list[str]:
    """The built scripts that hold `text`."""
    scripts = sorted((web / "build" / "client" / "assets").glob("*.js"))
    assert scripts, f"no built script in {web}"
    return [p.name for p in scripts if text in p.read_text()]


def test_pages_carry_the_radix_components_they_use_not_all_of_radix_themes(
    app_server: AppServer,
) -> None:
    """A dynamic import of Radix Themes' index (Reflex's bundled libraries, for components
    sent at run time) kept all of it in every page's shared chunk: the theme panel, context
    menus, segmented controls, which no page shows (mentor_app/lean_scripts.py)."""
    web = Path(app_server.env["REFLEX_WEB_WORKDIR"])
    used = scripts_with(web, "rt-DialogContent")  # the pair page's dialogs: it is built
    assert used, "no built script holds the dialogs the pages use"
    for unused in ("rt-ThemePanel", "rt-ContextMenuContent", "rt-SegmentedControlRoot"):
        assert scripts_with(web, unused) == [], f"{unused} is in the built scripts"
    root = (web / "app" / "root.jsx").read_text()
    assert 'import("@radix-ui/themes")' not in root
    # A signed-in page's HTML (the SPA fallback) preloads the chunk with the components, so
    # they do not wait for the page's own script to name them.
    fallback = (web / "build" / "client" / "__spa-fallback.html").read_text()
    preloaded = re.findall(r'rel="modulepreload" href="/assets/([^"]+)"', fallback)
    assert set(used) <= set(preloaded), f"{used} not among the preloads {preloaded}"


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


class FormButtons(HTMLParser):
    """The buttons inside the forms of a page's HTML that would send their form: a button
    with no type, or of type submit, that is not disabled."""

    def __init__(self) -> None:
        super().__init__()
        self.forms = 0
        self.depth = 0
        self.live: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "form":
            self.forms += 1
            self.depth += 1
            return
        named = dict(attrs)
        sends = (tag == "button" and (named.get("type") or "submit") == "submit") or (
            tag == "input" and named.get("type") in ("submit", "image")
        )
        if self.depth and sends and "disabled" not in named:
            self.live.append(str(named.get("id") or named.get("name") or tag))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self.depth:
            self.depth -= 1


def test_no_form_in_a_pages_html_can_be_sent_before_the_page_is_live(
    app_server: AppServer,
) -> None:
    """Every page's HTML (the prerendered pages, and the SPA fallback of the others) is
    drawn before its scripts run: a button pressed then sends the form the browser's way,
    a GET of the same page that throws away what was typed (a test creating a group on a
    busy machine pressed Create group before My groups was live, and the form came back
    empty). Every button that would send a form waits for the page (submit_button)."""
    client = Path(app_server.env["REFLEX_WEB_WORKDIR"]) / "build" / "client"
    pages = [*sorted(client.rglob("index.html")), client / "__spa-fallback.html"]
    forms = 0
    live: dict[str, list[str]] = {}
    for page in pages:
        parser = FormButtons()
        parser.feed(page.read_text())
        forms += parser.forms
        if parser.live:
            live[str(page.relative_to(client))] = parser.live
    # The log-in and sign-up forms, Create group, and the password in Settings.
    assert forms >= 4, f"only {forms} forms in {len(pages)} pages: the HTML was not read"
    assert live == {}


# The layout shifts of the page so far (as Lighthouse counts them: none after an input),
# read two frames on, by an observer that is handed the earlier ones too.
LAYOUT_SHIFT = """() => new Promise((resolve) => {
  let total = 0;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) if (!entry.hadRecentInput) total += entry.value;
  }).observe({type: "layout-shift", buffered: true});
  requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(() => resolve(total))));
})"""
TWO_FRAMES = "() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))"


def test_a_signed_in_page_on_a_phone_does_not_move_when_its_state_arrives(
    new_page: Callable[..., Page], app_db: Session
) -> None:
    """A signed-in page is drawn signed out until the server's state arrives over the
    websocket. Here the state is held back until the page has drawn: the header's links
    then change, and the page below them must not move (it moved down by a row, CLS 0.30
    in Lighthouse's phone runs, while the signed-in links wrapped onto a row of their own
    beside the signed-out ones on the first)."""
    mentee, pair_id = arrange_tagged_pair(app_db, "shift", "Shift program")
    page = new_page(viewport={"width": 390, "height": 844})
    log_in(page, mentee)

    gate = SocketGate("from_server")
    page.route_web_socket(re.compile(r"/_event"), gate.route)
    page.goto(f"/pairs/{pair_id}")
    expect(page.get_by_role("link", name="Log in")).to_be_visible()  # drawn, no state yet
    page.evaluate(TWO_FRAMES)
    # The gate holds whatever the server sends, so waiting for its answer keeps the page
    # without state (a server busy with other tests had not answered by the second frame).
    deadline = time.monotonic() + 30
    while not gate.held and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert gate.held, "the server had sent nothing: nothing was held back"
    expect(page.get_by_role("link", name="Log in")).to_be_visible()  # still without state
    gate.release()

    expect(page.get_by_role("heading", name="Your mentor: Shift Mentor")).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    assert page.evaluate(LAYOUT_SHIFT) < 0.01


def test_a_page_not_prerendered_shows_the_apps_frame_before_its_scripts_run(
    new_page: Callable[..., Page], app_db: Session
) -> None:
    """A pair's page, a program's, the workspace: their HTML is the SPA fallback, which was
    blank until the scripts had loaded and run (about 4 s on Lighthouse's slow 4G and
    slow phone). It holds the header's name and a line saying the page is coming, which
    the page replaces whole once live."""
    mentee, pair_id = arrange_tagged_pair(app_db, "frame", "Frame program")
    page = new_page(viewport={"width": 390, "height": 844})
    log_in(page, mentee)
    page.route(re.compile(r".*\.m?js(\?.*)?$"), lambda route: route.abort())
    page.goto(f"/pairs/{pair_id}")
    expect(page.get_by_role("status")).to_have_text("Loading the page…")
    expect(page.get_by_role("link", name="Mentor circles")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    page.unroute_all()
    page.reload()
    expect(page.get_by_role("heading", name="Your mentor: Frame Mentor")).to_be_visible()
    expect(page.get_by_text("Loading the page…")).to_have_count(0)
    expect(page.get_by_role("link", name="Mentor circles")).to_have_count(1)
