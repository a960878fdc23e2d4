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
from mentor_app.services.paging import Page
from mentor_app.wording import count
from state.journey import schedule_pair_refresh
from state.paging import EMPTY_PAGE_INFO, page_info
from state.session import SessionState, SignedOut

CATEGORY_OPTIONS: list[dict[str, str]] = [
    {"value": key, "label": label} for key, label in groups.CATEGORIES.items()
]


def _card(card: groups.GroupCard) -> dict[str, Any]:
    return {
        "id": card.id,
        "name": card.name,
        "category_label": card.category_label,
        "role": card.role,
        "members_label": count(card.member_count, "member"),
        "href": f"/groups/{card.id}",
    }


class MyGroupsState(SessionState):
    """My groups and the groups to join, a page of each (the page number is in the info)."""

    my_groups: rx.Field[list[dict[str, Any]]] = rx.field(default_factory=list)
    my_groups_info: rx.Field[dict[str, Any]] = rx.field(
        default_factory=lambda: dict(EMPTY_PAGE_INFO)
    )
    joinable: rx.Field[list[dict[str, Any]]] = rx.field(default_factory=list)
    joinable_info: rx.Field[dict[str, Any]] = rx.field(
        default_factory=lambda: dict(EMPTY_PAGE_INFO)
    )
    joinable_search: rx.Field[str] = rx.field("")
    # The search the joinable page was read with ("No groups match …" names it).
    joinable_searched: rx.Field[str] = rx.field("")
    paging: rx.Field[str] = rx.field("")  # the list whose page is loading: "mine", "joinable"
    errors: rx.Field[dict[str, str]] = rx.field(default_factory=dict)
    loaded: rx.Field[bool] = rx.field(False)
    creating: rx.Field[bool] = rx.field(False)

    def _read(self, *, mine: int | None = None, joinable: int | None = None) -> EventSpec | None:
        """Read page `mine` of my groups and page `joinable` of the groups to join (either
        may be left alone)."""
        try:
            with self._reading_as_user() as (db, user):
                my_page = None if mine is None else groups.list_my_groups(db, actor=user, page=mine)
                join_page = (
                    None
                    if joinable is None
                    else groups.list_joinable_groups(
                        db, actor=user, search=self.joinable_search, page=joinable
                    )
                )
        except SignedOut:
            return self._login_redirect()
        if my_page is not None:
            self.my_groups = [_card(c) for c in my_page.items]
            self.my_groups_info = page_info(my_page)
        if join_page is not None:
            self.joinable = [_card(c) for c in join_page.items]
            self.joinable_info = page_info(join_page)
            self.joinable_searched = self.joinable_search
        self.loaded = True
        return None

    def _page(self, which: str, step: int):  # type: ignore[no-untyped-def]
        """Move list `which` by `step` pages, with its loading indicator on meanwhile."""
        info = self.my_groups_info if which == "mine" else self.joinable_info
        target = int(info.get("page", 0)) + step
        self.paging = which
        yield
        try:
            yield self._read(**{which: target})
        finally:
            self.paging = ""

    @rx.event
    def load(self) -> EventSpec | None:
        self.errors, self.paging = {}, ""
        self.joinable_search = ""
        return self._read(mine=0, joinable=0)

    @rx.event
    def my_groups_previous(self):  # type: ignore[no-untyped-def]
        yield from self._page("mine", -1)

    @rx.event
    def my_groups_next(self):  # type: ignore[no-untyped-def]
        yield from self._page("mine", 1)

    @rx.event
    def joinable_previous(self):  # type: ignore[no-untyped-def]
        yield from self._page("joinable", -1)

    @rx.event
    def joinable_next(self):  # type: ignore[no-untyped-def]
        yield from self._page("joinable", 1)

    @rx.event
    def search_joinable(self, value: str):  # type: ignore[no-untyped-def]
        """A new search reads its first page."""
        self.joinable_search = value[: groups.SEARCH_MAX] if isinstance(value, str) else ""
        self.paging = "joinable"
        yield
        try:
            yield self._read(joinable=0)
        finally:
            self.paging = ""

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


def _leave_text(preview: groups.LeavePreview) -> list[str]:
    """What leaving will do, in the member's words, for the confirmation dialog."""
    lines = [
        f"Your pair with {p.partner_name} in “{p.program_title}” will end, and "
        f"{p.partner_name} will be told."
        for p in preview.pairs
    ]
    if preview.waiting_applications:
        n = preview.waiting_applications
        lines.append(
            "Your application waiting in this group will be withdrawn."
            if n == 1
            else f"Your {count(n, 'application')} waiting in this group will be withdrawn."
        )
    return lines


class GroupPageState(SessionState):
    group: rx.Field[dict[str, Any]] = rx.field(default_factory=dict)
    # One page of the members (members only see it), the search it was read with.
    members: rx.Field[list[dict[str, Any]]] = rx.field(default_factory=list)
    members_info: rx.Field[dict[str, Any]] = rx.field(default_factory=lambda: dict(EMPTY_PAGE_INFO))
    members_search: rx.Field[str] = rx.field("")
    members_searched: rx.Field[str] = rx.field("")
    members_loading: rx.Field[bool] = rx.field(False)
    programs: rx.Field[list[dict[str, Any]]] = rx.field(default_factory=list)
    not_found: rx.Field[bool] = rx.field(False)
    message: rx.Field[str] = rx.field("")
    # Handing over the admin role: who may take it, and the form's errors.
    handover_options: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    handover_errors: rx.Field[dict[str, str]] = rx.field(default_factory=dict)
    # The leave dialog: what leaving will do, and (for the last admin) who may take over.
    leave_open: rx.Field[bool] = rx.field(False)
    leave_lines: rx.Field[list[str]] = rx.field(default_factory=list)
    leave_needs_successor: rx.Field[bool] = rx.field(False)
    successor_options: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    leave_errors: rx.Field[dict[str, str]] = rx.field(default_factory=dict)
    leaving: rx.Field[bool] = rx.field(False)

    def _load(self, members_page: int | None = None) -> EventSpec | None:
        """Read the group, and page `members_page` of its members (the page shown when
        None: after an action, the reader stays where they were)."""
        self.not_found = False
        if members_page is None:
            members_page = int(self.members_info.get("page", 0))
        try:
            with self._reading_as_user() as (db, user):
                group_id = self._group_id()
                page = groups.get_group_page(db, actor=user, group_id=group_id)
                cards = (
                    programs.list_group_programs(db, actor=user, group_id=group_id)
                    if page.my_role
                    else []
                )
                members = (
                    groups.list_members(
                        db,
                        actor=user,
                        group_id=group_id,
                        search=self.members_search,
                        page=members_page,
                    )
                    if page.my_role
                    else None
                )
        except SignedOut:
            return self._login_redirect()
        except NotFound:
            self.group, self.not_found = {}, True
            self._show_members(None, me=None, is_admin=False)
            return None
        self.group = {
            "id": page.id,
            "name": page.name,
            "description": page.description,
            "category_label": page.category_label,
            "my_role": page.my_role,
            "members_label": count(page.member_count, "member"),
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
                "counts": count(c.mentor_count, "mentor") + " · " + count(c.mentee_count, "mentee"),
                "href": f"/programs/{c.id}/wizard" if c.status == "draft" else f"/programs/{c.id}",
            }
            for c in cards
        ]
        self._show_members(members, me=user.id, is_admin=page.is_admin)
        return None

    def _show_members(
        self, found: Page[groups.MemberRow] | None, *, me: int | None, is_admin: bool
    ) -> None:
        """Show a page of members. An admin may hand the role to an active member of the
        page shown (searching the members finds anyone)."""
        rows = found.items if found is not None else []
        self.members = [
            {
                "user_id": m.user_id,
                "display_name": m.display_name,
                "role": m.role,
                "is_me": m.user_id == me,
                "suspended": not m.active,
            }
            for m in rows
        ]
        self.members_info = page_info(found) if found is not None else EMPTY_PAGE_INFO
        self.members_searched = self.members_search
        self.handover_options = [
            {"value": str(m.user_id), "label": m.display_name}
            for m in rows
            if is_admin and m.active and m.user_id != me and m.role != "admin"
        ]

    @rx.event
    def load(self) -> EventSpec | None:
        self.message, self.members_search, self.members_loading = "", "", False
        return self._load(members_page=0)

    def _members_page(self, page: int):  # type: ignore[no-untyped-def]
        self.members_loading = True
        yield
        try:
            yield self._load(members_page=page)
        finally:
            self.members_loading = False

    @rx.event
    def members_previous(self):  # type: ignore[no-untyped-def]
        yield from self._members_page(int(self.members_info.get("page", 0)) - 1)

    @rx.event
    def members_next(self):  # type: ignore[no-untyped-def]
        yield from self._members_page(int(self.members_info.get("page", 0)) + 1)

    @rx.event
    def search_members(self, value: str):  # type: ignore[no-untyped-def]
        """A new search reads its first page."""
        self.members_search = value[: groups.SEARCH_MAX] if isinstance(value, str) else ""
        yield from self._members_page(0)

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

    @rx.event
    def demote(self, user_id: int) -> EventSpec | None:
        return self._act(
            lambda db, user, gid: groups.demote_admin(
                db, actor=user, group_id=gid, user_id=int(user_id)
            ),
            "Admin role removed: they are a member now.",
        )

    @rx.event
    def step_down(self) -> EventSpec | None:
        return self._act(
            lambda db, user, gid: groups.demote_admin(
                db, actor=user, group_id=gid, user_id=user.id or 0
            ),
            "You stepped down: you are a member of this group now.",
        )

    @rx.event
    def hand_over(self, form: dict[str, Any]) -> EventSpec | None:
        self.handover_errors = {}
        raw = str(form.get("member", "") or "")
        if not raw.isdigit():
            self.handover_errors = {"member": "Choose who takes over as admin."}
            return None
        step_down = form.get("step_down") in ("on", "true", True)
        try:
            with self._as_user() as (db, user):
                target = groups.hand_over_admin(
                    db,
                    actor=user,
                    group_id=self._group_id(),
                    user_id=int(raw),
                    step_down=step_down,
                )
                name = db.get(User, target.user_id)
        except SignedOut:
            return self._login_redirect()
        except ServiceError as error:
            self.handover_errors = {error.field or "form": error.message}
            return None
        who = name.display_name if name is not None else "They"
        self.message = f"{who} is now an admin." + (
            " You stepped down to member." if step_down else ""
        )
        return self._load()

    @rx.event
    def open_leave(self) -> EventSpec | None:
        """Load what leaving will do, then show the confirmation dialog."""
        self.leave_errors = {}
        try:
            with self._reading_as_user() as (db, user):
                preview = groups.leave_preview(db, actor=user, group_id=self._group_id())
        except SignedOut:
            return self._login_redirect()
        except ServiceError as error:
            self.message = error.message
            return None
        self.leave_lines = _leave_text(preview)
        self.leave_needs_successor = preview.needs_successor
        self.successor_options = [
            {"value": str(c.user_id), "label": c.display_name} for c in preview.successor_candidates
        ]
        self.leave_open = True
        return None

    @rx.event
    def set_leave_open(self, value: bool) -> None:
        self.leave_open = bool(value)
        if not self.leave_open:
            self.leave_errors = {}

    @rx.event
    async def leave(self, form: dict[str, Any]):  # type: ignore[no-untyped-def]
        self.leave_errors, self.leaving = {}, True
        yield
        try:
            with self._as_user() as (db, user):
                result = groups.leave_group(
                    db,
                    actor=user,
                    group_id=self._group_id(),
                    successor_id=str(form.get("successor", "") or "") or None,
                )
        except SignedOut:
            self.leaving = False
            yield self._login_redirect()
            return
        except ServiceError as error:
            self.leave_errors = {error.field or "form": error.message}
            self.leaving = False
            return
        self.leaving, self.leave_open = False, False
        for pair_id in result.ended_pair_ids:
            schedule_pair_refresh(pair_id)  # the partner's open page turns read-only
        yield [rx.toast.success("You left the group."), rx.redirect("/groups")]
