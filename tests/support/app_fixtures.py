"""The running app for browser and protocol tests: one production build per test session,
shared by tests/e2e and tests/adversarial (a pytest plugin, loaded with `-p` from
pyproject.toml, so both folders see the same session-scoped fixtures), and Debian's
Chromium to drive it."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from sqlmodel import Session

from mentor_app.db import make_engine
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
SCREENSHOTS = Path(
    os.environ.get("MENTOR_SCREENSHOTS_DIR", PROJECT_ROOT / "test-artifacts" / "screenshots")
)


@pytest.fixture(scope="session")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    server = AppServer(tmp_path_factory.mktemp("app"), REFLEX_PERF_MODE="raise")
    server.start()
    yield server
    server.stop()


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

    def make(viewport: dict[str, int] | None = None) -> Page:
        context = browser.new_context(
            base_url=app_server.url, viewport=viewport or {"width": 1280, "height": 900}
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
