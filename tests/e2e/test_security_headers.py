"""Every HTTP response of the production build carries the security headers, and the pages
still work under that Content-Security-Policy: no violation, the websocket answers."""

from __future__ import annotations

import gzip
import re
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator

import brotli
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Response, expect
from sqlmodel import Session

from mentor_app.seed import DEMO_PASSWORD
from tests.e2e.test_journey import arrange_tagged_pair
from tests.support.appserver import AppServer

EXPECTED = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}
DIRECTIVES = (
    "default-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
)


def _get(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            body = response.read()
            return response.status, {k.lower(): v for k, v in response.headers.items()}, body
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def _assert_security_headers(headers: dict[str, str]) -> None:
    for name, value in EXPECTED.items():
        assert headers.get(name) == value, name
    policy = headers["content-security-policy"]
    for directive in DIRECTIVES:
        assert directive in policy.split("; "), directive
    script_src = re.search(r"script-src ([^;]*)", policy)
    assert script_src is not None and "'unsafe-inline'" not in script_src[1]
    assert "camera=()" in headers["permissions-policy"]
    assert "microphone=()" in headers["permissions-policy"]
    # The test server's origin is http://localhost:PORT: no HSTS over plain http.
    assert "strict-transport-security" not in headers


@pytest.fixture(scope="module")
def built_asset(app_server: AppServer) -> str:
    """A script the login page really loads (its name carries the build's hash)."""
    _, _, body = _get(app_server.url + "/login")
    match = re.search(r'href="(/assets/[^"]+\.js)"', body.decode())
    assert match, "the login page names no built script"
    return match[1]


@pytest.mark.parametrize(
    "path, status",
    [("/", 200), ("/login", 200), ("/ping", 200), ("/groups/42", 200), ("/no-such-page", 404)],
)
def test_pages_ping_and_404_carry_the_security_headers(
    app_server: AppServer, path: str, status: int
) -> None:
    got, headers, _ = _get(app_server.url + path)
    assert got == status
    _assert_security_headers(headers)


def test_pages_describe_themselves_and_the_favicon_is_served(app_server: AppServer) -> None:
    """Search results and link previews get a description; the browser's own request for
    /favicon.ico finds an icon (a 404 there is a console error on every first load)."""
    for path in ("/", "/login", "/signup"):
        _, _, body = _get(app_server.url + path)
        described = re.search(r'<meta[^>]*name="description"[^>]*>', body.decode())
        assert described and "mentor" in described[0].lower(), path
    status, headers, icon = _get(app_server.url + "/favicon.ico")
    assert status == 200 and icon[:4] == b"\x00\x00\x01\x00"  # an ICO file's header
    _assert_security_headers(headers)


def test_a_built_asset_carries_the_security_headers_plain_and_precompressed(
    app_server: AppServer, built_asset: str
) -> None:
    status, headers, body = _get(app_server.url + built_asset)
    assert status == 200 and headers["content-type"].startswith("text/javascript")
    _assert_security_headers(headers)

    status, headers, zipped = _get(app_server.url + built_asset, **{"Accept-Encoding": "gzip"})
    assert status == 200 and headers.get("content-encoding") == "gzip"
    assert gzip.decompress(zipped) == body
    _assert_security_headers(headers)

    # Brotli first for a browser that takes both (Chromium asks for it on localhost too).
    accepts = "gzip, deflate, br, zstd"
    status, headers, squeezed = _get(app_server.url + built_asset, **{"Accept-Encoding": accepts})
    assert status == 200 and headers.get("content-encoding") == "br"
    assert brotli.decompress(squeezed) == body
    assert len(squeezed) < len(zipped)
    _assert_security_headers(headers)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # a 3xx comes back as an HTTPError with its own status


def _get_first_answer(url: str, method: str = "GET") -> tuple[int, bytes]:
    opener = urllib.request.build_opener(_NoRedirects)
    try:
        with opener.open(urllib.request.Request(url, method=method), timeout=15) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_a_page_typed_without_its_slash_is_served_without_a_redirect(
    app_server: AppServer,
) -> None:
    """`/login` was answered 307 to `/login/`: a round trip before the first load."""
    for path in ("/login", "/signup", "/groups", "/moderation"):
        slashed_status, slashed = _get_first_answer(app_server.url + path + "/")
        assert slashed_status == 200 and b"<title>" in slashed, path
        assert _get_first_answer(app_server.url + path) == (200, slashed), path
        assert _get_first_answer(app_server.url + path + "?next=%2Fgroups")[0] == 200, path
        assert _get_first_answer(app_server.url + path, method="HEAD") == (200, b""), path
    # A dynamic page still gets the app's fallback page, an unknown one a 404.
    assert _get_first_answer(app_server.url + "/groups/42")[0] == 200
    assert _get_first_answer(app_server.url + "/no-such-page")[0] == 404


def test_the_websocket_endpoint_answers_http_with_the_security_headers(
    app_server: AppServer,
) -> None:
    """Socket.IO's handshake over plain HTTP is refused (websocket transport only), and even
    that refusal carries the headers."""
    _, headers, _ = _get(app_server.url + "/_event/?EIO=4&transport=polling")
    _assert_security_headers(headers)


CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(
    `${e.violatedDirective} blocked ${e.blockedURI} at ${e.sourceFile}:${e.lineNumber}`
  );
});
"""


# What Chromium writes on the console when a policy blocks something or a header is wrong.
POLICY_MESSAGES = ("Content Security Policy", "Content-Security-Policy", "Permissions-Policy",
                   "Refused to")  # fmt: skip


class Watched:
    """A page whose CSP violations (events and console messages) are recorded."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.console: list[str] = []
        page.add_init_script(CSP_LISTENER)
        page.on("console", self._on_console)

    def _on_console(self, message: ConsoleMessage) -> None:
        if any(mark in message.text for mark in POLICY_MESSAGES):
            self.console.append(message.text)

    def violations(self) -> list[str]:
        events = self.page.evaluate("window.__cspViolations || []")
        return [*events, *self.console]


@pytest.fixture
def watched(browser: Browser, app_server: AppServer) -> Iterator[Watched]:
    # A time zone unlike the server's: the pair page learns it through rx.call_script (eval).
    context = browser.new_context(base_url=app_server.url, timezone_id="Asia/Tokyo")
    context.set_default_timeout(15_000)
    yield Watched(context.new_page())
    context.close()


def test_public_pages_run_under_the_policy_and_answer_over_the_websocket(
    watched: Watched,
) -> None:
    page = watched.page
    answer = page.goto("/login")  # as typed: no slash, no redirect, and the page works
    assert answer is not None and answer.status == 200
    assert answer.request.redirected_from is None and page.url.endswith("/login")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.goto("/")
    expect(page.get_by_role("heading", name="Mentorship for your community")).to_be_visible()
    page.get_by_role("link", name="Log in").first.click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()

    page.get_by_label("Email").fill("nobody@example.org")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("Email or password is incorrect.")).to_be_visible()

    page.goto("/signup")
    page.get_by_label("Email").fill(f"young.{uuid.uuid4().hex[:8]}@example.org")
    page.get_by_label("Display name").fill("Young Person")
    page.get_by_label("Password").fill("a sturdy passphrase")
    page.get_by_label("Date of birth").fill("2020-01-01")
    page.get_by_role("button", name="Sign up").click()
    expect(page.locator("#field-date_of_birth-error")).to_have_text(
        "You must be 18 or older to join Mentor circles."
    )
    assert watched.violations() == []


def test_signed_in_pages_run_under_the_policy_and_eval_still_works(
    watched: Watched, app_db: Session
) -> None:
    mentee, pair_id = arrange_tagged_pair(app_db, "csp", "CSP program")
    page = watched.page
    page.goto("/login")
    page.get_by_label("Email").fill(mentee)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="My groups")).to_be_visible()

    # Every script the pair page loads comes as the build compressed it: its own script
    # too, where each test server writes its keep-alive interval (it once came plain, 90
    # KiB more for a phone's first load).
    scripts: list[Response] = []
    page.on("response", lambda r: scripts.append(r) if "/assets/" in r.url else None)
    page.goto(f"/pairs/{pair_id}")
    expect(page.get_by_role("heading", name="Your mentor: Csp Mentor")).to_be_visible()
    scripts = [r for r in scripts if r.url.endswith(".js") and r.status == 200]
    assert any("_pairs_" in r.url for r in scripts), [r.url for r in scripts]
    plain = [r for r in scripts if r.all_headers().get("content-encoding") != "br"]
    # The build leaves scripts under 256 bytes as they are (MIN_SIZE in Reflex's
    # compress-static.js): an icon's few lines.
    assert [r.url for r in plain if len(r.body()) >= 256] == []
    # Reflex ran the time zone script it sent over the websocket: the reason for 'unsafe-eval'.
    expect(page.get_by_text("(Asia/Tokyo time)")).to_be_visible()
    assert watched.violations() == []
