"""Nothing one person does slows the others: pair-chat delivery while other people load the
server (issue 18, point 5).

Run `python -m bench.interference` (`--quick` for a smoke run with smaller sizes,
`--scale-out` for PostgreSQL + Redis with two workers); the last line printed is one JSON
object with the figures. A full run took 5 to 8 minutes on this shared 2-core machine.

The server: the embedded default (one worker, SQLite, Reflex's in-process state manager),
or with `--scale-out` two instances of one worker each on PostgreSQL + Redis
(tests/support/scaleout.py). Either way it is the production backend without its frontend
(no page is loaded: every client speaks the websocket protocol), served by
bench/bench_server.py, which is the app plus a hook that runs the nudge job, in the
server, when the bench asks. The outbox sender is held back (MENTOR_OUTBOX_EVERY_S): the
e-mails Publish queues would otherwise be sent during the phases after it, each phase
measures its own load. The data is written straight into the database with bulk INSERTs
(bench/bulk.py); the two chatting members are made through the services.

The probe: one pair's two members, each a protocol-level client on the pair's page
(bench/chat_load.py's Member; in scale-out the mentor on one worker, the mentee on the
other), exchange one message a second throughout the run, in turn. Each is timed from its
send to the moment the partner's client receives it (both clients in this process, on
`time.perf_counter`). A message the partner has not received by the end is lost; the
database then tells whether the app refused it (not stored: its sender was told to try
again) or stored it and never delivered it. Each message counts for the phase during which
it was sent; between phases the chat goes on while the server settles (a few seconds, and
until every message sent is delivered or refused, so no phase starts with a backlog).

The phases, in one run:
1. idle: nothing but the chat;
2. logins: 20 failed log-ins a second, each a random unknown e-mail, POSTed to
   /auth/login with the app's Origin (`--login-sources N` spreads them over N loopback
   addresses, `--client-ip-header H` sends a random address in header H and tells the
   server to trust it). A throttle's 429 answers are counted: the load still costs the
   server what it costs before answering;
3. suggest_publish: an admin on the pairing workspace of a 2,000-mentee x 500-mentor
   cohort sends Suggest all, then Publish, through the page's own events, waiting for each
   answer (`--rounds` more cohorts, one after the other);
4. dashboards: 5 admins each reload the dashboard of a 5,000-pair program as soon as the
   previous load has shown (a reload: a new socket and a new tab, its on_load answered);
5. nudges: the nudge job runs over 100,000 active pairs, in the server process, on the
   scheduler's thread (bench/bench_server.py), all of them due for a nudge;
6. idle_after: nothing but the chat again: how far the machine drifted during the run.

`--only dashboards` (a comma list of the loaded phases: logins, suggest_publish,
dashboards, nudges) runs those alone between the two idle phases, and arranges only what
they need: with longer phases (`--phase-s 90`), one load's p95 rests on more messages than
in a full run (one a second), for comparing a change before and after it.

For each phase: the chat's p50 and p95 and the ratio of its p95 to idle's (target: every
ratio <= 1.5, nothing lost); a bare HTTP GET /ping once a second (the event loop itself);
this process's event-loop lag (if the clients fall behind, the figures measure them); and
the server's "Event loop was blocked" warnings (mentor_app/loop_watch.py).
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import random
import secrets
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench import bulk, stop_cleanly_on_sigterm
from bench.chat_load import (
    BODY_PREFIX,
    SEND,
    Ledger,
    Member,
    arrange_pairs,
    load_text,
    percentile,
    sleep_until,
)
from tests.support.appserver import AppServer
from tests.support.rxclient import AsyncReflexClient, handler
from tests.support.scaleout import ScaleOut

PHASES = ("idle", "logins", "suggest_publish", "dashboards", "nudges", "idle_after")
LOADS = PHASES[1:-1]
GAP = "between"
FIELD = "_rx_state_"
LOOP_BLOCKED = "Event loop was blocked for"
TARGET_RATIO = 1.5


@dataclass(frozen=True)
class Sizes:
    mentees: int
    mentors: int
    dashboard_pairs: int
    nudge_pairs: int
    phase_s: float


FULL = Sizes(mentees=2000, mentors=500, dashboard_pairs=5000, nudge_pairs=100_000, phase_s=30)
QUICK = Sizes(mentees=400, mentors=100, dashboard_pairs=1000, nudge_pairs=10_000, phase_s=10)


# --- the servers -----------------------------------------------------------------------------


class EmbeddedServer(AppServer):
    """The embedded default: one worker on SQLite, served by bench/bench_server.py."""

    def start(self, timeout_s: float = 300) -> None:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.run_module("mentor_app.migrations")
        self.run_module("mentor_app.seed")
        self.launch(
            [sys.executable, "-m", "bench.bench_server"],
            timeout_s=timeout_s,
            ready_paths=("/ping",),
        )

    @property
    def urls(self) -> list[str]:
        return [self.url]

    def logs(self) -> list[str]:
        return [self.log_path.read_text(errors="replace") if self.log_path.exists() else ""]


class BenchScaleOut(ScaleOut):
    """Two instances on PostgreSQL + Redis, each served by bench/bench_server.py."""

    def serve_command(self, index: int) -> list[str]:
        return [sys.executable, "-m", "bench.bench_server", self.hosts[index]]

    def logs(self) -> list[str]:
        return [self.log(i) for i in range(len(self.hosts))]


Server = EmbeddedServer | BenchScaleOut


def blocked_warnings(server: Server) -> list[int]:
    """How many "Event loop was blocked" warnings each worker has logged so far."""
    return [log.count(LOOP_BLOCKED) for log in server.logs()]


# --- arranging -------------------------------------------------------------------------------


@dataclass
class Arranged:
    chat_pair: int
    chat_cookies: tuple[str, str]  # mentor's, mentee's
    chat_emails: tuple[str, str]
    admin_cookie: str
    cohorts: list[bulk.Cohort]
    dashboard_program: int
    dashboard_cookies: list[str]
    nudge_pairs: int
    seconds: float = 0.0


def arrange(
    database_url: str,
    sizes: Sizes,
    *,
    rounds: int,
    admins: int,
    run: str,
    loads: tuple[str, ...] = LOADS,
) -> Arranged:
    """The chat's pair, and what each of `loads` needs (nothing for a load left out)."""
    from sqlmodel import Session, select

    from mentor_app.db import make_engine
    from mentor_app.models import User

    started = time.monotonic()
    (seat,) = arrange_pairs(database_url, 1, run)
    engine = make_engine(database_url)
    try:
        with Session(engine) as db:
            chat_ids = [
                db.exec(select(User.id).where(User.email == email)).one()
                for email in (seat.mentor_email, seat.mentee_email)
            ]
        writer = bulk.Bulk(engine)
        zones = bulk.daytime_zones(bulk.utcnow())
        (admin,) = bulk.people(writer, ["Bench admin"], tag=f"{run}.admin")
        board_admins = bulk.people(
            writer, [f"Dashboard admin {k + 1}" for k in range(admins)], tag=f"{run}.boardadmin"
        )
        cohorts = [
            bulk.waiting_cohort(
                writer,
                admin_id=admin,
                mentees=sizes.mentees,
                mentors=sizes.mentors,
                tag=f"{run}.cohort{r}",
                title=f"Suggest-all cohort {r + 1}",
                seed=r + 1,
            )
            for r in range(rounds if "suggest_publish" in loads else 0)
        ]
        board_program, nudge_pairs = 0, 0
        if "dashboards" in loads:
            board_program = bulk.active_pairs(
                writer,
                admin_ids=board_admins,
                pairs=sizes.dashboard_pairs,
                tag=f"{run}.board",
                title="Dashboard program",
                timezones=zones,
            ).program_id
        if "nudges" in loads:
            nudge_pairs = sizes.nudge_pairs
            bulk.active_pairs(
                writer,
                admin_ids=[admin],
                pairs=nudge_pairs,
                tag=f"{run}.nudged",
                title="Nudged program",
                timezones=zones,
            )
        return Arranged(
            chat_pair=seat.pair_id,
            chat_cookies=(
                bulk.session_for(engine, int(chat_ids[0] or 0)),
                bulk.session_for(engine, int(chat_ids[1] or 0)),
            ),
            chat_emails=(seat.mentor_email, seat.mentee_email),
            admin_cookie=bulk.session_for(engine, admin),
            cohorts=cohorts,
            dashboard_program=board_program,
            dashboard_cookies=[bulk.session_for(engine, a) for a in board_admins],
            nudge_pairs=nudge_pairs,
            seconds=time.monotonic() - started,
        )
    finally:
        engine.dispose()


# --- the run's bookkeeping -------------------------------------------------------------------


@dataclass
class PhaseTimes:
    name: str
    started: float
    ended: float = 0.0
    blocked_before: list[int] = field(default_factory=list)
    blocked_after: list[int] = field(default_factory=list)


@dataclass
class Run:
    tag: str
    ledger: Ledger = field(default_factory=Ledger)
    phase: str = GAP
    phase_of: dict[str, str] = field(default_factory=dict)
    phases: list[PhaseTimes] = field(default_factory=list)
    pings: list[tuple[str, float]] = field(default_factory=list)
    ping_failures: list[tuple[str, str]] = field(default_factory=list)
    lags: list[tuple[str, float]] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    load: dict[str, Any] = field(default_factory=dict)
    marks: list[tuple[float, str]] = field(default_factory=list)  # what the load began, when

    def mark(self, what: str) -> None:
        self.marks.append((time.perf_counter(), what))

    @property
    def unsettled(self) -> bool:
        """Messages neither delivered nor refused yet (a refused one is never delivered)."""
        return len(self.ledger.sent) - self.ledger.delivered > len(self.ledger.refusals)

    def begin(self, name: str, server: Server) -> None:
        self.phase = name
        self.phases.append(
            PhaseTimes(name, time.perf_counter(), blocked_before=blocked_warnings(server))
        )
        print(f"  {name}: started; {load_text()}", flush=True)

    def end(self, server: Server) -> None:
        times = self.phases[-1]
        times.ended = time.perf_counter()
        times.blocked_after = blocked_warnings(server)
        self.phase = GAP
        print(f"  {times.name}: {times.ended - times.started:.1f} s", flush=True)


async def chat_loop(run: Run, mentor: Member, mentee: Member) -> None:
    """One message a second, mentor and mentee in turn, until the run stops."""
    start = time.perf_counter()
    i = 0
    while not run.stop.is_set():
        await sleep_until(start + i)
        sender, partner = (mentor, mentee) if i % 2 == 0 else (mentee, mentor)
        client_id = f"{run.tag}-{i:05d}"
        run.phase_of[client_id] = run.phase
        run.ledger.send(client_id, sender, partner)
        await sender.emit(SEND, {"form": {"body": BODY_PREFIX + client_id, "client_id": client_id}})
        i += 1


async def ping_loop(run: Run, url: str) -> None:
    """A bare HTTP GET /ping once a second: what the event loop alone answers in."""
    async with httpx.AsyncClient(timeout=30) as http:
        start = time.perf_counter() + 0.5
        i = 0
        while not run.stop.is_set():
            await sleep_until(start + i)
            i += 1
            phase = run.phase
            began = time.perf_counter()
            try:
                (await http.get(url + "/ping")).raise_for_status()
            except httpx.HTTPError as error:
                run.ping_failures.append((phase, repr(error)))
                continue
            run.pings.append((phase, (time.perf_counter() - began) * 1000))


async def lag_loop(run: Run) -> None:
    while not run.stop.is_set():
        phase = run.phase
        began = time.perf_counter()
        await asyncio.sleep(0.1)
        run.lags.append((phase, (time.perf_counter() - began - 0.1) * 1000))


async def settle_chat(run: Run, seconds: float, timeout_s: float = 180) -> None:
    """Between phases: at least `seconds`, and until every message sent has arrived (or
    was refused), so that the next phase starts without a backlog."""
    deadline = time.perf_counter() + timeout_s
    await asyncio.sleep(seconds)
    while run.unsettled and time.perf_counter() < deadline:
        await asyncio.sleep(0.2)


# --- the loads -------------------------------------------------------------------------------


@dataclass
class LoginLoad:
    statuses: Counter[str] = field(default_factory=Counter)
    answers_ms: list[float] = field(default_factory=list)
    skipped: int = 0


def _source_addresses(count: int) -> list[str | None]:
    if count <= 1:
        return [None]
    first = ipaddress.ip_address("127.0.1.1")
    return [str(first + k) for k in range(count)]


def _direct(url: str) -> str:
    # A socket bound to 127.x.y.z cannot reach "localhost" if that resolves to ::1.
    return url.replace("//localhost:", "//127.0.0.1:")


async def failed_logins(
    run: Run,
    server: Server,
    *,
    rate: float,
    seconds: float,
    sources: int,
    header: str | None,
    max_in_flight: int = 200,
) -> LoginLoad:
    load = LoginLoad()
    rng = random.Random(run.tag)
    in_flight = 0
    clients = [
        httpx.AsyncClient(
            transport=httpx.AsyncHTTPTransport(local_address=source) if source else None,
            timeout=60,
        )
        for source in _source_addresses(sources)
    ]

    async def one(k: int) -> None:
        nonlocal in_flight
        origin = server.urls[k % len(server.urls)]
        headers = {"Origin": origin}
        if header:
            headers[header] = (
                f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
            )
        form = {
            "email": f"nobody.{uuid.uuid4().hex[:12]}@example.net",
            "password": secrets.token_urlsafe(12),
        }
        began = time.perf_counter()
        in_flight += 1
        try:
            response = await clients[k % len(clients)].post(
                _direct(origin) + "/auth/login", data=form, headers=headers
            )
            load.statuses[str(response.status_code)] += 1
        except httpx.HTTPError as error:
            load.statuses[type(error).__name__] += 1
        finally:
            in_flight -= 1
        load.answers_ms.append((time.perf_counter() - began) * 1000)

    tasks = []
    start = time.perf_counter()
    try:
        for k in range(int(rate * seconds)):
            await sleep_until(start + k / rate)
            if in_flight >= max_in_flight:
                load.skipped += 1
                continue
            tasks.append(asyncio.create_task(one(k)))
        await asyncio.gather(*tasks)
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    return load


def _substate(client: AsyncReflexClient, suffix: str) -> dict[str, Any]:
    for name, values in client.state.items():
        if name.endswith(suffix):
            return values
    return {}


class WorkspaceAdmin(AsyncReflexClient):
    """An admin's tab on a program's pairing workspace."""

    WS = "pairing_workspace_state"

    def _view(self) -> dict[str, Any]:
        return _substate(self, self.WS)

    def answered(self) -> bool:
        view = self._view()
        return not view.get("working" + FIELD) and bool(
            view.get("message" + FIELD) or view.get("errors" + FIELD)
        )

    def outcome(self) -> str:
        view = self._view()
        return str(view.get("message" + FIELD) or view.get("errors" + FIELD))

    async def act(self, event: str, payload: dict[str, Any], timeout: float = 900) -> float:
        """Send one of the workspace's events; seconds until its answer has arrived."""
        view = self._view()
        view["message" + FIELD], view["errors" + FIELD] = "", {}
        began = time.perf_counter()
        await self.emit(event, payload)
        await self.wait_for(lambda c: c.answered(), timeout=timeout)  # type: ignore[attr-defined]
        return time.perf_counter() - began

    async def open(self, program_id: int, timeout: float = 300) -> float:
        began = time.perf_counter()
        await self.connect(f"/programs/{program_id}/pairing", timeout=timeout)
        await self.wait_for(
            lambda c: bool(_substate(c, self.WS).get("program" + FIELD)), timeout=timeout
        )
        return time.perf_counter() - began


async def suggest_and_publish(
    run: Run, server: Server, admin_cookie: str, cohorts: list[bulk.Cohort]
) -> dict[str, Any]:
    from state.pairing import PairingWorkspaceState

    suggest = handler(PairingWorkspaceState, "suggest_all")
    publish = handler(PairingWorkspaceState, "publish")
    figures: dict[str, Any] = {"rounds": [], "open_s": []}
    for k, cohort in enumerate(cohorts):
        admin = WorkspaceAdmin(server.urls[0], session_cookie=admin_cookie)
        try:
            run.mark(f"round {k + 1}: open the workspace")
            figures["open_s"].append(round(await admin.open(cohort.program_id), 2))
            if k == 0:
                run.begin("suggest_publish", server)
            run.mark(f"round {k + 1}: Suggest all")
            suggest_s = await admin.act(suggest, {"form": {"min_score": "0"}})
            suggested = admin.outcome()
            run.mark(f"round {k + 1}: Publish")
            publish_s = await admin.act(publish, {})
            run.mark(f"round {k + 1}: done")
            figures["rounds"].append(
                {
                    "suggest_all_s": round(suggest_s, 2),
                    "publish_s": round(publish_s, 2),
                    "suggested": suggested,
                    "published": admin.outcome(),
                }
            )
            print(f"    round {k + 1}: Suggest all {suggest_s:.1f} s ({suggested}); "
                  f"Publish {publish_s:.1f} s ({admin.outcome()})", flush=True)  # fmt: skip
        finally:
            await admin.close()
    run.end(server)
    return figures


class DashboardAdmin(AsyncReflexClient):
    """An admin reloading a program's dashboard: each reload is a new tab (a new token, so
    what shows comes from this load's on_load alone) on a new socket."""

    DS = "program_dashboard_state"

    def __init__(self, base_url: str, *, session_cookie: str) -> None:
        super().__init__(base_url, session_cookie=session_cookie)
        self.shown_at: float | None = None
        self.denied = ""

    async def _on_update(self, update: dict[str, Any]) -> None:
        for name, values in (update.get("delta") or {}).items():
            shown = values.get("program" + FIELD) or values.get("denied" + FIELD)
            if name.endswith(self.DS) and self.shown_at is None and shown:
                self.shown_at = time.perf_counter()
                self.denied = str(values.get("denied" + FIELD) or "")
        await super()._on_update(update)
        self.updates.clear()

    async def reload(self, path: str, timeout: float = 300) -> float:
        await self.close()
        self.token, self.state, self.shown_at = str(uuid.uuid4()), {}, None
        self.disconnected = False
        began = time.perf_counter()
        await self.connect(path, timeout=timeout)
        await self.wait_for(lambda c: c.shown_at is not None, timeout=timeout)  # type: ignore[attr-defined]
        assert self.shown_at is not None
        if self.denied:
            raise RuntimeError(f"the dashboard refused its admin: {self.denied}")
        return (self.shown_at - began) * 1000


async def reload_dashboards(
    server: Server, cookies: list[str], program_id: int, seconds: float
) -> list[float]:
    path = f"/programs/{program_id}/dashboard"
    loads: list[float] = []
    end = time.perf_counter() + seconds

    async def admin_loop(k: int, cookie: str) -> None:
        admin = DashboardAdmin(server.urls[k % len(server.urls)], session_cookie=cookie)
        try:
            while time.perf_counter() < end:
                loads.append(await admin.reload(path))
        finally:
            await admin.close()

    await asyncio.gather(*(admin_loop(k, c) for k, c in enumerate(cookies)))
    return loads


async def nudge_job(
    run: Run, server: Server, folder: Path, timeout_s: float = 1800
) -> dict[str, Any]:
    for name in ("started", "done"):
        (folder / name).unlink(missing_ok=True)
    (folder / "run").write_text("")
    deadline = (
        time.monotonic() + 90
    )  # the lease is renewed every 30 s; the trigger checked every 1 s
    while not (folder / "started").exists():
        if time.monotonic() > deadline:
            raise RuntimeError("the server did not pick up the nudge job request (no leader?)")
        await asyncio.sleep(0.05)
    run.begin("nudges", server)
    deadline = time.monotonic() + timeout_s
    while not (folder / "done").exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"the nudge job did not finish in {timeout_s} s")
        await asyncio.sleep(0.05)
    run.end(server)
    await asyncio.sleep(0.1)  # the file is written in one call; let it land
    done: dict[str, Any] = json.loads((folder / "done").read_text())
    if done.get("error") or done.get("report") is None:
        raise RuntimeError(f"the nudge job failed: {done}")
    return done


# --- the run ---------------------------------------------------------------------------------


async def timed_phase(run: Run, server: Server, name: str, body: Awaitable[Any]) -> Any:
    run.begin(name, server)
    try:
        return await body
    finally:
        run.end(server)


async def run_phases(
    args: argparse.Namespace,
    sizes: Sizes,
    server: Server,
    arranged: Arranged,
    run: Run,
    trigger: Path,
) -> None:
    mentor = Member(server.urls[0], arranged.chat_emails[0], 0, run.ledger)
    mentee = Member(server.urls[-1], arranged.chat_emails[1], len(server.urls) - 1, run.ledger)
    background: list[asyncio.Task[Any]] = []
    try:
        for member, cookie in zip((mentor, mentee), arranged.chat_cookies, strict=True):
            member.session_cookie = cookie
            await member.connect(f"/pairs/{arranged.chat_pair}", timeout=120)
            await member.wait_for(lambda c: bool(c.ready), timeout=120)  # type: ignore[attr-defined]
            member.keep_updates = False
        background = [
            asyncio.create_task(chat_loop(run, mentor, mentee)),
            asyncio.create_task(ping_loop(run, server.urls[0])),
            asyncio.create_task(lag_loop(run)),
        ]
        gap, loads = args.gap_s, args.only
        await settle_chat(run, 3)  # warm-up messages, not counted
        await timed_phase(run, server, "idle", asyncio.sleep(sizes.phase_s))
        await settle_chat(run, gap)
        if "logins" in loads:
            run.load["logins"] = await timed_phase(
                run, server, "logins",
                failed_logins(run, server, rate=args.login_rate, seconds=sizes.phase_s,
                              sources=args.login_sources, header=args.client_ip_header),
            )  # fmt: skip
            await settle_chat(run, gap)
        if "suggest_publish" in loads:
            run.load["suggest_publish"] = await suggest_and_publish(
                run, server, arranged.admin_cookie, arranged.cohorts
            )
            await settle_chat(run, gap)
        if "dashboards" in loads:
            run.load["dashboards"] = await timed_phase(
                run, server, "dashboards",
                reload_dashboards(server, arranged.dashboard_cookies,
                                  arranged.dashboard_program, sizes.phase_s),
            )  # fmt: skip
            await settle_chat(run, gap)
        if "nudges" in loads:
            run.load["nudges"] = await nudge_job(run, server, trigger)
            await settle_chat(run, gap)
        await timed_phase(run, server, "idle_after", asyncio.sleep(sizes.phase_s))
        run.stop.set()
        await settle_chat(run, 0, timeout_s=args.drain_s)
    finally:
        run.stop.set()
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        await asyncio.gather(mentor.close(), mentee.close(), return_exceptions=True)


# --- figures ---------------------------------------------------------------------------------


def _r(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def _p(values: list[float], q: float) -> float | None:
    return percentile(values, q) if values else None


def stored_client_ids(database_url: str, tag: str) -> set[str]:
    """The client ids of this run's messages the app stored: a message lost but stored
    went missing on its way to the partner; one not stored was refused."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT client_id FROM pair_message WHERE client_id LIKE :prefix"),
                {"prefix": f"{tag}-%"},
            ).scalars()
            return set(rows)
    finally:
        engine.dispose()


def slow_sends(run: Run, idle_p95: float | None, shown: int = 3) -> None:
    """Each loaded phase's slowest sends above the target, when they were sent in the phase
    and what the load had last begun then (Suggest all, Publish...)."""
    if not idle_p95:
        return
    times = {t.name: t for t in run.phases}
    slow: dict[str, list[tuple[float, float]]] = {}
    for client_id, entry in run.ledger.sent.items():
        phase = run.phase_of.get(client_id, GAP)
        ms = None if entry.delivered_at is None else (entry.delivered_at - entry.at) * 1000
        if phase in times and phase != "idle" and ms is not None and ms > idle_p95 * TARGET_RATIO:
            slow.setdefault(phase, []).append((ms, entry.at))
    for name, sends in slow.items():
        worst = sorted(sends, reverse=True)[:shown]
        text = []
        for ms, at in worst:
            begun = [w for when, w in run.marks if times[name].started <= when <= at]
            doing = f", during {begun[-1]}" if begun else ""
            text.append(f"{ms:.0f} ms at {at - times[name].started:.1f} s{doing}")
        print(f"    {name}: {len(sends)} over {idle_p95 * TARGET_RATIO:.0f} ms; {'; '.join(text)}")


def report(
    args: argparse.Namespace, sizes: Sizes, run: Run, server: Server, stored: set[str]
) -> dict[str, Any]:
    ledger = run.ledger
    by_phase: dict[str, list[float]] = {name: [] for name in PHASES}
    sent: Counter[str] = Counter()
    lost: Counter[str] = Counter()
    refused: Counter[str] = Counter()
    for client_id, entry in ledger.sent.items():
        phase = run.phase_of.get(client_id, GAP)
        sent[phase] += 1
        if entry.delivered_at is None:
            lost[phase] += 1
            refused[phase] += client_id not in stored
        elif phase in by_phase:
            by_phase[phase].append((entry.delivered_at - entry.at) * 1000)
    idle_p95 = _p(by_phase["idle"], 95)
    figures: dict[str, Any] = {
        "mode": "scale-out" if args.scale_out else "embedded",
        "workers": len(server.urls),
        "quick": args.quick,
    }
    print(f"\nchat send -> partner, by phase ({'two workers' if args.scale_out else 'one worker'}"
          f"; ratio = phase p95 / idle p95; target <= {TARGET_RATIO}):")  # fmt: skip
    ratios = []
    times = {t.name: t for t in run.phases}
    for name in PHASES:
        if name in LOADS and name not in args.only:
            continue
        values = by_phase[name]
        p50, p95 = _p(values, 50), _p(values, 95)
        ratio = round(p95 / idle_p95, 2) if p95 is not None and idle_p95 else None
        if ratio is not None and name != "idle":
            ratios.append(ratio)
        pings = [ms for phase, ms in run.pings if phase == name]
        lags = [ms for phase, ms in run.lags if phase == name]
        t = times.get(name)
        blocked = (
            sum(a - b for a, b in zip(t.blocked_after, t.blocked_before, strict=True)) if t else 0
        )
        took = f"{t.ended - t.started:5.1f} s" if t else "  -  "
        print(
            f"  {name:<16} {took}  {len(values):3d} delivered, {lost[name]} lost "
            f"({refused[name]} refused); "
            f"p50 {p50 or 0:6.1f} ms, p95 {p95 or 0:6.1f} ms, max {max(values, default=0):6.1f}"
            f"; ratio {ratio if ratio is not None else '-'}; /ping p95 "
            f"{_p(pings, 95) or 0:.1f} ms; client lag p95 {_p(lags, 95) or 0:.1f} ms; "
            f"loop blocked {blocked}x"
        )
        figures[f"{name}_p50_ms"] = _r(p50)
        figures[f"{name}_p95_ms"] = _r(p95)
        if name != "idle":
            figures[f"{name}_ratio_p95"] = ratio
        figures[f"{name}_ping_p95_ms"] = _r(_p(pings, 95))
        figures[f"{name}_loop_blocked"] = blocked
        figures[f"{name}_lost"] = lost[name]
    slow_sends(run, idle_p95)
    total_lost, total_refused = sum(lost.values()), sum(refused.values())
    figures["sent"] = len(ledger.sent)
    figures["lost"] = total_lost
    figures["duplicated"] = ledger.duplicated()
    figures["misdelivered"] = ledger.misdelivered
    figures["refused"] = total_refused
    figures["max_ratio_p95"] = max(ratios) if ratios else None
    figures["target_met"] = bool(ratios) and max(ratios) <= TARGET_RATIO and total_lost == 0
    print(f"  messages: {len(ledger.sent)} sent (with those between phases), {total_lost} lost "
          f"(never reached the partner), of which {total_refused} refused (not stored) and "
          f"{total_lost - total_refused} stored but not delivered; {ledger.duplicated()} "
          f"duplicated, {ledger.misdelivered} misdelivered")  # fmt: skip
    for text, count in Counter(r.partition(": ")[2] for r in ledger.refusals).most_common(5):
        print(f"    the sender was told {count}x: {text}")
    if run.ping_failures:
        print(f"  /ping failures: {len(run.ping_failures)}: {run.ping_failures[:3]}")

    print("\nthe loads:")
    figures["idle_p95_ms"] = _r(idle_p95)
    if "logins" in run.load:
        logins: LoginLoad = run.load["logins"]
        answer_p50, answer_p95 = _p(logins.answers_ms, 50) or 0, _p(logins.answers_ms, 95) or 0
        print(f"  logins: {sum(logins.statuses.values())} answered at {args.login_rate:g}/s "
              f"({dict(logins.statuses)}), {logins.skipped} not sent (200 in flight); answer "
              f"p50 {answer_p50:.0f} ms, p95 {answer_p95:.0f} ms")  # fmt: skip
        figures["logins_answered"] = sum(logins.statuses.values())
        figures["logins_429"] = logins.statuses.get("429", 0)
        figures["login_answer_p95_ms"] = _r(_p(logins.answers_ms, 95))
    if "suggest_publish" in run.load:
        sp = run.load["suggest_publish"]
        figures["workspace_open_s"] = sp["open_s"]
        figures["suggest_all_s"] = [r["suggest_all_s"] for r in sp["rounds"]]
        figures["publish_s"] = [r["publish_s"] for r in sp["rounds"]]
    if "dashboards" in run.load:
        dashboards: list[float] = run.load["dashboards"]
        load_p50, load_p95 = _p(dashboards, 50), _p(dashboards, 95)
        print(f"  dashboards: {len(dashboards)} loads by {args.admins} admins, p50 "
              f"{load_p50 or 0:.0f} ms, p95 {load_p95 or 0:.0f} ms")  # fmt: skip
        figures["dashboard_loads"] = len(dashboards)
        figures["dashboard_load_p50_ms"] = _r(load_p50)
        figures["dashboard_load_p95_ms"] = _r(load_p95)
    if "nudges" in run.load:
        nudges = run.load["nudges"]
        nudge_s = nudges["finished"] - nudges["started"]
        report_ = nudges["report"]
        print(f"  nudge job: {nudge_s:.1f} s, {report_['created']} nudges for "
              f"{report_['pairs']} pairs in {report_['chunks']} chunks")  # fmt: skip
        figures["nudge_job_s"] = round(nudge_s, 1)
        figures["nudges_created"] = report_["created"]
    figures.update(
        {
            "only": list(args.only),
            "sizes": {
                "mentees": sizes.mentees,
                "mentors": sizes.mentors,
                "rounds": args.rounds,
                "dashboard_pairs": sizes.dashboard_pairs,
                "nudge_pairs": sizes.nudge_pairs,
                "phase_s": sizes.phase_s,
            },
        }
    )
    return figures


def _loads(text: str) -> tuple[str, ...]:
    """`--only`'s value: loaded phases, in the run's order."""
    chosen = {name.strip() for name in text.split(",") if name.strip()}
    unknown = chosen - set(LOADS)
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(
            f"not a loaded phase: {', '.join(sorted(unknown)) or '(none)'}; "
            f"choose from {', '.join(LOADS)}"
        )
    return tuple(name for name in LOADS if name in chosen)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description="Chat delivery while others load the server.")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, 10 s phases")
    parser.add_argument("--scale-out", action="store_true", help="PostgreSQL + Redis, 2 workers")
    parser.add_argument("--phase-s", type=float, help="length of the timed phases")
    parser.add_argument("--mentees", type=int)
    parser.add_argument("--mentors", type=int)
    parser.add_argument("--rounds", type=int, default=1, help="cohorts suggested and published")
    parser.add_argument("--dashboard-pairs", type=int)
    parser.add_argument("--nudge-pairs", type=int)
    parser.add_argument("--admins", type=int, default=5, help="admins reloading the dashboard")
    parser.add_argument("--login-rate", type=float, default=20, help="failed log-ins a second")
    parser.add_argument("--login-sources", type=int, default=1, help="loopback addresses used")
    parser.add_argument(
        "--client-ip-header",
        help="send a random client address in this header, and have the server trust it",
    )
    parser.add_argument("--gap-s", type=float, default=3, help="pause between phases")
    parser.add_argument("--drain-s", type=float, default=20, help="after the last send: lost")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (logs)")
    parser.add_argument(
        "--only",
        type=_loads,
        default=LOADS,
        help=f"these loaded phases alone, a comma list of {', '.join(LOADS)}",
    )
    args = parser.parse_args(argv)
    base = QUICK if args.quick else FULL
    sizes = Sizes(
        mentees=args.mentees or base.mentees,
        mentors=args.mentors or base.mentors,
        dashboard_pairs=args.dashboard_pairs or base.dashboard_pairs,
        nudge_pairs=args.nudge_pairs or base.nudge_pairs,
        phase_s=args.phase_s or base.phase_s,
    )

    tag = secrets.token_hex(3)
    work = Path(tempfile.mkdtemp(prefix="interference-"))
    trigger = work / "nudge-trigger"
    trigger.mkdir()
    env = {
        "BENCH_NUDGE_TRIGGER": str(trigger),
        "MENTOR_OUTBOX_EVERY_S": "86400",
        "GRANIAN_WORKERS": "1",
    }
    if args.client_ip_header:
        env["MENTOR_CLIENT_IP_HEADER"] = args.client_ip_header
    server: Server = (
        BenchScaleOut(work / "app", instances=2, frontend=False, **env)
        if args.scale_out
        else EmbeddedServer(work / "app", **env)
    )
    print(f"work folder {work}; run {tag}; {load_text()}", flush=True)
    started = time.monotonic()
    try:
        server.start()
        print(f"{len(server.urls)} worker(s) up on {', '.join(server.urls)} in "
              f"{time.monotonic() - started:.0f} s", flush=True)  # fmt: skip
        arranged = arrange(
            server.database_url,
            sizes,
            rounds=args.rounds,
            admins=args.admins,
            run=tag,
            loads=args.only,
        )
        print(
            f"arranged in {arranged.seconds:.0f} s for {', '.join(args.only)}: "
            f"{len(arranged.cohorts)} cohort(s) of {sizes.mentees} x {sizes.mentors}, "
            f"a {sizes.dashboard_pairs if arranged.dashboard_program else 0}-pair program, "
            f"{arranged.nudge_pairs} pairs due for nudges; {load_text()}",
            flush=True,
        )
        run = Run(tag)
        asyncio.run(_run_async(args, sizes, server, arranged, run, trigger))
        figures = report(args, sizes, run, server, stored_client_ids(server.database_url, tag))
        figures["run_s"] = round(time.monotonic() - started)
    finally:
        server.stop()
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(figures))
    return figures


async def _run_async(
    args: argparse.Namespace,
    sizes: Sizes,
    server: Server,
    arranged: Arranged,
    run: Run,
    trigger: Path,
) -> None:
    # The Run's asyncio.Event must belong to this loop.
    run.stop = asyncio.Event()
    await run_phases(args, sizes, server, arranged, run, trigger)


if __name__ == "__main__":
    stop_cleanly_on_sigterm()
    main()
