"""How long Suggest all's write holds the database, apart from everything else.

Run `python -m bench.suggest_write` (`--cohorts N`, `--mentees`, `--mentors`). It writes 2N
waiting cohorts (2,000 mentees x 500 mentors by default, answered as bench/matching.py
answers) straight into a temporary, migrated SQLite database, makes each cohort's plan as
the pairing workspace's helper does (`pairing.plan_job`), then writes it as the workspace
does: `pairing.suggest_all(..., plan=plan)` in `session_scope(check_first=...)`, the plan's
cohort checked in a read transaction just before. It times the write transaction, from its
BEGIN IMMEDIATE to its commit: the time SQLite's write lock is held, which every chat send
on the embedded deployment waits for. Every other cohort is written without the check
first (the cohort read and hashed again under the lock), for the comparison in the same
run. The first write is not counted (the connection's first statements). `--profile`
prints where the checked writes spent their time. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event

from bench import bulk, stop_cleanly_on_sigterm
from mentor_app import migrations
from mentor_app.db import READ_ONLY, checked_first, make_engine, session_scope
from mentor_app.models import User, utcnow
from mentor_app.services import pairing


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description="Suggest all's write under the lock.")
    parser.add_argument("--cohorts", type=int, default=8, help="writes timed each way")
    parser.add_argument("--mentees", type=int, default=2000)
    parser.add_argument("--mentors", type=int, default=500)
    parser.add_argument("--profile", action="store_true", help="cProfile the counted writes")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        engine = make_engine(url)
        try:
            migrations.upgrade(engine)
            writer = bulk.Bulk(engine)
            (admin,) = bulk.people(writer, ["Bench admin"], tag="admin")
            cohorts = [
                bulk.waiting_cohort(
                    writer,
                    admin_id=admin,
                    mentees=args.mentees,
                    mentors=args.mentors,
                    tag=f"cohort{k}",
                    title=f"Cohort {k + 1}",
                    seed=k + 1,
                )
                for k in range(2 * args.cohorts + 1)
            ]
            profile = cProfile.Profile()
            began: list[float] = []

            def write_begins(connection: Any) -> None:
                if not connection.get_execution_options().get(READ_ONLY, False):
                    began.append(time.perf_counter())

            event.listen(engine, "begin", write_begins)
            times: dict[bool, list[float]] = {True: [], False: []}  # by checked first
            checks_ms: list[float] = []
            drafts = 0
            for k, cohort in enumerate(cohorts):
                plan = pairing.plan_job(
                    url, admin, cohort.program_id, "0", should_continue=lambda: True
                )
                counted, first = k > 0, k % 2 == 1
                today = utcnow().date()
                check = (
                    pairing.plan_is_current(
                        plan, program_id=cohort.program_id, min_score="0", today=today
                    )
                    if first
                    else None
                )
                began.clear()
                asked = time.perf_counter()
                with session_scope(engine, check_first=check) as db:
                    if counted and first and args.profile:
                        profile.enable()
                    actor = db.get(User, admin)
                    assert actor is not None
                    made = pairing.suggest_all(
                        db,
                        actor=actor,
                        program_id=cohort.program_id,
                        min_score="0",
                        today=today,
                        plan=plan,
                    )
                    trusted = checked_first(db) is not None
                ended = time.perf_counter()
                if counted and first and args.profile:
                    profile.disable()
                assert trusted == first, "the check was made for nothing"
                held = (ended - began[0]) * 1000
                if counted:
                    times[first].append(held)
                    if first:
                        checks_ms.append((began[0] - asked) * 1000)
                    drafts = len(made)
                    how = "checked first" if first else "checked under the lock"
                    print(f"  cohort {k}: {len(made)} drafts, lock held {held:.1f} ms ({how})")
            event.remove(engine, "begin", write_begins)
        finally:
            engine.dispose()
    if args.profile:
        pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
    checked, unchecked = times[True], times[False]
    figures = {
        "cohorts": args.cohorts,
        "mentees": args.mentees,
        "mentors": args.mentors,
        "drafts": drafts,
        "write_median_ms": round(statistics.median(checked), 1),
        "write_min_ms": round(min(checked), 1),
        "write_max_ms": round(max(checked), 1),
        "check_first_median_ms": round(statistics.median(checks_ms), 1),
        "unchecked_write_median_ms": round(statistics.median(unchecked), 1),
        "ratio": round(statistics.median(checked) / statistics.median(unchecked), 2),
    }
    print(
        f"Suggest all's write ({args.mentees} x {args.mentors}, {args.cohorts} cohorts each "
        f"way): the lock held median {figures['write_median_ms']} ms "
        f"({figures['write_min_ms']}-{figures['write_max_ms']}) with the cohort checked "
        f"first ({figures['check_first_median_ms']} ms before, without the lock), "
        f"{figures['unchecked_write_median_ms']} ms checked under the lock"
    )
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    stop_cleanly_on_sigterm()
    main()
