"""A pair's page: the journey week by week, check-ins, the fit check, ending, completing."""

from __future__ import annotations

from typing import Any

import reflex as rx

from components.dialogs import confirm_dialog, form_dialog
from components.forms import error_for, field_error, form_alert
from components.layout import keep_alive, not_found_notice
from mentor_app.pages.common import shell
from mentor_app.services.chat import REPORT_CATEGORIES
from mentor_app.services.journey import END_CHOICES, MOODS
from state.journey import PairChatFormState, PairChatState, PairLiveState, PairPageState

LIVE = PairLiveState
CHAT = PairChatState
PAGE = PairPageState
TALK = PairChatFormState


def _active() -> rx.Var:
    return LIVE.status == "active"


def _radio(name: str, value: str, label: str, checked: rx.Var) -> rx.Component:
    return rx.el.label(
        rx.el.input(type="radio", name=name, value=value, default_checked=checked),
        " " + label,
        display="inline-flex",
        align_items="center",
        gap="4px",
        margin_right="14px",
        white_space="nowrap",
    )


def _rating_select(field_id: str, label: str, optional: bool) -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=field_id),
        rx.el.select(
            rx.el.option("No rating" if optional else "Choose…", value=""),
            *[rx.el.option(f"{n} of 5", value=str(n)) for n in range(5, 0, -1)],
            id=field_id,
            name="rating",
        ),
        error_for(PAGE.errors, "rating"),
        spacing="1",
    )


# --- header and status ----------------------------------------------------------------------


def header() -> rx.Component:
    p = PAGE.pair
    return rx.vstack(
        rx.heading(
            "Your " + p["partner_role"].to(str) + ": " + p["partner"].to(str), size="7", as_="h1"
        ),
        rx.flex(
            rx.link(p["program"], href=p["program_href"]),
            rx.badge(LIVE.status),
            rx.text(PAGE.week["label"].to(str), weight="medium", size="2"),
            rx.text("(" + PAGE.week["timezone"].to(str) + " time)", size="1", color_scheme="gray"),
            spacing="3",
            wrap="wrap",
            align="center",
        ),
        rx.cond(
            LIVE.status == "ended",
            rx.callout(
                "This pair ended on " + p["ended_on"].to(str) + ". Its history stays here, "
                "read-only, for the two of you.",
                icon="info",
                color_scheme="gray",
            ),
        ),
        rx.cond(
            LIVE.status == "completed",
            rx.callout(
                "You completed the program together. Its history stays here for the two of you.",
                icon="party_popper",
            ),
        ),
        rx.cond(PAGE.message != "", rx.callout(PAGE.message, icon="info", role="status")),
        form_alert(PAGE.errors.get("form", "")),
        rx.vstack(
            rx.text(LIVE.progress_text, size="2"),
            rx.progress(value=LIVE.progress, max=100, aria_label="Journey progress", width="100%"),
            width="100%",
            spacing="1",
        ),
        spacing="3",
        width="100%",
    )


def fit_check() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("How is the match going?", size="4", as_="h2"),
            rx.text(
                "You have had your first week together. Only the program's admins see a "
                "“not a good fit” answer, and they can find you a new match.",
                size="2",
            ),
            rx.flex(
                *[
                    rx.button(
                        label,
                        variant="soft" if key != "not_good" else "outline",
                        on_click=PAGE.answer_fit(key),
                    )
                    for key, label in (
                        ("good", "Good fit"),
                        ("deciding", "Still deciding"),
                        ("not_good", "Not a good fit"),
                    )
                ],
                spacing="2",
                wrap="wrap",
            ),
            error_for(PAGE.errors, "fit"),
            spacing="2",
        ),
        width="100%",
    )


# --- this week's check-in -------------------------------------------------------------------


def _who_checked_in(role: rx.Var, label: rx.Var) -> rx.Component:
    done = LIVE.checked_in.get(PAGE.week["number"].to(str), []).to(list[str]).contains(role)
    return rx.flex(
        rx.text(label, weight="medium"),
        rx.cond(
            done,
            rx.badge("checked in", color_scheme="teal"),
            rx.badge("not yet", color_scheme="gray"),
        ),
        spacing="2",
        align="center",
    )


def check_in_card() -> rx.Component:
    mine = PAGE.my_check_in
    return rx.card(
        rx.vstack(
            rx.heading("This week's check-in", size="4", as_="h2"),
            rx.flex(
                _who_checked_in(PAGE.pair["my_role"].to(str), rx.Var.create("You")),
                _who_checked_in(PAGE.pair["partner_role"].to(str), PAGE.pair["partner"].to(str)),
                spacing="5",
                wrap="wrap",
                aria_label="This week's check-ins",
            ),
            rx.form(
                rx.vstack(
                    rx.el.fieldset(
                        rx.el.legend("How is it going?", font_weight="500"),
                        rx.flex(
                            *[
                                _radio("mood", str(n), f"{n} {label}", mine["mood"] == str(n))
                                for n, label in MOODS.items()
                            ],
                            wrap="wrap",
                        ),
                        error_for(PAGE.errors, "mood"),
                        border="none",
                        padding="0",
                        margin="0",
                    ),
                    rx.el.fieldset(
                        rx.el.legend("Did you meet or talk this week?", font_weight="500"),
                        _radio("met", "yes", "Yes", mine["met"] == "yes"),
                        _radio("met", "no", "No", mine["met"] == "no"),
                        error_for(PAGE.errors, "met"),
                        border="none",
                        padding="0",
                        margin="0",
                    ),
                    rx.vstack(
                        rx.el.label(
                            "Note (optional, only the two of you see it)", html_for="check-in-note"
                        ),
                        rx.text_area(
                            id="check-in-note",
                            name="note",
                            default_value=mine["note"],
                            max_length=1000,
                            rows="3",
                            width="100%",
                        ),
                        error_for(PAGE.errors, "note"),
                        width="100%",
                        spacing="1",
                    ),
                    form_alert(PAGE.errors.get("check_in", "")),
                    rx.button(
                        rx.cond(mine["done"] == "yes", "Update check-in", "Save check-in"),
                        type="submit",
                    ),
                    spacing="3",
                    width="100%",
                ),
                key=PAGE.form_key,
                on_submit=PAGE.save_check_in,
                reset_on_submit=False,
                width="100%",
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


# --- the journey ------------------------------------------------------------------------


def step_card(step: rx.Var) -> rx.Component:
    current = step["week"].to(str) == PAGE.week["number"].to(str)
    mine = step["done_roles"].to(list[str]).contains(PAGE.pair["my_role"].to(str))
    title = "Week " + step["week"].to(str) + ": " + step["title"].to(str)
    return rx.el.li(
        rx.card(
            rx.vstack(
                rx.flex(
                    rx.heading(title, size="3", as_="h3"),
                    rx.cond(current, rx.badge("This week", color_scheme="teal")),
                    rx.cond(step["done"].to(bool), rx.badge("Done", color_scheme="green")),
                    spacing="2",
                    align="center",
                    wrap="wrap",
                ),
                rx.text(step["focus"], size="2"),
                rx.el.ul(
                    rx.foreach(
                        step["prompts"].to(list[str]),
                        lambda q: rx.el.li(rx.text(q, size="2"), list_style="disc"),
                    ),
                    padding_left="1.2em",
                    margin="0",
                ),
                rx.cond(
                    step["done_text"].to(str) != "",
                    rx.text(step["done_text"], size="1", color_scheme="gray"),
                ),
                rx.cond(
                    _active(),
                    rx.cond(
                        mine,
                        rx.button(
                            "Undo my mark",
                            size="1",
                            variant="ghost",
                            on_click=PAGE.undo_done(step["week"].to(int)),
                            aria_label="Undo my mark on " + title,
                        ),
                        rx.button(
                            "Mark step done",
                            size="2",
                            variant="soft",
                            on_click=PAGE.mark_done(step["week"].to(int)),
                            aria_label="Mark step done: " + title,
                        ),
                    ),
                ),
                spacing="2",
                width="100%",
            ),
            width="100%",
            variant=rx.cond(current, "surface", "classic"),
            border=rx.cond(current, "2px solid var(--accent-9)", "none"),
        ),
        list_style="none",
        # Off-screen weeks are not laid out or painted until scrolled to.
        content_visibility="auto",
        contain_intrinsic_size="auto 220px",
    )


def journey_list() -> rx.Component:
    return rx.vstack(
        rx.heading("Your journey", size="5", as_="h2"),
        error_for(PAGE.errors, "steps"),
        rx.el.ol(
            rx.foreach(LIVE.steps, step_card),
            padding="0",
            margin="0",
            display="grid",
            gap="12px",
            width="100%",
            aria_label="Journey steps",
        ),
        width="100%",
        spacing="3",
    )


def history() -> rx.Component:
    return rx.vstack(
        rx.heading("Check-in history", size="5", as_="h2"),
        rx.cond(
            LIVE.check_ins.length() > 0,
            rx.box(
                rx.table.root(
                    rx.table.header(
                        rx.table.row(
                            *[
                                rx.table.column_header_cell(h)
                                for h in ("Week", "Who", "How it's going", "Met", "Note")
                            ]
                        )
                    ),
                    rx.table.body(
                        rx.foreach(
                            LIVE.check_ins,
                            lambda c: rx.table.row(
                                rx.table.cell(c["week"]),
                                rx.table.cell(c["name"]),
                                rx.table.cell(c["mood"]),
                                rx.table.cell(c["met"]),
                                rx.table.cell(rx.text(c["note"], white_space="pre-wrap")),
                            ),
                        )
                    ),
                    width="100%",
                    aria_label="Check-in history",
                ),
                overflow_x="auto",
                width="100%",
            ),
            rx.text("No check-ins yet.", color_scheme="gray", size="2"),
        ),
        width="100%",
        spacing="2",
    )


def partner_answers() -> rx.Component:
    return rx.cond(
        PAGE.partner_answers.length() > 0,
        rx.card(
            rx.vstack(
                rx.heading(
                    "What " + PAGE.pair["partner"].to(str) + " shared when signing up",
                    size="4",
                    as_="h2",
                ),
                rx.foreach(
                    PAGE.partner_answers,
                    lambda a: rx.box(
                        rx.text(a["question"], size="2", color_scheme="gray"), rx.text(a["answer"])
                    ),
                ),
                spacing="2",
            ),
            width="100%",
        ),
    )


# --- completing and ending ----------------------------------------------------------------------


def survey_card() -> rx.Component:
    return rx.card(
        rx.form(
            rx.vstack(
                rx.heading(
                    rx.cond(PAGE.can_complete, "Complete the program", "Your closing survey"),
                    size="4",
                    as_="h2",
                ),
                rx.text(
                    "Your last week has passed and you both marked its step done. A short "
                    "survey closes the program.",
                    size="2",
                ),
                _rating_select("survey-rating", "How useful was the program for you?", False),
                rx.el.label("What will you take away? (optional)", html_for="survey-takeaway"),
                rx.text_area(
                    id="survey-takeaway", name="takeaway", max_length=1000, rows="3", width="100%"
                ),
                error_for(PAGE.errors, "takeaway"),
                form_alert(PAGE.errors.get("survey", "")),
                rx.button(
                    rx.cond(PAGE.can_complete, "Complete the program", "Send my survey"),
                    type="submit",
                ),
                spacing="2",
                width="100%",
            ),
            on_submit=PAGE.complete,
            reset_on_submit=False,
        ),
        width="100%",
    )


def end_dialog() -> rx.Component:
    return form_dialog(
        rx.button("End this pair", color_scheme="red", variant="outline"),
        title="End this pair?",
        description="The journey becomes read-only for both of you; its history stays. Only "
        "the program's admins see your reason and rating.",
        fields=[
            rx.el.label("Why is it ending?", html_for="end-reason"),
            rx.el.select(
                *[rx.el.option(label, value=key) for key, label in END_CHOICES.items()],
                id="end-reason",
                name="reason",
                default_value="not_a_good_fit",
            ),
            error_for(PAGE.errors, "reason"),
            _rating_select("end-rating", "How good was the match? (optional)", True),
            rx.el.label("Details (needed for “Other”)", html_for="end-detail"),
            rx.text_area(id="end-detail", name="detail", max_length=500, rows="2", width="100%"),
            error_for(PAGE.errors, "detail"),
        ],
        error=PAGE.errors.get("end", ""),
        submit="End the pair",
        on_submit=PAGE.end_pair,
        destructive=True,
        cancel="Keep the pair",
    )


# --- the chat ------------------------------------------------------------------------------

# Enter sends, Shift+Enter makes a new line (and nothing happens while an IME composes).
SEND_ON_ENTER = rx.Var(
    "(e) => { if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) "
    "{ e.preventDefault(); e.target.form.requestSubmit(); } }"
)
# The client id is chosen in the browser as the message is sent, for the text sent: the same
# text sent again from this composer (a retry after a lost reply or a dropped connection)
# carries the same id, so the server stores it once; an edited text gets an id of its own,
# so the server never takes it for the earlier attempt. The composer re-mounts, and forgets
# its ids, once the server confirms a send.
#
# The send is also noted, until it is confirmed, in the tab's session storage with the
# composer's key at the time: a connection that drops with the send in flight makes the
# page hydrate again and re-mount the composer, empty. If the key has not moved on by then
# (the server never got the send), `RESEND_PENDING` puts the text back and sends it again,
# with the same id; if it has, the server stored it and the note is dropped. The note names
# the member's role in the pair: the partner signing in on this tab never sends it.
PENDING_KEY = "'mentor-chat-pending:' + window.location.pathname"
CLIENT_ID_FOR_TEXT = rx.Var(
    "(e) => { const f = e.currentTarget; const text = f.elements['body'].value; "
    "const ids = f.__clientIds || (f.__clientIds = new Map()); let id = ids.get(text); "
    "if (!id) { id = (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : "
    "(Date.now().toString(36) + Math.random().toString(36).slice(2) + "
    "Math.random().toString(36).slice(2)); ids.set(text, id); } "
    "f.elements['client_id'].value = id; "
    "try { window.sessionStorage.setItem(" + PENDING_KEY + ", "
    "JSON.stringify({ text, id, key: f.dataset.key, role: f.dataset.role })); "
    "} catch (_) {} }"
)
RESEND_PENDING = (
    "(() => { const f = document.getElementById('chat-form'); if (!f) return; "
    "const k = " + PENDING_KEY + "; let p = null; "
    "try { p = JSON.parse(window.sessionStorage.getItem(k) || 'null'); } catch (_) {} "
    "if (!p || typeof p.text !== 'string') return; "
    "if (Number(f.dataset.key) !== Number(p.key) || f.dataset.role !== p.role) { "
    "window.sessionStorage.removeItem(k); "
    "return; } "
    "f.elements['body'].value = p.text; f.__clientIds = new Map([[p.text, p.id]]); "
    "f.requestSubmit(); })()"
)


def _sender(m: rx.Var) -> rx.Var:
    mine = m["role"].to(str) == PAGE.pair["my_role"].to(str)
    return rx.cond(mine, "You", PAGE.pair["partner"].to(str))


def message_item(m: rx.Var) -> rx.Component:
    """Plain elements, not Radix ones: fifty of these re-render for every new message."""
    mine = m["role"].to(str) == PAGE.pair["my_role"].to(str)
    return rx.el.div(
        rx.el.div(
            rx.el.strong(_sender(m)),
            " · ",
            m["when"],
            font_size="12px",
            color="var(--gray-11)",
        ),
        rx.el.p(m["body"], margin="0", white_space="pre-wrap", overflow_wrap="anywhere"),
        align_self=rx.cond(mine, "flex-end", "flex-start"),
        background_color=rx.cond(mine, "var(--accent-3)", "var(--gray-3)"),
        padding="6px 10px",
        border_radius="10px",
        max_width="85%",
        font_size="14px",
    )


def report_dialog() -> rx.Component:
    errors = PAGE.report_errors
    return form_dialog(
        rx.button("Report", variant="soft", color_scheme="orange"),
        title="Report a problem",
        description="Site moderators read your report and the messages you tick, nothing "
        "else. " + PAGE.pair["partner"].to(str) + " is not told.",
        fields=[
            rx.el.label("What is the problem?", html_for="report-category"),
            rx.el.select(
                rx.el.option("Choose…", value=""),
                *[rx.el.option(label, value=key) for key, label in REPORT_CATEGORIES.items()],
                id="report-category",
                name="category",
            ),
            error_for(errors, "category"),
            rx.el.fieldset(
                rx.el.legend("Messages concerned (optional)", font_weight="500"),
                rx.box(
                    rx.foreach(
                        CHAT.messages,
                        lambda m: rx.el.label(
                            rx.el.input(type="checkbox", name="m-" + m["id"].to(str)),
                            " ",
                            rx.text.strong(_sender(m)),
                            ": ",
                            m["body"],
                            display="block",
                            white_space="nowrap",
                            overflow="hidden",
                            text_overflow="ellipsis",
                        ),
                    ),
                    max_height="180px",
                    overflow_y="auto",
                ),
                error_for(errors, "messages"),
                border="none",
                padding="0",
                margin="0",
            ),
            rx.el.label("Details (needed for “Other”)", html_for="report-details"),
            rx.text_area(id="report-details", name="details", rows="3", width="100%"),
            error_for(errors, "details"),
        ],
        error=errors.get("form", ""),
        submit="Send report",
        on_submit=PAGE.send_report,
        open=PAGE.report_open,
        on_open_change=PAGE.set_report_open,
    )


def block_dialog() -> rx.Component:
    partner = PAGE.pair["partner"].to(str)
    return confirm_dialog(
        rx.button("Block", variant="outline", color_scheme="red"),
        title="Block " + partner + "?",
        description="No messages will pass between you from now on, this pair ends, and you "
        "will never be paired again. " + partner + " is only told they can no "
        "longer send. You can lift the block in Settings; the pair stays ended.",
        confirm="Block " + partner,
        on_confirm=PAGE.block,
        destructive=True,
    )


def composer() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.el.label("Message", html_for="chat-body", font_weight="500"),
            rx.el.textarea(
                id="chat-body",
                name="body",
                rows=2,
                # Focus comes back to a composer re-mounted after a send, never on opening.
                auto_focus=TALK.composer_key > 0,
                placeholder="Write a message. Enter sends, Shift+Enter starts a new line.",
                custom_attrs={"onKeyDown": SEND_ON_ENTER},
                style={
                    "width": "100%",
                    "padding": "8px",
                    "border": "1px solid var(--gray-7)",
                    "border_radius": "6px",
                    "font": "inherit",
                    "resize": "vertical",
                },
            ),
            rx.el.input(type="hidden", name="client_id", id="chat-client-id"),
            field_error("chat-body", TALK.chat_error),
            rx.flex(rx.spacer(), rx.button("Send", type="submit"), width="100%"),
            spacing="2",
            width="100%",
        ),
        id="chat-form",
        key=TALK.composer_key,
        # Runs before the form's own submit handler reads the fields.
        custom_attrs={
            "onSubmitCapture": CLIENT_ID_FOR_TEXT,
            "data-key": TALK.composer_key,
            "data-role": PAGE.pair["my_role"].to(str),
        },
        # Once the page is live again (events wait for the connection).
        on_mount=rx.call_script(RESEND_PENDING),
        on_submit=TALK.send,
        reset_on_submit=False,
        width="100%",
    )


def chat_panel() -> rx.Component:
    show_earlier = rx.cond(TALK.earlier.length() > 0, TALK.earlier_more, CHAT.has_earlier)
    return rx.card(
        rx.vstack(
            rx.flex(
                rx.heading("Chat with " + PAGE.pair["partner"].to(str), size="4", as_="h2"),
                rx.spacer(),
                report_dialog(),
                rx.cond(_active(), block_dialog()),
                spacing="2",
                align="center",
                wrap="wrap",
                width="100%",
            ),
            rx.text("Only the two of you can read this chat.", size="1", color_scheme="gray"),
            keep_alive("pair", PAGE.keep_alive),
            rx.cond(
                show_earlier,
                rx.button("Load earlier", variant="ghost", size="1", on_click=TALK.load_earlier),
            ),
            # The shared window moved past what this tab kept: fetch the messages between
            # (re-mounted, so asked again, while a gap is left).
            rx.cond(
                (TALK.shown_until > 0)
                & (CHAT.messages.length() > 0)
                & (CHAT.messages[0]["id"].to(int) > TALK.shown_until),
                rx.el.div(key=TALK.shown_until, on_mount=TALK.load_newer, hidden=True),
            ),
            # A column-reversed scroll box with one child stays scrolled to its newest
            # message without any script; the messages inside keep reading order.
            rx.el.div(
                rx.el.div(
                    rx.foreach(TALK.earlier, message_item),
                    rx.foreach(
                        CHAT.messages,
                        lambda m: rx.cond(m["id"].to(int) > TALK.shown_until, message_item(m)),
                    ),
                    rx.cond(
                        (CHAT.messages.length() == 0) & (TALK.earlier.length() == 0),
                        rx.text("No messages yet. Say hello!", color_scheme="gray", size="2"),
                    ),
                    display="flex",
                    flex_direction="column",
                    gap="8px",
                ),
                display="flex",
                flex_direction="column-reverse",
                overflow_y="auto",
                height="320px",
                width="100%",
                padding="4px",
                role="log",
                aria_label="Messages",
                aria_live="polite",
                tab_index=0,
                # A new message re-lays out this box only, not the long page around it.
                contain="strict",
            ),
            rx.cond(
                CHAT.can_send,
                composer(),
                rx.callout(
                    "You can no longer send messages in this chat.",
                    icon="info",
                    color_scheme="gray",
                ),
            ),
            spacing="2",
            width="100%",
        ),
        width="100%",
    )


def pair_page() -> rx.Component:
    body: list[Any] = [
        header(),
        rx.cond(_active() & PAGE.fit_due, fit_check()),
        chat_panel(),
        rx.cond(_active() & PAGE.week["in_journey"].to(bool), check_in_card()),
        rx.cond(PAGE.can_complete | PAGE.survey_due, survey_card()),
        journey_list(),
        history(),
        partner_answers(),
        rx.cond(_active(), end_dialog()),
    ]
    return shell(
        rx.cond(
            PAGE.not_found,
            not_found_notice("Pair not found", "This pair does not exist, or you are not in it."),
            rx.cond(
                PAGE.pair.contains("id"),
                rx.vstack(*body, spacing="5", width="100%"),
                rx.flex(rx.spinner(), rx.text("Loading…"), spacing="2"),
            ),
        )
    )
