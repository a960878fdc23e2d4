"""Deliver the e-mail outbox: every minute from the app's scheduler, or by hand.

python -m mentor_app.outbox send      # deliver what is due now, then stop
python -m mentor_app.outbox status    # e-mails per status, and the latest failures

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
from mentor_app.services import outbox
from mentor_app.settings import settings

JOB_ID = "outbox"
BATCH = 50
BUDGET_S = 45.0  # one run stays within its one-minute interval


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


def schedule() -> None:
    """Run `send_pending` every minute on the scheduler's leader (one process sends)."""
    from mentor_app.scheduler import register_job

    register_job(JOB_ID, send_pending, {"trigger": "interval", "minutes": 1})


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mentor_app.outbox", description="Deliver or inspect the e-mail outbox."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("send", help="deliver the e-mails that are due now")
    commands.add_parser("status", help="e-mails per status, and the latest failures")
    return parser


def main(argv: Sequence[str] | None = None, *, engine: Engine | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "send":
        logging.basicConfig(level=logging.INFO, format="%(message)s")
        r = send_pending(engine)
        print(f"sent {r.sent}, retrying {r.retrying}, failed {r.failed}, stuck {r.stuck}")
        return 0
    with session_scope(engine) as db:
        counts = outbox.counts(db)
        failed = [(f.id, f.to_address, f.attempts, f.last_error) for f in outbox.list_failed(db)]
    for status in ("pending", "sending", "sent", "failed"):
        print(f"{status}: {counts.get(status, 0)}")
    for row_id, to, attempts, error in failed:
        print(f"failed #{row_id} to {to} after {attempts} attempts: {error}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
