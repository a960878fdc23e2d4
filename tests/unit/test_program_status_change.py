"""Moving a program open → active → closed carries the status the admin saw: a click from
a tab showing an older status moves nothing, and that tab is told and refreshed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from mentor_app.models import AuditLog, Program, User
from mentor_app.services import programs
from mentor_app.services.errors import Conflict
from state.programs import ProgramPageState
from tests.factories import make_program, make_user
from tests.support.race import meet_once_at, race


def _status(engine: Engine, program_id: int) -> str:
    with Session(engine) as db:
        program = db.get(Program, program_id)
        assert program is not None
        return program.status


def _changes(engine: Engine) -> list[str]:
    with Session(engine) as db:
        return list(
            db.exec(
                select(AuditLog.detail).where(AuditLog.action == "program_status_changed")
            ).all()
        )


def _arrange(engine: Engine) -> tuple[User, int]:
    with Session(engine, expire_on_commit=False) as db:
        admin = make_user(db, display_name="Ada")
        program = make_program(db, admin=admin)
        db.commit()
        return admin, program.id or 0


# --- the service -----------------------------------------------------------------------------


def test_a_second_start_from_a_stale_tab_is_refused_and_the_program_stays_active(
    any_engine: Engine,
) -> None:
    admin, pid = _arrange(any_engine)
    with Session(any_engine, expire_on_commit=False) as db:
        programs.advance_status(db, actor=admin, program_id=pid, expected_status="open")
        db.commit()
        with pytest.raises(Conflict) as refused:
            programs.advance_status(db, actor=admin, program_id=pid, expected_status="open")
        db.rollback()
    assert "status changed" in refused.value.message
    assert "refreshed" in refused.value.message
    assert _status(any_engine, pid) == "active"
    assert _changes(any_engine) == ["open → active"]


def test_two_starts_at_once_move_the_program_once(
    any_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin, pid = _arrange(any_engine)

    def start(db: Session) -> object:
        return programs.advance_status(db, actor=admin, program_id=pid, expected_status="open")

    # Both read the program as open before either writes (on PostgreSQL).
    meet_once_at(monkeypatch, programs, "admin_program", after=True)

    results = race(any_engine, start, start)

    refused = [r for r in results if isinstance(r, Exception)]
    assert len(refused) == 1 and isinstance(refused[0], Conflict), results
    assert _status(any_engine, pid) == "active"
    assert _changes(any_engine) == ["open → active"]


# --- the page's state ------------------------------------------------------------------------


class AdminTab:
    """One admin's tab of the program page: ProgramPageState's own handler code, with the
    session's database and user swapped for the test's (no app server needed)."""

    _act = ProgramPageState._act
    _load = ProgramPageState._load

    def __init__(self, engine: Engine, user: User, program_id: int) -> None:
        self.engine, self.user, self.program_id = engine, user, program_id
        self.program: dict[str, Any] = {}
        self.message = ""
        self.application_pages: dict[str, int] = {}
        self.turning = ""

    @contextmanager
    def _as_user(self) -> Iterator[tuple[Session, User]]:
        with Session(self.engine, expire_on_commit=False) as db:
            try:
                yield db, self.user
                db.commit()
            except BaseException:
                db.rollback()
                raise

    _reading_as_user = _as_user  # the test's database and user for reads too

    def _program_id(self) -> int:
        return self.program_id

    def advance(self) -> Any:
        return ProgramPageState.advance.fn(self)  # type: ignore[attr-defined]


def test_start_clicked_again_in_a_stale_tab_does_not_close_the_program(
    any_engine: Engine,
) -> None:
    admin, pid = _arrange(any_engine)
    first, stale = AdminTab(any_engine, admin, pid), AdminTab(any_engine, admin, pid)
    first._load()
    stale._load()
    assert first.program["next_status"] == stale.program["next_status"] == "active"

    first.advance()
    assert first.program["status"] == "active"
    stale.advance()  # the second tab still offers "Start the program"

    assert _status(any_engine, pid) == "active"
    assert _changes(any_engine) == ["open → active"]
    assert "status changed" in stale.message and "refreshed" in stale.message
    assert stale.program["status"] == "active"  # reloaded: it now offers "Close"
    assert stale.program["next_status"] == "closed"


def test_a_member_tab_still_cannot_move_the_program(any_engine: Engine) -> None:
    _admin, pid = _arrange(any_engine)
    with Session(any_engine, expire_on_commit=False) as db:
        sam = make_user(db, display_name="Sam")
        db.commit()
    tab = AdminTab(any_engine, sam, pid)
    tab.program = {"status": "open"}
    tab.advance()
    assert _status(any_engine, pid) == "open"
    assert tab.message
