"""Who is signed in. The user is resolved from the session cookie on the server
for every event that needs one, never from an id the browser sends."""

from __future__ import annotations

from urllib.parse import quote

import reflex as rx
from reflex.event import EventSpec
from sqlmodel import Session

from mentor_app.db import session_scope
from mentor_app.models import User
from mentor_app.services import sessions
from mentor_app.settings import settings

SESSION_COOKIE_MAX_AGE = int(sessions.ABSOLUTE_LIFETIME.total_seconds())


def safe_next(path: str | None, default: str = "/groups") -> str:
    """Only same-site paths: `/x`, never `//host` or `https://host`."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return default
    return path


class SessionState(rx.State):
    session_token: str = rx.Cookie(
        "",
        name="mc_session",
        max_age=SESSION_COOKIE_MAX_AGE,
        same_site="strict",
        secure=settings.cookie_secure,
    )
    signed_in: rx.Field[bool] = rx.field(False)
    display_name: rx.Field[str] = rx.field("")

    def _user(self, db: Session) -> User | None:
        return sessions.resolve_session(db, token=self.session_token or None)

    def _show_user(self, user: User | None) -> None:
        self.signed_in = user is not None
        self.display_name = user.display_name if user else ""

    def _login_redirect(self) -> EventSpec:
        return rx.redirect(f"/login?next={quote(self.router.url.path)}")

    @rx.event
    def load_public_page(self) -> None:
        with session_scope() as db:
            self._show_user(self._user(db))

    @rx.event
    def require_user(self) -> EventSpec | None:
        with session_scope() as db:
            user = self._user(db)
        self._show_user(user)
        return None if user else self._login_redirect()

    @rx.event
    def log_out(self) -> EventSpec:
        if self.session_token:
            with session_scope() as db:
                sessions.end_session(db, token=self.session_token)
        self.session_token = ""
        self._show_user(None)
        return rx.redirect("/login")
