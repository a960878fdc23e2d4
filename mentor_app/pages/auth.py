"""Sign up and log in."""

import reflex as rx

from components.forms import form_alert, submit_button, text_field
from mentor_app.pages.common import shell
from state.auth import LogInState, SignUpState


def signup() -> rx.Component:
    errors = SignUpState.errors
    return shell(
        rx.card(
            rx.form(
                rx.vstack(
                    rx.heading("Create your account", size="6", as_="h1"),
                    form_alert(SignUpState.form_error),
                    text_field(
                        "Email",
                        "email",
                        type="email",
                        error=errors.get("email", ""),
                        auto_complete="email",
                        max_length=254,
                        required=True,
                    ),
                    text_field(
                        "Display name",
                        "display_name",
                        error=errors.get("display_name", ""),
                        auto_complete="nickname",
                        max_length=80,
                        required=True,
                    ),
                    text_field(
                        "Password",
                        "password",
                        type="password",
                        error=errors.get("password", ""),
                        auto_complete="new-password",
                        placeholder="At least 8 characters",
                        required=True,
                    ),
                    text_field(
                        "Date of birth",
                        "date_of_birth",
                        type="date",
                        error=errors.get("date_of_birth", ""),
                        auto_complete="bday",
                        required=True,
                    ),
                    submit_button("Sign up", loading=SignUpState.submitting),
                    rx.text(
                        "Already have an account? ",
                        rx.link("Log in", href="/login"),
                        size="2",
                    ),
                    spacing="4",
                    width="100%",
                ),
                on_submit=SignUpState.submit,
                reset_on_submit=False,
                width="100%",
            ),
            width="100%",
            max_width="28em",
            margin_x="auto",
        ),
    )


def login() -> rx.Component:
    errors = LogInState.errors
    return shell(
        rx.card(
            rx.form(
                rx.vstack(
                    rx.heading("Log in", size="6", as_="h1"),
                    form_alert(LogInState.form_error),
                    text_field(
                        "Email",
                        "email",
                        type="email",
                        error=errors.get("email", ""),
                        auto_complete="email",
                        required=True,
                    ),
                    text_field(
                        "Password",
                        "password",
                        type="password",
                        error=errors.get("password", ""),
                        auto_complete="current-password",
                        required=True,
                    ),
                    submit_button("Log in", loading=LogInState.submitting),
                    rx.text("New here? ", rx.link("Sign up", href="/signup"), size="2"),
                    spacing="4",
                    width="100%",
                ),
                on_submit=LogInState.submit,
                reset_on_submit=False,
                width="100%",
            ),
            width="100%",
            max_width="28em",
            margin_x="auto",
        ),
    )
