"""Accounts: sign-up (adults only), password checks with throttling, password change,
logging out everywhere, user look-up and suspension.

Failed log-ins are throttled per e-mail (`LoginThrottle`: a growing lock on the account)
and, for a request from a client, per client address (`services.throttling`): a ceiling for
all its failures, and a lower one for failures on e-mails with no account, so an address
spraying random e-mails is cut off quickly while a crowd behind one address logging in
with the right passwords never is (successes are not counted). Sign-ups are counted per
client address. Every check runs before the password hash: a refused request costs none."""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata

from passlib.context import CryptContext  # type: ignore[import-untyped]
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete, select

from mentor_app.models import LoginThrottle, User, utcnow
from mentor_app.services import audit, journey, sessions, throttling
from mentor_app.services.cleaning import storable
from mentor_app.services.errors import Conflict, NotFound, ValidationError

# OWASP's argon2id baseline (19 MiB, 2 passes, 1 lane). `deprecated="auto"` makes
# verify_and_update hand back a fresh hash for anything made with other settings.
pwd_context = CryptContext(
    schemes=["argon2"],
    argon2__type="ID",
    argon2__memory_cost=19456,
    argon2__time_cost=2,
    argon2__parallelism=1,
    deprecated="auto",
)

ADULT_AGE = 18
EMAIL_MAX = 254
DISPLAY_NAME_MAX = 80
PASSWORD_MIN = 8
PASSWORD_MAX = 1024
EARLIEST_BIRTH_YEAR = 1900

FREE_FAILURES = 5
LOCK_MAX_S = 15 * 60
# A streak of failures this old is forgotten, so one bad week doesn't follow the owner.
FAILURE_MEMORY = dt.timedelta(days=1)

# Per client address (`throttling.address_key`): failures of any kind, failures on e-mails
# with no account (a spray of made-up e-mails), and sign-ups that got past the form's rules.
FROM_YOUR_NETWORK = "Too many attempts from your network."
LOGIN_FAILURES_PER_ADDRESS = throttling.Limit(
    "login-failures", max=50, window=dt.timedelta(minutes=15), message=FROM_YOUR_NETWORK
)
LOGIN_UNKNOWN_PER_ADDRESS = throttling.Limit(
    "login-unknown", max=10, window=dt.timedelta(minutes=15), message=FROM_YOUR_NETWORK
)
SIGNUPS_PER_ADDRESS = throttling.Limit(
    "signups",
    max=20,
    window=dt.timedelta(minutes=10),
    message="Too many sign-ups from your network.",
)

BAD_LOGIN = "Email or password is incorrect."
UNDERAGE = "You must be 18 or older to join Mentor circles."
EMAIL_TAKEN = "An account with this email already exists. Log in instead."

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


# --- input rules ---------------------------------------------------------------


def normalise_email(value: str) -> str:
    email = storable(value or "").strip().lower()
    if not email:
        raise ValidationError("Enter your email address.", field="email")
    local, at, domain = email.partition("@")
    if (
        len(email) > EMAIL_MAX
        or not at
        or "@" in domain
        or not local
        or "." not in domain
        or domain.startswith(".")
        or domain.endswith(".")
        or any(ch.isspace() for ch in email)
    ):
        raise ValidationError("Enter a valid email address, like name@example.com.", field="email")
    return email


def _clean_display_name(value: str) -> str:
    name = (value or "").strip()
    if not name:
        raise ValidationError("Enter a display name.", field="display_name")
    if len(name) > DISPLAY_NAME_MAX:
        raise ValidationError(f"Use at most {DISPLAY_NAME_MAX} characters.", field="display_name")
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        raise ValidationError(
            "Use letters, numbers, spaces and punctuation only.", field="display_name"
        )
    return name


def _check_password(value: str) -> str:
    # Length is checked before any hashing: an enormous password must not cost CPU.
    if len(value) < PASSWORD_MIN:
        raise ValidationError(f"Use at least {PASSWORD_MIN} characters.", field="password")
    if len(value) > PASSWORD_MAX:
        raise ValidationError(f"Use at most {PASSWORD_MAX} characters.", field="password")
    return value


def parse_date_of_birth(value: str | dt.date, *, today: dt.date) -> dt.date:
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        dob = value
    else:
        text = (value or "").strip()
        if not text:
            raise ValidationError("Enter your date of birth.", field="date_of_birth")
        # An HTML date input sends YYYY-MM-DD; fromisoformat alone would accept more.
        if not _ISO_DATE.fullmatch(text):
            raise ValidationError("Enter a valid date.", field="date_of_birth")
        try:
            dob = dt.date.fromisoformat(text)
        except ValueError:
            raise ValidationError("Enter a valid date.", field="date_of_birth") from None
    if dob > today:
        raise ValidationError("Date of birth can't be in the future.", field="date_of_birth")
    if dob.year < EARLIEST_BIRTH_YEAR:
        raise ValidationError("Enter a real date of birth.", field="date_of_birth")
    return dob


def age_on(dob: dt.date, today: dt.date) -> int:
    birthday = (dob.month, dob.day)
    if birthday == (2, 29) and not _is_leap(today.year):
        birthday = (3, 1)  # a leapling comes of age on 1 March in common years
    age = today.year - dob.year
    if (today.month, today.day) < birthday:
        age -= 1
    return age


def is_adult(dob: dt.date, *, today: dt.date) -> bool:
    return age_on(dob, today) >= ADULT_AGE


# The last time zone to reach a date (Baker Island, UTC-12): its date is the earliest on
# Earth, so nobody anywhere is a day older on it than on their own calendar.
EARLIEST_ZONE = dt.timezone(dt.timedelta(hours=-12))


def earliest_date_on_earth(now: dt.datetime) -> dt.date:
    """The calendar date at `now` where it is earliest (UTC-12). Checking an age against
    it means nobody can register before their 18th birthday has begun where they live."""
    return now.astimezone(EARLIEST_ZONE).date()


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


# --- sign-up ---------------------------------------------------------------------


def sign_up(
    db: Session,
    *,
    email: str,
    display_name: str,
    password: str,
    date_of_birth: str | dt.date,
    timezone: str | None = None,
    client_address: str | None = None,
    today: dt.date | None = None,
    now: dt.datetime | None = None,
) -> User:
    """A new account. `timezone` is what the browser reports; recorded if it is an IANA
    name, ignored otherwise (it never refuses a sign-up). `client_address` is where the
    request came from (None: not from a client, e.g. a script): sign-ups that pass the
    form's rules are counted per address, and refused over SIGNUPS_PER_ADDRESS."""
    now = now or utcnow()
    today = today or earliest_date_on_earth(now)
    # Form order, so the message is about the first field the person will look at.
    email = normalise_email(email)
    name = _clean_display_name(display_name)
    _check_password(password)
    dob = parse_date_of_birth(date_of_birth, today=today)
    # Counted before anything is looked up or hashed, and kept whatever the answer
    # (refusals below commit it): a taken e-mail is an answer worth throttling too.
    counted = client_address is not None
    if counted:
        throttling.take(db, SIGNUPS_PER_ADDRESS, throttling.address_key(client_address), now=now)

    if not is_adult(dob, today=today):
        # Keep nothing of a minor's attempt but the fact that one was refused. This
        # row must survive the caller's rollback, so it is committed here.
        audit.record(db, actor_id=None, action="signup_refused_underage", target_type="user")
        db.commit()
        raise ValidationError(UNDERAGE, field="date_of_birth")

    if db.exec(select(User.id).where(User.email == email)).first() is not None:
        if counted:
            db.commit()  # the count outlives the caller's rollback of this refusal
        raise Conflict(EMAIL_TAKEN, field="email")

    user = User(
        email=email,
        display_name=name,
        password_hash=pwd_context.hash(password),
        date_of_birth=dob,
    )
    journey.record_timezone(user, timezone)
    try:
        # A savepoint, so a sign-up racing this one for the same e-mail becomes a
        # Conflict the form can show, not a broken transaction.
        with db.begin_nested():
            db.add(user)
    except IntegrityError:
        if counted:
            db.commit()
        raise Conflict(EMAIL_TAKEN, field="email") from None
    return user


# --- log-in ----------------------------------------------------------------------


def authenticate(
    db: Session,
    *,
    email: str,
    password: str,
    timezone: str | None = None,
    client_address: str | None = None,
    now: dt.datetime | None = None,
) -> User:
    """The user for these credentials, or one uniform refusal whatever went wrong. The
    browser's `timezone` is recorded on success when it is an IANA name; a bad or missing
    one is ignored, never a reason to refuse. `client_address` is where the request came
    from (None: not from a client, e.g. a script); its failures are counted, and it is
    refused while over either per-address limit, whatever e-mail it tries then."""
    now = now or utcnow()
    key = storable(email or "").strip().lower()[:EMAIL_MAX]
    address = None if client_address is None else throttling.address_key(client_address)

    if address is not None:
        # A read: the failures are counted after the check, once known. On PostgreSQL,
        # attempts of one address in flight at once can each pass it before any counts,
        # so an address can overshoot by as many as the workers' threads run at once.
        # Holding its row for the check would queue every log-in of a crowd behind one
        # address for a hash each.
        throttling.refuse_if_reached(
            db,
            [(LOGIN_UNKNOWN_PER_ADDRESS, address), (LOGIN_FAILURES_PER_ADDRESS, address)],
            now=now,
        )
    throttle = db.get(LoginThrottle, key, with_for_update=True)
    _refuse_while_locked(throttle, now, field="password")

    user: User | None = None
    verified = False
    new_hash: str | None = None
    if len(password) <= PASSWORD_MAX:
        user = db.exec(select(User).where(User.email == key)).first()
        if user is None:
            pwd_context.dummy_verify()  # same cost as a real check: timing says nothing
        else:
            verified, new_hash = pwd_context.verify_and_update(password, user.password_hash)

    if user is None or not verified or user.status != "active":
        _record_failure(db, throttle, key, now)
        if address is not None:
            throttling.hit(db, LOGIN_FAILURES_PER_ADDRESS, address, now=now)
            if user is None:
                throttling.hit(db, LOGIN_UNKNOWN_PER_ADDRESS, address, now=now)
        # The counters must outlive the caller's rollback of this refused request.
        db.commit()
        raise ValidationError(BAD_LOGIN, field="password")

    if new_hash:
        user.password_hash = new_hash
        db.add(user)
    if journey.record_timezone(user, timezone):
        db.add(user)
    if throttle is not None:
        db.delete(throttle)
    db.flush()
    return user


def _refuse_while_locked(throttle: LoginThrottle | None, now: dt.datetime, *, field: str) -> None:
    if throttle is not None and throttle.locked_until is not None and throttle.locked_until > now:
        wait_s = max(1, math.ceil((throttle.locked_until - now).total_seconds()))
        raise throttling.try_again("Too many attempts.", wait_s, field=field)


def _record_failure(
    db: Session, throttle: LoginThrottle | None, key: str, now: dt.datetime
) -> None:
    if throttle is None:
        throttle = LoginThrottle(email=key)
    elif throttle.last_failure_at is not None and now - throttle.last_failure_at > FAILURE_MEMORY:
        throttle.failure_count = 0
    throttle.failure_count += 1
    throttle.last_failure_at = now
    if throttle.failure_count >= FREE_FAILURES:
        throttle.locked_until = now + dt.timedelta(seconds=lock_seconds(throttle.failure_count))
    db.add(throttle)
    db.flush()


def forget_old_failures(db: Session, *, now: dt.datetime, at_most: int = 1000) -> int:
    """Delete up to `at_most` of the e-mails' failure streaks that no longer count (their
    last failure is older than FAILURE_MEMORY, so any lock is long over): a spray of
    made-up e-mails leaves a row for each. Returns how many went."""
    old = (
        select(LoginThrottle.email)
        .where(col(LoginThrottle.last_failure_at) < now - FAILURE_MEMORY)
        .limit(at_most)
    )
    result = db.execute(delete(LoginThrottle).where(col(LoginThrottle.email).in_(old)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def lock_seconds(failure_count: int) -> int:
    """How long the e-mail is locked after this many failures in a row."""
    if failure_count < FREE_FAILURES:
        return 0
    # The exponent is capped first so 2**n stays small whatever the count.
    return min(2 ** min(failure_count - FREE_FAILURES, 20), LOCK_MAX_S)


def get_user(db: Session, *, user_id: int) -> User:
    user = db.get(User, user_id)
    if user is None:
        raise NotFound("User not found.")
    return user


def suspend_user(db: Session, *, user_id: int, actor_id: int | None) -> list[int]:
    """Suspend an account: it can no longer log in, every session of it ends at once, and
    its active pairs end (their partners are told). Returns the ids of the pairs ended.

    Only moderation calls this, once a site moderator has decided; it checks nothing itself."""
    # Imported here: the moderation service imports this module.
    from mentor_app.services import moderation

    user = db.get(User, user_id, with_for_update=True)
    if user is None:
        raise NotFound("User not found.")
    if user.status != "suspended":
        user.status = "suspended"
        db.add(user)
        audit.record(
            db, actor_id=actor_id, action="user_suspended", target_type="user", target_id=user_id
        )
    db.flush()
    sessions.end_all_sessions(db, user_id=user_id)
    return moderation.end_pairs_of_suspended(db, user_id=user_id)


# --- settings: password change, log out everywhere --------------------------------

WRONG_CURRENT = "Your current password is incorrect."
SAME_PASSWORD = "Choose a new password, different from your current one."


def change_password(
    db: Session,
    *,
    actor: User,
    current_password: str,
    new_password: str,
    keep_token: str | None,
    now: dt.datetime | None = None,
) -> int:
    """Replace the actor's password and end every other session of theirs (all but the one
    whose raw token is `keep_token`). Returns how many sessions ended.

    The current password is checked under the log-in throttle of the actor's e-mail: a
    stolen session must not become an unthrottled way to guess the password."""
    now = now or utcnow()
    # Locked and re-read: two changes at once must not both check against the old hash.
    user = db.get(User, actor.id, with_for_update=True, populate_existing=True)
    if user is None or user.id is None:
        raise NotFound("User not found.")

    throttle = db.get(LoginThrottle, user.email, with_for_update=True)
    _refuse_while_locked(throttle, now, field="current_password")
    # Length first: an enormous password must not cost CPU.
    verified = len(current_password) <= PASSWORD_MAX and pwd_context.verify(
        current_password, user.password_hash
    )
    if not verified:
        _record_failure(db, throttle, user.email, now)
        # The counter must outlive the caller's rollback of this refused request.
        db.commit()
        raise ValidationError(WRONG_CURRENT, field="current_password")

    try:
        _check_password(new_password)
    except ValidationError as error:
        raise ValidationError(error.message, field="new_password") from None
    if new_password == current_password:
        raise ValidationError(SAME_PASSWORD, field="new_password")

    user.password_hash = pwd_context.hash(new_password)
    db.add(user)
    if throttle is not None:
        db.delete(throttle)
    db.flush()
    ended = sessions.end_other_sessions(db, user_id=user.id, keep_token=keep_token)
    audit.record(
        db,
        actor_id=user.id,
        action="password_changed",
        target_type="user",
        target_id=user.id,
        detail=f"other sessions ended: {ended}",
    )
    return ended


def log_out_everywhere(db: Session, *, actor: User) -> int:
    """End every session of the actor, the current one too. Returns how many ended."""
    if actor.id is None:
        raise NotFound("User not found.")
    ended = sessions.end_all_sessions(db, user_id=actor.id)
    audit.record(
        db,
        actor_id=actor.id,
        action="logged_out_everywhere",
        target_type="user",
        target_id=actor.id,
        detail=f"sessions ended: {ended}",
    )
    return ended
