"""The pair page's Meetings section: the open proposal (the partner picks a time or
suggests others), the booked meetings in both members' zones with Download .ics,
Reschedule and Cancel, and the form to propose times."""

from __future__ import annotations

import reflex as rx

from components.dialogs import confirm_dialog, form_dialog
from components.forms import SELECT_STYLE, error_for, form_alert
from components.layout import keep_alive
from mentor_app.services.meetings import DURATION_DEFAULT, LINK_MAX, OPTIONS_MAX
from state.journey import PairLiveState, PairPageState
from state.meetings import MeetingsState
from state.meetings_live import MeetingsLiveState

LIVE = MeetingsLiveState
MINE = MeetingsState
PAGE = PairPageState
DURATIONS = (15, 30, 45, 60, 90, 120)


def _my_role() -> rx.Var:
    return PAGE.pair["my_role"].to(str)


def _for_me(item: rx.Var, prefix: str = "") -> rx.Var:
    """The member's own wording of a time (each is worded for the mentor and the mentee)."""
    return rx.cond(
        _my_role() == "mentor",
        item[prefix + "mentor"].to(str),
        item[prefix + "mentee"].to(str),
    )


def _partner() -> rx.Var:
    return PAGE.pair["partner"].to(str)


def video_link(link: rx.Var) -> rx.Component:
    """The link as plain text, linking to exactly that (https) address."""
    return rx.cond(
        link != "",
        rx.text(
            "Video call: ",
            rx.el.a(
                link,
                href=link,
                target="_blank",
                rel="noopener noreferrer nofollow",
                overflow_wrap="anywhere",
            ),
            size="2",
        ),
    )


def _datetime_field(n: int) -> rx.Component:
    field_id = f"meeting-time{n}"
    label = "Time 1" if n == 1 else f"Time {n} (optional)"
    return rx.vstack(
        rx.el.label(label, html_for=field_id, font_weight="500", font_size="0.9em"),
        rx.el.input(
            id=field_id,
            name=f"time{n}",
            type="datetime-local",
            required=n == 1,
            style=SELECT_STYLE,
        ),
        error_for(MINE.meeting_errors, f"time{n}"),
        spacing="1",
        width="100%",
    )


def _link_field(field_id: str, default: rx.Var | str = "") -> rx.Component:
    return rx.vstack(
        rx.el.label("Video call link (optional, https)", html_for=field_id, font_weight="500"),
        rx.el.input(
            id=field_id,
            name="video_link",
            type="url",
            inputmode="url",
            placeholder="https://",
            max_length=LINK_MAX,
            default_value=default,
            style=SELECT_STYLE,
        ),
        error_for(MINE.meeting_errors, "video_link"),
        spacing="1",
        width="100%",
    )


def propose_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.heading(
                rx.cond(
                    LIVE.proposal.contains("id"),
                    rx.cond(
                        LIVE.proposal["waiting_for"].to(str) == _my_role(),
                        "Suggest other times",
                        "Propose other times instead",
                    ),
                    "Propose times",
                ),
                size="3",
                as_="h3",
            ),
            rx.text(
                f"Up to {OPTIONS_MAX} times, in your time zone ("
                + PAGE.week["timezone"].to(str)
                + "). "
                + _partner()
                + " sees each one in theirs too.",
                size="2",
                color_scheme="gray",
            ),
            *[_datetime_field(n) for n in range(1, OPTIONS_MAX + 1)],
            error_for(MINE.meeting_errors, "times"),
            rx.vstack(
                rx.el.label("Length", html_for="meeting-duration", font_weight="500"),
                rx.el.select(
                    *[rx.el.option(f"{m} minutes", value=str(m)) for m in DURATIONS],
                    id="meeting-duration",
                    name="duration",
                    default_value=str(DURATION_DEFAULT),
                    style=SELECT_STYLE,
                ),
                error_for(MINE.meeting_errors, "duration"),
                spacing="1",
                width="100%",
            ),
            _link_field("meeting-link"),
            rx.el.label(
                rx.el.input(type="checkbox", name="weekly", value="yes", id="meeting-weekly"),
                " Repeat every week until the journey's last week",
                rx.cond(LIVE.last_day != "", " (" + LIVE.last_day + ")", ""),
                html_for="meeting-weekly",
                display="inline-flex",
                gap="6px",
                align_items="center",
            ),
            form_alert(MINE.meeting_errors.get("propose", "")),
            rx.flex(
                rx.button(
                    "Propose these times",
                    type="submit",
                    loading=MINE.proposing,
                    disabled=MINE.proposing,
                ),
                rx.cond(
                    MINE.suggesting,
                    rx.button(
                        "Never mind",
                        type="button",
                        variant="soft",
                        color_scheme="gray",
                        on_click=MINE.stop_suggesting,
                    ),
                ),
                spacing="3",
                wrap="wrap",
            ),
            spacing="3",
            width="100%",
        ),
        key=MINE.propose_key,
        on_submit=MINE.propose,
        reset_on_submit=False,
        width="100%",
        aria_label="Propose meeting times",
    )


def _option(option: rx.Var) -> rx.Component:
    waiting_on_me = LIVE.proposal["waiting_for"].to(str) == _my_role()
    return rx.el.li(
        rx.flex(
            rx.text(_for_me(option), size="2"),
            rx.cond(
                waiting_on_me,
                rx.button(
                    "Pick this time",
                    size="2",
                    on_click=MINE.accept(LIVE.proposal["id"].to(str), option["index"].to(str)),
                    aria_label="Pick " + _for_me(option),
                ),
            ),
            justify="between",
            align="center",
            gap="2",
            wrap="wrap",
        ),
        padding_y="4px",
    )


def proposal_card() -> rx.Component:
    p = LIVE.proposal
    waiting_on_me = p["waiting_for"].to(str) == _my_role()
    return rx.vstack(
        rx.heading(
            rx.cond(waiting_on_me, _partner() + " proposed times to meet", "Your proposed times"),
            size="3",
            as_="h3",
        ),
        rx.el.ul(rx.foreach(LIVE.options, _option), padding_left="1em", width="100%"),
        rx.text(
            p["duration"].to(str),
            rx.cond(p["weekly"].to(str) == "yes", " · every week, once booked", ""),
            size="2",
            color_scheme="gray",
        ),
        video_link(p["link"].to(str)),
        rx.cond(
            waiting_on_me,
            rx.flex(
                rx.button(
                    "Suggest other times",
                    variant="soft",
                    on_click=MINE.suggest_other_times,
                ),
                spacing="3",
            ),
            rx.flex(
                rx.text("Waiting for " + _partner() + " to pick a time.", size="2"),
                confirm_dialog(
                    rx.button("Withdraw", variant="soft", color_scheme="gray"),
                    title="Withdraw your proposed times?",
                    description=_partner() + " is told you withdrew them.",
                    confirm="Withdraw",
                    on_confirm=MINE.cancel_meeting(p["id"].to(str)),
                    cancel="Keep them",
                ),
                spacing="3",
                align="center",
                wrap="wrap",
            ),
        ),
        error_for(MINE.meeting_errors, "answer"),
        error_for(MINE.meeting_errors, "option"),
        spacing="2",
        width="100%",
        role="region",
        aria_label="Proposed times",
    )


def _booked(m: rx.Var) -> rx.Component:
    is_open = MINE.rescheduling == m["id"].to(str)
    return rx.box(
        rx.vstack(
            rx.text(
                rx.cond(m["repeat"].to(str) != "", "Next: ", "Booked: "),
                _for_me(m, "next_"),
                weight="medium",
            ),
            rx.cond(
                m["repeat"].to(str) != "",
                rx.text(
                    m["repeat"].to(str) + ", from " + _for_me(m), size="2", color_scheme="gray"
                ),
            ),
            rx.text(m["duration"].to(str), size="2", color_scheme="gray"),
            video_link(m["link"].to(str)),
            rx.flex(
                rx.el.a(
                    rx.icon("calendar-plus", size=16),
                    "Download .ics",
                    href="/meetings/" + m["id"].to(str) + ".ics",
                    download="mentoring-meeting.ics",
                    custom_attrs={"reloadDocument": True},
                    display="inline-flex",
                    align_items="center",
                    gap="0.4em",
                    font_weight="500",
                    color="var(--accent-11)",
                ),
                rx.button(
                    "Reschedule",
                    variant="soft",
                    on_click=MINE.open_reschedule(m["id"].to(str)),
                ),
                confirm_dialog(
                    rx.button("Cancel meeting", variant="soft", color_scheme="red"),
                    title="Cancel this meeting?",
                    description=rx.cond(
                        m["repeat"].to(str) != "",
                        "Every week of it is cancelled; ",
                        "",
                    )
                    + _partner()
                    + " is told, and both calendars get the cancellation.",
                    confirm="Cancel the meeting",
                    on_confirm=MINE.cancel_meeting(m["id"].to(str)),
                    destructive=True,
                    cancel="Keep it",
                ),
                spacing="3",
                align="center",
                wrap="wrap",
            ),
            form_dialog(
                None,
                title="Reschedule the meeting",
                description="A new time in your time zone ("
                + PAGE.week["timezone"].to(str)
                + "), or a new link. Both calendars get the change.",
                fields=[
                    rx.el.input(type="hidden", name="meeting_id", value=m["id"].to(str)),
                    rx.el.label("New time", html_for="reschedule-time", font_weight="500"),
                    rx.el.input(
                        id="reschedule-time", name="time", type="datetime-local", style=SELECT_STYLE
                    ),
                    error_for(MINE.meeting_errors, "time"),
                    _link_field("reschedule-link", m["link"].to(str)),
                ],
                error=MINE.meeting_errors.get("reschedule", ""),
                submit="Save the change",
                on_submit=MINE.reschedule,
                busy=MINE.moving,
                open=is_open,
                on_open_change=MINE.set_reschedule_open,
                key=m["id"].to(str),
            ),
            spacing="2",
            width="100%",
        ),
        padding="10px",
        border="1px solid var(--gray-a5)",
        border_radius="var(--radius-3)",
        width="100%",
    )


def meetings_section() -> rx.Component:
    """Placed on the pair page while the pair is active; loads itself when it appears."""
    has_proposal = LIVE.proposal.contains("id")
    waiting_on_me = LIVE.proposal["waiting_for"].to(str) == _my_role()
    return rx.cond(
        PairLiveState.status == "active",
        rx.card(
            rx.vstack(
                rx.heading("Meetings", size="4", as_="h2"),
                rx.cond(
                    MINE.meeting_message != "",
                    rx.callout(MINE.meeting_message, icon="info", role="status"),
                ),
                rx.cond(
                    LIVE.booked.length() > 0,
                    rx.vstack(rx.foreach(LIVE.booked, _booked), spacing="3", width="100%"),
                    rx.text("No meeting booked yet.", size="2", color_scheme="gray"),
                ),
                rx.cond(has_proposal, proposal_card()),
                rx.cond(~has_proposal | ~waiting_on_me | MINE.suggesting, propose_form()),
                keep_alive("meetings", MINE.keep_meetings_alive),
                spacing="4",
                width="100%",
            ),
            width="100%",
            id="meetings",
            on_mount=MINE.load_meetings,
        ),
    )
