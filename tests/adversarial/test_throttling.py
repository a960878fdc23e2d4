"""The per-address throttles over HTTP, against the running production build: a spray of
made-up e-mails and a burst of sign-ups from one address get 429 with a message that says
when to try again (and Retry-After), while another address goes on.

Each test speaks from a loopback address of its own (127.0.0.x, chosen as the socket's
source), so its counts are the server's counts for that address alone, apart from those of
the test's own other addresses and of 127.0.0.1."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest

from mentor_app.models import User
from mentor_app.seed import DEMO_PASSWORD
from mentor_app.services import accounts
from tests.support.appserver import AppServer


@pytest.fixture
def from_address(app_server: AppServer) -> Iterator[Callable[[str], httpx.Client]]:
    """Each call: an HTTP client of the running app whose requests come from `address`
    (a loopback address), as a page of the app posts (its Origin)."""
    clients: list[httpx.Client] = []

    def make(address: str) -> httpx.Client:
        client = httpx.Client(
            base_url=f"http://127.0.0.1:{app_server.port}",
            headers={"Origin": app_server.url},
            transport=httpx.HTTPTransport(local_address=address),
            timeout=30,
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def _log_in(http: httpx.Client, email: str, password: str) -> httpx.Response:
    return http.post("/auth/login", data={"email": email, "password": password})


def _made_up() -> str:
    return f"made-up-{uuid.uuid4().hex[:10]}@example.org"


def test_address_spraying_made_up_emails_gets_429_saying_when_to_try_again(
    from_address: Callable[[str], httpx.Client], person: Callable[..., User]
) -> None:
    owner = person()
    sprayer, neighbour = from_address("127.0.0.21"), from_address("127.0.0.22")
    for _ in range(accounts.LOGIN_UNKNOWN_PER_ADDRESS.max):
        refused = _log_in(sprayer, _made_up(), "a guess at it")
        assert refused.status_code == 400, refused.text
        assert refused.json()["errors"] == {"password": accounts.BAD_LOGIN}

    # Cut off: the next made-up e-mail, and a real one with its right password too.
    for email, password in ((_made_up(), "a guess at it"), (owner.email, DEMO_PASSWORD)):
        throttled = _log_in(sprayer, email, password)
        assert throttled.status_code == 429
        assert throttled.json() == {
            "ok": False,
            "errors": {},
            "form_error": "Too many attempts from your network. Try again in 15 minutes.",
        }
        assert 14 * 60 < int(throttled.headers["Retry-After"]) <= 15 * 60
        assert "set-cookie" not in throttled.headers

    # Another address is not held back by it.
    welcome = _log_in(neighbour, owner.email, DEMO_PASSWORD)
    assert welcome.status_code == 200 and welcome.json()["ok"] is True


def test_burst_of_signups_from_one_address_gets_429_saying_when_to_try_again(
    from_address: Callable[[str], httpx.Client],
) -> None:
    burst, neighbour = from_address("127.0.0.23"), from_address("127.0.0.24")

    def sign_up(http: httpx.Client) -> httpx.Response:
        return http.post(
            "/auth/signup",
            data={
                "email": f"burst-{uuid.uuid4().hex[:10]}@example.org",
                "display_name": "Burst",
                "password": DEMO_PASSWORD,
                "date_of_birth": "1990-05-05",
            },
        )

    for _ in range(accounts.SIGNUPS_PER_ADDRESS.max):
        made = sign_up(burst)
        assert made.status_code == 200 and made.json()["ok"] is True, made.text
    throttled = sign_up(burst)
    assert throttled.status_code == 429
    assert throttled.json()["form_error"] == (
        "Too many sign-ups from your network. Try again in 10 minutes."
    )
    assert int(throttled.headers["Retry-After"]) <= 10 * 60
    assert sign_up(neighbour).json()["ok"] is True
