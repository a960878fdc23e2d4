"""Deliver the e-mail outbox: every minute from the app's scheduler, or by hand.

python -m mentor_app.outbox send      # deliver what is due now, then stop
python -m mentor_app.outbox status    # e-mails per status, and the latest failures
python -m mentor_app.outbox digest    # queue the weekly digests now (held e-mails)

E-mails go through SMTP when SMTP_URL is set, to standard output otherwise.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import time
from collections.abc import Sequence

from sqlalchemy.engine import Engine

from mentor_app.db import session_scope
from mentor_app.services import email_prefs, outbox
from mentor_app.settings import settings

JOB_ID = "outbox"
DIGEST_JOB_ID = "email-digest"
# Once a week, Monday 08:00 UTC: each member who chose the digest gets one e-mail listing
# what was held for them (the next outbox run sends it).
DIGEST_TRIGGER = {"trigger": "cron", "day_of_week": "mon", "hour": 8, "minute": 0}
BATCH = 50
BUDGET_S = 45.0  # a run stays within the default one-minute interval


def send_pending(
    engine: Engine | None = None, *, budget_s: float = BUDGET_S
) -> outbox.DeliveryReport:
    """Deliver due e-mails, batch after batch, until none is left or the budget is spent."""
    backend = outbox.backend_for(settings)
    total = outbox.DeliveryReport()
    deadline = time.monotonic() + budget_s
    while True:
        report = outbox.deliver_due(lambda: session_scope(engine), backend=backend, batch=BATCH)
        for field in dataclasses.fields(total):
            setattr(total, field.name, getattr(total, field.name) + getattr(report, field.name))
        if report.claimed < BATCH or time.monotonic() > deadline:
            return total


def send_digests(engine: Engine | None = None) -> int:
    """Queue this week's digests (idempotent: what one run gathers, the next finds gone)."""
    with session_scope(engine) as db:
        return email_prefs.send_digests(db)


def schedule() -> None:
    """Run `send_pending` every MENTOR_OUTBOX_EVERY_S (60) seconds on the scheduler's leader
    (one process sends)."""
    from mentor_app.scheduler import register_job

    every_s = settings.outbox_every_s
    register_job(JOB_ID, send_pending, {"trigger": "interval", "seconds": every_s})
    register_job(DIGEST_JOB_ID, send_digests, DIGEST_TRIGGER)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mentor_app.outbox", description="Deliver or inspect the e-mail outbox."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("send", help="deliver the e-mails that are due now")
    commands.add_parser("status", help="e-mails per status, and the latest failures")
    commands.add_parser("digest", help="gather held e-mails into the weekly digests now")
    return parser


def main(argv: Sequence[str] | None = None, *, engine: Engine | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "send":
        logging.basicConfig(level=logging.INFO, format="%(message)s")
        r = send_pending(engine)
        print(
            f"sent {r.sent}, retrying {r.retrying}, failed {r.failed}, stuck {r.stuck}, "
            f"skipped {r.skipped}, held for the digest {r.held}"
        )
        return 0
    if args.command == "digest":
        print(f"queued {send_digests(engine)} digest(s)")
        return 0
    with session_scope(engine) as db:
        counts = outbox.counts(db)
        failed = [(f.id, f.to_address, f.attempts, f.last_error) for f in outbox.list_failed(db)]
    for status in ("pending", "sending", "sent", "failed", "skipped", "held", "digested"):
        print(f"{status}: {counts.get(status, 0)}")
    for row_id, to, attempts, error in failed:
        print(f"failed #{row_id} to {to} after {attempts} attempts: {error}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
