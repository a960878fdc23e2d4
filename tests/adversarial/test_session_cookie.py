"""The session cookie, against the running production build: its attributes at log-in,
sign-up and log-out (and on https), the same-origin rule of the endpoints that set it, and
the raw token never leaving the cookie: not in a websocket frame, not in a state var, not
in the state files on disk, not in Redis.

Every refusal here is shown to have something to refuse first: the token held by the test
is a live session, the same request from the app's own page succeeds, and the scans of
disk and Redis find the tab's own state, so an empty scan cannot pass."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from sqlalchemy import inspect, text
from sqlmodel import Session, select

from mentor_app.db import make_engine
from mentor_app.models import User, UserSession
from mentor_app.seed import DEMO_PASSWORD
from mentor_app.services import sessions
from state.journey import PairChatFormState
from state.session import SessionState
from tests.e2e.test_journey import arrange_pair_two_weeks_in
from tests.support.appserver import PROJECT_ROOT, AppServer
from tests.support.rxclient import ROOT_STATE, ReflexClient, handler
from tests.support.scaleout import ScaleOut

COOKIE = "mc_session"
MAX_AGE = str(int(sessions.ABSOLUTE_LIFETIME.total_seconds()))
SEND = handler(PairChatFormState, "send")
FOREIGN = "http://evil.example"


# --- helpers ----------------------------------------------------------------------------


def _set_cookies(response: httpx.Response, name: str = COOKIE) -> list[dict[str, str]]:
    """Each Set-Cookie header of `response` for cookie `name`: its value under "value",
    each attribute under its lower-cased name (a flag maps to "")."""
    found = []
    for header in response.headers.get_list("set-cookie"):
        first, *attributes = header.split(";")
        cookie_name, _, value = first.strip().partition("=")
        if cookie_name != name:
            continue
        parsed = {"value": value}
        for attribute in attributes:
            key, _, attr_value = attribute.strip().partition("=")
            parsed[key.lower()] = attr_value
        found.append(parsed)
    return found


def _the_cookie(response: httpx.Response) -> dict[str, str]:
    cookies = _set_cookies(response)
    assert len(cookies) == 1, response.headers.get_list("set-cookie")
    return cookies[0]


def _assert_session_cookie_attributes(cookie: dict[str, str]) -> None:
    assert "httponly" in cookie, cookie
    assert cookie.get("samesite", "").lower() == "lax", cookie
    assert cookie.get("path") == "/", cookie
    assert "domain" not in cookie, cookie  # host-only: no sibling subdomain receives it


def _post(
    url: str, path: str, form: dict[str, str], headers: dict[str, str], token: str | None = None
) -> httpx.Response:
    cookies = {COOKIE: token} if token else {}
    with httpx.Client(base_url=url, cookies=cookies) as http:
        return http.post(path, data=form, headers=headers)


def _live_user(db: Session, token: str | None) -> User | None:
    user = sessions.resolve_session(db, token=token)
    db.commit()  # SQLite begins every transaction IMMEDIATE: never hold one open
    return user


def _session_rows(db: Session, user: User) -> list[str]:
    rows = list(db.exec(select(UserSession.token_hash).where(UserSession.user_id == user.id)))
    db.commit()
    return sorted(rows)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# Tables the server changes on its own schedule while a test runs (the scheduler's lease
# and job store, the e-mail sender's delivery columns): left out of "no row changed".
OWN_SCHEDULE = {"leader_lease", "apscheduler_jobs"}
OUTBOX_DELIVERY = {"status", "attempts", "next_attempt_at", "last_error", "sent_at"}


def _every_row(db: Session) -> dict[str, list[tuple[Any, ...]]]:
    connection = db.connection()
    snapshot = {}
    for table in sorted(inspect(connection).get_table_names()):
        if table in OWN_SCHEDULE:
            continue
        columns = [c["name"] for c in inspect(connection).get_columns(table)]
        if table == "email_outbox":
            columns = [c for c in columns if c not in OUTBOX_DELIVERY]
        listed = ", ".join(f'"{c}"' for c in columns)
        rows = connection.execute(text(f'SELECT {listed} FROM "{table}"')).all()
        snapshot[table] = sorted((tuple(map(repr, row)) for row in rows), key=repr)
    db.commit()
    return snapshot


def _pair(app_db: Session) -> tuple[int, User, User]:
    tag = uuid.uuid4().hex[:8]
    _program, pair_id = arrange_pair_two_weeks_in(
        app_db,
        mentor=(f"m-{tag}@example.org", f"Mentor {tag}"),
        mentee=(f"e-{tag}@example.org", f"Mentee {tag}"),
        title=f"Cookie {tag}",
    )
    mentor = app_db.exec(select(User).where(User.email == f"m-{tag}@example.org")).one()
    mentee = app_db.exec(select(User).where(User.email == f"e-{tag}@example.org")).one()
    app_db.commit()
    return pair_id, mentor, mentee


def _browse(tab: ReflexClient, pair_id: int) -> None:
    """What a signed-in member does: pages with and without private data, the pair's chat
    (a message sent and received live), the settings page."""
    tab.navigate("/groups")
    tab.navigate(f"/pairs/{pair_id}")
    tab.call(SEND, {"form": {"body": "hello from the cookie test", "client_id": uuid.uuid4().hex}})
    tab.navigate("/notifications")
    tab.navigate("/settings")
    tab.navigate(f"/pairs/{pair_id}")
    _drain(tab)


def _drain(tab: ReflexClient) -> None:
    """Every event sent so far, and the follow-ups it queued, answered."""
    tab._run(tab.client.drain())


def _signed_in_tab(
    connect: Callable[..., ReflexClient], user: User, app_db: Session
) -> tuple[ReflexClient, str]:
    """A tab of `user`, logged in through POST /auth/login; the token is the test's own
    copy, read from the Set-Cookie, and shown to be a live session of `user`."""
    tab = connect("/login")
    assert tab.log_in(user.email, DEMO_PASSWORD), tab.last_answer
    token = tab.session_cookie
    assert token
    live = _live_user(app_db, token)
    assert live is not None and live.id == user.id  # a real session: there is a secret
    assert tab.var("session_state.signed_in") is True  # and the socket knows it
    assert tab.var("session_state.display_name") == user.display_name
    return tab, token


def _leaks(blob: bytes, token: str) -> list[str]:
    found = []
    if token.encode() in blob:
        found.append("the raw token")
    if f"{COOKIE}=".encode() in blob:
        found.append(f"a {COOKIE}= cookie header")
    return found


# --- 1. the cookie's attributes -----------------------------------------------------------


def test_log_in_sets_an_httponly_lax_host_only_session_cookie(
    app_server: AppServer, person: Callable[..., User], app_db: Session
) -> None:
    user = person()
    answer = _post(
        app_server.url,
        "/auth/login",
        {"email": user.email, "password": DEMO_PASSWORD},
        {"Origin": app_server.url},
    )
    assert answer.status_code == 200 and answer.json()["ok"] is True
    cookie = _the_cookie(answer)
    _assert_session_cookie_attributes(cookie)
    assert cookie.get("max-age") == MAX_AGE
    assert "secure" not in cookie  # plain http here: a Secure cookie would never come back
    live = _live_user(app_db, cookie["value"])
    assert live is not None and live.id == user.id


def test_sign_up_sets_the_same_session_cookie(app_server: AppServer, app_db: Session) -> None:
    email = f"new-{uuid.uuid4().hex[:8]}@example.org"
    answer = _post(
        app_server.url,
        "/auth/signup",
        {
            "email": email,
            "display_name": "New Cookie",
            "password": DEMO_PASSWORD,
            "date_of_birth": "1990-01-01",
        },
        {"Origin": app_server.url},
    )
    assert answer.status_code == 200 and answer.json()["ok"] is True
    cookie = _the_cookie(answer)
    _assert_session_cookie_attributes(cookie)
    assert cookie.get("max-age") == MAX_AGE
    assert "secure" not in cookie
    live = _live_user(app_db, cookie["value"])
    assert live is not None and live.email == email


def test_log_out_clears_the_cookie_and_ends_the_session_row(
    app_server: AppServer, person: Callable[..., User], app_db: Session
) -> None:
    user = person()
    token = _the_cookie(
        _post(
            app_server.url,
            "/auth/login",
            {"email": user.email, "password": DEMO_PASSWORD},
            {"Origin": app_server.url},
        )
    )["value"]
    assert _session_rows(app_db, user) == [_token_hash(token)]

    answer = _post(app_server.url, "/auth/logout", {}, {"Origin": app_server.url}, token)
    assert answer.status_code == 303 and answer.headers["location"] == "/login"
    cleared = _the_cookie(answer)
    assert cleared["value"] in ("", '""')
    assert cleared.get("max-age") == "0"
    _assert_session_cookie_attributes(cleared)  # same path and host: it replaces the cookie
    assert _session_rows(app_db, user) == []
    assert _live_user(app_db, token) is None


HTTPS_PROBE = """
import json
from starlette.responses import Response
from mentor_app import web_auth
from mentor_app.settings import settings

set_, clear = Response(), Response()
web_auth.set_session_cookie(set_, "probe-token")
web_auth.clear_session_cookie(clear)
print(json.dumps({
    "origin": settings.app_origin,
    "set": set_.headers.getlist("set-cookie"),
    "clear": clear.headers.getlist("set-cookie"),
    "reads_host_cookie": web_auth.session_token_from_cookie_header("__Host-mc_session=h"),
    "reads_plain_cookie": web_auth.session_token_from_cookie_header("mc_session=p"),
}))
"""


def test_on_https_the_cookie_is_host_prefixed_and_secure(tmp_path: Path) -> None:
    env = dict(os.environ, APP_ORIGIN="https://mentor.example", MENTOR_DATA_DIR=str(tmp_path))
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", HTTPS_PROBE],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    probe = json.loads(done.stdout.strip().splitlines()[-1])
    assert probe["origin"] == "https://mentor.example"
    for kind in ("set", "clear"):
        response = httpx.Response(200, headers=[("set-cookie", h) for h in probe[kind]])
        assert _set_cookies(response, COOKIE) == []  # never the plain name on https
        cookie = _the_cookie_named(response, "__Host-mc_session")
        _assert_session_cookie_attributes(cookie)
        assert "secure" in cookie, cookie
        assert cookie.get("max-age") == (MAX_AGE if kind == "set" else "0")
    # The https app reads only the prefixed cookie: a plain one (which any http page of a
    # sibling host could plant) is no session.
    assert probe["reads_host_cookie"] == "h"
    assert probe["reads_plain_cookie"] is None


def _the_cookie_named(response: httpx.Response, name: str) -> dict[str, str]:
    cookies = _set_cookies(response, name)
    assert len(cookies) == 1, response.headers.get_list("set-cookie")
    return cookies[0]


# --- 2. only the app's own pages may sign in or out ------------------------------------------


def _foreign_headers(app_url: str) -> dict[str, dict[str, str]]:
    return {
        "foreign Origin": {"Origin": FOREIGN, "Referer": f"{app_url}/login"},
        "Origin that only starts like ours": {"Origin": f"{app_url}.evil.example"},
        "Origin null (a sandboxed frame)": {"Origin": "null"},
        "no Origin, foreign Referer": {"Referer": f"{FOREIGN}/login"},
        "no Origin, Referer that only starts like ours": {
            "Referer": f"{app_url}.evil.example/login"
        },
        "neither Origin nor Referer": {},
    }


FOREIGN_CASES = list(_foreign_headers("http://x"))


@pytest.fixture
def live_token(app_server: AppServer, person: Callable[..., User], app_db: Session) -> str:
    """A live session of a new person, as the browser would hold it."""
    user = person()
    answer = _post(
        app_server.url,
        "/auth/login",
        {"email": user.email, "password": DEMO_PASSWORD},
        {"Origin": app_server.url},
    )
    token = _the_cookie(answer)["value"]
    assert _live_user(app_db, token) is not None
    return token


@pytest.mark.parametrize("case", FOREIGN_CASES)
def test_a_foreign_page_cannot_log_in(
    app_server: AppServer, person: Callable[..., User], app_db: Session, case: str
) -> None:
    user = person()
    form = {"email": user.email, "password": DEMO_PASSWORD}
    before = _every_row(app_db)
    answer = _post(app_server.url, "/auth/login", form, _foreign_headers(app_server.url)[case])
    assert answer.status_code == 403
    # Said plainly, with the address where the form does work.
    assert app_server.url in answer.json()["form_error"]
    assert answer.headers.get_list("set-cookie") == []
    assert _every_row(app_db) == before
    # The same credentials from the app's own page log in: the refusal was the origin's.
    own = _post(app_server.url, "/auth/login", form, {"Referer": f"{app_server.url}/login"})
    assert own.status_code == 200 and _live_user(app_db, _the_cookie(own)["value"]) is not None


@pytest.mark.parametrize("case", FOREIGN_CASES)
def test_a_foreign_page_cannot_sign_up(app_server: AppServer, app_db: Session, case: str) -> None:
    email = f"x-{uuid.uuid4().hex[:8]}@example.org"
    form = {
        "email": email,
        "display_name": "Cross Site",
        "password": DEMO_PASSWORD,
        "date_of_birth": "1990-01-01",
    }
    before = _every_row(app_db)
    answer = _post(app_server.url, "/auth/signup", form, _foreign_headers(app_server.url)[case])
    assert answer.status_code == 403
    assert answer.headers.get_list("set-cookie") == []
    assert _every_row(app_db) == before
    own = _post(app_server.url, "/auth/signup", form, {"Origin": app_server.url})
    assert own.status_code == 200
    live = _live_user(app_db, _the_cookie(own)["value"])
    assert live is not None and live.email == email


NAVIGATE = {"Sec-Fetch-Mode": "navigate", "Accept": "text/html"}


@pytest.mark.parametrize("case", FOREIGN_CASES)
def test_a_foreign_pages_plain_form_cannot_log_in_either(
    app_server: AppServer, person: Callable[..., User], app_db: Session, case: str
) -> None:
    """The browser's own form submit (a page load, which the endpoint answers with
    redirects rather than JSON) from another site: sent back to our log-in form, no
    cookie, nothing written."""
    user = person()
    form = {"email": user.email, "password": DEMO_PASSWORD}
    before = _every_row(app_db)
    headers = {**NAVIGATE, **_foreign_headers(app_server.url)[case]}
    answer = _post(app_server.url, "/auth/login", form, headers)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=%2Fgroups&notice=retry"
    assert answer.headers.get_list("set-cookie") == []
    assert _every_row(app_db) == before
    # The same submit from the app's own page signs in and goes on to the next page.
    own = _post(app_server.url, "/auth/login", form, {**NAVIGATE, "Origin": app_server.url})
    assert own.status_code == 303 and own.headers["location"] == "/groups"
    assert _live_user(app_db, _the_cookie(own)["value"]) is not None


def test_a_plain_form_submit_is_answered_with_redirects_never_json(
    app_server: AppServer, person: Callable[..., User], app_db: Session
) -> None:
    user = person()
    own = {**NAVIGATE, "Origin": app_server.url}
    wrong = _post(
        app_server.url,
        "/auth/login?next=/settings",
        {"email": user.email, "password": "not the password"},
        own,
    )
    assert wrong.status_code == 303
    assert wrong.headers["location"] == "/login?next=%2Fsettings&notice=retry"
    assert wrong.headers.get_list("set-cookie") == []
    email = f"plain-{uuid.uuid4().hex[:8]}@example.org"
    young = {
        "email": email,
        "display_name": "Plain Form",
        "password": DEMO_PASSWORD,
        "date_of_birth": "2020-01-01",
    }
    refused = _post(app_server.url, "/auth/signup", young, own)
    assert refused.status_code == 303
    assert refused.headers["location"] == "/signup?next=%2Fgroups&notice=retry"
    assert app_db.exec(select(User).where(User.email == email)).first() is None
    app_db.commit()
    adult = _post(app_server.url, "/auth/signup", {**young, "date_of_birth": "1990-01-01"}, own)
    assert adult.status_code == 303 and adult.headers["location"] == "/groups"
    live = _live_user(app_db, _the_cookie(adult)["value"])
    assert live is not None and live.email == email
    # The page script's fetch still gets JSON: the answer depends on how it was sent.
    fetched = _post(
        app_server.url,
        "/auth/login",
        {"email": user.email, "password": DEMO_PASSWORD},
        {"Sec-Fetch-Mode": "cors", "Origin": app_server.url},
    )
    assert fetched.status_code == 200 and fetched.json()["ok"] is True


@pytest.mark.parametrize("case", FOREIGN_CASES)
def test_a_foreign_page_cannot_log_the_user_out(
    app_server: AppServer, app_db: Session, live_token: str, case: str
) -> None:
    before = _every_row(app_db)
    answer = _post(
        app_server.url, "/auth/logout", {}, _foreign_headers(app_server.url)[case], live_token
    )
    assert answer.status_code == 403
    assert answer.headers.get_list("set-cookie") == []
    assert _every_row(app_db) == before
    assert _live_user(app_db, live_token) is not None  # the session the cookie names lives
    own = _post(app_server.url, "/auth/logout", {}, {"Origin": app_server.url}, live_token)
    assert own.status_code == 303 and _live_user(app_db, live_token) is None


# --- 3. the token never leaves the cookie ----------------------------------------------------


def test_no_websocket_frame_and_no_state_var_carries_the_token(
    connect: Callable[..., ReflexClient], app_db: Session
) -> None:
    pair_id, mentor, mentee = _pair(app_db)
    tab, token = _signed_in_tab(connect, mentor, app_db)
    other, other_token = _signed_in_tab(connect, mentee, app_db)
    other.navigate(f"/pairs/{pair_id}")
    _browse(tab, pair_id)
    # The frames did carry this tab's private page: the scan looks where a leak would be.
    frames = json.dumps(tab.updates) + json.dumps(tab.frontend_events)
    assert "hello from the cookie test" in frames and mentee.display_name in frames
    assert len(tab.updates) > 10

    for secret in (token, other_token):
        for index, update in enumerate(tab.updates + other.updates):
            assert _leaks(json.dumps(update).encode(), secret) == [], f"frame {index}: {update}"
        for merged in (tab.state, other.state):
            assert _leaks(json.dumps(merged).encode(), secret) == [], merged
    assert ROOT_STATE in tab.state  # the merged state, router vars included
    assert _live_user(app_db, token) is not None  # still the live secret it was


def _wait_for_state_files(paths: list[Path], contains: bytes, timeout: float = 30) -> None:
    """Reflex's disk state manager writes after a debounce (2 s): wait until the tab's
    files exist and hold what it shows, then until no file of the folder changes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(p.exists() for p in paths) and any(contains in p.read_bytes() for p in paths):
            break
        time.sleep(0.25)
    else:
        raise AssertionError(f"state files never written: {[str(p) for p in paths]}")


def _settled_folder(folder: Path, quiet: float = 3.0, timeout: float = 30) -> dict[Path, bytes]:
    deadline = time.monotonic() + timeout
    last: dict[Path, float] = {}
    stable_since = time.monotonic()
    while time.monotonic() < deadline:
        now = {p: p.stat().st_mtime for p in folder.rglob("*") if p.is_file()}
        if now != last:
            last, stable_since = now, time.monotonic()
        elif time.monotonic() - stable_since >= quiet:
            break
        time.sleep(0.25)
    return {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _state_file(folder: Path, client_token: str, state_name: str) -> Path:
    """Where Reflex's StateManagerDisk keeps one state of one tab (md5 of its key)."""
    key = f"{client_token}_{state_name}"
    return folder / f"{hashlib.md5(key.encode()).hexdigest()}.pkl"


def test_no_state_file_on_disk_holds_the_token(
    app_server: AppServer, connect: Callable[..., ReflexClient], app_db: Session
) -> None:
    folder = app_server.work_dir / "states"
    pair_id, mentor, _mentee = _pair(app_db)
    tab, token = _signed_in_tab(connect, mentor, app_db)
    _browse(tab, pair_id)
    mine = [
        _state_file(folder, tab.token, ROOT_STATE),  # the router data lives on every state
        _state_file(folder, tab.token, SessionState.get_full_name()),
    ]
    _wait_for_state_files(mine, mentor.display_name.encode())
    files = _settled_folder(folder)
    # The scan finds the tab's own state: it reads what a leak would be written to.
    holding_name = [p for p, blob in files.items() if mentor.display_name.encode() in blob]
    assert set(mine) <= set(files) and holding_name, sorted(files)

    leaks = {str(p): found for p, blob in files.items() if (found := _leaks(blob, token))}
    assert leaks == {}
    assert _live_user(app_db, token) is not None


# --- on Redis (the scale-out state manager) ----------------------------------------------------


@pytest.fixture
def redis_app(tmp_path: Path) -> Iterator[ScaleOut]:
    app = ScaleOut(tmp_path, instances=1, frontend=False, MENTOR_SCHEDULER="off")
    app.start()
    try:
        yield app
    finally:
        app.stop()


def _every_redis_entry(client: redis.Redis) -> dict[bytes, bytes]:
    """Every key of the database, with its value read by the command its type needs."""
    entries: dict[bytes, bytes] = {}
    for key in client.scan_iter(count=1000):
        kind = client.type(key).decode()
        parts: list[Any]
        if kind == "string":
            parts = [client.get(key)]
        elif kind == "hash":
            parts = [item for pair in client.hgetall(key).items() for item in pair]
        elif kind == "list":
            parts = list(client.lrange(key, 0, -1))
        elif kind == "set":
            parts = list(client.smembers(key))
        elif kind == "zset":
            parts = [member for member, _ in client.zrange(key, 0, -1, withscores=True)]
        elif kind == "stream":
            parts = [repr(client.xrange(key)).encode()]
        elif kind == "none":  # expired between SCAN and TYPE
            continue
        else:
            raise AssertionError(f"a Redis key of a type this scan cannot read: {kind} {key!r}")
        entries[key] = b"\x00".join(p if isinstance(p, bytes) else str(p).encode() for p in parts)
    return entries


@pytest.mark.e2e
def test_no_redis_key_or_value_holds_the_token(redis_app: ScaleOut) -> None:
    url = redis_app.urls[0]
    engine = make_engine(redis_app.database_url)
    try:
        with Session(engine, expire_on_commit=False) as db:
            pair_id, mentor, mentee = _pair(db)
            logged_in = _post(
                url,
                "/auth/login",
                {"email": mentor.email, "password": DEMO_PASSWORD},
                {"Origin": url},
            )
            assert logged_in.status_code == 200, logged_in.text
            token = _the_cookie(logged_in)["value"]
            live = _live_user(db, token)
            assert live is not None and live.id == mentor.id

            tabs = [ReflexClient(url, session_cookie=token) for _ in range(2)]
            try:
                tabs[0].connect(f"/pairs/{pair_id}")
                tabs[1].connect("/settings")
                for tab in tabs:
                    assert tab.var("session_state.display_name") == mentor.display_name
                _browse(tabs[0], pair_id)
                tabs[1].navigate("/groups")
                _drain(tabs[1])

                entries = _every_redis_entry(redis.Redis.from_url(redis_app.redis_url))
                # The scan finds these tabs' own states: it reads where a leak would be.
                for tab in tabs:
                    own = [k for k in entries if tab.token.encode() in k]
                    assert own, f"no key of tab {tab.token} among {sorted(entries)[:20]}"
                    assert any(mentor.display_name.encode() in entries[k] for k in own)
                assert any(mentee.display_name.encode() in v for v in entries.values())

                leaks = {
                    key: found
                    for key, value in entries.items()
                    if (found := _leaks(key + b"\x00" + value, token))
                }
                assert leaks == {}
                assert _live_user(db, token) is not None
            finally:
                for tab in tabs:
                    tab.close()
    finally:
        engine.dispose()
