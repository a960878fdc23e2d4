"""Scale-out mode for tests and benches: N app instances sharing one fresh PostgreSQL
database and one private Redis database, each one addressable on its own.

    from tests.support.scaleout import ScaleOut

    with ScaleOut(tmp_path, instances=2) as app:   # build, migrate, seed, serve
        app.urls           # ["http://127.0.0.1:41234", "http://127.0.0.2:41234"]
        app.database_url   # postgresql+psycopg://postgres@127.0.0.1:5432/mc_scaleout_...
        app.redis_url      # redis://127.0.0.1:6379/<db>
        app.kill(0)        # SIGKILL every process of instance 0 (a crashed worker)
        app.log(1)         # instance 1's log so far

How instances stay apart: the frontend is the test run's one production build
(tests/support/frontend_build.py), written for `api_url = http://localhost:PORT`, and
instance i serves that build and Reflex's backend (one granian worker by default) on
`127.0.0.(i+1):PORT`. The browser code
replaces the host `localhost` of its backend URL by the page's own host and keeps the
port, so a page loaded from `app.urls[i]` opens its socket on `ws://127.0.0.(i+1):PORT/_event`,
i.e. on instance i and no other. The instances share the database and Redis (Reflex's
Redis state and token managers), which relays deltas between them: this is exactly the
production topology of `make run-prod`, with the load balancer made deterministic.

Protocol-level clients (python-socketio) connect to `app.event_url(i)` (socket.io path
`/_event`, transport websocket) and must send `Origin: app.urls[i]` (the sockets refuse
other origins); `app.urls[i]` is also the base for HTTP (`/ping`, pages). Tests that only
use such clients can pass `frontend=False`: no frontend build (the slowest part of a
start), the instances serve Reflex's backend alone.

Isolation: the database `mc_scaleout_<random>` is created, migrated (`python -m
mentor_app.migrations`) and seeded (`python -m mentor_app.seed`: the demo logins of the
README) at start and dropped (WITH FORCE) at stop; instance i's connections carry
`application_name=mentor-instance-i` (see `scheduler_leaders()`). The Redis database
index is claimed among 1..15 with a key `mentor:scaleout:claim` (SET NX, 6 h expiry),
emptied at start and flushed at stop. Every instance runs the scheduler unless
`MENTOR_SCHEDULER="off"` is passed as an extra environment variable.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from types import TracebackType

import redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from tests.support.appserver import PROJECT_ROOT, app_env
from tests.support.frontend_build import install_web

PG_SERVER = os.environ.get("TEST_PG_SERVER", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_SERVER = os.environ.get("TEST_REDIS_SERVER", "redis://127.0.0.1:6379")
REDIS_CLAIM_KEY = "mentor:scaleout:claim"
REDIS_CLAIM_TTL_S = 6 * 3600


def instance_host(index: int) -> str:
    return f"127.0.0.{index + 1}"


def free_port_on_all(hosts: list[str]) -> int:
    """A port free on every one of the loopback addresses."""
    for _ in range(50):
        with socket.socket() as sock:
            sock.bind((hosts[0], 0))
            port = int(sock.getsockname()[1])
        if all(_can_bind(host, port) for host in hosts[1:]):
            return port
    raise RuntimeError("no port free on every instance address")


def _can_bind(host: str, port: int) -> bool:
    try:
        with socket.socket() as sock:
            sock.bind((host, port))
        return True
    except OSError:
        return False


class ScaleOut:
    """N instances of the app on PostgreSQL + Redis; see the module docstring."""

    def __init__(
        self,
        work_dir: Path,
        *,
        instances: int = 2,
        workers_per_instance: int = 1,
        pg_server: str = PG_SERVER,
        redis_server: str = REDIS_SERVER,
        redis_db: int | None = None,
        frontend: bool = True,
        **env: str,
    ) -> None:
        if not 1 <= instances <= 200:
            raise ValueError("instances must be between 1 and 200")
        self.work_dir = work_dir
        self.hosts = [instance_host(i) for i in range(instances)]
        self.port = free_port_on_all(self.hosts)
        self.urls = [f"http://{host}:{self.port}" for host in self.hosts]
        self.pg_server = pg_server
        self.db_name = f"mc_scaleout_{uuid.uuid4().hex[:12]}"
        self.database_url = (
            make_url(pg_server).set(database=self.db_name).render_as_string(hide_password=False)
        )
        self.redis_server = redis_server.rstrip("/")
        self._redis_db_wanted = redis_db
        self.redis_db: int | None = None
        self.workers_per_instance = workers_per_instance
        self.frontend = frontend
        self.extra_env = env
        self.processes: list[subprocess.Popen[bytes] | None] = [None] * instances
        self._db_created = False

    # --- what tests use ----------------------------------------------------------------------

    @property
    def redis_url(self) -> str:
        if self.redis_db is None:
            raise RuntimeError("start() first: the Redis database is chosen then")
        return f"{self.redis_server}/{self.redis_db}"

    def event_url(self, index: int) -> str:
        """The socket.io endpoint of instance `index` (Reflex's `/_event`)."""
        return f"ws://{self.hosts[index]}:{self.port}/_event"

    @staticmethod
    def application_name(index: int) -> str:
        """The PostgreSQL `application_name` of instance `index`'s connections."""
        return f"mentor-instance-{index}"

    def scheduler_leaders(self) -> list[int]:
        """The instances holding the scheduler's advisory lock right now (0 or 1 of them)."""
        from mentor_app.scheduler import ADVISORY_LOCK_KEY

        engine = self._admin_engine()
        try:
            with engine.connect() as conn:
                names = conn.execute(
                    text(
                        "SELECT a.application_name FROM pg_locks l"
                        " JOIN pg_stat_activity a ON a.pid = l.pid"
                        " WHERE l.locktype = 'advisory' AND l.granted AND a.datname = :db"
                        " AND l.classid::bigint = :hi AND l.objid::bigint = :lo"
                    ),
                    {
                        "db": self.db_name,
                        "hi": ADVISORY_LOCK_KEY >> 32,
                        "lo": ADVISORY_LOCK_KEY & 0xFFFFFFFF,
                    },
                ).scalars()
                wanted = {self.application_name(i): i for i in range(len(self.hosts))}
                return sorted(wanted[name] for name in names if name in wanted)
        finally:
            engine.dispose()

    def log_path(self, index: int) -> Path:
        return self.work_dir / f"instance-{index}.log"

    def log(self, index: int) -> str:
        try:
            return self.log_path(index).read_text(errors="replace")
        except OSError:
            return ""

    def pid(self, index: int) -> int:
        """The process id of instance `index`'s supervisor (its process group)."""
        process = self.processes[index]
        if process is None:
            raise RuntimeError(f"instance {index} is not running")
        return process.pid

    def alive(self, index: int) -> bool:
        process = self.processes[index]
        return process is not None and process.poll() is None

    def kill(self, index: int) -> None:
        """SIGKILL every process of instance `index` at once: no lifespan shutdown, no
        lock release; its database connections and sockets die with it."""
        process = self.processes[index]
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def env_for(self, index: int) -> dict[str, str]:
        """The environment instance `index` runs with (also right for CLI modules)."""
        origins = ",".join(self.urls)
        env = app_env(
            self.port,
            self.work_dir,
            # Each instance names its connections, so pg_stat_activity tells them apart.
            DATABASE_URL=f"{self.database_url}?application_name={self.application_name(index)}",
            REDIS_URL=self.redis_url,
            APP_ORIGIN=f"http://localhost:{self.port}",
            MENTOR_ALLOWED_ORIGINS=origins,
            GRANIAN_WORKERS=str(self.workers_per_instance),
            PYTHONUNBUFFERED="1",  # the log is complete even after a SIGKILL
        )
        env.update(self.extra_env)
        return env

    # --- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> ScaleOut:
        self.start()
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self, timeout_s: float = 900) -> None:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        try:
            self._claim_redis_db()
            self._create_database()
            env = self.env_for(0)
            for module in ("mentor_app.migrations", "mentor_app.seed"):
                self._run([sys.executable, "-m", module], env, "setup.log")
            if self.frontend:  # the test run's shared build, for this port
                install_web(env, self.port, Path(env["REFLEX_WEB_WORKDIR"]))
            for index in range(len(self.hosts)):
                self.start_instance(index)
            deadline = time.monotonic() + timeout_s
            for index in range(len(self.hosts)):
                self.wait_ready(index, deadline - time.monotonic())
        except BaseException:
            self.stop()
            raise

    def start_instance(self, index: int) -> None:
        """(Re)start instance `index` on its address; returns at once (see wait_ready)."""
        if self.alive(index):
            raise RuntimeError(f"instance {index} is already running")
        log = self.log_path(index).open("ab")
        self.processes[index] = subprocess.Popen(
            self.serve_command(index),
            cwd=PROJECT_ROOT,
            env=self.env_for(index),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()

    def serve_command(self, index: int) -> list[str]:
        """The command that serves instance `index` (a bench may serve the app its own way)."""
        return [
            sys.executable,
            "-m",
            "tests.support.scaleout",
            "serve" if self.frontend else "serve-backend",
            self.hosts[index],
        ]

    def wait_ready(self, index: int, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            process = self.processes[index]
            if process is None or process.poll() is not None:
                raise RuntimeError(f"instance {index} exited early:\n{self._tail(index)}")
            if _answers(self.urls[index] + "/ping") and (
                not self.frontend or _answers(self.urls[index] + "/")
            ):
                return
            time.sleep(0.5)
        raise RuntimeError(f"instance {index} did not start in time:\n{self._tail(index)}")

    def stop(self) -> None:
        for index, process in enumerate(self.processes):
            if process is None or process.poll() is not None:
                continue
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill(index)
            except ProcessLookupError:
                pass
        if self._db_created:
            self._drop_database()
        if self.redis_db is not None:
            self._redis().flushdb()
            self.redis_db = None

    # --- the pieces --------------------------------------------------------------------------

    def _run(self, command: list[str], env: dict[str, str], log_name: str) -> None:
        with (self.work_dir / log_name).open("ab") as log:
            result = subprocess.run(
                command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        if result.returncode != 0:
            tail = (self.work_dir / log_name).read_text(errors="replace").splitlines()[-40:]
            raise RuntimeError(f"{' '.join(command)} failed:\n" + "\n".join(tail))

    def _tail(self, index: int, lines: int = 60) -> str:
        return "\n".join(self.log(index).splitlines()[-lines:])

    def _redis(self, db: int | None = None) -> redis.Redis:
        return redis.Redis.from_url(
            f"{self.redis_server}/{self.redis_db if db is None else db}", socket_timeout=5
        )

    def _claim_redis_db(self) -> None:
        candidates = [self._redis_db_wanted] if self._redis_db_wanted is not None else range(1, 16)
        owner = f"{socket.gethostname()}:{os.getpid()}:{self.db_name}"
        for db in candidates:
            client = self._redis(db)
            if client.set(REDIS_CLAIM_KEY, owner, nx=True, ex=REDIS_CLAIM_TTL_S):
                for key in client.scan_iter(count=1000):
                    if key != REDIS_CLAIM_KEY.encode():
                        client.delete(key)
                self.redis_db = db
                return
        raise RuntimeError(f"no free Redis database among {list(candidates)} (all claimed)")

    def _admin_engine(self) -> Engine:
        return create_engine(self.pg_server, isolation_level="AUTOCOMMIT")

    def _create_database(self) -> None:
        engine = self._admin_engine()
        try:
            with engine.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{self.db_name}"'))
        finally:
            engine.dispose()
        self._db_created = True

    def _drop_database(self) -> None:
        engine = self._admin_engine()
        try:
            with engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)'))
        finally:
            engine.dispose()
        self._db_created = False


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _serve(host: str, *, frontend: bool = True) -> None:
    """One instance: Reflex's production backend with the already built frontend mounted
    (unless `frontend` is False), on `host:$PORT`. This is what `reflex run --env prod
    --single-port` does after its build, minus its port check (which refuses a port
    another address already listens on)."""
    from reflex.utils import exec as rx_exec
    from reflex_base import constants
    from reflex_base.config import get_config
    from reflex_base.environment import environment

    environment.REFLEX_COMPILE_CONTEXT.set(constants.CompileContext.RUN)
    environment.REFLEX_ENV_MODE.set(constants.Env.PROD)
    environment.REFLEX_SKIP_COMPILE.set(True)
    config = get_config()
    rx_exec.run_backend_prod(
        host,
        int(config.backend_port or 8000),
        config.loglevel.subprocess_level(),
        mount_frontend_compiled_app=frontend,
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] in ("serve", "serve-backend"):
        _serve(sys.argv[2], frontend=sys.argv[1] == "serve")
    else:
        sys.exit("usage: python -m tests.support.scaleout serve|serve-backend HOST")
