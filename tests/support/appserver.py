"""Start the real app (production build, single port) on a free port with its own
temp database, web build folder and state folder; used by browser tests and benches."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BUN_BIN = PROJECT_ROOT / ".tools" / "bun" / "node_modules" / ".bin"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def app_env(port: int, work_dir: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PORT=str(port),
        MENTOR_DATA_DIR=str(work_dir / "data"),
        REFLEX_WEB_WORKDIR=str(work_dir / "web"),
        REFLEX_STATES_WORKDIR=str(work_dir / "states"),
        REFLEX_USE_SYSTEM_BUN="1",
        REFLEX_TELEMETRY_ENABLED="false",
        REFLEX_CHECK_LATEST_VERSION="false",
        PATH=f"{BUN_BIN}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{env['PATH']}",
    )
    env.pop("DATABASE_URL", None)
    env.update(extra)
    return env


class AppServer:
    def __init__(self, work_dir: Path, *, port: int | None = None, **env: str) -> None:
        self.work_dir = work_dir
        self.port = port or free_port()
        self.url = f"http://localhost:{self.port}"
        self.env = app_env(self.port, work_dir, **env)
        self.log_path = work_dir / "server.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def database_url(self) -> str:
        """The server's own SQLite database, for tests that arrange data directly."""
        return f"sqlite:///{self.work_dir / 'data' / 'mentor.db'}"

    def run_module(self, module: str) -> None:
        subprocess.run(
            [sys.executable, "-m", module],
            cwd=PROJECT_ROOT,
            env=self.env,
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def start(self, timeout_s: float = 900, *, own_build: bool = False) -> None:
        """Migrate, seed and serve. The frontend is the test run's shared production build
        (tests/support/frontend_build.py), unless `own_build`: then the server builds it
        itself with `reflex run --env prod --single-port`, as `make run` does."""
        self.run_module("mentor_app.migrations")
        self.run_module("mentor_app.seed")
        if own_build:
            command = [sys.executable, "-m", "reflex", "run", "--env", "prod", "--single-port"]
        else:
            from tests.support.frontend_build import install_web

            install_web(self.env, self.port, Path(self.env["REFLEX_WEB_WORKDIR"]))
            command = [sys.executable, "-m", "tests.support.built_app"]
        self.launch(command, timeout_s=timeout_s)

    def launch(
        self,
        command: list[str],
        *,
        cwd: Path = PROJECT_ROOT,
        timeout_s: float = 900,
        poll_s: float = 1.0,
        what: str = "app",
        ready_paths: tuple[str, ...] = ("/ping", "/"),
    ) -> None:
        """Run `command` as this server (its environment, log and own process group) and
        wait until it answers each of `ready_paths` (a backend without its frontend has
        no `/`)."""
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            command,
            cwd=cwd,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{what} exited early:\n{self.log_tail()}")
            if all(self._answers(path) for path in ready_paths):
                return
            time.sleep(poll_s)
        self.stop()
        raise RuntimeError(f"{what} did not start in {timeout_s}s:\n{self.log_tail()}")

    def _answers(self, path: str) -> bool:
        try:
            with urllib.request.urlopen(self.url + path, timeout=5) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def log_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except OSError:
            return 0

    def log_since(self, offset: int, *, max_lines: int = 200) -> str:
        """The log written after byte `offset`, its last `max_lines` lines."""
        try:
            with self.log_path.open("rb") as log:
                log.seek(offset)
                lines = log.read().decode(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-max_lines:])

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
