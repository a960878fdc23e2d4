"""The scheduler's side of the throttles: every 10 minutes the leader deletes the counts
that count no more (rate limits whose window has ended, e-mails' failure streaks past their
memory), a chunk a transaction so a large clean-up never holds the write lock for long."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from sqlalchemy.engine import Engine
from sqlmodel import Session

from mentor_app.db import session_scope
from mentor_app.models import utcnow
from mentor_app.services import accounts, throttling

logger = logging.getLogger(__name__)

JOB_ID = "throttle-cleanup"
CHUNK = 1000


def forget_old_counts(
    engine: Engine | None = None, *, now: dt.datetime | None = None, chunk: int = CHUNK
) -> int:
    """Delete every count that no longer counts; returns how many rows went."""
    now = now or utcnow()
    steps: list[Callable[[Session], int]] = [
        lambda db: throttling.forget_expired(db, now=now, at_most=chunk),
        lambda db: accounts.forget_old_failures(db, now=now, at_most=chunk),
    ]
    gone = 0
    for step in steps:
        while True:
            with session_scope(engine) as db:
                deleted = step(db)
            gone += deleted
            if deleted < chunk:
                break
    if gone:
        logger.info("Throttles: %d old counts deleted", gone)
    return gone


def schedule() -> None:
    from mentor_app.scheduler import register_job

    register_job(JOB_ID, forget_old_counts, {"trigger": "interval", "minutes": 10})
