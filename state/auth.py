"""The sign-up and log-in forms."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import reflex as rx
from reflex.event import EventSpec
from sqlmodel import Session

from mentor_app.db import session_scope
from mentor_app.models import User
from mentor_app.services import accounts, sessions
from mentor_app.services.errors import ServiceError
from state.session import SessionState, safe_next


class AuthFormState(SessionState):
    """Field errors keyed by form field name, plus one message for the whole form."""

    errors: rx.Field[dict[str, str]] = rx.field(default_factory=dict)
    form_error: rx.Field[str] = rx.field("")
    submitting: rx.Field[bool] = rx.field(False)

    def _show_error(self, error: ServiceError) -> None:
        if error.field:
            self.errors = {error.field: error.message}
        else:
            self.form_error = error.message

    def _clear(self) -> None:
        self.errors = {}
        self.form_error = ""

    def _next_page(self) -> str:
        return safe_next(self.router.url.query_parameters.get("next"))

    def _sign_in_with(self, find_user: Callable[[Session], User]) -> Iterator[Any]:
        """Run the service, then issue a fresh session token (never reuse the old one)."""
        self._clear()
        self.submitting = True
        yield
        try:
            with session_scope() as db:
                user = find_user(db)
                token = sessions.rotate_session(db, old_token=self.session_token or None, user=user)
        except ServiceError as error:
            self._show_error(error)
            self.submitting = False
            return
        self.session_token = token
        self._show_user(user)
        self.submitting = False
        yield rx.redirect(self._next_page())

    @rx.event
    def open_form(self) -> EventSpec | None:
        """on_load: a signed-in user has nothing to do on these pages."""
        self._clear()
        self.submitting = False
        with session_scope() as db:
            user = self._user(db)
        self._show_user(user)
        return rx.redirect(self._next_page()) if user else None


class SignUpState(AuthFormState):
    @rx.event
    def submit(self, form: dict[str, str]):  # type: ignore[no-untyped-def]
        yield from self._sign_in_with(
            lambda db: accounts.sign_up(
                db,
                email=form.get("email", ""),
                display_name=form.get("display_name", ""),
                password=form.get("password", ""),
                date_of_birth=form.get("date_of_birth", ""),
            )
        )


class LogInState(AuthFormState):
    @rx.event
    def submit(self, form: dict[str, str]):  # type: ignore[no-untyped-def]
        yield from self._sign_in_with(
            lambda db: accounts.authenticate(
                db, email=form.get("email", ""), password=form.get("password", "")
            )
        )
