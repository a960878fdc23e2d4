"""The scheduler's side of presence and away notices (see `services.presence`).

- `beat`, on every worker (not only the leader): the sessions of the sockets this worker
  holds open are marked seen, every HEARTBEAT_EVERY_S, so a member with an open tab counts
  as here even when they click nothing.
- `send_away_notices`, on the leader, every minute: tell members away from the app of
  messages that have waited for them.
"""

from __future__ import annotations

import logging

from sqlalchemy.engine import Engine

from mentor_app.db import session_scope
from mentor_app.services import presence

logger = logging.getLogger(__name__)

HEARTBEAT_JOB_ID = "presence-heartbeat"
AWAY_JOB_ID = "away-notices"


def beat(engine: Engine | None = None) -> int:
    from mentor_app import web_auth  # the app's process only: it holds the sockets

    tokens = web_auth.open_socket_tokens()
    if not tokens:
        return 0
    with session_scope(engine) as db:
        return presence.touch_open_sessions(db, tokens=tokens)


def send_away_notices(engine: Engine | None = None) -> presence.AwayReport:
    with session_scope(engine) as db:
        report = presence.notify_away_members(db)
    if report.told:
        logger.info("Away notices: %d told (%d waiting)", report.told, report.waiting)
    return report


def schedule() -> None:
    from mentor_app.scheduler import register_job

    register_job(
        HEARTBEAT_JOB_ID,
        beat,
        {"trigger": "interval", "seconds": presence.HEARTBEAT_EVERY_S},
        leader_only=False,
    )
    register_job(AWAY_JOB_ID, send_away_notices, {"trigger": "interval", "minutes": 1})
