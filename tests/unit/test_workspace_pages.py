"""The pairing workspace's lists, a page at a time: every row once, in one order on every
engine, each list on its own page; the fairness panel, Suggest all and Publish still work
on the whole cohort, whatever page the admin is on."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import Session, select

from mentor_app.models import Enrollment, Pair, User, utcnow
from mentor_app.services import pairing
from mentor_app.services.errors import PermissionDenied
from mentor_app.services.paging import PAGE_SIZE, Page
from tests.factories import add_applicants, add_member, make_group, make_program, make_user


class Big:
    """An open program whose cohort is bigger than a page."""

    def __init__(self, db: Session) -> None:
        self.db = db
        self.admin = make_user(db, display_name="Ada")
        self.group = make_group(db, admin=self.admin)
        self.program = make_program(db, admin=self.admin, group=self.group)
        self.pid = self.program.id or 0

    def add(self, role: str, names: list[str], capacity: int = 2) -> list[Enrollment]:
        return add_applicants(
            self.db, program=self.program, role=role, names=names, capacity=capacity
        )

    def workspace(self, **kwargs: Any) -> pairing.Workspace:
        return pairing.get_workspace(self.db, actor=self.admin, program_id=self.pid, **kwargs)

    def pairs(self, status: str) -> list[Pair]:
        return list(
            self.db.exec(select(Pair).where(Pair.program_id == self.pid, Pair.status == status))
        )


@pytest.fixture
def big(db: Session) -> Big:
    return Big(db)


def walk(read: Callable[[int], Page[Any]]) -> list[Any]:
    """Every row of a list, read page after page with Next until the last."""
    rows: list[Any] = []
    number = 0
    while True:
        page = read(number)
        assert page.page == number and len(page.items) <= PAGE_SIZE
        rows += page.items
        if not page.has_next:
            return rows
        number += 1


def mentees(number: int) -> list[str]:
    return [f"Mentee {n:02d}" for n in range(1, number + 1)]


# --- the two columns -------------------------------------------------------------------------


def test_waiting_mentees_come_a_page_at_a_time_in_one_order_each_once(big: Big) -> None:
    # Capitals before small letters (code points), a shared name settled by id, and a
    # mentee with rematch priority first whatever their name.
    names = ["bea", *mentees(41), "Al", "Zed", "Al"]
    made = big.add("mentee", names)
    zed = made[names.index("Zed")]
    zed.rematch_priority = True
    big.db.add(zed)
    big.db.commit()
    others = sorted((name, e.id or 0) for name, e in zip(names, made, strict=True) if e != zed)
    expected = [zed.id] + [eid for _name, eid in others]

    pages = [big.workspace(mentees_page=n).mentees_waiting for n in range(3)]

    assert [len(p.items) for p in pages] == [PAGE_SIZE, PAGE_SIZE, 5]
    assert [m.enrollment_id for p in pages for m in p.items] == expected
    assert [m.name for m in pages[0].items][:3] == ["Zed", "Al", "Al"]
    assert pages[2].items[-1].name == "bea"
    assert [(p.total, p.pages) for p in pages] == [(45, 3)] * 3
    assert big.workspace(mentees_page=99).mentees_waiting.items == pages[2].items


def test_mentors_come_a_page_at_a_time_with_their_seats_and_the_free_seat_filter(
    big: Big,
) -> None:
    mentors = big.add("mentor", [f"Mentor {n:02d}" for n in range(1, 26)], capacity=1)
    waiting = big.add("mentee", mentees(3))
    for mentee, mentor in zip(waiting, mentors[-3:], strict=True):
        pairing.pair_by_hand(
            big.db, actor=big.admin, program_id=big.pid,
            mentee_enrollment_id=mentee.id or 0, mentor_enrollment_id=mentor.id or 0,
        )  # fmt: skip
    big.db.commit()

    everyone = walk(lambda n: big.workspace(mentors_page=n).mentors)
    free = walk(lambda n: big.workspace(mentors_page=n, free_only=True).mentors)

    assert [m.enrollment_id for m in everyone] == [m.id for m in mentors]
    assert [m.used for m in everyone] == [0] * 22 + [1] * 3
    assert [m.enrollment_id for m in free] == [m.id for m in mentors[:22]]
    assert big.workspace(free_only=True).mentors.total == 22


def test_search_finds_names_in_any_case_and_takes_wildcards_literally(big: Big) -> None:
    big.add("mentee", ["Émile Durand", "100% Sam", "Sam_Lee", "Samuel", "Theo"])
    big.add("mentee", [f"Anna {n:02d}" for n in range(1, 31)])

    def found(search: str) -> list[str]:
        ws = big.workspace(search=search)
        return [m.name for m in ws.mentees_waiting.items]

    assert found("ÉMILE") == ["Émile Durand"]
    assert found("émile") == ["Émile Durand"]
    assert found("%") == ["100% Sam"]
    assert found("_") == ["Sam_Lee"]
    assert found(" sam ") == ["100% Sam", "Sam_Lee", "Samuel"]
    annas = big.workspace(search="anna").mentees_waiting
    assert (annas.total, annas.pages, len(annas.items)) == (30, 2, PAGE_SIZE)
    second = big.workspace(search="anna", mentees_page=1).mentees_waiting
    assert [m.name for m in second.items] == [f"Anna {n:02d}" for n in range(21, 31)]


# --- drafts, published and ended pairs, and the actions on the whole cohort -------------------


def test_suggest_all_and_publish_act_on_the_whole_cohort_and_every_pair_is_on_a_page(
    big: Big,
) -> None:
    big.add("mentor", [f"Mentor {n:02d}" for n in range(1, 16)], capacity=3)
    big.add("mentee", mentees(45))

    made = pairing.suggest_all(big.db, actor=big.admin, program_id=big.pid)
    big.db.commit()

    assert len(made) == 45  # beyond the 20 the admin's first page shows
    drafts = walk(lambda n: big.workspace(drafts_page=n).drafts)
    in_order = sorted(big.pairs("draft"), key=lambda p: (p.created_at, p.id or 0))
    assert [d.id for d in drafts] == [p.id for p in in_order]
    assert big.workspace().mentees_waiting.total == 0

    result = pairing.publish_pairs(big.db, actor=big.admin, program_id=big.pid)
    big.db.commit()

    assert result.published == 45
    ws = big.workspace(drafts_page=2)
    assert (ws.drafts.total, ws.drafts.page, ws.drafts.items) == (0, 0, [])
    published = walk(lambda n: big.workspace(published_page=n).published)
    assert sorted(p.id for p in published) == sorted(p.id or 0 for p in big.pairs("active"))
    assert all(p.score > 0 and p.reasons for p in published)


def test_ended_pairs_come_a_page_at_a_time_latest_first(big: Big) -> None:
    big.add("mentor", [f"Mentor {n:02d}" for n in range(1, 26)], capacity=1)
    big.add("mentee", mentees(25))
    pairing.suggest_all(big.db, actor=big.admin, program_id=big.pid)
    pairing.publish_pairs(big.db, actor=big.admin, program_id=big.pid)
    moment = utcnow()
    for n, pair in enumerate(big.pairs("active")):
        pair.status, pair.end_reason = "ended", "other"
        pair.ended_at = moment - dt.timedelta(minutes=n // 5)  # five at a time: ids settle
        pair.mentor_seat = pair.live_mentee_enrollment_id = None
        big.db.add(pair)
    big.db.commit()

    ended = walk(lambda n: big.workspace(ended_page=n).ended)

    latest_first = sorted(big.pairs("ended"), key=lambda p: (p.ended_at, p.id), reverse=True)
    assert [e.id for e in ended] == [p.id for p in latest_first]


def test_a_list_that_shrank_is_read_on_its_last_page(big: Big) -> None:
    big.add("mentor", [f"Mentor {n:02d}" for n in range(1, 22)], capacity=1)
    big.add("mentee", mentees(21))
    pairing.suggest_all(big.db, actor=big.admin, program_id=big.pid)
    big.db.commit()
    [last] = big.workspace(drafts_page=1).drafts.items

    pairing.unpair(big.db, actor=big.admin, pair_id=last.id)
    big.db.commit()

    drafts = big.workspace(drafts_page=1).drafts
    assert (drafts.page, drafts.pages, len(drafts.items)) == (0, 1, PAGE_SIZE)


# --- the fairness panel and the selected mentee -----------------------------------------------


def test_fairness_counts_the_whole_cohort_and_names_a_few(big: Big) -> None:
    mentors = big.add("mentor", [f"Mentor {n:02d}" for n in range(1, 13)], capacity=1)
    waiting = big.add("mentee", mentees(57))
    for mentee, mentor in zip(waiting[-12:], mentors, strict=True):
        pairing.pair_by_hand(
            big.db, actor=big.admin, program_id=big.pid,
            mentee_enrollment_id=mentee.id or 0, mentor_enrollment_id=mentor.id or 0,
        )  # fmt: skip
    pairing.publish_pairs(big.db, actor=big.admin, program_id=big.pid)
    big.db.commit()

    fairness = big.workspace(search="Mentee 0", mentees_page=1).fairness

    assert fairness.unmatched == 45
    assert fairness.unmatched_names == mentees(pairing.FAIRNESS_NAMES)
    assert fairness.full_mentors_total == 12
    assert fairness.full_mentors == [f"Mentor {n:02d}" for n in range(1, 11)]
    assert fairness.published == 12 and sum(n for _b, n in fairness.score_buckets) == 12


def test_a_mentee_on_any_page_can_be_selected_while_waiting(big: Big) -> None:
    [mentor] = big.add("mentor", ["Maya"], capacity=1)
    waiting = big.add("mentee", mentees(45))
    last = waiting[-1]  # on the third page

    def still_waiting(actor: User) -> bool:
        return pairing.is_waiting(
            big.db, actor=actor, program_id=big.pid, mentee_enrollment_id=last.id or 0
        )

    assert still_waiting(big.admin)
    pairing.pair_by_hand(
        big.db, actor=big.admin, program_id=big.pid,
        mentee_enrollment_id=last.id or 0, mentor_enrollment_id=mentor.id or 0,
    )  # fmt: skip
    assert not still_waiting(big.admin)
    member = big.db.get(User, waiting[0].user_id)
    other_admin = make_user(big.db)
    make_group(big.db, admin=other_admin)
    add_member(big.db, big.group, other_admin)
    for actor in (member, other_admin):
        with pytest.raises(PermissionDenied):
            still_waiting(actor)  # type: ignore[arg-type]
        with pytest.raises(PermissionDenied):
            pairing.get_workspace(
                big.db,
                actor=actor,  # type: ignore[arg-type]
                program_id=big.pid,
                mentees_page=2,
            )


def test_the_free_mentors_to_pair_by_hand_are_bounded_and_follow_the_search(big: Big) -> None:
    big.add("mentor", [f"Mentor {n:02d}" for n in range(1, 31)], capacity=1)

    assert len(big.workspace().free_mentors) == PAGE_SIZE
    assert [m.name for m in big.workspace(search="mentor 3").free_mentors] == ["Mentor 30"]
