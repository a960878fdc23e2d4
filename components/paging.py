"""Previous / next for a paged list, with where the reader is ("Page 2 of 5 · 93 members").

The state keeps, for each paged list, its page number and a summary dict made by
`state.paging.page_info` ({"page", "pages", "total", "has_previous", "has_next"}), and
two handlers that move to the previous and next page.

Previous and Next at the end of the list are `aria-disabled`, not `disabled`: a button
that becomes disabled while it has the focus drops it to the page's body, so a keyboard
user pressing Next onto the last page would have to find their way back from the top.
They keep the focus, look disabled, say so to screen readers, and a press does nothing."""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex.vars import ObjectVar, Var

# A press on an aria-disabled pager button goes no further than this (the capture phase
# comes before the button's own click handler).
IGNORE_WHEN_ARIA_DISABLED: Var[Any] = rx.Var(
    "(e) => { if (e.currentTarget.getAttribute('aria-disabled') === 'true') "
    "{ e.preventDefault(); e.stopPropagation(); } }"
)


def _page_button(text: str, on_click: Any, enabled: Var[bool]) -> rx.Component:
    return rx.button(
        text,
        on_click=on_click,
        aria_disabled=rx.cond(enabled, "false", "true"),
        variant="soft",
        type="button",
        custom_attrs={
            "onClickCapture": IGNORE_WHEN_ARIA_DISABLED,
            # Radix's look for a disabled button (its CSS keys on this attribute).
            "data-disabled": rx.cond(enabled, rx.Var("undefined"), "true"),
        },
    )


def pager(
    label: str, info: ObjectVar[dict[str, Any]], *, on_previous: Any, on_next: Any
) -> rx.Component:
    """`label` names the list for screen readers ("Members pages"). Shown only when the
    list has more than one page."""
    return rx.cond(
        info["pages"].to(int) > 1,
        rx.el.nav(
            rx.hstack(
                _page_button("Previous", on_previous, info["has_previous"].to(bool)),
                rx.text(
                    "Page ",
                    (info["page"].to(int) + 1).to_string(),
                    " of ",
                    info["pages"].to(int).to_string(),
                    size="2",
                    aria_live="polite",
                ),
                _page_button("Next", on_next, info["has_next"].to(bool)),
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
