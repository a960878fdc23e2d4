"""The pairing workspace, a member's pairs and notifications, and a pair's page."""

from __future__ import annotations

import reflex as rx

from components.dialogs import confirm_dialog, form_dialog
from components.forms import error_for, form_alert
from components.layout import refused_notice
from components.paging import pager, scroll_region
from components.text import count_var
from mentor_app.pages.common import shell
from mentor_app.services.journey import END_CHOICES
from mentor_app.services.pairing import CONFIRM_NOT_A_GOOD_FIT
from state.pairing import MyPairsState, PairingWorkspaceState

WS = PairingWorkspaceState


def _status(message: rx.Var) -> rx.Component:
    return rx.cond(message != "", rx.callout(message, icon="info", role="status"))


def reasons_list(reasons: rx.Var) -> rx.Component:
    return rx.el.ul(
        rx.foreach(reasons.to(list[str]), lambda r: rx.el.li(rx.text(r, size="2"))),
        padding_left="1.2em",
        margin="0",
    )


# --- workspace --------------------------------------------------------------------------


def paged(which: str, label: str, body: rx.Component) -> rx.Component:
    """One page of a workspace list and its pager; the page dims while the next loads."""
    busy = WS.turning == which
    return rx.vstack(
        rx.box(
            body,
            aria_busy=rx.cond(busy, "true", "false"),
            opacity=rx.cond(busy, "0.5", "1"),
            width="100%",
        ),
        pager(
            label,
            getattr(WS, f"{which}_info"),
            on_previous=WS.previous_page(which),
            on_next=WS.next_page(which),
        ),
        spacing="2",
        width="100%",
    )


def mentee_item(m: rx.Var) -> rx.Component:
    chosen = WS.selected.get("id", 0) == m["id"]
    return rx.el.li(
        rx.button(
            m["name"],
            rx.cond(
                m["rematch"].to(bool),
                rx.badge("Rematch priority", color_scheme="amber", variant="solid"),
            ),
            variant=rx.cond(chosen, "solid", "soft"),
            aria_pressed=rx.cond(chosen, "true", "false"),
            on_click=WS.select_mentee(m["id"], m["name"]),
            width="100%",
            justify="start",
        ),
        list_style="none",
    )


def mentor_item(m: rx.Var) -> rx.Component:
    return rx.el.li(
        rx.flex(
            rx.text(m["name"]),
            rx.spacer(),
            rx.badge(
                m["load"].to(str) + " taken",
                color_scheme=rx.cond(m["free"].to(int) > 0, "teal", "gray"),
                aria_label="Capacity used " + m["load"].to(str),
            ),
            align="center",
            width="100%",
        ),
        list_style="none",
        padding_y="0.25em",
    )


def column(
    title: rx.Var | str, shown: rx.Var, items: rx.Component, empty: rx.Var | str
) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(title, size="4", as_="h2"),
            rx.cond(
                shown.to(int) > 0,
                items,
                rx.text(empty, color_scheme="gray", size="2"),
            ),
            spacing="2",
            width="100%",
        ),
        width="100%",
    )


def suggestion_card(s: rx.Var) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.flex(
                rx.text.strong(s["name"]),
                rx.badge("Score " + s["score"].to(str), size="2"),
                rx.badge(s["load"].to(str) + " taken", variant="outline"),
                rx.spacer(),
                rx.button(
                    "Pair",
                    size="2",
                    on_click=WS.pair_with(s["id"]),
                    aria_label="Pair with " + s["name"].to(str),
                    disabled=~WS.program["can_pair"].to(bool),
                ),
                spacing="2",
                align="center",
                wrap="wrap",
                width="100%",
            ),
            rx.text("Why:", size="2", color_scheme="gray"),
            reasons_list(s["reasons"]),
            spacing="1",
            width="100%",
        ),
        width="100%",
        role="listitem",
    )


def not_a_good_fit_warning() -> rx.Component:
    """Pairing by hand a couple whose earlier pair ended as not a good fit: a confirmation."""
    key = CONFIRM_NOT_A_GOOD_FIT
    return rx.cond(
        WS.errors.contains(key),
        rx.callout.root(
            rx.callout.text(WS.errors[key], role="alert"),
            rx.flex(
                rx.button("Pair anyway", size="2", color_scheme="orange", on_click=WS.pair_anyway),
                rx.button("Cancel", size="2", variant="soft", on_click=WS.cancel_pair_anyway),
                spacing="2",
            ),
            color_scheme="orange",
            aria_label="Pair again after not a good fit?",
        ),
    )


def selected_panel() -> rx.Component:
    name = WS.selected.get("name", "").to(str)
    return rx.card(
        rx.vstack(
            rx.flex(
                rx.heading("Suggested mentors for " + name, size="4", as_="h2"),
                rx.spacer(),
                rx.button("Close", variant="ghost", size="1", on_click=WS.clear_selection),
                width="100%",
                align="center",
            ),
            error_for(WS.errors, "pair"),
            not_a_good_fit_warning(),
            rx.cond(
                WS.suggestions.length() > 0,
                rx.vstack(
                    rx.foreach(WS.suggestions, suggestion_card),
                    role="list",
                    aria_label="Suggested mentors",
                    width="100%",
                ),
                rx.text(
                    "No mentor with a free seat can be suggested (blocks and full mentors "
                    "are left out).",
                    color_scheme="gray",
                    size="2",
                ),
            ),
            rx.form(
                rx.flex(
                    rx.el.label("Or pair with any mentor with capacity", html_for="any-mentor"),
                    rx.text(
                        "(the first 20 by name; search by name above to find others)",
                        size="1",
                        color_scheme="gray",
                    ),
                    rx.el.select(
                        rx.el.option("Choose a mentor…", value=""),
                        rx.foreach(
                            WS.mentors_free,
                            lambda m: rx.el.option(
                                m["name"].to(str) + " (" + m["load"].to(str) + ")", value=m["id"]
                            ),
                        ),
                        id="any-mentor",
                        name="mentor",
                    ),
                    rx.button("Pair", type="submit", variant="outline"),
                    spacing="2",
                    align="center",
                    wrap="wrap",
                ),
                on_submit=WS.pair_manually,
                reset_on_submit=True,
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
        id="suggested-mentors",  # scrolled to when a mentee is chosen
        scroll_margin_top="1em",
    )


def suggest_all_form() -> rx.Component:
    return rx.form(
        rx.flex(
            rx.vstack(
                rx.el.label("Minimum score", html_for="min-score"),
                rx.input(
                    id="min-score",
                    name="min_score",
                    default_value="0",
                    input_mode="numeric",
                    width="8em",
                ),
                spacing="1",
            ),
            rx.button(
                "Suggest all",
                type="submit",
                loading=WS.working,
                disabled=~WS.program["can_pair"].to(bool),
            ),
            rx.text(
                "Finds the pairs with the highest total score for everyone waiting, within "
                "each mentor's free seats. Pairs below the minimum are left out.",
                size="2",
                color_scheme="gray",
                max_width="32em",
            ),
            spacing="3",
            align="end",
            wrap="wrap",
        ),
        error_for(WS.errors, "min_score"),
        on_submit=WS.suggest_all,
        reset_on_submit=False,
    )


def admin_end_dialog(p: rx.Var) -> rx.Component:
    who = p["mentee"].to(str) + " and " + p["mentor"].to(str)
    return form_dialog(
        rx.button(
            "End pair",
            size="1",
            variant="soft",
            color_scheme="red",
            aria_label="End the pair of " + who,
        ),
        title="End the pair of " + who + "?",
        description="Their journey becomes read-only. The mentee goes back to the waiting list "
        "with rematch priority.",
        fields=[
            rx.el.input(type="hidden", name="pair_id", value=p["id"].to(str)),
            rx.el.label("Reason", html_for="admin-end-reason"),
            rx.el.select(
                *[rx.el.option(label, value=key) for key, label in END_CHOICES.items()],
                id="admin-end-reason",
                name="reason",
                default_value="other",
            ),
            rx.el.label("Rating of the match (optional)", html_for="admin-end-rating"),
            rx.el.select(
                rx.el.option("No rating", value=""),
                *[rx.el.option(f"{n} of 5", value=str(n)) for n in range(5, 0, -1)],
                id="admin-end-rating",
                name="rating",
            ),
            rx.el.label("Details (needed for “Other”)", html_for="admin-end-detail"),
            rx.text_area(id="admin-end-detail", name="detail", max_length=500, rows="2"),
        ],
        submit="End the pair",
        on_submit=WS.end_pair,
        destructive=True,
        busy=WS.ending,
        reset_on_submit=True,
        # Tied to its pair: when the list changes under an open dialog (this pair ended and
        # left the page), it closes instead of asking about whoever is in its row now.
        key=p["id"].to(str),
    )


def pairs_table(rows: rx.Var, kind: str) -> rx.Component:
    """Draft pairs (with Unpair) or published ones (with progress and End pair)."""
    published = kind == "published"
    headers = ["Mentee", "Mentor", "Score", "Why"]
    if published:
        headers += ["Steps done", "Check-ins"]
    headers += ["Actions"]

    def row(p: rx.Var) -> rx.Component:
        cells = [
            rx.table.cell(p["mentee"]),
            rx.table.cell(p["mentor"]),
            rx.table.cell(
                rx.text(p["score"]),
                # Answers changed since drafting (or publishing): say so next to the score.
                rx.cond(
                    p["score_changed"].to(str) != "",
                    rx.badge(p["score_changed"].to(str), color_scheme="orange", variant="soft"),
                ),
            ),
            rx.table.cell(reasons_list(p["reasons"])),
        ]
        if published:
            cells += [rx.table.cell(p["progress"]), rx.table.cell(p["check_ins"])]
            cells += [rx.table.cell(admin_end_dialog(p))]
        else:
            cells += [
                rx.table.cell(
                    rx.button(
                        "Unpair",
                        size="1",
                        variant="soft",
                        color_scheme="red",
                        on_click=WS.unpair(p["id"]),
                        aria_label="Unpair " + p["mentee"].to(str) + " and " + p["mentor"].to(str),
                    )
                )
            ]
        return rx.table.row(*cells)

    return rx.table.root(
        rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in headers])),
        rx.table.body(rx.foreach(rows, row)),
        width="100%",
        variant="surface",
    )


def ended_table() -> rx.Component:
    headers = ("Mentee", "Mentor", "Outcome", "Reason", "Rating", "Ended")
    return scroll_region(
        "Ended pairs",
        rx.table.root(
            rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in headers])),
            rx.table.body(
                rx.foreach(
                    WS.ended,
                    lambda e: rx.table.row(
                        rx.table.cell(e["mentee"]),
                        rx.table.cell(e["mentor"]),
                        rx.table.cell(e["status"]),
                        rx.table.cell(
                            rx.text(e["reason"]),
                            rx.text(e["detail"], size="1", color_scheme="gray"),
                        ),
                        rx.table.cell(e["rating"]),
                        rx.table.cell(e["when"]),
                    ),
                )
            ),
            width="100%",
            variant="surface",
        ),
    )


def ended_card() -> rx.Component:
    total = WS.totals.get("ended", 0).to(int)
    return rx.cond(
        total > 0,
        rx.card(
            rx.vstack(
                rx.heading("Ended pairs (" + total.to_string() + ")", size="4", as_="h2"),
                rx.text(
                    "Reasons and ratings are seen by admins only.", size="2", color_scheme="gray"
                ),
                paged("ended", "Ended pairs pages", ended_table()),
                width="100%",
            ),
            width="100%",
        ),
    )


def drafts_card() -> rx.Component:
    total = WS.totals.get("drafts", 0).to(int)
    count = total.to_string()
    return rx.card(
        rx.vstack(
            rx.flex(
                rx.heading("Draft pairs (" + count + ")", size="4", as_="h2"),
                rx.spacer(),
                rx.cond(
                    total > 0,
                    confirm_dialog(
                        rx.button("Publish pairs", loading=WS.working),
                        title="Publish " + count_var(total, "pair") + "?",
                        description="Each mentor and mentee is told who they are paired with, "
                        "and their journey opens. Published pairs can't be unpaired here.",
                        confirm="Publish",
                        on_confirm=WS.publish,
                    ),
                ),
                width="100%",
                align="center",
                wrap="wrap",
                spacing="2",
            ),
            rx.text("Only admins see draft pairs.", size="2", color_scheme="gray"),
            error_for(WS.errors, "drafts"),
            rx.cond(
                total > 0,
                paged(
                    "drafts",
                    "Draft pairs pages",
                    scroll_region("Draft pairs", pairs_table(WS.drafts, "draft")),
                ),
                rx.text(
                    "No draft pairs yet. Select a mentee to pair by hand, or use Suggest all.",
                    color_scheme="gray",
                    size="2",
                ),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def fairness_card() -> rx.Component:
    f = WS.fairness
    return rx.card(
        rx.vstack(
            rx.heading("Fairness", size="4", as_="h2"),
            rx.data_list.root(
                rx.data_list.item(
                    rx.data_list.label("Unmatched mentees"),
                    rx.data_list.value(
                        f["unmatched"].to(str) + ": " + f["unmatched_names"].to(str)
                    ),
                ),
                rx.data_list.item(
                    rx.data_list.label("Mentors at capacity"),
                    rx.data_list.value(f["full_mentors"].to(str)),
                ),
                rx.data_list.item(
                    rx.data_list.label("Published pairs"),
                    rx.data_list.value(
                        f["published"].to(str) + " · median score " + f["median"].to(str)
                    ),
                ),
                orientation="vertical",
            ),
            rx.text("Scores of published pairs", size="2", weight="medium"),
            rx.flex(
                rx.foreach(
                    WS.chart,
                    lambda b: rx.vstack(
                        rx.text(b["count"], size="1"),
                        rx.box(
                            height=b["height"],
                            width="28px",
                            background_color="var(--accent-9)",
                            border_radius="3px 3px 0 0",
                        ),
                        rx.text(b["label"], size="1", color_scheme="gray"),
                        align="center",
                        spacing="1",
                        aria_label=b["name"],
                        role="img",
                    ),
                ),
                spacing="3",
                align="end",
                aria_label="Spread of published pair scores",
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def workspace() -> rx.Component:
    p = WS.program
    return shell(
        rx.cond(
            WS.denied != "",
            refused_notice("Pairing", WS.denied),
            rx.cond(
                p.contains("id"),
                rx.vstack(
                    rx.heading("Pairing", size="7", as_="h1"),
                    rx.flex(
                        rx.link(p["title"], href=p["href"]),
                        rx.badge(p["status"]),
                        spacing="3",
                        align="center",
                        wrap="wrap",
                    ),
                    rx.cond(
                        ~p["can_pair"].to(bool),
                        rx.callout(
                            "Pairs can be made while the program is open or active.", icon="info"
                        ),
                    ),
                    _status(WS.message),
                    form_alert(WS.errors.get("form", "")),
                    suggest_all_form(),
                    rx.vstack(
                        rx.el.label("Search by name", html_for="pairing-search"),
                        rx.input(
                            id="pairing-search",
                            value=WS.search,
                            on_change=WS.set_search.debounce(300),
                            placeholder="Type a name",
                            max_length=80,
                            width="100%",
                            max_width="24em",
                        ),
                        rx.checkbox(
                            "Only mentors with a free seat",
                            default_checked=False,
                            on_change=WS.set_free_only,
                            size="2",
                        ),
                        spacing="1",
                        width="100%",
                    ),
                    rx.grid(
                        column(
                            "Mentees waiting (" + WS.totals.get("mentees", 0).to(str) + ")",
                            WS.mentees.length(),
                            paged(
                                "mentees",
                                "Mentees waiting pages",
                                rx.el.ul(
                                    rx.foreach(WS.mentees, mentee_item),
                                    aria_label="Mentees waiting",
                                    width="100%",
                                    padding="0",
                                    margin="0",
                                    display="grid",
                                    gap="6px",
                                ),
                            ),
                            rx.cond(
                                WS.search != "", "Nobody waiting matches.", "Nobody is waiting."
                            ),
                        ),
                        column(
                            "Mentors (" + WS.totals.get("mentors", 0).to(str) + ")",
                            WS.mentors.length(),
                            paged(
                                "mentors",
                                "Mentors pages",
                                rx.el.ul(
                                    rx.foreach(WS.mentors, mentor_item),
                                    aria_label="Mentors",
                                    padding="0",
                                    margin="0",
                                    width="100%",
                                ),
                            ),
                            "No mentors match.",
                        ),
                        columns=rx.breakpoints(initial="1", md="2"),
                        spacing="4",
                        width="100%",
                    ),
                    rx.cond(WS.selected.contains("id"), selected_panel()),
                    drafts_card(),
                    rx.card(
                        rx.vstack(
                            rx.heading(
                                "Published pairs (" + WS.totals.get("published", 0).to(str) + ")",
                                size="4",
                                as_="h2",
                            ),
                            rx.cond(
                                WS.totals.get("published", 0).to(int) > 0,
                                paged(
                                    "published",
                                    "Published pairs pages",
                                    scroll_region(
                                        "Published pairs", pairs_table(WS.published, "published")
                                    ),
                                ),
                                rx.text("No published pairs yet.", color_scheme="gray", size="2"),
                            ),
                            width="100%",
                        ),
                        width="100%",
                    ),
                    ended_card(),
                    fairness_card(),
                    spacing="4",
                    width="100%",
                ),
                rx.flex(rx.spinner(), rx.text("Loading the workspace…"), spacing="2"),
            ),
        )
    )


# --- a member's pairs and notifications (on My groups) -------------------------------------


def my_pairs_section() -> rx.Component:
    return rx.vstack(
        rx.cond(
            MyPairsState.pairs.length() > 0,
            rx.vstack(
                rx.heading("My pairs", size="5", as_="h2"),
                rx.vstack(
                    rx.foreach(
                        MyPairsState.pairs,
                        lambda p: rx.card(
                            rx.flex(
                                rx.vstack(
                                    rx.link(
                                        rx.text.strong(
                                            p["partner"].to(str)
                                            + " · your "
                                            + p["partner_role"].to(str)
                                        ),
                                        href=p["href"],
                                    ),
                                    rx.text(p["program"], size="2", color_scheme="gray"),
                                    spacing="1",
                                ),
                                rx.spacer(),
                                rx.badge(p["status"]),
                                align="center",
                                width="100%",
                            ),
                            role="listitem",
                            width="100%",
                        ),
                    ),
                    role="list",
                    aria_label="My pairs",
                    aria_busy=MyPairsState.pairs_loading,
                    width="100%",
                ),
                pager(
                    "My pairs pages",
                    MyPairsState.pairs_info,
                    on_previous=MyPairsState.pairs_previous,
                    on_next=MyPairsState.pairs_next,
                ),
                rx.cond(
                    MyPairsState.pairs_loading,
                    rx.flex(rx.spinner(), rx.text("Loading your pairs…", size="2"), spacing="2"),
                ),
                width="100%",
            ),
        ),
        rx.cond(
            MyPairsState.notices.length() > 0,
            rx.vstack(
                rx.flex(
                    rx.heading("Notifications", size="5", as_="h2"),
                    rx.cond(
                        MyPairsState.unread > 0,
                        rx.badge(MyPairsState.unread.to(str) + " new", color_scheme="tomato"),
                    ),
                    rx.spacer(),
                    rx.cond(
                        MyPairsState.unread > 0,
                        rx.button(
                            "Mark all read",
                            size="1",
                            variant="soft",
                            on_click=MyPairsState.mark_all_read,
                        ),
                    ),
                    align="center",
                    spacing="2",
                    width="100%",
                ),
                rx.el.ul(
                    rx.foreach(
                        MyPairsState.notices,
                        lambda n: rx.el.li(
                            rx.cond(
                                n["href"] != "",
                                rx.link(n["text"], href=n["href"]),
                                rx.text(n["text"]),
                            ),
                            rx.text(
                                n["when"],
                                size="1",
                                color_scheme="gray",
                                weight=rx.cond(n["read"].to(bool), "regular", "bold"),
                            ),
                        ),
                    ),
                    aria_label="Notifications",
                    padding_left="1.2em",
                ),
                width="100%",
            ),
        ),
        width="100%",
        spacing="4",
    )
