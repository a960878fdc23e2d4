"""What the chat says about a message the server has not stored: "Sending…" while the
connection is down (and a notice that it is), "Not sent" with the reason when the server
refuses it, the text kept to retry or copy."""

from __future__ import annotations

import datetime as dt
import re
import time
import uuid
from collections.abc import Callable

from playwright.sync_api import Locator, Page, WebSocketRoute, expect
from sqlalchemy import update
from sqlmodel import Session

from mentor_app.models import Message, Pair, utcnow
from mentor_app.services.chat import CANNOT_SEND, RATE_MAX
from tests.e2e.test_chat import messages_in_db, open_chat, send
from tests.e2e.test_journey import arrange_pair_two_weeks_in

OFFLINE = "Offline — messages will be sent when you're back"
APP_OFFLINE = "Offline — trying to reconnect"


class Line:
    """The page's websocket to the server, through Playwright: `cut()` closes it for real
    (both ends), and while `down` every new connection the page opens is closed at once, as
    when the server cannot be reached; the page keeps trying, and gets through once the
    line is up again."""

    def __init__(self, page: Page) -> None:
        self.down = False
        self.refused = 0
        self._open: list[tuple[WebSocketRoute, WebSocketRoute]] = []
        page.route_web_socket(re.compile(r"/_event"), self._route)

    def _route(self, ws: WebSocketRoute) -> None:
        if self.down:
            # As fast as a refused connection: a frame that is no Engine.IO packet makes the
            # page's socket report a failed attempt at once (a bare close would leave it
            # waiting out socket.io's 20 s connect timeout).
            self.refused += 1
            ws.send("the test's line is down")
            ws.close(code=1011, reason="the test's line is down")
            return
        server = ws.connect_to_server()
        self._open.append((ws, server))

    def cut(self) -> None:
        self.down = True
        for ws, server in self._open:
            ws.close(code=1001, reason="cut by the test")
            server.close()
        self._open.clear()


def _pair(db: Session, tag: str) -> tuple[str, str, str]:
    mentor, mentee = f"{tag}.mentor@example.org", f"{tag}.mentee@example.org"
    _program, pair_id = arrange_pair_two_weeks_in(
        db,
        (mentor, f"{tag.title()} Mentor"),
        (mentee, f"{tag.title()} Mentee"),
        title=f"Chat states {tag} program",
    )
    return f"/pairs/{pair_id}", mentor, mentee


class Held:
    """The page's websocket through Playwright, holding the server's events to the page
    (socket.IO "42…" frames) while `held`, and passing them on in order at `release()`."""

    def __init__(self, page: Page) -> None:
        self.held = False
        self._waiting: list[tuple[WebSocketRoute, str | bytes]] = []
        page.route_web_socket(re.compile(r"/_event"), self._route)

    def _route(self, ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()

        def to_page(frame: str | bytes) -> None:
            if self.held and isinstance(frame, str) and frame.startswith("42"):
                self._waiting.append((ws, frame))
            else:
                ws.send(frame)

        server.on_message(to_page)

    def release(self) -> None:
        self.held = False
        waiting, self._waiting = self._waiting, []
        for ws, frame in waiting:
            ws.send(frame)


def _wait_until(page: Page, done: Callable[[], bool], timeout_s: float = 30) -> None:
    """Wait for something the page's websocket route counts (Playwright runs the route's
    callbacks while the page is waited on)."""
    deadline = time.monotonic() + timeout_s
    while not done():
        assert time.monotonic() < deadline, "timed out"
        page.wait_for_timeout(100)


def _pending(page: Page, body: str, state: str | re.Pattern[str]) -> None:
    """The sender's list shows `body` once, marked `state` in words."""
    log = page.get_by_role("log", name="Messages")
    item = log.locator("div").filter(has=page.get_by_text(body, exact=True)).last
    expect(item).to_contain_text(state)
    expect(log.get_by_text(body, exact=True)).to_have_count(1)


def _offline_notice(page: Page) -> Locator:
    return page.get_by_role("status").filter(has_text=OFFLINE)


def test_a_message_sent_offline_shows_sending_then_arrives_once_when_the_line_is_back(
    new_page: Callable[..., Page], app_db: Session
) -> None:
    url, mentor_email, mentee_email = _pair(app_db, "offline")
    pair_id = int(url.rsplit("/", 1)[1])
    mentor, mentee = new_page(), new_page()
    line = Line(mentee)
    open_chat(mentor, mentor_email, url)
    open_chat(mentee, mentee_email, url)
    send(mentee, "Before the line went down")  # the page is live, its load done
    expect(mentor.get_by_role("log", name="Messages")).to_contain_text("Before the line")
    expect(_offline_notice(mentee)).to_have_count(0)

    line.cut()
    expect(_offline_notice(mentee)).to_be_visible()
    body = "Written on the train, in a tunnel"
    mentee.get_by_label("Message", exact=True).fill(body)
    mentee.get_by_role("button", name="Send").click()
    _pending(mentee, body, "Sending…")
    assert messages_in_db(app_db, pair_id, body) == 0
    # The page says so once, in words: the chat's notice, neither the app-wide one nor
    # Reflex's toast with the websocket's address (it comes after a second failed try).
    _wait_until(mentee, lambda: line.refused >= 3)
    expect(_offline_notice(mentee)).to_be_visible()
    expect(mentee.get_by_text(APP_OFFLINE)).to_have_count(0)
    expect(mentee.get_by_text("Cannot connect to server", exact=False)).to_have_count(0)

    line.down = False  # the page's next try gets through
    expect(_offline_notice(mentee)).to_have_count(0)
    expect(mentee.get_by_text("Sending…")).to_have_count(0)
    expect(mentee.get_by_label("Message", exact=True)).to_have_value("")
    for page in (mentee, mentor):
        log = page.get_by_role("log", name="Messages")
        expect(log.get_by_text(body, exact=True)).to_have_count(1)
    assert messages_in_db(app_db, pair_id, body) == 1
    expect(mentee.get_by_text("Not sent", exact=False)).to_have_count(0)

    # A page without a chat has the app-wide notice.
    mentee.goto("/notifications")
    expect(mentee.get_by_role("heading", name="Notifications")).to_be_visible()
    line.refused = 0
    line.cut()
    notice = mentee.get_by_role("status").filter(has_text=APP_OFFLINE)
    expect(notice).to_be_visible()
    _wait_until(mentee, lambda: line.refused >= 3)  # when Reflex would show its toast
    expect(mentee.get_by_text("Cannot connect to server", exact=False)).to_have_count(0)
    line.down = False
    expect(notice).to_have_count(0)


def test_messages_sent_offline_then_a_reload_all_arrive_once_in_order_when_the_line_is_back(
    new_page: Callable[..., Page], app_db: Session
) -> None:
    """Three sends wait while the line is down, and the member reloads the page (its queue
    of events is gone with the old page): once the line is back, all three are sent from
    the tab's notes, in order, each stored once, the one the server had already stored
    too (its answer was lost)."""
    url, mentor_email, mentee_email = _pair(app_db, "reload")
    pair_id = int(url.rsplit("/", 1)[1])
    mentor, mentee = new_page(), new_page()
    line = Line(mentee)
    open_chat(mentor, mentor_email, url)
    open_chat(mentee, mentee_email, url)
    send(mentee, "Stored before the tunnel")
    expect(mentor.get_by_role("log", name="Messages")).to_contain_text("Stored before")

    line.cut()
    expect(_offline_notice(mentee)).to_be_visible()
    bodies = ["First in the tunnel", "Second in the tunnel", "Third in the tunnel"]
    box = mentee.get_by_label("Message", exact=True)
    for body in bodies:
        box.fill(body)
        mentee.get_by_role("button", name="Send").click()
        _pending(mentee, body, "Sending…")
    notes = mentee.evaluate(
        "JSON.parse(sessionStorage.getItem('mentor-chat-pending:' + location.pathname))"
    )
    assert [n["text"] for n in notes] == bodies  # the stored one's note was dropped
    assert messages_in_db(app_db, pair_id, bodies[0]) == 0
    refused = line.refused
    mentee.reload()  # still offline: the page comes back without its socket
    _wait_until(mentee, lambda: line.refused > refused)
    line.down = False
    log = mentor.get_by_role("log", name="Messages")
    for body in bodies:
        expect(log.get_by_text(body, exact=True)).to_have_count(1)
    expect(log.locator("p")).to_have_text(["Stored before the tunnel", *bodies])
    for body in ["Stored before the tunnel", *bodies]:
        assert messages_in_db(app_db, pair_id, body) == 1
    mine = mentee.get_by_role("log", name="Messages")
    expect(mine.locator("p")).to_have_text(["Stored before the tunnel", *bodies])
    expect(mentee.get_by_text("Sending…")).to_have_count(0)
    # Every note was answered, and dropped: a later reload sends nothing again.
    mentee.wait_for_function(
        "sessionStorage.getItem('mentor-chat-pending:' + location.pathname) === null"
    )
    mentee.reload()
    expect(mine.locator("p")).to_have_text(["Stored before the tunnel", *bodies])
    send(mentee, "After the tunnel")
    expect(log.locator("p")).to_have_text(["Stored before the tunnel", *bodies, "After the tunnel"])
    for body in bodies:
        assert messages_in_db(app_db, pair_id, body) == 1


def test_a_message_sent_offline_after_the_partner_blocked_is_not_sent_and_keeps_its_text(
    new_page: Callable[..., Page], app_db: Session
) -> None:
    url, mentor_email, mentee_email = _pair(app_db, "offblock")
    pair_id = int(url.rsplit("/", 1)[1])
    mentor, mentee = new_page(), new_page()
    line = Line(mentee)
    open_chat(mentor, mentor_email, url)
    open_chat(mentee, mentee_email, url)
    send(mentee, "Talk tomorrow?")
    expect(mentor.get_by_role("log", name="Messages")).to_contain_text("Talk tomorrow?")

    line.cut()
    expect(_offline_notice(mentee)).to_be_visible()
    body = "Sorry, I was offline. Are you still there?"
    mentee.get_by_label("Message", exact=True).fill(body)
    mentee.get_by_role("button", name="Send").click()
    _pending(mentee, body, "Sending…")
    mentor.get_by_role("button", name="Block", exact=True).click()
    mentor.get_by_role("alertdialog").get_by_role("button", name="Block Offblock Mentee").click()
    expect(mentor.get_by_role("status")).to_contain_text("You blocked Offblock Mentee")

    line.down = False
    _pending(mentee, body, f"Not sent: {CANNOT_SEND}")
    expect(_offline_notice(mentee)).to_have_count(0)
    # The chat is closed: no retry, but the text stays, in the list and in the composer,
    # read-only, to copy.
    log = mentee.get_by_role("log", name="Messages")
    expect(log.get_by_role("button", name="Retry")).to_have_count(0)
    expect(log.get_by_role("button", name="Discard")).to_be_visible()
    kept = mentee.get_by_label("Your unsent text (not sent)")
    expect(kept).to_have_value(body)
    expect(kept).not_to_be_editable()
    expect(mentee.get_by_text(CANNOT_SEND).first).to_be_visible()
    assert messages_in_db(app_db, pair_id, body) == 0
    expect(mentor.get_by_role("log", name="Messages")).not_to_contain_text(body)


def test_text_typed_when_the_partner_blocks_stays_on_the_page_to_copy(
    new_page: Callable[..., Page], app_db: Session
) -> None:
    url, mentor_email, mentee_email = _pair(app_db, "typed")
    mentor, mentee = new_page(), new_page()
    open_chat(mentor, mentor_email, url)
    open_chat(mentee, mentee_email, url)
    typed = "A long answer I was still writing"
    mentee.get_by_label("Message", exact=True).fill(typed)

    mentor.get_by_role("button", name="Block", exact=True).click()
    mentor.get_by_role("alertdialog").get_by_role("button", name="Block Typed Mentee").click()

    expect(mentee.get_by_text("You can no longer send messages in this chat.")).to_be_visible()
    expect(mentee.get_by_label("Message", exact=True)).to_have_count(0)
    kept = mentee.get_by_label("Your unsent text (not sent)")
    expect(kept).to_have_value(typed)
    expect(kept).not_to_be_editable()
    expect(mentee.get_by_role("button", name="Send")).to_have_count(0)
    # With nothing typed, a closed chat shows no composer at all.
    mentor.reload()
    expect(mentor.get_by_text("You can no longer send messages in this chat.")).to_be_visible()
    expect(mentor.get_by_label("Your unsent text (not sent)")).to_be_hidden()


def _sent_just_now(db: Session, pair_id: int, count: int) -> list[int]:
    """`count` messages from the mentee written straight to the database a moment ago:
    the send rate's window is full."""
    pair = db.get(Pair, pair_id)
    assert pair is not None
    rows = [
        Message(
            pair_id=pair_id,
            sender_id=pair.mentee_id,
            client_id=uuid.uuid4().hex,
            body=f"Quick one {i}",
            created_at=utcnow(),
        )
        for i in range(count)
    ]
    db.add_all(rows)
    db.commit()
    return [m.id or 0 for m in rows]


def test_a_refused_send_shows_not_sent_with_the_reason_and_retry_sends_it_once(
    new_page: Callable[..., Page], app_db: Session
) -> None:
    url, mentor_email, mentee_email = _pair(app_db, "retry")
    pair_id = int(url.rsplit("/", 1)[1])
    mentor, mentee = new_page(), new_page()
    line = Held(mentee)
    open_chat(mentor, mentor_email, url)
    open_chat(mentee, mentee_email, url)
    ids = _sent_just_now(app_db, pair_id, RATE_MAX)

    body = "One more thing before I forget"
    box = mentee.get_by_label("Message", exact=True)
    box.fill(body)
    mentee.get_by_role("button", name="Send").click()
    _pending(mentee, body, re.compile(r"Not sent: You're sending messages very quickly"))
    expect(box).to_have_value(body)  # the composer keeps it too
    assert messages_in_db(app_db, pair_id, body) == 0

    # The window passes (the earlier messages are dated back), and Retry sends it.
    app_db.execute(
        update(Message)
        .where(Message.id.in_(ids))  # type: ignore[union-attr]
        .values(created_at=utcnow() - dt.timedelta(minutes=5))
    )
    app_db.commit()
    # While the server's answer is on its way, the retried text says "Sending…" again,
    # not the earlier "Not sent".
    line.held = True
    mentee.get_by_role("log", name="Messages").get_by_role("button", name="Retry").click()
    _pending(mentee, body, "Sending…")
    expect(mentee.get_by_text("Not sent", exact=False)).to_have_count(0)
    line.release()
    expect(mentee.get_by_text(re.compile("Not sent|Sending…"))).to_have_count(0)
    expect(box).to_have_value("")
    for page in (mentee, mentor):
        log = page.get_by_role("log", name="Messages")
        expect(log.get_by_text(body, exact=True)).to_have_count(1)
    assert messages_in_db(app_db, pair_id, body) == 1
