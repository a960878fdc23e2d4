"""A member's settings: blocked members."""

from __future__ import annotations

import reflex as rx

from mentor_app.pages.common import shell
from mentor_app.pages.programs import confirm
from state.settings import SettingsState


def blocked_row(b: rx.Var) -> rx.Component:
    name = b["name"].to(str)
    return rx.el.li(
        rx.flex(
            rx.vstack(
                rx.text(name, weight="medium"),
                rx.text("Blocked since " + b["since"].to(str), size="1", color_scheme="gray"),
                spacing="0",
            ),
            rx.spacer(),
            confirm(
                rx.button(
                    "Lift block", variant="soft", size="1", aria_label="Lift block on " + name
                ),
                "Lift your block on " + name + "?",
                "You could be paired again in future programs. Your ended pair is not restored.",
                "Lift block",
                SettingsState.lift(b["id"], b["name"]),
            ),
            align="center",
            width="100%",
        ),
        list_style="none",
        padding_y="0.5em",
    )


def settings() -> rx.Component:
    return shell(
        rx.heading("Settings", size="7", as_="h1"),
        rx.cond(
            SettingsState.message != "",
            rx.callout(SettingsState.message, icon="info", role="status"),
        ),
        rx.card(
            rx.vstack(
                rx.heading("Blocked members", size="5", as_="h2"),
                rx.text(
                    "No messages pass between you and someone you blocked, and you are never "
                    "paired with them.",
                    size="2",
                ),
                rx.cond(
                    ~SettingsState.loaded,
                    rx.flex(rx.spinner(), rx.text("Loading…"), spacing="2"),
                    rx.cond(
                        SettingsState.blocked.length() > 0,
                        rx.el.ul(
                            rx.foreach(SettingsState.blocked, blocked_row),
                            aria_label="Blocked members",
                            padding="0",
                            margin="0",
                            width="100%",
                        ),
                        rx.text("You haven't blocked anyone.", color_scheme="gray", size="2"),
                    ),
                ),
                spacing="3",
                width="100%",
            ),
            width="100%",
        ),
    )
