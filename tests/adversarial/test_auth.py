"""Authentication and sessions under attack: uniform refusals, throttling that never locks
the owner out for good, password edges, session rotation, logout, suspension, expiry."""

from __future__ import annotations

import datetime as dt
import statistics
import time
import uuid
from collections.abc import Callable

import pytest
from sqlmodel import Session, col, delete, select

from mentor_app.models import LoginThrottle, Message, User, UserSession, utcnow
from mentor_app.seed import DEMO_PASSWORD
from mentor_app.services import accounts, sessions
from mentor_app.services.errors import Throttled, ValidationError
from state.journey import PairChatFormState
from tests.adversarial.conftest import signed_in
from tests.e2e.test_journey import arrange_pair_two_weeks_in
from tests.factories import PASSWORD, make_user
from tests.support.rxclient import ReflexClient, handler

# --- one refusal for every wrong credential ---------------------------------------------


def _refusal(db: Session, email: str, password: str) -> tuple[type, str, str | None, float]:
    db.exec(delete(LoginThrottle))  # each attempt on its own: no lock in the way
    db.commit()
    started = time.process_time()
    with pytest.raises(ValidationError) as caught:
        accounts.authenticate(db, email=email, password=password)
    elapsed = time.process_time() - started
    db.rollback()
    return type(caught.value), caught.value.message, caught.value.field, elapsed


def _hash_check_s(password_hash: str) -> float:
    started = time.process_time()
    accounts.pwd_context.verify("not the password", password_hash)
    return time.process_time() - started


def test_unknown_email_wrong_password_and_suspended_account_get_one_refusal(db: Session) -> None:
    owner = make_user(db, email="owner@example.com")
    suspended = make_user(db, email="gone@example.com")
    accounts.suspend_user(db, user_id=suspended.id or 0, actor_id=None)
    db.commit()
    cases = {
        "unknown": ("nobody@example.com", PASSWORD),
        "wrong password": (owner.email, "not the password"),
        "suspended": (suspended.email, PASSWORD),  # the right password, even
    }
    seen = {name: [_refusal(db, *creds) for _ in range(5)] for name, creds in cases.items()}

    shapes = {(kind, message, field) for runs in seen.values() for kind, message, field, _ in runs}
    assert shapes == {(ValidationError, accounts.BAD_LOGIN, "password")}
    # Every refusal costs one password hash: an unknown e-mail must not answer faster. (A
    # wrong password also records the failure, a write whose time varies with the disk's
    # load: so each refusal is compared with one hash's cost, not with the others. Both are
    # CPU time, this process's: on busy cores a wall clock also counts the other programs.)
    one_hash = statistics.median(_hash_check_s(owner.password_hash) for _ in range(5))
    medians = {name: statistics.median(r[3] for r in runs) for name, runs in seen.items()}
    assert min(medians.values()) > 0.5 * one_hash, (medians, one_hash)


def test_refusals_look_the_same_over_http(
    connect: Callable[..., ReflexClient], person: Callable[..., User], app_db: Session
) -> None:
    owner, gone = person(), person()
    accounts.suspend_user(app_db, user_id=gone.id or 0, actor_id=None)
    app_db.commit()
    answers = []
    for email, password in (
        (f"nobody-{uuid.uuid4().hex[:6]}@example.org", accounts.PASSWORD_MIN * "x"),
        (owner.email, "wrong password!"),
        (gone.email, DEMO_PASSWORD),
    ):
        tab = connect("/login")
        assert not tab.log_in(email, password)
        answers.append(tab.last_answer)
        assert tab.session_cookie is None
    assert (
        answers == [{"ok": False, "errors": {"password": accounts.BAD_LOGIN}, "form_error": ""}] * 3
    )


# --- throttling -------------------------------------------------------------------------


def test_thirty_failed_logins_are_throttled_but_the_owner_gets_back_in(db: Session) -> None:
    owner = make_user(db, email="target@example.com")
    start = now = utcnow()
    refused = throttled = 0
    # An attacker guessing as fast as the throttle lets them: 30 wrong passwords.
    while refused < 30:
        try:
            accounts.authenticate(db, email=owner.email, password=f"guess-{refused}", now=now)
        except Throttled as wait:
            throttled += 1
            now += dt.timedelta(seconds=wait.retry_after_s)
        except ValidationError:
            refused += 1
        db.rollback()
    assert throttled >= 30 - accounts.FREE_FAILURES
    assert now - start > dt.timedelta(hours=1)  # the locks grew: guessing is slow
    # Locked right after the last guess, even with the right password...
    with pytest.raises(Throttled) as locked:
        accounts.authenticate(db, email=owner.email, password=PASSWORD, now=now)
    db.rollback()
    # ...but never for good: the longest lock is 15 minutes.
    assert locked.value.retry_after_s <= accounts.LOCK_MAX_S
    later = now + dt.timedelta(seconds=accounts.LOCK_MAX_S)
    assert accounts.authenticate(db, email=owner.email, password=PASSWORD, now=later).id == owner.id


def test_throttle_is_by_account_and_survives_case_and_spaces(db: Session) -> None:
    owner = make_user(db, email="case@example.com")
    now = utcnow()
    for _ in range(accounts.FREE_FAILURES):
        with pytest.raises(ValidationError):
            accounts.authenticate(db, email=" CASE@Example.com ", password="nope-nope", now=now)
        db.rollback()
    with pytest.raises(Throttled):
        accounts.authenticate(db, email=owner.email, password=PASSWORD, now=now)


# --- passwords --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "password",
    [
        "p" * accounts.PASSWORD_MAX,  # the longest allowed
        "pässwörd-ünïcödé",
        "密码很长而且很安全",
        "🔑🔒 emoji pass 🗝️",
        "  spaces at both ends  ",
    ],
)
def test_long_and_non_ascii_passwords_work(db: Session, password: str) -> None:
    user = make_user(db, password=password)
    assert accounts.authenticate(db, email=user.email, password=password).id == user.id
    with pytest.raises(ValidationError):
        accounts.authenticate(db, email=user.email, password=password.strip() + "!")


def test_a_5000_character_password_is_a_clean_validation_error(db: Session) -> None:
    with pytest.raises(ValidationError) as caught:
        make_user(db, password="x" * 5000)
    assert caught.value.field == "password"
    assert "at most" in caught.value.message
    assert db.exec(select(User)).all() == []
    user = make_user(db)
    started = time.perf_counter()
    with pytest.raises(ValidationError) as refused:
        accounts.authenticate(db, email=user.email, password="x" * 5000)
    assert refused.value.message == accounts.BAD_LOGIN
    assert time.perf_counter() - started < 1  # not hashed


def test_a_5000_character_password_at_sign_up_is_a_message_not_a_crash(
    connect: Callable[..., ReflexClient],
) -> None:
    tab = connect("/signup")
    answer = tab.post_form(
        "/auth/signup",
        {
            "email": f"long-{uuid.uuid4().hex[:6]}@example.org",
            "display_name": "Long",
            "password": "x" * 5000,
            "date_of_birth": "1990-01-01",
        },
    )
    assert answer.status_code == 400
    assert answer.json()["errors"] == {
        "password": f"Use at most {accounts.PASSWORD_MAX} characters."
    }
    assert tab.session_cookie is None


# --- sessions ---------------------------------------------------------------------------


def test_the_session_token_changes_at_login_and_the_old_one_is_dead(
    connect: Callable[..., ReflexClient], person: Callable[..., User], app_db: Session
) -> None:
    user = person()
    first = signed_in(connect, user, "/groups")
    old = first.session_cookie
    assert old
    # The same browser (same cookie) logs in again, e.g. someone else at the same desk.
    again = connect("/login", session_cookie=old)
    assert again.log_in(user.email, DEMO_PASSWORD)
    assert again.session_cookie not in (None, old)
    assert sessions.resolve_session(app_db, token=old) is None
    app_db.commit()
    stale = connect("/groups", session_cookie=old)
    assert not stale.var("session_state.signed_in")


def test_a_planted_session_cookie_is_replaced_at_login(
    connect: Callable[..., ReflexClient], person: Callable[..., User], app_db: Session
) -> None:
    """Session fixation: a token the attacker chose before the victim logs in is not kept."""
    victim = person()
    planted = "attacker-chosen-token-" + uuid.uuid4().hex
    tab = connect("/login", session_cookie=planted)
    assert tab.log_in(victim.email, DEMO_PASSWORD)
    assert tab.session_cookie != planted
    assert sessions.resolve_session(app_db, token=planted) is None
    app_db.commit()


def test_logout_kills_that_session(
    connect: Callable[..., ReflexClient], person: Callable[..., User], app_db: Session
) -> None:
    user = person()
    tab = signed_in(connect, user, "/groups")
    token = tab.session_cookie
    other_device = signed_in(connect, user, "/groups")
    answer = tab.post_form("/auth/logout", {})
    assert answer.status_code == 303 and answer.headers["location"] == "/login"
    assert tab.session_cookie is None  # the answer cleared the cookie
    assert sessions.resolve_session(app_db, token=token) is None
    app_db.commit()
    replay = connect("/groups", session_cookie=token)
    assert not replay.var("session_state.signed_in")
    # Only that session: the other device stays signed in.
    assert sessions.resolve_session(app_db, token=other_device.session_cookie) is not None
    app_db.commit()


def _pair_page(app_db: Session) -> tuple[int, User, User]:
    tag = uuid.uuid4().hex[:8]
    _program, pair_id = arrange_pair_two_weeks_in(
        app_db,
        mentor=(f"m-{tag}@example.org", f"Mentor {tag}"),
        mentee=(f"e-{tag}@example.org", f"Mentee {tag}"),
        title=f"Adversarial {tag}",
    )
    mentor = app_db.exec(select(User).where(User.email == f"m-{tag}@example.org")).one()
    mentee = app_db.exec(select(User).where(User.email == f"e-{tag}@example.org")).one()
    app_db.commit()  # SQLite begins every transaction IMMEDIATE: never hold one open
    return pair_id, mentor, mentee


SEND = handler(PairChatFormState, "send")


def _messages(app_db: Session, pair_id: int) -> list[str]:
    app_db.expire_all()
    bodies = list(app_db.exec(select(Message.body).where(Message.pair_id == pair_id)).all())
    app_db.commit()
    return bodies


def test_suspension_kills_every_session_and_open_sockets_at_their_next_event(
    connect: Callable[..., ReflexClient], app_db: Session
) -> None:
    pair_id, mentor, _mentee = _pair_page(app_db)
    tabs = [signed_in(connect, mentor, f"/pairs/{pair_id}") for _ in range(2)]
    tabs[0].call(SEND, {"form": {"body": "before", "client_id": uuid.uuid4().hex}})
    assert _messages(app_db, pair_id) == ["before"]

    accounts.suspend_user(app_db, user_id=mentor.id or 0, actor_id=None)
    app_db.commit()
    assert app_db.exec(select(UserSession).where(UserSession.user_id == mentor.id)).all() == []
    app_db.commit()

    for i, tab in enumerate(tabs):
        tab.call(SEND, {"form": {"body": f"after {i}", "client_id": uuid.uuid4().hex}})
        assert tab.redirects[-1].startswith("/login"), tab.redirects
        assert not tab.var("session_state.signed_in")
    assert _messages(app_db, pair_id) == ["before"]


@pytest.mark.parametrize("expiry", ["idle", "absolute"])
def test_expired_sessions_cannot_act(
    connect: Callable[..., ReflexClient], app_db: Session, expiry: str
) -> None:
    pair_id, _mentor, mentee = _pair_page(app_db)
    tab = signed_in(connect, mentee, f"/pairs/{pair_id}")
    row = app_db.exec(select(UserSession).where(col(UserSession.user_id) == mentee.id)).one()
    now = utcnow()
    if expiry == "idle":  # untouched for longer than the idle lifetime
        row.last_seen_at = now - sessions.IDLE_LIFETIME - dt.timedelta(minutes=1)
    else:  # active every minute, but older than the absolute lifetime
        row.created_at = now - sessions.ABSOLUTE_LIFETIME - dt.timedelta(minutes=1)
        row.expires_at = now - dt.timedelta(minutes=1)
        row.last_seen_at = now
    app_db.add(row)
    app_db.commit()

    tab.call(SEND, {"form": {"body": "too late", "client_id": uuid.uuid4().hex}})
    assert tab.redirects[-1].startswith("/login")
    assert _messages(app_db, pair_id) == []


def test_a_dead_session_met_by_an_event_is_deleted_for_good(
    connect: Callable[..., ReflexClient], app_db: Session
) -> None:
    pair_id, _mentor, mentee = _pair_page(app_db)
    tab = signed_in(connect, mentee, f"/pairs/{pair_id}")
    row = app_db.exec(select(UserSession).where(col(UserSession.user_id) == mentee.id)).one()
    row.last_seen_at = utcnow() - sessions.IDLE_LIFETIME - dt.timedelta(minutes=1)
    app_db.add(row)
    app_db.commit()

    tab.call(SEND, {"form": {"body": "too late", "client_id": uuid.uuid4().hex}})
    assert tab.redirects[-1].startswith("/login")
    app_db.expire_all()
    # The refusal (SignedOut) rolls its transaction back; the dead row's deletion stays.
    assert app_db.exec(select(UserSession).where(UserSession.user_id == mentee.id)).all() == []
    app_db.commit()


@pytest.mark.parametrize(
    ("idle", "age", "alive"),
    [
        (dt.timedelta(days=13, hours=23), dt.timedelta(days=14), True),
        (dt.timedelta(days=14, minutes=1), dt.timedelta(days=15), False),
        (dt.timedelta(minutes=5), dt.timedelta(days=29, hours=23), True),
        (dt.timedelta(minutes=5), dt.timedelta(days=30, minutes=1), False),
    ],
)
def test_session_lifetimes_at_their_edges(
    db: Session, idle: dt.timedelta, age: dt.timedelta, alive: bool
) -> None:
    user = make_user(db)
    start = utcnow()
    token = sessions.create_session(db, user=user, now=start)
    row = db.exec(select(UserSession)).one()
    now = start + age
    row.last_seen_at = now - idle
    db.add(row)
    db.flush()
    assert (sessions.resolve_session(db, token=token, now=now) is not None) is alive
