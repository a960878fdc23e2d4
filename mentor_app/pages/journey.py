"""A pair's page: the journey week by week, check-ins, the fit check, ending, completing."""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex.experimental.client_state import ClientStateVar
from reflex_base.utils.imports import ImportVar
from reflex_base.vars import VarData
from reflex_components_core.core.banner import has_connection_errors

from components.dialogs import confirm_dialog, form_dialog
from components.forms import error_for, field_error, form_alert, visually_hidden
from components.layout import keep_alive, not_found_notice
from mentor_app.pages.common import shell
from mentor_app.pages.goals import goals_link, goals_section, survey_goal_fields
from mentor_app.pages.meetings import meetings_section
from mentor_app.services.chat import REPORT_CATEGORIES
from mentor_app.services.journey import END_CHOICES, MOODS
from state.journey import (
    SENDS_KEPT,
    PairChatFormState,
    PairChatState,
    PairLiveState,
    PairPageState,
)

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
                "This pair ended on " + LIVE.ended_on + ". Its history stays here, "
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
        rx.cond(
            (PAGE.message != "") & (PAGE.message_status == LIVE.status),
            rx.callout(PAGE.message, icon="info", role="status"),
        ),
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
                        rx.el.legend(
                            rx.cond(mine["question"] != "", mine["question"], "How is it going?"),
                            font_weight="500",
                        ),
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


def _mark(name: rx.Var | str, marked: rx.Var) -> rx.Component:
    """One member's mark on a week: "You ✓" or "Nora —", read out as words."""
    return rx.el.span(
        name,
        rx.el.span(rx.cond(marked, " ✓", " —"), aria_hidden="true"),
        visually_hidden(rx.cond(marked, ": marked done", ": not marked yet")),
    )


def step_marks(step: rx.Var, mine: rx.Var) -> rx.Component:
    """Both members' marks: a week is done once both marked it."""
    partner_marked = step["done_roles"].to(list[str]).contains(PAGE.pair["partner_role"].to(str))
    return rx.text(
        _mark("You", mine),
        rx.el.span(" · ", aria_hidden="true"),
        visually_hidden("; "),
        _mark(PAGE.pair["partner"].to(str), partner_marked),
        size="2",
    )


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
                rx.cond(step["goal"].to(bool), goals_link()),
                rx.el.ul(
                    rx.foreach(
                        step["prompts"].to(list[str]),
                        lambda q: rx.el.li(rx.text(q, size="2"), list_style="disc"),
                    ),
                    padding_left="1.2em",
                    margin="0",
                ),
                step_marks(step, mine),
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
        # A change inside a week lays out that week alone. Not `content-visibility: auto`
        # (it was here): a week then kept a 220 px stand-in height until scrolled near, and
        # took its real one in the frame after, so scrolling down to "End this pair" moved
        # the button by some 60 px between a press and its release, and the click was lost.
        contain="layout style",
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


def _can_complete() -> rx.Var:
    """Completing is offered while the pair is active (the partner may complete it live)."""
    return PAGE.can_complete & (LIVE.status == "active")


def _survey_due() -> rx.Var:
    """This member's closing survey, once the pair completed without it (live or not)."""
    return (LIVE.status == "completed") & ~LIVE.surveyed.contains(PAGE.pair["my_role"].to(str))


def survey_card() -> rx.Component:
    return rx.card(
        rx.form(
            rx.vstack(
                rx.heading(
                    rx.cond(_can_complete(), "Complete the program", "Your closing survey"),
                    size="4",
                    as_="h2",
                ),
                rx.text(
                    "Your last week has passed and you both marked its step done. A short "
                    "survey closes the program.",
                    size="2",
                ),
                _rating_select("survey-rating", "How useful was the program for you?", False),
                *survey_goal_fields(),
                rx.el.label("What will you take away? (optional)", html_for="survey-takeaway"),
                rx.text_area(
                    id="survey-takeaway", name="takeaway", max_length=1000, rows="3", width="100%"
                ),
                error_for(PAGE.errors, "takeaway"),
                form_alert(PAGE.errors.get("survey", "")),
                rx.button(
                    rx.cond(_can_complete(), "Complete the program", "Send my survey"),
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
        busy=PAGE.ending,
        cancel="Keep the pair",
    )


# --- the chat ------------------------------------------------------------------------------

# Enter sends, Shift+Enter makes a new line (and nothing happens while an IME composes).
SEND_ON_ENTER = rx.Var(
    "(e) => { if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing "
    "&& !e.target.readOnly) "
    "{ e.preventDefault(); e.target.form.requestSubmit(); } }"
)
# The client id is chosen in the browser as the message is sent, for the text sent: the same
# text sent again from this composer (a retry after a lost reply or a dropped connection)
# carries the same id, so the server stores it once; an edited text gets an id of its own,
# so the server never takes it for the earlier attempt. The composer re-mounts, and forgets
# its ids, once the server confirms a send.
#
# Each send is also noted, until the server has answered it, in the tab's session storage
# (a list, oldest first): a connection that drops with sends in flight or queued loses them
# (they had left the page's queue, or the page was reloaded), and the page hydrates again
# once it is back. Then `RESEND_PENDING` sends every note the server has not answered yet
# (its id is neither in `sent_ids` nor in `refused`, which the composer carries as
# data-sent and data-refused), in order, each with its own id: the server stores a client
# id once, so a note whose answer was lost is not stored twice. Notes the server answered
# are dropped (`FORGET_CONFIRMED`, each time a confirmed send empties the composer). A
# note names the member's role in the pair: the partner signing in on this tab never
# sends it. The composer stays mounted across a reconnection (it stays even when the chat
# closes), so the resend is tied to the page's hydration, not to the composer's mount.
PENDING_KEY = "'mentor-chat-pending:' + window.location.pathname"
# Each text sent from this tab is also shown at once in the list, as "Sending…" (the server
# does not know it yet, and while the connection is down the send waits in the page's
# queue). The list of these lives in the browser (`PENDING`, React state, so it shows with
# no round trip); the server's answer to a send, by client id (`sent_ids`, `refused`),
# turns it into the stored message, which replaces it in the same render, or "Not sent".
PENDING = ClientStateVar.create("chat_pending", default=[])
PENDING_NOW = "(refs['_client_state_chat_pending'] || [])"
PENDING_SET = "refs['_client_state_setChat_pending']"
_REFS = VarData(imports={"$/utils/state": [ImportVar(tag="refs")]})


def _script(code: str) -> rx.Var:
    """A handler written in JavaScript that reads or sets the pending list."""
    return rx.Var(code, _var_data=_REFS)


# This tab's notes of sends the server has not answered, oldest first (an older page kept
# one note, as an object).
READ_NOTES = (
    "((k) => { let n = null; "
    "try { n = JSON.parse(window.sessionStorage.getItem(k) || 'null'); } catch (_) {} "
    "return (Array.isArray(n) ? n : (n ? [n] : [])).filter("
    "(p) => p && typeof p.text === 'string' && typeof p.id === 'string'); })(" + PENDING_KEY + ")"
)


def _write_notes(notes: str) -> str:
    """JavaScript that keeps `notes` (an expression) as the tab's notes."""
    return (
        "try { const k = " + PENDING_KEY + "; const n = " + notes + "; "
        "if (n.length) window.sessionStorage.setItem(k, JSON.stringify(n)); "
        "else window.sessionStorage.removeItem(k); } catch (_) {} "
    )


# A fresh client id for a send (random; the fallback for old browsers is random enough).
NEW_CLIENT_ID = (
    "((window.crypto && crypto.randomUUID) ? crypto.randomUUID() : "
    "(Date.now().toString(36) + Math.random().toString(36).slice(2) + "
    "Math.random().toString(36).slice(2)))"
)
CLIENT_ID_FOR_TEXT = _script(
    "(e) => { const f = e.currentTarget; const text = f.elements['body'].value; "
    "const ids = f.__clientIds || (f.__clientIds = new Map()); let id = ids.get(text); "
    "if (!id) { id = " + NEW_CLIENT_ID + "; ids.set(text, id); } "
    "f.elements['client_id'].value = id; "
    "if (text.trim()) { "
    + _write_notes(
        "[..." + READ_NOTES + ".filter((p) => p.id !== id), { text, id, role: f.dataset.role }]"
        ".slice(-" + str(SENDS_KEPT) + ")"
    )
    + "} "
    "const show = " + PENDING_SET + "; const now = " + PENDING_NOW + "; "
    "if (show && text.trim() && !now.some((p) => p.id === id)) { "
    "show([...now, { id, text, pair: Number(f.dataset.pair) }].slice(-"
    + str(SENDS_KEPT)
    + ")); } }"
)
# Retry sends a refused text again from the composer, under a new client id (a refused
# send stored nothing, so no earlier attempt can be taken for it): the item loses its
# refusal and shows "Sending…" again until the server answers the new id. Discard takes it
# off the list (and forgets the note that would send it again after a reload).
RETRY_PENDING = _script(
    "(e) => { const id = e.currentTarget.dataset.clientId; "
    "const p = " + PENDING_NOW + ".find((x) => x.id === id); "
    "const f = document.getElementById('chat-form'); if (!p || !f) return; "
    "const again = "
    + NEW_CLIENT_ID
    + "; "
    + _write_notes(READ_NOTES + ".filter((x) => x.id !== id)")
    + "const show = "
    + PENDING_SET
    + "; "
    "if (show) show(" + PENDING_NOW + ".map((x) => x.id === id ? { ...x, id: again } : x)); "
    "f.elements['body'].value = p.text; "
    "(f.__clientIds || (f.__clientIds = new Map())).set(p.text, again); f.requestSubmit(); }"
)
DISCARD_PENDING = _script(
    "(e) => { const id = e.currentTarget.dataset.clientId; const show = " + PENDING_SET + "; "
    "if (show) show("
    + PENDING_NOW
    + ".filter((x) => x.id !== id)); "
    + _write_notes(READ_NOTES + ".filter((p) => p.id !== id)")
    + "}"
)


def _pending_note(resend: bool) -> str:
    return (
        "(() => { const f = document.getElementById('chat-form'); if (!f) return; "
        "let answered = []; "
        "try { answered = [...JSON.parse(f.dataset.sent || '[]'), "
        "...JSON.parse(f.dataset.refused || '[]')]; } catch (_) {} "
        "const done = new Set(answered); "
        "const open = " + READ_NOTES + ".filter("
        "(p) => p.role === f.dataset.role && !done.has(p.id)); "
        + _write_notes("open")
        + (
            "for (const p of open) { f.elements['body'].value = p.text; "
            "f.__clientIds = new Map([[p.text, p.id]]); f.requestSubmit(); } "
            if resend
            else ""
        )
        + "})()"
    )


RESEND_PENDING = _pending_note(resend=True)
FORGET_CONFIRMED = _pending_note(resend=False)


def _sender(m: rx.Var) -> rx.Var:
    mine = m["role"].to(str) == PAGE.pair["my_role"].to(str)
    return rx.cond(mine, "You", PAGE.pair["partner"].to(str))


# One message's bubble, stored or still on its way.
BUBBLE: dict[str, Any] = {
    "padding": "6px 10px",
    "border_radius": "10px",
    "max_width": "85%",
    "font_size": "14px",
}


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
        **BUBBLE,
    )


def pending_item(p: rx.Var) -> rx.Component:
    """A text this tab sent that the server has not stored (yet): "Sending…" until it
    answers, or "Not sent" with its reason, the text kept to retry or copy. Said in words,
    in the list's live region, not by colour alone."""
    client_id = p["id"].to(str)
    reason = TALK.refused.get(client_id, "").to(str)
    refused = reason != ""
    return rx.cond(
        (p["pair"].to(int) == PAGE.pair["id"].to(int)) & ~TALK.sent_ids.contains(client_id),
        rx.el.div(
            rx.el.div(
                rx.el.strong("You"),
                " · ",
                rx.cond(refused, rx.el.strong("Not sent: " + reason), rx.el.em("Sending…")),
                font_size="12px",
                color=rx.cond(refused, "var(--red-11)", "var(--gray-11)"),
            ),
            rx.el.p(p["text"], margin="0", white_space="pre-wrap", overflow_wrap="anywhere"),
            rx.cond(
                refused,
                rx.el.div(
                    rx.cond(
                        CHAT.can_send,
                        rx.button(
                            "Retry",
                            type="button",
                            size="1",
                            variant="soft",
                            custom_attrs={"data-client-id": client_id, "onClick": RETRY_PENDING},
                        ),
                    ),
                    rx.button(
                        "Discard",
                        type="button",
                        size="1",
                        variant="ghost",
                        color_scheme="gray",
                        custom_attrs={"data-client-id": client_id, "onClick": DISCARD_PENDING},
                    ),
                    display="flex",
                    gap="8px",
                    margin_top="4px",
                ),
            ),
            align_self="flex-end",
            border=rx.cond(refused, "1px solid var(--red-8)", "1px dashed var(--gray-8)"),
            **BUBBLE,
        ),
    )


def offline_notice() -> rx.Component:
    """Shown while the page cannot reach the server (Reflex's failed reconnection attempts;
    a connection back at the first try is no news). The live region is always there, so
    the notice is read out as it appears."""
    return rx.el.div(
        rx.cond(
            has_connection_errors,
            rx.callout(
                "Offline — messages will be sent when you're back",
                icon="wifi_off",
                color_scheme="amber",
                role="status",
                size="1",
            ),
        ),
        aria_live="polite",
        width="100%",
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
        busy=PAGE.reporting,
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


def keyed_mount(key: rx.Var, on_mount: Any) -> rx.Component:
    """An unseen element that sends `on_mount` when it appears, and again each time `key`
    changes. The key goes on a fragment around it: Reflex wraps an element with an event in
    a component of its own, puts the element's key inside that component, and runs the
    mount in the component's effect, so a key on the element itself re-mounted the element
    but never sent the event again."""
    return rx.fragment(rx.el.div(hidden=True, on_mount=on_mount), key=key)


def composer() -> rx.Component:
    """Stays in place once the chat closes (a block, the pair ended), read-only: the text
    the member had typed is kept to copy, not taken away unseen (theme.css hides an empty
    closed composer)."""
    return rx.form(
        rx.vstack(
            rx.el.label(
                rx.cond(CHAT.can_send, "Message", "Your unsent text (not sent)"),
                html_for="chat-body",
                font_weight="500",
            ),
            rx.el.textarea(
                id="chat-body",
                name="body",
                rows=2,
                read_only=~CHAT.can_send,
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
            rx.cond(
                CHAT.can_send,
                rx.flex(rx.spacer(), rx.button("Send", type="submit"), width="100%"),
            ),
            spacing="2",
            width="100%",
        ),
        id="chat-form",
        key=TALK.composer_key,
        # Runs before the form's own submit handler reads the fields.
        custom_attrs={
            "onSubmitCapture": CLIENT_ID_FOR_TEXT,
            "data-sent": TALK.sent_ids.to_string(),
            "data-refused": TALK.refused.keys().to_string(),
            "data-role": PAGE.pair["my_role"].to(str),
            "data-pair": PAGE.pair["id"].to(int),
            "data-closed": ~CHAT.can_send,
        },
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
            # Mounted as each hydration of the page ends (its load done, so the composer's
            # key is the server's): the first, and again after every reconnection.
            rx.cond(
                rx.State.is_hydrated,
                rx.el.div(hidden=True, on_mount=rx.call_script(RESEND_PENDING)),
            ),
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
                keyed_mount(TALK.shown_until, TALK.load_newer),
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
                    rx.foreach(PENDING.value.to(list[dict[str, Any]]), pending_item),
                    rx.cond(
                        (CHAT.messages.length() == 0)
                        & (TALK.earlier.length() == 0)
                        & (PENDING.value.to(list[dict[str, Any]]).length() == 0),
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
            offline_notice(),
            rx.cond(
                ~CHAT.can_send,
                rx.callout(
                    "You can no longer send messages in this chat.",
                    icon="info",
                    color_scheme="gray",
                ),
            ),
            composer(),
            keyed_mount(TALK.composer_key, rx.call_script(FORGET_CONFIRMED)),
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
        meetings_section(),
        rx.cond(_active() & PAGE.week["in_journey"].to(bool), check_in_card()),
        rx.cond(_can_complete() | _survey_due(), survey_card()),
        goals_section(),
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
