"""My groups, creating a group, and a group's page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import reflex as rx
from reflex.event import EventSpec
from sqlmodel import Session

from mentor_app.models import User
from mentor_app.services import groups, programs
from mentor_app.services.errors import NotFound, ServiceError
from state.session import SessionState, SignedOut

CATEGORY_OPTIONS: list[dict[str, str]] = [
    {"value": key, "label": label} for key, label in groups.CATEGORIES.items()
]


def members_label(count: int) -> str:
    return "1 member" if count == 1 else f"{count} members"


def _card(card: groups.GroupCard) -> dict[str, Any]:
    return {
        "id": card.id,
        "name": card.name,
        "category_label": card.category_label,
        "role": card.role,
        "members_label": members_label(card.member_count),
        "href": f"/groups/{card.id}",
    }


class MyGroupsState(SessionState):
    my_groups: rx.Field[list[dict[str, Any]]] = rx.field(default_factory=list)
    joinable: rx.Field[list[dict[str, Any]]] = rx.field(default_factory=list)
    errors: rx.Field[dict[str, str]] = rx.field(default_factory=dict)
    loaded: rx.Field[bool] = rx.field(False)
    creating: rx.Field[bool] = rx.field(False)

    def _load(self) -> EventSpec | None:
        try:
            with self._as_user() as (db, user):
                self.my_groups = [_card(c) for c in groups.list_my_groups(db, actor=user)]
                self.joinable = [_card(c) for c in groups.list_joinable_groups(db, actor=user)]
        except SignedOut:
            return self._login_redirect()
        self.loaded = True
        return None

    @rx.event
    def load(self) -> EventSpec | None:
        self.errors = {}
        return self._load()

    @rx.event
    def create_group(self, form: dict[str, str]):  # type: ignore[no-untyped-def]
        self.errors = {}
        self.creating = True
        yield
        try:
            with self._as_user() as (db, user):
                group = groups.create_group(
                    db,
                    actor=user,
                    name=form.get("name", ""),
                    description=form.get("description", ""),
                    category=form.get("category", ""),
                )
        except SignedOut:
            self.creating = False
            yield self._login_redirect()
            return
        except ServiceError as error:
            self.errors = {error.field or "form": error.message}
            self.creating = False
            return
        self.creating = False
        yield rx.redirect(f"/groups/{group.id}")


class GroupPageState(SessionState):
    group: rx.Field[dict[str, Any]] = rx.field(default_factory=dict)
    members: rx.Field[list[dict[str, Any]]] = rx.field(default_factory=list)
    programs: rx.Field[list[dict[str, Any]]] = rx.field(default_factory=list)
    not_found: rx.Field[bool] = rx.field(False)
    message: rx.Field[str] = rx.field("")

    def _load(self) -> EventSpec | None:
        self.not_found = False
        try:
            with self._as_user() as (db, user):
                group_id = self._group_id()
                page = groups.get_group_page(db, actor=user, group_id=group_id)
                cards = (
                    programs.list_group_programs(db, actor=user, group_id=group_id)
                    if page.my_role
                    else []
                )
        except SignedOut:
            return self._login_redirect()
        except NotFound:
            self.group, self.members, self.not_found = {}, [], True
            return None
        self.group = {
            "id": page.id,
            "name": page.name,
            "description": page.description,
            "category_label": page.category_label,
            "my_role": page.my_role,
            "members_label": members_label(page.member_count),
            "programs_available": page.programs_available,
            "programs_reason": page.programs_reason,
            "can_join": page.can_join,
            "is_admin": page.is_admin,
            "can_create_program": page.is_admin and page.programs_available,
            "new_program_href": f"/groups/{page.id}/programs/new",
        }
        self.programs = [
            {
                "title": c.title or "Untitled draft",
                "status": c.status,
                "template_title": c.template_title,
                "counts": f"{c.mentor_count} mentors · {c.mentee_count} mentees",
                "href": f"/programs/{c.id}/wizard" if c.status == "draft" else f"/programs/{c.id}",
            }
            for c in cards
        ]
        self.members = [
            {"user_id": m.user_id, "display_name": m.display_name, "role": m.role}
            for m in page.members
        ]
        return None

    @rx.event
    def load(self) -> EventSpec | None:
        self.message = ""
        return self._load()

    def _group_id(self) -> int:
        return self._page_id("groups", "Group not found.")

    def _act(
        self, action: Callable[[Session, User, int], object], success: str
    ) -> EventSpec | None:
        try:
            with self._as_user() as (db, user):
                action(db, user, self._group_id())
        except SignedOut:
            return self._login_redirect()
        except ServiceError as error:
            self.message = error.message
            return None
        self.message = success
        return self._load()

    @rx.event
    def join(self) -> EventSpec | None:
        return self._act(
            lambda db, user, gid: groups.join_group(db, actor=user, group_id=gid),
            "You joined this group.",
        )

    @rx.event
    def promote(self, user_id: int) -> EventSpec | None:
        return self._act(
            lambda db, user, gid: groups.promote_to_admin(
                db, actor=user, group_id=gid, user_id=int(user_id)
            ),
            "Member promoted to admin.",
        )
