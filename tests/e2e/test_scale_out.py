"""Scale-out mode: two app instances on PostgreSQL + Redis. Two members whose pages are
served by different instances chat, see each other's journey and get their bell live;
sessions and rate limits hold across instances; the scheduler runs on exactly one, and a
survivor takes over when it is killed."""

from __future__ import annotations

import pickle
import re
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
import redis
from playwright.sync_api import Browser, Page, expect
from playwright.sync_api import Error as PlaywrightError
from sqlmodel import Session, select

from mentor_app.db import make_engine
from mentor_app.models import EmailOutbox, LoginThrottle, Message, User
from mentor_app.scheduler import RENEW_EVERY_S
from mentor_app.seed import DEMO_PASSWORD
from mentor_app.services.chat import RATE_MAX
from state.journey import chat_token, live_token
from state.notifications import bell_token
from tests.e2e.test_chat import open_chat, send
from tests.e2e.test_journey import arrange_pair_two_weeks_in
from tests.e2e.test_notifications import bell
from tests.e2e.test_programs import demo_log_in
from tests.support.app_fixtures import open_dialog
from tests.support.scaleout import ScaleOut

OUTBOX_EVERY_S = 5  # the outbox job's interval in this deployment (60 s by default)
KEEP_ALIVE_S = 2  # an open page's keep-alives here (a quarter of an hour by default)
RATE_REFUSAL = "You're sending messages very quickly"


@pytest.fixture(scope="module")
def scale_out(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScaleOut]:
    app = ScaleOut(
        tmp_path_factory.mktemp("scaleout"),
        instances=2,
        REFLEX_PERF_MODE="raise",
        MENTOR_OUTBOX_EVERY_S=str(OUTBOX_EVERY_S),
        MENTOR_KEEP_ALIVE_S=str(KEEP_ALIVE_S),
    )
    app.start()
    yield app
    app.stop()


@pytest.fixture
def so_db(scale_out: ScaleOut) -> Iterator[Session]:
    engine = make_engine(scale_out.database_url)
    with Session(engine, expire_on_commit=False) as session:
        yield session
    engine.dispose()


@pytest.fixture
def page_on(browser: Browser, scale_out: ScaleOut) -> Iterator[Callable[[int], Page]]:
    """`page_on(i)`: a new person (fresh context) whose pages come from instance i, with
    the URLs of the websockets the page opens in `page.sockets`."""
    contexts = []

    def make(index: int) -> Page:
        context = browser.new_context(
            base_url=scale_out.urls[index], viewport={"width": 1280, "height": 900}
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        sockets: list[str] = []
        page.on("websocket", lambda ws: sockets.append(ws.url))
        page.sockets = sockets  # type: ignore[attr-defined]
        return page

    yield make
    for context in contexts:
        context.close()


def socket_owners(scale_out: ScaleOut) -> set[str]:
    """The Reflex instance ids holding the connected sockets (Redis token manager)."""
    client = redis.Redis.from_url(scale_out.redis_url)
    owners = set()
    for key in client.scan_iter(match="*socket_record*"):
        value = client.get(key)
        if value:
            # Reflex's own record (a pickled SocketRecord), written by Reflex in our Redis db.
            owners.add(pickle.loads(value).instance_id)
    return owners


def open_pair_on_two_workers(
    so_db: Session, page_on: Callable[[int], Page], scale_out: ScaleOut, tag: str
) -> tuple[Page, Page]:
    """A new pair; the mentor's page served by instance 0, the mentee's by instance 1, and
    proof that their sockets are held by two different Reflex instances."""
    _program, pair_id = arrange_pair_two_weeks_in(
        so_db,
        (f"{tag}.mentor@example.org", f"{tag.title()} Mentor"),
        (f"{tag}.mentee@example.org", f"{tag.title()} Mentee"),
        title=f"Scale-out program {tag}",
    )
    url = f"/pairs/{pair_id}"
    mentor, mentee = page_on(0), page_on(1)
    open_chat(mentor, f"{tag}.mentor@example.org", url)
    open_chat(mentee, f"{tag}.mentee@example.org", url)
    # Each page's socket is on the address that served it, where only that instance listens.
    port = scale_out.port
    assert {s.split("/")[2] for s in mentor.sockets} == {f"127.0.0.1:{port}"}  # type: ignore[attr-defined]
    assert {s.split("/")[2] for s in mentee.sockets} == {f"127.0.0.2:{port}"}  # type: ignore[attr-defined]
    assert len(socket_owners(scale_out)) >= 2  # Reflex's token manager: two instance ids
    return mentor, mentee


def test_two_members_on_different_workers_chat_live_both_ways(
    scale_out: ScaleOut, so_db: Session, page_on: Callable[[int], Page]
) -> None:
    mentor, mentee = open_pair_on_two_workers(so_db, page_on, scale_out, "chat")
    send(mentee, "Hello from worker two")
    expect(mentor.get_by_role("log", name="Messages")).to_contain_text("Hello from worker two")
    send(mentor, "And back from worker one")
    expect(mentee.get_by_role("log", name="Messages")).to_contain_text("And back from worker one")


def _forget(scale_out: ScaleOut, *tokens: str) -> list[str]:
    """Delete these shared states from Redis, as Redis does when their keys expire
    (Reflex's token expiration, an hour by default, after the last write); the names of
    the keys deleted."""
    client = redis.Redis.from_url(scale_out.redis_url)
    keys = [
        key
        for token in tokens
        for key in client.scan_iter(match=f"{token}*")
        if key.decode().split("_", 1)[0] == token and b"lock" not in key
    ]
    if keys:
        client.delete(*keys)
    return sorted(k.decode() for k in keys)


def _forget_pair_states(scale_out: ScaleOut, pair_id: int) -> list[str]:
    return _forget(scale_out, live_token(pair_id), chat_token(pair_id))


def test_a_quiet_page_still_gets_messages_after_the_server_forgot_the_pair(
    scale_out: ScaleOut, so_db: Session, page_on: Callable[[int], Page]
) -> None:
    mentor, mentee = open_pair_on_two_workers(so_db, page_on, scale_out, "quiet")
    pair_id = int(mentor.url.rstrip("/").rsplit("/", 1)[1])
    send(mentee, "Before the server forgot")
    log = mentor.get_by_role("log", name="Messages")
    expect(log).to_contain_text("Before the server forgot")
    # The mentor's page stays open and quiet while the server forgets the pair's shared
    # states (the tabs linked to them with them); there was something to forget.
    forgotten = _forget_pair_states(scale_out, pair_id)
    assert any(k.startswith(chat_token(pair_id)) for k in forgotten), forgotten
    send(mentee, "After the server forgot")
    # Without a word from the mentor's page, within its keep-alive, the message is there,
    # and so is the history.
    expect(log).to_contain_text("After the server forgot")
    expect(log).to_contain_text("Before the server forgot")
    send(mentee, "And live again")
    expect(log).to_contain_text("And live again")
    expect(mentee.get_by_role("log", name="Messages")).to_contain_text("Before the server forgot")


def test_a_quiet_tab_still_gets_its_bell_after_the_server_forgot_it(
    scale_out: ScaleOut, so_db: Session, page_on: Callable[[int], Page]
) -> None:
    mentor, mentee = open_pair_on_two_workers(so_db, page_on, scale_out, "bellquiet")
    expect(bell(mentee, 1)).to_be_visible()  # being paired
    mentee_id = so_db.exec(
        select(User.id).where(User.email == "bellquiet.mentee@example.org")
    ).one()
    # The mentee's tab stays open and quiet while the server forgets their bell (the tab
    # linked to it with it); there was something to forget.
    assert _forget(scale_out, bell_token(mentee_id or 0))
    # Within its keep-alive, and without a word from the member, the tab has linked itself
    # to the bell again: the server holds it once more.
    client = redis.Redis.from_url(scale_out.redis_url)
    deadline = time.monotonic() + 10 * KEEP_ALIVE_S
    while not any(
        k.decode().split("_", 1)[0] == bell_token(mentee_id or 0) and b"lock" not in k
        for k in client.scan_iter(match=f"{bell_token(mentee_id or 0)}*")
    ):
        assert time.monotonic() < deadline, "the forgotten bell was never linked again"
        time.sleep(0.2)
    # A notification from the other worker reaches the quiet tab live.
    dialog = open_dialog(mentor, mentor.get_by_role("button", name="End this pair"))
    dialog.get_by_label("Why is it ending?").select_option("not_a_good_fit")
    dialog.get_by_role("button", name="End the pair").click()
    expect(mentor.get_by_role("status")).to_contain_text("The pair has ended")
    expect(bell(mentee, 2)).to_be_visible()


def test_journey_and_bell_cross_workers_live(
    scale_out: ScaleOut, so_db: Session, page_on: Callable[[int], Page]
) -> None:
    mentor, mentee = open_pair_on_two_workers(so_db, page_on, scale_out, "walk")

    # A step marked on instance 1 shows on instance 0 without a reload.
    mentee.get_by_role("button", name=re.compile(r"^Mark step done: Week 1: ")).click()
    steps = mentor.get_by_role("list", name="Journey steps").get_by_role("listitem")
    expect(steps.first).to_contain_text("Marked by Walk Mentee")
    expect(mentor.get_by_text("0 of 6 steps done")).to_be_visible()  # done once both mark it

    # The mentor ends the pair on instance 0; the mentee's page and bell on instance 1
    # follow at once (the bell: an out-of-band push to a socket held by the other instance).
    expect(bell(mentee, 1)).to_be_visible()  # being paired
    dialog = open_dialog(mentor, mentor.get_by_role("button", name="End this pair"))
    dialog.get_by_label("Why is it ending?").select_option("not_a_good_fit")
    dialog.get_by_role("button", name="End the pair").click()
    expect(mentor.get_by_role("status")).to_contain_text("The pair has ended")
    expect(mentee.get_by_text(re.compile("This pair ended on"))).to_be_visible()
    expect(bell(mentee, 2)).to_be_visible()


def test_chat_rate_limit_counts_messages_sent_through_both_workers(
    so_db: Session, page_on: Callable[[int], Page]
) -> None:
    _program, pair_id = arrange_pair_two_weeks_in(
        so_db,
        ("ivy.mentor@example.org", "Ivy Mentor"),
        ("leo.mentee@example.org", "Leo Mentee"),
        title="Rate limit program",
    )
    url = f"/pairs/{pair_id}"
    # The same mentor in two tabs, one served by each instance.
    tab_one, tab_two = page_on(0), page_on(1)
    open_chat(tab_one, "ivy.mentor@example.org", url)
    open_chat(tab_two, "ivy.mentor@example.org", url)
    # Twelve of the twenty a window allows, written just now; the other eight go through
    # the two workers, four each. (Twenty sends through the pages took over 10 s once,
    # with the whole suite on the two cores.)
    mentor = so_db.exec(select(User).where(User.email == "ivy.mentor@example.org")).one()
    started = time.monotonic()
    for i in range(RATE_MAX - 8):
        so_db.add(Message(pair_id=pair_id, sender_id=mentor.id or 0, client_id=f"early{i}",
                          body=f"early {i}"))  # fmt: skip
    so_db.commit()
    for i in range(4):
        send(tab_one, f"one {i}")
        send(tab_two, f"two {i}")
    assert time.monotonic() - started < 9, "too slow to test a 10-second window"
    box = tab_one.get_by_label("Message", exact=True)
    box.fill("the twenty-first")
    tab_one.get_by_role("button", name="Send").click()
    expect(tab_one.get_by_role("alert")).to_contain_text(RATE_REFUSAL)
    expect(box).to_have_value("the twenty-first")


def test_logging_out_on_one_worker_ends_the_session_on_the_other(
    scale_out: ScaleOut, page_on: Callable[[int], Page]
) -> None:
    page = page_on(0)
    demo_log_in(page, "theo.mentee@example.org")
    # The same browser session on instance 1 (its cookie, under that host name).
    cookie = next(c for c in page.context.cookies() if c["name"] == "mc_session")
    other = page.context.new_page()
    page.context.add_cookies(
        [{"name": "mc_session", "value": cookie["value"], "url": scale_out.urls[1]}]
    )
    other.goto(scale_out.urls[1] + "/groups")
    expect(other.get_by_role("heading", name="My groups")).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login"))
    try:
        other.goto(scale_out.urls[1] + "/groups")
    except PlaywrightError as error:
        # The open tab's own next event found its session ended and sent it to log in
        # first: the same outcome, reached before the test's navigation ended.
        assert "interrupted by another navigation" in str(error) and "/login" in str(error)
    expect(other).to_have_url(re.compile(r"/login"))


def _queue_email(db: Session, subject: str) -> int:
    # To a member's address: the sender skips e-mails whose recipient is no active member.
    member = db.exec(select(User).where(User.status == "active").order_by(User.id)).first()
    assert member is not None
    row = EmailOutbox(to_address=member.email, subject=subject, body="scale-out test")
    db.add(row)
    db.commit()
    return row.id or 0


def _wait_sent(db: Session, row_id: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        db.expire_all()
        status = db.exec(select(EmailOutbox.status).where(EmailOutbox.id == row_id)).one()
        if status == "sent":
            return
        time.sleep(1)
    raise AssertionError(f"e-mail {row_id} not sent within {timeout_s}s")


def _leader(scale_out: ScaleOut, timeout_s: float, *, other_than: int | None = None) -> int:
    """The instance holding the lock; with `other_than`, wait for another one to hold it
    (a killed instance's backend may hold the lock a moment longer, until PostgreSQL
    notices its client is gone)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        leaders = scale_out.scheduler_leaders()
        assert len(leaders) <= 1, f"two scheduler leaders: {leaders}"
        if leaders and leaders[0] != other_than:
            return leaders[0]
        time.sleep(0.5)
    raise AssertionError(f"no scheduler leader within {timeout_s}s")


def test_scheduler_runs_on_one_worker_and_a_survivor_takes_over_after_kill_9(
    scale_out: ScaleOut, so_db: Session
) -> None:
    leader = _leader(scale_out, RENEW_EVERY_S + 10)
    follower = 1 - leader
    subject = f"scale-out leader check {uuid.uuid4().hex[:8]}"
    _wait_sent(so_db, _queue_email(so_db, subject), timeout_s=OUTBOX_EVERY_S + 15)
    assert subject in scale_out.log(leader)
    assert subject not in scale_out.log(follower)
    assert scale_out.scheduler_leaders() == [leader]

    scale_out.kill(leader)
    killed_at = time.monotonic()
    assert _leader(scale_out, RENEW_EVERY_S + 10, other_than=leader) == follower
    took_over_s = time.monotonic() - killed_at
    assert took_over_s <= RENEW_EVERY_S + 5

    subject = f"scale-out survivor check {uuid.uuid4().hex[:8]}"
    _wait_sent(so_db, _queue_email(so_db, subject), timeout_s=OUTBOX_EVERY_S + 15)
    assert subject in scale_out.log(follower)

    # The killed instance comes back as a follower; the lock stays where it is.
    scale_out.start_instance(leader)
    scale_out.wait_ready(leader)
    time.sleep(2)
    assert scale_out.scheduler_leaders() == [follower]


def test_login_throttling_counts_failures_on_both_workers(
    so_db: Session, page_on: Callable[[int], Page]
) -> None:
    """Failed log-ins on one worker throttle the account on the other (the counter is a
    database row, not process memory), and the owner gets in once the pause is over."""
    email = "priya.mentee@example.org"

    def failures() -> int:
        so_db.expire_all()
        row = so_db.get(LoginThrottle, email)
        so_db.rollback()
        return row.failure_count if row else 0

    first, second = page_on(0), page_on(1)
    second.goto("/login")
    second.get_by_label("Email").fill(email)
    second.get_by_label("Password").fill(DEMO_PASSWORD)  # the right one, ready to go
    first.goto("/login")
    first.get_by_label("Email").fill(email)
    for attempt in range(1, 7):
        first.get_by_label("Password").fill(f"wrong-password-{attempt}")
        first.get_by_role("button", name="Log in").click()
        deadline = time.monotonic() + 10
        while failures() < attempt and time.monotonic() < deadline:
            time.sleep(0.05)
        assert failures() == attempt
        if attempt == 5:
            first.wait_for_timeout(1100)  # the fifth failure pauses the account for 1 s
    # The sixth failure paused the account for 2 s: the right password on the other
    # worker is refused too, without being checked.
    second.get_by_role("button", name="Log in").click()
    expect(second.get_by_text(re.compile("Too many attempts"))).to_be_visible()
    second.wait_for_timeout(2100)
    second.get_by_role("button", name="Log in").click()
    expect(second.get_by_role("heading", name="My groups")).to_be_visible()
