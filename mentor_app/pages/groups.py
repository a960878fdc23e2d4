"""My groups (with the create form and groups to join) and a group's own page."""

import reflex as rx

from components.forms import form_alert, select_field, submit_button, text_area, text_field
from components.layout import not_found_notice
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


def my_groups() -> rx.Component:
    return shell(
        rx.heading("My groups", size="7", as_="h1"),
        my_pairs_section(),
        rx.cond(
            ~MyGroupsState.loaded,
            rx.flex(rx.spinner(), rx.text("Loading your groups…"), spacing="2", align="center"),
            rx.cond(
                MyGroupsState.my_groups.length() > 0,
                rx.vstack(
                    rx.foreach(MyGroupsState.my_groups, lambda g: group_card(g)),
                    width="100%",
                    role="list",
                    aria_label="My groups",
                ),
                rx.text(
                    "You are not in any group yet. Create one below or join an open group.",
                    color_scheme="gray",
                ),
            ),
        ),
        create_group_form(),
        rx.heading("Groups you can join", size="5", as_="h2"),
        rx.cond(
            MyGroupsState.joinable.length() > 0,
            rx.vstack(
                rx.foreach(
                    MyGroupsState.joinable,
                    lambda g: group_card(
                        g, rx.link(rx.button("View", variant="soft"), href=g["href"])
                    ),
                ),
                width="100%",
            ),
            rx.text("No other open groups right now.", color_scheme="gray"),
        ),
    )


def member_row(member: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(member["display_name"]),
        rx.table.cell(rx.badge(member["role"])),
        rx.table.cell(
            rx.cond(
                GroupPageState.group["is_admin"] & (member["role"] != "admin"),
                rx.button(
                    "Make admin",
                    size="1",
                    variant="soft",
                    on_click=GroupPageState.promote(member["user_id"]),
                    aria_label="Make " + member["display_name"].to(str) + " an admin",
                ),
            )
        ),
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
                    rx.callout(
                        group["programs_reason"],
                        icon=rx.cond(group["programs_available"], "circle_check", "info"),
                        color_scheme=rx.cond(group["programs_available"], "green", "gray"),
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
                    rx.cond(
                        GroupPageState.members.length() > 0,
                        rx.vstack(
                            rx.heading("Members", size="5", as_="h2"),
                            rx.table.root(
                                rx.table.header(
                                    rx.table.row(
                                        rx.table.column_header_cell("Name"),
                                        rx.table.column_header_cell("Role"),
                                        rx.table.column_header_cell(rx.el.span("Actions")),
                                    )
                                ),
                                rx.table.body(rx.foreach(GroupPageState.members, member_row)),
                                width="100%",
                            ),
                            width="100%",
                        ),
                    ),
                    spacing="4",
                    width="100%",
                ),
                rx.flex(rx.spinner(), rx.text("Loading…"), spacing="2"),
            ),
        ),
    )
