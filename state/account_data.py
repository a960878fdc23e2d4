"""Settings → Your data: deleting the account (the download is a plain HTTP link to
`web_auth`'s `/account/data`, which reads the HttpOnly cookie itself), and the home page's
farewell once the account is gone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import reflex as rx
from reflex.event import EventSpec

from mentor_app.services import account_data
from mentor_app.services.errors import ServiceError
from state.journey import schedule_pair_refresh
from state.off_loop import in_thread
from state.session import SessionState, SignedOut, full_navigation

# The form field of the confirmation dialog (its input's id is field-<name>).
PASSWORD_FIELD = "delete_password"
FAREWELL_PAGE = "/?account=deleted"
FAREWELL = (
    "Your account has been deleted, and you have been logged out everywhere. "
    "Thank you for taking part in Mentor circles."
)


class AccountDataState(SessionState):
    delete_open: rx.Field[bool] = rx.field(False)
    deleting: rx.Field[bool] = rx.field(False)
    # Messages by field (PASSWORD_FIELD, or "form"); the password itself never lands in state.
    delete_errors: rx.Field[dict[str, str]] = rx.field(default_factory=dict)
    farewell: rx.Field[str] = rx.field("")

    @rx.event
    def set_delete_open(self, value: bool) -> None:
        if self.deleting:
            return  # the dialog stays open until the answer is in
        self.delete_open = bool(value)
        self.delete_errors = {}

    def _delete(self, password: str) -> list[int]:
        with self._as_user() as (db, user):
            return account_data.delete_account(db, actor=user, password=password).pair_ids

    @rx.event
    async def delete_account(
        self, form: dict[str, Any]
    ) -> AsyncIterator[EventSpec | list[EventSpec] | None]:
        self.delete_errors = {}
        if self.deleting:
            return
        password = str(form.get(PASSWORD_FIELD) or "")
        self.deleting = True
        yield None
        try:
            # argon2 and a large transaction: on a thread, so the worker's other sockets
            # are not held up.
            pair_ids = await in_thread(self._delete, password)
        except SignedOut:
            self.deleting = False
            yield self._login_redirect()
            return
        except ServiceError as error:
            self.deleting = False
            field = PASSWORD_FIELD if error.field == "password" else "form"
            self.delete_errors = {field: error.message}
            return
        self.deleting = False
        self.delete_open = False
        self._show_user(None)
        for pair_id in pair_ids:
            schedule_pair_refresh(pair_id)  # partners' open pages: ended, messages gone
        # A fresh page load: its new socket carries a cookie whose session no longer exists.
        yield full_navigation(FAREWELL_PAGE)

    @rx.event
    def load_farewell(self) -> None:
        """on_load of the home page: after a deletion it says what happened."""
        deleted = self.router.url.query_parameters.get("account") == "deleted"
        self.farewell = FAREWELL if deleted else ""
