"""The migrations build exactly the models' schema, on SQLite and on PostgreSQL."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from mentor_app import migrations


def test_an_empty_database_upgraded_to_head_matches_the_models(engine: Engine) -> None:
    assert migrations.pending_changes(engine) == []


@pytest.mark.sqlite_only(reason="SQLite pragmas")
def test_every_sqlite_connection_has_the_safety_pragmas(engine: Engine) -> None:
    with engine.connect() as connection:
        pragmas = {
            name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "foreign_keys", "synchronous", "busy_timeout")
        }
    assert pragmas == {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "synchronous": 2,  # FULL
        "busy_timeout": 5000,
    }


@pytest.mark.sqlite_only(reason="SQLite's BEGIN IMMEDIATE")
def test_sqlite_transactions_take_the_write_lock_at_begin(engine: Engine) -> None:
    # A deferred transaction that reads then writes fails at once with "database is
    # locked"; BEGIN IMMEDIATE takes the write lock up front, so writers queue instead.
    with engine.begin() as first:
        first.execute(text("SELECT 1"))
        second = sqlite3.connect(str(engine.url.database), timeout=0.05, isolation_level=None)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            second.execute("BEGIN IMMEDIATE")
        second.close()


def test_same_migrations_apply_on_postgresql(pg_engine: Engine) -> None:
    migrations.upgrade(pg_engine)
    assert migrations.pending_changes(pg_engine) == []
