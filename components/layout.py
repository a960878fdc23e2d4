"""The page shell: a header with the app name, navigation, the notification bell and
Log out."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

import reflex as rx
from reflex.config import get_config
from reflex.vars import Var
from reflex_components_core.core.banner import has_connection_errors


def keep_alive_every_s(environ: Mapping[str, str] = os.environ) -> float:
    """Well within the time after which the server forgets a quiet page's states (Reflex's
    token expiration, an hour by default): a quarter of it, or MENTOR_KEEP_ALIVE_S."""
    configured = environ.get("MENTOR_KEEP_ALIVE_S")
    if configured:
        return max(1.0, float(configured))
    return max(1.0, get_config().redis_token_expiration / 4)


def keep_alive(name: str, on_click: Any) -> rx.Component:
    """An unseen button the page presses every `keep_alive_every_s()` while it is mounted
    (one timer per `name`: a new page's replaces it, and it stops once its button is gone)."""
    button_id = f"{name}-keep-alive"
    timer = f"window.__mcKeepAlive_{name.replace('-', '_')}"
    start = (
        f"(() => {{ clearInterval({timer}); "
        f"{timer} = setInterval(() => {{ "
        f"const b = document.getElementById('{button_id}'); "
        f"if (b) {{ b.click(); }} else {{ clearInterval({timer}); }} "
        f"}}, {int(keep_alive_every_s() * 1000)}); }})()"
    )
    return rx.el.button(
        id=button_id,
        type="button",
        hidden=True,
        tab_index=-1,
        aria_hidden="true",
        on_click=on_click,
        on_mount=rx.call_script(start),
    )


def notification_bell(
    unread: Var[int], on_mount: Any = None, on_keep_alive: Any = None
) -> rx.Component:
    """A link to the notification center with the unread count; its name says the count.
    `on_keep_alive` is sent every `keep_alive_every_s()` while the bell is shown."""
    count = unread.to(int)
    label = rx.cond(count > 0, "Notifications, " + count.to(str) + " unread", "Notifications")
    link = rx.link(
        rx.box(
            rx.icon("bell", size=20, aria_hidden="true"),
            rx.cond(
                count > 0,
                rx.badge(
                    rx.cond(count > 99, "99+", count.to(str)),
                    color_scheme="tomato",
                    variant="solid",
                    radius="full",
                    size="1",
                    position="absolute",
                    top="-8px",
                    left="12px",
                    aria_hidden="true",
                ),
            ),
            position="relative",
            display="flex",
        ),
        href="/notifications",
        aria_label=label,
        title=label,
        color_scheme="gray",
        high_contrast=True,
        on_mount=on_mount,
        padding_x="0.35em",
    )
    if on_keep_alive is None:
        return link
    return rx.fragment(link, keep_alive("bell", on_keep_alive))


# Below Radix's `sm` breakpoint (768 px) the links take one row of their own, signed in
# or not, and the signed-in ones fit one row (the member's name is left out there).
# A signed-in page is drawn signed out until its state arrives: the longer signed-in links
# used to wrap beside the brand, moving the whole page down by a row (CLS 0.30 in
# Lighthouse's phone runs of the workspace and the dashboard), and onto a second row of
# their own at 390 px (a shift of 0.038 in test_first_load).
NAV_WIDTH = rx.breakpoints(initial="100%", sm="auto")


def brand() -> rx.Component:
    """The app's name at the left of the header, a link home."""
    return rx.link(
        rx.hstack(rx.icon("users", size=20), rx.text("Mentor circles", weight="bold")),
        href="/",
        underline="none",
        color_scheme="gray",
        high_contrast=True,
    )


def header_bar(*children: rx.Component) -> rx.Component:
    """The page's header: a row as wide as the page's column, a line below it."""
    return rx.el.header(
        rx.flex(
            *children,
            align="center",
            wrap="wrap",
            spacing="3",
            padding_x="1em",
            padding_y="0.75em",
            max_width="60em",
            margin_x="auto",
        ),
        border_bottom="1px solid var(--gray-a5)",
    )


def main_column(child: rx.Component) -> rx.Component:
    """The page's main landmark: one column, centred."""
    return rx.el.main(child, padding="1em", max_width="60em", margin_x="auto")


def header(
    *,
    signed_in: Var[bool],
    display_name: Var[str],
    log_out_url: str = "/auth/logout",
    is_moderator: Var[bool] | bool = False,
    unread: Var[int] | None = None,
    on_bell_mount: Any = None,
    on_bell_keep_alive: Any = None,
) -> rx.Component:
    return header_bar(
        brand(),
        rx.spacer(),
        rx.cond(
            signed_in,
            rx.flex(
                rx.link("My groups", href="/groups"),
                rx.cond(is_moderator, rx.link("Moderation", href="/moderation")),
                rx.link("Settings", href="/settings"),
                *(
                    [notification_bell(unread, on_bell_mount, on_bell_keep_alive)]
                    if unread is not None
                    else []
                ),
                # Not on a phone (Settings shows it): the links would not fit one row.
                rx.text(
                    display_name,
                    color_scheme="gray",
                    size="2",
                    display=rx.breakpoints(initial="none", sm="block"),
                ),
                # The endpoint clears the HttpOnly cookie, which no page script can;
                # then the log-in page loads afresh (a new socket, no session).
                rx.button(
                    "Log out",
                    on_click=rx.call_script(
                        f"fetch({json.dumps(log_out_url)}, {{method: 'POST', "
                        "credentials: 'same-origin'}).finally("
                        "() => window.location.assign('/login'))"
                    ),
                    variant="soft",
                    size="1",
                ),
                spacing="3",
                align="center",
                wrap="wrap",
                width=NAV_WIDTH,
            ),
            rx.flex(
                rx.link("Log in", href="/login"),
                rx.link("Sign up", href="/signup"),
                spacing="3",
                align="center",
                width=NAV_WIDTH,
            ),
        ),
    )


# When the focused control leaves the page (a dialog's action removed its own trigger, as
# Publish pairs or Block do; a wizard step or a page replaced the one it was on), focus
# would fall to the page's body: a keyboard user loses their place and a screen reader says
# nothing. It goes instead to the page's main heading (not to a status message: the answer
# that removed the control may clear and re-show one, taking focus with it; a status is a
# live region, read out wherever focus is). Checked a moment after the change, once a
# closing dialog has had its own go at giving focus back to its trigger. Installed once per
# tab; it outlives page changes.
KEEP_FOCUS_ON_THE_PAGE = """(() => {
  if (window.__mcKeepFocus) return;
  window.__mcKeepFocus = true;
  let last = null;
  document.addEventListener("focusin", (e) => { last = e.target; });
  const lost = () => last && !last.isConnected
    && (!document.activeElement || document.activeElement === document.body);
  const rescue = () => {
    if (!lost()) return;
    const main = document.querySelector("main");
    const place = main && main.querySelector("h1");
    if (!place) return;  // the page is still loading: the next change tries again
    if (!place.hasAttribute("tabindex")) place.setAttribute("tabindex", "-1");
    place.focus();
  };
  new MutationObserver(() => { if (lost()) setTimeout(rescue, 50); })
    .observe(document.body, {childList: true, subtree: true});
})()"""


def page_shell(
    *children: rx.Component,
    signed_in: Var[bool],
    display_name: Var[str],
    log_out_url: str = "/auth/logout",
    is_moderator: Var[bool] | bool = False,
    unread: Var[int] | None = None,
    on_bell_mount: Any = None,
    on_bell_keep_alive: Any = None,
) -> rx.Component:
    return rx.box(
        header(
            signed_in=signed_in,
            display_name=display_name,
            log_out_url=log_out_url,
            is_moderator=is_moderator,
            unread=unread,
            on_bell_mount=on_bell_mount,
            on_bell_keep_alive=on_bell_keep_alive,
        ),
        main_column(rx.vstack(*children, spacing="5", width="100%")),
        min_height="100vh",
        on_mount=rx.call_script(KEEP_FOCUS_ON_THE_PAGE),
    )


def loading_shell() -> rx.Component:
    """What a page shows before its scripts have run (React Router's HydrateFallback, in
    the HTML of every page not prerendered: a pair's page, a program's, the workspace...):
    the header's name and a line saying the page is on its way, instead of a blank screen
    for the seconds a phone on a slow network takes to fetch and run the scripts. Built
    once, with no state: the page replaces it whole."""
    return rx.box(
        header_bar(brand()),
        main_column(rx.text("Loading the page…", color_scheme="gray", role="status")),
        min_height="100vh",
    )


def not_found_notice(title: str, text: str) -> rx.Component:
    """What a page shows for something missing or hidden from this user (never which)."""
    return rx.vstack(
        rx.heading(title, size="7", as_="h1"),
        rx.text(text),
        rx.link("Back to My groups", href="/groups"),
    )


def refused_notice(title: str, message: Var[str]) -> rx.Component:
    """What a page shows a signed-in member who may not use it, with the server's reason."""
    return rx.vstack(
        rx.heading(title, size="7", as_="h1"),
        rx.callout(message, icon="triangle_alert", color_scheme="red", role="alert"),
        rx.link("Back to My groups", href="/groups"),
    )


# The page at a pair's address shows its own notice beside the chat's composer (what
# happens to a message sent meanwhile), so the app-wide one stays out of its way there.
_ON_PAIR_PAGE = Var(
    "(typeof window !== 'undefined' && window.location.pathname.startsWith('/pairs/'))"
).to(bool)


def connection_notice() -> rx.Component:
    """Instead of Reflex's "Cannot connect to server" toast (which names the websocket's
    address) and its pulsing icon: one polite line at the foot of the page, in words, while
    the page cannot reach the server, gone once it can (after the first failed try to
    reconnect: a connection back at once is no news).

    An app wrap: the app is appended to it as a child, so the line is a component of its
    own (memo: its connection hook re-renders it alone) beside the app in a fragment."""
    return rx.fragment(_connection_line())


@rx.memo
def _connection_line() -> rx.Component:
    return rx.el.div(
        rx.cond(
            has_connection_errors & ~_ON_PAIR_PAGE,
            rx.callout(
                "Offline — trying to reconnect. Check your internet connection.",
                icon="wifi_off",
                color_scheme="amber",
                role="status",
                size="1",
                max_width="480px",
                margin="0 auto",
            ),
        ),
        aria_live="polite",
        position="fixed",
        bottom="12px",
        left="12px",
        right="12px",
        z_index="50",
    )
