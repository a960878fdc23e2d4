"""The program wizard (choose a template, then details, questions, journey, review)."""

from typing import Any

import reflex as rx

from components.dialogs import confirm_dialog, form_dialog
from components.forms import error_for, form_alert, text_area, text_field
from components.layout import not_found_notice
from components.paging import pager, scroll_region
from components.text import count_var
from mentor_app.pages.common import shell
from state.programs import (
    QUESTION_TYPES,
    TEMPLATE_CHOICES,
    WIZARD_STEPS,
    NewProgramState,
    ProgramPageState,
    WizardState,
)


def progress(current: rx.Var) -> rx.Component:
    """The five steps, the current one marked (also for screen readers)."""
    return rx.el.ol(
        *[
            rx.el.li(
                rx.badge(
                    f"{i}. {name}",
                    variant=rx.cond(current == i, "solid", "soft"),
                    color_scheme=rx.cond(current >= i, "teal", "gray"),
                    size="2",
                ),
                aria_current=rx.cond(current == i, "step", "false"),
                list_style="none",
            )
            for i, name in enumerate(WIZARD_STEPS, start=1)
        ],
        aria_label="Wizard progress",
        style={"display": "flex", "flex_wrap": "wrap", "gap": "0.5em", "padding": "0"},
    )


def denied(message: rx.Var) -> rx.Component:
    return rx.vstack(
        rx.heading("You can't create a program here", size="6", as_="h1"),
        rx.callout(message, icon="lock", color_scheme="red", role="alert"),
        rx.link("Back to My groups", href="/groups"),
    )


def template_card(t: dict) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(t["title"], size="4", as_="h2"),
            rx.text(t["description"]),
            rx.text(t["weeks"], size="2", color_scheme="gray"),
            rx.button(
                f"Use {t['title']}",
                on_click=NewProgramState.choose(t["key"]),
                loading=NewProgramState.starting == t["key"],
            ),
            spacing="2",
        ),
        width="100%",
    )


def new_program() -> rx.Component:
    return shell(
        rx.cond(
            NewProgramState.denied != "",
            denied(NewProgramState.denied),
            rx.vstack(
                rx.heading("New mentorship program", size="7", as_="h1"),
                progress(rx.Var.create(1)),
                rx.text("Step 1 of 5: choose a template. You can change everything later."),
                *[template_card(t) for t in TEMPLATE_CHOICES],
                spacing="4",
                width="100%",
            ),
        )
    )


def details_step() -> rx.Component:
    errors = WizardState.errors
    d = WizardState.details
    return rx.form(
        rx.vstack(
            rx.heading("Details", size="5", as_="h2"),
            text_field(
                "Title",
                "title",
                error=errors.get("title", ""),
                default_value=d["title"],
                max_length=120,
            ),
            text_area(
                "Description",
                "description",
                error=errors.get("description", ""),
                default_value=d["description"],
                max_length=4000,
                rows="4",
            ),
            text_field(
                "Start date",
                "start_date",
                type="date",
                error=errors.get("start_date", ""),
                default_value=d["start_date"],
            ),
            text_field(
                "Length in weeks",
                "length_weeks",
                type="number",
                error=errors.get("length_weeks", ""),
                default_value=d["length_weeks"],
            ),
            text_field(
                "Mentor capacity (most mentees per mentor)",
                "mentor_capacity_max",
                type="number",
                error=errors.get("mentor_capacity_max", ""),
                default_value=d["mentor_capacity_max"],
            ),
            rx.flex(
                rx.spacer(),
                rx.button("Next", type="submit", loading=WizardState.saving),
                width="100%",
            ),
            spacing="3",
            width="100%",
        ),
        on_submit=WizardState.save_details,
        reset_on_submit=False,
        width="100%",
    )


def question_editor(q: rx.Var, i: rx.Var) -> rx.Component:
    prefix = "Question " + (i + 1).to(str)
    errors = WizardState.errors
    return rx.card(
        rx.vstack(
            rx.flex(
                rx.badge(q["role"]),
                rx.text(prefix, weight="bold"),
                rx.spacer(),
                rx.icon_button(
                    rx.icon("arrow_up"),
                    size="1",
                    variant="soft",
                    type="button",
                    aria_label="Move " + prefix + " up",
                    on_click=WizardState.move_question(i, -1),
                ),
                rx.icon_button(
                    rx.icon("arrow_down"),
                    size="1",
                    variant="soft",
                    type="button",
                    aria_label="Move " + prefix + " down",
                    on_click=WizardState.move_question(i, 1),
                ),
                rx.icon_button(
                    rx.icon("trash_2"),
                    size="1",
                    variant="soft",
                    color_scheme="red",
                    type="button",
                    aria_label="Remove " + prefix,
                    on_click=WizardState.remove_question(i),
                ),
                spacing="2",
                align="center",
                width="100%",
            ),
            rx.el.label(prefix + " text", html_for="q-text-" + q["id"].to(str), font_size="0.9em"),
            rx.input(
                id="q-text-" + q["id"].to(str),
                default_value=q["text"],
                max_length=300,
                on_blur=lambda v: WizardState.set_question(i, "text", v),
                width="100%",
            ),
            rx.el.label(prefix + " type", html_for="q-type-" + q["id"].to(str), font_size="0.9em"),
            rx.el.select(
                *[rx.el.option(t["label"], value=t["value"]) for t in QUESTION_TYPES],
                id="q-type-" + q["id"].to(str),
                value=q["type"],
                on_change=lambda v: WizardState.set_question(i, "type", v),
            ),
            rx.cond(
                q["is_choice"],
                rx.vstack(
                    rx.el.label(
                        prefix + " options (one per line)",
                        html_for="q-opts-" + q["id"].to(str),
                        font_size="0.9em",
                    ),
                    rx.text_area(
                        id="q-opts-" + q["id"].to(str),
                        default_value=q["options_text"],
                        on_blur=lambda v: WizardState.set_question(i, "options_text", v),
                        rows="3",
                        width="100%",
                    ),
                    width="100%",
                    spacing="1",
                ),
            ),
            rx.flex(
                rx.el.label(
                    rx.el.input(
                        type="checkbox",
                        checked=q["required"].to(bool),
                        on_change=lambda v: WizardState.set_question(i, "required", v),
                    ),
                    " Required",
                ),
                rx.el.label(
                    rx.el.input(
                        type="checkbox",
                        checked=q["for_matching"].to(bool),
                        on_change=lambda v: WizardState.set_question(i, "for_matching", v),
                    ),
                    " Used for matching",
                ),
                spacing="4",
            ),
            error_for(errors, "questions." + i.to(str)),
            spacing="2",
            width="100%",
        ),
        key=q["id"],
        width="100%",
    )


# Every question card and journey week has its own controls (about eight a question): a
# keyboard user skips past them to Back and Next with one link (WCAG's "bypass blocks").
STEP_BUTTONS_ID = "wizard-step-buttons"
FOCUS_STEP_BUTTONS: rx.Var[Any] = rx.Var(
    "(e) => { e.preventDefault(); const t = document.getElementById('"
    + STEP_BUTTONS_ID
    + "'); if (t) { t.focus(); } }"
)


def skip_to_step_buttons(past: str) -> rx.Component:
    """A link to the step's Back and Next, before a long list of editors. It moves the focus
    itself: a page-internal #fragment would be a navigation for the app's router."""
    return rx.el.a(
        f"Skip {past}, to Back and Next",
        href="#" + STEP_BUTTONS_ID,
        custom_attrs={"onClick": FOCUS_STEP_BUTTONS},
        font_size="var(--font-size-2)",
        color="var(--accent-11)",
        text_decoration="underline",
        width="fit-content",
    )


def step_buttons(*buttons: rx.Component) -> rx.Component:
    """The step's Back and Next; the skip link's target, so focusable by script only."""
    return rx.flex(
        *buttons,
        id=STEP_BUTTONS_ID,
        role="group",
        aria_label="Step buttons",
        tab_index=-1,
        width="100%",
    )


def questions_step() -> rx.Component:
    return rx.vstack(
        rx.heading("Sign-up questions", size="5", as_="h2"),
        rx.text(
            "Mentors and mentees answer their own questions. Choice questions marked "
            "“used for matching” drive the pairing suggestions.",
            size="2",
        ),
        skip_to_step_buttons("the questions"),
        form_alert(WizardState.errors.get("questions", "")),
        rx.foreach(WizardState.questions, question_editor),
        rx.flex(
            rx.button(
                "Add mentor question",
                variant="soft",
                type="button",
                on_click=WizardState.add_question("mentor"),
            ),
            rx.button(
                "Add mentee question",
                variant="soft",
                type="button",
                on_click=WizardState.add_question("mentee"),
            ),
            spacing="3",
            wrap="wrap",
        ),
        step_buttons(
            rx.button("Back", variant="outline", on_click=WizardState.save_questions(2)),
            rx.spacer(),
            rx.button("Next", loading=WizardState.saving, on_click=WizardState.save_questions(4)),
        ),
        spacing="3",
        width="100%",
    )


def step_editor(s: rx.Var, i: rx.Var) -> rx.Component:
    week = "Week " + (i + 1).to(str)
    errors = WizardState.errors
    key = "journey." + i.to(str)
    return rx.card(
        rx.vstack(
            rx.flex(
                rx.text(week, weight="bold"),
                rx.spacer(),
                rx.icon_button(
                    rx.icon("trash_2"),
                    size="1",
                    variant="soft",
                    color_scheme="red",
                    type="button",
                    aria_label="Remove " + week,
                    on_click=WizardState.remove_step(i),
                ),
                width="100%",
            ),
            rx.el.label(week + " title", html_for="s-title-" + i.to(str), font_size="0.9em"),
            rx.input(
                id="s-title-" + i.to(str),
                default_value=s["title"],
                max_length=120,
                on_blur=lambda v: WizardState.set_step(i, "title", v),
                width="100%",
            ),
            rx.el.label(week + " focus", html_for="s-focus-" + i.to(str), font_size="0.9em"),
            rx.text_area(
                id="s-focus-" + i.to(str),
                default_value=s["focus"],
                rows="2",
                on_blur=lambda v: WizardState.set_step(i, "focus", v),
                width="100%",
            ),
            rx.el.label(
                week + " prompts (one per line)",
                html_for="s-prompts-" + i.to(str),
                font_size="0.9em",
            ),
            rx.text_area(
                id="s-prompts-" + i.to(str),
                default_value=s["prompts_text"],
                rows="3",
                on_blur=lambda v: WizardState.set_step(i, "prompts_text", v),
                width="100%",
            ),
            rx.checkbox(
                week + " is about the mentee's goals (pairs see a link to them)",
                default_checked=s["goal"].to(bool),
                on_change=lambda v: WizardState.set_step_goal(i, v),
                size="2",
            ),
            error_for(errors, key),
            spacing="1",
            width="100%",
        ),
        key=s["week"].to(str) + "-" + s["title"].to(str),
        width="100%",
    )


def journey_step() -> rx.Component:
    return rx.vstack(
        rx.heading("Journey", size="5", as_="h2"),
        rx.text(
            "One step a week. Pairs see each week's focus and prompts on their page.", size="2"
        ),
        skip_to_step_buttons("the weeks"),
        form_alert(WizardState.errors.get("journey", "")),
        rx.foreach(WizardState.journey, step_editor),
        rx.button("Add week", variant="soft", type="button", on_click=WizardState.add_step),
        step_buttons(
            rx.button("Back", variant="outline", on_click=WizardState.save_journey(3)),
            rx.spacer(),
            rx.button("Next", loading=WizardState.saving, on_click=WizardState.save_journey(5)),
        ),
        spacing="3",
        width="100%",
    )


def review_step() -> rx.Component:
    d = WizardState.details
    return rx.vstack(
        rx.heading("Review and publish", size="5", as_="h2"),
        rx.data_list.root(
            rx.data_list.item(rx.data_list.label("Title"), rx.data_list.value(d["title"])),
            rx.data_list.item(
                rx.data_list.label("Start date"), rx.data_list.value(d["start_date"])
            ),
            rx.data_list.item(
                rx.data_list.label("Length"),
                rx.data_list.value(count_var(d["length_weeks"], "week")),
            ),
            rx.data_list.item(
                rx.data_list.label("Mentor capacity"),
                rx.data_list.value("up to " + count_var(d["mentor_capacity_max"], "mentee")),
            ),
            rx.data_list.item(
                rx.data_list.label("Questions"),
                rx.data_list.value(WizardState.questions.length().to(str)),
            ),
            rx.data_list.item(
                rx.data_list.label("Journey"),
                rx.data_list.value(count_var(WizardState.journey.length(), "week")),
            ),
        ),
        rx.el.ol(rx.foreach(WizardState.journey, lambda s: rx.el.li(s["title"]))),
        rx.flex(
            rx.button("Back", variant="outline", on_click=WizardState.back_to(4)),
            rx.spacer(),
            rx.button("Publish", on_click=WizardState.publish, size="3"),
            width="100%",
        ),
        spacing="3",
        width="100%",
    )


def wizard() -> rx.Component:
    return shell(
        rx.cond(
            WizardState.denied != "",
            denied(WizardState.denied),
            rx.cond(
                WizardState.loaded,
                rx.vstack(
                    rx.heading("New mentorship program", size="7", as_="h1"),
                    progress(WizardState.step),
                    form_alert(WizardState.errors.get("form", "")),
                    rx.match(
                        WizardState.step,
                        (2, details_step()),
                        (3, questions_step()),
                        (4, journey_step()),
                        review_step(),
                    ),
                    rx.link("Save and leave", href=WizardState.group_href, size="2"),
                    spacing="4",
                    width="100%",
                ),
                rx.flex(rx.spinner(), rx.text("Loading the draft…"), spacing="2"),
            ),
        )
    )


def answer_input(q: rx.Var) -> rx.Component:
    label = rx.cond(q["required"], q["text"].to(str) + " (required)", q["text"])
    choices = rx.foreach(
        q["options"].to(list[dict[str, Any]]),
        lambda o: rx.el.label(
            rx.el.input(
                type=rx.cond(q["type"] == "single_choice", "radio", "checkbox"),
                name=rx.cond(q["type"] == "single_choice", "a-" + q["id"].to(str), o["id"]),
                value=o["value"],
                default_checked=o["checked"],
            ),
            " ",
            o["value"],
            display="block",
        ),
    )
    return rx.el.fieldset(
        rx.el.legend(label, font_weight="500"),
        rx.match(
            q["type"],
            (
                "short_text",
                rx.input(
                    name="a-" + q["id"].to(str),
                    default_value=q["value"],
                    aria_label=q["text"],
                    max_length=2000,
                ),
            ),
            (
                "long_text",
                rx.text_area(
                    name="a-" + q["id"].to(str),
                    default_value=q["value"],
                    aria_label=q["text"],
                    max_length=2000,
                    rows="3",
                ),
            ),
            choices,
        ),
        error_for(ProgramPageState.errors, "answers." + q["id"].to(str)),
        border="none",
        padding="0",
        margin="0",
    )


def application_form() -> rx.Component:
    return rx.card(
        rx.form(
            rx.vstack(
                rx.heading(
                    rx.cond(
                        ProgramPageState.form_role == "mentor",
                        "Sign up as mentor",
                        "Sign up as mentee",
                    ),
                    size="5",
                    as_="h2",
                ),
                form_alert(ProgramPageState.errors.get("form", "")),
                rx.foreach(ProgramPageState.form_questions, answer_input),
                rx.cond(
                    ProgramPageState.form_role == "mentor",
                    rx.vstack(
                        rx.el.label("How many mentees can you take?", html_for="field-capacity"),
                        rx.el.select(
                            rx.foreach(
                                ProgramPageState.capacity_choices,
                                lambda n: rx.el.option(n, value=n),
                            ),
                            id="field-capacity",
                            name="capacity",
                            default_value=rx.cond(
                                ProgramPageState.mine.contains("capacity"),
                                ProgramPageState.mine["capacity"],
                                "1",
                            ),
                        ),
                        error_for(ProgramPageState.errors, "capacity"),
                        spacing="1",
                    ),
                ),
                rx.el.label(
                    rx.el.input(
                        type="checkbox",
                        name="share_answers",
                        default_checked=ProgramPageState.mine.get("share", "yes") != "no",
                    ),
                    " Show my answers to the person I'm paired with",
                ),
                rx.flex(
                    rx.button(
                        "Cancel",
                        type="button",
                        variant="outline",
                        on_click=ProgramPageState.close_form,
                    ),
                    rx.spacer(),
                    rx.button("Send application", type="submit"),
                    width="100%",
                ),
                spacing="4",
                width="100%",
            ),
            on_submit=ProgramPageState.submit_application,
            reset_on_submit=False,
            width="100%",
        ),
        width="100%",
    )


def my_application() -> rx.Component:
    mine = ProgramPageState.mine
    return rx.card(
        rx.vstack(
            rx.heading("Your application", size="5", as_="h2"),
            rx.text(
                "You signed up as ",
                rx.text.strong(mine["role"]),
                rx.cond(
                    mine["role"] == "mentor",
                    " for up to " + count_var(mine["capacity"], "mentee"),
                    "",
                ),
                ".",
            ),
            rx.foreach(
                ProgramPageState.my_answers,
                lambda a: rx.box(
                    rx.text(a["question"], size="2", color_scheme="gray"), rx.text(a["answer"])
                ),
            ),
            rx.cond(
                (ProgramPageState.program["status"] == "active") & (mine["role"] == "mentor"),
                capacity_form(),
            ),
            rx.flex(
                rx.cond(
                    ProgramPageState.program["is_open"],
                    rx.button(
                        "Edit application",
                        variant="soft",
                        on_click=ProgramPageState.open_form(mine["role"]),
                    ),
                ),
                confirm_dialog(
                    rx.button("Withdraw", color_scheme="red", variant="outline"),
                    title="Withdraw your application?",
                    description=rx.cond(
                        ProgramPageState.program["is_open"],
                        "You can sign up again while sign-ups are open.",
                        "You leave the waiting list. If you are in a pair, end the pair "
                        "from its page first.",
                    ),
                    confirm="Withdraw",
                    on_confirm=ProgramPageState.withdraw,
                    destructive=True,
                ),
                spacing="3",
            ),
            spacing="2",
        ),
        width="100%",
    )


def capacity_form() -> rx.Component:
    """A mentor's capacity while the program runs."""
    return rx.form(
        rx.flex(
            rx.el.label("Mentees I can take", html_for="running-capacity"),
            rx.el.select(
                rx.foreach(ProgramPageState.capacity_choices, lambda n: rx.el.option(n, value=n)),
                id="running-capacity",
                name="capacity",
                default_value=ProgramPageState.mine["capacity"].to(str),
                key=ProgramPageState.mine["capacity"].to(str),
            ),
            rx.button("Save capacity", type="submit", variant="soft"),
            spacing="3",
            align="center",
            wrap="wrap",
        ),
        on_submit=ProgramPageState.change_capacity,
        reset_on_submit=False,
    )


def remove_dialog(application: rx.Var) -> rx.Component:
    """Remove one application, with the reason the member is told."""
    field_id = "remove-reason-" + application["id"].to(str)
    return form_dialog(
        rx.button(
            "Remove",
            size="1",
            color_scheme="red",
            variant="outline",
            aria_label="Remove the application of " + application["name"].to(str),
        ),
        title="Remove " + application["name"].to(str) + "'s application?",
        description="They leave this program's waiting list and are told your reason. "
        "Someone in an active pair is removed once their pair has ended.",
        fields=[
            rx.el.input(type="hidden", name="enrollment_id", value=application["id"]),
            rx.el.label("Reason (the member is told)", html_for=field_id),
            rx.text_area(
                id=field_id, name="reason", max_length=500, rows="2", width="100%", required=True
            ),
            rx.cond(
                ProgramPageState.message != "",
                rx.text(ProgramPageState.message, role="alert", size="2"),
            ),
        ],
        # Stays open until the removal is done (the row then loses its Remove button and
        # the dialog with it) or refused.
        submit="Remove the application",
        on_submit=ProgramPageState.remove_application,
        destructive=True,
        busy=ProgramPageState.removing,
        cancel="Keep the application",
        reset_on_submit=True,
        key=application["id"].to(str),
    )


def applications_section(role: str, title: str) -> rx.Component:
    """One role's applications, a page at a time (active ones first)."""
    rows = getattr(ProgramPageState, f"{role}_applications")
    info = getattr(ProgramPageState, f"{role}_applications_info")
    busy = ProgramPageState.turning == role
    headers = ["Name", *(["Capacity"] if role == "mentor" else []), "Status", "Action"]

    def row(a: rx.Var) -> rx.Component:
        return rx.table.row(
            rx.table.cell(a["name"]),
            *([rx.table.cell(a["capacity"])] if role == "mentor" else []),
            rx.table.cell(a["status"]),
            rx.table.cell(rx.cond(a["status"] == "active", remove_dialog(a), "")),
        )

    return rx.vstack(
        rx.heading(title + " (" + info["total"].to(int).to_string() + ")", size="3", as_="h3"),
        rx.cond(
            rows.length() > 0,
            rx.vstack(
                scroll_region(
                    title,
                    rx.table.root(
                        rx.table.header(
                            rx.table.row(*[rx.table.column_header_cell(h) for h in headers])
                        ),
                        rx.table.body(rx.foreach(rows, row)),
                        width="100%",
                    ),
                    busy=busy,
                ),
                pager(
                    title + " pages",
                    info,
                    on_previous=ProgramPageState.previous_applications(role),
                    on_next=ProgramPageState.next_applications(role),
                ),
                spacing="2",
                width="100%",
            ),
            rx.text(f"No {role} applications yet.", color_scheme="gray", size="2"),
        ),
        spacing="2",
        width="100%",
    )


def admin_panel() -> rx.Component:
    p = ProgramPageState.program
    return rx.card(
        rx.vstack(
            rx.heading("Applications", size="5", as_="h2"),
            rx.text(
                "Mentors: "
                + ProgramPageState.counts.get("mentor", 0).to(str)
                + " · Mentees: "
                + ProgramPageState.counts.get("mentee", 0).to(str),
                aria_label="Application counts",
            ),
            applications_section("mentor", "Mentor applications"),
            applications_section("mentee", "Mentee applications"),
            rx.flex(
                rx.cond(
                    p["is_open"].to(bool) | (p["status"] == "active"),
                    rx.link(
                        rx.button("Open the pairing workspace", variant="soft"),
                        href="/programs/" + p["id"].to(str) + "/pairing",
                    ),
                ),
                rx.cond(
                    p["status"] != "draft",
                    rx.link(
                        rx.button("Program dashboard", variant="soft"),
                        href="/programs/" + p["id"].to(str) + "/dashboard",
                    ),
                ),
                spacing="3",
                wrap="wrap",
            ),
            rx.match(
                p["next_status"],
                (
                    "active",
                    confirm_dialog(
                        rx.button("Start the program"),
                        title="Start the program?",
                        description="Sign-ups close and pairs start their journeys.",
                        confirm="Start the program",
                        on_confirm=ProgramPageState.advance,
                    ),
                ),
                (
                    "closed",
                    confirm_dialog(
                        rx.button("Close the program", color_scheme="red", variant="soft"),
                        title="Close the program?",
                        description="The program ends for everyone. This can't be undone.",
                        confirm="Close the program",
                        on_confirm=ProgramPageState.advance,
                        destructive=True,
                    ),
                ),
                rx.fragment(),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def program_page() -> rx.Component:
    p = ProgramPageState.program
    return shell(
        rx.cond(
            ProgramPageState.not_found,
            not_found_notice(
                "Program not found", "This program does not exist, or you can't see it."
            ),
            rx.cond(
                p.contains("id"),
                rx.vstack(
                    rx.heading(p["title"], size="7", as_="h1"),
                    rx.flex(
                        rx.badge(p["status"], size="2"),
                        rx.link(p["group_name"], href=p["group_href"]),
                        rx.text(
                            "Starts " + p["start_date"].to(str) + " · " + p["length"].to(str),
                            size="2",
                        ),
                        spacing="3",
                        wrap="wrap",
                        align="center",
                    ),
                    rx.text(p["description"], white_space="pre-wrap"),
                    rx.cond(
                        ProgramPageState.message != "",
                        rx.callout(ProgramPageState.message, role="status"),
                    ),
                    rx.cond(
                        ~p["is_member"].to(bool),
                        rx.callout(
                            rx.text(
                                "Join the group first to sign up. ",
                                rx.link("Go to " + p["group_name"].to(str), href=p["group_href"]),
                            ),
                            icon="info",
                        ),
                    ),
                    rx.cond(
                        ProgramPageState.form_role != "",
                        application_form(),
                        rx.cond(
                            ProgramPageState.mine.contains("id"),
                            my_application(),
                            rx.cond(
                                p["is_open"].to(bool) & p["is_member"].to(bool),
                                rx.flex(
                                    rx.button(
                                        "Sign up as mentor",
                                        size="3",
                                        on_click=ProgramPageState.open_form("mentor"),
                                    ),
                                    rx.button(
                                        "Sign up as mentee",
                                        size="3",
                                        variant="outline",
                                        on_click=ProgramPageState.open_form("mentee"),
                                    ),
                                    spacing="3",
                                    wrap="wrap",
                                ),
                            ),
                        ),
                    ),
                    rx.cond(p["is_admin"].to(bool), admin_panel()),
                    rx.heading("The journey", size="5", as_="h2"),
                    rx.el.ol(
                        rx.foreach(
                            ProgramPageState.journey,
                            lambda s: rx.el.li(
                                rx.text.strong(
                                    "Week " + s["week"].to(str) + ": " + s["title"].to(str)
                                ),
                                rx.text(s["focus"], size="2", color_scheme="gray"),
                            ),
                        )
                    ),
                    spacing="4",
                    width="100%",
                ),
                rx.flex(rx.spinner(), rx.text("Loading…"), spacing="2"),
            ),
        )
    )
