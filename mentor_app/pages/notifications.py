"""The notification center: a member's notifications, newest first, 50 a page."""

from __future__ import annotations

import reflex as rx

from components.forms import form_alert
from mentor_app.pages.common import shell
from state.notifications import NotificationCenterState

NC = NotificationCenterState


def notification_item(n: rx.Var) -> rx.Component:
    unread = ~n["read"].to(bool)
    text = n["text"].to(str)
    return rx.el.li(
        rx.flex(
            rx.vstack(
                rx.flex(
                    rx.cond(unread, rx.badge("New", color_scheme="tomato", variant="solid")),
                    # Plain text, never HTML.
                    rx.text(text, weight=rx.cond(unread, "bold", "regular")),
                    spacing="2",
                    align="center",
                    wrap="wrap",
                ),
                rx.text(n["when"], size="1", color_scheme="gray"),
                spacing="1",
                flex="1",
                min_width="12em",
            ),
            rx.flex(
                rx.cond(
                    n["href"] != "",
                    rx.link(
                        "Open",
                        href=n["href"].to(str),
                        on_click=NC.mark_read(n["id"]),
                        aria_label="Open: " + text,
                        weight="medium",
                    ),
                ),
                rx.cond(
                    unread,
                    rx.button(
                        "Mark read",
                        size="1",
                        variant="soft",
                        on_click=NC.mark_read(n["id"]),
                        aria_label="Mark read: " + text,
                    ),
                ),
                spacing="3",
                align="center",
            ),
            spacing="3",
            align="center",
            wrap="wrap",
            width="100%",
        ),
        list_style="none",
        padding="0.75em",
        border_radius="var(--radius-3)",
        border="1px solid var(--gray-a5)",
        background_color=rx.cond(unread, "var(--accent-a3)", "transparent"),
    )


def center() -> rx.Component:
    return shell(
        rx.vstack(
            rx.flex(
                rx.heading("Notifications", size="7", as_="h1"),
                rx.spacer(),
                rx.cond(
                    NC.unread > 0,
                    rx.button("Mark all read", variant="soft", on_click=NC.mark_all_read),
                ),
                align="center",
                spacing="3",
                wrap="wrap",
                width="100%",
            ),
            rx.text(
                rx.cond(
                    NC.unread > 0,
                    NC.unread.to(str) + " unread",
                    "You're all caught up.",
                ),
                color_scheme="gray",
                size="2",
            ),
            rx.cond(NC.message != "", rx.callout(NC.message, icon="info", role="status")),
            form_alert(NC.error),
            rx.cond(
                NC.items.length() > 0,
                rx.el.ul(
                    rx.foreach(NC.items, notification_item),
                    aria_label="Notifications",
                    padding="0",
                    margin="0",
                    display="grid",
                    gap="8px",
                    width="100%",
                ),
                rx.cond(
                    NC.loaded,
                    rx.text(
                        "No notifications yet. You'll hear here when you're paired, when your "
                        "pair is due a nudge, and when a report you made has been reviewed.",
                    ),
                    rx.flex(rx.spinner(), rx.text("Loading…"), spacing="2"),
                ),
            ),
            rx.flex(
                rx.cond(NC.page > 1, rx.button("Newer", variant="soft", on_click=NC.newer)),
                rx.cond(NC.has_older, rx.button("Older", variant="soft", on_click=NC.older)),
                spacing="3",
            ),
            spacing="4",
            width="100%",
        )
    )
