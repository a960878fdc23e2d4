"""Who is signed in. The user is resolved from the session cookie on the server
for every event that needs one, never from an id the browser sends."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import reflex as rx
from reflex.app import default_backend_exception_handler
from reflex.event import EventSpec
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from mentor_app.db import session_scope
from mentor_app.models import User
from mentor_app.services import sessions
from mentor_app.services.errors import NotFound, Unavailable
from mentor_app.settings import settings

SESSION_COOKIE_MAX_AGE = int(sessions.ABSOLUTE_LIFETIME.total_seconds())
logger = logging.getLogger(__name__)
BUSY = "We could not save that just now, and nothing was changed. Please try again in a moment."


def backend_exception_handler(exception: Exception) -> EventSpec | None:
    """Reflex's last resort for what no handler caught. A database that cannot take the
    transaction now (a page load while another writer holds SQLite's lock past the busy
    timeout) is told as the retry message; anything else gets Reflex's own notice."""
    if isinstance(exception, (Unavailable, OperationalError)):
        logger.warning("Database busy or unreachable: %s", exception)
        return rx.toast.error(BUSY)
    spec = default_backend_exception_handler(exception)
    return spec if isinstance(spec, EventSpec) else None


class SignedOut(Exception):
    """The tab has no live session (logged out, expired, suspended): send it to log in."""


def route_id(path: str, marker: str) -> int | None:
    """The numeric id after `marker` in a path: `/programs/7/wizard` -> 7 for "programs"."""
    parts = [p for p in path.split("/") if p]
    try:
        raw = parts[parts.index(marker) + 1]
    except (ValueError, IndexError):
        return None
    return int(raw) if raw.isdigit() else None


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
    is_moderator: rx.Field[bool] = rx.field(False)  # shows the Moderation link only

    def _user(self, db: Session) -> User | None:
        return sessions.resolve_session(db, token=self.session_token or None)

    def _show_user(self, user: User | None) -> None:
        # Assigned only when they change: every assignment travels to the browser with
        # the event's answer, and this runs on every event.
        signed_in = user is not None
        name = user.display_name if user else ""
        moderator = bool(user and user.is_site_moderator)
        if self.signed_in != signed_in:
            self.signed_in = signed_in
        if self.display_name != name:
            self.display_name = name
        if self.is_moderator != moderator:
            self.is_moderator = moderator

    @contextmanager
    def _as_user(self) -> Iterator[tuple[Session, User]]:
        """One transaction as the signed-in user, who is shown in the header.

        Raises SignedOut when the cookie no longer names a live session, and Unavailable
        (a ServiceError, shown like any refusal) when the database cannot take the
        transaction, e.g. another writer held SQLite's lock past the busy timeout: the
        whole transaction is rolled back, so the same action can be repeated."""
        try:
            with session_scope() as db:
                user = self._user(db)
                self._show_user(user)
                if user is None:
                    # resolve_session deleted a dead session's row: keep that deletion,
                    # which the rollback for SignedOut would otherwise undo.
                    db.commit()
                    raise SignedOut
                yield db, user
        except OperationalError as error:
            raise Unavailable(BUSY) from error

    def _page_id(self, marker: str, missing: str) -> int:
        """The id of what this page shows, from its URL; NotFound(missing) when absent."""
        found = route_id(self.router.url.path, marker)
        if found is None:
            raise NotFound(missing)
        return found

    def _login_redirect(self) -> EventSpec:
        return rx.redirect(f"/login?next={quote(self.router.url.path)}")

    @rx.event
    def load_public_page(self) -> None:
        with session_scope() as db:
            self._show_user(self._user(db))

    @rx.event
    def log_out(self) -> EventSpec:
        if self.session_token:
            with session_scope() as db:
                sessions.end_session(db, token=self.session_token)
        self.session_token = ""
        self._show_user(None)
        return rx.redirect("/login")
