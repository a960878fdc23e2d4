"""bench/interference.py --only: which loaded phases run, and that a run of some of them
arranges what those need and nothing else. The bench itself prints figures and is not run
here."""

from __future__ import annotations

import argparse

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from bench import interference
from mentor_app import seed
from mentor_app.db import url_of
from mentor_app.models import Pair, Program

SIZES = interference.Sizes(mentees=6, mentors=2, dashboard_pairs=7, nudge_pairs=9, phase_s=1)


def test_only_takes_loaded_phases_in_the_runs_order() -> None:
    assert interference._loads("nudges, dashboards") == ("dashboards", "nudges")
    assert interference._loads("logins,logins") == ("logins",)
    for wrong in ("", "idle", "dashboard", "dashboards,nudge"):
        with pytest.raises(argparse.ArgumentTypeError, match="choose from logins"):
            interference._loads(wrong)


def _pairs(engine: Engine, program_id: int | None = None) -> int:
    query = select(func.count()).select_from(Pair)
    if program_id is not None:
        query = query.where(col(Pair.program_id) == program_id)
    with Session(engine) as db:
        return int(db.exec(query).one())


def test_a_run_of_one_load_arranges_only_what_it_needs(engine: Engine) -> None:
    with Session(engine) as db:
        seed.seed(db)
        db.commit()
    before = _pairs(engine)

    only = interference.arrange(
        url_of(engine), SIZES, rounds=1, admins=2, run="t1", loads=("dashboards",)
    )
    assert (only.cohorts, only.nudge_pairs) == ([], 0)
    assert len(only.dashboard_cookies) == 2
    assert _pairs(engine, only.dashboard_program) == SIZES.dashboard_pairs
    assert _pairs(engine) == before + 1 + SIZES.dashboard_pairs  # the chat's pair and the board

    # Every load, as a run without --only: the cohort and the pairs due for nudges as well.
    full = interference.arrange(url_of(engine), SIZES, rounds=1, admins=2, run="t2")
    assert len(full.cohorts) == 1 and full.nudge_pairs == SIZES.nudge_pairs
    assert _pairs(engine) == before + 2 * (1 + SIZES.dashboard_pairs) + SIZES.nudge_pairs
    with Session(engine) as db:
        titles = set(db.exec(select(Program.title)).all())
    assert {"Suggest-all cohort 1", "Nudged program"} <= titles
