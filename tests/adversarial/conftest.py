"""Attacks and faults: tests that start or drive the real app are browser-grade tests too."""

from __future__ import annotations

import pytest

# Driving the built app, as tests/e2e does; the service-level cases here need no marker.
APP_FIXTURES = {"app_server", "app_db", "new_page", "browser"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/adversarial/" in str(item.fspath) and APP_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.e2e)
