"""Labelled form fields with their error shown next to them."""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex.vars import ObjectVar, Var


def field_error(field_id: str, error: Var[str]) -> rx.Component:
    return rx.cond(
        error != "",
        rx.text(error, id=f"{field_id}-error", color_scheme="red", size="2", role="alert"),
    )


def error_for(errors: ObjectVar[dict[str, str]], key: Var[str] | str) -> rx.Component:
    """The message filed under `key` in a dict of field errors, when there is one."""
    return rx.cond(
        errors.contains(key),
        rx.text(errors[key], color_scheme="red", size="2", role="alert"),
    )


def labelled(label: str, field_id: str, control: rx.Component, error: Var[str]) -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=field_id, font_weight="500", font_size="0.9em"),
        control,
        field_error(field_id, error),
        spacing="1",
        width="100%",
    )


def text_field(
    label: str,
    name: str,
    *,
    error: Var[str],
    type: str = "text",
    max_length: int | None = None,
    **props: Any,
) -> rx.Component:
    field_id = f"field-{name}"
    control = rx.input(
        id=field_id,
        name=name,
        type=type,
        max_length=max_length,
        aria_invalid=rx.cond(error != "", "true", "false"),
        aria_describedby=f"{field_id}-error",
        width="100%",
        size="3",
        **props,
    )
    return labelled(label, field_id, control, error)


def text_area(
    label: str, name: str, *, error: Var[str], max_length: int | None = None, **props: Any
) -> rx.Component:
    field_id = f"field-{name}"
    control = rx.text_area(
        id=field_id,
        name=name,
        max_length=max_length,
        aria_invalid=rx.cond(error != "", "true", "false"),
        aria_describedby=f"{field_id}-error",
        width="100%",
        **props,
    )
    return labelled(label, field_id, control, error)


SELECT_STYLE = {
    "width": "100%",
    "padding": "0.5em",
    "border_radius": "var(--radius-2)",
    "border": "1px solid var(--gray-a7)",
    "background": "var(--color-surface)",
    "font_size": "1em",
}


def select_field(
    label: str, name: str, *, options: list[dict[str, str]], error: Var[str], placeholder: str
) -> rx.Component:
    """A native <select>: labelled, keyboard-friendly and sent with the form."""
    field_id = f"field-{name}"
    control = rx.el.select(
        rx.el.option(placeholder, value="", disabled=True),
        *[rx.el.option(o["label"], value=o["value"]) for o in options],
        id=field_id,
        name=name,
        default_value="",
        required=True,
        aria_invalid=rx.cond(error != "", "true", "false"),
        aria_describedby=f"{field_id}-error",
        style=SELECT_STYLE,
    )
    return labelled(label, field_id, control, error)


def member_select(
    field_id: str, name: str, options: Var[list[dict[str, str]]], invalid: Var[bool]
) -> list[rx.Component]:
    """The label "New admin" and a native <select> of members ({"label", "value"} each),
    nobody chosen at first; its error is shown by the caller (`error_for`)."""
    return [
        rx.el.label("New admin", html_for=field_id, font_weight="500"),
        rx.el.select(
            rx.el.option("Choose a member", value="", disabled=True),
            rx.foreach(options, lambda o: rx.el.option(o["label"], value=o["value"])),
            id=field_id,
            name=name,
            default_value="",
            aria_invalid=rx.cond(invalid, "true", "false"),
            style=SELECT_STYLE,
        ),
    ]


def submit_button(
    text: str, *, loading: Var[bool], disabled: Var[bool] | None = None
) -> rx.Component:
    """The form's submit button, inert until the page is live: on a prerendered page (the
    create-group form on My groups, the password form in Settings) a press before the
    scripts have run would be the browser's own submit, a GET of the same page that
    throws away what was typed. Typing before then is kept. `disabled`, when given, is on
    top of that and of `loading` (a busy button is always disabled)."""
    inert = ~rx.State.is_hydrated | loading
    return rx.button(
        text,
        type="submit",
        loading=loading,
        disabled=inert if disabled is None else inert | disabled,
        size="3",
        width="100%",
    )


def form_alert(message: Var[str]) -> rx.Component:
    return rx.cond(
        message != "",
        rx.callout(message, icon="triangle_alert", color_scheme="red", role="alert"),
    )


# Read by screen readers, not shown: the usual clip pattern (display:none would hide it from
# them too).
VISUALLY_HIDDEN = {
    "position": "absolute",
    "width": "1px",
    "height": "1px",
    "padding": "0",
    "margin": "-1px",
    "overflow": "hidden",
    "clip": "rect(0, 0, 0, 0)",
    "white_space": "nowrap",
    "border": "0",
}


def visually_hidden(*children: Any) -> rx.Component:
    return rx.el.span(*children, style=VISUALLY_HIDDEN)
