"""A member's settings: the members they have blocked, lifting a block, changing the
password and logging out everywhere."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import reflex as rx
from reflex.event import EventSpec

from mentor_app.services import accounts, chat
from mentor_app.services.errors import ServiceError
from state.off_loop import in_thread
from state.session import SessionState, SignedOut

# The password form's fields, by form name; the page gives each input the id field-<name>.
PASSWORD_FIELDS = ("current_password", "new_password", "confirm_password")
MISMATCH = "The new passwords don't match."
PASSWORD_CHANGED = (
    "Your password was changed. Every other browser signed in to your account was logged out."
)


class SettingsState(SessionState):
    blocked: rx.Field[list[dict[str, Any]]] = rx.field(default_factory=list)
    loaded: rx.Field[bool] = rx.field(False)
    message: rx.Field[str] = rx.field("")
    # The password form: messages only, by field ("form" for the whole form). The
    # passwords themselves never land in state: they pass through the handler and go.
    password_errors: rx.Field[dict[str, str]] = rx.field(default_factory=dict)
    password_saving: rx.Field[bool] = rx.field(False)
    password_message: rx.Field[str] = rx.field("")

    def _load(self) -> EventSpec | None:
        try:
            with self._reading_as_user() as (db, user):
                rows = chat.list_my_blocks(db, actor=user)
        except SignedOut:
            return self._login_redirect()
        self.blocked = [
            {"id": b.blocked_id, "name": b.name, "since": b.created_at.strftime("%d %b %Y")}
            for b in rows
        ]
        self.loaded = True
        return None

    @rx.event
    def load(self) -> EventSpec | None:
        self.message = ""
        self.password_errors = {}
        self.password_message = ""
        self.password_saving = False
        return self._load()

    @rx.event
    def lift(self, blocked_id: int, name: str) -> EventSpec | None:
        try:
            with self._as_user() as (db, user):
                chat.lift_block(db, actor=user, blocked_id=int(blocked_id))
        except SignedOut:
            return self._login_redirect()
        except ServiceError as error:
            self.message = error.message
            return self._load()
        self.message = f"You lifted your block on {name}. Your ended pair stays ended."
        return self._load()

    def _change_password(self, current: str, new: str) -> None:
        with self._as_user() as (db, user):
            accounts.change_password(
                db,
                actor=user,
                current_password=current,
                new_password=new,
                keep_token=self._token(),
            )

    @rx.event
    async def change_password(
        self, form: dict[str, Any]
    ) -> AsyncIterator[EventSpec | list[EventSpec] | None]:
        self.password_errors = {}
        self.password_message = ""
        current, new, confirm = (str(form.get(name) or "") for name in PASSWORD_FIELDS)
        if new != confirm:
            self.password_errors = {"confirm_password": MISMATCH}
            return
        self.password_saving = True
        yield None
        try:
            # argon2 twice: on a thread, so the worker's other sockets are not held up.
            # The handler keeps this tab's state to itself until the thread is done.
            await in_thread(self._change_password, current, new)
        except SignedOut:
            self.password_saving = False
            yield self._login_redirect()
            return
        except ServiceError as error:
            self.password_saving = False
            self.password_errors = {error.field or "form": error.message}
            return
        self.password_saving = False
        self.password_message = PASSWORD_CHANGED
        yield [rx.set_value(f"field-{name}", "") for name in PASSWORD_FIELDS]

    @rx.event
    def log_out_everywhere(self) -> EventSpec | None:
        try:
            with self._as_user() as (db, user):
                accounts.log_out_everywhere(db, actor=user)
        except SignedOut:
            pass  # already signed out here: the log-in page all the same
        except ServiceError as error:
            self.message = error.message
            return None
        self._show_user(None)
        return self._login_redirect()
