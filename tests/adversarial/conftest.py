"""Attacks and faults: tests that start or drive the real app are browser-grade tests too."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlmodel import Session, select

from mentor_app.models import Group, Membership, User
from mentor_app.seed import DEMO_PASSWORD
from mentor_app.services import accounts
from tests.support.appserver import AppServer
from tests.support.rxclient import ReflexClient

# Driving the built app, as tests/e2e does; the service-level cases here need no marker.
APP_FIXTURES = {"app_server", "app_db", "new_page", "browser"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/adversarial/" in str(item.fspath) and APP_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture
def connect(app_server: AppServer) -> Iterator[Callable[..., ReflexClient]]:
    """Each call opens one protocol-level tab on the running app (closed afterwards)."""
    clients: list[ReflexClient] = []

    def open_tab(path: str = "/", **kwargs: Any) -> ReflexClient:
        client = ReflexClient(app_server.url, **kwargs)
        clients.append(client)
        return client.connect(path)

    yield open_tab
    for client in clients:
        client.close()


@pytest.fixture
def person(app_db: Session) -> Callable[..., User]:
    """A new adult account on the running app's database (password DEMO_PASSWORD)."""

    def make(name: str = "Pat Person", group: str | None = None) -> User:
        user = accounts.sign_up(
            app_db,
            email=f"p{uuid.uuid4().hex[:10]}@example.org",
            display_name=name,
            password=DEMO_PASSWORD,
            date_of_birth="1990-05-05",
        )
        app_db.flush()
        if group is not None:
            found = app_db.exec(select(Group).where(Group.name == group)).one()
            app_db.add(Membership(group_id=found.id or 0, user_id=user.id or 0))
        app_db.commit()
        return user

    return make


def signed_in(connect: Callable[..., ReflexClient], user: User, path: str = "/") -> ReflexClient:
    """A tab of `user`, logged in through the real log-in event, then on `path`."""
    tab = connect("/login")
    assert tab.log_in(user.email, DEMO_PASSWORD), tab.var("auth_form_state.errors")
    tab.navigate(path)
    return tab


def server_log(app_server: AppServer) -> str:
    return app_server.log_path.read_text(errors="replace")
