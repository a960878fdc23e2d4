"""Engines and sessions. SQLite gets WAL, a busy timeout, foreign keys, FULL sync
and BEGIN IMMEDIATE on every connection (a deferred read-then-write transaction
fails at once with "database is locked", whatever the timeout)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine, make_url
from sqlmodel import Session, create_engine

from mentor_app.settings import settings

BUSY_TIMEOUT_MS = 5000
READ_ONLY = "mentor_read_only"


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" hook issue BEGIN itself, not pysqlite.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()
    # Case-insensitive name search beyond ASCII (services.names.casefold).
    dbapi_connection.create_function("casefold", 1, _casefold, deterministic=True)


def _casefold(text: Any) -> Any:
    return text.casefold() if isinstance(text, str) else text


def _sqlite_on_begin(connection: Any) -> None:
    # A read-only scope begins deferred: in WAL mode a reader never waits for a writer.
    # query_only makes a write in it fail loudly instead of vanishing in its rollback.
    if connection.get_execution_options().get(READ_ONLY, False):
        connection.exec_driver_sql("PRAGMA query_only=ON")
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("PRAGMA query_only=OFF")
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _postgresql_on_begin(connection: Any) -> None:
    if connection.get_execution_options().get(READ_ONLY, False):
        connection.exec_driver_sql("SET TRANSACTION READ ONLY")


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
        )
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    engine = create_engine(url, pool_pre_ping=True)
    event.listen(engine, "begin", _postgresql_on_begin)
    return engine


@cache
def engine_for(url: str) -> Engine:
    return make_engine(url)


def get_engine() -> Engine:
    return engine_for(settings.database_url)


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """One unit of work: commits at the end, rolls back on any exception."""
    with Session(engine or get_engine(), expire_on_commit=False) as db:
        try:
            yield db
            db.commit()
        except BaseException:
            db.rollback()
            raise


@cache
def _read_only(engine: Engine) -> Engine:
    return engine.execution_options(**{READ_ONLY: True})


@contextmanager
def read_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A unit of work that only reads: never takes SQLite's write lock (so it does not wait
    for a writer holding it), and writes nothing (rolled back at the end)."""
    with Session(_read_only(engine or get_engine()), expire_on_commit=False) as db:
        try:
            yield db
        finally:
            db.expunge_all()  # what was read stays readable after the scope (no expiry)
            db.rollback()


def insert_for(bind: Connection | Engine | str, table: Any) -> Any:
    """An INSERT that can say ON CONFLICT DO NOTHING ... RETURNING, on either engine
    (given a connection, an engine or the dialect's name)."""
    name = bind if isinstance(bind, str) else bind.dialect.name
    if name == "sqlite":
        return sqlite.insert(table)
    if name == "postgresql":
        return postgresql.insert(table)
    raise NotImplementedError(f"only SQLite and PostgreSQL are supported, not {name}")
