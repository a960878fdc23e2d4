"""The dashboard's short cache: reads of the same board within DASHBOARD_CACHE_S share one
worked-out board (page turns, several admins reloading), an admin's own change reads it
afresh, the admin check runs every time, and an admin who is a member of a pair never gets
a board worked out for another admin (it would show their partner's private fit answer)."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import pytest
from sqlmodel import Session

from mentor_app.apart import ApartFailed
from mentor_app.services import dashboard, pairing
from mentor_app.services.errors import PermissionDenied
from state.dashboard import BOARD_STOPPED, ProgramDashboardState
from tests.factories import (
    PairSetup,
    add_applicants,
    add_member,
    make_pair_with_partner_admin,
    make_user,
)
from tests.unit.test_admin_pair_privacy import mentee_says_not_a_good_fit

FIT = "fit check: not a good fit (mentee)"


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """An empty cache, and a clock the test moves by hand."""
    now = [1_000.0]
    dashboard.clear_dashboard_cache()
    monkeypatch.setattr(dashboard, "_clock", lambda: now[0])
    yield now
    dashboard.clear_dashboard_cache()


@pytest.fixture
def setup(db: Session) -> PairSetup:
    """Maya mentors Theo and is also an admin of the group; Ada is an admin only."""
    return make_pair_with_partner_admin(db)


def _fit(db: Session, setup: PairSetup, viewer: object, max_age_s: float = 5) -> list[str]:
    board = dashboard.cached_dashboard(
        db,
        actor=viewer,  # type: ignore[arg-type]
        program_id=setup.program.id or 0,
        max_age_s=max_age_s,
    )
    health = next(p for p in board.page(0).items if p.pair_id == setup.pair.id)
    return [r.text for r in health.reasons if r.key == "not_good_fit"]


def test_admins_share_one_board_until_it_is_older_than_the_limit(
    db: Session, setup: PairSetup, clock: list[float]
) -> None:
    bea = make_user(db, display_name="Bea")
    add_member(db, setup.group, bea, role="admin")
    db.commit()
    pid = setup.program.id or 0
    first = dashboard.cached_dashboard(db, actor=setup.admin, program_id=pid)
    assert dashboard.cached_dashboard(db, actor=bea, program_id=pid) is first  # shared

    mentee_says_not_a_good_fit(db, setup)
    clock[0] += 4
    assert _fit(db, setup, bea) == []  # 4 s old: still the board from before the answer
    clock[0] += 2
    assert _fit(db, setup, bea) == [FIT]  # over 5 s: worked out again
    # An admin's own change reads it afresh (max_age_s=0), whatever its age.
    assert dashboard.cached_dashboard(db, actor=bea, program_id=pid, max_age_s=0) is not first


def test_the_partner_admin_never_gets_a_board_worked_out_for_another_admin(
    db: Session, setup: PairSetup
) -> None:
    mentee_says_not_a_good_fit(db, setup)
    # Ada's board holds the mentee's answer: there is something to leak.
    assert _fit(db, setup, setup.admin) == [FIT]
    assert _fit(db, setup, setup.mentor) == []  # Maya, the partner, in the same 5 s
    # And the other way round: Maya's board first, then Ada's.
    dashboard.clear_dashboard_cache()
    assert _fit(db, setup, setup.mentor) == []
    assert _fit(db, setup, setup.admin) == [FIT]


def test_a_cached_board_is_still_refused_to_a_member_who_is_not_an_admin(
    db: Session, setup: PairSetup
) -> None:
    pid = setup.program.id or 0
    assert dashboard.cached_dashboard(db, actor=setup.admin, program_id=pid).page(0).items
    with pytest.raises(PermissionDenied):
        dashboard.cached_dashboard(db, actor=setup.mentee, program_id=pid)
    with pytest.raises(PermissionDenied):
        dashboard.get_dashboard_page(db, actor=setup.mentee, program_id=pid)


def test_admins_asking_at_once_wait_for_one_board(monkeypatch: pytest.MonkeyPatch) -> None:
    worked_out: list[int] = []

    def slow_board(_db: object, *, program: object, actor: object) -> object:
        worked_out.append(program)
        time.sleep(0.2)  # the health of a big program: long enough for all to arrive
        return object()

    monkeypatch.setattr(dashboard.programs, "admin_program", lambda *_a, **_k: 7)
    monkeypatch.setattr(dashboard, "_viewer_key", lambda *_a: 0)
    monkeypatch.setattr(dashboard, "_published_pairs", lambda *_a: dashboard.APART_FROM_PAIRS)
    monkeypatch.setattr(dashboard, "_work_out_apart", slow_board)
    boards: list[object] = []
    threads = [
        threading.Thread(
            target=lambda: boards.append(
                dashboard.cached_dashboard(None, actor=None, program_id=7)  # type: ignore[arg-type]
            )
        )
        for _ in range(5)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert worked_out == [7]
    assert len(boards) == 5 and all(b is boards[0] for b in boards)


def test_a_big_programs_board_is_worked_out_in_a_helper_process_and_is_the_same(
    db: Session, setup: PairSetup, monkeypatch: pytest.MonkeyPatch
) -> None:
    mentee_says_not_a_good_fit(db, setup)
    pid = setup.program.id or 0
    monkeypatch.setattr(dashboard, "APART_FROM_PAIRS", 1)  # this program's one pair
    runs: list[object] = []
    real = dashboard.run_apart
    monkeypatch.setattr(dashboard, "run_apart", lambda fn, *a: (runs.append(fn), real(fn, *a))[1])

    board = dashboard.cached_dashboard(db, actor=setup.admin, program_id=pid)

    assert runs == [dashboard.board_job]
    here = dashboard.get_dashboard(db, actor=setup.admin, program_id=pid, now=None)
    assert board.board == replace(here, pairs=[])
    assert board.page(0).items == here.pairs and board.active_total == 1
    assert [r.text for p in board.page(0).items for r in p.reasons] == [
        r.text for r in here.pairs[0].reasons
    ]
    assert FIT in [r.text for r in here.pairs[0].reasons]


def test_a_small_programs_board_is_worked_out_here(
    db: Session, setup: PairSetup, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs: list[object] = []
    monkeypatch.setattr(dashboard, "run_apart", lambda fn, *a: runs.append(fn))
    board = dashboard.cached_dashboard(db, actor=setup.admin, program_id=setup.program.id or 0)
    assert runs == [] and board.page(0).items  # fewer than APART_FROM_PAIRS: no helper's round trip


def _objects_reachable_from(root: object) -> int:
    """The objects the garbage collector tracks that `root` reaches, classes aside (every
    object reaches its class, and its class the whole program): what a full collection walks
    for it."""
    seen: set[int] = set()
    todo = [root]
    while todo:
        item = todo.pop()
        if id(item) in seen or not gc.is_tracked(item) or isinstance(item, type):
            continue
        seen.add(id(item))
        todo.extend(gc.get_referents(item))
    return len(seen)


def test_the_cache_keeps_a_boards_pairs_packed_not_as_objects(
    db: Session, setup: PairSetup
) -> None:
    pid = setup.program.id or 0
    add_applicants(db, program=setup.program, role="mentor", names=["M1", "M2"], capacity=30)
    add_applicants(
        db, program=setup.program, role="mentee", names=[f"Mentee {n}" for n in range(44)]
    )
    pairing.suggest_all(db, actor=setup.admin, program_id=pid)
    pairing.publish_pairs(db, actor=setup.admin, program_id=pid)
    unpacked = dashboard.get_dashboard(db, actor=setup.admin, program_id=pid)
    assert len(unpacked.pairs) == 45  # the board has the pairs' objects to keep
    assert _objects_reachable_from(unpacked) > 45 * 2  # each pair, and its list of reasons

    dashboard.get_dashboard_page(db, actor=setup.admin, program_id=pid)

    assert _objects_reachable_from(dashboard._cache) < 45
    # and each page reads back as the pairs, in their order
    packed = dashboard.cached_dashboard(db, actor=setup.admin, program_id=pid)
    assert [p for n in range(3) for p in packed.page(n).items] == [
        p for p in unpacked.pairs if p.status == "active"
    ]


def _renewals(monkeypatch: pytest.MonkeyPatch, gate: threading.Event) -> list[str]:
    """The helper's runs, by the thread that asked; each waits for `gate` (10 s at most)."""
    threads: list[str] = []
    real = dashboard.run_apart

    def gated(fn: object, *args: object) -> object:
        threads.append(threading.current_thread().name)
        gate.wait(10)
        return real(fn, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(dashboard, "APART_FROM_PAIRS", 1)  # this program's one pair: big
    monkeypatch.setattr(dashboard, "run_apart", gated)
    return threads


def _until(condition: object, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "not in time"
        time.sleep(0.01)


def test_a_big_programs_board_past_its_limit_shows_at_once_while_a_new_one_is_worked_out(
    db: Session, setup: PairSetup, clock: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = threading.Event()
    runs = _renewals(monkeypatch, gate)
    gate.set()
    assert _fit(db, setup, setup.admin) == []  # the first board: worked out, waited for
    assert runs == ["MainThread"]
    mentee_says_not_a_good_fit(db, setup)
    gate.clear()  # the next helper's work takes as long as the test wants

    clock[0] += 6  # past DASHBOARD_CACHE_S, within DASHBOARD_STALE_S
    started = time.monotonic()
    assert _fit(db, setup, setup.admin) == []  # the board from before, without waiting
    assert _fit(db, setup, setup.admin) == []  # and again: one new board is on its way
    assert time.monotonic() - started < 2
    _until(lambda: len(runs) == 2)
    assert runs[1] == "dashboard-renew"

    key = next(iter(dashboard._cache))
    before = dashboard._cache[key].at
    gate.set()
    _until(lambda: dashboard._cache[key].at != before)
    assert _fit(db, setup, setup.admin) == [FIT]  # the new board, for the next read
    assert len(runs) == 2


def test_a_board_too_old_to_show_or_after_an_admins_change_is_waited_for(
    db: Session, setup: PairSetup, clock: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = threading.Event()
    gate.set()
    runs = _renewals(monkeypatch, gate)
    assert _fit(db, setup, setup.admin) == []
    mentee_says_not_a_good_fit(db, setup)

    clock[0] += dashboard.DASHBOARD_STALE_S + 1
    assert _fit(db, setup, setup.admin) == [FIT]
    mentee_answer_again = _fit(db, setup, setup.admin, max_age_s=0)
    assert mentee_answer_again == [FIT]
    assert runs == ["MainThread"] * 3  # each waited for by the reader, none in the background


def test_a_failed_renewal_keeps_the_old_board_and_is_tried_again(
    db: Session,
    setup: PairSetup,
    clock: list[float],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    gate = threading.Event()
    gate.set()
    runs = _renewals(monkeypatch, gate)
    assert _fit(db, setup, setup.admin) == []
    key = next(iter(dashboard._cache))

    def broken(*_a: object) -> object:
        runs.append(threading.current_thread().name)
        raise ApartFailed("the helper died")

    monkeypatch.setattr(dashboard, "run_apart", broken)
    clock[0] += 6
    assert _fit(db, setup, setup.admin) == []
    _until(lambda: not dashboard._computing[key].locked())
    assert "was not worked out again" in caplog.text
    assert _fit(db, setup, setup.admin) == []  # the old board still, and a new try
    _until(lambda: len(runs) == 3 and not dashboard._computing[key].locked())
    assert runs[1:] == ["dashboard-renew"] * 2

    clock[0] += dashboard.DASHBOARD_STALE_S  # too old to show now: the failure shows
    with pytest.raises(ApartFailed):
        _fit(db, setup, setup.admin)


class DashboardTab:
    """An admin's tab of the dashboard: ProgramDashboardState's own reading code, with the
    session's database and user swapped for the test's (no app server needed)."""

    _refresh = ProgramDashboardState._refresh
    _turn = ProgramDashboardState._turn

    def __init__(self, db: Session, user: object, program_id: int) -> None:
        self.db, self.user, self.program_id = db, user, program_id
        self.program: dict[str, Any] = {}
        self.denied = self.error = self.message = ""
        self.kpis: dict[str, str] = {}
        self.pairs: list[dict[str, Any]] = []
        self.pairs_page, self.pairs_total, self.at_risk_only = 0, 0, False
        self.turning = False

    @contextmanager
    def _reading_as_user(self) -> Iterator[tuple[Session, object]]:
        yield self.db, self.user

    def _program_id(self) -> int:
        return self.program_id


def _a_big_programs_board(
    db: Session, setup: PairSetup, monkeypatch: pytest.MonkeyPatch
) -> DashboardTab:
    """The admin's dashboard tab of the setup's program, read once; its one pair counts as
    a big program's, so the board is worked out in a helper."""
    monkeypatch.setattr(dashboard, "APART_FROM_PAIRS", 1)
    tab = DashboardTab(db, setup.admin, setup.program.id or 0)
    tab._refresh()
    return tab


def _its_helper_dies_once_the_board_is_old(
    monkeypatch: pytest.MonkeyPatch, clock: list[float]
) -> None:
    def broken(*_a: object) -> object:
        raise ApartFailed("BrokenProcessPool: its helper process died")

    monkeypatch.setattr(dashboard, "run_apart", broken)
    clock[0] += dashboard.DASHBOARD_STALE_S + 1  # too old to show: worked out again, and fails


def test_a_helper_that_fails_is_told_on_the_page_and_what_it_showed_stays(
    db: Session, setup: PairSetup, clock: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = setup.program.id or 0
    tab = _a_big_programs_board(db, setup, monkeypatch)
    assert tab.program["id"] == pid and tab.kpis["active"] == "1" and len(tab.pairs) == 1

    _its_helper_dies_once_the_board_is_old(monkeypatch, clock)
    tab._refresh()
    assert tab.error == BOARD_STOPPED and tab.denied == ""
    assert tab.kpis["active"] == "1" and len(tab.pairs) == 1  # still shown

    another = DashboardTab(db, setup.admin, pid)  # a tab with nothing to show yet
    another._refresh()
    assert another.denied == BOARD_STOPPED and another.program == {}


def test_a_page_turn_or_filter_the_helper_fails_to_read_leaves_the_list_as_it_says(
    db: Session, setup: PairSetup, clock: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The list's page number and its "at risk only" switch say which rows are shown: they
    # change when the rows do, not before a read that fails.
    tab = _a_big_programs_board(db, setup, monkeypatch)
    shown = list(tab.pairs)
    assert (tab.pairs_page, tab.at_risk_only, len(shown)) == (0, False, 1)

    _its_helper_dies_once_the_board_is_old(monkeypatch, clock)
    list(tab._turn(1))  # "Next page"
    assert tab.error == BOARD_STOPPED and not tab.turning
    assert (tab.pairs_page, tab.pairs) == (0, shown)
    tab._refresh(page=0, at_risk_only=True)  # the switch, as set_at_risk_only does
    assert (tab.at_risk_only, tab.pairs) == (False, shown)
