"""The sign-up and log-in forms. The page posts the form itself to `web_auth`'s HTTP
endpoints, which set the HttpOnly session cookie; the password never enters the state,
and the session token never reaches the page. This state only shows the answer."""

from __future__ import annotations

import json
from typing import Any

import reflex as rx
from reflex.event import EventSpec

from mentor_app.db import session_scope
from mentor_app.web_auth import NOTICES, safe_next
from state.session import SessionState

FORM_ID = "auth-form"
UNREACHABLE = "We could not reach the server. Check your connection and try again."


def post_form_script(endpoint: str) -> str:
    """Post the form to `endpoint` (with the page's `?next=` and the browser's time zone),
    go on to the next page on success, and hand the JSON answer to the state's callback
    either way."""
    return f"""(async () => {{
  const form = document.getElementById({json.dumps(FORM_ID)});
  try {{
    const body = new URLSearchParams(new FormData(form));
    try {{
      body.set("timezone", Intl.DateTimeFormat().resolvedOptions().timeZone || "");
    }} catch (error) {{}}
    const response = await fetch({json.dumps(endpoint)} + window.location.search, {{
      method: "POST",
      body: body,
      credentials: "same-origin",
    }});
    const answer = await response.json();
    if (answer.ok) {{ window.location.assign(answer.next); }}
    return answer;
  }} catch (error) {{
    return {{ ok: false, form_error: {json.dumps(UNREACHABLE)} }};
  }}
}})()"""


class AuthFormState(SessionState):
    """Field errors keyed by form field name, plus one message for the whole form."""

    errors: rx.Field[dict[str, str]] = rx.field(default_factory=dict)
    form_error: rx.Field[str] = rx.field("")
    submitting: rx.Field[bool] = rx.field(False)

    def _clear(self) -> None:
        self.errors = {}
        self.form_error = ""

    def _next_page(self) -> str:
        return safe_next(self.router.url.query_parameters.get("next"))

    @rx.event
    def begin(self) -> None:
        self._clear()
        self.submitting = True

    @rx.event
    def finish(self, answer: Any) -> None:
        """The endpoint's answer. On success the page is already loading the next one."""
        if isinstance(answer, dict) and answer.get("ok") is True:
            return
        self.submitting = False
        answer = answer if isinstance(answer, dict) else {}
        errors = answer.get("errors")
        self.errors = (
            {str(k): str(v)[:300] for k, v in errors.items()} if isinstance(errors, dict) else {}
        )
        self.form_error = str(answer.get("form_error") or "")[:300]
        if not self.errors and not self.form_error:
            self.form_error = UNREACHABLE

    @rx.event
    def open_form(self) -> EventSpec | None:
        """on_load: a signed-in user has nothing to do on these pages."""
        self._clear()
        self.submitting = False
        # A browser submit the endpoint refused comes back here with a notice code.
        self.form_error = NOTICES.get(self.router.url.query_parameters.get("notice") or "", "")
        with session_scope() as db:
            user = self._user(db)
        self._show_user(user)
        return rx.redirect(self._next_page()) if user else None


class SignUpState(AuthFormState):
    pass


class LogInState(AuthFormState):
    pass
