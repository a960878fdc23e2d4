"""The summary of a page that `components.paging.pager` shows."""

from __future__ import annotations

from typing import Any

from mentor_app.services.paging import Page


def page_info(page: Page[Any]) -> dict[str, Any]:
    return {
        "page": page.page,
        "pages": page.pages,
        "total": page.total,
        "has_previous": page.has_previous,
        "has_next": page.has_next,
    }


EMPTY_PAGE_INFO: dict[str, Any] = {
    "page": 0,
    "pages": 1,
    "total": 0,
    "has_previous": False,
    "has_next": False,
}
