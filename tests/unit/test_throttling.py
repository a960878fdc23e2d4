"""Throttling the abusers, not the crowd: failed log-ins per client address (a lower
ceiling for e-mails with no account), sign-ups per address, new groups and joins per
member; each lifts after its window, and old counts are cleaned away."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select
from starlette.requests import Request

from mentor_app import throttle_cleanup
from mentor_app.models import Group, LoginThrottle, Membership, RateLimit, User
from mentor_app.services import accounts, groups, throttling
from mentor_app.services.errors import Conflict, Throttled, ValidationError
from mentor_app.web_auth import client_address
from tests.factories import PASSWORD, make_group, make_user
from tests.support.race import race

NOW = dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.UTC)
ABUSER = "203.0.113.7"
OFFICE = "198.51.100.20"  # a crowd behind one NAT
NETWORK_MESSAGE = "Too many attempts from your network. Try again in 15 minutes."


def _crowd(db: Session, n: int) -> list[User]:
    """`n` accounts with the password PASSWORD (one hash made once: fast to arrange)."""
    password_hash = accounts.pwd_context.hash(PASSWORD)
    people = [
        User(
            email=f"crowd-{i}-{uuid.uuid4().hex[:6]}@example.com",
            display_name=f"Crowd {i}",
            password_hash=password_hash,
            date_of_birth=dt.date(1990, 1, 1),
        )
        for i in range(n)
    ]
    db.add_all(people)
    db.commit()
    return people


def _log_in(
    db: Session, email: str, password: str, *, address: str = ABUSER, now: dt.datetime = NOW
) -> User:
    try:
        user = accounts.authenticate(
            db, email=email, password=password, client_address=address, now=now
        )
    except Exception:
        db.rollback()  # as the endpoint's unit of work does
        raise
    db.commit()
    return user


def _fail_unknown(db: Session, *, address: str = ABUSER, now: dt.datetime = NOW) -> None:
    with pytest.raises(ValidationError) as refused:
        _log_in(db, f"made-up-{uuid.uuid4().hex[:8]}@example.com", "a guess!", address=address,
                now=now)  # fmt: skip
    assert type(refused.value) is ValidationError


@pytest.fixture
def hashes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every password hash or check made from now on, by kind."""
    made: list[str] = []
    context = accounts.pwd_context
    for name in ("hash", "verify", "verify_and_update", "dummy_verify"):
        original = getattr(context, name)

        def counted(
            *args: object, _name: str = name, _original: Callable = original, **kwargs: object
        ) -> object:
            made.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(context, name, counted)
    return made


# --- failed log-ins per client address ------------------------------------------------------


def test_address_spraying_made_up_emails_is_cut_off_without_a_hash(
    db: Session, hashes: list[str]
) -> None:
    owner = make_user(db, email="owner@example.com")
    for _ in range(accounts.LOGIN_UNKNOWN_PER_ADDRESS.max):
        _fail_unknown(db)
    hashes.clear()

    # Cut off, whatever it tries next: another made-up e-mail, or a real one, rightly.
    for email, password in (("another@example.com", "a guess!"), (owner.email, PASSWORD)):
        with pytest.raises(Throttled) as throttled:
            _log_in(db, email, password)
        assert throttled.value.message == NETWORK_MESSAGE
        assert throttled.value.field is None  # the whole form's message
        assert throttled.value.retry_after_s == 15 * 60
    assert hashes == []


def test_one_failure_fewer_than_the_ceiling_does_not_cut_the_address_off(db: Session) -> None:
    owner = make_user(db, email="owner@example.com")
    for _ in range(accounts.LOGIN_UNKNOWN_PER_ADDRESS.max - 1):
        _fail_unknown(db)
    assert _log_in(db, owner.email, PASSWORD).id == owner.id


def test_crowd_of_different_emails_with_right_passwords_from_one_address_is_not_blocked(
    db: Session,
) -> None:
    # More people than either ceiling, a few of them mistyping first, all from one address.
    crowd = _crowd(db, accounts.LOGIN_FAILURES_PER_ADDRESS.max + 10)
    for person in crowd[:5]:
        with pytest.raises(ValidationError):
            _log_in(db, person.email, "mistyped password", address=OFFICE)
    for typo in range(3):
        with pytest.raises(ValidationError):
            _log_in(db, f"crowd-typo-{typo}@exmaple.com", PASSWORD, address=OFFICE)
    signed_in = [_log_in(db, p.email, PASSWORD, address=OFFICE).id for p in crowd]
    assert signed_in == [p.id for p in crowd]


def test_failures_on_real_accounts_stop_at_the_higher_ceiling(
    db: Session, hashes: list[str]
) -> None:
    # Credential stuffing: a few guesses at each of many real accounts (under each
    # account's own lock), so only the address's ceiling stops it.
    ceiling = accounts.LOGIN_FAILURES_PER_ADDRESS.max
    per_account = accounts.FREE_FAILURES - 1
    targets = _crowd(db, -(-ceiling // per_account))
    guesses = [(t.email, f"guess {i}") for t in targets for i in range(per_account)][:ceiling]
    for email, guess in guesses:
        with pytest.raises(ValidationError) as refused:
            _log_in(db, email, guess)
        assert type(refused.value) is ValidationError
    hashes.clear()
    with pytest.raises(Throttled) as throttled:
        _log_in(db, targets[-1].email, PASSWORD)
    assert throttled.value.message == NETWORK_MESSAGE
    assert hashes == []


def test_address_limit_lifts_after_its_window(db: Session) -> None:
    owner = make_user(db, email="owner@example.com")
    for _ in range(accounts.LOGIN_UNKNOWN_PER_ADDRESS.max):
        _fail_unknown(db)
    almost = NOW + accounts.LOGIN_UNKNOWN_PER_ADDRESS.window - dt.timedelta(seconds=1)
    with pytest.raises(Throttled) as throttled:
        _log_in(db, owner.email, PASSWORD, now=almost)
    assert throttled.value.retry_after_s == 1
    assert throttled.value.message == "Too many attempts from your network. Try again in 1 second."

    later = NOW + accounts.LOGIN_UNKNOWN_PER_ADDRESS.window
    assert _log_in(db, owner.email, PASSWORD, now=later).id == owner.id
    # A fresh window: the address has its full allowance again.
    for _ in range(accounts.LOGIN_UNKNOWN_PER_ADDRESS.max - 1):
        _fail_unknown(db, now=later)
    assert _log_in(db, owner.email, PASSWORD, now=later).id == owner.id


def test_attempts_while_cut_off_do_not_extend_the_wait(db: Session) -> None:
    for _ in range(accounts.LOGIN_UNKNOWN_PER_ADDRESS.max):
        _fail_unknown(db)
    for minutes in (1, 5, 14):
        with pytest.raises(Throttled):
            _fail_unknown(db, now=NOW + dt.timedelta(minutes=minutes))
    with pytest.raises(Throttled) as throttled:
        _fail_unknown(db, now=NOW + dt.timedelta(minutes=14))
    assert throttled.value.retry_after_s == 60


def test_a_cut_off_address_does_not_hold_back_another(db: Session) -> None:
    owner = make_user(db, email="owner@example.com")
    for _ in range(accounts.LOGIN_UNKNOWN_PER_ADDRESS.max):
        _fail_unknown(db)
    assert _log_in(db, owner.email, PASSWORD, address=OFFICE).id == owner.id


def test_addresses_of_one_ipv6_network_count_as_one(db: Session) -> None:
    for i in range(accounts.LOGIN_UNKNOWN_PER_ADDRESS.max):
        _fail_unknown(db, address=f"2001:db8:1:2::{i + 1:x}")
    with pytest.raises(Throttled):
        _fail_unknown(db, address="2001:db8:1:2:ffff:ffff:ffff:ffff")
    _fail_unknown(db, address="2001:db8:1:3::1")  # the next /64 is someone else


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("192.0.2.1", "192.0.2.1"),
        (" 192.0.2.1 ", "192.0.2.1"),
        ("192.0.2.1:4711", "192.0.2.1"),
        ("::ffff:192.0.2.1", "192.0.2.1"),
        ("2001:db8::1", "2001:db8::/64"),
        ("[2001:db8::1]:443", "2001:db8::/64"),
        ("fe80::1%eth0", "fe80::/64"),
        ("", throttling.NO_ADDRESS),
        (None, throttling.NO_ADDRESS),
        ("testclient", "testclient"),
    ],
)
def test_address_key(address: str | None, key: str) -> None:
    assert throttling.address_key(address) == key


def test_a_script_without_a_client_address_is_throttled_per_email_only(db: Session) -> None:
    owner = make_user(db, email="owner@example.com")
    for i in range(accounts.LOGIN_UNKNOWN_PER_ADDRESS.max + 5):
        with pytest.raises(ValidationError):
            accounts.authenticate(db, email=f"nobody{i}@example.com", password="x" * 8, now=NOW)
        db.commit()
    assert accounts.authenticate(db, email=owner.email, password=PASSWORD, now=NOW)


# --- sign-ups per client address -------------------------------------------------------------


def _sign_up(
    db: Session, *, address: str = ABUSER, now: dt.datetime = NOW, email: str | None = None
) -> User:
    try:
        user = accounts.sign_up(
            db,
            email=email or f"new-{uuid.uuid4().hex[:10]}@example.com",
            display_name="New Person",
            password=PASSWORD,
            date_of_birth="1990-01-01",
            client_address=address,
            now=now,
        )
    except Exception:
        db.rollback()
        raise
    db.commit()
    return user


def _accounts(db: Session) -> int:
    return db.exec(select(func.count()).select_from(User)).one()


def test_signups_from_one_address_stop_at_the_limit_without_a_hash(
    db: Session, hashes: list[str]
) -> None:
    for _ in range(accounts.SIGNUPS_PER_ADDRESS.max):
        _sign_up(db)
    before = _accounts(db)
    hashes.clear()
    with pytest.raises(Throttled) as throttled:
        _sign_up(db, now=NOW + dt.timedelta(minutes=3))
    assert throttled.value.message == "Too many sign-ups from your network. Try again in 7 minutes."
    assert throttled.value.field is None
    assert _accounts(db) == before
    assert hashes == []


def test_signup_limit_lifts_after_its_window(db: Session) -> None:
    for _ in range(accounts.SIGNUPS_PER_ADDRESS.max):
        _sign_up(db)
    with pytest.raises(Throttled):
        _sign_up(db, now=NOW + accounts.SIGNUPS_PER_ADDRESS.window - dt.timedelta(seconds=1))
    assert _sign_up(db, now=NOW + accounts.SIGNUPS_PER_ADDRESS.window).id


def test_signups_from_another_address_go_on(db: Session) -> None:
    for _ in range(accounts.SIGNUPS_PER_ADDRESS.max):
        _sign_up(db)
    assert _sign_up(db, address=OFFICE).id


def test_taken_emails_count_as_signups(db: Session) -> None:
    """Asking whether e-mails have accounts is what the sign-up form can be abused for."""
    make_user(db, email="taken@example.com")
    for _ in range(accounts.SIGNUPS_PER_ADDRESS.max):
        with pytest.raises(Conflict):
            _sign_up(db, email="taken@example.com")
    with pytest.raises(Throttled):
        _sign_up(db, email="taken@example.com")


def test_a_form_with_mistakes_does_not_count(db: Session) -> None:
    for _ in range(accounts.SIGNUPS_PER_ADDRESS.max + 5):
        with pytest.raises(ValidationError) as refused:
            accounts.sign_up(
                db,
                email="fine@example.com",
                display_name="Fine",
                password="short",
                date_of_birth="1990-01-01",
                client_address=ABUSER,
                now=NOW,
            )
        assert refused.value.field == "password"
        db.rollback()
    assert _sign_up(db).id


# --- new groups and joins per member ---------------------------------------------------------


def _create(db: Session, actor: User, now: dt.datetime = NOW) -> Group:
    try:
        group = groups.create_group(
            db, actor=actor, name=f"Circle {uuid.uuid4().hex[:6]}", description="",
            category="professional", now=now,
        )  # fmt: skip
    except Exception:
        db.rollback()
        raise
    db.commit()
    return group


def _groups_of(db: Session, user: User) -> int:
    return db.exec(select(func.count()).select_from(Group).where(Group.created_by == user.id)).one()


def test_member_creating_many_groups_is_slowed(db: Session) -> None:
    maker = make_user(db)
    for _ in range(groups.GROUPS_CREATED.max):
        _create(db, maker)
    with pytest.raises(Throttled) as throttled:
        _create(db, maker, now=NOW + dt.timedelta(minutes=20))
    assert throttled.value.message == (
        "You have created many groups in a short time. Try again in 40 minutes."
    )
    assert _groups_of(db, maker) == groups.GROUPS_CREATED.max
    assert _create(db, make_user(db)).id  # another member is not held back


def test_group_creation_limit_lifts_after_its_window(db: Session) -> None:
    maker = make_user(db)
    for _ in range(groups.GROUPS_CREATED.max):
        _create(db, maker)
    assert _create(db, maker, now=NOW + groups.GROUPS_CREATED.window).id


def test_a_group_form_with_mistakes_does_not_count(db: Session) -> None:
    maker = make_user(db)
    for _ in range(groups.GROUPS_CREATED.max + 3):
        with pytest.raises(ValidationError):
            groups.create_group(db, actor=maker, name="x", description="", category="other")
        db.rollback()
    assert _create(db, maker).id


def _open_groups(db: Session, n: int) -> list[Group]:
    """`n` open groups of one admin (rows: more than the admin may create in an hour)."""
    owner = make_user(db)
    made = [
        Group(name=f"Open {i}", description="", category="professional", created_by=owner.id or 0)
        for i in range(n)
    ]
    db.add_all(made)
    db.flush()
    db.add_all(Membership(group_id=g.id or 0, user_id=owner.id or 0, role="admin") for g in made)
    db.commit()
    return made


def _join(db: Session, actor: User, group: Group, now: dt.datetime = NOW) -> Membership:
    try:
        membership = groups.join_group(db, actor=actor, group_id=group.id or 0, now=now)
    except Exception:
        db.rollback()
        raise
    db.commit()
    return membership


def test_member_joining_many_groups_is_slowed(db: Session) -> None:
    joiner = make_user(db)
    open_groups = _open_groups(db, groups.GROUP_JOINS.max + 2)
    for group in open_groups[: groups.GROUP_JOINS.max]:
        _join(db, joiner, group)
    with pytest.raises(Throttled) as throttled:
        _join(db, joiner, open_groups[-2], now=NOW + dt.timedelta(minutes=59))
    assert throttled.value.message == (
        "You have joined many groups in a short time. Try again in 1 minute."
    )
    mine = select(func.count()).select_from(Membership).where(Membership.user_id == joiner.id)
    assert db.exec(mine).one() == groups.GROUP_JOINS.max
    assert _join(db, make_user(db), open_groups[-1]).id  # another member joins


def test_group_join_limit_lifts_after_its_window(db: Session) -> None:
    joiner = make_user(db)
    open_groups = _open_groups(db, groups.GROUP_JOINS.max + 1)
    for group in open_groups[:-1]:
        _join(db, joiner, group)
    assert _join(db, joiner, open_groups[-1], now=NOW + groups.GROUP_JOINS.window).id


def test_a_refused_join_does_not_count(db: Session) -> None:
    owner, joiner = make_user(db), make_user(db)
    group = make_group(db, admin=owner)
    _join(db, joiner, group)
    for _ in range(groups.GROUP_JOINS.max):
        with pytest.raises(Conflict):
            _join(db, joiner, group)  # already a member
    assert _join(db, joiner, make_group(db, admin=owner)).id


# --- the counts, across workers --------------------------------------------------------------


LIMIT = throttling.Limit("test-limit", max=3, window=dt.timedelta(minutes=5), message="Slow down.")


def test_attempts_counted_at_the_same_moment_in_many_sessions_all_count(engine: Engine) -> None:
    """Two workers are two sessions: every hit counts, none is lost in a race."""
    results = race(
        engine, *[lambda db: throttling.hit(db, LIMIT, "racer", now=NOW) for _ in range(8)]
    )
    counts = sorted(r[0] for r in results if isinstance(r, tuple))
    assert counts == list(range(1, 9)), results


def test_only_the_limit_lets_through_at_the_same_moment(engine: Engine) -> None:
    results = race(
        engine, *[lambda db: throttling.take(db, LIMIT, "racer", now=NOW) for _ in range(8)]
    )
    assert sum(r is None for r in results) == LIMIT.max
    assert all(isinstance(r, Throttled) for r in results if r is not None), results


def test_old_counts_are_cleaned_and_live_ones_kept(engine: Engine, db: Session) -> None:
    owner = make_user(db, email="owner@example.com")
    for i in range(5):
        _fail_unknown(db, address=f"192.0.2.{i + 1}")
    with pytest.raises(ValidationError):
        _log_in(db, owner.email, "wrong password")
    later = NOW + throttling.longest_window() + dt.timedelta(minutes=1)
    _fail_unknown(db, address="192.0.2.200", now=later)  # a live count

    # Chunks of 2: the 11 ended counts (5 addresses' two, the owner's address's one) go
    # over several transactions.
    assert throttle_cleanup.forget_old_counts(engine, now=later, chunk=2) == 11
    keys = db.exec(select(RateLimit.key).order_by(col(RateLimit.key))).all()
    assert keys == ["login-failures:192.0.2.200", "login-unknown:192.0.2.200"]
    # The e-mails' failure streaks stay until their memory (a day) has passed.
    assert db.exec(select(func.count()).select_from(LoginThrottle)).one() == 7
    db.rollback()

    next_day = NOW + accounts.FAILURE_MEMORY + dt.timedelta(seconds=1)
    assert throttle_cleanup.forget_old_counts(engine, now=next_day, chunk=2) == 6 + 2
    assert db.exec(select(func.count()).select_from(RateLimit)).one() == 0
    assert db.exec(select(func.count()).select_from(LoginThrottle)).one() == 1  # `later`'s


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(1, "1 second"), (59, "59 seconds"), (60, "1 minute"), (61, "2 minutes"),
     (900, "15 minutes"), (7140, "119 minutes"), (7199, "2 hours"), (86400, "24 hours")],
)  # fmt: skip
def test_wait_text(seconds: int, text: str) -> None:
    assert throttling.wait_text(seconds) == text


# --- where a request comes from ---------------------------------------------------------------


def _request(peer: str | None, headers: dict[str, list[str]]) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, values in headers.items() for v in values]
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/auth/login",
        "headers": raw,
        "client": (peer, 50000) if peer else None,
    }
    return Request(scope)


@pytest.mark.parametrize(
    ("header", "headers", "address"),
    [
        (None, {"X-Forwarded-For": ["192.0.2.9"]}, "10.0.0.5"),  # not configured: ignored
        ("X-Forwarded-For", {}, "10.0.0.5"),  # configured but absent: the peer
        ("X-Forwarded-For", {"X-Forwarded-For": ["192.0.2.9"]}, "192.0.2.9"),
        # A client's own entries come first; the proxy's, the last, is the one to trust.
        ("X-Forwarded-For", {"X-Forwarded-For": ["6.6.6.6, 192.0.2.9"]}, "192.0.2.9"),
        ("x-forwarded-for", {"X-Forwarded-For": ["6.6.6.6", "192.0.2.9"]}, "192.0.2.9"),
        ("X-Real-IP", {"X-Real-IP": ["2001:db8::7"]}, "2001:db8::7"),
        ("Forwarded", {"Forwarded": ['for=6.6.6.6, for="[2001:db8::7]:4711"']}, "2001:db8::7"),
        ("Forwarded", {"Forwarded": ['for="192.0.2.9:4711";proto=https']}, "192.0.2.9"),
    ],
)
def test_client_address(header: str | None, headers: dict[str, list[str]], address: str) -> None:
    assert client_address(_request("10.0.0.5", headers), header) == address


def test_client_address_without_a_peer_is_empty() -> None:
    assert client_address(_request(None, {}), None) == ""
