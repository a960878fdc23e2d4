"""The notification bell in the header of every signed-in page, and the notification center.

The bell's count lives in `NotificationBellState`, an `rx.SharedState` linked to one token
per member (`user-<id>`), so all of a member's tabs show the same count. A tab is linked by
`BellState.connect`, which the header runs when it mounts (each page load), only after the
session cookie has been resolved to a user on the server; it also re-counts, which catches
notifications written by another process. When a transaction that changed someone's
notifications commits (the notifications service tells its listeners), their count is
pushed out of band, so the bell moves without a reload, whoever caused the change.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import reflex as rx
from reflex.event import EventSpec

from mentor_app.db import read_scope
from mentor_app.services import notifications, presence
from mentor_app.services.access import MemberAccess, access_self
from mentor_app.services.errors import NotFound
from state.linked import clean_and_send, keep_saved, link, note_read, patch_in_fresh
from state.off_loop import in_thread, soon
from state.session import SessionState, SignedOut

logger = logging.getLogger(__name__)


def bell_token(user_id: int) -> str:
    return f"user-{user_id}"  # no underscore: Reflex reserves it in link tokens


class NotificationBellState(rx.SharedState):
    """A member's unread count, shared by their tabs. No event handlers: only the server
    writes it, for the user it resolved from the session."""

    _internal_patch_linked_state = patch_in_fresh
    _clean = clean_and_send
    _tab_sessions: dict[str, str] = {}  # tab -> key of the session that linked it (server)

    @classmethod
    def link_token(cls, access: MemberAccess) -> str:
        return bell_token(access.actor_id)

    unread: rx.Field[int] = rx.field(0)
    # Server-side: a tab linked itself and counted (`BellState.connect`). A state the
    # server forgot and made anew has False here, even once a push wrote it a count
    # (`BellState.keep_alive` reads it).
    _read: bool = False


def _bell_first(state: rx.State) -> None:
    """Keep the bell's link ahead of the tab's other links (a pair page's): an event locks
    linked tokens in this order, so every tab taking them in one order cannot deadlock."""
    root: Any = state._get_root_state()
    links = root._reflex_internal_links
    name = NotificationBellState.get_full_name()
    if not links or name not in links or next(iter(links)) == name:
        return
    ordered = {name: links[name], **{k: v for k, v in links.items() if k != name}}
    links.clear()
    links.update(ordered)


class BellState(SessionState):
    connected: rx.Field[bool] = rx.field(False)  # linked for the user now signed in

    @rx.event
    async def connect(self) -> None:
        await self._connect()

    async def _connect(self) -> None:
        try:
            access = await self._with_user(lambda _db, user: access_self(user), read_only=True)
            linked = await link(self, NotificationBellState, access)
        except SignedOut:
            self.connected = False  # the page's own on_load sends the tab to log in
            return
        user_id = access.actor_id
        _bell_first(self)
        # Counted under the bell's lock: a push for a notification written meanwhile
        # either comes after this or is counted here, never overwritten by an older count.
        count = await in_thread(_unread_count, user_id)
        if linked.unread != count:
            linked.unread = count
        note_read(linked)
        self.connected = True

    @rx.event
    async def keep_alive(self) -> None:
        """Sent by the bell every keep-alive period (components/layout.keep_alive).

        The server forgets a state nobody has used for a while (Reflex's token expiration,
        an hour by default; Redis expires the keys). A member's bell forgotten while their
        tab stays open and quiet would come back with no tab linked, and a new notification
        would no longer show in it. Here the bell is saved again while a tab shows it, and
        linked and counted again if it was forgotten (the tab's own state too: then it is
        not connected)."""
        if not self.connected:
            await self._connect()
            return
        bell = await self.get_state(NotificationBellState)
        assert isinstance(bell, NotificationBellState)
        if not keep_saved(bell):  # made anew (a push may have written a count: not here)
            await self._connect()


def _unread_count(user_id: int) -> int:
    with read_scope() as db:  # waits for no writer, and takes no write lock
        return notifications.unread_counts(db, user_ids=[user_id])[user_id]


def _present(user_ids: list[int]) -> set[int]:
    with read_scope() as db:
        return presence.present_user_ids(db, user_ids=user_ids)


async def push_unread(user_ids: Iterable[int]) -> None:
    """Re-count these members' unread notifications and show the counts in all their tabs.

    Only members with a tab open now (`presence`: a session seen in the last minutes) have
    a bell to update; the others' counts are read at their next page load. Publish tells
    thousands of members at once, nearly all away: one query, not a bell state each.

    Out of band: it waits for each member's bell lock, so do not await it inside an event
    handler of a tab linked to one of them; `schedule_push` is safe anywhere."""
    from mentor_app.mentor_app import app  # the app module imports the states

    wanted = sorted(set(user_ids))
    if not wanted:
        return
    try:
        present = await in_thread(_present, wanted)
    except Exception:  # a bell is best effort; the next page load re-counts
        logger.exception("could not tell which of %s members have a tab open", len(wanted))
        return
    for user_id in wanted:
        if user_id not in present:
            continue
        token = rx.BaseStateToken(ident=bell_token(user_id), cls=NotificationBellState)
        try:
            async with app.modify_state(token) as root:
                bell = await root.get_state(NotificationBellState)
                count = await in_thread(_unread_count, user_id)
                if bell.unread != count:
                    bell.unread = count
        except Exception:  # a bell is best effort; the next page load re-counts
            logger.exception("could not push the unread count of user %s", user_id)


def schedule_push(user_ids: frozenset[int]) -> None:
    """Push the counts soon, without waiting: called right after a commit, maybe inside an
    event handler that holds a lock the push needs, in a handler's thread or a job's."""
    soon(lambda: push_unread(user_ids))


notifications.on_change(schedule_push)


def _item(n: notifications.NotificationRow) -> dict[str, Any]:
    return {
        "id": n.id,
        "text": n.text,
        "href": n.link,
        "when": n.created_at.strftime("%d %b %Y, %H:%M UTC"),
        "read": n.read,
    }


class NotificationCenterState(SessionState):
    """The member's own notifications, a page of 50 at a time, newest first."""

    items: rx.Field[list[dict[str, Any]]] = rx.field(default_factory=list)
    page: rx.Field[int] = rx.field(1)
    has_older: rx.Field[bool] = rx.field(False)
    unread: rx.Field[int] = rx.field(0)
    loaded: rx.Field[bool] = rx.field(False)
    message: rx.Field[str] = rx.field("")
    error: rx.Field[str] = rx.field("")

    def _refresh(self) -> EventSpec | None:
        try:
            with self._reading_as_user() as (db, user):
                found = notifications.list_page(db, actor=user, page=self.page)
        except SignedOut:
            return self._login_redirect()
        self.page, self.has_older, self.unread = found.page, found.has_older, found.unread
        self.items = [_item(n) for n in found.rows]
        self.loaded = True
        return None

    @rx.event
    def load(self) -> EventSpec | None:
        self.page, self.message, self.error = 1, "", ""
        return self._refresh()

    @rx.event
    def older(self) -> EventSpec | None:
        self.page, self.message, self.error = self.page + 1, "", ""
        return self._refresh()

    @rx.event
    def newer(self) -> EventSpec | None:
        self.page, self.message, self.error = max(1, self.page - 1), "", ""
        return self._refresh()

    @rx.event
    def mark_read(self, notification_id: int) -> EventSpec | None:
        self.message, self.error = "", ""
        try:
            with self._as_user() as (db, user):
                notifications.mark_read(db, actor=user, notification_id=int(notification_id))
        except SignedOut:
            return self._login_redirect()
        except (NotFound, TypeError, ValueError):
            self.error = notifications.NOT_FOUND
        return self._refresh()

    @rx.event
    def mark_all_read(self) -> EventSpec | None:
        self.message, self.error = "", ""
        try:
            with self._as_user() as (db, user):
                changed = notifications.mark_all_read(db, actor=user)
        except SignedOut:
            return self._login_redirect()
        self.message = (
            f"Marked {changed} notification{'' if changed == 1 else 's'} read."
            if changed
            else "Nothing unread."
        )
        return self._refresh()
