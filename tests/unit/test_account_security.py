"""Settings → security: changing the password and logging out everywhere."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from mentor_app.models import AuditLog, User, UserSession
from mentor_app.services import accounts, sessions
from mentor_app.services.errors import Throttled, ValidationError
from tests.factories import PASSWORD, make_user

NEW_PASSWORD = "a brand new passphrase"


def _change(
    db: Session,
    user: User,
    *,
    current: str = PASSWORD,
    new: str = NEW_PASSWORD,
    keep: str | None = None,
) -> None:
    accounts.change_password(
        db, actor=user, current_password=current, new_password=new, keep_token=keep
    )


def test_changed_password_logs_in_and_the_old_one_no_longer_does(db: Session) -> None:
    user = make_user(db, email="pat@example.com")
    _change(db, user)
    db.commit()
    assert accounts.authenticate(db, email="pat@example.com", password=NEW_PASSWORD).id == user.id
    with pytest.raises(ValidationError):
        accounts.authenticate(db, email="pat@example.com", password=PASSWORD)


def test_new_password_is_stored_as_an_argon2id_hash(db: Session) -> None:
    user = make_user(db)
    _change(db, user)
    stored = db.get(User, user.id)
    assert stored is not None and stored.password_hash.startswith("$argon2id$")
    assert NEW_PASSWORD not in stored.password_hash


def test_password_change_ends_other_sessions_and_keeps_this_one(db: Session) -> None:
    user, someone_else = make_user(db), make_user(db)
    this_tab = sessions.create_session(db, user=user)
    phone = sessions.create_session(db, user=user)
    laptop = sessions.create_session(db, user=user)
    theirs = sessions.create_session(db, user=someone_else)
    db.commit()

    _change(db, user, keep=this_tab)
    db.commit()

    assert sessions.resolve_session(db, token=phone) is None
    assert sessions.resolve_session(db, token=laptop) is None
    kept = sessions.resolve_session(db, token=this_tab)
    assert kept is not None and kept.id == user.id
    assert sessions.resolve_session(db, token=theirs) is not None
    assert len(db.exec(select(UserSession).where(UserSession.user_id == user.id)).all()) == 1


def test_password_change_without_a_token_to_keep_ends_every_session(db: Session) -> None:
    user = make_user(db)
    token = sessions.create_session(db, user=user)
    _change(db, user, keep=None)
    assert sessions.resolve_session(db, token=token) is None


def test_token_of_someone_else_keeps_nothing_of_theirs_alive_or_dead(db: Session) -> None:
    """keep_token only spares a session of the actor; it cannot end another user's."""
    user, other = make_user(db), make_user(db)
    mine = sessions.create_session(db, user=user)
    theirs = sessions.create_session(db, user=other)
    _change(db, user, keep=theirs)
    assert sessions.resolve_session(db, token=mine) is None
    assert sessions.resolve_session(db, token=theirs) is not None


def test_wrong_current_password_is_refused_and_changes_nothing(db: Session) -> None:
    user = make_user(db, email="wrong@example.com")
    other_tab = sessions.create_session(db, user=user)
    db.commit()
    before = user.password_hash

    with pytest.raises(ValidationError) as err:
        _change(db, user, current="not my password")
    db.rollback()

    assert err.value.field == "current_password"
    assert err.value.message == "Your current password is incorrect."
    stored = db.get(User, user.id)
    assert stored is not None and stored.password_hash == before
    assert sessions.resolve_session(db, token=other_tab) is not None


def test_overlong_current_password_is_refused_without_hashing(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = make_user(db)

    def no_hashing(*_a: object, **_k: object) -> object:
        raise AssertionError("an over-long password must not be hashed")

    monkeypatch.setattr(accounts.pwd_context, "verify", no_hashing)
    monkeypatch.setattr(accounts.pwd_context, "hash", no_hashing)
    with pytest.raises(ValidationError) as err:
        _change(db, user, current="x" * 1025)
    assert err.value.field == "current_password"


@pytest.mark.parametrize(
    ("new", "message"),
    [
        ("short", "Use at least 8 characters."),
        ("", "Use at least 8 characters."),
        ("x" * 1025, "Use at most 1024 characters."),
    ],
)
def test_weak_new_password_is_refused_next_to_the_new_password(
    db: Session, new: str, message: str
) -> None:
    user = make_user(db)
    before = user.password_hash
    with pytest.raises(ValidationError) as err:
        _change(db, user, new=new)
    db.rollback()
    assert (err.value.field, err.value.message) == ("new_password", message)
    stored = db.get(User, user.id)
    assert stored is not None and stored.password_hash == before


def test_new_password_same_as_the_current_one_is_refused(db: Session) -> None:
    user = make_user(db)
    token = sessions.create_session(db, user=user)
    with pytest.raises(ValidationError) as err:
        _change(db, user, new=PASSWORD)
    assert err.value.field == "new_password"
    assert "different" in err.value.message
    assert sessions.resolve_session(db, token=token) is not None


def test_guessing_the_current_password_is_throttled_like_logging_in(
    engine: Engine, db: Session
) -> None:
    """A stolen session must not become a way around the log-in throttle."""
    user = make_user(db, email="guess@example.com")
    for _ in range(accounts.FREE_FAILURES):
        with pytest.raises(ValidationError):
            _change(db, user, current="a wrong guess")
        db.rollback()  # what the state's transaction does on the way out
    with pytest.raises(Throttled) as err:
        _change(db, user)  # even the right one, while locked
    assert err.value.field == "current_password"
    with pytest.raises(Throttled):
        accounts.authenticate(db, email="guess@example.com", password=PASSWORD)


def test_password_change_is_audited_without_secrets(db: Session) -> None:
    user = make_user(db)
    keep = sessions.create_session(db, user=user)
    sessions.create_session(db, user=user)
    _change(db, user, keep=keep)
    db.commit()

    rows = db.exec(select(AuditLog).where(AuditLog.action == "password_changed")).all()
    assert len(rows) == 1
    row = rows[0]
    assert (row.actor_id, row.target_type, row.target_id) == (user.id, "user", user.id)
    stored = repr([r.model_dump() for r in db.exec(select(AuditLog)).all()])
    for secret in (keep, PASSWORD, NEW_PASSWORD, sessions._hash(keep)):
        assert secret not in stored


def test_log_out_everywhere_ends_every_session_of_the_user_only(db: Session) -> None:
    user, other = make_user(db), make_user(db)
    mine = [sessions.create_session(db, user=user) for _ in range(3)]
    theirs = sessions.create_session(db, user=other)
    db.commit()

    ended = accounts.log_out_everywhere(db, actor=user)
    db.commit()

    assert ended == 3
    for token in mine:
        assert sessions.resolve_session(db, token=token) is None
    assert sessions.resolve_session(db, token=theirs) is not None


def test_log_out_everywhere_is_audited_without_secrets(db: Session) -> None:
    user = make_user(db)
    token = sessions.create_session(db, user=user)
    accounts.log_out_everywhere(db, actor=user)
    db.commit()

    rows = db.exec(select(AuditLog).where(AuditLog.action == "logged_out_everywhere")).all()
    assert len(rows) == 1
    assert (rows[0].actor_id, rows[0].target_id) == (user.id, user.id)
    stored = repr([r.model_dump() for r in db.exec(select(AuditLog)).all()])
    assert token not in stored and sessions._hash(token) not in stored
