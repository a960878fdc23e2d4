"""The pair chat between two browsers: live both ways, inert text, report and block."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, WebSocketRoute, expect
from sqlmodel import Session, select

from mentor_app.models import Message, Pair, utcnow
from tests.e2e.test_journey import arrange_pair_two_weeks_in
from tests.e2e.test_programs import demo_log_in


def open_chat(page: Page, email: str, url: str) -> None:
    demo_log_in(page, email, then=url)
    expect(page.get_by_label("Message", exact=True)).to_be_visible()


def send(page: Page, text: str) -> None:
    box = page.get_by_label("Message", exact=True)
    box.fill(text)
    page.get_by_role("button", name="Send").click()
    expect(box).to_have_value("")  # emptied once the server has stored it


def test_two_members_chat_live_both_ways_and_markup_stays_text(
    new_page: Callable[..., Page], app_db: Session
) -> None:
    _program, pair_id = arrange_pair_two_weeks_in(
        app_db,
        ("lee.mentor@example.org", "Lee Mentor"),
        ("max.mentee@example.org", "Max Mentee"),
        title="Chat test program",
    )
    url = f"/pairs/{pair_id}"
    mentor, mentee = new_page(), new_page()
    open_chat(mentor, "lee.mentor@example.org", url)
    open_chat(mentee, "max.mentee@example.org", url)
    dialogs: list[str] = []
    for page in (mentor, mentee):
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    send(mentee, "Hi Lee! Looking forward to this.")
    expect(mentor.get_by_role("log", name="Messages")).to_contain_text(
        "Hi Lee! Looking forward to this."
    )
    send(mentor, "Welcome Max.\nLet's meet on Tuesday.")
    expect(mentee.get_by_role("log", name="Messages")).to_contain_text("Let's meet on Tuesday.")

    # Enter sends; Shift+Enter makes a new line.
    box = mentee.get_by_label("Message", exact=True)
    box.fill("Tuesday works")
    box.press("Shift+Enter")
    box.type("at 6pm?")
    box.press("Enter")
    expect(mentor.get_by_role("log", name="Messages")).to_contain_text("at 6pm?")

    attack = '<img src=x onerror=alert(1)> <a href="javascript:alert(2)">click</a>'
    send(mentor, attack)
    log = mentee.get_by_role("log", name="Messages")
    expect(log).to_contain_text(attack)
    assert log.locator("img").count() == 0 and log.locator("a").count() == 0
    assert dialogs == []

    # A message over the limit is refused with a message and stays in the composer.
    mentee.get_by_label("Message", exact=True).fill("x" * 4001)
    mentee.get_by_role("button", name="Send").click()
    expect(mentee.get_by_role("alert")).to_contain_text("at most 4,000 characters")
    expect(mentee.get_by_label("Message", exact=True)).to_have_value("x" * 4001)

    # A third member cannot open the chat.
    outsider = new_page()
    demo_log_in(outsider, "sam.mentee@example.org", then=url)
    expect(outsider.get_by_role("heading", name="Pair not found")).to_be_visible()
    expect(outsider.get_by_label("Message", exact=True)).to_have_count(0)
    expect(outsider.get_by_text("Let's meet on Tuesday.")).to_have_count(0)


def test_the_mentor_blocks_mid_conversation_and_the_mentees_next_send_is_refused(
    new_page: Callable[..., Page], app_db: Session
) -> None:
    _program, pair_id = arrange_pair_two_weeks_in(
        app_db,
        ("ray.mentor@example.org", "Ray Mentor"),
        ("ivy.mentee@example.org", "Ivy Mentee"),
        title="Block test program",
    )
    url = f"/pairs/{pair_id}"
    mentor, mentee = new_page(), new_page()
    open_chat(mentor, "ray.mentor@example.org", url)
    open_chat(mentee, "ivy.mentee@example.org", url)
    send(mentee, "Can I have your phone number?")
    expect(mentor.get_by_role("log", name="Messages")).to_contain_text("phone number")

    mentee.get_by_label("Message", exact=True).fill("Please answer me")  # typed, not yet sent
    mentor.get_by_role("button", name="Block", exact=True).click()
    mentor.get_by_role("alertdialog").get_by_role("button", name="Block Ivy Mentee").click()
    expect(mentor.get_by_role("status")).to_contain_text("You blocked Ivy Mentee")

    # Without a reload, the mentee's send is refused and nothing is delivered. One event
    # changed the chat and the journey: both reach the mentee's open page.
    expect(mentee.get_by_text("You can no longer send messages in this chat.")).to_be_visible()
    expect(mentee.get_by_text(re.compile("This pair ended on"))).to_be_visible()
    expect(mentee.get_by_label("Message", exact=True)).to_have_count(0)
    expect(mentor.get_by_role("log", name="Messages")).not_to_contain_text("Please answer me")
    expect(mentee.get_by_role("log", name="Messages")).to_contain_text("phone number")
    expect(mentee.get_by_text(re.compile("blocked", re.I))).to_have_count(0)


def test_a_member_sees_and_lifts_their_blocks_in_settings(
    new_page: Callable[..., Page], app_db: Session
) -> None:
    _program, pair_id = arrange_pair_two_weeks_in(
        app_db,
        ("ned.mentor@example.org", "Ned Mentor"),
        ("ola.mentee@example.org", "Ola Mentee"),
        title="Settings test program",
    )
    mentee = new_page()
    open_chat(mentee, "ola.mentee@example.org", f"/pairs/{pair_id}")
    mentee.get_by_role("button", name="Block", exact=True).click()
    mentee.get_by_role("alertdialog").get_by_role("button", name="Block Ned Mentor").click()
    expect(mentee.get_by_role("status")).to_contain_text("You blocked Ned Mentor")

    mentee.get_by_role("link", name="Settings", exact=True).click()
    blocked = mentee.get_by_role("list", name="Blocked members")
    expect(blocked).to_contain_text("Ned Mentor")
    blocked.get_by_role("button", name="Lift block on Ned Mentor").click()
    mentee.get_by_role("alertdialog").get_by_role("button", name="Lift block").click()
    expect(mentee.get_by_role("status")).to_contain_text("You lifted your block on Ned Mentor")
    expect(mentee.get_by_text("You haven't blocked anyone.")).to_be_visible()
    # The pair stays ended.
    mentee.goto(f"/pairs/{pair_id}")
    expect(mentee.get_by_text("You can no longer send messages in this chat.")).to_be_visible()


def test_the_mentee_reports_a_message_and_a_moderator_sees_the_evidence(
    new_page: Callable[..., Page], app_db: Session
) -> None:
    _program, pair_id = arrange_pair_two_weeks_in(
        app_db,
        ("ugo.mentor@example.org", "Ugo Mentor"),
        ("pia.mentee@example.org", "Pia Mentee"),
        title="Safety test program",
    )
    url = f"/pairs/{pair_id}"
    mentor, mentee = new_page(), new_page()
    open_chat(mentor, "ugo.mentor@example.org", url)
    open_chat(mentee, "pia.mentee@example.org", url)
    offensive = "You will never get anywhere, stop wasting my time."
    send(mentor, offensive)
    send(mentor, "Anyway, see you Tuesday.")
    expect(mentee.get_by_role("log", name="Messages")).to_contain_text("see you Tuesday")

    mentee.get_by_role("button", name="Report").click()
    dialog = mentee.get_by_role("dialog")
    dialog.get_by_role("button", name="Send report").click()
    expect(dialog.get_by_role("alert")).to_contain_text("Choose what kind of problem")
    dialog.get_by_label("What is the problem?").select_option("harassment")
    dialog.get_by_role("checkbox", name=re.compile("never get anywhere")).check()
    dialog.get_by_label("Details (needed for “Other”)").fill("This keeps happening.")
    dialog.get_by_role("button", name="Send report").click()
    expect(mentee.get_by_role("status")).to_contain_text("Your report has gone to the site")
    expect(mentee.get_by_role("dialog")).to_have_count(0)

    moderator = new_page()
    demo_log_in(moderator, "mo.moderator@example.org", then="/moderation")
    reports = moderator.get_by_role("list", name="Reports")
    expect(reports).to_contain_text("Pia Mentee → Ugo Mentor")
    moderator.get_by_role(
        "button", name=re.compile(r"^View report \d+: Harassment, about Ugo")
    ).click()
    evidence = moderator.get_by_label("Selected report").get_by_role("list", name="Evidence")
    expect(evidence).to_contain_text(offensive)
    expect(evidence).not_to_contain_text("see you Tuesday")  # only the ticked message

    # The reported mentor is told nothing.
    mentor.goto("/groups")
    expect(mentor.get_by_role("heading", name="My groups")).to_be_visible()
    expect(mentor.get_by_text(re.compile("report", re.I))).to_have_count(0)


def test_a_message_travels_alone_and_the_composer_is_ready_for_the_next(
    new_page: Callable[..., Page], app_db: Session
) -> None:
    """Each change reaches the partner's page alone: a message does not carry the journey
    with it, nor a journey step the chat (Reflex would re-send a shared state's last
    changes with every later event). No card makes the browser blur what is behind it."""
    _program, pair_id = arrange_pair_two_weeks_in(
        app_db,
        ("kit.mentor@example.org", "Kit Mentor"),
        ("ray.mentee@example.org", "Ray Mentee"),
        title="Frames test program",
    )
    url = f"/pairs/{pair_id}"
    mentor, mentee = new_page(), new_page()
    frames: list[str] = []
    mentee.on(
        "websocket",
        lambda socket: socket.on(
            "framereceived", lambda data: frames.append(data if isinstance(data, str) else "")
        ),
    )
    open_chat(mentor, "kit.mentor@example.org", url)
    open_chat(mentee, "ray.mentee@example.org", url)

    def frame_with(text: str) -> str:
        found = [f for f in frames if text in f]
        assert len(found) == 1, f"{len(found)} frames carry {text!r}"
        return found[0]

    send(mentor, "Just the message, please")
    expect(mentee.get_by_role("log", name="Messages")).to_contain_text("Just the message")
    carried = frame_with("Just the message, please")
    assert "pair_live_state" not in carried and "progress" not in carried
    assert "rx_router" not in carried  # nor the page's unchanged address and route ids
    # Nor does the answer of a link: the bell's, made on every signed-in page once it is
    # shown, carried the router too (and re-drew all that reads it, on a phone's first load).
    bells = [f for f in frames if "connected_rx_state_" in f]
    assert bells and all("notification_bell_state" in f for f in bells)
    assert not [f for f in bells if "rx_router" in f]
    # The sender's composer is empty and focused again, ready for the next message.
    expect(mentor.get_by_label("Message", exact=True)).to_be_focused()

    mentor.get_by_role("button", name="Mark step done").first.click()
    steps = mentee.get_by_role("list", name="Journey steps").get_by_role("listitem")
    expect(steps.first).to_contain_text("Kit Mentor ✓")  # one mark: 0 of 6 steps done still
    step_frames = [f for f in frames if "done_roles" in f]
    assert step_frames and all("Just the message" not in f for f in step_frames)

    send(mentor, "And again after the step")
    expect(mentee.get_by_role("log", name="Messages")).to_contain_text("after the step")
    assert "pair_live_state" not in frame_with("And again after the step")

    # What changes nothing the two share reaches the partner not at all: opening and
    # closing the report dialog are two events in the mentor's tab, no frame in the mentee's.
    before = len(frames)
    mentor.get_by_role("button", name="Report").click()
    expect(mentor.get_by_role("dialog")).to_be_visible()
    mentor.get_by_role("button", name="Cancel").click()
    expect(mentor.get_by_role("dialog")).to_have_count(0)
    send(mentor, "After the dialog")  # the frames before it arrive before it
    expect(mentee.get_by_role("log", name="Messages")).to_contain_text("After the dialog")
    events = [f for f in frames[before:] if f.startswith("42")]
    assert events == [frame_with("After the dialog")]

    backdrops = mentee.evaluate(
        "() => [...document.querySelectorAll('.rt-Card')]"
        ".map(card => getComputedStyle(card, '::before').backdropFilter)"
    )
    assert backdrops and set(backdrops) == {"none"}


class Relay:
    """The page's socket to the server through Playwright, so that a test can lose the
    server's answers to the page (`lose_answers`) or drop the connection (`drop_at`)."""

    def __init__(self, page: Page) -> None:
        self.lose_answers = False
        # The next frame from the page that contains this text drops the connection:
        # ("after", text) once the server has it, ("before", text) before it leaves.
        self.drop_at: tuple[str, str] | None = None
        self.drops = 0
        self.connections = 0
        page.route_web_socket(re.compile(r"/_event"), self._route)

    def _route(self, ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()
        self.connections += 1

        def to_server(frame: str | bytes) -> None:
            drop = self.drop_at
            if drop is None or not isinstance(frame, str) or drop[1] not in frame:
                server.send(frame)
                return
            self.drop_at = None
            if drop[0] == "after":
                server.send(frame)
            self.drops += 1
            ws.close(code=1001, reason="dropped by the test")
            server.close()

        ws.on_message(to_server)

        def to_page(frame: str | bytes) -> None:
            # Engine.IO pings ("2") and the like pass; socket.IO events ("42…") may be lost.
            if not (self.lose_answers and isinstance(frame, str) and frame.startswith("42")):
                ws.send(frame)

        server.on_message(to_page)


def messages_in_db(db: Session, pair_id: int, body: str) -> int:
    """How many rows hold this text; the transaction ends at once (the test's engine takes
    SQLite's write lock when one begins, and the app's sends would wait for it)."""
    try:
        return len(
            db.exec(
                select(Message.id).where(Message.pair_id == pair_id, Message.body == body)
            ).all()
        )
    finally:
        db.rollback()


def test_an_edit_after_a_lost_answer_is_sent_and_an_unchanged_retry_arrives_once(
    new_page: Callable[..., Page], app_db: Session
) -> None:
    _program, pair_id = arrange_pair_two_weeks_in(
        app_db,
        ("eva.mentor@example.org", "Eva Mentor"),
        ("tom.mentee@example.org", "Tom Mentee"),
        title="Lost answers program",
    )
    url = f"/pairs/{pair_id}"
    mentor, mentee = new_page(), new_page()
    relay = Relay(mentee)
    open_chat(mentor, "eva.mentor@example.org", url)
    open_chat(mentee, "tom.mentee@example.org", url)
    to_mentor = mentor.get_by_role("log", name="Messages")
    box = mentee.get_by_label("Message", exact=True)
    send_button = mentee.get_by_role("button", name="Send")

    # The server stores the message, but its answer never reaches the mentee's page: the
    # composer keeps the text, which the mentee then edits and sends again.
    relay.lose_answers = True
    box.fill("See you at 5")
    send_button.click()
    expect(to_mentor).to_contain_text("See you at 5")
    expect(box).to_have_value("See you at 5")
    relay.lose_answers = False
    box.fill("See you at 6 instead")
    send_button.click()
    expect(box).to_have_value("")
    expect(to_mentor).to_contain_text("See you at 6 instead")
    assert messages_in_db(app_db, pair_id, "See you at 6 instead") == 1

    # The same text sent again after a lost answer is the same message: stored once.
    relay.lose_answers = True
    box.fill("Bring your CV")
    send_button.click()
    expect(to_mentor).to_contain_text("Bring your CV")
    relay.lose_answers = False
    send_button.click()
    expect(box).to_have_value("")
    expect(mentee.get_by_role("log", name="Messages")).to_contain_text("Bring your CV")
    expect(to_mentor.get_by_text("Bring your CV", exact=True)).to_have_count(1)
    assert messages_in_db(app_db, pair_id, "Bring your CV") == 1


def write_messages(db: Session, pair_id: int, prefix: str, count: int) -> None:
    """Messages written straight to the database, the mentor's and the mentee's in turn:
    no open page hears of them until a page of the pair loads the chat again."""
    pair = db.get(Pair, pair_id)
    assert pair is not None
    start = utcnow() - dt.timedelta(minutes=count)
    for i in range(1, count + 1):
        db.add(
            Message(
                pair_id=pair_id,
                sender_id=pair.mentor_id if i % 2 else pair.mentee_id,
                client_id=uuid.uuid4().hex,
                body=f"{prefix} {i}",
                created_at=start + dt.timedelta(minutes=i),
            )
        )
    db.commit()


def test_messages_that_come_after_load_earlier_join_the_earlier_ones_and_none_leaves(
    new_page: Callable[..., Page], app_db: Session
) -> None:
    _program, pair_id = arrange_pair_two_weeks_in(
        app_db,
        ("ida.mentor@example.org", "Ida Mentor"),
        ("leo.mentee@example.org", "Leo Mentee"),
        title="Long chat program",
    )
    write_messages(app_db, pair_id, "Old message", 55)
    url = f"/pairs/{pair_id}"
    mentor, mentee = new_page(), new_page()
    open_chat(mentor, "ida.mentor@example.org", url)
    open_chat(mentee, "leo.mentee@example.org", url)
    log = mentee.get_by_role("log", name="Messages")

    def shown_once(*texts: str) -> None:
        for text in texts:
            expect(log.get_by_text(text, exact=True)).to_have_count(1)

    shown_once("Old message 6", "Old message 55")
    expect(log.get_by_text("Old message 5", exact=True)).to_have_count(0)  # the latest 50
    mentee.get_by_role("button", name="Load earlier").click()
    shown_once("Old message 1", "Old message 5", "Old message 55")
    expect(mentee.get_by_role("button", name="Load earlier")).to_have_count(0)

    # The partner's message pushes the oldest of the shared fifty out of the shared
    # window; on this page it stays, between the earlier ones and the new one.
    send(mentor, "New after you looked back")
    shown_once("New after you looked back")
    shown_once("Old message 1", "Old message 6", "Old message 55")

    # More than fifty at once (written meanwhile, then the partner's page loads the chat
    # and the window moves past everything this page kept): the gap is filled.
    write_messages(app_db, pair_id, "Quiet message", 60)
    mentor.reload()
    shown_once("Quiet message 60", "Quiet message 1", "Quiet message 10")
    shown_once("Old message 1", "Old message 6", "New after you looked back")
    expect(log.locator("p")).to_have_count(55 + 1 + 60)


@pytest.mark.parametrize("lost", ["after", "before"])
def test_a_send_in_flight_when_the_connection_drops_arrives_once_and_the_composer_empties(
    new_page: Callable[..., Page], app_db: Session, lost: str
) -> None:
    """The connection drops as the send leaves the page, after the server got it (its
    answer is lost) or before (the server never got it), and comes back at once."""
    _program, pair_id = arrange_pair_two_weeks_in(
        app_db,
        (f"uma.{lost}.mentor@example.org", "Uma Mentor"),
        (f"vic.{lost}.mentee@example.org", "Vic Mentee"),
        title=f"Dropped connection program {lost}",
    )
    url = f"/pairs/{pair_id}"
    mentor, mentee = new_page(), new_page()
    relay = Relay(mentee)
    open_chat(mentor, f"uma.{lost}.mentor@example.org", url)
    open_chat(mentee, f"vic.{lost}.mentee@example.org", url)
    send(mentee, "Before the drop")  # the page is live, its time zone noted
    expect(mentor.get_by_role("log", name="Messages")).to_contain_text("Before the drop")

    body = f"Sent as the line dropped ({lost})"
    box = mentee.get_by_label("Message", exact=True)
    box.fill(body)
    connections = relay.connections
    relay.drop_at = (lost, "pair_chat_form_state.send")
    mentee.get_by_role("button", name="Send").click()
    expect(box).to_have_value("")
    # Dropped once and connected again (under load the client may retry more than once
    # before it holds: how many tries it took is not what this test is about).
    assert relay.drops == 1 and relay.connections > connections
    expect(mentor.get_by_role("log", name="Messages").get_by_text(body, exact=True)).to_have_count(
        1
    )
    expect(mentee.get_by_role("log", name="Messages").get_by_text(body, exact=True)).to_have_count(
        1
    )
    assert messages_in_db(app_db, pair_id, body) == 1
    # The page goes on: the next message is sent and shown as ever.
    send(mentee, "After the drop")
    expect(mentor.get_by_role("log", name="Messages")).to_contain_text("After the drop")
    expect(mentor.get_by_role("log", name="Messages").get_by_text(body, exact=True)).to_have_count(
        1
    )
