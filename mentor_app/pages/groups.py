"""My groups (with the create form and groups to join) and a group's own page."""

from typing import Any

import reflex as rx

from components.dialogs import confirm_dialog, form_dialog
from components.forms import (
    error_for,
    form_alert,
    member_select,
    select_field,
    submit_button,
    text_area,
    text_field,
)
from components.layout import not_found_notice
from components.paging import pager
from mentor_app.pages.common import shell
from mentor_app.pages.pairing import my_pairs_section
from state.groups import CATEGORY_OPTIONS, GroupPageState, MyGroupsState


def group_card(group: rx.Var, action: rx.Component | None = None) -> rx.Component:
    return rx.card(
        rx.flex(
            rx.vstack(
                rx.link(group["name"], href=group["href"], weight="bold", size="4"),
                rx.flex(
                    rx.badge(group["category_label"]),
                    rx.cond(group["role"] != "", rx.badge(group["role"], color_scheme="green")),
                    rx.text(group["members_label"], size="2"),
                    spacing="2",
                    align="center",
                    wrap="wrap",
                ),
                spacing="1",
            ),
            rx.spacer(),
            *([action] if action is not None else []),
            align="center",
            spacing="3",
            wrap="wrap",
        ),
        role="listitem",
        width="100%",
    )


def create_group_form() -> rx.Component:
    errors = MyGroupsState.errors
    return rx.card(
        rx.form(
            rx.vstack(
                rx.heading("Create a group", size="5", as_="h2"),
                form_alert(errors.get("form", "")),
                text_field("Name", "name", error=errors.get("name", ""), max_length=100),
                text_area(
                    "Description",
                    "description",
                    error=errors.get("description", ""),
                    max_length=2000,
                    placeholder="What brings this group together?",
                ),
                select_field(
                    "Category",
                    "category",
                    options=CATEGORY_OPTIONS,
                    error=errors.get("category", ""),
                    placeholder="Choose a category",
                ),
                submit_button("Create group", loading=MyGroupsState.creating),
                spacing="3",
                width="100%",
            ),
            on_submit=MyGroupsState.create_group,
            reset_on_submit=False,
            width="100%",
        ),
        width="100%",
    )


def search_box(label: str, field_id: str, *, value: rx.Var, on_change: Any) -> rx.Component:
    """A labelled search field that searches as one types (after a short pause)."""
    return rx.vstack(
        rx.el.label(label, html_for=field_id, font_weight="500", font_size="0.9em"),
        rx.input(
            id=field_id,
            type="search",
            value=value,
            on_change=on_change.debounce(300),
            placeholder="Type part of a name",
            max_length=100,
            width="100%",
            max_width="24em",
        ),
        spacing="1",
        width="100%",
    )


def loading_note(loading: rx.Var, text: str) -> rx.Component:
    """Shown while the next page of a list is read."""
    return rx.cond(
        loading,
        rx.flex(rx.spinner(), rx.text(text, size="2"), spacing="2", align="center"),
    )


def no_match(searched: rx.Var, what: str, otherwise: str) -> rx.Component:
    """An empty list says why: nothing matches the search, or there is nothing at all."""
    return rx.text(
        rx.cond(searched != "", f"No {what} match “" + searched.to(str) + "”.", otherwise),
        color_scheme="gray",
        aria_live="polite",
    )


def my_groups() -> rx.Component:
    S = MyGroupsState
    return shell(
        rx.heading("My groups", size="7", as_="h1"),
        my_pairs_section(),
        rx.cond(
            ~S.loaded,
            rx.flex(rx.spinner(), rx.text("Loading your groups…"), spacing="2", align="center"),
            rx.cond(
                S.my_groups.length() > 0,
                rx.vstack(
                    rx.vstack(
                        rx.foreach(S.my_groups, lambda g: group_card(g)),
                        width="100%",
                        role="list",
                        aria_label="My groups",
                        aria_busy=S.paging == "mine",
                    ),
                    pager(
                        "My groups pages",
                        S.my_groups_info,
                        on_previous=S.my_groups_previous,
                        on_next=S.my_groups_next,
                    ),
                    loading_note(S.paging == "mine", "Loading your groups…"),
                    width="100%",
                ),
                rx.text(
                    "You are not in any group yet. Create one below or join an open group.",
                    color_scheme="gray",
                ),
            ),
        ),
        create_group_form(),
        rx.heading("Groups you can join", size="5", as_="h2"),
        search_box(
            "Find a group",
            "joinable-search",
            value=S.joinable_search,
            on_change=S.search_joinable,
        ),
        rx.cond(
            S.joinable.length() > 0,
            rx.vstack(
                rx.vstack(
                    rx.foreach(
                        S.joinable,
                        lambda g: group_card(
                            g, rx.link(rx.button("View", variant="soft"), href=g["href"])
                        ),
                    ),
                    width="100%",
                    role="list",
                    aria_label="Groups you can join",
                    aria_busy=S.paging == "joinable",
                ),
                pager(
                    "Groups you can join pages",
                    S.joinable_info,
                    on_previous=S.joinable_previous,
                    on_next=S.joinable_next,
                ),
                width="100%",
            ),
            rx.cond(
                S.loaded,
                no_match(S.joinable_searched, "groups", "No other open groups right now."),
            ),
        ),
        loading_note(S.paging == "joinable", "Loading groups…"),
    )


def member_row(member: rx.Var) -> rx.Component:
    name = member["display_name"].to(str)
    is_admin = GroupPageState.group["is_admin"]
    return rx.table.row(
        rx.table.cell(
            rx.flex(
                rx.text(member["display_name"]),
                rx.cond(member["is_me"], rx.text("(you)", color_scheme="gray", size="2")),
                rx.cond(member["suspended"], rx.badge("Suspended", color_scheme="red")),
                spacing="2",
                align="center",
                wrap="wrap",
            )
        ),
        rx.table.cell(rx.badge(member["role"])),
        rx.table.cell(
            rx.cond(
                is_admin & (member["role"] != "admin") & ~member["suspended"].to(bool),
                rx.button(
                    "Make admin",
                    size="1",
                    variant="soft",
                    on_click=GroupPageState.promote(member["user_id"]),
                    aria_label="Make " + name + " an admin",
                ),
                rx.cond(
                    is_admin & (member["role"] == "admin"),
                    rx.cond(
                        member["is_me"],
                        confirm_button(
                            "Step down",
                            "Step down as admin?",
                            "You become a member of this group. A group keeps at least one "
                            "active admin: if you are the last one, hand over the role first.",
                            "Step down",
                            GroupPageState.step_down,
                            aria_label="Step down as admin",
                        ),
                        confirm_button(
                            "Remove admin",
                            "Remove " + name + " as admin?",
                            name + " becomes a member of this group and is told.",
                            "Remove admin",
                            GroupPageState.demote(member["user_id"]),
                            aria_label="Remove " + name + " as admin",
                        ),
                    ),
                ),
            )
        ),
    )


def confirm_button(
    text: str,
    title: rx.Var | str,
    description: rx.Var | str,
    confirm: str,
    on_confirm: Any,
    *,
    aria_label: rx.Var | str,
) -> rx.Component:
    """A small row button that takes away an admin role, once confirmed."""
    return confirm_dialog(
        rx.button(text, size="1", variant="soft", color_scheme="orange", aria_label=aria_label),
        title=title,
        description=description,
        confirm=confirm,
        on_confirm=on_confirm,
        destructive=True,
    )


def hand_over_form() -> rx.Component:
    errors = GroupPageState.handover_errors
    return rx.card(
        rx.form(
            rx.vstack(
                rx.heading("Hand over the admin role", size="4", as_="h3"),
                rx.text(
                    "Make a member listed above admin (search the members to find someone "
                    "else). You may step down to member at the same time.",
                    size="2",
                    color_scheme="gray",
                ),
                *member_select(
                    "handover-member",
                    "member",
                    GroupPageState.handover_options,
                    errors.contains("member"),
                ),
                error_for(errors, "member"),
                rx.el.label(
                    rx.el.input(type="checkbox", name="step_down", id="handover-step-down"),
                    " I step down to member",
                    html_for="handover-step-down",
                    display="flex",
                    gap="0.5em",
                    align_items="center",
                ),
                form_alert(errors.get("form", "")),
                rx.button("Hand over", type="submit", variant="soft"),
                spacing="2",
                width="100%",
            ),
            on_submit=GroupPageState.hand_over,
            reset_on_submit=True,
            width="100%",
        ),
        width="100%",
    )


def leave_dialog() -> rx.Component:
    S = GroupPageState
    errors = S.leave_errors
    # Opened by "Leave group" through the state (it first loads what leaving would do).
    return form_dialog(
        None,
        title="Leave " + S.group["name"].to(str) + "?",
        description="You will no longer see this group's programs or members.",
        fields=[
            rx.cond(
                S.leave_lines.length() > 0,
                rx.el.ul(
                    rx.foreach(S.leave_lines, lambda line: rx.el.li(line)),
                    aria_label="What leaving does",
                    padding_left="1.2em",
                    margin="0",
                ),
            ),
            rx.cond(
                S.leave_needs_successor,
                rx.vstack(
                    rx.text(
                        "You are this group's last admin: choose who takes over.",
                        size="2",
                        weight="medium",
                    ),
                    rx.cond(
                        S.successor_options.length() > 0,
                        rx.vstack(
                            *member_select(
                                "leave-successor",
                                "successor",
                                S.successor_options,
                                errors.contains("successor"),
                            ),
                            spacing="1",
                            width="100%",
                        ),
                        rx.text(
                            "No other active member can take over, so you can't leave "
                            "this group yet.",
                            size="2",
                            color_scheme="red",
                        ),
                    ),
                    spacing="2",
                    width="100%",
                ),
            ),
            error_for(errors, "successor"),
        ],
        error=errors.get("form", ""),
        submit="Leave the group",
        on_submit=S.leave,
        destructive=True,
        busy=S.leaving,
        cancel="Stay in the group",
        open=S.leave_open,
        on_open_change=S.set_leave_open,
    )


def members_section() -> rx.Component:
    """A page of the group's members, searchable by name (members only)."""
    S = GroupPageState
    return rx.vstack(
        rx.heading("Members", size="5", as_="h2"),
        search_box(
            "Find a member",
            "members-search",
            value=S.members_search,
            on_change=S.search_members,
        ),
        rx.cond(
            S.members.length() > 0,
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        rx.table.column_header_cell("Name"),
                        rx.table.column_header_cell("Role"),
                        rx.table.column_header_cell(rx.el.span("Actions")),
                    )
                ),
                rx.table.body(rx.foreach(S.members, member_row)),
                aria_busy=S.members_loading,
                width="100%",
            ),
            no_match(S.members_searched, "members", "No members yet."),
        ),
        pager(
            "Members pages",
            S.members_info,
            on_previous=S.members_previous,
            on_next=S.members_next,
        ),
        loading_note(S.members_loading, "Loading members…"),
        width="100%",
    )


def group_page() -> rx.Component:
    group = GroupPageState.group
    return shell(
        rx.cond(
            GroupPageState.not_found,
            not_found_notice("Group not found", "This group does not exist, or you can't see it."),
            rx.cond(
                group.contains("id"),
                rx.vstack(
                    rx.heading(group["name"], size="7", as_="h1"),
                    rx.flex(
                        rx.badge(group["category_label"], size="2"),
                        rx.text(group["members_label"], size="2"),
                        rx.cond(
                            group["my_role"] != "", rx.badge(group["my_role"], color_scheme="green")
                        ),
                        spacing="2",
                        wrap="wrap",
                    ),
                    rx.text(group["description"], white_space="pre-wrap"),
                    # Two callouts with a fixed icon each: an icon chosen by a var makes
                    # Reflex import lucide's dynamic icon, whose map of every icon's
                    # module was 60 KB (gzip) more script on the groups pages.
                    rx.cond(
                        group["programs_available"],
                        rx.callout(
                            group["programs_reason"], icon="circle_check", color_scheme="green"
                        ),
                        rx.callout(group["programs_reason"], icon="info", color_scheme="gray"),
                    ),
                    rx.cond(
                        GroupPageState.message != "",
                        rx.text(GroupPageState.message, role="status"),
                    ),
                    rx.cond(
                        group["can_create_program"],
                        rx.link(
                            rx.button("Create a program", size="3"), href=group["new_program_href"]
                        ),
                    ),
                    rx.cond(
                        GroupPageState.programs.length() > 0,
                        rx.vstack(
                            rx.heading("Programs", size="5", as_="h2"),
                            rx.foreach(
                                GroupPageState.programs,
                                lambda p: rx.card(
                                    rx.flex(
                                        rx.link(p["title"], href=p["href"], weight="bold"),
                                        rx.badge(p["status"]),
                                        rx.text(p["template_title"], size="2", color_scheme="gray"),
                                        rx.text(p["counts"], size="2"),
                                        spacing="3",
                                        wrap="wrap",
                                        align="center",
                                    ),
                                    width="100%",
                                ),
                            ),
                            width="100%",
                        ),
                    ),
                    rx.cond(
                        group["can_join"],
                        rx.button("Join group", on_click=GroupPageState.join, size="3"),
                    ),
                    rx.cond(group["my_role"] != "", members_section()),
                    rx.cond(
                        group["is_admin"] & (GroupPageState.handover_options.length() > 0),
                        hand_over_form(),
                    ),
                    rx.cond(
                        group["my_role"] != "",
                        rx.button(
                            "Leave group",
                            on_click=GroupPageState.open_leave,
                            color_scheme="red",
                            variant="outline",
                        ),
                    ),
                    leave_dialog(),
                    spacing="4",
                    width="100%",
                ),
                rx.flex(rx.spinner(), rx.text("Loading…"), spacing="2"),
            ),
        ),
    )
