"""Browser tests: the app and Chromium come from tests/support/app_fixtures.py, a plugin
shared with tests/adversarial so a test session builds the frontend once."""

from __future__ import annotations

import pytest

from tests.support.app_fixtures import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, screenshot

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "SCREENSHOTS", "screenshot"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)
