"""My groups, the groups to join, a group's members and My pairs, read a page at a time:
each page is one query of at most PAGE_SIZE rows, in an order that never moves a row
between pages, and the groups to join are searchable so a flood cannot hide a real group."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import Session

from mentor_app.models import Membership, Program
from mentor_app.services import groups, pairing
from mentor_app.services.errors import NotFound, PermissionDenied
from mentor_app.services.paging import PAGE_SIZE
from tests.factories import (
    PairSetup,
    add_member,
    add_members,
    make_group,
    make_pair,
    make_past_pairs,
    make_people,
    make_program,
    make_user,
)


def _all_pages(read, pages: int) -> list[list[int]]:  # type: ignore[no-untyped-def]
    return [[row.id for row in read(page).items] for page in range(pages)]


# --- My groups -------------------------------------------------------------------------------


def test_my_groups_come_a_page_at_a_time_by_name_each_once(db: Session) -> None:
    me, other = make_user(db), make_user(db)
    # Three groups share each name: the id settles their order, on every read alike.
    mine = [make_group(db, admin=me, name=f"Circle {n % 15:02}") for n in range(40)]
    for n in range(5):
        joined = make_group(db, admin=other, name=f"circle {n:02} b")
        add_member(db, joined, me)
        mine.append(joined)
    make_group(db, admin=other, name="Not mine")

    first = groups.list_my_groups(db, actor=me)
    assert (len(first.items), first.total, first.pages, first.has_next) == (PAGE_SIZE, 45, 3, True)
    pages = _all_pages(lambda n: groups.list_my_groups(db, actor=me, page=n), 3)
    assert [len(p) for p in pages] == [20, 20, 5]
    by_name = sorted(mine, key=lambda g: (g.name.lower(), g.id))
    assert [gid for page in pages for gid in page] == [g.id for g in by_name]
    # The same page read twice is the same page.
    assert pages[1] == [c.id for c in groups.list_my_groups(db, actor=me, page=1).items]


def test_my_groups_past_the_end_reads_the_last_page_with_roles_and_counts(db: Session) -> None:
    me, other = make_user(db), make_user(db)
    for n in range(21):
        make_group(db, admin=me, name=f"Mine {n:02}")
    theirs = make_group(db, admin=other, name="Zz theirs")
    add_member(db, theirs, me)
    last = groups.list_my_groups(db, actor=me, page=7)
    assert last.page == 1
    assert [(c.name, c.role, c.member_count) for c in last.items] == [
        ("Mine 20", "admin", 1),
        ("Zz theirs", "member", 2),
    ]


# --- groups to join --------------------------------------------------------------------------


def test_a_flood_of_empty_groups_cannot_push_a_real_group_out_of_view(db: Session) -> None:
    flooder, founder, newcomer = make_user(db), make_user(db), make_user(db)
    for n in range(60):
        make_group(db, admin=flooder, name=f"AAA {n:02} free stuff")
    real = make_group(db, admin=founder, name="Weekend Parents")
    add_members(db, real, make_people(db, 29))

    first = groups.list_joinable_groups(db, actor=newcomer)
    assert first.total == 61 and len(first.items) == PAGE_SIZE
    assert (first.items[0].id, first.items[0].member_count) == (real.id, 30)
    for needle in ("weekend parents", "PARENTS", "end par"):
        found = groups.list_joinable_groups(db, actor=newcomer, search=needle)
        assert [c.id for c in found.items] == [real.id], needle
    assert groups.list_joinable_groups(db, actor=newcomer, search="aaa").total == 60


def test_groups_to_join_go_biggest_first_then_by_name_then_id(db: Session) -> None:
    admin, me = make_user(db), make_user(db)
    people = make_people(db, 3)
    small_b = make_group(db, admin=admin, name="b circle")
    small_a2 = make_group(db, admin=admin, name="A circle")
    small_a1 = make_group(db, admin=admin, name="a circle")
    big = make_group(db, admin=admin, name="zz big")
    add_members(db, big, people[:2])
    middle = make_group(db, admin=admin, name="yy middle")
    add_members(db, middle, people[:1])
    make_group(db, admin=me, name="mine")  # not to join: I am in it
    make_group(db, admin=admin, name="aa closed", is_open=False)

    cards = groups.list_joinable_groups(db, actor=me).items
    assert [c.id for c in cards] == [big.id, middle.id, small_a2.id, small_a1.id, small_b.id]
    assert [c.member_count for c in cards] == [3, 2, 1, 1, 1]
    # Pages of two: each group once, in the same order.
    pages = _all_pages(lambda n: groups.list_joinable_groups(db, actor=me, page=n, size=2), 3)
    assert [gid for page in pages for gid in page] == [c.id for c in cards]


def test_a_search_takes_wildcards_and_spaces_as_typed(db: Session) -> None:
    admin, me = make_user(db), make_user(db)
    percent = make_group(db, admin=admin, name="100% parents")
    make_group(db, admin=admin, name="1000 parents")
    under = make_group(db, admin=admin, name="new_dads")
    make_group(db, admin=admin, name="newXdads")

    def found(search: str) -> list[int | None]:
        return [c.id for c in groups.list_joinable_groups(db, actor=me, search=search).items]

    assert found("100%") == [percent.id]
    assert found("w_d") == [under.id]
    assert found("  100% ") == [percent.id]  # trimmed
    assert found("nothing like it") == []
    assert len(found("")) == 4
    # A search longer than any name finds nothing, and is cut before it reaches the database.
    assert found("x" * 5000) == []


# --- a group's members ----------------------------------------------------------------------


def test_members_come_a_page_at_a_time_admins_first_and_searchable(db: Session) -> None:
    admin = make_user(db, display_name="Zed Admin")
    group = make_group(db, admin=admin)
    people = make_people(db, 44, name="Person")
    add_members(db, group, people)
    assert group.id is not None
    bob = make_user(db, display_name="Bobbie Lee")
    add_member(db, group, bob)

    def read(page: int, search: str = "") -> list[int]:
        found = groups.list_members(db, actor=bob, group_id=group.id or 0, page=page, search=search)
        return [m.user_id for m in found.items]

    first = groups.list_members(db, actor=bob, group_id=group.id)
    assert (first.total, first.pages, len(first.items)) == (46, 3, PAGE_SIZE)
    assert (first.items[0].display_name, first.items[0].role) == ("Zed Admin", "admin")
    pages = [read(n) for n in range(3)]
    assert [len(p) for p in pages] == [20, 20, 6]
    everyone = [admin.id or 0, bob.id or 0, *(p.id or 0 for p in people)]
    assert sorted(uid for page in pages for uid in page) == sorted(everyone)
    assert pages[0][1] == bob.id  # "Bobbie Lee" before "Person 01"
    assert read(1) == pages[1]
    assert read(0, "BBIE") == [bob.id]
    assert read(0, "person 4") == [p.id for p in people[39:44]]


def test_members_past_the_end_after_members_left_reads_the_last_page(db: Session) -> None:
    admin = make_user(db)
    group = make_group(db, admin=admin)
    people = make_people(db, 40)
    add_members(db, group, people)
    assert group.id is not None
    for person in people[-25:]:
        membership = groups.membership_of(db, group_id=group.id, user_id=person.id or 0)
        assert isinstance(membership, Membership)
        db.delete(membership)
    db.commit()
    last = groups.list_members(db, actor=admin, group_id=group.id, page=2)
    assert (last.page, last.total, len(last.items)) == (0, 16, 16)


def test_only_members_read_the_member_list(db: Session) -> None:
    admin, outsider = make_user(db), make_user(db)
    open_group = make_group(db, admin=admin)
    closed = make_group(db, admin=admin, is_open=False)
    assert open_group.id is not None and closed.id is not None
    # The list is there to leak: a member reads it.
    assert groups.list_members(db, actor=admin, group_id=open_group.id).total == 1
    with pytest.raises(PermissionDenied):
        groups.list_members(db, actor=outsider, group_id=open_group.id)
    # A closed group, or none at all, does not exist for an outsider.
    for group_id in (closed.id, 999_999):
        with pytest.raises(NotFound):
            groups.list_members(db, actor=outsider, group_id=group_id)


# --- My pairs --------------------------------------------------------------------------------


def test_my_pairs_come_a_page_at_a_time_newest_first_each_once(db: Session) -> None:
    setup = make_pair(db)  # Maya mentors Theo, published now
    people = make_people(db, 24, name="Mentee")
    old = make_past_pairs(
        db,
        program=_another_program(db, setup),
        mentor=setup.mentor,
        mentees=people,
        published=dt.datetime(2025, 3, 1, tzinfo=dt.UTC),
    )

    def read(page: int) -> list[int]:
        return [p.pair_id for p in pairing.list_my_pairs(db, actor=setup.mentor, page=page).items]

    first = pairing.list_my_pairs(db, actor=setup.mentor)
    assert (first.total, first.pages, len(first.items)) == (25, 2, PAGE_SIZE)
    assert first.items[0].pair_id == setup.pair.id  # the newest
    # Published at the same moment, the older pairs go by id, newest first.
    assert read(0)[1:] + read(1) == [p.id for p in reversed(old)]
    assert read(9) == read(1)
    assert [(p.partner_name, p.my_role) for p in first.items[1:3]] == [
        ("Mentee 24", "mentor"),
        ("Mentee 23", "mentor"),
    ]
    # Each mentee sees their one pair.
    assert [p.pair_id for p in pairing.list_my_pairs(db, actor=people[0]).items] == [old[0].id]


def _another_program(db: Session, setup: PairSetup) -> Program:
    return make_program(db, admin=setup.admin, group=setup.group, status="closed")
