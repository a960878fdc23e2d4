"""Sign-up (adults only), e-mail and password rules, log-in and its throttle."""

from __future__ import annotations

import datetime as dt

import pytest
from passlib.context import CryptContext  # type: ignore[import-untyped]
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from mentor_app.models import AuditLog, LoginThrottle, User
from mentor_app.services import accounts
from mentor_app.services.errors import Conflict, Throttled, ValidationError
from tests.factories import PASSWORD, TODAY, make_user

NOW = dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.UTC)


def _sign_up(db: Session, **overrides: str) -> User:
    form = {
        "email": "sam@example.com",
        "display_name": "Sam",
        "password": PASSWORD,
        "date_of_birth": "1990-05-17",
    }
    form.update(overrides)
    return accounts.sign_up(db, today=TODAY, **form)


def _fail(db: Session, email: str, now: dt.datetime, password: str = "wrong password") -> None:
    with pytest.raises(ValidationError):
        accounts.authenticate(db, email=email, password=password, now=now)


# --- age ---------------------------------------------------------------------------


def test_person_turning_18_today_can_sign_up(db: Session) -> None:
    user = _sign_up(db, date_of_birth="2008-01-15")
    assert user.id is not None
    assert user.date_of_birth == dt.date(2008, 1, 15)


def test_person_turning_18_tomorrow_is_refused(db: Session) -> None:
    with pytest.raises(ValidationError) as err:
        _sign_up(db, date_of_birth="2008-01-16")
    assert err.value.field == "date_of_birth"
    assert err.value.message == "You must be 18 or older to join Mentor circles."


def test_leap_day_baby_is_not_18_on_28_february() -> None:
    assert not accounts.is_adult(dt.date(2008, 2, 29), today=dt.date(2026, 2, 28))


def test_leap_day_baby_is_18_on_1_march() -> None:
    assert accounts.is_adult(dt.date(2008, 2, 29), today=dt.date(2026, 3, 1))


def test_leap_day_baby_has_birthday_on_29_february_in_leap_years() -> None:
    assert accounts.age_on(dt.date(2004, 2, 29), dt.date(2028, 2, 29)) == 24
    assert accounts.age_on(dt.date(2004, 2, 29), dt.date(2028, 2, 28)) == 23


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2026-01-16", "Date of birth can't be in the future."),
        ("1800-06-01", "Enter a real date of birth."),
        ("yesterday", "Enter a valid date."),
        ("2001-02-30", "Enter a valid date."),
        ("15/01/1990", "Enter a valid date."),
        ("19900115", "Enter a valid date."),
    ],
)
def test_impossible_date_of_birth_is_refused(value: str, message: str) -> None:
    with pytest.raises(ValidationError) as err:
        accounts.parse_date_of_birth(value, today=TODAY)
    assert (err.value.message, err.value.field) == (message, "date_of_birth")


def test_underage_refusal_keeps_only_an_anonymous_audit_row(engine: Engine, db: Session) -> None:
    with pytest.raises(ValidationError):
        _sign_up(db, email="kid@example.com", display_name="Kiddo", date_of_birth="2012-03-04")
    db.rollback()  # what the caller's session_scope does on the way out

    with Session(engine) as fresh:
        assert fresh.exec(select(func.count()).select_from(User)).one() == 0
        rows = fresh.exec(select(AuditLog)).all()
    assert len(rows) == 1
    row = rows[0]
    assert row.action == "signup_refused_underage"
    assert row.actor_id is None and row.target_id is None
    assert row.detail == ""
    stored = repr(row.model_dump())
    for personal in ("kid@example.com", "Kiddo", "2012-03-04"):
        assert personal not in stored


def test_form_is_checked_in_field_order(db: Session) -> None:
    with pytest.raises(ValidationError) as err:
        _sign_up(db, email="not-an-email", password="short", date_of_birth="2015-01-01")
    assert err.value.field == "email"


# --- e-mail ------------------------------------------------------------------------


def test_email_is_stored_trimmed_and_lower_case(db: Session) -> None:
    user = _sign_up(db, email="  Sam.Smith@Example.COM ")
    assert user.email == "sam.smith@example.com"


@pytest.mark.parametrize("variant", ["SAM@example.com", " sam@EXAMPLE.com  ", "Sam@Example.Com"])
def test_same_email_in_other_case_or_spacing_is_taken(db: Session, variant: str) -> None:
    make_user(db, email="sam@example.com")
    with pytest.raises(Conflict) as err:
        _sign_up(db, email=variant)
    assert err.value.field == "email"
    assert err.value.message == "An account with this email already exists. Log in instead."


@pytest.mark.parametrize(
    "value",
    [
        "",
        "sam",
        "sam@example",
        "@example.com",
        "sam@@example.com",
        "sa m@example.com",
        "sam@.com",
        "sam@example.",
        "a" * 250 + "@x.com",
    ],
)
def test_malformed_email_is_refused(value: str) -> None:
    with pytest.raises(ValidationError) as err:
        accounts.normalise_email(value)
    assert err.value.field == "email"


# --- display name ------------------------------------------------------------------


@pytest.mark.parametrize("value", ["", "   ", "x" * 81, "Sam\x00", "Sam\nSmith"])
def test_bad_display_name_is_refused(db: Session, value: str) -> None:
    with pytest.raises(ValidationError) as err:
        _sign_up(db, display_name=value)
    assert err.value.field == "display_name"


def test_display_name_is_trimmed(db: Session) -> None:
    assert _sign_up(db, display_name="  Sam Smith  ").display_name == "Sam Smith"


# --- passwords ---------------------------------------------------------------------


def test_seven_character_password_is_refused(db: Session) -> None:
    with pytest.raises(ValidationError) as err:
        _sign_up(db, password="x" * 7)
    assert (err.value.field, err.value.message) == ("password", "Use at least 8 characters.")


@pytest.mark.parametrize("length", [8, 1024])
def test_password_of_allowed_length_works(db: Session, length: int) -> None:
    password = "p" * length
    _sign_up(db, password=password)
    assert accounts.authenticate(db, email="sam@example.com", password=password).email == (
        "sam@example.com"
    )


def test_overlong_password_gets_a_clean_error_without_hashing(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_hashing(*_a: object, **_k: object) -> str:
        raise AssertionError("an over-long password must not be hashed")

    monkeypatch.setattr(accounts.pwd_context, "hash", no_hashing)
    with pytest.raises(ValidationError) as err:
        _sign_up(db, password="x" * 1025)
    assert (err.value.field, err.value.message) == ("password", "Use at most 1024 characters.")


def test_non_ascii_password_works(db: Session) -> None:
    make_user(db, email="nina@example.com", password="pässwörd 日本語 🙂")
    user = accounts.authenticate(db, email="nina@example.com", password="pässwörd 日本語 🙂")
    assert user.email == "nina@example.com"


def test_password_is_stored_as_an_argon2id_hash(db: Session) -> None:
    user = make_user(db)
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_old_weaker_hash_is_upgraded_at_login(db: Session) -> None:
    user = make_user(db, email="old@example.com")
    legacy = CryptContext(
        schemes=["argon2"], argon2__type="ID", argon2__memory_cost=1024, argon2__time_cost=1
    )
    user.password_hash = legacy.hash(PASSWORD)
    db.add(user)
    db.commit()
    old_hash = user.password_hash

    accounts.authenticate(db, email="old@example.com", password=PASSWORD)
    db.commit()

    db.refresh(user)
    assert user.password_hash != old_hash
    assert not accounts.pwd_context.needs_update(user.password_hash)
    assert accounts.pwd_context.verify(PASSWORD, user.password_hash)


# --- log-in --------------------------------------------------------------------------


def test_login_with_right_password_returns_the_user(db: Session) -> None:
    user = make_user(db, email="sam@example.com")
    assert accounts.authenticate(db, email=" SAM@example.com", password=PASSWORD).id == user.id


@pytest.mark.parametrize("case", ["unknown email", "wrong password", "suspended", "overlong"])
def test_every_login_failure_looks_the_same(db: Session, case: str) -> None:
    user = make_user(db, email="sam@example.com")
    email, password = "sam@example.com", PASSWORD
    if case == "unknown email":
        email = "nobody@example.com"
    elif case == "wrong password":
        password = "not the password"
    elif case == "suspended":
        user.status = "suspended"
        db.add(user)
        db.commit()
    else:
        password = "x" * 1025

    with pytest.raises(ValidationError) as err:
        accounts.authenticate(db, email=email, password=password, now=NOW)
    assert type(err.value) is ValidationError
    assert (err.value.message, err.value.field) == ("Email or password is incorrect.", "password")


def test_unknown_email_still_spends_a_password_check(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    monkeypatch.setattr(accounts.pwd_context, "dummy_verify", lambda: calls.append(1))
    _fail(db, "nobody@example.com", NOW)
    assert calls == [1]


# --- throttle ------------------------------------------------------------------------


def test_five_failures_then_login_is_throttled(db: Session) -> None:
    make_user(db, email="sam@example.com")
    for _ in range(5):
        _fail(db, "sam@example.com", NOW)
    with pytest.raises(Throttled) as err:
        accounts.authenticate(db, email="sam@example.com", password="wrong", now=NOW)
    assert err.value.field == "password"
    assert err.value.retry_after_s == 1
    assert err.value.message == "Too many attempts. Try again in 1 second."


def test_four_failures_do_not_throttle(db: Session) -> None:
    make_user(db, email="sam@example.com")
    for _ in range(4):
        _fail(db, "sam@example.com", NOW)
    assert accounts.authenticate(db, email="sam@example.com", password=PASSWORD, now=NOW)


def test_wait_grows_with_each_further_failure(db: Session) -> None:
    make_user(db, email="sam@example.com")
    now = NOW
    for _ in range(4):
        _fail(db, "sam@example.com", now)
    waits = []
    for _ in range(4):
        _fail(db, "sam@example.com", now)
        with pytest.raises(Throttled) as err:
            accounts.authenticate(db, email="sam@example.com", password="x", now=now)
        waits.append(err.value.retry_after_s)
        now += dt.timedelta(seconds=err.value.retry_after_s)
    assert waits == [1, 2, 4, 8]


def test_right_password_is_refused_while_locked(db: Session) -> None:
    make_user(db, email="sam@example.com")
    for _ in range(5):
        _fail(db, "sam@example.com", NOW)
    with pytest.raises(Throttled):
        accounts.authenticate(db, email="sam@example.com", password=PASSWORD, now=NOW)


def test_right_password_works_once_the_lock_passes_and_resets_the_count(db: Session) -> None:
    make_user(db, email="sam@example.com")
    for _ in range(5):
        _fail(db, "sam@example.com", NOW)
    later = NOW + dt.timedelta(seconds=2)

    assert accounts.authenticate(db, email="sam@example.com", password=PASSWORD, now=later)
    assert db.get(LoginThrottle, "sam@example.com") is None


def test_attempts_while_locked_do_not_extend_the_lock(db: Session) -> None:
    make_user(db, email="sam@example.com")
    for _ in range(5):
        _fail(db, "sam@example.com", NOW)
    for _ in range(20):
        with pytest.raises(Throttled):
            accounts.authenticate(db, email="sam@example.com", password="x", now=NOW)
    row = db.get(LoginThrottle, "sam@example.com")
    assert row is not None and row.failure_count == 5


def test_lock_never_exceeds_fifteen_minutes(db: Session) -> None:
    make_user(db, email="sam@example.com")
    now = NOW
    longest = 0
    for _ in range(4):
        _fail(db, "sam@example.com", now)
    for _ in range(46):
        _fail(db, "sam@example.com", now)
        with pytest.raises(Throttled) as err:
            accounts.authenticate(db, email="sam@example.com", password=PASSWORD, now=now)
        longest = max(longest, err.value.retry_after_s)
        now += dt.timedelta(seconds=err.value.retry_after_s)
    assert longest == 15 * 60


def test_unknown_email_is_throttled_like_a_real_one(db: Session) -> None:
    for _ in range(5):
        _fail(db, "nobody@example.com", NOW)
    with pytest.raises(Throttled) as err:
        accounts.authenticate(db, email="Nobody@Example.com", password="x", now=NOW)
    assert err.value.retry_after_s == 1


def test_failed_login_is_counted_even_when_the_request_rolls_back(
    engine: Engine, db: Session
) -> None:
    make_user(db, email="sam@example.com")
    _fail(db, "sam@example.com", NOW)
    db.rollback()
    with Session(engine) as fresh:
        row = fresh.get(LoginThrottle, "sam@example.com")
    assert row is not None and row.failure_count == 1


def test_failure_streak_is_forgotten_after_a_day(db: Session) -> None:
    make_user(db, email="sam@example.com")
    for _ in range(4):
        _fail(db, "sam@example.com", NOW)
    _fail(db, "sam@example.com", NOW + dt.timedelta(days=2))
    row = db.get(LoginThrottle, "sam@example.com")
    assert row is not None and row.failure_count == 1 and row.locked_until is None


def test_two_sign_ups_racing_for_one_email_give_one_account_and_a_conflict(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Session(engine) as first:
        accounts.sign_up(
            first,
            email="race@example.org",
            display_name="One",
            password=PASSWORD,
            date_of_birth="1990-01-01",
            today=TODAY,
        )
        first.commit()
    # The second request's "is it taken?" read ran before the first committed: it saw nothing.
    real_select = accounts.select
    monkeypatch.setattr(accounts, "select", lambda *_: real_select(User.id).where(User.id == -1))
    with Session(engine) as second, pytest.raises(Conflict) as err:
        accounts.sign_up(
            second,
            email="race@example.org",
            display_name="Two",
            password=PASSWORD,
            date_of_birth="1990-01-01",
            today=TODAY,
        )
    assert err.value.field == "email"
    with Session(engine) as check:
        names = check.exec(real_select(User.display_name).where(User.email == "race@example.org"))
        assert names.all() == ["One"]
