"""How long the app's biggest pages take to show at real program sizes (issue 18, point 6).

Run `python -m bench.pages` (`--quick` for smaller sizes and fewer loads); the last line
printed is one JSON object with the figures. It starts the production app (AppServer:
`reflex run --env prod --single-port`, its own temp SQLite database, the scheduler off so
no job runs between the loads), writes the data straight into its database with bulk
INSERTs (bench/bulk.py), and loads each page in Debian's Chromium (Playwright, the flags
of tests/support/app_fixtures.py), one page at a time, as the person who would open it
(their session cookie set in their own browser context):

- workspace: the pairing workspace of an open program with 2,000 waiting mentees and 500
  mentors, as its admin; shown when a waiting mentee's name is;
- dashboard: the dashboard of an active program of 5,000 pairs, as its admin; shown when a
  pair's names are;
- pair_chat: a pair page whose chat holds 10,000 messages, as its mentee; shown when a
  message is;
- moderation: the moderation queue with 10,000 open reports, as a site moderator; shown
  when a report's "reporter → reported" line is;
- my_groups: My groups of a member of 200 groups; shown when one of those groups is.

The floor, in the same run: the blank page of a minimal Reflex app built in a temp folder
with the same bun setup and frontend lock (bench/chat_latency.py's FloorServer): a heading
and one line of text that its on_load sets, which is the least any page showing data from
the server needs (socket, hydrate, one event). Its "static" figure, the heading alone, is
printed too.

A load is a full navigation (`page.goto`, as opening a link or pressing reload), timed in
this process from the call to the moment the page's main content is visible (Playwright's
visibility: in the layout, not hidden); the time its `<h1>` became visible is printed
alongside. Each case has one unmeasured warm-up load (a cold cache), then `--loads` loads,
the cases taking turns so all see the same machine; a second passes after each load so
its follow-up events end before the next. Also printed: the websocket bytes each load
received (the state sent to the page). Target: each median <= 1.0 s and <= 3x the
floor's.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Locator, Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from bench import bulk, stop_cleanly_on_sigterm
from bench.chat_latency import FloorServer, Wire, load_text, write_floor_app
from tests.support.app_fixtures import CHROMIUM, CHROMIUM_ARGS
from tests.support.appserver import AppServer
from tests.support.rxclient import SESSION_COOKIE

TARGET_S = 1.0
TARGET_RATIO = 3.0
AFTER_LOAD_S = 1.0

FLOOR_APP = '''
"""The floor of bench/pages.py: a blank page whose one line of text comes from on_load."""

import reflex as rx


class Floor(rx.State):
    text: str = ""

    @rx.event
    def load(self) -> None:
        self.text = "Floor loaded"


def index() -> rx.Component:
    return rx.container(rx.heading("Floor", as_="h1"), rx.text(Floor.text))


app = rx.App()
app.add_page(index, route="/", on_load=Floor.load)
'''


@dataclass(frozen=True)
class Sizes:
    mentees: int
    mentors: int
    pairs: int
    messages: int
    reports: int
    groups: int
    loads: int


FULL = Sizes(
    mentees=2000, mentors=500, pairs=5000, messages=10_000, reports=10_000, groups=200, loads=7
)
QUICK = Sizes(mentees=400, mentors=100, pairs=1000, messages=2000, reports=2000, groups=50, loads=3)


@dataclass
class Case:
    name: str
    what: str
    path: str
    content: re.Pattern[str]  # the main content: text that only the arranged data shows
    cookie: str | None = None
    heading_ms: list[float] = field(default_factory=list)
    content_ms: list[float] = field(default_factory=list)
    ws_bytes: list[int] = field(default_factory=list)
    page: Page | None = None
    wire: Wire | None = None


def arrange(database_url: str, sizes: Sizes, run: str) -> tuple[list[Case], float]:
    from mentor_app.db import make_engine

    started = time.monotonic()
    engine = make_engine(database_url)
    try:
        writer = bulk.Bulk(engine)
        (admin,) = bulk.people(writer, ["Bench admin"], tag=f"{run}.admin")
        cohort = bulk.waiting_cohort(
            writer,
            admin_id=admin,
            mentees=sizes.mentees,
            mentors=sizes.mentors,
            tag=f"{run}.cohort",
            title="Workspace cohort",
        )
        board = bulk.active_pairs(
            writer, admin_ids=[admin], pairs=sizes.pairs, tag=f"{run}.board", title="Big program"
        )
        chatty = board.pairs[0]
        bulk.chat_history(writer, chatty, sizes.messages)
        bulk.reports(writer, board.pairs, sizes.reports)
        moderator = bulk.site_moderator(writer, tag=f"{run}.moderator")
        (joiner,) = bulk.people(writer, ["Bench joiner"], tag=f"{run}.joiner")
        others = [p.mentee_id for p in board.pairs[1:21]]
        bulk.member_of_groups(writer, joiner, groups=sizes.groups, admin_id=admin, others=others)
        admin_cookie = bulk.session_for(engine, admin)
        cases = [
            Case(
                "workspace",
                f"pairing workspace, {sizes.mentees} waiting mentees x {sizes.mentors} mentors",
                f"/programs/{cohort.program_id}/pairing",
                re.compile(r"Waiting mentee \d{4}"),
                admin_cookie,
            ),
            Case(
                "dashboard",
                f"dashboard of a {sizes.pairs}-pair program",
                f"/programs/{board.program_id}/dashboard",
                re.compile(r"Paired (mentee|mentor) \d{5}"),
                admin_cookie,
            ),
            Case(
                "pair_chat",
                f"pair page, {sizes.messages} messages in its chat",
                f"/pairs/{chatty.id}",
                re.compile(r"Bench message \d{5}"),
                bulk.session_for(engine, chatty.mentee_id),
            ),
            Case(
                "moderation",
                f"moderation queue, {sizes.reports} open reports",
                "/moderation",
                re.compile(r"Paired mentee \d{5} → Paired mentor \d{5}"),
                bulk.session_for(engine, moderator),
            ),
            Case(
                "my_groups",
                f"My groups of a member of {sizes.groups} groups",
                "/groups",
                re.compile(r"Joined group \d{3}"),
                bulk.session_for(engine, joiner),
            ),
        ]
    finally:
        engine.dispose()
    return cases, time.monotonic() - started


def visible(locator: Locator) -> Locator:
    return locator.filter(visible=True).first


def open_case(browser: Browser, case: Case, base_url: str) -> None:
    """The case's person: a browser context of their own, their session cookie in it."""
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(60_000)
    if case.cookie:
        context.add_cookies(
            [
                {
                    "name": SESSION_COOKIE,
                    "value": case.cookie,
                    "url": base_url,
                    "httpOnly": True,
                    "sameSite": "Lax",
                }
            ]
        )
    case.page = context.new_page()
    case.wire = Wire(case.page)


def load(case: Case, *, record: bool) -> None:
    page, wire = case.page, case.wire
    assert page is not None and wire is not None
    received = wire.received
    began = time.perf_counter()
    page.goto(case.path, wait_until="commit")
    try:
        visible(page.get_by_role("heading", level=1)).wait_for(state="visible")
        heading: float | None = time.perf_counter()
    except PlaywrightTimeout:  # a page without a heading: its content alone is timed
        heading = None
    visible(page.get_by_text(case.content)).wait_for(state="visible")
    shown = time.perf_counter()
    page.wait_for_timeout(AFTER_LOAD_S * 1000)  # its follow-up events end before the next load
    if record:
        if heading is not None:
            case.heading_ms.append((heading - began) * 1000)
        case.content_ms.append((shown - began) * 1000)
        case.ws_bytes.append(wire.received - received)


def measure(cases: list[Case], floor: Case, loads: int, screenshots: Path | None) -> None:
    everyone = [floor, *cases]
    for case in everyone:
        load(case, record=False)  # a cold cache, the first build of each page's state
    for i in range(loads):
        for case in everyone if i % 2 == 0 else everyone[::-1]:
            load(case, record=True)
        print(f"  round {i + 1} of {loads}; {load_text()}", flush=True)
    if screenshots is not None:  # what was timed, to check by eye
        screenshots.mkdir(parents=True, exist_ok=True)
        for case in everyone:
            assert case.page is not None
            case.page.screenshot(path=str(screenshots / f"{case.name}.png"))


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def report(cases: list[Case], floor: Case) -> dict[str, Any]:
    floor_ms = _median(floor.content_ms)
    figures: dict[str, Any] = {
        "floor_ms": round(floor_ms or 0, 1),
        "floor_static_ms": round(_median(floor.heading_ms) or 0, 1),
        "loads": len(floor.content_ms),
    }
    print(
        f"\nfloor (minimal Reflex app, text from on_load): median {floor_ms or 0:.0f} ms "
        f"(min {min(floor.content_ms):.0f}, max {max(floor.content_ms):.0f}); its heading "
        f"alone {figures['floor_static_ms']:.0f} ms; "
        f"{statistics.median(floor.ws_bytes) / 1024:.1f} KB over the websocket"
    )
    print(f"target: median <= {TARGET_S:.1f} s and <= {TARGET_RATIO:g}x the floor "
          f"({TARGET_RATIO * (floor_ms or 0):.0f} ms)")  # fmt: skip
    met = True
    for case in cases:
        ms = _median(case.content_ms) or 0
        ratio = ms / floor_ms if floor_ms else None
        ok = ms <= TARGET_S * 1000 and ratio is not None and ratio <= TARGET_RATIO
        met = met and ok
        kb = statistics.median(case.ws_bytes) / 1024
        print(
            f"  {case.name:<11} {'ok  ' if ok else 'SLOW'} median {ms:6.0f} ms "
            f"(min {min(case.content_ms):.0f}, max {max(case.content_ms):.0f}), "
            f"{ratio or 0:4.1f}x floor; h1 at {_median(case.heading_ms) or 0:.0f} ms; "
            f"{kb:,.1f} KB over the websocket  -- {case.what}"
        )
        figures[f"{case.name}_ms"] = round(ms, 1)
        figures[f"{case.name}_ratio"] = round(ratio, 2) if ratio is not None else None
        figures[f"{case.name}_ws_kb"] = round(kb, 1)
    figures["target_met"] = met
    return figures


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description="Time the biggest pages at real sizes.")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, 3 loads")
    parser.add_argument("--loads", type=int, help="measured loads of each page")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (logs)")
    parser.add_argument("--screenshots", type=Path, help="a screenshot of each page here")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    loads = args.loads or sizes.loads

    run = f"p{time.time_ns() % 1_000_000:06d}"
    work = Path(tempfile.mkdtemp(prefix="pages-"))
    for name in ("floor-run", "app-run"):
        (work / name).mkdir()
    print(f"work folder {work}; {load_text()}", flush=True)
    app = AppServer(work / "app-run", MENTOR_SCHEDULER="off")
    floor_server = FloorServer(work / "floor-run", write_floor_app(work, FLOOR_APP))
    try:
        started = time.monotonic()
        app.start()
        print(f"app up on {app.url} in {time.monotonic() - started:.0f} s", flush=True)
        cases, took = arrange(app.database_url, sizes, run)
        print(f"arranged in {took:.0f} s; {load_text()}", flush=True)
        started = time.monotonic()
        floor_server.start()
        print(f"floor app up on {floor_server.url} in {time.monotonic() - started:.0f} s")
        floor = Case("floor", "minimal Reflex app", "/", re.compile(r"Floor loaded"))
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            open_case(browser, floor, floor_server.url)
            for case in cases:
                open_case(browser, case, app.url)
            print(f"{loads} loads of each page; {load_text()}", flush=True)
            measure(cases, floor, loads, args.screenshots)
            browser.close()
        figures = report(cases, floor)
        figures["sizes"] = vars(sizes) | {"loads": loads}
    finally:
        app.stop()
        floor_server.stop()
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    stop_cleanly_on_sigterm()
    main()
