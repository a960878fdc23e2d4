"""A member's settings: blocked members, the password, their signed-in browsers, and their
data (download it, delete the account)."""

from __future__ import annotations

import reflex as rx

from components.dialogs import confirm_dialog, form_dialog
from components.forms import form_alert, submit_button, text_field
from mentor_app.pages.common import shell
from mentor_app.services import email_prefs
from state.account_data import PASSWORD_FIELD, AccountDataState
from state.email_prefs import EmailPrefsState
from state.settings import SettingsState


def blocked_row(b: rx.Var) -> rx.Component:
    name = b["name"].to(str)
    return rx.el.li(
        rx.flex(
            rx.vstack(
                rx.text(name, weight="medium"),
                rx.text("Blocked since " + b["since"].to(str), size="1", color_scheme="gray"),
                spacing="0",
            ),
            rx.spacer(),
            confirm_dialog(
                rx.button(
                    "Lift block", variant="soft", size="1", aria_label="Lift block on " + name
                ),
                title="Lift your block on " + name + "?",
                description="You could be paired again in future programs. Your ended pair is "
                "not restored.",
                confirm="Lift block",
                on_confirm=SettingsState.lift(b["id"], b["name"]),
            ),
            align="center",
            width="100%",
        ),
        list_style="none",
        padding_y="0.5em",
    )


def password_section() -> rx.Component:
    errors = SettingsState.password_errors
    return rx.card(
        rx.form(
            rx.vstack(
                rx.heading("Password", size="5", as_="h2"),
                rx.text(
                    "Changing your password logs you out on every other device and browser. "
                    "This one stays logged in.",
                    size="2",
                ),
                rx.cond(
                    SettingsState.password_message != "",
                    rx.callout(
                        SettingsState.password_message,
                        icon="circle_check",
                        color_scheme="green",
                        role="status",
                    ),
                ),
                form_alert(errors.get("form", "")),
                text_field(
                    "Current password",
                    "current_password",
                    type="password",
                    error=errors.get("current_password", ""),
                    auto_complete="current-password",
                    required=True,
                ),
                text_field(
                    "New password",
                    "new_password",
                    type="password",
                    error=errors.get("new_password", ""),
                    auto_complete="new-password",
                    placeholder="At least 8 characters",
                    required=True,
                ),
                text_field(
                    "Confirm new password",
                    "confirm_password",
                    type="password",
                    error=errors.get("confirm_password", ""),
                    auto_complete="new-password",
                    required=True,
                ),
                rx.box(
                    submit_button("Change password", loading=SettingsState.password_saving),
                    width="100%",
                    max_width="20em",
                ),
                spacing="3",
                width="100%",
            ),
            on_submit=SettingsState.change_password,
            reset_on_submit=False,
            width="100%",
        ),
        width="100%",
    )


def sessions_section() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("Sessions", size="5", as_="h2"),
            rx.text(
                "Lost a phone, or signed in on a shared computer? Log out everywhere ends "
                "every session of your account.",
                size="2",
            ),
            confirm_dialog(
                rx.button("Log out everywhere", variant="soft", color_scheme="red"),
                title="Log out everywhere?",
                description="You will be logged out on every device and browser, this one "
                "included. Open pages elsewhere go to the log-in page at their next step. You "
                "will need your password to log in again.",
                confirm="Log out everywhere",
                on_confirm=SettingsState.log_out_everywhere,
                destructive=True,
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def _email_choice(name: str, label: str) -> rx.Component:
    # The high-level checkbox is a <label> around the box and its text: the text names it.
    return rx.checkbox(
        label,
        checked=getattr(EmailPrefsState, name),
        on_change=lambda checked: EmailPrefsState.choose(name, checked),
        size="2",
    )


def email_section() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("E-mail", size="5", as_="h2"),
            rx.text(
                "Choose which e-mails you get. Everything also shows in your notifications. "
                "E-mails about your safety, reports and your account always reach you.",
                size="2",
            ),
            rx.cond(
                EmailPrefsState.prefs_loaded,
                rx.vstack(
                    rx.el.fieldset(
                        rx.el.legend("Send me e-mails about", font_weight="500"),
                        rx.vstack(
                            *(
                                _email_choice(name, label)
                                for name, label in email_prefs.CATEGORIES.items()
                            ),
                            spacing="2",
                            padding_top="0.5em",
                        ),
                        border="none",
                        padding="0",
                        margin="0",
                    ),
                    _email_choice(
                        "digest",
                        "A weekly digest instead of each e-mail: one e-mail on Mondays "
                        "listing the week's news",
                    ),
                    rx.cond(
                        EmailPrefsState.prefs_error != "",
                        rx.callout(
                            EmailPrefsState.prefs_error,
                            icon="triangle_alert",
                            color_scheme="red",
                            role="alert",
                        ),
                    ),
                    rx.cond(
                        EmailPrefsState.prefs_message != "",
                        rx.callout(
                            EmailPrefsState.prefs_message,
                            icon="circle_check",
                            color_scheme="green",
                            role="status",
                        ),
                    ),
                    rx.button(
                        "Save e-mail choices",
                        loading=EmailPrefsState.prefs_saving,
                        on_click=EmailPrefsState.save_prefs,
                    ),
                    spacing="3",
                    width="100%",
                ),
                rx.flex(rx.spinner(), rx.text("Loading…"), spacing="2"),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
        on_mount=EmailPrefsState.load_prefs,
    )


def settings() -> rx.Component:
    return shell(
        rx.heading("Settings", size="7", as_="h1"),
        rx.cond(
            SettingsState.message != "",
            rx.callout(SettingsState.message, icon="info", role="status"),
        ),
        rx.card(
            rx.vstack(
                rx.heading("Blocked members", size="5", as_="h2"),
                rx.text(
                    "No messages pass between you and someone you blocked, and you are never "
                    "paired with them.",
                    size="2",
                ),
                rx.cond(
                    ~SettingsState.loaded,
                    rx.flex(rx.spinner(), rx.text("Loading…"), spacing="2"),
                    rx.cond(
                        SettingsState.blocked.length() > 0,
                        rx.el.ul(
                            rx.foreach(SettingsState.blocked, blocked_row),
                            aria_label="Blocked members",
                            padding="0",
                            margin="0",
                            width="100%",
                        ),
                        rx.text("You haven't blocked anyone.", color_scheme="gray", size="2"),
                    ),
                ),
                spacing="3",
                width="100%",
            ),
            width="100%",
        ),
        email_section(),
        password_section(),
        sessions_section(),
        your_data_section(),
    )


# What deleting the account does, said before it is done (services.account_data does it).
DELETION_STEPS = (
    "Your active pairs end, and your partners are told you deleted your account.",
    "Your profile, e-mail address, date of birth, password, applications and answers, "
    "messages, check-ins, notifications and e-mails are removed, and you leave every group.",
    "Reports already made to the moderators stay while they are open, and the record of admin "
    "and moderation actions stays, under a pseudonym like “Deleted member 7f3a”.",
    "You are logged out everywhere, and your e-mail address is free to sign up again.",
)


def delete_account_dialog() -> rx.Component:
    errors = AccountDataState.delete_errors
    return form_dialog(
        rx.button("Delete my account", color_scheme="red", variant="soft"),
        title="Delete your account?",
        description="This cannot be undone. Download your data first if you want a copy.",
        fields=[
            rx.el.ul(
                *[rx.el.li(rx.text(step, size="2")) for step in DELETION_STEPS],
                padding_left="1.2em",
                margin="0",
                list_style_type="disc",
            ),
            form_alert(errors.get("form", "")),
            text_field(
                "Your password",
                PASSWORD_FIELD,
                type="password",
                error=errors.get(PASSWORD_FIELD, ""),
                auto_complete="current-password",
                required=True,
            ),
        ],
        submit="Delete my account for good",
        on_submit=AccountDataState.delete_account,
        destructive=True,
        busy=AccountDataState.deleting,
        open=AccountDataState.delete_open,
        on_open_change=AccountDataState.set_delete_open,
        max_width="32em",
    )


def your_data_section() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("Your data", size="5", as_="h2"),
            rx.text(
                "Download a copy of everything of yours: your profile, groups, applications "
                "and answers, pairs with your messages and check-ins, and notifications. "
                "Your partners' messages are listed only by the time they were sent.",
                size="2",
            ),
            # A link the browser follows itself (not the page's router), sending its HttpOnly
            # cookie to /account/data.
            rx.el.a(
                rx.icon("download", size=16),
                "Download my data",
                href="/account/data",
                download="mentor-circles-my-data.json",
                custom_attrs={"reloadDocument": True},
                display="inline-flex",
                align_items="center",
                gap="0.4em",
                font_weight="500",
                color="var(--accent-11)",
            ),
            rx.divider(),
            rx.text(
                "Deleting your account ends your pairs and removes your personal data. "
                "You will need your password.",
                size="2",
            ),
            delete_account_dialog(),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )
