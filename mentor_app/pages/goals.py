"""The goals section of a pair's page, the link to it from the journey's goal steps, and
the closing survey's question about each goal."""

from __future__ import annotations

from typing import Any

import reflex as rx

from components.dialogs import confirm_dialog
from components.forms import SELECT_STYLE, error_for, form_alert
from components.layout import keep_alive
from mentor_app.services.goals import GOALS_MAX, NOTE_MAX, PROGRESS_LABELS, TEXT_MAX
from state.goals import PairGoalsLiveState, PairGoalsState
from state.journey import PairLiveState, PairPageState

GOALS = PairGoalsLiveState
FORM = PairGoalsState
PAGE = PairPageState
SECTION_ID = "goals"

# Scrolls to the goals and moves the focus there, without touching the URL (a new hash
# would be a navigation for the page's router).
TO_GOALS = rx.Var(
    "(e) => { const s = document.getElementById('" + SECTION_ID + "'); "
    "if (!s) return; e.preventDefault(); s.scrollIntoView({ block: 'start' }); "
    "s.focus({ preventScroll: true }); }"
)


def goals_link() -> rx.Component:
    """On a journey step about the goals: a link down to them."""
    return rx.el.a(
        "See your goals",
        href="#" + SECTION_ID,
        custom_attrs={"onClick": TO_GOALS},
        font_size="14px",
    )


def _is_mentee() -> rx.Var:
    return PAGE.pair["my_role"].to(str) == "mentee"


def _can_change() -> rx.Var:
    return (PairLiveState.status == "active") & GOALS.can_change


def _progress_select(field_id: rx.Var, name: str, current: rx.Var | str) -> rx.Component:
    return rx.el.select(
        *[rx.el.option(label, value=str(p)) for p, label in PROGRESS_LABELS.items()],
        id=field_id,
        name=name,
        default_value=current,
        style=SELECT_STYLE,
    )


def _field(
    label: rx.Var | str, field_id: rx.Var, control: rx.Component, error: Any
) -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=field_id, font_weight="500", font_size="0.9em"),
        control,
        error,
        spacing="1",
        width="100%",
    )


def _text_input(field_id: rx.Var | str, default: rx.Var | str = "") -> rx.Component:
    return rx.input(
        id=field_id, name="text", default_value=default, max_length=TEXT_MAX, width="100%"
    )


def _date_input(field_id: rx.Var | str, default: rx.Var | str = "") -> rx.Component:
    return rx.input(
        id=field_id, name="target_date", type="date", default_value=default, width="100%"
    )


def _who(entry: rx.Var) -> rx.Var:
    mine = entry["role"].to(str) == PAGE.pair["my_role"].to(str)
    return rx.cond(mine, "You", entry["name"].to(str))


def _history(goal: rx.Var) -> rx.Component:
    return rx.el.details(
        rx.el.summary(goal["history_label"].to(str), cursor="pointer", font_size="14px"),
        rx.el.ol(
            rx.foreach(
                goal["entries"].to(list[dict[str, str]]),
                lambda e: rx.el.li(
                    rx.text(
                        rx.el.strong(_who(e)),
                        " " + e["what"].to(str) + " · " + e["when"].to(str),
                        size="1",
                        color_scheme="gray",
                    ),
                    rx.cond(
                        e["note"].to(str) != "",
                        rx.text(
                            e["note"], size="2", white_space="pre-wrap", overflow_wrap="anywhere"
                        ),
                    ),
                    list_style="none",
                    padding_y="4px",
                    border_bottom="1px solid var(--gray-a4)",
                ),
            ),
            padding="0",
            margin="4px 0 0 0",
            aria_label="History of goal " + goal["position"].to(str),
        ),
    )


def _progress_form(goal: rx.Var) -> rx.Component:
    gid = goal["id"].to(str)
    return rx.form(
        rx.vstack(
            rx.el.input(type="hidden", name="goal_id", value=gid),
            _field(
                "How far has it got?",
                "goal-progress-" + gid,
                _progress_select(
                    "goal-progress-" + gid, "progress", goal["progress_value"].to(str)
                ),
                error_for(FORM.errors, "progress-" + gid),
            ),
            _field(
                "Note (optional)",
                "goal-note-" + gid,
                rx.text_area(
                    id="goal-note-" + gid, name="note", max_length=NOTE_MAX, rows="2", width="100%"
                ),
                error_for(FORM.errors, "note-" + gid),
            ),
            rx.button("Save progress", type="submit", loading=FORM.busy, disabled=FORM.busy),
            spacing="2",
            width="100%",
        ),
        key=FORM.form_key.to(str) + "-p-" + gid,
        on_submit=FORM.mark_progress,
        reset_on_submit=False,
        width="100%",
    )


def _comment_form(goal: rx.Var) -> rx.Component:
    gid = goal["id"].to(str)
    return rx.form(
        rx.vstack(
            rx.el.input(type="hidden", name="goal_id", value=gid),
            _field(
                "Your comment",
                "goal-comment-" + gid,
                rx.text_area(
                    id="goal-comment-" + gid,
                    name="note",
                    max_length=NOTE_MAX,
                    rows="2",
                    width="100%",
                ),
                error_for(FORM.errors, "note-c" + gid),
            ),
            form_alert(FORM.errors.get("form-c" + gid, "").to(str)),
            rx.button(
                "Add comment", type="submit", variant="soft", loading=FORM.busy, disabled=FORM.busy
            ),
            spacing="2",
            width="100%",
        ),
        key=FORM.form_key.to(str) + "-c-" + gid,
        on_submit=FORM.comment,
        reset_on_submit=False,
        width="100%",
    )


def _edit_form(goal: rx.Var) -> rx.Component:
    gid = goal["id"].to(str)
    return rx.form(
        rx.vstack(
            rx.el.input(type="hidden", name="goal_id", value=gid),
            _field(
                "Goal",
                "goal-text-" + gid,
                _text_input("goal-text-" + gid, goal["text"].to(str)),
                error_for(FORM.errors, "text-" + gid),
            ),
            _field(
                "Target date (optional)",
                "goal-date-" + gid,
                _date_input("goal-date-" + gid, goal["target_iso"].to(str)),
                error_for(FORM.errors, "target_date-" + gid),
            ),
            rx.flex(
                rx.button(
                    "Cancel",
                    type="button",
                    variant="soft",
                    color_scheme="gray",
                    on_click=FORM.cancel_edit,
                ),
                rx.button("Save goal", type="submit", loading=FORM.busy, disabled=FORM.busy),
                spacing="2",
                wrap="wrap",
            ),
            spacing="2",
            width="100%",
        ),
        key=FORM.form_key.to(str) + "-e-" + gid,
        on_submit=FORM.save_goal,
        reset_on_submit=False,
        width="100%",
    )


def _mentee_tools(goal: rx.Var) -> rx.Component:
    gid = goal["id"].to(str)
    return rx.flex(
        rx.button(
            "Edit",
            size="1",
            variant="soft",
            on_click=FORM.start_edit(gid),
            aria_label="Edit goal " + goal["position"].to(str),
        ),
        confirm_dialog(
            rx.button(
                "Remove",
                size="1",
                variant="ghost",
                color_scheme="red",
                aria_label="Remove goal " + goal["position"].to(str),
            ),
            title="Remove this goal?",
            description="“" + goal["text"].to(str) + "” and its history go for both of you.",
            confirm="Remove the goal",
            on_confirm=FORM.remove_goal(gid),
            destructive=True,
            key="remove-" + gid,
        ),
        spacing="2",
    )


def goal_card(goal: rx.Var) -> rx.Component:
    gid = goal["id"].to(str)
    editing = FORM.editing == gid
    return rx.el.li(
        rx.card(
            rx.vstack(
                rx.cond(
                    editing & _can_change() & _is_mentee(),
                    _edit_form(goal),
                    rx.vstack(
                        rx.heading(
                            "Goal " + goal["position"].to(str) + ": " + goal["text"].to(str),
                            size="3",
                            as_="h3",
                            overflow_wrap="anywhere",
                        ),
                        rx.cond(
                            goal["target"].to(str) != "",
                            rx.text("Target: " + goal["target"].to(str), size="2"),
                        ),
                        spacing="1",
                        width="100%",
                    ),
                ),
                rx.text("Progress: " + goal["progress_label"].to(str), size="2", weight="medium"),
                rx.progress(
                    value=goal["progress"].to(int),
                    max=100,
                    aria_label="Progress of goal " + goal["position"].to(str),
                    width="100%",
                ),
                form_alert(FORM.errors.get("form-" + gid, "").to(str)),
                rx.cond(_can_change() & _is_mentee() & ~editing, _mentee_tools(goal)),
                rx.cond(_can_change(), _progress_form(goal)),
                rx.cond(_can_change() & ~_is_mentee(), _comment_form(goal)),
                _history(goal),
                spacing="3",
                width="100%",
            ),
            width="100%",
        ),
        list_style="none",
    )


def _add_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.heading("Add a goal", size="3", as_="h3"),
            _field(
                "Goal",
                "goal-new-text",
                _text_input("goal-new-text"),
                error_for(FORM.errors, "text-new"),
            ),
            _field(
                "Target date (optional)",
                "goal-new-date",
                _date_input("goal-new-date"),
                error_for(FORM.errors, "target_date-new"),
            ),
            form_alert(FORM.errors.get("form-new", "").to(str)),
            rx.button("Add goal", type="submit", loading=FORM.busy, disabled=FORM.busy),
            spacing="2",
            width="100%",
        ),
        key=FORM.form_key.to(str) + "-new",
        on_submit=FORM.add_goal,
        reset_on_submit=False,
        width="100%",
    )


def _empty() -> rx.Component:
    return rx.cond(
        PairLiveState.status != "active",
        rx.text("No goals were set in this pair.", size="2", color_scheme="gray"),
        _empty_while_active(),
    )


def _empty_while_active() -> rx.Component:
    return rx.cond(
        _is_mentee(),
        rx.text(
            f"What do you want to be able to do, or to have done, by the end? Set one to "
            f"{GOALS_MAX} goals below, with a target date if you like. "
            + "Your mentor sees them, and you can both mark progress as you go.",
            size="2",
        ),
        rx.text(
            PAGE.pair["partner"].to(str)
            + " hasn't set any goals yet. Mentees set one to three at the start; they will "
            "show here, and you can mark progress and comment on each.",
            size="2",
        ),
    )


def goals_section() -> rx.Component:
    """The pair's goals, read when the section mounts (once per pair shown: its key)."""
    count = GOALS.goals.length()
    return rx.el.section(
        rx.vstack(
            rx.heading("Goals", size="5", as_="h2"),
            keep_alive("goals", FORM.keep_alive),
            rx.cond(
                FORM.message != "",
                rx.callout(FORM.message, icon="info", role="status", size="1"),
            ),
            rx.cond(
                GOALS.loaded,
                rx.vstack(
                    rx.cond(count == 0, _empty()),
                    rx.el.ol(
                        rx.foreach(GOALS.goals, goal_card),
                        padding="0",
                        margin="0",
                        display="grid",
                        gap="12px",
                        width="100%",
                        aria_label="Goals",
                    ),
                    rx.cond(
                        _can_change() & _is_mentee() & (count < GOALS_MAX),
                        rx.card(_add_form(), width="100%"),
                    ),
                    spacing="3",
                    width="100%",
                ),
                rx.flex(rx.spinner(), rx.text("Loading goals…", size="2"), spacing="2"),
            ),
            width="100%",
            spacing="3",
        ),
        id=SECTION_ID,
        tab_index=-1,
        key=PAGE.pair["id"].to(str),
        on_mount=FORM.load,
        width="100%",
        scroll_margin_top="16px",
        outline="none",
    )


def survey_goal_fields() -> list[rx.Component]:
    """In the closing survey: how far each goal got (every one answered)."""
    return [
        rx.foreach(
            GOALS.goals,
            lambda goal: rx.vstack(
                rx.el.label(
                    "How far did “" + goal["text"].to(str) + "” get?",
                    html_for="survey-goal-" + goal["id"].to(str),
                ),
                rx.el.select(
                    rx.el.option("Choose…", value=""),
                    *[rx.el.option(label, value=str(p)) for p, label in PROGRESS_LABELS.items()],
                    id="survey-goal-" + goal["id"].to(str),
                    name="goal-" + goal["id"].to(str),
                    default_value="",
                    style=SELECT_STYLE,
                ),
                error_for(PAGE.errors, "goal-" + goal["id"].to(str)),
                spacing="1",
                width="100%",
            ),
        )
    ]
