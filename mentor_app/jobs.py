"""Run a scheduled job once from the command line, for operators and tests.

python -m mentor_app.jobs run-nudges [--now 2026-03-09T14:00:00+00:00]
python -m mentor_app.jobs run-reminders [--now ...]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Sequence

from sqlalchemy.engine import Engine

from mentor_app.db import get_engine, run_in_background
from mentor_app.models import utcnow
from mentor_app.services.meeting_reminders import run_reminders
from mentor_app.services.nudges import run_nudges


def _moment(value: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date and time: {value!r}") from None
    if moment.utcoffset() is None:
        raise argparse.ArgumentTypeError(
            f"give the offset too, e.g. {value}+00:00 (the job runs in every member's time zone)"
        )
    return moment


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mentor_app.jobs", description="Run one of the scheduled jobs once."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    nudges = commands.add_parser(
        "run-nudges", help="make the weekly and one-sided nudges due now (safe to repeat)"
    )
    nudges.add_argument(
        "--now", type=_moment, default=None, help="run as if at this moment (ISO 8601 with offset)"
    )
    reminders = commands.add_parser(
        "run-reminders", help="make the meeting reminders due now (safe to repeat)"
    )
    reminders.add_argument(
        "--now", type=_moment, default=None, help="run as if at this moment (ISO 8601 with offset)"
    )
    return parser


def main(argv: Sequence[str] | None = None, *, engine: Engine | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "run-reminders":
        made = run_reminders(engine or get_engine(), now=args.now or utcnow())
        print(f"Created {made.created} meeting reminders ({made.emailed} by e-mail)")
        return 0
    report = run_nudges(engine or get_engine(), now=args.now or utcnow())
    print(
        f"Created {report.created} nudges ({report.one_sided} one-sided, "
        f"{report.admin_alerts} admin alerts)"
    )
    return 0


if __name__ == "__main__":
    # A batch job: a running app's writers (members' chat sends) go before its chunks, as
    # before a helper process's (mentor_app.db.run_in_background).
    run_in_background()
    sys.exit(main())
