"""Who is signed in. The user is resolved from the session cookie on the server
for every event that needs one, never from an id the browser sends."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar
from urllib.parse import quote

import reflex as rx
from reflex.app import default_backend_exception_handler
from reflex.event import EventSpec
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from mentor_app import web_auth
from mentor_app.db import read_scope, session_scope, writing_soon
from mentor_app.models import User
from mentor_app.services import sessions
from mentor_app.services.errors import NotFound, Unavailable
from state.off_loop import in_thread

logger = logging.getLogger(__name__)
T = TypeVar("T")
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


def full_navigation(path: str) -> EventSpec:
    """Load `path` afresh: the new page's websocket carries the browser's current cookie
    (a socket knows only the cookie it was opened with)."""
    return rx.call_script(f"window.location.assign({json.dumps(path)})")


class SessionState(rx.State):
    signed_in: rx.Field[bool] = rx.field(False)
    display_name: rx.Field[str] = rx.field("")
    is_moderator: rx.Field[bool] = rx.field(False)  # shows the Moderation link only
    # Server-side only: the session each of this tab's shared-state links was made with
    # (link token -> session key), see `state.linked.link`.
    _link_sessions: dict[str, str] = {}

    def _token(self) -> str | None:
        """This tab's raw session token: from the HttpOnly cookie its websocket was opened
        with, kept by the server (`web_auth`); never in a state var, never sent to a page."""
        return web_auth.token_for_socket(self.router.session.session_id)

    def _user(self, db: Session) -> User | None:
        return sessions.resolve_session(db, token=self._token())

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
    def _as_user(
        self, check_first: Callable[[Session], bool] | None = None
    ) -> Iterator[tuple[Session, User]]:
        """One transaction as the signed-in user, who is shown in the header.

        Raises SignedOut when the cookie no longer names a live session, and Unavailable
        (a ServiceError, shown like any refusal) when the database cannot take the
        transaction, e.g. another writer held SQLite's lock past the busy timeout: the
        whole transaction is rolled back, so the same action can be repeated.
        `check_first`: see `session_scope`."""
        try:
            with session_scope(check_first=check_first) as db:
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

    @contextmanager
    def _reading_as_user(self) -> Iterator[tuple[Session, User]]:
        """`_as_user` for a handler that only reads (a page's load): a read transaction,
        which never takes SQLite's write lock nor waits for a writer. When the session is
        due a touch (once a minute) or is dead, `_as_user` writes that first."""
        token = self._token()
        try:
            with read_scope() as db:
                user, stale = sessions.peek_session(db, token=token)
                if not stale:
                    self._show_user(user)
                    if user is None:
                        raise SignedOut
                    yield db, user
                    return
            with self._as_user():
                pass  # touched, or removed with SignedOut raised
            with read_scope() as db:
                user, _stale = sessions.peek_session(db, token=token)
                self._show_user(user)
                if user is None:
                    raise SignedOut
                yield db, user
        except OperationalError as error:
            raise Unavailable(BUSY) from error

    async def _with_user(self, work: Callable[[Session, User], T], *, read_only: bool = False) -> T:
        """`work(db, user)` in one transaction as the signed-in user, in a handler thread
        (for async handlers: a sync handler's whole body already runs in one). Raises as
        `_as_user` does; `read_only` reads as `_reading_as_user`."""

        def run() -> T:
            scope = self._reading_as_user() if read_only else self._as_user()
            with scope as (db, user):
                return work(db, user)

        if read_only:
            return await in_thread(run)
        with writing_soon():  # the helpers' writes make way while the thread starts
            return await in_thread(run)

    def _page_id(self, marker: str, missing: str) -> int:
        """The id of what this page shows, from its URL; NotFound(missing) when absent."""
        found = route_id(self.router.url.path, marker)
        if found is None:
            raise NotFound(missing)
        return found

    def _login_redirect(self) -> EventSpec:
        """To the log-in page, loaded afresh: if another tab of this browser has signed in
        meanwhile, the new socket carries that cookie and the page goes straight on."""
        return full_navigation(f"/login?next={quote(self.router.url.path)}")

    @rx.event
    def load_public_page(self) -> None:
        with session_scope() as db:
            self._show_user(self._user(db))
