"""The moderation queue (/moderation), for site moderators only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import reflex as rx

from components.dialogs import confirm_dialog, form_dialog
from components.forms import error_for, form_alert, member_select
from components.paging import pager
from mentor_app.pages.common import shell
from mentor_app.services.moderation import REASON_MAX, STATUSES
from state.moderation import ModerationQueueState

MQ = ModerationQueueState
STATUS_COLORS = {"open": "amber", "in_review": "blue", "actioned": "red", "dismissed": "gray"}


def status_badge(status: rx.Var, label: rx.Var) -> rx.Component:
    return rx.match(
        status,
        *[(key, rx.badge(label, color_scheme=color)) for key, color in STATUS_COLORS.items()],
        rx.badge(label),
    )


def status_tabs() -> rx.Component:
    return rx.flex(
        *[
            rx.button(
                label + " (" + MQ.counts.get(key, 0).to(str) + ")",
                variant=rx.cond(MQ.status_filter == key, "solid", "soft"),
                aria_pressed=rx.cond(MQ.status_filter == key, "true", "false"),
                on_click=MQ.show_status(key),
                size="2",
            )
            for key, label in STATUSES.items()
        ],
        spacing="2",
        wrap="wrap",
        role="group",
        aria_label="Reports by state",
    )


def report_item(r: rx.Var) -> rx.Component:
    chosen = MQ.report.get("id", 0) == r["id"]
    return rx.card(
        rx.flex(
            rx.vstack(
                rx.flex(
                    rx.text.strong(r["category"]),
                    status_badge(r["status"], r["status_label"]),
                    spacing="2",
                    align="center",
                    wrap="wrap",
                ),
                rx.text(r["reporter"].to(str) + " → " + r["reported"].to(str), size="2"),
                rx.text(
                    r["when"].to(str) + " · " + r["evidence"].to(str),
                    size="1",
                    color_scheme="gray",
                ),
                spacing="1",
                min_width="0",
            ),
            rx.spacer(),
            rx.button(
                "View",
                size="2",
                variant=rx.cond(chosen, "solid", "outline"),
                aria_pressed=rx.cond(chosen, "true", "false"),
                on_click=MQ.open_report(r["id"]),
                aria_label="View report "
                + r["id"].to(str)
                + ": "
                + r["category"].to(str)
                + ", about "
                + r["reported"].to(str),
            ),
            spacing="3",
            align="center",
            wrap="wrap",
            width="100%",
        ),
        role="listitem",
        width="100%",
    )


def report_list() -> rx.Component:
    return rx.cond(
        MQ.reports.length() > 0,
        rx.vstack(
            rx.vstack(
                rx.foreach(MQ.reports, report_item),
                role="list",
                aria_label="Reports",
                aria_busy=rx.cond(MQ.turning, "true", "false"),
                opacity=rx.cond(MQ.turning, "0.5", "1"),
                spacing="2",
                width="100%",
            ),
            pager(
                "Reports pages",
                MQ.reports_info,
                on_previous=MQ.previous_reports,
                on_next=MQ.next_reports,
            ),
            spacing="3",
            width="100%",
        ),
        rx.text("No reports in this state.", color_scheme="gray"),
    )


def evidence_list() -> rx.Component:
    return rx.cond(
        MQ.evidence.length() > 0,
        rx.vstack(
            rx.foreach(
                MQ.evidence,
                lambda e: rx.box(
                    rx.text(
                        rx.text.strong(e["sender"]),
                        " · " + e["when"].to(str),
                        size="1",
                        color_scheme="gray",
                    ),
                    # Plain text only: a member wrote this, never render it as markup.
                    rx.text(e["body"], white_space="pre-wrap", overflow_wrap="anywhere"),
                    role="listitem",
                    padding="0.5em",
                    border_left="3px solid var(--gray-a6)",
                    width="100%",
                ),
            ),
            role="list",
            aria_label="Evidence",
            spacing="2",
            width="100%",
        ),
        rx.text("No messages were attached to this report.", color_scheme="gray", size="2"),
    )


def history_list() -> rx.Component:
    return rx.cond(
        MQ.history.length() > 0,
        rx.el.ol(
            rx.foreach(
                MQ.history,
                lambda h: rx.el.li(
                    rx.text(
                        rx.text.strong(h["what"]),
                        " by " + h["who"].to(str) + " · " + h["when"].to(str),
                        size="2",
                    ),
                    rx.cond(
                        h["reason"] != "",
                        rx.text(h["reason"], size="2", color_scheme="gray", white_space="pre-wrap"),
                    ),
                    margin_bottom="0.5em",
                ),
            ),
            aria_label="History",
            padding_left="1.2em",
            margin="0",
        ),
        rx.text("No action taken yet.", color_scheme="gray", size="2"),
    )


def suspend_dialog() -> rx.Component:
    who = MQ.report.get("reported", "").to(str)
    return confirm_dialog(
        rx.button("Suspend the account", color_scheme="red"),
        title="Suspend " + who + "'s account?",
        description="They are logged out everywhere at once and can no longer log in. Their "
        "active pairs end and each partner is told the pair has ended. Reopening the report "
        "later does not lift the suspension.",
        details=[
            rx.cond(
                MQ.report.get("orphans", "").to(str) != "",
                rx.callout(
                    who
                    + " is the only active admin of "
                    + MQ.report.get("orphans", "").to(str)
                    + ". Suspending them leaves no active admin there: appoint one under "
                    + "Orphaned groups afterwards.",
                    icon="triangle_alert",
                    color_scheme="amber",
                ),
            )
        ],
        confirm="Suspend",
        on_confirm=MQ.suspend,
        destructive=True,
    )


def actions() -> rx.Component:
    can = MQ.steps.contains
    return rx.vstack(
        rx.heading("Decide", size="3", as_="h3"),
        rx.el.label("Reason", html_for="moderation-reason", font_weight="500"),
        rx.text_area(
            id="moderation-reason",
            value=MQ.reason,
            on_change=MQ.set_reason,
            max_length=REASON_MAX,
            rows="3",
            width="100%",
            aria_invalid=rx.cond(MQ.errors.contains("reason"), "true", "false"),
            aria_describedby="moderation-reason-help",
        ),
        rx.text(
            "Needed to dismiss or act; kept in the report's history. The reporter is only "
            "told that their report was reviewed.",
            id="moderation-reason-help",
            size="1",
            color_scheme="gray",
        ),
        error_for(MQ.errors, "reason"),
        error_for(MQ.errors, "outcome"),
        rx.flex(
            rx.cond(can("review"), rx.button("Take into review", on_click=MQ.take_into_review)),
            rx.cond(
                can("dismiss"),
                rx.button("Dismiss", variant="soft", color_scheme="gray", on_click=MQ.dismiss),
            ),
            rx.cond(
                can("action"),
                rx.button(
                    "Warn the member", variant="soft", color_scheme="amber", on_click=MQ.warn
                ),
            ),
            rx.cond(can("action"), suspend_dialog()),
            rx.cond(can("reopen"), rx.button("Reopen", variant="outline", on_click=MQ.reopen)),
            spacing="2",
            wrap="wrap",
        ),
        spacing="2",
        width="100%",
    )


def detail_panel() -> rx.Component:
    r = MQ.report
    return rx.card(
        rx.vstack(
            rx.flex(
                rx.heading(r["title"].to(str), size="5", as_="h2"),
                status_badge(r["status"], r["status_label"]),
                rx.spacer(),
                rx.button("Close", variant="ghost", size="1", on_click=MQ.close_report),
                spacing="2",
                align="center",
                wrap="wrap",
                width="100%",
            ),
            rx.data_list.root(
                rx.data_list.item(
                    rx.data_list.label("Reported by"), rx.data_list.value(r["reporter"].to(str))
                ),
                rx.data_list.item(
                    rx.data_list.label("About"),
                    rx.data_list.value(
                        rx.flex(
                            rx.text(r["reported"].to(str)),
                            rx.cond(
                                r["suspended"].to(bool),
                                rx.badge("Suspended", color_scheme="red"),
                            ),
                            spacing="2",
                            align="center",
                        )
                    ),
                ),
                rx.data_list.item(
                    rx.data_list.label("Filed"), rx.data_list.value(r["when"].to(str))
                ),
                orientation=rx.breakpoints(initial="vertical", sm="horizontal"),
            ),
            rx.heading("What the reporter said", size="3", as_="h3"),
            rx.cond(
                r["details"].to(str) != "",
                rx.text(r["details"].to(str), white_space="pre-wrap", overflow_wrap="anywhere"),
                rx.text("No details given.", color_scheme="gray", size="2"),
            ),
            rx.heading("Evidence", size="3", as_="h3"),
            rx.text(
                "A copy of the messages the member reported, frozen when they reported them. "
                "The rest of the chat is never shown here.",
                size="1",
                color_scheme="gray",
            ),
            evidence_list(),
            rx.heading("History", size="3", as_="h3"),
            history_list(),
            actions(),
            spacing="3",
            width="100%",
        ),
        width="100%",
        id="selected-report",
        aria_label="Selected report",
    )


def _card_list(
    items: Any, *, label: str, empty: str, row: Callable[[Any], tuple[rx.Component, ...]]
) -> rx.Component:
    """A list of cards, one a row (`row` gives a row's parts, laid out in a line), or
    `empty` when there are none."""
    return rx.cond(
        items.length() > 0,
        rx.vstack(
            rx.foreach(
                items,
                lambda item: rx.card(
                    rx.flex(*row(item), spacing="3", align="center", wrap="wrap"),
                    role="listitem",
                    width="100%",
                ),
            ),
            role="list",
            aria_label=label,
            spacing="2",
            width="100%",
        ),
        rx.text(empty, color_scheme="gray", size="2"),
    )


def orphaned_groups() -> rx.Component:
    return rx.vstack(
        rx.heading("Orphaned groups", size="5", as_="h2"),
        rx.text(
            "Groups with no active admin (their admins are suspended). Appoint one of their "
            "active members as admin.",
            size="2",
            color_scheme="gray",
        ),
        _card_list(
            MQ.orphaned,
            label="Orphaned groups",
            empty="Every group has an active admin.",
            row=lambda g: (
                rx.text.strong(g["name"]),
                rx.text(g["members"], size="2", color_scheme="gray"),
                rx.spacer(),
                rx.button(
                    "Appoint an admin",
                    size="2",
                    on_click=MQ.open_appoint(g["id"]),
                    aria_label="Appoint an admin for " + g["name"].to(str),
                ),
            ),
        ),
        pager(
            "Orphaned groups pages",
            MQ.orphaned_info,
            on_previous=MQ.previous_orphaned,
            on_next=MQ.next_orphaned,
        ),
        appoint_dialog(),
        spacing="2",
        width="100%",
    )


def _reason_field(field_id: str) -> rx.Component:
    return rx.vstack(
        rx.el.label("Reason", html_for=field_id, font_weight="500"),
        rx.text_area(
            id=field_id,
            name="reason",
            max_length=REASON_MAX,
            rows="3",
            width="100%",
            aria_invalid=rx.cond(MQ.fix_errors.contains("reason"), "true", "false"),
        ),
        rx.text("Kept in the audit log.", size="1", color_scheme="gray"),
        error_for(MQ.fix_errors, "reason"),
        spacing="1",
        width="100%",
    )


def appoint_dialog() -> rx.Component:
    name = MQ.appoint_group.get("name", "").to(str)
    # Opened by a row's "Appoint an admin" through the state.
    return form_dialog(
        None,
        title="Appoint an admin for " + name,
        description="The member you choose becomes the group's admin and is told.",
        fields=[
            *member_select(
                "appoint-member", "member", MQ.appoint_options, MQ.fix_errors.contains("member")
            ),
            error_for(MQ.fix_errors, "member"),
            _reason_field("appoint-reason"),
        ],
        error=MQ.fix_errors.get("form", ""),
        submit="Appoint",
        on_submit=MQ.appoint,
        busy=MQ.fixing,
        open=MQ.appoint_group.contains("id"),
        on_open_change=MQ.set_appoint_open,
    )


def suspended_members() -> rx.Component:
    return rx.vstack(
        rx.heading("Suspended members", size="5", as_="h2"),
        _card_list(
            MQ.suspended,
            label="Suspended members",
            empty="No account is suspended.",
            row=lambda m: (
                rx.text.strong(m["name"]),
                rx.text(m["email"], size="2", color_scheme="gray"),
                rx.spacer(),
                rx.button(
                    "Lift suspension",
                    size="2",
                    variant="soft",
                    on_click=MQ.open_lift(m["user_id"]),
                    aria_label="Lift the suspension of " + m["name"].to(str),
                ),
            ),
        ),
        pager(
            "Suspended members pages",
            MQ.suspended_info,
            on_previous=MQ.previous_suspended,
            on_next=MQ.next_suspended,
        ),
        lift_dialog(),
        spacing="2",
        width="100%",
    )


def lift_dialog() -> rx.Component:
    name = MQ.lift_member.get("name", "").to(str)
    # Opened by a row's "Lift suspension" through the state.
    return form_dialog(
        None,
        title="Lift " + name + "'s suspension?",
        description="They can log in again and are told. Pairs that ended with the "
        "suspension stay ended.",
        fields=[_reason_field("lift-reason")],
        error=MQ.fix_errors.get("form", ""),
        submit="Lift the suspension",
        on_submit=MQ.lift,
        busy=MQ.fixing,
        open=MQ.lift_member.contains("user_id"),
        on_open_change=MQ.set_lift_open,
    )


def queue() -> rx.Component:
    return shell(
        rx.heading("Moderation queue", size="7", as_="h1"),
        rx.cond(
            MQ.denied != "",
            rx.vstack(
                rx.callout(MQ.denied, icon="triangle_alert", color_scheme="red", role="alert"),
                rx.link("Back to My groups", href="/groups"),
            ),
            rx.cond(
                MQ.allowed,
                rx.vstack(
                    rx.text(
                        "Reports made by members from their pair's chat. You see only the "
                        "messages a member reported, never a whole chat.",
                        color_scheme="gray",
                    ),
                    rx.cond(MQ.message != "", rx.callout(MQ.message, icon="info", role="status")),
                    form_alert(MQ.errors.get("form", "")),
                    status_tabs(),
                    # Side by side on a wide screen; on a phone the list comes first and
                    # opening a report scrolls down to it.
                    rx.flex(
                        rx.box(
                            report_list(),
                            flex=rx.breakpoints(initial="none", md="1 1 0"),
                            width="100%",
                            min_width="0",
                        ),
                        rx.cond(
                            MQ.report.contains("title"),
                            rx.box(
                                detail_panel(),
                                flex=rx.breakpoints(initial="none", md="2 1 0"),
                                width="100%",
                                min_width="0",
                            ),
                        ),
                        direction=rx.breakpoints(initial="column", md="row"),
                        spacing="4",
                        align="start",
                        width="100%",
                    ),
                    orphaned_groups(),
                    suspended_members(),
                    spacing="4",
                    width="100%",
                ),
                rx.text("Loading…", color_scheme="gray"),
            ),
        ),
    )
