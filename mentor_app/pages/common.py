"""The shell every page shares, bound to the signed-in user."""

import reflex as rx

from components.layout import page_shell
from state.session import SessionState


def shell(*children: rx.Component) -> rx.Component:
    return page_shell(
        *children,
        signed_in=SessionState.signed_in,
        display_name=SessionState.display_name,
        is_moderator=SessionState.is_moderator,
        on_log_out=SessionState.log_out,
    )
