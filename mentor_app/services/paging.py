"""One page of a list: every list a page shows is read a page at a time, so no state var
holds more than `PAGE_SIZE` rows, whatever the size of the program.

`page_of(db, statement, page=n)` runs the statement twice: a count of all its rows, and
the rows of page `n` (counted from 0; a page past the end is read as the last page). The
statement must have a deterministic ORDER BY (a unique column last), or rows could move
between pages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import func, select
from sqlalchemy.sql import Select
from sqlmodel import Session

PAGE_SIZE = 20
T = TypeVar("T")
U = TypeVar("U")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int  # rows in the whole list
    page: int  # this page, from 0
    size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def has_previous(self) -> bool:
        return self.page > 0

    @property
    def has_next(self) -> bool:
        return self.page + 1 < self.pages

    def map(self, convert: Callable[[T], U]) -> Page[U]:
        return Page([convert(item) for item in self.items], self.total, self.page, self.size)


def clamp_page(page: int, total: int, size: int = PAGE_SIZE) -> int:
    """A page number the list has: 0 for a negative one, the last page past the end."""
    last = max(0, -(-total // size) - 1)
    return min(max(0, int(page)), last)


def page_of(
    db: Session,
    statement: Select[*tuple[Any, ...]],
    *,
    page: int,
    size: int = PAGE_SIZE,
    scalars: bool = True,
) -> Page[Any]:
    """Page `page` of `statement`'s rows (scalars when the statement selects one entity or
    column, else row tuples)."""
    total = int(
        db.execute(
            select(func.count()).select_from(statement.order_by(None).subquery())
        ).scalar_one()
    )
    page = clamp_page(page, total, size)
    result = db.execute(statement.limit(size).offset(page * size))
    items = list(result.scalars().all()) if scalars else [tuple(row) for row in result.all()]
    return Page(items, total, page, size)


def page_of_list(items: list[T], *, page: int, size: int = PAGE_SIZE) -> Page[T]:
    """Page `page` of a list already in memory and already bounded (a few hundred at most,
    e.g. scored suggestions); lists read from a table use `page_of`."""
    page = clamp_page(page, len(items), size)
    return Page(items[page * size : (page + 1) * size], len(items), page, size)
