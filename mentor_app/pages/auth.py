"""Sign up and log in."""

import reflex as rx

from components.forms import form_alert, submit_button, text_field
from mentor_app.pages.common import shell
from state.auth import FORM_ID, AuthFormState, LogInState, SignUpState, post_form_script


def auth_card(
    title: str,
    state: type[AuthFormState],
    endpoint: str,
    *fields: rx.Component,
    submit: str,
    footer: rx.Component,
) -> rx.Component:
    """A narrow card holding one of the account forms."""
    return shell(
        rx.card(
            rx.form(
                rx.vstack(
                    rx.heading(title, size="6", as_="h1"),
                    form_alert(state.form_error),
                    *fields,
                    # Inert until the page is live (submit_button). Should the browser
                    # send the form itself, the method and action below keep it a POST to
                    # the endpoint, never a GET with the password in the address.
                    submit_button(submit, loading=state.submitting),
                    footer,
                    spacing="4",
                    width="100%",
                ),
                id=FORM_ID,
                on_submit=[
                    state.begin,
                    rx.call_script(post_form_script(endpoint), callback=state.finish),
                ],
                reset_on_submit=False,
                method="post",
                action=endpoint,
                width="100%",
            ),
            width="100%",
            max_width="28em",
            margin_x="auto",
        ),
    )


def signup() -> rx.Component:
    errors = SignUpState.errors
    return auth_card(
        "Create your account",
        SignUpState,
        "/auth/signup",
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
        submit="Sign up",
        footer=rx.text("Already have an account? ", rx.link("Log in", href="/login"), size="2"),
    )


def login() -> rx.Component:
    errors = LogInState.errors
    return auth_card(
        "Log in",
        LogInState,
        "/auth/login",
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
        submit="Log in",
        footer=rx.text("New here? ", rx.link("Sign up", href="/signup"), size="2"),
    )
