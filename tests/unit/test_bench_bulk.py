"""The benches' bulk data (bench/bulk.py) is what the app sees: a waiting cohort in the
workspace, pairs the nudge job finds due whatever the hour, and ids the app can go on
from. The benches themselves print figures and are not run here."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from bench import bulk
from mentor_app.models import Nudge, User
from mentor_app.services import dashboard, pairing, sessions
from mentor_app.services.nudges import run_nudges
from tests.factories import make_user


def test_bulk_cohort_waits_in_the_admins_workspace(engine: Engine) -> None:
    writer = bulk.Bulk(engine)
    (admin_id,) = bulk.people(writer, ["Bench admin"], tag="t.admin")
    cohort = bulk.waiting_cohort(
        writer, admin_id=admin_id, mentees=30, mentors=8, tag="t.cohort", title="Cohort"
    )
    with Session(engine, expire_on_commit=False) as db:
        admin = db.get(User, admin_id)
        assert admin is not None
        workspace = pairing.get_workspace(db, actor=admin, program_id=cohort.program_id)
        assert (workspace.mentees_waiting.total, workspace.mentors.total) == (30, 8)
        made = pairing.suggest_all(db, actor=admin, program_id=cohort.program_id)
        assert made, "the cohort's answers should make some pairs"


@pytest.mark.parametrize("hour", [0, 5, 11, 17, 23])
def test_bulk_pairs_are_all_due_for_nudges_whatever_the_hour(engine: Engine, hour: int) -> None:
    now = dt.datetime(2026, 3, 12, hour, 30, tzinfo=dt.UTC)
    writer = bulk.Bulk(engine)
    (admin_id,) = bulk.people(writer, ["Bench admin"], tag="t.admin")
    paired = bulk.active_pairs(
        writer,
        admin_ids=[admin_id],
        pairs=40,
        tag="t.pairs",
        title="Paired",
        now=now,
        timezones=bulk.daytime_zones(now),
    )
    report = run_nudges(engine, now=now)
    assert report.pairs == 40
    with Session(engine) as db:
        nudged = db.exec(select(func.count(func.distinct(col(Nudge.pair_id))))).one()
    assert nudged == len(paired.pairs)


def test_bulk_rows_leave_the_apps_own_inserts_room(engine: Engine) -> None:
    writer = bulk.Bulk(engine)
    bulk.people(writer, [f"Person {i}" for i in range(5)], tag="t.people")
    admin_id = bulk.people(writer, ["Bench admin"], tag="t.admin")[0]
    paired = bulk.active_pairs(writer, admin_ids=[admin_id], pairs=3, tag="t.p", title="P")
    token = bulk.session_for(engine, admin_id)
    with Session(engine, expire_on_commit=False) as db:
        newcomer = make_user(db, email="newcomer@example.org")  # ids after the bulk rows
        admin = db.get(User, admin_id)
        assert admin is not None and newcomer.id is not None
        assert sessions.resolve_session(db, token=token) is not None
        board = dashboard.get_dashboard(db, actor=admin, program_id=paired.program_id)
        assert len(board.pairs) == 3
