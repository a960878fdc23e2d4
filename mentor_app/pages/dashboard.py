"""A program's dashboard: figures, check-in chart, pairs by health, CSV export."""

from __future__ import annotations

import reflex as rx

from components.layout import refused_notice
from components.paging import pager, scroll_region
from components.text import count_var
from mentor_app.pages.common import shell
from state.dashboard import ProgramDashboardState

DS = ProgramDashboardState


def kpi_card(title: str, value: rx.Var, detail: rx.Var | str, label: str) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.text(title, size="2", color_scheme="gray", weight="medium"),
            rx.text(value, size="7", weight="bold"),
            rx.text(detail, size="2", color_scheme="gray"),
            spacing="1",
        ),
        aria_label=label,
        role="group",
        width="100%",
    )


def kpis() -> rx.Component:
    k = DS.kpis
    return rx.grid(
        kpi_card(
            "Applications",
            k["applications"],
            count_var(k["mentors"], "mentor")
            + " · "
            + count_var(k["mentees"], "mentee")
            + " · "
            + k["withdrawn"].to(str)
            + " withdrawn",
            "Applications by role",
        ),
        kpi_card("Match rate", k["match_rate"], k["matched"], "Match rate"),
        kpi_card(
            "Pairs",
            k["active"].to(str) + " active",
            k["ended"].to(str) + " ended · " + k["completed"].to(str) + " completed",
            "Pairs by status",
        ),
        kpi_card("Steps completed", k["steps"], "journey steps done, all pairs", "Steps completed"),
        kpi_card("Goals set", k["goals"], k["goal_progress"], "Goals set"),
        columns=rx.breakpoints(initial="1", sm="2", md="3", lg="5"),
        spacing="3",
        width="100%",
    )


def chart_card(
    title: str = "Check-in rate per week",
    explained: str = (
        "Check-ins made for each journey week, out of two per pair whose journey had reached it."
    ),
    bars: rx.Var = DS.chart,
) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(title, size="4", as_="h2"),
            rx.text(explained, size="2", color_scheme="gray"),
            rx.cond(
                bars.length() > 0,
                rx.box(
                    rx.flex(
                        rx.foreach(
                            bars,
                            lambda b: rx.vstack(
                                rx.text(b["percent"], size="1"),
                                rx.box(
                                    height=b["height"],
                                    width="32px",
                                    background_color="var(--accent-9)",
                                    border_radius="3px 3px 0 0",
                                ),
                                rx.text(b["label"], size="1", color_scheme="gray"),
                                align="center",
                                spacing="1",
                                role="img",
                                aria_label=b["name"],
                                title=b["detail"],
                            ),
                        ),
                        spacing="3",
                        align="end",
                        aria_label=title,
                        role="group",
                    ),
                    overflow_x="auto",
                    width="100%",
                ),
                rx.text("No journey has started yet.", size="2", color_scheme="gray"),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def reasons_cell(reasons: rx.Var) -> rx.Component:
    items = reasons.to(list[str])
    return rx.cond(
        items.length() > 0,
        rx.el.ul(
            rx.foreach(items, lambda r: rx.el.li(rx.text(r, size="2"))),
            padding_left="1.2em",
            margin="0",
            list_style_type="disc",
        ),
        rx.text("—", color_scheme="gray"),
    )


def pause_button(p: rx.Var) -> rx.Component:
    who = p["who"].to(str)
    return rx.cond(
        p["paused"].to(bool),
        rx.button(
            "Resume",
            size="1",
            variant="soft",
            on_click=DS.set_paused(p["id"], False),
            aria_label="Resume the pair of " + who,
        ),
        rx.button(
            "Pause",
            size="1",
            variant="soft",
            color_scheme="gray",
            on_click=DS.set_paused(p["id"], True),
            aria_label="Pause the pair of " + who,
        ),
    )


def pair_row(p: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(
            rx.text(p["mentee"], weight="medium"),
            rx.text("with " + p["mentor"].to(str), size="1", color_scheme="gray"),
            rx.cond(p["paused"].to(bool), rx.badge("Paused", color_scheme="gray")),
        ),
        rx.table.cell(
            rx.badge(
                p["score"].to(str) + " · " + p["band"].to(str),
                color_scheme=p["color"].to(str),
                variant="solid",
                aria_label="Health " + p["score"].to(str) + " of 100, " + p["band"].to(str),
            ),
        ),
        rx.table.cell(p["week"]),
        rx.table.cell(p["progress"]),
        rx.table.cell(p["check_ins"]),
        rx.table.cell(reasons_cell(p["reasons"])),
        rx.table.cell(p["action"]),
        rx.table.cell(pause_button(p)),
    )


def pairs_card() -> rx.Component:
    headers = ["Pair", "Health", "Week", "Steps", "Check-ins", "Why", "Suggested action", ""]
    return rx.card(
        rx.vstack(
            rx.flex(
                rx.heading(
                    "Active pairs by health (" + DS.pairs_total.to(str) + ")", size="4", as_="h2"
                ),
                rx.spacer(),
                rx.checkbox(
                    "At risk only",
                    checked=DS.at_risk_only,
                    on_change=DS.set_at_risk_only,
                    size="2",
                ),
                align="center",
                spacing="3",
                wrap="wrap",
                width="100%",
            ),
            rx.text(
                "Lowest health first. Counts and dates only: notes and messages stay private "
                "to each pair.",
                size="2",
                color_scheme="gray",
            ),
            rx.cond(
                DS.pairs.length() > 0,
                rx.vstack(
                    scroll_region(
                        "Pairs by health",
                        rx.table.root(
                            rx.table.header(
                                rx.table.row(*[rx.table.column_header_cell(h) for h in headers])
                            ),
                            rx.table.body(rx.foreach(DS.pairs, pair_row)),
                            width="100%",
                            min_width="52em",
                            variant="surface",
                        ),
                        busy=DS.turning,
                    ),
                    pager(
                        "Pairs by health pages",
                        DS.pairs_info,
                        on_previous=DS.previous_pairs,
                        on_next=DS.next_pairs,
                    ),
                    spacing="2",
                    width="100%",
                ),
                rx.text(
                    rx.cond(
                        DS.at_risk_only & (DS.pairs_total > 0),
                        "No pair is at risk.",
                        "No active pairs yet. Publish pairs from the pairing workspace.",
                    ),
                    size="2",
                    color_scheme="gray",
                ),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def dashboard_page() -> rx.Component:
    p = DS.program
    return shell(
        rx.cond(
            DS.denied != "",
            refused_notice("Program dashboard", DS.denied),
            rx.cond(
                p.contains("id"),
                rx.vstack(
                    rx.heading("Program dashboard", size="7", as_="h1"),
                    rx.flex(
                        rx.link(p["title"], href=p["href"]),
                        rx.badge(p["status"]),
                        rx.spacer(),
                        rx.link("Pairing workspace", href=p["href"].to(str) + "/pairing", size="2"),
                        rx.button(
                            rx.icon("download", size=16),
                            "Export CSV",
                            on_click=DS.export_csv,
                            variant="outline",
                        ),
                        spacing="3",
                        align="center",
                        wrap="wrap",
                        width="100%",
                    ),
                    rx.cond(DS.message != "", rx.callout(DS.message, icon="info", role="status")),
                    rx.cond(
                        DS.error != "",
                        rx.callout(
                            DS.error, icon="triangle_alert", color_scheme="red", role="alert"
                        ),
                    ),
                    kpis(),
                    chart_card(),
                    chart_card(
                        "Meetings held per week",
                        "Active pairs that held a planned meeting in each journey week, out of "
                        "the active pairs whose journey had reached it.",
                        DS.meetings_chart,
                    ),
                    pairs_card(),
                    spacing="4",
                    width="100%",
                ),
                rx.flex(rx.spinner(), rx.text("Loading the dashboard…"), spacing="2"),
            ),
        )
    )
