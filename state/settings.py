"""A member's settings: the members they have blocked, and lifting a block."""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex.event import EventSpec

from mentor_app.services import chat
from mentor_app.services.errors import ServiceError
from state.session import SessionState, SignedOut


class SettingsState(SessionState):
    blocked: rx.Field[list[dict[str, Any]]] = rx.field(default_factory=list)
    loaded: rx.Field[bool] = rx.field(False)
    message: rx.Field[str] = rx.field("")

    def _load(self) -> EventSpec | None:
        try:
            with self._as_user() as (db, user):
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
