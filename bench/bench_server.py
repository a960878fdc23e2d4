"""The app's production backend with one hook for benches: run the nudge job now, in the
server process, the way its schedule runs it.

    python -m bench.bench_server [HOST]    (PORT and the rest from the environment, as
                                            AppServer and ScaleOut set them)

It serves what `reflex run --env prod --single-port` serves after its build, minus the
frontend (the benches using it speak the websocket protocol, tests/support/rxclient.py),
through the ASGI factory `bench.bench_server:make_app`: the app itself, after two changes
to its scheduler made in each worker before its lifespan starts the scheduler:

- the hourly nudge job's first run moves from a minute after start to a day after, so the
  job never runs on its own during a bench;
- a job of every worker looks each second for the file `$BENCH_NUDGE_TRIGGER/run`. On the
  scheduler's leader only (`lock.held`, no database access), it removes the file, writes
  `started` (the wall-clock time), runs `JobScheduler.run_nudges` (the scheduled job's own
  method: the leader check, every chunk's transaction, on APScheduler's thread in the
  server process) and writes `done` (a JSON object: the report and the wall-clock times).

Otherwise the app is unchanged: one granian worker unless GRANIAN_WORKERS says more, its
lifespan tasks, its other jobs (the e-mail outbox, presence, away notices).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

TRIGGER_ENV = "BENCH_NUDGE_TRIGGER"
TRIGGER_JOB = "bench-nudges-on-request"
SCHEDULED_FIRST_RUN_DELAY = dt.timedelta(days=1)


def _trigger_folder() -> Path | None:
    folder = os.environ.get(TRIGGER_ENV, "")
    return Path(folder) if folder else None


def run_nudges_on_request() -> None:
    """The nudge job, when the bench asks for it and this worker leads."""
    from mentor_app import scheduler

    folder = _trigger_folder()
    if folder is None or not (folder / "run").exists():
        return
    jobs = next(iter(scheduler._running), None)
    if jobs is None or not jobs.lock.held:
        return  # another worker leads: it takes the request
    try:
        (folder / "run").unlink()
    except FileNotFoundError:
        return
    started = time.time()
    (folder / "started").write_text(json.dumps({"at": started, "pid": os.getpid()}))
    done: dict[str, Any] = {"started": started, "pid": os.getpid()}
    try:
        report = jobs.run_nudges()
        done["report"] = None if report is None else vars(report)
    except Exception as error:  # the bench reports it; the server keeps serving
        logging.getLogger(__name__).exception("Bench nudge run failed")
        done["error"] = repr(error)
    done["finished"] = time.time()
    (folder / "done").write_text(json.dumps(done))


def install_hooks() -> None:
    from mentor_app import scheduler

    scheduler.NUDGES_FIRST_RUN_DELAY = SCHEDULED_FIRST_RUN_DELAY
    scheduler.register_job(
        TRIGGER_JOB,
        run_nudges_on_request,
        {"trigger": "interval", "seconds": 1},
        leader_only=False,  # leader_only renews the lease, a write, at every tick
    )
    # APScheduler logs every run of every job at INFO: one line a second otherwise.
    logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)


def make_app() -> Any:
    """The ASGI app granian serves (its factory): the real app, hooks installed first."""
    install_hooks()
    from mentor_app.mentor_app import app

    return app()


def serve(host: str | None = None) -> None:
    """Reflex's production backend (granian) on `host:$PORT`, without the frontend."""
    from reflex.utils import exec as rx_exec
    from reflex_base import constants
    from reflex_base.config import get_config
    from reflex_base.environment import environment

    environment.REFLEX_COMPILE_CONTEXT.set(constants.CompileContext.RUN)
    environment.REFLEX_ENV_MODE.set(constants.Env.PROD)
    environment.REFLEX_SKIP_COMPILE.set(True)
    environment.REFLEX_MOUNT_FRONTEND_COMPILED_APP.set(False)
    config = get_config()
    rx_exec.run_granian_backend_prod(
        host or config.backend_host,
        int(config.backend_port or 8000),
        config.loglevel.subprocess_level(),
        app_target="bench.bench_server:make_app",
    )


if __name__ == "__main__":
    serve(sys.argv[1] if len(sys.argv) > 1 else None)
