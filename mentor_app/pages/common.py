"""The shell every page shares, bound to the signed-in user."""

import reflex as rx

from components.layout import page_shell
from state.notifications import BellState, NotificationBellState
from state.session import SessionState


def shell(*children: rx.Component) -> rx.Component:
    return page_shell(
        *children,
        signed_in=SessionState.signed_in,
        display_name=SessionState.display_name,
        is_moderator=SessionState.is_moderator,
        # The bell mounts only for a signed-in user, on every page load: it links the tab
        # to the user's bell and re-counts.
        unread=rx.cond(BellState.connected, NotificationBellState.unread, 0).to(int),
        on_bell_mount=BellState.connect,
        on_bell_keep_alive=BellState.keep_alive,
    )
