"""Every confirmation and form dialog of the app, built one way, so that focus, names,
Escape and the look of a destructive act are the same on every page.

- A confirmation (`confirm_dialog`) asks one question: role `alertdialog`, Cancel first
  and focused on opening, the confirm button closes it and runs its event.
- A form dialog (`form_dialog`) asks for fields: role `dialog`, focus on its first field;
  or, for a destructive act (`destructive=True`), role `alertdialog` with the focus on
  Cancel, so that Enter on opening never does the harm. Its submit button is busy and
  disabled while `busy` is true (a second press, or Enter in a field, sends nothing more),
  and it stays open until the page's state closes it.

Both have a title (the dialog's accessible name) and a description (`aria-describedby`,
which Radix ties to the description it finds inside). Escape closes them, and Cancel
closes and submits nothing. Focus goes back to the trigger on closing; a dialog opened by
the page's state (no trigger of its own, `trigger=None`) gives the focus back to whatever
had it when it opened, the button that asked the state to open it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import reflex as rx
from reflex.vars import Var

from components.forms import form_alert

# A dialog with no trigger: Radix would leave the focus on <body> on closing. Remember the
# element that had the focus as it opened (Radix's own focus move comes after this
# handler), and give it back on closing when it is still on the page.
REMEMBER_OPENER: Var[Any] = rx.Var("(e) => { e.currentTarget.__opener = document.activeElement; }")
RETURN_TO_OPENER: Var[Any] = rx.Var(
    "(e) => { const o = e.currentTarget.__opener; "
    "if (o && o.isConnected && o !== document.body) { e.preventDefault(); o.focus(); } }"
)


def _root_props(open: Var[bool] | None, on_open_change: Any, key: Var[str] | str | None) -> dict:
    props: dict[str, Any] = {}
    if open is not None:
        props["open"] = open
    if on_open_change is not None:
        props["on_open_change"] = on_open_change
    if key is not None:
        # Tied to its row: when a list changes under an open dialog, it closes instead of
        # asking about whoever is in that row now.
        props["key"] = key
    return props


def _dialog(
    *,
    alert: bool,
    trigger: rx.Component | None,
    title: str | Var[str],
    description: str | Var[str],
    body: rx.Component,
    open: Var[bool] | None,
    on_open_change: Any,
    key: Var[str] | str | None,
    max_width: str | None,
) -> rx.Component:
    ns: Any = rx.alert_dialog if alert else rx.dialog
    content_props: dict[str, Any] = {}
    if max_width is not None:
        content_props["max_width"] = max_width
    if trigger is None:
        content_props["custom_attrs"] = {
            "onOpenAutoFocus": REMEMBER_OPENER,
            "onCloseAutoFocus": RETURN_TO_OPENER,
        }
    content = ns.content(
        ns.title(title),
        ns.description(description),
        body,
        **content_props,
    )
    children = [content] if trigger is None else [ns.trigger(trigger), content]
    return ns.root(*children, **_root_props(open, on_open_change, key))


def _cancel(alert: bool, label: str) -> rx.Component:
    # type="button": inside a form, Cancel submits nothing.
    button = rx.button(label, type="button", variant="soft", color_scheme="gray")
    return rx.alert_dialog.cancel(button) if alert else rx.dialog.close(button)


def _footer(cancel: rx.Component, confirm: rx.Component) -> rx.Component:
    return rx.flex(cancel, confirm, spacing="3", justify="end", wrap="wrap", width="100%")


def confirm_dialog(
    trigger: rx.Component | None,
    *,
    title: str | Var[str],
    description: str | Var[str],
    confirm: str | Var[str],
    on_confirm: Any,
    destructive: bool = False,
    cancel: str = "Cancel",
    details: Sequence[rx.Component] = (),
    open: Var[bool] | None = None,
    on_open_change: Any = None,
    key: Var[str] | str | None = None,
) -> rx.Component:
    """A yes-or-no question about one act. `confirm` is the act's verb ("Block Ned",
    "Publish"); `details` go between the description and the buttons."""
    button = rx.button(confirm, color_scheme="red" if destructive else None, on_click=on_confirm)
    body = rx.vstack(
        *details,
        _footer(_cancel(True, cancel), rx.alert_dialog.action(button)),
        spacing="3",
        width="100%",
        margin_top="1em",
    )
    return _dialog(
        alert=True,
        trigger=trigger,
        title=title,
        description=description,
        body=body,
        open=open,
        on_open_change=on_open_change,
        key=key,
        max_width=None,
    )


def form_dialog(
    trigger: rx.Component | None,
    *,
    title: str | Var[str],
    description: str | Var[str],
    fields: Sequence[rx.Component],
    submit: str | Var[str],
    on_submit: Any,
    destructive: bool = False,
    busy: Var[bool] | None = None,
    error: Var[str] | None = None,
    cancel: str = "Cancel",
    reset_on_submit: bool = False,
    open: Var[bool] | None = None,
    on_open_change: Any = None,
    key: Var[str] | str | None = None,
    max_width: str | None = None,
) -> rx.Component:
    """A dialog that sends a form. `fields` are labelled controls, each with its error next
    to it (components.forms' helpers); `error` is the form's own message, shown above the
    buttons. The dialog stays open after a submit: the state closes it once the act is done
    (through `open`), or the row it belongs to goes away (`key`)."""
    button = rx.button(
        submit,
        type="submit",
        color_scheme="red" if destructive else None,
        loading=busy if busy is not None else False,
        # Radix disables a loading button by itself; said here, since a second submit of
        # the same form is what `busy` is for.
        disabled=busy if busy is not None else False,
        # While loading, Radix keeps the text twice (one copy aria-hidden, with display:
        # contents, which Chromium reads anyway): the button was "Send report Send report".
        aria_label=submit,
    )
    body = rx.form(
        rx.vstack(
            *fields,
            *([form_alert(error)] if error is not None else []),
            _footer(_cancel(destructive, cancel), button),
            spacing="2",
            width="100%",
        ),
        on_submit=on_submit,
        reset_on_submit=reset_on_submit,
        width="100%",
        margin_top="1em",
    )
    return _dialog(
        alert=destructive,
        trigger=trigger,
        title=title,
        description=description,
        body=body,
        open=open,
        on_open_change=on_open_change,
        key=key,
        max_width=max_width,
    )
