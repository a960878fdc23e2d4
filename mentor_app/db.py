"""Engines and sessions. SQLite gets WAL, a busy timeout, foreign keys, FULL sync
and BEGIN IMMEDIATE on every connection (a deferred read-then-write transaction
fails at once with "database is locked", whatever the timeout); its writers queue for
their turn, in one process and across processes (`_SQLiteWriters`)."""

from __future__ import annotations

import fcntl
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Select, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, create_engine

from mentor_app.settings import settings

BUSY_TIMEOUT_MS = 5000
POOL_RECYCLE_S = 600
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


_HOLDS_WRITER_TURN = "mentor_holds_writer_turn"


def _busy_timeout_ms(connection: Any) -> int:
    """How long SQLite itself would wait on this connection (BUSY_TIMEOUT_MS unless it was
    changed on it)."""
    try:
        driver = connection.connection.driver_connection
        return int(driver.execute("PRAGMA busy_timeout").fetchone()[0])
    except Exception:
        return BUSY_TIMEOUT_MS


# Set in a helper process of mentor_app.apart (`run_in_background`): its writers go after
# the worker's, see _SQLiteWriters.
_background = False


def run_in_background() -> None:
    """This process's SQLite writers let the foreground's go first (a helper process's
    chunks of Publish or of the nudge job wait for a chat send that is waiting)."""
    global _background
    _background = True


class _SQLiteWriters:
    """The writers of one SQLite database take turns before BEGIN IMMEDIATE, and let go at
    commit or rollback: in this process through a lock, and between processes (the worker
    and its helper processes, mentor_app.apart) through an advisory lock on a file beside
    the database (`<database>-writers`, flock).

    SQLite itself does not queue writers: one that finds the write lock taken sleeps and
    retries (1, 2, 5 ... 50, 100 ms apart), so behind a series of short transactions
    (Publish's chunks of pairs, the nudge job's chunks in a helper process) a chat send
    could sleep through every gap between them and wait hundreds of milliseconds. Here a
    writer of this process waits on a lock that wakes it as soon as the transaction before
    it ends, and one of another process looks again every `FILE_TURN_POLL_S`. A program
    that does not take the turn (the sqlite3 shell) still meets SQLite's own wait. A writer
    that has waited its connection's busy timeout (BUSY_TIMEOUT_MS) gives up with "database
    is locked", as SQLite would.

    Neither a lock nor a file lock is fair: a writer that gave the turn back and asked again
    at once (chunk after chunk) won it again over one that was waiting, for chunk after
    chunk (bench/writers.py: a one-row write waited 182 ms at p95 behind chunks of 15 ms).
    So a writer that arrives while others wait lets them go first, for at most
    YIELD_AT_MOST_S: in this process, the threads that wait are counted. Between
    processes, the foreground (the worker, where members wait for their chat) goes before
    the background (helper processes, `run_in_background`):
    - the foreground holds a shared lock on `<database>-waiting` while any of its writers
      waits, in this process's queue or for the file; a background writer tries to lock
      it exclusively, and while it cannot, it does not take the turn (YIELD_AT_MOST_S at
      most each time). So a worker's second writer in line is not overtaken by a helper's
      next chunk in the moment between the first one's commit and its own turn;
    - background writers let each other go first the same way, through
      `<database>-waiting-background`, held while one waits for the file;
    - a foreground writer never waits for a background one that is only waiting. There is
      one foreground process per SQLite database (the disk state manager's one worker)."""

    FILE_TURN_POLL_S = 0.001
    # The foreground looks more often: a chat send waits on it (a helper's part ends at any
    # moment); it waits seldom, so the extra wake-ups cost little.
    FOREGROUND_POLL_S = 0.0002
    YIELD_AT_MOST_S = 0.05

    def __init__(self, database: str | None = None) -> None:
        self._turn = threading.Lock()
        self._waiting = 0  # threads of this process waiting for `_turn`
        self._pending = 0  # foreground: threads waiting for `_turn` or for the file
        self._count = threading.Lock()
        self._file_path = f"{database}-writers" if database else None
        self._foreground_path = f"{database}-waiting" if database else None
        self._background_path = f"{database}-waiting-background" if database else None
        # Opened at the first write, in the process that writes (flock locks of one
        # process's two handles on a file conflict, so a probe needs a handle of its own).
        self._file: Any = None
        self._mark: Any = None  # held shared while this process waits (see above)
        self._foreground_probe: Any = None  # background only
        self._background_probe: Any = None  # background only

    def _let_them_go_first(self, others_wait: Callable[[], bool], deadline: float) -> None:
        until = min(deadline, time.monotonic() + self.YIELD_AT_MOST_S)
        while others_wait() and time.monotonic() < until:
            time.sleep(self.FILE_TURN_POLL_S)

    def _threads_wait(self) -> bool:
        return self._waiting > 0

    def _take_in_process_turn(self, timeout_s: float) -> bool:
        with self._count:
            self._waiting += 1
        try:
            return self._turn.acquire(timeout=timeout_s)
        finally:
            with self._count:
                self._waiting -= 1

    def _open_files(self) -> bool:
        if self._file_path is None:
            return False
        if self._file is None:
            assert self._foreground_path is not None and self._background_path is not None
            self._file = open(self._file_path, "a+b")  # noqa: SIM115 - kept open
            if _background:
                self._mark = open(self._background_path, "a+b")  # noqa: SIM115 - kept open
                self._foreground_probe = open(self._foreground_path, "a+b")  # noqa: SIM115
                self._background_probe = open(self._background_path, "a+b")  # noqa: SIM115
            else:
                self._mark = open(self._foreground_path, "a+b")  # noqa: SIM115 - kept open
        return True

    def _foreground_waits(self) -> None:
        with self._count:
            self._pending += 1
            if self._pending == 1 and self._open_files():
                fcntl.flock(self._mark.fileno(), fcntl.LOCK_SH)

    def announce(self) -> bool:
        """The foreground will ask for the turn in a moment (`announce_write`): its mark is
        held as if a writer waited, until `_foreground_done`. Never waits (it may run on
        the event loop): False when the mark could not be taken at once."""
        with self._count:
            if self._pending == 0:
                if not self._open_files():
                    return False
                try:
                    fcntl.flock(self._mark.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
                except BlockingIOError:  # a helper's probe holds it this instant
                    return False
            self._pending += 1
            return True

    def _foreground_done(self) -> None:
        with self._count:
            self._pending -= 1
            if self._pending == 0 and self._mark is not None:
                fcntl.flock(self._mark.fileno(), fcntl.LOCK_UN)

    @staticmethod
    def _held_by_another(probe: Any) -> bool:
        try:
            fcntl.flock(probe.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(probe.fileno(), fcntl.LOCK_UN)
        return False

    def _take_file_turn(self, deadline: float) -> bool:
        if not self._open_files():
            return True
        if not _background:  # this process's mark is already held (_foreground_waits)
            while not self._try_file_turn():
                if time.monotonic() >= deadline:
                    return False
                time.sleep(self.FOREGROUND_POLL_S)
            return True
        yield_until = min(deadline, time.monotonic() + self.YIELD_AT_MOST_S)

        def foreground_waits() -> bool:
            return time.monotonic() < yield_until and self.foreground_waits()

        self._let_them_go_first(
            lambda: foreground_waits() or self._held_by_another(self._background_probe),
            deadline,
        )
        if not foreground_waits() and self._try_file_turn():
            return True
        fcntl.flock(self._mark.fileno(), fcntl.LOCK_SH)  # this process waits
        try:
            while time.monotonic() < deadline:
                time.sleep(self.FILE_TURN_POLL_S)
                if not foreground_waits() and self._try_file_turn():
                    return True
            return False
        finally:
            fcntl.flock(self._mark.fileno(), fcntl.LOCK_UN)

    def foreground_waits(self) -> bool:
        """In a background process: a foreground writer waits for the turn now."""
        return (
            _background
            and self._foreground_probe is not None
            and self._held_by_another(self._foreground_probe)
        )

    def _try_file_turn(self) -> bool:
        try:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _give_file_turn(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)

    def on_begin(self, connection: Any) -> None:
        # A read-only scope begins deferred: in WAL mode a reader never waits for a
        # writer. query_only makes a write in it fail loudly instead of vanishing in its
        # rollback.
        if connection.get_execution_options().get(READ_ONLY, False):
            connection.exec_driver_sql("PRAGMA query_only=ON")
            connection.exec_driver_sql("BEGIN")
            return
        timeout_s = _busy_timeout_ms(connection) / 1000
        deadline = time.monotonic() + timeout_s
        foreground = not _background
        if foreground:
            self._foreground_waits()
        try:
            self._let_them_go_first(self._threads_wait, deadline)
            if not self._take_in_process_turn(max(0.0, deadline - time.monotonic())):
                raise _locked()
            if not self._take_file_turn(deadline):
                self._turn.release()
                raise _locked()
        finally:
            if foreground:
                self._foreground_done()
        connection.info[_HOLDS_WRITER_TURN] = self
        try:
            connection.exec_driver_sql("PRAGMA query_only=OFF")
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            _give_turn_back(connection)
            raise

    def release(self) -> None:
        try:
            self._give_file_turn()
        finally:
            self._turn.release()

    def on_checkin(self, _dbapi_connection: Any, record: Any) -> None:
        # A connection given back with its transaction never ended (an invalidated one).
        if record is not None:
            _give_turn_back(record)


def announce_write(engine: Engine | None = None) -> Callable[[], None] | None:
    """In the worker: a write will ask for the writers' turn in a moment. From now until
    the returned `done()` (idempotent), the helper processes take no new turn (for
    YIELD_AT_MOST_S at most each time) and end the job part they hold the turn for, so that
    part ends while the write is still on its way to its BEGIN instead of after. Never
    waits, so it may be called on the event loop. None, and nothing done, on PostgreSQL,
    in a helper, or when the mark could not be taken at once."""
    writers = None if _background else _WRITERS.get(engine or get_engine())
    if writers is None or not writers.announce():
        return None
    ended = threading.Lock()

    def done() -> None:
        if ended.acquire(blocking=False):
            writers._foreground_done()

    return done


@contextmanager
def writing_soon(engine: Engine | None = None) -> Iterator[None]:
    """`announce_write` around a unit of work that will write once handed to a handler
    thread: the helpers make way while the thread starts and reads the session."""
    done = announce_write(engine)
    try:
        yield
    finally:
        if done is not None:
            done()


def foreground_waits_to_write(db: Session) -> bool:
    """In a helper process (`run_in_background`), inside a write transaction on SQLite:
    whether the worker has a writer waiting for the turn. Work made of independent parts
    (the nudge job's pairs) commits what it has and goes on in a new transaction, so a
    chat send waits for a part, not for the whole chunk. False anywhere else."""
    writers = db.connection().info.get(_HOLDS_WRITER_TURN)
    return writers is not None and writers.foreground_waits()


def _give_turn_back(connection: Any) -> None:
    """Gives back the writer's turn this connection holds, if it holds one (to the writers
    of its own database: the connection's info names them)."""
    try:
        info = connection.info
    except NotImplementedError:  # the dialect's first look at a new connection, unpooled
        return
    writers = info.pop(_HOLDS_WRITER_TURN, None)
    if writers is not None:
        writers.release()


def _give_turn_after_the_transaction_ends(dialect: Any) -> None:
    """The turn goes back once the database has committed or rolled back, not at
    SQLAlchemy's "commit" and "rollback" events: those fire before the driver's COMMIT, so
    the next writer's BEGIN IMMEDIATE would meet the lock still held and fall into SQLite's
    sleep-and-retry. The pool's reset at check-in goes through the same two methods."""
    if getattr(dialect, "_mentor_gives_turn_back", False):
        return  # one dialect can serve several engines
    do_commit, do_rollback = dialect.do_commit, dialect.do_rollback

    def commit_then_give_turn(dbapi_connection: Any) -> None:
        do_commit(dbapi_connection)  # a failed COMMIT gives the turn back at its rollback
        _give_turn_back(dbapi_connection)

    def roll_back_then_give_turn(dbapi_connection: Any) -> None:
        try:
            do_rollback(dbapi_connection)
        finally:
            _give_turn_back(dbapi_connection)

    dialect.do_commit = commit_then_give_turn
    dialect.do_rollback = roll_back_then_give_turn
    dialect._mentor_gives_turn_back = True


_WRITERS: weakref.WeakKeyDictionary[Engine, _SQLiteWriters] = weakref.WeakKeyDictionary()


def _locked() -> OperationalError:
    return OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked"))


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
        )
        on_disk = parsed.database if parsed.database not in (None, "", ":memory:") else None
        writers = _SQLiteWriters(str(Path(on_disk).resolve()) if on_disk else None)
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", writers.on_begin)
        _give_turn_after_the_transaction_ends(engine.dialect)
        event.listen(engine.pool, "checkin", writers.on_checkin)
        _WRITERS[engine] = writers
        return engine
    # No pre-ping (a round trip at every checkout, on every event): a connection the
    # server closed fails its statement, which SQLAlchemy reports as a disconnect and
    # answers by emptying the pool, so the next unit of work gets fresh connections; the
    # failed one is told as "try again" (state.session.BUSY). Idle connections are
    # replaced after POOL_RECYCLE_S, before a server or proxy idle timeout closes them.
    return create_engine(url, pool_recycle=POOL_RECYCLE_S)


@cache
def engine_for(url: str) -> Engine:
    return make_engine(url)


def get_engine() -> Engine:
    return engine_for(settings.database_url)


_CHECKED_FIRST = "mentor_checked_first"


@contextmanager
def session_scope(
    engine: Engine | None = None, *, check_first: Callable[[Session], bool] | None = None
) -> Iterator[Session]:
    """One unit of work: commits at the end, rolls back on any exception.

    `check_first`, on SQLite: a check made in a read transaction just before the write
    transaction, on the same connection, so without the write lock (no chat send waits
    for it). If it held and no other connection committed between its snapshot and the
    write's start (`PRAGMA data_version`, which sees every writer of the file, other
    processes' too), the database is as the check saw it: `checked_first(db)` then gives
    the check, and the work may skip making the same reads again under the lock. On
    PostgreSQL it is not made: a write transaction there does not hold up other members'
    writes."""
    engine = engine or get_engine()
    if check_first is None or engine.dialect.name != "sqlite":
        with _committed(Session(engine, expire_on_commit=False)) as db:
            yield db
        return
    with engine.connect() as connection:
        connection.execution_options(**{READ_ONLY: True})  # in place: this connection
        with Session(connection, expire_on_commit=False) as reader:
            try:
                # Read after the check's reads: the version of the snapshot they saw.
                seen = _data_version(reader) if check_first(reader) else None
            finally:
                reader.rollback()
        connection.execution_options(**{READ_ONLY: False})
        with _committed(Session(connection, expire_on_commit=False)) as db:
            if seen is not None and _data_version(db) == seen:  # BEGIN IMMEDIATE first
                db.info[_CHECKED_FIRST] = (check_first, db.get_transaction())
            yield db


@contextmanager
def _committed(session: Session) -> Iterator[Session]:
    """The session, committed at the end, rolled back on any exception, then closed."""
    with session as db:
        try:
            yield db
            db.commit()
        except BaseException:
            db.rollback()
            raise


def _data_version(db: Session) -> int:
    return int(db.connection().exec_driver_sql("PRAGMA data_version").scalar_one())


def checked_first(db: Session) -> Callable[[Session], bool] | None:
    """The `check_first` of this write transaction's `session_scope`, if it held and still
    holds (nothing committed since by any other connection); else None. Only in the
    transaction that began right after the check: once the scope has committed and goes
    on in another, others may have written between."""
    check, transaction = db.info.get(_CHECKED_FIRST, (None, None))
    if transaction is None or transaction is not db.get_transaction():
        return None
    held: Callable[[Session], bool] = check
    return held


@cache
def _read_only(engine: Engine) -> Engine:
    if engine.dialect.name == "postgresql":
        # psycopg begins such a transaction with BEGIN READ ONLY: no extra round trip.
        return engine.execution_options(**{READ_ONLY: True}, postgresql_readonly=True)
    return engine.execution_options(**{READ_ONLY: True})


@cache
def _single_reads(engine: Engine) -> Engine:
    if engine.dialect.name == "postgresql":
        return engine.execution_options(
            **{READ_ONLY: True}, isolation_level="AUTOCOMMIT", postgresql_readonly=True
        )
    return _read_only(engine)


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


class WriteInReadScope(RuntimeError):
    """Something other than a SELECT was given to `single_select`."""


class SelectOnly:
    """A connection that runs SELECT statements only: what `single_select` yields."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def execute(self, statement: Select[Any], params: dict[str, Any] | None = None) -> Any:
        if not isinstance(statement, Select):
            raise WriteInReadScope("single_select runs SELECT statements only")
        return self._connection.execute(statement, params or {})


@contextmanager
def single_select(engine: Engine | None = None) -> Iterator[SelectOnly]:
    """`read_scope` for the checks made at every event of a linked tab, each one SELECT (is
    this tab's session live, which of these are): a Core connection, not an ORM session
    (0.37 against 0.70 ms of CPU a check on PostgreSQL, here). On PostgreSQL without a
    transaction around it (no BEGIN and ROLLBACK round trips; one statement sees one
    snapshot anyway), on SQLite a deferred read-only one that waits for no writer. Outside
    a transaction PostgreSQL's read-only mode does not hold, so anything but a SELECT is
    refused (WriteInReadScope) before it reaches the database."""
    with _single_reads(engine or get_engine()).connect() as connection:
        try:
            yield SelectOnly(connection)
        finally:
            connection.rollback()


def url_of(bind: Session | Engine) -> str:
    """The URL to reach this session's or engine's database from another process (a helper
    of mentor_app.apart), password included."""
    engine = bind.get_bind().engine if isinstance(bind, Session) else bind
    return engine.url.render_as_string(hide_password=False)


def insert_for(bind: Connection | Engine | str, table: Any) -> Any:
    """An INSERT that can say ON CONFLICT DO NOTHING ... RETURNING, on either engine
    (given a connection, an engine or the dialect's name)."""
    name = bind if isinstance(bind, str) else bind.dialect.name
    if name == "sqlite":
        return sqlite.insert(table)
    if name == "postgresql":
        return postgresql.insert(table)
    raise NotImplementedError(f"only SQLite and PostgreSQL are supported, not {name}")
