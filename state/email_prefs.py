"""Settings → E-mail: which e-mails a member gets, and the weekly digest."""

from __future__ import annotations

import reflex as rx

from mentor_app.services import email_prefs
from mentor_app.services.errors import ServiceError
from state.session import SessionState, SignedOut

CHOICES = ("nudges", "reminders", "pairing", "digest")
SAVED = "Your e-mail choices are saved."


class EmailPrefsState(SessionState):
    nudges: rx.Field[bool] = rx.field(True)
    reminders: rx.Field[bool] = rx.field(True)
    pairing: rx.Field[bool] = rx.field(True)
    digest: rx.Field[bool] = rx.field(False)
    prefs_loaded: rx.Field[bool] = rx.field(False)
    prefs_saving: rx.Field[bool] = rx.field(False)
    prefs_message: rx.Field[str] = rx.field("")
    prefs_error: rx.Field[str] = rx.field("")

    def _show(self, prefs: email_prefs.EmailPreferences) -> None:
        self.nudges, self.reminders = prefs.nudges, prefs.reminders
        self.pairing, self.digest = prefs.pairing, prefs.digest

    @rx.event
    def load_prefs(self) -> None:
        self.prefs_message, self.prefs_error, self.prefs_saving = "", "", False
        try:
            with self._reading_as_user() as (db, user):
                prefs = email_prefs.get_preferences(db, actor=user)
        except SignedOut:
            return  # the page's own on_load sends the tab to log in
        except ServiceError as error:
            self.prefs_error = error.message
            return
        self._show(prefs)
        self.prefs_loaded = True

    @rx.event
    def choose(self, name: str, value: bool) -> None:
        """A switch moved on the page (kept here until Save)."""
        if name in CHOICES:
            setattr(self, name, bool(value))
            self.prefs_message = ""

    @rx.event
    def save_prefs(self):  # type: ignore[no-untyped-def]
        self.prefs_message, self.prefs_error = "", ""
        self.prefs_saving = True
        yield
        try:
            with self._as_user() as (db, user):
                prefs = email_prefs.save_preferences(
                    db,
                    actor=user,
                    nudges=self.nudges,
                    reminders=self.reminders,
                    pairing=self.pairing,
                    digest=self.digest,
                )
        except SignedOut:
            self.prefs_saving = False
            yield self._login_redirect()
            return
        except ServiceError as error:
            self.prefs_saving = False
            self.prefs_error = error.message
            return
        self._show(prefs)
        self.prefs_saving = False
        self.prefs_message = SAVED
