"""The running app for browser and protocol tests: one production build per test session,
shared by tests/e2e and tests/adversarial (a pytest plugin, loaded with `-p` from
pyproject.toml, so both folders see the same session-scoped fixtures), and Debian's
Chromium to drive it."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Locator,
    Page,
    Request,
    expect,
    sync_playwright,
)
from sqlmodel import Session, delete

from mentor_app.db import engine_for, make_engine
from mentor_app.models import RateLimit
from tests.support.appserver import PROJECT_ROOT, AppServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# An assertion waits up to this long for the page to show its answer (Playwright's default is
# 5 s). Waits end as soon as the answer shows. The full page load that follows a log-in or a
# sign-up took over 5 s once on CI's two busy cores, and over 15 s twice here with the
# browser tests in two processes next to the sweep and the scale-out tests; the app now logs
# any HTTP answer slower than 2 s ("Slow request") to find out where such time goes.
EXPECT_TIMEOUT_MS = 30_000
expect.set_options(timeout=EXPECT_TIMEOUT_MS)

SCREENSHOTS = Path(
    os.environ.get("MENTOR_SCREENSHOTS_DIR", PROJECT_ROOT / "test-artifacts" / "screenshots")
)


@pytest.fixture(scope="session")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    server = AppServer(
        tmp_path_factory.mktemp("app"),
        REFLEX_PERF_MODE="raise",
        # A Publish of 20 drafts or more is written from a helper process, as a large
        # cohort's is (test_pairing's 40 drafts); fewer are written in the worker.
        MENTOR_PUBLISH_APART_FROM="20",
        # Suggest all for 20 waiting applications or more, likewise (test_pairing's 70).
        MENTOR_PLAN_APART_FROM="20",
    )
    server.start()
    _started.append(server)
    yield server
    _started.remove(server)
    server.stop()


_started: list[AppServer] = []


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    """A failed test's report ends with the server's log since the test began: its
    warnings ("Slow request", "Event loop blocked" with the loop's stack) say where the
    time went when a page did not show."""
    if call.when == "setup":
        item.stash[_log_start] = {id(s): s.log_size() for s in _started}
    report = yield
    if report.failed and _started:
        starts = item.stash.get(_log_start, {})
        for server in _started:
            report.sections.append(
                ("server log", server.log_since(starts.get(id(server), 0), max_lines=200))
            )
        if _network_log:
            report.sections.append(("browser requests", "\n".join(_network_log[-300:])))
    return report


_log_start = pytest.StashKey[dict[int, int]]()


@pytest.fixture(autouse=True)
def no_rate_limit_counts_from_earlier_tests(request: pytest.FixtureRequest) -> None:
    """Every test of the running app starts with no rate-limit counts: its tests all
    speak from 127.0.0.1, and the sign-ups or failed log-ins of one must not hold back the
    next (the suite signs up more people from there than the per-address limit allows)."""
    if "app_server" not in request.fixturenames:
        return
    server: AppServer = request.getfixturevalue("app_server")
    with engine_for(server.database_url).begin() as connection:
        connection.execute(delete(RateLimit))


@pytest.fixture
def app_db(app_server: AppServer) -> Iterator[Session]:
    """A session on the running server's database, to arrange what a test needs (a pair
    whose journey started two weeks ago) without clicking through every step first."""
    engine = make_engine(app_server.database_url)
    with Session(engine, expire_on_commit=False) as session:
        yield session
    engine.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser: Browser, app_server: AppServer) -> Iterator[Callable[..., Page]]:
    """Each call is a new person: a fresh browser context (own cookies)."""
    contexts = []

    def make(viewport: dict[str, int] | None = None, **options: Any) -> Page:
        """`options`: more of Playwright's context options (color_scheme, timezone_id...)."""
        context = browser.new_context(
            base_url=app_server.url, viewport=viewport or {"width": 1280, "height": 900}, **options
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        _watch_network(context, f"page {len(contexts)}")
        return context.new_page()

    _network_log.clear()
    yield make
    for context in contexts:
        context.close()


# What each page of the running test asked of the network, for a failed test's report.
_network_log: list[str] = []


def _watch_network(context: BrowserContext, who: str) -> None:
    started = time.monotonic()

    def note(what: str, request: Request) -> None:
        if len(_network_log) < 2_000:
            elapsed = time.monotonic() - started
            _network_log.append(f"{elapsed:7.2f}s {who} {what} {request.method} {request.url}")

    context.on("request", lambda request: note("asked", request))
    context.on("requestfinished", lambda request: note("answered", request))
    context.on("requestfailed", lambda request: note(f"failed ({request.failure})", request))


def open_dialog(page: Page, trigger: Locator) -> Locator:
    """Click a dialog's trigger and return the open dialog. Under a full `make test`, on a
    server busy with other tests' load, a click on "End this pair" at the foot of a pair
    page twice opened nothing in 15-30 s (the Report and Block dialogs just before it
    opened; likely cause, since fixed: the goals section filled in after the page appeared
    and pushed the button down under the click), so the click is tried again, three times
    at most.

    Only a dialog Radix marks open counts: one just cancelled stays in the page, visible,
    while it animates out (`data-state="closed"`), and its buttons go with it."""
    dialog = page.locator("[role=alertdialog][data-state=open], [role=dialog][data-state=open]")
    for _attempt in range(3):
        if dialog.count() and dialog.first.is_visible():
            return dialog
        trigger.click()
        try:
            expect(dialog).to_be_visible(timeout=8_000)
            return dialog
        except AssertionError:
            continue
    expect(dialog).to_be_visible()
    return dialog


def screenshot(page: Page, name: str) -> None:
    """The whole page, off-screen parts too. Taken for `make screenshots`
    (MENTOR_SCREENSHOTS_DIR) only: each costs the browser some 0.4 s of CPU, and `make
    test`, on two cores, has none to spare."""
    if "MENTOR_SCREENSHOTS_DIR" not in os.environ:
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
