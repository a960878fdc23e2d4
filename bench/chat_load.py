"""Pair chat under load: N pairs chatting at once, each pair's two members held by two
different backend workers, with no browser.

Run `python -m bench.chat_load --pairs N --seconds S`; the last line printed is one JSON
object with the figures. It starts the app in scale-out mode (PostgreSQL + Redis, two
instances of one worker each, backend only: no page is loaded; tests/support/scaleout.py),
arranges N published pairs of fresh members through the services, logs every member in
through the real log-in form and opens their pair's page with a protocol-level client
(tests/support/rxclient.py: python-socketio speaking Reflex's event protocol), the mentor
on worker 0 and the mentee on worker 1. Each pair then exchanges one message a second for
`--seconds` (mentor and mentee in turn, so each sends one every two seconds: the chat
allows 20 a sender in 10 s), each pair at its own phase within the second. A message is
`PairPageState.send` with the browser's form payload; its client id is in its text, so the
partner's page (the `PairChatState` deltas it receives) tells when it arrived: send ->
delivered is timed in this one process on `time.perf_counter`. A message the partner has
not seen `--drain-s` after the last send is lost (`stored` then tells how many the app did
store: a lost message that is stored was queued behind a backlog, not dropped); one the
partner sees under two message ids is duplicated; one that reaches a member of another
pair is misdelivered.

Two floors are measured in the same run, first on an idle machine and then during the
load, one probe a second from each of their own clients:
- the bare Reflex event: `PairPageState.close_report` (no service call, no database: the
  cheapest handler of the pair's page; the app has no no-op) sent by members of extra,
  silent pairs on the same page, timed to its answer;
- a raw socket.io echo: bench/sio_echo.py, a python-socketio server on granian like
  Reflex's backend, timed to its answer.
`ratio_p95` is the chat's p95 over the bare event's p95 during the load (the same machine
at the same moment: what the chat adds to Reflex's own round trip); `ratio_p95_idle`
divides by the idle one. The backend's memory is each instance's summed RSS (all its
processes), sampled every second, and every process's own peak (VmHWM). The scheduler
is off (MENTOR_SCHEDULER=off): the arranged pairs' e-mails are not the chat's load.

`--find-capacity` asks how much the deployment holds: for each N of `--steps`, it brings
the first N pairs' members onto their pair's page (those of earlier steps stay), then runs
`--step-seconds` of chat with them (one message a second a pair, so N messages a second), and
stops at the first
step whose p95 passes `--target-p95-ms` (100) or that loses a message. Its JSON line gives
the largest rate held, in messages a second and a core, and every step's figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import socketio  # type: ignore[import-untyped]

from bench import stop_cleanly_on_sigterm
from tests.support.appserver import PROJECT_ROOT
from tests.support.rxclient import ROOT_STATE, AsyncReflexClient
from tests.support.scaleout import ScaleOut

SESSION_STATE = f"{ROOT_STATE}.state___session____session_state"
PAGE_STATE = f"{SESSION_STATE}.state___journey____pair_page_state"
CHAT_STATE = (
    f"{ROOT_STATE}.reflex___istate___shared____shared_state_base_internal"
    ".state___journey____pair_chat_state"
)
FORM_STATE = f"{PAGE_STATE}.state___journey____pair_chat_form_state"  # the composer's
SEND = f"{FORM_STATE}.send"
BARE_EVENT = f"{PAGE_STATE}.close_report"
BODY_PREFIX = "load "
ECHO_NAMESPACE = "/_event"


# --- arranging pairs -------------------------------------------------------------------------


@dataclass(frozen=True)
class PairSeat:
    pair_id: int
    mentor_email: str
    mentee_email: str


def arrange_pairs(database_url: str, count: int, run: str) -> list[PairSeat]:
    """`count` pairs of fresh members of Grow Every Day, paired and published in one new
    program; through the services, as bench/chat_latency.py's arrange_pair.

    Every member has the demo password. Its argon2 hash is computed once and given to
    each sign-up: hashing it 2N times (0.2 s each here) would be minutes of setup."""
    import datetime as dt
    from unittest import mock

    from sqlmodel import Session, select

    from mentor_app.db import make_engine
    from mentor_app.models import Group, Membership, User
    from mentor_app.seed import DEMO_PASSWORD
    from mentor_app.services import accounts, enrollments, pairing, programs
    from tests.factories import answers_for

    demo_hash = accounts.pwd_context.hash(DEMO_PASSWORD)
    engine = make_engine(database_url)
    seats = []
    try:
        with (
            Session(engine, expire_on_commit=False) as db,
            mock.patch.object(accounts.pwd_context, "hash", return_value=demo_hash),
        ):
            ada = db.exec(select(User).where(User.email == "ada.admin@example.org")).one()
            group = db.exec(select(Group).where(Group.name == "Grow Every Day")).one()
            program = programs.start_program(
                db, actor=ada, group_id=group.id or 0, template_key="skills_development"
            )
            pid = program.id or 0
            programs.save_details(
                db, actor=ada, program_id=pid, title=f"Chat load bench {run}",
                description=program.description, start_date=dt.date.today().isoformat(),
                length_weeks=program.length_weeks, mentor_capacity_max=2,
            )  # fmt: skip
            programs.publish(db, actor=ada, program_id=pid)
            for i in range(count):
                people = []
                for role in ("mentor", "mentee"):
                    user = accounts.sign_up(
                        db, email=f"load.{run}.{i:03d}.{role}@example.org",
                        display_name=f"Load {role.title()} {i:03d}", password=DEMO_PASSWORD,
                        date_of_birth="1990-05-05",
                    )  # fmt: skip
                    db.add(Membership(group_id=group.id or 0, user_id=user.id or 0))
                    db.flush()
                    enrollment = enrollments.apply(
                        db, actor=user, program_id=pid, role=role,
                        answers=answers_for(program, role),
                        **({"capacity": 1} if role == "mentor" else {}),
                    )  # fmt: skip
                    people.append((user, enrollment))
                (mentor, mentor_enrollment), (mentee, mentee_enrollment) = people
                pair = pairing.pair_by_hand(
                    db, actor=ada, program_id=pid,
                    mentee_enrollment_id=mentee_enrollment.id or 0,
                    mentor_enrollment_id=mentor_enrollment.id or 0,
                )  # fmt: skip
                seats.append(PairSeat(pair.id or 0, mentor.email, mentee.email))
            pairing.publish_pairs(db, actor=ada, program_id=pid)
            db.commit()
    finally:
        engine.dispose()
    return seats


def stored_messages(database_url: str, run: str) -> int:
    """How many of this run's messages the app stored (their client ids start with it)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            found = conn.execute(
                text("SELECT count(*) FROM pair_message WHERE client_id LIKE :prefix"),
                {"prefix": f"{run}-%"},
            ).scalar_one()
    finally:
        engine.dispose()
    return int(found)


# --- the clients -----------------------------------------------------------------------------


@dataclass
class Sent:
    at: float
    sender: Member
    partner: Member
    delivered_at: float | None = None
    own_answer_at: float | None = None
    ids_at_partner: set[int] = field(default_factory=set)


class Ledger:
    """Every message sent, and where and when it was seen."""

    def __init__(self) -> None:
        self.sent: dict[str, Sent] = {}
        self.misdelivered = 0
        self.refusals: list[str] = []
        self.unknown = 0

    def send(self, client_id: str, sender: Member, partner: Member) -> None:
        self.sent[client_id] = Sent(time.perf_counter(), sender, partner)

    def seen(self, member: Member, message_id: int, body: str, at: float) -> None:
        if not body.startswith(BODY_PREFIX):
            return
        entry = self.sent.get(body[len(BODY_PREFIX) :])
        if entry is None:
            self.unknown += 1
        elif member is entry.partner:
            entry.ids_at_partner.add(message_id)
            if entry.delivered_at is None:
                entry.delivered_at = at
        elif member is entry.sender:
            if entry.own_answer_at is None:
                entry.own_answer_at = at
        else:
            self.misdelivered += 1

    @property
    def delivered(self) -> int:
        return sum(1 for e in self.sent.values() if e.delivered_at is not None)

    def latencies_ms(self) -> list[float]:
        return [
            (e.delivered_at - e.at) * 1000 for e in self.sent.values() if e.delivered_at is not None
        ]

    def own_answers_ms(self) -> list[float]:
        return [
            (e.own_answer_at - e.at) * 1000
            for e in self.sent.values()
            if e.own_answer_at is not None
        ]

    def duplicated(self) -> int:
        return sum(1 for e in self.sent.values() if len(e.ids_at_partner) > 1)


class Member(AsyncReflexClient):
    """One member's tab on their pair's page. Notes when each message first reaches it and
    when its own bare event is answered; keeps no raw updates during the load."""

    def __init__(self, base_url: str, email: str, worker: int, ledger: Ledger) -> None:
        super().__init__(base_url)
        self.email = email
        self.worker = worker
        self.ledger = ledger
        self.keep_updates = True
        self.seen_ids: set[int] = set()
        self.answer: asyncio.Future[float] | None = None
        self.could_send = False

    async def _on_update(self, update: dict[str, Any]) -> None:
        at = time.perf_counter()
        delta = update.get("delta") or {}
        page, form = delta.get(PAGE_STATE), delta.get(FORM_STATE)
        if page is not None or form is not None:
            if self.answer is not None and not self.answer.done():
                self.answer.set_result(at)
            if form is not None and form.get("chat_error_rx_state_"):
                self.ledger.refusals.append(f"{self.email}: {form['chat_error_rx_state_']}")
        chat = delta.get(CHAT_STATE)
        if chat is not None:
            if chat.get("can_send_rx_state_"):
                self.could_send = True
            for message in chat.get("messages_rx_state_") or []:
                message_id = int(message.get("id", 0))
                if message_id not in self.seen_ids:
                    self.seen_ids.add(message_id)
                    self.ledger.seen(self, message_id, str(message.get("body", "")), at)
        await super()._on_update(update)
        if not self.keep_updates:
            self.updates.clear()

    @property
    def ready(self) -> bool:
        # Once seen, not the current value: in scale-out mode, a partner opening the page
        # later relays `can_send: false` to this tab (see the report's problems).
        return self.could_send

    async def open_pair(self, pair_id: int, password: str, timeout: float = 120) -> None:
        await self.connect("/login", timeout=timeout)
        if not await self.log_in(self.email, password, timeout=timeout):
            raise RuntimeError(f"{self.email} could not log in: {self.var('errors')}")
        await self.navigate(f"/pairs/{pair_id}", timeout=timeout)
        await self.wait_for(lambda c: bool(c.ready), timeout=timeout)

    async def bare_event(self, timeout: float = 30) -> float:
        """One round trip of the bare event, in ms."""
        self.answer = asyncio.get_running_loop().create_future()
        start = time.perf_counter()
        await self.emit(BARE_EVENT)
        done = await asyncio.wait_for(self.answer, timeout)
        return (done - start) * 1000


class EchoClient:
    """A raw socket.io client of the echo floor."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sio = socketio.AsyncClient(reconnection=False)
        self.sio.on("echo", self._on_echo, namespace=ECHO_NAMESPACE)
        self.answer: asyncio.Future[float] | None = None

    async def _on_echo(self, _data: Any) -> None:
        if self.answer is not None and not self.answer.done():
            self.answer.set_result(time.perf_counter())

    async def connect(self) -> None:
        await self.sio.connect(
            self.url, socketio_path=ECHO_NAMESPACE, transports=["websocket"],
            namespaces=[ECHO_NAMESPACE], wait_timeout=15,
        )  # fmt: skip

    async def round_trip(self, timeout: float = 30) -> float:
        self.answer = asyncio.get_running_loop().create_future()
        start = time.perf_counter()
        await self.sio.emit("echo", {"sent": start}, namespace=ECHO_NAMESPACE)
        done = await asyncio.wait_for(self.answer, timeout)
        return (done - start) * 1000

    async def close(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()


# --- the echo floor server -------------------------------------------------------------------


class EchoServer:
    def __init__(self, log_path: Path) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 30) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bench.sio_echo", "127.0.0.1", str(self.port)],
                cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the echo server exited: {self.log_path.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("the echo server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait()


# --- memory and machine ----------------------------------------------------------------------


def _status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def group_pids(pgid: int) -> list[int]:
    """Every process of a process group (an instance: supervisor, granian, its worker)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 2 and int(fields[2]) == pgid:
            pids.append(int(entry.name))
    return pids


class MemoryWatch:
    """Each instance's summed RSS every second, its peak, and each process's own peak."""

    def __init__(self, pgids: list[int]) -> None:
        self.pgids = pgids
        self.peak_sum_kb = [0] * len(pgids)
        self.hwm_kb: dict[int, int] = {}

    def sample(self) -> None:
        for i, pgid in enumerate(self.pgids):
            pids = group_pids(pgid)
            total = sum(_status_kb(pid, "VmRSS") for pid in pids)
            self.peak_sum_kb[i] = max(self.peak_sum_kb[i], total)
            for pid in pids:
                self.hwm_kb[pid] = max(self.hwm_kb.get(pid, 0), _status_kb(pid, "VmHWM"))

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await asyncio.to_thread(self.sample)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# The local services' processes, by the name the kernel gives them (/proc/PID/comm).
SERVICES = {"redis": ("redis-server",), "postgresql": ("postgres",)}


def _cpu_s(pid: int) -> float:
    """A process's CPU time so far (user + system, its threads included), in seconds."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rfind(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def cpu_snapshot(pgids: list[int]) -> dict[str, dict[int, float]]:
    """CPU seconds used so far by each process of each part of the deployment: the app's
    instances (every process of their groups), this client process, Redis, PostgreSQL (its
    server and every backend), and the whole machine (busy time of all cores, from
    /proc/stat, under the pseudo-pid 0)."""
    snap = {"app": {pid: _cpu_s(pid) for pgid in pgids for pid in group_pids(pgid)}}
    snap["client"] = {os.getpid(): sum(os.times()[:2])}
    pids = [int(e.name) for e in Path("/proc").iterdir() if e.name.isdigit()]
    for part, names in SERVICES.items():
        snap[part] = {pid: _cpu_s(pid) for pid in pids if _comm(pid).startswith(names)}
    ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    snap["machine"] = {0: (sum(ticks) - ticks[3] - ticks[4]) / CLOCK_TICKS}  # less idle, iowait
    return snap


def cpu_split(
    before: dict[str, dict[int, float]],
    after: dict[str, dict[int, float]],
    seconds: float,
    messages: int,
) -> dict[str, dict[str, float]]:
    """Where the CPU went between two snapshots: each part's cores busy on average, and its
    CPU milliseconds per chat message. Each process counts what it used in between (one
    that started in between, all it used); one that ended in between (a PostgreSQL backend
    whose connection closed) takes its time with it: that part reads low, never high."""
    split: dict[str, dict[str, float]] = {}
    for part, now in after.items():
        then = before.get(part, {})
        used = sum(max(0.0, cpu - then.get(pid, 0.0)) for pid, cpu in now.items())
        split[part] = {
            "cores": round(used / seconds, 2) if seconds > 0 else 0.0,
            "ms_per_msg": round(used * 1000 / messages, 2) if messages else 0.0,
        }
    return split


def cpu_text(split: dict[str, dict[str, float]]) -> str:
    return "CPU per message: " + ", ".join(
        f"{part} {v['ms_per_msg']} ms ({v['cores']} cores)" for part, v in split.items()
    )


async def loop_lag(stop: asyncio.Event, lags: list[float]) -> None:
    """How late this process's event loop wakes up: if the clients fall behind, the
    figures measure them, not the app."""
    while not stop.is_set():
        start = time.perf_counter()
        await asyncio.sleep(0.1)
        lags.append((time.perf_counter() - start - 0.1) * 1000)


def load_text() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


# --- figures ---------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile; None without values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def figures_text(name: str, values: list[float]) -> str:
    if not values:
        return f"{name}: no samples"
    p50, p95, p99 = (percentile(values, q) for q in (50, 95, 99))
    return (
        f"{name}: {len(values)} samples, p50 {statistics.median(values):.1f} ms, "
        f"p95 {p95:.1f}, p99 {p99:.1f}, max {max(values):.1f} (nearest-rank p50 {p50:.1f})"
    )


def _rounded(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


# --- the run ---------------------------------------------------------------------------------


async def sleep_until(moment: float) -> None:
    delay = moment - time.perf_counter()
    if delay > 0:
        await asyncio.sleep(delay)


async def gather_limited(jobs: list[Callable[[], Awaitable[Any]]], limit: int) -> None:
    gate = asyncio.Semaphore(limit)

    async def one(job: Callable[[], Awaitable[Any]]) -> None:
        async with gate:
            await job()

    await asyncio.gather(*(one(job) for job in jobs))


async def open_pages(
    seats: list[PairSeat], pairs: list[tuple[Member, Member]], concurrency: int
) -> None:
    """Each member of `pairs` logged in and on the page of their seat's pair,
    `concurrency` at a time."""
    from mentor_app.seed import DEMO_PASSWORD

    await gather_limited(
        [
            (lambda m=m, s=s: m.open_pair(s.pair_id, DEMO_PASSWORD))
            for s, pair in zip(seats, pairs, strict=True)
            for m in pair
        ],
        concurrency,
    )


async def probe_loop(
    probe: Callable[[], Awaitable[float]], start: float, seconds: int, phase: float,
    samples: list[float], failures: list[str],
) -> None:  # fmt: skip
    for i in range(seconds):
        if time.perf_counter() > start + seconds:
            break  # a saturated app: the probes stop with the load, not 60 answers later
        await sleep_until(start + phase + i)
        try:
            samples.append(await probe())
        except (TimeoutError, ConnectionError) as error:
            failures.append(repr(error))


async def pair_loop(
    ledger: Ledger, pair: tuple[Member, Member], pair_index: int, run: str,
    start: float, seconds: int, phase: float,
) -> None:  # fmt: skip
    mentor, mentee = pair
    for i in range(seconds):
        await sleep_until(start + phase + i)
        sender, partner = (mentor, mentee) if i % 2 == 0 else (mentee, mentor)
        client_id = f"{run}-{pair_index:03d}-{i:04d}"
        ledger.send(client_id, sender, partner)
        await sender.emit(SEND, {"form": {"body": BODY_PREFIX + client_id, "client_id": client_id}})


@dataclass
class Results:
    ledger: Ledger
    bare_idle: list[float] = field(default_factory=list)
    echo_idle: list[float] = field(default_factory=list)
    bare_load: list[float] = field(default_factory=list)
    echo_load: list[float] = field(default_factory=list)
    probe_failures: list[str] = field(default_factory=list)
    lags: list[float] = field(default_factory=list)
    setup_s: float = 0.0
    cpu: dict[str, dict[str, float]] = field(default_factory=dict)


async def run_load(
    args: argparse.Namespace, app: ScaleOut, seats: list[PairSeat], echo_url: str,
    memory: MemoryWatch, run: str,
) -> Results:  # fmt: skip
    ledger = Ledger()
    results = Results(ledger)
    workers = len(app.urls)
    pairs: list[tuple[Member, Member]] = []
    for k, seat in enumerate(seats):
        # The mentor on one worker and the mentee on the next; probe pairs alternate too.
        first = k % workers if k >= args.pairs else 0
        mentor = Member(app.urls[first], seat.mentor_email, first, ledger)
        second = (first + 1) % workers
        mentee = Member(app.urls[second], seat.mentee_email, second, ledger)
        pairs.append((mentor, mentee))
    members = [m for pair in pairs for m in pair]
    echoes = [EchoClient(echo_url) for _ in range(args.echo_clients)]
    stop = asyncio.Event()
    watchers = [
        asyncio.create_task(memory.run(stop)),
        asyncio.create_task(loop_lag(stop, results.lags)),
    ]
    try:
        started = time.perf_counter()
        await open_pages(seats, pairs, args.login_concurrency)
        await asyncio.gather(*(e.connect() for e in echoes))
        results.setup_s = time.perf_counter() - started
        print(
            f"{len(members)} members logged in and on their pair's page in "
            f"{results.setup_s:.0f} s; {load_text()}",
            flush=True,
        )
        chatting, probes = pairs[: args.pairs], [m for p in pairs[args.pairs :] for m in p]

        # Idle floors, one probe at a time.
        for _ in range(args.idle_samples):
            for probe in probes:
                results.bare_idle.append(await probe.bare_event())
            for echo in echoes:
                results.echo_idle.append(await echo.round_trip())
        print(figures_text("bare event, idle", results.bare_idle))
        print(figures_text("socket.io echo, idle", results.echo_idle), flush=True)

        for member in members:
            member.keep_updates = False
        rng = random.Random(run)
        start = time.perf_counter() + 1.0
        tasks = [
            asyncio.create_task(pair_loop(ledger, pair, k, run, start, args.seconds, rng.random()))
            for k, pair in enumerate(chatting)
        ]
        tasks += [
            asyncio.create_task(
                probe_loop(
                    probe.bare_event,
                    start,
                    args.seconds,
                    rng.random(),
                    results.bare_load,
                    results.probe_failures,
                )
            )
            for probe in probes
        ]
        tasks += [
            asyncio.create_task(
                probe_loop(
                    echo.round_trip,
                    start,
                    args.seconds,
                    rng.random(),
                    results.echo_load,
                    results.probe_failures,
                )
            )
            for echo in echoes
        ]
        await sleep_until(start)
        cpu_before, cpu_at = cpu_snapshot(memory.pgids), time.perf_counter()
        for second in range(10, args.seconds, 10):
            await sleep_until(start + second)
            print(
                f"  {second:3d} s: {len(ledger.sent)} sent, {ledger.delivered} delivered; "
                f"{load_text()}",
                flush=True,
            )
        await asyncio.gather(*tasks)
        results.cpu = cpu_split(
            cpu_before, cpu_snapshot(memory.pgids), time.perf_counter() - cpu_at, len(ledger.sent)
        )
        print(cpu_text(results.cpu), flush=True)
        deadline = time.perf_counter() + args.drain_s
        while ledger.delivered < len(ledger.sent) and time.perf_counter() < deadline:
            await asyncio.sleep(0.2)
        await asyncio.sleep(0.5)  # late duplicates
        print(f"load done; {load_text()}", flush=True)
    finally:
        stop.set()
        await asyncio.gather(*watchers, return_exceptions=True)
        await asyncio.gather(*(m.close() for m in members), return_exceptions=True)
        await asyncio.gather(*(e.close() for e in echoes), return_exceptions=True)
    return results


# --- --find-capacity: more pairs, step by step, until delivery falls behind --------------------


@dataclass
class Step:
    pairs: int
    sent: int
    delivered: int
    p50_ms: float | None
    p95_ms: float | None
    load: str
    cpu: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def lost(self) -> int:
        return self.sent - self.delivered

    def held(self, target_p95_ms: float) -> bool:
        return self.lost == 0 and self.p95_ms is not None and self.p95_ms <= target_p95_ms


async def find_capacity(
    args: argparse.Namespace, app: ScaleOut, seats: list[PairSeat], memory: MemoryWatch, run: str
) -> list[Step]:
    """For each N of `--steps` in turn: the first N pairs' members on their pair's page
    (those of earlier steps stay), then `--step-seconds` of chat with those N pairs (one
    message a second a pair: N messages a second); until a step's p95 passes
    `--target-p95-ms` or a message is lost."""
    ledger = Ledger()
    workers = len(app.urls)
    pairs = [
        (
            Member(app.urls[0], seat.mentor_email, 0, ledger),
            Member(app.urls[1 % workers], seat.mentee_email, 1 % workers, ledger),
        )
        for seat in seats
    ]
    stop = asyncio.Event()
    watcher = asyncio.create_task(memory.run(stop))
    steps: list[Step] = []
    try:
        rng = random.Random(run)
        on_page = 0
        for k, count in enumerate(args.steps):
            started = time.perf_counter()
            await open_pages(seats[on_page:count], pairs[on_page:count], args.login_concurrency)
            for member in (m for pair in pairs[on_page:count] for m in pair):
                member.keep_updates = False
            print(f"{2 * (count - on_page)} more members on their pair's page in "
                  f"{time.perf_counter() - started:.0f} s", flush=True)  # fmt: skip
            on_page = count
            await asyncio.sleep(3)  # the log-ins' work done before the chat starts
            tag = f"{run}{k:02d}"  # the client ids of this step
            start = time.perf_counter() + 1.0
            chat = asyncio.gather(
                *(
                    pair_loop(ledger, pairs[i], i, tag, start, args.step_seconds, rng.random())
                    for i in range(count)
                )
            )
            await sleep_until(start)
            cpu_before, cpu_at = cpu_snapshot(memory.pgids), time.perf_counter()
            await chat
            load = load_text()
            mine = [e for cid, e in ledger.sent.items() if cid.startswith(f"{tag}-")]
            cpu = cpu_split(
                cpu_before, cpu_snapshot(memory.pgids), time.perf_counter() - cpu_at, len(mine)
            )
            deadline = time.perf_counter() + args.drain_s
            while time.perf_counter() < deadline and any(e.delivered_at is None for e in mine):
                await asyncio.sleep(0.2)
            latencies = [(e.delivered_at - e.at) * 1000 for e in mine if e.delivered_at]
            step = Step(
                pairs=count,
                sent=len(mine),
                delivered=len(latencies),
                p50_ms=_rounded(percentile(latencies, 50)),
                p95_ms=_rounded(percentile(latencies, 95)),
                load=load,
                cpu=cpu,
            )
            steps.append(step)
            print(f"{count} pairs ({count} messages a second): p50 {step.p50_ms} ms, "
                  f"p95 {step.p95_ms} ms, lost {step.lost} of {step.sent}; {load}\n"
                  f"  {cpu_text(cpu)}", flush=True)  # fmt: skip
            if not step.held(args.target_p95_ms):
                break
    finally:
        stop.set()
        await asyncio.gather(watcher, return_exceptions=True)
        await asyncio.gather(
            *(m.close() for p in pairs[:on_page] for m in p), return_exceptions=True
        )
    return steps


def capacity_report(args: argparse.Namespace, steps: list[Step]) -> dict[str, Any]:
    held = [s for s in steps if s.held(args.target_p95_ms)]
    best = max((s.pairs for s in held), default=0)
    cores = os.cpu_count() or 1
    verdict = (
        f"held {best} messages a second ({best / cores:.0f} a core on {cores} cores) at p95 "
        f"<= {args.target_p95_ms:.0f} ms with nothing lost"
        if best
        else "no step held"
    )
    first_failed = next((s for s in steps if not s.held(args.target_p95_ms)), None)
    if first_failed is not None:
        verdict += (f"; {first_failed.pairs} did not (p95 {first_failed.p95_ms} ms, "
                    f"lost {first_failed.lost})")  # fmt: skip
    print(verdict)
    return {
        "capacity_msgs_per_s": best,
        "capacity_msgs_per_s_per_core": round(best / cores, 1),
        "cores": cores,
        "target_p95_ms": args.target_p95_ms,
        "step_seconds": args.step_seconds,
        "workers": args.workers,
        "target_met": best >= 300,
        "steps": [
            {
                "pairs": s.pairs,
                "p50_ms": s.p50_ms,
                "p95_ms": s.p95_ms,
                "lost": s.lost,
                "sent": s.sent,
                "load": s.load,
                "cpu": s.cpu,
            }
            for s in steps
        ],
    }


def report(args: argparse.Namespace, results: Results, memory: MemoryWatch) -> dict[str, Any]:
    ledger = results.ledger
    latencies = ledger.latencies_ms()
    sent, delivered = len(ledger.sent), ledger.delivered
    print(f"sent {sent}, delivered {delivered}, lost {sent - delivered}, "
          f"duplicated {ledger.duplicated()}, misdelivered {ledger.misdelivered}, "
          f"refused {len(ledger.refusals)}")  # fmt: skip
    for refusal in ledger.refusals[:5]:
        print(f"  refused: {refusal}")
    where = " (other worker)" if args.workers > 1 else ""
    print(figures_text(f"send -> delivered at the partner{where}", latencies))
    for first, second in ((0, 1), (1, 0)) if args.workers > 1 else ():
        way = [
            (e.delivered_at - e.at) * 1000
            for e in ledger.sent.values()
            if e.delivered_at is not None and (e.sender.worker, e.partner.worker) == (first, second)
        ]
        print("  " + figures_text(f"worker {first} -> worker {second}", way))
    slow = sorted(x for x in latencies if x > 500)
    if slow:
        print(f"  {len(slow)} delivered after more than 500 ms: "
              + ", ".join(f"{x:.0f}" for x in slow[:20]))  # fmt: skip
    print(figures_text("send -> sender's own answer", ledger.own_answers_ms()))
    print(figures_text("bare event during the load", results.bare_load))
    print(figures_text("socket.io echo during the load", results.echo_load))
    if results.probe_failures:
        print(f"probe failures: {len(results.probe_failures)}: {results.probe_failures[:3]}")
    print(figures_text("client event-loop lag (0.1 s ticks)", results.lags))
    for i, peak in enumerate(memory.peak_sum_kb):
        print(f"worker {i}: peak RSS {peak / 1024:.0f} MB (all its processes, sampled each s)")
    biggest = sorted(memory.hwm_kb.items(), key=lambda item: -item[1])[:4]
    print("largest processes' own peaks (VmHWM): "
          + ", ".join(f"pid {pid} {kb / 1024:.0f} MB" for pid, kb in biggest))  # fmt: skip
    p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
    bare_p95, bare_idle_p95 = percentile(results.bare_load, 95), percentile(results.bare_idle, 95)
    return {
        "pairs": args.pairs,
        "sent": sent,
        "delivered": delivered,
        "lost": sent - delivered,
        "duplicated": ledger.duplicated(),
        "p50_ms": _rounded(p50),
        "p95_ms": _rounded(p95),
        "bare_event_p95_ms": _rounded(bare_p95),
        "ratio_p95": round(p95 / bare_p95, 2) if p95 and bare_p95 else None,
        "seconds": args.seconds,
        "workers": args.workers,
        "misdelivered": ledger.misdelivered,
        "refused": len(ledger.refusals),
        "p99_ms": _rounded(percentile(latencies, 99)),
        "bare_event_p50_ms": _rounded(percentile(results.bare_load, 50)),
        "bare_event_idle_p95_ms": _rounded(bare_idle_p95),
        "ratio_p95_idle": round(p95 / bare_idle_p95, 2) if p95 and bare_idle_p95 else None,
        "echo_p95_ms": _rounded(percentile(results.echo_load, 95)),
        "echo_idle_p95_ms": _rounded(percentile(results.echo_idle, 95)),
        "client_lag_p95_ms": _rounded(percentile(results.lags, 95)),
        "peak_rss_mb": [round(kb / 1024) for kb in memory.peak_sum_kb],
        "cpu": results.cpu,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description="Pair chat under load across two workers.")
    parser.add_argument("--pairs", type=int, default=10, help="pairs chatting")
    parser.add_argument("--seconds", type=int, default=60, help="how long they chat")
    parser.add_argument("--workers", type=int, default=2, help="app instances (one worker each)")
    parser.add_argument("--probe-pairs", type=int, default=2, help="silent pairs for bare events")
    parser.add_argument("--echo-clients", type=int, default=4)
    parser.add_argument("--idle-samples", type=int, default=25, help="per probe, before load")
    parser.add_argument("--drain-s", type=float, default=15, help="after the last send: lost")
    parser.add_argument("--login-concurrency", type=int, default=8)
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (logs)")
    parser.add_argument(
        "--find-capacity",
        action="store_true",
        help="raise the number of pairs step by step until p95 or a loss says stop",
    )
    parser.add_argument(
        "--steps",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[10, 25, 50, 100, 150, 200, 250, 300, 400],
        help="pair counts of --find-capacity (comma-separated)",
    )
    parser.add_argument("--step-seconds", type=int, default=30)
    parser.add_argument("--target-p95-ms", type=float, default=100)
    args = parser.parse_args(argv)

    run = secrets.token_hex(3)
    work = Path(tempfile.mkdtemp(prefix="chat-load-"))
    print(f"work folder {work}; run {run}; {load_text()}", flush=True)
    echo = EchoServer(work / "echo.log")
    # No scheduler: arranging N pairs queues 2N "new pair" e-mails, and the leader sending
    # them (to the console) during the load took a fifth of its worker; nudges are weekly.
    app = ScaleOut(work / "app", instances=args.workers, frontend=False, MENTOR_SCHEDULER="off")
    try:
        started = time.monotonic()
        echo.start()
        app.start()
        print(f"{args.workers} instances up on {', '.join(app.urls)} in "
              f"{time.monotonic() - started:.0f} s", flush=True)  # fmt: skip
        started = time.monotonic()
        wanted = max(args.steps) if args.find_capacity else args.pairs + args.probe_pairs
        seats = arrange_pairs(app.database_url, wanted, run)
        print(f"{len(seats)} pairs arranged in {time.monotonic() - started:.0f} s", flush=True)
        memory = MemoryWatch([app.pid(i) for i in range(args.workers)])
        if args.find_capacity:
            steps = asyncio.run(find_capacity(args, app, seats, memory, run))
            figures = capacity_report(args, steps)
        else:
            results = asyncio.run(run_load(args, app, seats, echo.url, memory, run))
            figures = report(args, results, memory)
            figures["stored"] = stored_messages(app.database_url, run)
            print(f"{figures['stored']} of the {figures['sent']} messages sent are in the "
                  "database (a lost one that is there was queued, not dropped)")  # fmt: skip
    finally:
        app.stop()
        echo.stop()
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    stop_cleanly_on_sigterm()
    main()
