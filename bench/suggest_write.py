"""How long Suggest all's write holds the database, apart from everything else.

Run `python -m bench.suggest_write` (`--cohorts N`, `--mentees`, `--mentors`). It writes N
waiting cohorts (2,000 mentees x 500 mentors by default, answered as bench/matching.py
answers) straight into a temporary, migrated SQLite database, makes each cohort's plan as
the pairing workspace's helper does (`pairing.plan_job`), then times
`pairing.suggest_all(..., plan=plan)` and its commit: the part of Suggest all that runs
under SQLite's write lock, which every chat send on the embedded deployment waits for.
The first write is not counted (the connection's first statements). `--profile` prints
where the counted writes spent their time. The last line is one JSON object.
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

from sqlmodel import Session

from bench import bulk
from mentor_app import migrations
from mentor_app.db import make_engine
from mentor_app.models import User
from mentor_app.services import pairing


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description="Suggest all's write under the lock.")
    parser.add_argument("--cohorts", type=int, default=8, help="writes timed, plus one")
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
                for k in range(args.cohorts + 1)
            ]
            profile = cProfile.Profile()
            times_ms, drafts = [], 0
            for k, cohort in enumerate(cohorts):
                plan = pairing.plan_job(
                    url, admin, cohort.program_id, "0", should_continue=lambda: True
                )
                counted = k > 0
                with Session(engine) as db:
                    actor = db.get(User, admin)
                    assert actor is not None
                    started = time.perf_counter()
                    if counted and args.profile:
                        profile.enable()
                    made = pairing.suggest_all(
                        db, actor=actor, program_id=cohort.program_id, min_score="0", plan=plan
                    )
                    db.commit()
                    if counted and args.profile:
                        profile.disable()
                    took = (time.perf_counter() - started) * 1000
                if counted:
                    times_ms.append(took)
                    drafts = len(made)
                    print(f"  cohort {k}: {len(made)} drafts written in {took:.1f} ms", flush=True)
        finally:
            engine.dispose()
    if args.profile:
        pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
    figures = {
        "cohorts": args.cohorts,
        "mentees": args.mentees,
        "mentors": args.mentors,
        "drafts": drafts,
        "write_median_ms": round(statistics.median(times_ms), 1),
        "write_min_ms": round(min(times_ms), 1),
        "write_max_ms": round(max(times_ms), 1),
    }
    print(
        f"Suggest all's write ({args.mentees} x {args.mentors}, {args.cohorts} cohorts): "
        f"median {figures['write_median_ms']} ms, "
        f"{figures['write_min_ms']}-{figures['write_max_ms']} ms"
    )
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
