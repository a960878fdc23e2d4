"""Reading a list a page at a time."""

from __future__ import annotations

from sqlmodel import Session, col, select

from mentor_app.models import User
from mentor_app.services.paging import clamp_page, page_of, page_of_list
from tests.factories import make_user


def test_pages_cover_every_row_once_in_order_and_past_the_end_reads_the_last(db: Session) -> None:
    made = [make_user(db).id for _ in range(7)]
    statement = select(User).where(col(User.id).in_(made)).order_by(col(User.id))
    pages = [page_of(db, statement, page=n, size=3) for n in range(3)]
    assert [[u.id for u in p.items] for p in pages] == [made[0:3], made[3:6], made[6:7]]
    assert [(p.total, p.pages, p.has_previous, p.has_next) for p in pages] == [
        (7, 3, False, True),
        (7, 3, True, True),
        (7, 3, True, False),
    ]
    assert [u.id for u in page_of(db, statement, page=99, size=3).items] == made[6:7]
    assert page_of(db, statement, page=-4, size=3).page == 0


def test_an_empty_list_is_one_empty_page(db: Session) -> None:
    page = page_of(db, select(User).where(col(User.id) < 0).order_by(col(User.id)), page=3)
    assert (page.items, page.total, page.page, page.pages, page.has_next) == ([], 0, 0, 1, False)


def test_a_list_in_memory_pages_the_same_way() -> None:
    page = page_of_list(list(range(45)), page=2, size=20)
    assert page.items == list(range(40, 45)) and page.pages == 3
    assert page.map(str).items == [str(n) for n in range(40, 45)]
    assert clamp_page(5, 0) == 0
