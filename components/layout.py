"""The page shell: a header with the app name, navigation and Log out."""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex.vars import Var


def header(
    *,
    signed_in: Var[bool],
    display_name: Var[str],
    on_log_out: Any,
    is_moderator: Var[bool] | bool = False,
) -> rx.Component:
    return rx.el.header(
        rx.flex(
            rx.link(
                rx.hstack(rx.icon("users", size=20), rx.text("Mentor circles", weight="bold")),
                href="/",
                underline="none",
                color_scheme="gray",
                high_contrast=True,
            ),
            rx.spacer(),
            rx.cond(
                signed_in,
                rx.flex(
                    rx.link("My groups", href="/groups"),
                    rx.cond(is_moderator, rx.link("Moderation", href="/moderation")),
                    rx.link("Settings", href="/settings"),
                    rx.text(display_name, color_scheme="gray", size="2"),
                    rx.button("Log out", on_click=on_log_out, variant="soft", size="1"),
                    spacing="3",
                    align="center",
                    wrap="wrap",
                ),
                rx.flex(
                    rx.link("Log in", href="/login"),
                    rx.link("Sign up", href="/signup"),
                    spacing="3",
                    align="center",
                ),
            ),
            align="center",
            wrap="wrap",
            spacing="3",
            padding_x="1em",
            padding_y="0.75em",
            max_width="60em",
            margin_x="auto",
        ),
        border_bottom="1px solid var(--gray-a5)",
    )


def page_shell(
    *children: rx.Component,
    signed_in: Var[bool],
    display_name: Var[str],
    on_log_out: Any,
    is_moderator: Var[bool] | bool = False,
) -> rx.Component:
    return rx.box(
        header(
            signed_in=signed_in,
            display_name=display_name,
            on_log_out=on_log_out,
            is_moderator=is_moderator,
        ),
        rx.el.main(
            rx.vstack(*children, spacing="5", width="100%"),
            padding="1em",
            max_width="60em",
            margin_x="auto",
        ),
        min_height="100vh",
    )


def not_found_notice(title: str, text: str) -> rx.Component:
    """What a page shows for something missing or hidden from this user (never which)."""
    return rx.vstack(
        rx.heading(title, size="7", as_="h1"),
        rx.text(text),
        rx.link("Back to My groups", href="/groups"),
    )
