"""The landing page."""

import reflex as rx

from mentor_app.pages.common import shell
from state.account_data import AccountDataState
from state.session import SessionState


def index() -> rx.Component:
    return shell(
        rx.cond(
            AccountDataState.farewell != "",
            rx.callout(
                AccountDataState.farewell, icon="circle_check", color_scheme="green", role="status"
            ),
        ),
        rx.heading("Mentorship for your community", size="8", as_="h1"),
        rx.text(
            "Mentor circles helps the admins of parenting, professional and personal "
            "development groups run mentorship programs: members sign up as mentors or "
            "mentees, admins pair them, and each pair follows a guided week-by-week journey "
            "with check-ins and a private chat.",
            size="4",
        ),
        rx.text("Everyone taking part is 18 or older.", color_scheme="gray"),
        rx.cond(
            SessionState.signed_in,
            rx.link(rx.button("Go to My groups", size="3"), href="/groups"),
            rx.flex(
                rx.link(rx.button("Sign up", size="3"), href="/signup"),
                rx.link(rx.button("Log in", size="3", variant="outline"), href="/login"),
                spacing="3",
                wrap="wrap",
            ),
        ),
    )
