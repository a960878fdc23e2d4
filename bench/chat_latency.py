"""How long a chat message takes from Send in one member's tab to its text in the other's.

Run `python -m bench.chat_latency`; the last line printed is one JSON object with the
figures. It starts the production app on a free port with a temp database, arranges one
published pair of two fresh members through the services, logs both in, in two Chromium
pages, opens the pair's page in both and sends `--samples` messages from A, each timed from
the click on Send to the moment its text is drawn in B's "Messages" log.

The floor is the same journey through a minimal Reflex app the bench builds in a temp
folder: one page, an `rx.SharedState` list linked to one token, a form that appends to it.
`ratio_*` is app / floor: what the chat adds on top of Reflex's own round trip.

Both are timed in the browser, not in Python, on `performance.timeOrigin + now()`: page A
notes the pointer going down on Send (Playwright clicks it as a person would); page B notes
the first websocket frame carrying the text, the text entering its "Messages" log (a
MutationObserver: the DOM commit) and the next frame drawn after that (the figure reported:
"text visible"). The two pages live in one Chromium; the bench measures the offset between
their clocks and corrects for it. Messages go one at a time (the next once B has shown the
previous one and A's field is clear), at most one per `--interval-ms` from A (the chat
allows 20 a sender in 10 s), the floor and the app alternating so both see the same
machine. A message B has not shown after `--timeout-ms` counts as lost. Three unmeasured
warm-up messages go first in each app.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import (
    Browser,
    BrowserContext,
    Locator,
    Page,
    WebSocket,
    expect,
    sync_playwright,
)
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from bench import stop_cleanly_on_sigterm
from tests.support.appserver import PROJECT_ROOT, AppServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [  # as tests/e2e/conftest.py
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
EMAILS = ("bench.a@example.org", "bench.b@example.org")
WARMUP = 3

# --- the floor app ---------------------------------------------------------------------------

FLOOR_RXCONFIG = '''
"""The chat-latency floor: a minimal app on the port the bench gives it."""

import os

import reflex as rx

PORT = int(os.environ["PORT"])
ORIGIN = f"http://localhost:{PORT}"

config = rx.Config(
    app_name="floorapp",
    frontend_port=PORT,
    backend_port=PORT,
    api_url=ORIGIN,
    deploy_url=ORIGIN,
    cors_allowed_origins=[ORIGIN],
    telemetry_enabled=False,
    show_built_with_reflex=False,
    plugins=[rx.plugins.SitemapPlugin(), rx.plugins.RadixThemesPlugin()],
)
'''

FLOOR_APP = '''
"""One shared list, linked to one token, and a form that appends to it."""

from typing import Any

import reflex as rx

ROOM = "floor-room"


class Room(rx.SharedState):
    messages: rx.Field[list[str]] = rx.field(default_factory=list)

    @rx.event
    async def join(self) -> None:
        await self._link_to(ROOM)

    @rx.event
    def send(self, form: dict[str, Any]) -> None:
        text = str(form.get("message", "")).strip()
        if text:
            self.messages = [*self.messages[-49:], text]


def index() -> rx.Component:
    return rx.container(
        rx.heading("Floor", as_="h1"),
        rx.form(
            rx.vstack(
                rx.el.label("Message", html_for="message"),
                rx.text_area(id="message", name="message"),
                rx.button("Send", type="submit"),
            ),
            on_submit=Room.send,
            reset_on_submit=True,
        ),
        rx.box(
            rx.foreach(Room.messages, lambda text: rx.text(text)),
            role="log",
            aria_label="Messages",
        ),
    )


app = rx.App()
app.add_page(index, route="/", on_load=Room.join)
'''


def write_floor_app(folder: Path, source: str = FLOOR_APP) -> Path:
    """The floor app's source (`source`: its one module, this bench's by default), with the
    project's frontend lock so both builds pin the same React, Radix and socket.io."""
    app_dir = folder / "floor"
    (app_dir / "floorapp").mkdir(parents=True)
    (app_dir / "rxconfig.py").write_text(FLOOR_RXCONFIG.lstrip())
    (app_dir / "floorapp" / "__init__.py").write_text("")
    (app_dir / "floorapp" / "floorapp.py").write_text(source.lstrip())
    lock = PROJECT_ROOT / "reflex.lock"
    if lock.is_dir():
        shutil.copytree(lock, app_dir / "reflex.lock")
    return app_dir


class FloorServer(AppServer):
    """`reflex run --env prod --single-port` in the floor app's folder, with the same
    environment as the real app (bun, telemetry off, temp web and state folders)."""

    def __init__(self, work_dir: Path, app_dir: Path) -> None:
        super().__init__(work_dir)
        self.app_dir = app_dir

    def start(self, timeout_s: float = 900) -> None:
        self.launch(
            [sys.executable, "-m", "reflex", "run", "--env", "prod", "--single-port"],
            cwd=self.app_dir,
            timeout_s=timeout_s,
            what="floor app",
        )


# --- the real app's pair ---------------------------------------------------------------------


def arrange_pair(database_url: str) -> int:
    """Two fresh members of Grow Every Day, paired and published in a new program of
    theirs; returns the pair's id. Through the services, as tests/e2e/test_journey.py."""
    import datetime as dt

    from sqlmodel import Session, select

    from mentor_app.db import make_engine
    from mentor_app.models import Group, Membership, User
    from mentor_app.seed import DEMO_PASSWORD
    from mentor_app.services import accounts, enrollments, pairing, programs
    from tests.factories import answers_for

    engine = make_engine(database_url)
    try:
        with Session(engine, expire_on_commit=False) as db:
            ada = db.exec(select(User).where(User.email == "ada.admin@example.org")).one()
            group = db.exec(select(Group).where(Group.name == "Grow Every Day")).one()
            people = []
            for email, name in zip(EMAILS, ("Bench Mentor", "Bench Mentee"), strict=True):
                user = accounts.sign_up(
                    db, email=email, display_name=name, password=DEMO_PASSWORD,
                    date_of_birth="1990-05-05",
                )  # fmt: skip
                db.add(Membership(group_id=group.id or 0, user_id=user.id or 0))
                people.append(user)
            db.flush()
            program = programs.start_program(
                db, actor=ada, group_id=group.id or 0, template_key="skills_development"
            )
            pid = program.id or 0
            programs.save_details(
                db, actor=ada, program_id=pid, title="Chat latency bench",
                description=program.description, start_date=dt.date.today().isoformat(),
                length_weeks=program.length_weeks, mentor_capacity_max=2,
            )  # fmt: skip
            programs.publish(db, actor=ada, program_id=pid)
            mentor = enrollments.apply(
                db, actor=people[0], program_id=pid, role="mentor",
                answers=answers_for(program, "mentor"), capacity=1,
            )  # fmt: skip
            mentee = enrollments.apply(
                db, actor=people[1], program_id=pid, role="mentee",
                answers=answers_for(program, "mentee"),
            )  # fmt: skip
            pair = pairing.pair_by_hand(
                db, actor=ada, program_id=pid,
                mentee_enrollment_id=mentee.id or 0, mentor_enrollment_id=mentor.id or 0,
            )  # fmt: skip
            pairing.publish_pairs(db, actor=ada, program_id=pid)
            db.commit()
            return pair.id or 0
    finally:
        engine.dispose()


def log_in(page: Page, email: str) -> None:
    from mentor_app.seed import DEMO_PASSWORD

    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="My groups").wait_for()


# --- timing in the browser -------------------------------------------------------------------

NOW_JS = "() => performance.timeOrigin + performance.now()"

# Added to every page before its own scripts. As sender, a page notes when the pointer goes
# down on Send (Playwright clicks as a person would: mouse down, focus leaves the field,
# mouse up, click) and when the first websocket frame carrying the text leaves. As
# receiver, it notes when the first frame carrying the armed text arrives, when the text
# enters the log (the DOM commit), and when the frame showing it has been drawn (a task
# queued from the next animation frame runs once that frame's style, layout and paint are
# done). Every time is `performance.timeOrigin + performance.now()`.
INIT_JS = """(() => {
  const now = () => performance.timeOrigin + performance.now();
  const bench = {
    send: null, clicked: null, out: null,
    pending: null, arrived: null, dom: null, paint: null, waiters: [],
  };
  window.__chatBench = bench;
  const NativeWebSocket = window.WebSocket;
  window.WebSocket = class extends NativeWebSocket {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', event => {
        if (bench.pending !== null && bench.arrived === null
            && typeof event.data === 'string' && event.data.includes(bench.pending)) {
          bench.arrived = now();
        }
      });
    }
    send(data) {
      if (bench.send !== null && bench.out === null
          && typeof data === 'string' && data.includes(bench.send)) {
        bench.out = now();
      }
      return super.send(data);
    }
  };
  document.addEventListener('pointerdown', () => {
    if (bench.send !== null && bench.clicked === null) bench.clicked = now();
  }, true);
  const result = () => ({
    arrived: bench.arrived, dom: bench.dom, paint: bench.paint,
  });
  bench.settle = () => {
    for (const resolve of bench.waiters.splice(0)) resolve(result());
  };
  bench.result = result;
  bench.check = () => {
    if (bench.pending === null || bench.dom !== null) return;
    const log = document.querySelector('[aria-label="Messages"]');
    if (!log || !log.textContent.includes(bench.pending)) return;
    bench.dom = now();
    const pending = bench.pending;
    requestAnimationFrame(() => {
      const channel = new MessageChannel();
      channel.port1.onmessage = () => {
        if (bench.pending !== pending) return;
        bench.paint = now();
        bench.settle();
      };
      channel.port2.postMessage(0);
    });
  };
  new MutationObserver(() => bench.check()).observe(document, {
    subtree: true, childList: true, characterData: true,
  });
})();"""

ARM_RECEIVER_JS = """text => {
  const bench = window.__chatBench;
  Object.assign(bench, { pending: text, arrived: null, dom: null, paint: null, waiters: [] });
  bench.check();
  return bench.dom;
}"""

WAIT_RECEIVER_JS = """timeoutMs => new Promise(resolve => {
  const bench = window.__chatBench;
  if (bench.paint !== null) return resolve(bench.result());
  bench.waiters.push(resolve);
  setTimeout(() => resolve(bench.result()), timeoutMs);
})"""

ARM_SENDER_JS = """text => {
  Object.assign(window.__chatBench, { send: text, clicked: null, out: null });
}"""

SENT_JS = """() => {
  const bench = window.__chatBench;
  return { clicked: bench.clicked, out: bench.out };
}"""


def clock_offset(a: Page, b: Page, rounds: int = 25) -> tuple[float, float]:
    """B's clock minus A's, in ms, from the round with the shortest A-B-A bracket, and
    that bracket (the offset's uncertainty is at most half of it)."""
    best: tuple[float, float] | None = None
    for _ in range(rounds):
        t1 = float(a.evaluate(NOW_JS))
        tb = float(b.evaluate(NOW_JS))
        t2 = float(a.evaluate(NOW_JS))
        if best is None or t2 - t1 < best[1]:
            best = (tb - (t1 + t2) / 2, t2 - t1)
    assert best is not None
    return best


# The stages of one message, each measured from the click on Send.
STAGES = {
    "out": "A's frame leaves",
    "arrived": "B's frame arrives",
    "dom": "text in B's DOM",
    "paint": "text drawn in B",
}


@dataclass
class Channel:
    """One sender and one receiver page of one app."""

    name: str
    sender: Page
    receiver: Page
    timeout_ms: int
    settle_ms: int
    interval_ms: int
    offset_ms: float = 0.0
    bracket_ms: float = 0.0
    stages: dict[str, list[float]] = field(default_factory=dict)
    lost: list[str] = field(default_factory=list)
    not_cleared: int = 0
    last_sent: float = 0.0
    wire_start: tuple[int, int] = (0, 0)

    @property
    def samples(self) -> list[float]:
        """Send to text drawn in B: the figure the bench is about."""
        return self.stages.get("paint", [])

    @property
    def message_field(self) -> Locator:
        return self.sender.get_by_label("Message", exact=True)

    @property
    def send_button(self) -> Locator:
        return self.sender.get_by_role("button", name="Send", exact=True)

    def prepare(self) -> None:
        self.offset_ms, self.bracket_ms = clock_offset(self.sender, self.receiver)

    def reset(self) -> None:
        self.stages = {}
        self.lost.clear()
        self.not_cleared = 0

    def send(self, text: str) -> bool:
        """Send one message and record its latency; False if B never showed it."""
        self.message_field.fill(text)
        time.sleep(
            max(self.settle_ms / 1000, self.last_sent + self.interval_ms / 1000 - time.monotonic())
        )
        if self.receiver.evaluate(ARM_RECEIVER_JS, text) is not None:
            raise RuntimeError(f"{self.name}: {text!r} was in the log before it was sent")
        self.sender.evaluate(ARM_SENDER_JS, text)
        self.last_sent = time.monotonic()
        self.send_button.click()
        seen = self.receiver.evaluate(WAIT_RECEIVER_JS, self.timeout_ms)
        sent = self.sender.evaluate(SENT_JS)
        if sent["clicked"] is None:
            raise RuntimeError(f"{self.name}: the click on Send was not seen by the page")
        try:  # the next fill must not race the server's clearing of this one
            expect(self.message_field).to_have_value("", timeout=self.timeout_ms)
        except AssertionError:
            self.not_cleared += 1
        if seen["dom"] is None or seen["paint"] is None:
            alerts = self.sender.get_by_role("alert").all_inner_texts()
            self.lost.append(text + (f" (A shows: {' / '.join(alerts)})" if alerts else ""))
            return False
        clicked = float(sent["clicked"])
        moments = {"out": sent["out"]} | {
            stage: None if seen[stage] is None else float(seen[stage]) - self.offset_ms
            for stage in ("arrived", "dom", "paint")
        }
        for stage, moment in moments.items():
            if moment is not None:
                self.stages.setdefault(stage, []).append(float(moment) - clicked)
        return True


class Wire:
    """Bytes of websocket frames a page has sent and received (Reflex's socket.io)."""

    def __init__(self, page: Page) -> None:
        self.sent = 0
        self.received = 0
        page.on("websocket", self._attach)

    def _attach(self, socket: WebSocket) -> None:
        socket.on("framesent", self._on_sent)
        socket.on("framereceived", self._on_received)

    def _on_sent(self, payload: str | bytes) -> None:
        self.sent += len(payload)

    def _on_received(self, payload: str | bytes) -> None:
        self.received += len(payload)


WIRES: dict[Page, Wire] = {}


@contextmanager
def two_people(browser: Browser, base_url: str) -> Iterator[tuple[Page, Page]]:
    """Two fresh browser contexts (own cookies) on one app."""
    contexts: list[BrowserContext] = []
    try:
        for _ in range(2):
            context = browser.new_context(
                base_url=base_url, viewport={"width": 1280, "height": 900}
            )
            context.set_default_timeout(20_000)
            context.add_init_script(INIT_JS)
            contexts.append(context)
        pages = contexts[0].new_page(), contexts[1].new_page()
        for page in pages:
            WIRES[page] = Wire(page)
        yield pages
    finally:
        for context in contexts:
            context.close()


def open_floor(a: Page, b: Page) -> None:
    for page in (a, b):
        page.goto("/")
        page.get_by_label("Message", exact=True).wait_for()
        page.get_by_label("Messages").wait_for(state="attached")
    b.wait_for_timeout(500)  # let both tabs' on_load link to the room


def open_pair(a: Page, b: Page, pair_id: int) -> None:
    for page, email in zip((a, b), EMAILS, strict=True):
        log_in(page, email)
        page.goto(f"/pairs/{pair_id}")
        page.get_by_role("heading", name="Your ").first.wait_for()
        try:
            page.get_by_label("Message", exact=True).wait_for(timeout=20_000)
            page.get_by_role("button", name="Send", exact=True).wait_for(timeout=5_000)
            page.get_by_label("Messages", exact=True).wait_for(state="attached", timeout=5_000)
        except PlaywrightTimeout as error:
            raise RuntimeError(
                f"the pair page /pairs/{pair_id} has no chat yet: expected a field labelled "
                "'Message', a 'Send' button and a log labelled 'Messages' "
                f"({error.message.splitlines()[0]})"
            ) from error


# --- figures ---------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (p95 of 50 samples is the 48th smallest)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def summary(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    return statistics.median(values), percentile(values, 95)


def describe(channel: Channel) -> list[str]:
    p50, p95 = summary(channel.samples)
    if p50 is None or p95 is None:
        return [f"{channel.name}: no message arrived ({len(channel.lost)} lost)"]
    s = channel.samples
    lines = [
        f"{channel.name}: {len(s)} delivered, {len(channel.lost)} lost; Send to text drawn "
        f"in B p50 {p50:.1f} ms, p95 {p95:.1f} ms (min {min(s):.1f}, max {max(s):.1f}); "
        f"clock offset B-A {channel.offset_ms:+.2f} ms +/- {channel.bracket_ms / 2:.2f}"
    ]
    parts = []
    for stage, label in STAGES.items():
        s50, s95 = summary(channel.stages.get(stage, []))
        if s50 is not None and s95 is not None:
            parts.append(f"{label} {s50:.1f} / {s95:.1f}")
    lines.append(f"{channel.name}: from Send, p50 / p95 ms: " + ", ".join(parts))
    return lines


def load_text() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


# --- the run ---------------------------------------------------------------------------------


def measure(channels: list[Channel], samples: int, run: str) -> None:
    for channel in channels:
        channel.prepare()
        for i in range(WARMUP):
            if not channel.send(f"warm-up {i + 1} {run}"):
                print(f"{channel.name}: warm-up message {i + 1} did not arrive", flush=True)
        channel.reset()
        channel.wire_start = (WIRES[channel.sender].sent, WIRES[channel.receiver].received)
    for i in range(samples):  # alternate, so both apps see the same machine
        for channel in channels if i % 2 == 0 else channels[::-1]:
            channel.send(f"m{i:03d}.{run} {channel.name} says hello")
    for channel in channels:  # let Playwright deliver the last frame events
        channel.sender.evaluate("1")
        channel.receiver.evaluate("1")
        sent = WIRES[channel.sender].sent - channel.wire_start[0]
        received = WIRES[channel.receiver].received - channel.wire_start[1]
        print(
            f"{channel.name}: websocket bytes a message, A sent {sent / samples:,.0f}, "
            f"B received {received / samples:,.0f}"
        )


def start_app(work: Path) -> tuple[AppServer, int]:
    started = time.monotonic()
    app = AppServer(work)
    try:
        app.start()
        pair_id = arrange_pair(app.database_url)
    except BaseException:
        app.stop()
        raise
    print(f"app up on {app.url} in {time.monotonic() - started:.0f} s; pair {pair_id}")
    return app, pair_id


def run_pages(
    args: argparse.Namespace, floor: AppServer, app: AppServer | None, pair_id: int, run: str
) -> tuple[list[Channel], str | None]:
    """Open both apps in two people's pages each, and measure; the channels measured and
    why the app could not be, if it could not."""
    error = None
    timing = (args.timeout_ms, args.settle_ms, args.interval_ms)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        with ExitStack() as stack:
            fa, fb = stack.enter_context(two_people(browser, floor.url))
            open_floor(fa, fb)
            channels = [Channel("floor", fa, fb, *timing)]
            if app is not None:
                aa, ab = stack.enter_context(two_people(browser, app.url))
                try:
                    open_pair(aa, ab, pair_id)
                except RuntimeError as problem:
                    error = str(problem)
                    print(f"ERROR: {error}", flush=True)
                else:
                    channels.insert(0, Channel("app", aa, ab, *timing))
            names = " and ".join(c.name for c in channels)
            print(f"measuring {args.samples} messages in {names}; {load_text()}", flush=True)
            measure(channels, args.samples, run)
        browser.close()
    return channels, error


def report(channels: list[Channel], samples: int, error: str | None) -> dict[str, Any]:
    by_name = {c.name: c for c in channels}
    for channel in channels:
        print("\n".join(describe(channel)))
        if channel.not_cleared:
            print(f"{channel.name}: Message field not cleared {channel.not_cleared} times")
        for text in channel.lost[:5]:
            print(f"{channel.name}: lost {text!r}")
    floor_p50, floor_p95 = summary(by_name["floor"].samples)
    app = by_name.get("app")
    p50, p95 = summary(app.samples) if app else (None, None)
    figures: dict[str, Any] = {
        "samples": samples,
        "p50_ms": _rounded(p50),
        "p95_ms": _rounded(p95),
        "floor_p50_ms": _rounded(floor_p50),
        "floor_p95_ms": _rounded(floor_p95),
        "ratio_p50": round(p50 / floor_p50, 2) if p50 and floor_p50 else None,
        "ratio_p95": round(p95 / floor_p95, 2) if p95 and floor_p95 else None,
        "lost": len(app.lost) if app else None,
    }
    if error:
        figures["error"] = error
    return figures


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description="Time pair-chat delivery between two tabs.")
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--keep", action="store_true", help="keep the temp folders")
    parser.add_argument("--floor-only", action="store_true", help="measure only the floor")
    parser.add_argument("--timeout-ms", type=int, default=5000, help="after this, lost")
    parser.add_argument(
        "--settle-ms", type=int, default=100, help="pause between typing and clicking Send"
    )
    parser.add_argument(
        "--interval-ms",
        type=int,
        default=600,
        help="least time between two sends from A (the chat allows 20 a sender in 10 s)",
    )
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="chat-latency-"))
    for name in ("floor-run", "app-run"):
        (work / name).mkdir()
    print(f"work folder {work}; {load_text()}", flush=True)
    floor = FloorServer(work / "floor-run", write_floor_app(work))
    app: AppServer | None = None
    error: str | None = None
    try:
        started = time.monotonic()
        floor.start()
        print(f"floor app up on {floor.url} in {time.monotonic() - started:.0f} s", flush=True)
        pair_id = 0
        if not args.floor_only:
            try:
                app, pair_id = start_app(work / "app-run")
            except Exception as problem:  # measure the floor all the same
                error = "the app did not start (its log is printed above)"
                print(f"ERROR: the app did not start: {problem}", flush=True)
        channels, page_error = run_pages(args, floor, app, pair_id, secrets.token_hex(3))
        error = error or page_error
        print(f"done; {load_text()}")
        figures = report(channels, args.samples, error)
    finally:
        for server in (app, floor):
            if server is not None:
                server.stop()
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(figures))
    if error and not args.floor_only:
        sys.exit(1)
    return figures


if __name__ == "__main__":
    stop_cleanly_on_sigterm()
    main()
