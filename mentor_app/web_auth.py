"""Signing in over plain HTTP: the session lives in an HttpOnly cookie that only these
endpoints set and clear, so no page script, no state var and no websocket frame ever holds
the raw token.

- `POST /auth/login`, `POST /auth/signup`: form fields (and `timezone`, the browser's
  IANA zone, recorded when valid and never a reason to refuse) in, JSON out (`{"ok": true, "next":
  "/groups"}` or `{"ok": false, "errors": {field: message}, "form_error": message}`); on
  success the response sets the cookie and the page loads `next` afresh, so its new
  websocket carries the cookie. A throttled attempt answers 429 with `Retry-After`; the
  client's address (`client_address`) is what the services throttle per address.
  The browser's own submit of the form (a page load, `Sec-Fetch-Mode: navigate`) gets
  redirects instead: 303 to `next` with the cookie, or 303 back to the form with a
  `?notice=` code. The forms are POST forms, inert until their page is live, so this
  happens only when the page script never runs; it never puts a password in an address.
- `POST /auth/logout`: ends the session, clears the cookie, answers 303 to /login (a plain
  HTML form works).
- `GET /account/data`: the signed-in member's own data as a JSON download (Settings → Your
  data); it reads the cookie itself, as a page script never could.
- `GET /meetings/<id>.ics`: a booked meeting's calendar invite, for the pair's two members
  only (the pair page's Download .ics), from the cookie in the same way.

The websocket learns who is signed in from the `Cookie` header of its upgrade request:
`remember_socket` (wrapped around Reflex's own per-connection router data) keeps the token
in this process's memory by socket id and takes the cookie out of the headers Reflex keeps,
which would otherwise land in the state's router data (pickled to `.states/` and Redis).
Events of a socket are handled by the worker that holds it, so memory is the right place.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Callable
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from reflex.app import EventNamespace
from reflex_base import constants
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from mentor_app.db import read_scope, session_scope
from mentor_app.models import User
from mentor_app.services import account_data, accounts, email_prefs, meetings, sessions
from mentor_app.services.errors import NotFound, ServiceError, Throttled, ValidationError
from mentor_app.settings import settings

logger = logging.getLogger(__name__)

# The __Host- prefix pins the cookie to this origin (Secure, Path=/, no Domain): a browser
# accepts it over https only.
COOKIE_NAME = "__Host-mc_session" if settings.cookie_secure else "mc_session"
COOKIE_MAX_AGE = int(sessions.ABSOLUTE_LIFETIME.total_seconds())
SERVER_ERROR = "Something went wrong on our side, and nothing was changed. Please try again."
FOREIGN_PAGE = (
    f"For your safety, this form only works on {settings.app_origin}. Open it there and try again."
)

# --- the websocket side -----------------------------------------------------------------

_tokens_by_socket: dict[str, str] = {}


def token_for_socket(sid: str | None) -> str | None:
    """The session token the socket `sid` was opened with (its upgrade request's cookie)."""
    return _tokens_by_socket.get(sid or "")


def open_socket_tokens() -> set[str]:
    """The session tokens of every socket this process holds open now (the presence
    heartbeat, `mentor_app.away.beat`, marks their sessions seen). Called from a job's
    thread: `dict.copy` is one step under the GIL, safe against a socket coming or going."""
    return set(_tokens_by_socket.copy().values())


def session_token_from_cookie_header(header: str) -> str | None:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header or "")
    except Exception:  # a malformed header is no session, not an error
        return None
    morsel = jar.get(COOKIE_NAME)
    return morsel.value if morsel is not None and morsel.value else None


def remember_socket(build: Callable[[Any, str, dict], dict[str, Any]]) -> Any:
    def build_static_router_data(self: Any, sid: str, environ: dict) -> dict[str, Any]:
        data = build(self, sid, environ)
        headers = data.get(constants.RouteVar.HEADERS) or {}
        token = session_token_from_cookie_header(headers.pop("cookie", ""))
        if token:
            _tokens_by_socket[sid] = token
        else:
            _tokens_by_socket.pop(sid, None)
        return data

    return build_static_router_data


def forget_socket(on_disconnect: Callable[[Any, str], Any]) -> Any:
    def on_disconnect_forgetting(self: Any, sid: str) -> Any:
        _tokens_by_socket.pop(sid, None)
        return on_disconnect(self, sid)

    return on_disconnect_forgetting


def install() -> None:
    """Wrap Reflex's per-connection hooks once (idempotent)."""
    if getattr(EventNamespace, "_mentor_sessions", False):
        return
    EventNamespace._build_static_router_data = remember_socket(  # type: ignore[method-assign]
        EventNamespace._build_static_router_data
    )
    EventNamespace.on_disconnect = forget_socket(  # type: ignore[method-assign]
        EventNamespace.on_disconnect
    )
    EventNamespace._mentor_sessions = True  # type: ignore[attr-defined]


# --- the HTTP side ----------------------------------------------------------------------


def safe_next(path: str | None, default: str = "/groups") -> str:
    """Only same-site paths: `/x`, never `//host` or `https://host`."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return default
    return path


def _same_origin(request: Request) -> bool:
    """A state-changing request must come from one of the app's own pages: the browser
    sends Origin on every POST (a form from another site cannot fake it)."""
    origin = request.headers.get("origin")
    if origin is None:
        # No Origin (an old browser, a script): fall back to the Referer's origin.
        referer = urlsplit(request.headers.get("referer", ""))
        origin = f"{referer.scheme}://{referer.netloc}" if referer.netloc else ""
    return origin.rstrip("/") in settings.allowed_origins


def set_session_cookie(response: Response, token: str) -> None:
    response.set_cookie(
        COOKIE_NAME,
        token,
        max_age=COOKIE_MAX_AGE,
        path="/",
        secure=settings.cookie_secure,
        httponly=True,
        samesite="lax",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(
        COOKIE_NAME, path="/", secure=settings.cookie_secure, httponly=True, samesite="lax"
    )


def _refused(error: ServiceError) -> JSONResponse:
    body: dict[str, Any] = {"ok": False, "errors": {}, "form_error": ""}
    if error.field:
        body["errors"] = {error.field: error.message}
    else:
        body["form_error"] = error.message
    if isinstance(error, Throttled):
        return JSONResponse(
            body, status_code=429, headers={"Retry-After": str(error.retry_after_s)}
        )
    return JSONResponse(body, status_code=400)


def client_address(request: Request, header: str | None = None) -> str:
    """Where the request came from: the right-most entry of the configured proxy header
    (`header`, MENTOR_CLIENT_IP_HEADER; the entry the app's own proxy wrote, which a client
    cannot forge, unlike those to its left), else the TCP peer. "" when there is none."""
    if header:
        values = request.headers.getlist(header)
        entries = [e.strip() for value in values for e in value.split(",") if e.strip()]
        if entries:
            return _forwarded_for(entries[-1]) if header.lower() == "forwarded" else entries[-1]
    return request.client.host if request.client is not None else ""


def _forwarded_for(element: str) -> str:
    """The address in one element of RFC 7239's Forwarded header: `for=192.0.2.60;proto=…`,
    `for="[2001:db8::1]:4711"`."""
    for pair in element.split(";"):
        name, _, value = pair.strip().partition("=")
        if name.strip().lower() == "for":
            value = value.strip().strip('"')
            if value.startswith("["):
                return value[1 : value.find("]")] if "]" in value else value[1:]
            return value.rsplit(":", 1)[0] if value.count(":") == 1 else value
    return ""


def _is_navigation(request: Request) -> bool:
    """The browser's own form submit (a page load), not the page script's fetch: it happens
    only when a form is sent before its page is live."""
    mode = request.headers.get("sec-fetch-mode")
    if mode is not None:
        return mode == "navigate"
    return "text/html" in request.headers.get("accept", "")


def _referer_next(request: Request) -> str | None:
    """The `?next=` of the page the form was on: a browser submit goes to the form's bare
    action, and the page's own address (Referrer-Policy same-origin) still says it."""
    referer = urlsplit(request.headers.get("referer", ""))
    return parse_qs(referer.query).get("next", [None])[0]


def _back_to_form(form_page: str, next_page: str, notice: str) -> RedirectResponse:
    """A refused browser submit goes back to its form, which shows `notice` (a code from
    `NOTICES`, never text from the request: a link cannot make the page say anything)."""
    query = urlencode({"next": next_page, "notice": notice})
    return RedirectResponse(f"{form_page}?{query}", status_code=303)


# What the form page says after a browser submit was refused (`?notice=`).
NOTICES = {
    "retry": "That did not go through. Please check your details and try again.",
    "error": SERVER_ERROR,
}


async def _form_sign_in(
    request: Request, find_user: Callable[[Any, dict[str, str], str], User], form_page: str
) -> Any:
    navigation = _is_navigation(request)
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    next_page = safe_next(
        form.get("next") or request.query_params.get("next") or _referer_next(request)
    )
    if not _same_origin(request):
        if navigation:
            return _back_to_form(form_page, next_page, "retry")
        return JSONResponse({"ok": False, "form_error": FOREIGN_PAGE}, status_code=403)
    old_token = request.cookies.get(COOKIE_NAME)
    address = client_address(request, settings.client_ip_header)

    def work() -> str:
        # The throttles, argon2 and the database: off the event loop, which serves every
        # socket.
        with session_scope() as db:
            user = find_user(db, form, address)
            # A fresh token at every sign-in; the one the browser held ends (no fixation).
            # Its other tabs, whose sockets hold the old one, reload onto the new cookie.
            return sessions.rotate_session(db, old_token=old_token, user=user)

    try:
        token = await asyncio.to_thread(work)
    except ServiceError as error:
        if navigation:
            return _back_to_form(form_page, next_page, "retry")
        return _refused(error)
    except Exception:
        logger.exception("Sign-in failed")
        if navigation:
            return _back_to_form(form_page, next_page, "error")
        return JSONResponse({"ok": False, "form_error": SERVER_ERROR}, status_code=500)
    response: Response = (
        RedirectResponse(next_page, status_code=303)
        if navigation
        else JSONResponse({"ok": True, "next": next_page})
    )
    set_session_cookie(response, token)
    return response


async def log_in(request: Request) -> Any:
    return await _form_sign_in(
        request,
        lambda db, form, address: accounts.authenticate(
            db,
            email=form.get("email", ""),
            password=form.get("password", ""),
            timezone=form.get("timezone"),
            client_address=address,
        ),
        "/login",
    )


async def sign_up(request: Request) -> Any:
    return await _form_sign_in(
        request,
        lambda db, form, address: accounts.sign_up(
            db,
            email=form.get("email", ""),
            display_name=form.get("display_name", ""),
            password=form.get("password", ""),
            date_of_birth=form.get("date_of_birth", ""),
            timezone=form.get("timezone"),
            client_address=address,
        ),
        "/signup",
    )


async def log_out(request: Request) -> Any:
    if not _same_origin(request):
        return JSONResponse({"ok": False, "form_error": FOREIGN_PAGE}, status_code=403)
    token = request.cookies.get(COOKIE_NAME)

    def work() -> None:
        with session_scope() as db:
            sessions.end_session(db, token=token)

    await asyncio.to_thread(work)
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response)
    return response


async def download_my_data(request: Request) -> Any:
    """The member's data as one JSON file. Only from the app's own pages: a browser says
    where a request comes from (Sec-Fetch-Site), and another site's link is refused."""
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return Response(FOREIGN_PAGE, status_code=403, media_type="text/plain")
    token = request.cookies.get(COOKIE_NAME)

    def work() -> bytes | None:
        with session_scope() as db:
            user = sessions.resolve_session(db, token=token)
        if user is None:
            return None
        # A read-only transaction: never holds SQLite's write lock while the file is built.
        with read_scope() as db:
            return account_data.export_json(db, actor=user)

    try:
        body = await asyncio.to_thread(work)
    except Exception:
        logger.exception("Data download failed")
        return Response(SERVER_ERROR, status_code=500, media_type="text/plain")
    if body is None:
        return RedirectResponse("/login?next=/settings", status_code=303)
    return Response(
        body,
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{account_data.export_filename()}"',
            "Cache-Control": "no-store",
        },
    )


async def download_meeting_invite(request: Request) -> Any:
    """A booked meeting's calendar invite (`invite.ics`) for one of its pair's two members,
    from their session cookie, as `download_my_data` reads it; 404 for anyone else."""
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return Response(FOREIGN_PAGE, status_code=403, media_type="text/plain")
    token = request.cookies.get(COOKIE_NAME)
    meeting_id = request.path_params["meeting_id"]

    def work() -> tuple[str, str] | None:
        with session_scope() as db:
            user = sessions.resolve_session(db, token=token)
        if user is None:
            return None
        with read_scope() as db:
            return meetings.download_invite(db, actor=user, meeting_id=meeting_id)

    try:
        found = await asyncio.to_thread(work)
    except NotFound:
        return Response("Not found.", status_code=404, media_type="text/plain")
    except Exception:
        logger.exception("Invite download failed")
        return Response(SERVER_ERROR, status_code=500, media_type="text/plain")
    if found is None:
        return RedirectResponse("/login", status_code=303)
    text, filename = found
    return Response(
        text.encode(),
        media_type="text/calendar; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


# --- one-click unsubscribe (RFC 8058) ---------------------------------------------------
#
# The link in every e-mail, `/unsubscribe?t=<signed token>`, works without logging in: the
# token, signed by the server, names the member and the kind of e-mail, and is the proof.
# GET only shows a page with a button: mail scanners and link previews open links on
# their own, and must not unsubscribe anyone. POST unsubscribes: from that button, or
# straight from a mail client's "Unsubscribe" (the List-Unsubscribe-Post header).


def _unsubscribe_page(title: str, paragraphs: list[str], *, form_token: str = "") -> str:
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    if form_token:
        action = "/unsubscribe?t=" + html.escape(form_token, quote=True)
        body += (
            f'<form method="post" action="{action}">'
            '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
            '<button type="submit" style="font:inherit;padding:.6em 1.2em;border-radius:6px;'
            'border:0;background:#3e63dd;color:#fff;cursor:pointer">Unsubscribe</button></form>'
        )
    body += '<p><a href="/settings">Choose which e-mails you get in Settings</a></p>'
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex">'
        f"<title>{html.escape(title)} · Mentor circles</title></head>"
        '<body style="font-family:system-ui,sans-serif;max-width:34em;margin:2em auto;'
        f'padding:0 1em;line-height:1.5"><main><h1>{html.escape(title)}</h1>{body}</main>'
        "</body></html>"
    )


def _page(content: str, status: int = 200) -> HTMLResponse:
    # The token is in the address: no cache may keep the page.
    return HTMLResponse(content, status_code=status, headers={"Cache-Control": "no-store"})


def _bad_link(message: str) -> HTMLResponse:
    return _page(_unsubscribe_page("This link does not work", [message]), status=400)


async def unsubscribe_page(request: Request) -> Any:
    token = request.query_params.get("t", "")
    try:
        link = email_prefs.read_token(token)
    except ValidationError as error:
        return _bad_link(error.message)
    return _page(
        _unsubscribe_page(
            "Unsubscribe",
            [f"Stop getting {link.label} from Mentor circles?"],
            form_token=token,
        )
    )


async def unsubscribe(request: Request) -> Any:
    # No same-origin check here, unlike every other POST of the app: RFC 8058 has the
    # recipient's mail client (its own servers or pages, another origin, or none) POST
    # "List-Unsubscribe=One-Click" to this address. What stands in for the origin check is
    # the token: signed by the server for one member and one kind of e-mail, found only
    # in that member's e-mail, so another site cannot forge the request; and this POST can
    # only turn e-mails off, never on, or change anything else.
    token = request.query_params.get("t", "")

    def work() -> email_prefs.UnsubscribeLink:
        with session_scope() as db:
            return email_prefs.unsubscribe(db, token=token)

    try:
        link = await asyncio.to_thread(work)
    except ValidationError as error:
        return _bad_link(error.message)
    except Exception:
        logger.exception("Unsubscribe failed")
        return _page(_unsubscribe_page("Something went wrong", [SERVER_ERROR]), status=500)
    return _page(
        _unsubscribe_page(
            "You are unsubscribed",
            [
                f"You will no longer get {link.label} by e-mail.",
                "E-mails about your safety, reports and your account still reach you. "
                "You can turn any of these back on in Settings.",
            ],
        )
    )


def routes() -> Starlette:
    """The endpoints, as an app Reflex mounts its own under (`rx.App(api_transformer=...)`)."""
    return Starlette(
        routes=[
            Route("/auth/login", log_in, methods=["POST"]),
            Route("/auth/signup", sign_up, methods=["POST"]),
            Route("/auth/logout", log_out, methods=["POST"]),
            Route("/account/data", download_my_data, methods=["GET"]),
            Route("/meetings/{meeting_id:int}.ics", download_meeting_invite, methods=["GET"]),
            Route("/unsubscribe", unsubscribe_page, methods=["GET"]),
            Route("/unsubscribe", unsubscribe, methods=["POST"]),
        ]
    )
