"""The app under each of the names a newcomer may type for this machine: with the default
APP_ORIGIN, localhost, 127.0.0.1 and [::1] on its port all work (the page loads, its
websocket is accepted, a log-in holds); under any other name the page says which address
to open and which variable to set, instead of Reflex's "Cannot connect to server"."""

from __future__ import annotations

import urllib.error
import urllib.request
import uuid

import pytest
from playwright.sync_api import Browser, expect
from sqlmodel import Session

from tests.factories import PASSWORD, make_user
from tests.support.appserver import AppServer


@pytest.mark.parametrize("name", ["localhost", "127.0.0.1", "[::1]"])
def test_each_loopback_name_opens_a_working_app(
    name: str, browser: Browser, app_server: AppServer, app_db: Session
) -> None:
    email = f"loopback.{uuid.uuid4().hex[:8]}@example.org"
    make_user(app_db, email=email, display_name="Lou Pback")
    context = browser.new_context(base_url=f"http://{name}:{app_server.port}")
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        page.goto("/login")
        # A wrong password is answered over the websocket-backed form: the socket is up.
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_text("Email or password is incorrect.")).to_be_visible()
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", name="My groups")).to_be_visible()
        expect(page.get_by_text("Cannot connect to server")).to_have_count(0)
        assert page.url.startswith(f"http://{name}:{app_server.port}/")
    finally:
        context.close()


def test_another_name_for_this_machine_says_which_address_to_open(
    browser: Browser, app_server: AppServer
) -> None:
    wrong = f"http://127.0.0.2:{app_server.port}"  # reaches this server: not one of its names
    request = urllib.request.Request(f"{wrong}/login", headers={"Accept": "text/html"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=15)
    assert refused.value.code == 421
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{wrong}/login")
        expect(
            page.get_by_role("heading", name="Open Mentor circles at its own address")
        ).to_be_visible()
        expect(page.get_by_role("link", name=f"http://localhost:{app_server.port}")).to_be_visible()
        expect(page.get_by_text(f"APP_ORIGIN={wrong}")).to_be_visible()
        page.get_by_role("link", name=f"http://127.0.0.1:{app_server.port}").click()
        expect(page.get_by_role("heading", name="Mentorship for your community")).to_be_visible()
    finally:
        context.close()
