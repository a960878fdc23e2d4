"""Shared fixtures: a real, migrated database per test, on the engine `--db` names.

`--db=sqlite` (the default) gives each test a SQLite file in its temp folder;
`--db=postgresql` gives each test a PostgreSQL database of its own: a copy of a template
migrated once per session, emptied after the test for the next one (a copy costs a
database's worth of writes, 0.14 s; emptying it 10 ms), or dropped if the test changed
more than its rows. `pg_engine` is an empty PostgreSQL database for the tests that are
about PostgreSQL itself."""

from __future__ import annotations

import itertools
import re
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool
from sqlmodel import Session

from mentor_app import migrations
from mentor_app.db import make_engine

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

# Every test database is named mct_<run>_<what>; the run holds the advisory lock
# (RUN_LOCK_CLASS, run) on the server for its whole life, so a later run can tell a
# dead run's leftovers (lock free) from a live concurrent run's databases (lock held).
PREFIX = "mct_"
RUN_LOCK_CLASS = 0x6D63  # "mc"
_NAME = re.compile(rf"^{PREFIX}([0-9a-f]{{8}})_")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="engine the service tests run on: a SQLite file, or a fresh PostgreSQL "
        f"database per test on {PG_SERVER.rsplit('/', 1)[0]} (default: sqlite)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sqlite_only(reason): about SQLite itself, skipped with --db=postgresql"
    )


# Run last in the session: the sweep sends some 8,000 events through the session's shared
# app server and leaves it busy for a while (thousands of tab states to write and purge),
# which slowed the browser tests that followed it past their timeouts. (`make test` runs it
# in a process of its own, with its own app, beside the browser tests' two processes.)
LAST = ("tests/adversarial/test_sweep.py",)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: any(item.nodeid.startswith(last) for last in LAST))
    on = config.getoption("db")
    for item in items:
        marker = item.get_closest_marker("sqlite_only")
        if on == "postgresql" and marker is not None:
            reason = marker.kwargs.get("reason") or (marker.args[0] if marker.args else "")
            item.add_marker(pytest.mark.skip(reason=f"SQLite only: {reason}"))
        if on == "sqlite" and "pg_engine" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.skip(reason="PostgreSQL only: runs with --db=postgresql"))


# What makes a database's schema: a test that changed it leaves a database not reused.
SCHEMA_OF = text(
    """
    SELECT string_agg(what, ',' ORDER BY what) FROM (
        SELECT c.relkind::text || ':' || c.relname || ':' || c.relnatts AS what
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
        UNION ALL SELECT 't:' || tgname || ':' || tgenabled::text FROM pg_trigger
        UNION ALL SELECT 'f:' || p.proname FROM pg_proc p
            JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
        UNION ALL SELECT 'n:' || nspname FROM pg_namespace
        UNION ALL SELECT 'e:' || extname FROM pg_extension
    ) AS parts
    """
)


class _SchemaChanged(Exception):
    pass


class PgDatabases:
    """Creates, reuses and drops this run's test databases on the PostgreSQL server."""

    def __init__(self, server_url: str) -> None:
        self.base_url = server_url.rsplit("/", 1)[0]
        self.admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
        self.run = secrets.randbits(31)
        self.template: str | None = None
        self._count = itertools.count()
        self._uses = itertools.count()
        self._free: list[str] = []  # migrated databases emptied after their last test
        self._template_schema: str | None = None
        self._tables: list[str] = []
        self._lock: Connection = self.admin.connect()
        self._lock.execute(
            text("SELECT pg_advisory_lock(:c, :r)"), {"c": RUN_LOCK_CLASS, "r": self.run}
        )
        self.drop_dead_runs_leftovers()

    def _new_name(self, what: str) -> str:
        return f"{PREFIX}{self.run:08x}_{what}"

    def drop_dead_runs_leftovers(self) -> None:
        with self.admin.connect() as connection:
            names = connection.execute(
                text("SELECT datname FROM pg_database WHERE datname LIKE :p"),
                {"p": PREFIX.replace("_", r"\_") + "%"},
            ).scalars()
            by_run: dict[int, list[str]] = {}
            for name in names:
                if match := _NAME.match(name):
                    by_run.setdefault(int(match[1], 16), []).append(name)
            for run, leftovers in by_run.items():
                if run == self.run:
                    continue
                args = {"c": RUN_LOCK_CLASS, "r": run}
                if not connection.execute(
                    text("SELECT pg_try_advisory_lock(:c, :r)"), args
                ).scalar():
                    continue  # that run is alive
                for name in leftovers:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                connection.execute(text("SELECT pg_advisory_unlock(:c, :r)"), args)

    def create(self, template: str | None = None) -> str:
        name = self._new_name(str(next(self._count)))
        source = f' TEMPLATE "{template}"' if template else ""
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"{source}'))
        return name

    def create_migrated(self) -> str:
        """A copy of the migrated template: much faster than migrating each database."""
        if self.template is None:
            name = self._new_name("template")
            self._create_with_language_collation(name)
            engine = make_engine(self.url(name))
            try:
                migrations.upgrade(engine)
                with engine.connect() as connection:
                    self._template_schema = connection.execute(SCHEMA_OF).scalar_one()
                    self._tables = list(
                        connection.execute(
                            text(
                                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                                " AND tablename <> 'alembic_version' ORDER BY tablename"
                            )
                        ).scalars()
                    )
                    rows = sum(
                        connection.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one()
                        for t in self._tables
                    )
                    assert rows == 0, "the migrations left rows: emptying would lose them"
            except BaseException:
                engine.dispose()
                self.drop(name)
                raise
            engine.dispose()  # CREATE DATABASE ... TEMPLATE wants no one connected
            self.template = name
        return self.create(self.template)

    def checkout(self) -> tuple[str, str]:
        """A migrated database with no rows, and a URL for it that no earlier test used
        (so no engine cached by URL, here or in a helper process, reaches it with a
        connection of an earlier test)."""
        name = self._free.pop() if self._free else self.create_migrated()
        return name, f"{self.url(name)}?application_name={name}_{next(self._uses)}"

    def checkin(self, name: str) -> None:
        """Empty the database for the next test, or drop it if its schema changed."""
        engine = create_engine(self.url(name), poolclass=NullPool)
        try:
            with engine.begin() as connection:
                # An earlier test's connections (engines it left cached, helpers) go now:
                # they could hold a lock the emptying waits for.
                connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                )
                if connection.execute(SCHEMA_OF).scalar_one() != self._template_schema:
                    raise _SchemaChanged
                # As a replica: the append-only triggers do not fire (nor foreign keys).
                connection.execute(text("SET LOCAL session_replication_role = replica"))
                for table in self._tables:
                    connection.execute(text(f'DELETE FROM "{table}"'))
                connection.execute(
                    text(
                        "SELECT setval(c.oid, 1, false) FROM pg_class c"
                        " JOIN pg_namespace n ON n.oid = c.relnamespace"
                        " WHERE c.relkind = 'S' AND n.nspname = 'public'"
                    )
                )
            self._free.append(name)
        except Exception:  # changed, or unreachable: not reused
            self.drop(name)
        finally:
            engine.dispose()

    def _create_with_language_collation(self, name: str) -> None:
        """Servers often default to the "C" collation, byte order like SQLite's; production
        ones usually sort text by a language's rules ("alice" before "Bob"), and a test server
        sorting like SQLite would hide every text ORDER BY that differs between the two."""
        icu = "TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'"
        with self.admin.connect() as connection:
            try:
                connection.execute(text(f'CREATE DATABASE "{name}" {icu}'))
            except DBAPIError:  # a server built without ICU: its own default, then
                connection.execute(text(f'CREATE DATABASE "{name}"'))

    def url(self, name: str) -> str:
        return f"{self.base_url}/{name}"

    def drop(self, name: str) -> None:
        with self.admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        for name in self._free:
            self.drop(name)
        if self.template is not None:
            self.drop(self.template)
        self._lock.close()
        self.admin.dispose()


@pytest.fixture(scope="session")
def pg_databases() -> Iterator[PgDatabases]:
    databases = PgDatabases(PG_SERVER)
    yield databases
    databases.close()


def _pg_engine_on(databases: PgDatabases, name: str) -> Iterator[Engine]:
    engine = make_engine(databases.url(name))
    try:
        yield engine
    finally:
        engine.dispose()
        databases.drop(name)


@pytest.fixture(scope="session")
def sqlite_migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per session; each test gets a copy of it (a
    copy takes a millisecond, the migrations a tenth of a second)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "migrated.db"
    template = make_engine(f"sqlite:///{path}")
    migrations.upgrade(template)
    template.dispose()  # the last connection closed: the WAL is folded into the file
    assert not path.with_name(path.name + "-wal").exists()
    return path


# SQLAlchemy caches each statement's compiled SQL per engine, keyed by its dialect: every
# test's engine started with an empty cache and compiled every statement again (a quarter
# of the service tests' time, by cProfile). The tests' engines of one backend share the
# first one's dialect and cache: same driver, same server, same settings.
_COMPILED: dict[str, tuple[Any, Any]] = {}


def _share_compiled_sql(engine: Engine) -> Engine:
    name = engine.dialect.name
    shared = _COMPILED.setdefault(name, (engine.dialect, engine._compiled_cache))
    engine.dialect, engine._compiled_cache = shared
    return engine


def _migrated_engine(request: pytest.FixtureRequest, folder: Path) -> Iterator[Engine]:
    """A migrated database on the engine `--db` names (a SQLite file in `folder`)."""
    if request.config.getoption("db") == "postgresql":
        databases: PgDatabases = request.getfixturevalue("pg_databases")
        name, url = databases.checkout()
        pg = _share_compiled_sql(make_engine(url))
        try:
            yield pg
        finally:
            pg.dispose()
            databases.checkin(name)
        return
    template: Path = request.getfixturevalue("sqlite_migrated")
    shutil.copyfile(template, folder / "test.db")
    eng = _share_compiled_sql(make_engine(f"sqlite:///{folder / 'test.db'}"))
    yield eng
    eng.dispose()


@pytest.fixture
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """The migrated database of this test, on the engine `--db` names."""
    yield from _migrated_engine(request, request.getfixturevalue("tmp_path"))


@pytest.fixture(scope="module")
def module_engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """One migrated database for a whole test module, for tests that only read what one
    costly arrangement wrote (the demo seed, say)."""
    yield from _migrated_engine(request, tmp_path_factory.mktemp("module-db"))


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session
        session.rollback()


@pytest.fixture
def pg_engine(pg_databases: PgDatabases) -> Iterator[Engine]:
    """A new, empty PostgreSQL database, dropped afterwards."""
    yield from _pg_engine_on(pg_databases, pg_databases.create())


@pytest.fixture
def any_engine(engine: Engine) -> Engine:
    """The migrated database, for rules the database itself holds (races, triggers): the
    same as `engine`, kept as its own name since these tests are run once per engine."""
    return engine
