"""Previous / next for a paged list, with where the reader is ("Page 2 of 5 · 93 members").

The state keeps, for each paged list, its page number and a summary dict made by
`state.paging.page_info` ({"page", "pages", "total", "has_previous", "has_next"}), and
two handlers that move to the previous and next page."""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex.vars import ObjectVar


def pager(
    label: str, info: ObjectVar[dict[str, Any]], *, on_previous: Any, on_next: Any
) -> rx.Component:
    """`label` names the list for screen readers ("Members pages"). Shown only when the
    list has more than one page."""
    return rx.cond(
        info["pages"].to(int) > 1,
        rx.el.nav(
            rx.hstack(
                rx.button(
                    "Previous",
                    on_click=on_previous,
                    disabled=~info["has_previous"].to(bool),
                    variant="soft",
                    type="button",
                ),
                rx.text(
                    "Page ",
                    (info["page"].to(int) + 1).to_string(),
                    " of ",
                    info["pages"].to(int).to_string(),
                    size="2",
                    aria_live="polite",
                ),
                rx.button(
                    "Next",
                    on_click=on_next,
                    disabled=~info["has_next"].to(bool),
                    variant="soft",
                    type="button",
                ),
                spacing="3",
                align="center",
                wrap="wrap",
            ),
            aria_label=label,
        ),
    )


def scroll_region(label: str, table: rx.Component, *, busy: Any = None) -> rx.Component:
    """A labelled, focusable scroll box around a wide table: on a phone the table scrolls
    here (by keyboard too). `busy` dims it while its next page loads."""
    props: dict[str, Any] = {}
    if busy is not None:
        props = {"aria_busy": rx.cond(busy, "true", "false"), "opacity": rx.cond(busy, "0.5", "1")}
    return rx.box(
        table,
        role="region",
        aria_label=label,
        tab_index=0,
        overflow_x="auto",
        width="100%",
        **props,
    )
