"""A read-only unit of work never waits for SQLite's write lock (the session check that
every event of a linked tab makes must not stall behind a writer)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy import literal_column, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlmodel import select

from mentor_app.db import make_engine, read_scope, session_scope


@pytest.mark.sqlite_only(reason="SQLite's write lock")
def test_a_read_scope_reads_while_another_writer_holds_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "lock.db"
    engine = make_engine(f"sqlite:///{path}")
    with session_scope(engine) as db:
        db.exec(text("CREATE TABLE t (a INTEGER)"))
        db.exec(text("INSERT INTO t VALUES (1)"))
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO t VALUES (2)")
    try:
        started = time.perf_counter()
        with read_scope(engine) as db:
            assert db.exec(text("SELECT count(*) FROM t")).one() == (1,)  # the committed rows
        assert time.perf_counter() - started < 1
        # The control: an ordinary unit of work waits for the lock, then gives up.
        with pytest.raises(OperationalError), session_scope(engine) as db:
            db.exec(text("SELECT count(*) FROM t")).one()
    finally:
        writer.execute("ROLLBACK")
        writer.close()
        engine.dispose()


def test_a_read_scope_writes_nothing(engine: object) -> None:
    from sqlalchemy.engine import Engine

    assert isinstance(engine, Engine)
    with session_scope(engine) as db:
        db.exec(text("CREATE TABLE IF NOT EXISTS scratch (a INTEGER)"))
    # A write by mistake in a read scope fails loudly (it would vanish in the rollback).
    with pytest.raises(DBAPIError, match=r"(?i)read.?only"), read_scope(engine) as db:
        db.exec(text("INSERT INTO scratch VALUES (1)"))
    with read_scope(engine) as db:
        assert db.exec(text("SELECT count(*) FROM scratch")).one() == (0,)
    # ... and the same pooled connection writes again in an ordinary unit of work.
    with session_scope(engine) as db:
        db.exec(text("INSERT INTO scratch VALUES (2)"))
    with read_scope(engine) as db:
        assert db.exec(text("SELECT count(*) FROM scratch")).one() == (1,)


def test_a_single_read_scope_reads_and_refuses_anything_but_a_select(engine: object) -> None:
    from sqlalchemy.engine import Engine

    from mentor_app.db import WriteInReadScope, single_read_scope

    assert isinstance(engine, Engine)
    with session_scope(engine) as db:
        db.exec(text("CREATE TABLE IF NOT EXISTS scratch (a INTEGER)"))
        db.exec(text("INSERT INTO scratch VALUES (1)"))
    with single_read_scope(engine) as db:
        assert db.exec(select(literal_column("count(*)")).select_from(text("scratch"))).one() == 1
    # On PostgreSQL it runs outside a transaction, where read-only mode does not hold: the
    # session refuses the write before the database sees it.
    with pytest.raises(WriteInReadScope), single_read_scope(engine) as db:
        db.exec(text("INSERT INTO scratch VALUES (2)"))
    with read_scope(engine) as db:
        assert db.exec(text("SELECT count(*) FROM scratch")).one() == (1,)


def test_a_connection_the_server_closed_fails_one_unit_of_work_and_the_next_is_fresh(
    pg_engine: object,
) -> None:
    """No pre-ping: a pooled connection PostgreSQL has closed (a restart, a failover, an
    idle timeout) fails the statement it is given, as OperationalError, which the states
    tell as "try again"; SQLAlchemy then throws the pool's connections away, and the next
    unit of work, on a new connection, succeeds."""
    import psycopg
    from sqlalchemy.engine import Engine

    assert isinstance(pg_engine, Engine)
    with session_scope(pg_engine) as db:
        (pid,) = db.exec(text("SELECT pg_backend_pid()")).one()
    url = pg_engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() == (True,)

    with pytest.raises(OperationalError), session_scope(pg_engine) as db:
        db.exec(text("SELECT 1")).one()
    with session_scope(pg_engine) as db:
        assert db.exec(text("SELECT 1")).one() == (1,)
