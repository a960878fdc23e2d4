"""The confidentiality sweep: what a mentor and a mentee say to each other reaches the two of
them alone, whatever event anyone sends.

A canary sits in every private field of one pair (tests/support/sweep.py). The pair's two
members have the pair's page open, and are shown first to receive the secrets (so the
refusals below could fail). Then every event handler of every state the app registers,
found by introspection (Reflex's own included), is sent with plausible arguments, with each
private route of the scenario as the event's route, by each identity below over its own
websocket. No frame any of these sockets receives, then or later (the pair's chat goes on
live at the end), may carry a canary that identity may not see, and no row of any table may
change, apart from the acting identity's own rows (listed in `_is_own`).

The same sweep runs on SQLite (the session's `app_server`) and, with `--db=postgresql`, on
the app on PostgreSQL with the Redis state manager (on three of the twelve routes: `_routes`).
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import hashlib
import json
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from mentor_app.db import make_engine
from mentor_app.models import utcnow
from mentor_app.services.nudges import run_nudges
from state.goals import PairGoalsState
from state.journey import PairChatFormState
from tests.support import sweep
from tests.support.appserver import PROJECT_ROOT
from tests.support.loops import run_in_own_loop
from tests.support.rxclient import AsyncReflexClient, handler
from tests.support.scaleout import ScaleOut

pytestmark = pytest.mark.e2e

# --- who may see what ------------------------------------------------------------------------

IDENTITIES = ["signed_out", "loner", "other_pair", "group_admin", "other_admin", "moderator"]
WHO = {
    "signed_out": "a socket that never signed in",
    "loner": "a signed-in member of no group",
    "other_pair": "the mentee of another pair in the same program",
    "group_admin": "an admin of the pair's group (the chat and check-ins are not theirs)",
    "other_admin": "an admin of another group",
    "moderator": "a site moderator (the chat outside report evidence is not theirs)",
}

# Every canary is forbidden to every identity unless listed here, with the page that shows it.
ALLOWED: dict[str, dict[str, str]] = {
    "signed_out": {},
    "loner": {},
    "other_pair": {},
    "group_admin": {
        "end_reason": "the pairing workspace lists the program's ended pairs with their reason",
        "end_detail": "... and the detail given when the pair was ended (admins only)",
    },
    "other_admin": {},
    "moderator": {
        "report_details": "the moderation queue shows an opened report's details",
        "message0": "the message the mentee reported, frozen into the report's evidence",
        "moderation_reason": "the report's history shows each moderation step's reason",
    },
}

# Handlers that are the identity's own job on this scenario: they would succeed and change
# the pair or program on purpose, so they are not sent (they are still sent by the others).
OWN_JOB: dict[str, dict[str, str]] = {
    "other_pair": {
        "GroupPageState.leave": "a member may leave their group, which ends their own pair",
    },
    "group_admin": {
        "PairingWorkspaceState.end_pair": "an admin may end a pair of their program",
        "PairPageState.end_pair": "journey.end_pair lets the group's admins end a pair too",
        "PairingWorkspaceState.unpair": "an admin removes draft pairs",
        "PairingWorkspaceState.pair_with": "an admin pairs members",
        "PairingWorkspaceState.pair_manually": "an admin pairs members",
        "PairingWorkspaceState.suggest_all": "an admin makes draft pairs",
        "PairingWorkspaceState.publish": "an admin publishes draft pairs",
        "ProgramDashboardState.set_paused": "an admin pauses a pair's nudges",
        "ProgramPageState.advance": "an admin moves the program to its next status",
        "GroupPageState.promote": "an admin promotes a member of their group",
        "GroupPageState.demote": "an admin demotes another admin of their group",
        "GroupPageState.hand_over": "an admin hands over the admin role",
        "GroupPageState.leave": "a member may leave their group (an admin naming a successor)",
        "NewProgramState.choose": "an admin starts a new program in their group",
    },
    "moderator": {
        "ModerationQueueState.take_into_review": "a moderator acts on reports",
        "ModerationQueueState.dismiss": "a moderator acts on reports",
        "ModerationQueueState.warn": "a moderator acts on reports",
        "ModerationQueueState.suspend": "a moderator acts on reports",
        "ModerationQueueState.reopen": "a moderator acts on reports",
        "ModerationQueueState.appoint": "a moderator appoints an admin of an orphaned group",
        "ModerationQueueState.lift": "a moderator lifts suspensions",
    },
}

# The sweep finds stuck events (a deadlock never answers), not slow ones: latency is measured
# by the benchmarks in bench/. A call not answered within STUCK_AFTER_S is stuck, and fails the
# test; one answered after SLOW_AFTER_S is listed in the summary with its time. On CI, with the
# browser tests on the same two cores, cheap bell events of one member waited over 20 s behind
# the events of the member's 11 other tabs (each event on the bell takes the member's bell lock).
SLOW_AFTER_S = 20
STUCK_AFTER_S = 120
SUMMARY_DIR = PROJECT_ROOT / "test-artifacts"  # the sweep's figures, one file an engine

# Columns the e-mail outbox's sender (a scheduled job of the server) changes as it delivers.
OUTBOX_DELIVERY = {"status", "attempts", "next_attempt_at", "last_error", "sent_at"}


def _routes(s: sweep.Scenario, *, every: bool) -> list[str]:
    """Every private route of the scenario (SQLite), or the three (PostgreSQL + Redis)
    whose pages hold the states the two state managers keep differently: the shared ones,
    a pair's (live, ended) and a member's bell. What a route changes in a handler (its
    parameters, its on_load) is the same on both; each route costs the sweep a twelfth of
    its time, and on PostgreSQL + Redis six routes took 234 s of a `make test` that must
    stay within 15 minutes."""
    p = f"/programs/{s.program_id}"
    shared = [f"/pairs/{s.pair_id}", f"/pairs/{s.ended_pair_id}", "/notifications"]
    if not every:
        return shared
    return [
        *shared,
        f"{p}/pairing",
        f"/groups/{s.group_id}",
        "/moderation",
        p,
        f"{p}/dashboard",
        f"{p}/wizard",
        f"/groups/{s.group_id}/programs/new",
        "/settings",
        "/groups",
    ]


# --- the app, on the engine --db names ---------------------------------------------------------


@dataclass
class Target:
    url: str
    database_url: str
    log: Callable[[], str]
    engine_name: str


@pytest.fixture
def target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    if request.config.getoption("db") == "postgresql":
        app = ScaleOut(
            tmp_path_factory.mktemp("sweep"), instances=1, frontend=False, REFLEX_PERF_MODE="raise"
        )
        app.start()
        try:
            yield Target(app.urls[0], app.database_url, lambda: app.log(0), "PostgreSQL + Redis")
        finally:
            app.stop()
        return
    server = request.getfixturevalue("app_server")
    yield Target(
        server.url,
        server.database_url,
        lambda: server.log_path.read_text(errors="replace"),
        "SQLite",
    )


# --- one identity's socket on one route ------------------------------------------------------


@dataclass
class Socket:
    identity: str
    route: str
    token: str | None  # its own session, so one socket's log-out leaves the others signed in
    clients: list[AsyncReflexClient] = field(default_factory=list)
    # per client: (start index in updates, label) of each crafted call, in order
    windows: list[list[tuple[int, str]]] = field(default_factory=list)
    calls: int = 0
    skipped: int = 0
    hangs: list[str] = field(default_factory=list)  # calls whose answer never came
    times: list[tuple[float, str]] = field(default_factory=list)  # (seconds, label) per call


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Sweep:
    def __init__(self, target: Target, db: Session, reader: Engine, s: sweep.Scenario) -> None:
        self.target, self.db, self.reader, self.s = target, db, reader, s
        self.handlers = sweep.every_handler()
        self.args = sweep.Arguments(s)
        self.sockets: list[Socket] = []

    def _alive(self, token: str) -> bool:
        with self.reader.connect() as conn:
            found = conn.execute(
                text("SELECT 1 FROM user_session WHERE token_hash = :h"), {"h": _hash(token)}
            ).first()
            conn.rollback()
        return found is not None

    async def _open(self, sock: Socket) -> AsyncReflexClient:
        client = AsyncReflexClient(self.target.url, session_cookie=sock.token)
        sock.clients.append(client)
        sock.windows.append([])
        await client.connect(sock.route)  # hydrate and the page's on_load, as this identity
        await client.drain()
        return client

    async def run(self, sock: Socket) -> None:
        client = await self._open(sock)
        for h in self.handlers:
            if h.label in OWN_JOB.get(sock.identity, {}):
                sock.skipped += 1
                continue
            label = f"{h.label} on {sock.route}"
            sock.windows[-1].append((len(client.updates), label))
            await client.emit(h.event, self.args.for_handler(h))
            sock.calls += 1
            sent = time.monotonic()
            try:
                await client.drain(timeout=STUCK_AFTER_S)
            except (TimeoutError, ConnectionError) as error:
                # This tab's queue is stuck behind the call: note it, go on in a new tab.
                sock.hangs.append(f"{label}: {type(error).__name__}")
                client = await self._open(sock)
                continue
            sock.times.append((time.monotonic() - sent, label))
            client = await self._keep_identity(sock, client)

    async def _keep_identity(self, sock: Socket, client: AsyncReflexClient) -> AsyncReflexClient:
        """After a call that signed the socket out (its session ended), it goes on as the
        identity it is, in a new socket."""
        if sock.token is not None and not self._alive(sock.token):
            user = self.s.people[sock.identity]
            sock.token = sweep.new_session(self.db, user)
            return await self._open(sock)  # the old socket stays open, and is checked too
        if client.session_cookie != sock.token:
            return await self._open(sock)  # a socket knows only the cookie it opened with
        return client


def _label(sock: Socket, index: int, at: int, live_from: int) -> str:
    windows = sock.windows[index]
    if at >= live_from:
        return "pushed live after the sweep"
    starts = [start for start, _ in windows]
    i = bisect.bisect_right(starts, at) - 1
    return windows[i][1] if i >= 0 else f"connecting on {sock.route} (hydrate, on_load)"


LOCAL = {"127.0.0.1", "::/64"}  # the sweeping sockets' address, as the throttles key it


def _is_own(change: sweep.Change, users: set[int], emails: set[str], groups: set[int]) -> bool:
    """Rows the acting identities may change themselves, and the server's own bookkeeping."""
    row = change.after or change.before or {}
    table = change.table
    if table == "leader_lease":  # the scheduler's lease, renewed by the server on SQLite
        return True
    if table == "email_outbox":
        if change.before is not None and change.after is not None:
            return change.columns() <= OUTBOX_DELIVERY  # the sender delivering
        return row.get("to_address") in emails
    if table == "app_user":
        if change.before is None:  # a sweeping socket signing up: an account of its own
            return str(row.get("email", "")).startswith(sweep.SWEEP_EMAIL_PREFIX)
        return row.get("id") in users and change.columns() <= {"timezone", "timezone_known"}
    if table == "login_throttle":
        # Failed log-ins with the socket's own made-up address, or a wrong "current
        # password" in its own Settings (counted against its own account's log-in).
        email = str(row.get("email", ""))
        return email.startswith(sweep.SWEEP_EMAIL_PREFIX) or email in emails
    if table == "rate_limit":
        # Its own counts: groups it created or joined, and the attempts from its own address
        # (every sweeping socket speaks from this machine).
        name, _sep, subject = str(row.get("key", "")).partition(":")
        if name in ("groups-created", "group-joins"):
            return subject.isdigit() and int(subject) in users
        return name in ("login-failures", "login-unknown", "signups") and subject in LOCAL
    if table == "user_session":  # its own sessions: last seen, log-out, log-in
        # The presence heartbeat: every 2 minutes the server marks the sessions of its
        # open sockets (the owners' tabs too) as seen; a sweep that runs longer sees it.
        heartbeat = change.before is not None and change.after is not None
        if heartbeat and change.columns() == {"last_seen_at"}:
            return True
        return row.get("user_id") in users
    if table == "community_group":  # a group it created
        return row.get("created_by") in users
    if table == "membership":  # joining an open group as a member; its own group's members
        roles = {
            (change.before or {}).get("role", "member"),
            (change.after or {}).get("role", "member"),
        }
        return row.get("group_id") in groups or (
            row.get("user_id") in users and roles == {"member"}
        )
    if table in ("enrollment", "notification"):  # its own application, its own notices
        return row.get("user_id") in users
    if table in ("email_preference", "conversation_read"):  # its own e-mail choices, reading
        return row.get("user_id") in users
    if table == "audit_log":  # the record of its own acts, appended
        return change.before is None and row.get("actor_id") in users
    return False


def test_no_event_shows_a_pairs_secrets_to_anyone_else_or_changes_anything(
    target: Target, capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.monotonic()
    engine = make_engine(target.database_url)
    reader = create_engine(target.database_url)  # plain reads: no write lock taken on SQLite
    try:
        with Session(engine, expire_on_commit=False) as db:
            s = sweep.seed(db)
            owners = {
                who: sweep.new_session(db, u)
                for who, u in (("mentor", s.mentor), ("mentee", s.mentee))
            }
            for who, token in owners.items():
                s.canaries[f"session_token_{who}"] = token
            # The weekly nudges due now, made before the snapshot: the server's scheduler
            # then finds nothing to make during the sweep (the job is idempotent).
            run_nudges(engine, now=utcnow())
            sw = Sweep(target, db, reader, s)
            routes = _routes(s, every=target.engine_name == "SQLite")
            for identity in IDENTITIES:
                for route in routes:
                    user = s.people.get(identity)
                    token = sweep.new_session(db, user) if user is not None else None
                    sw.sockets.append(Socket(identity, route, token))
            report = run_in_own_loop(_sweep(sw, owners))
    finally:
        engine.dispose()
        reader.dispose()
    elapsed = time.monotonic() - started

    calls = sum(x.calls for x in sw.sockets)
    skipped = sum(x.skipped for x in sw.sockets)
    summary = "\n".join(
        [
            f"[sweep on {target.engine_name}] {len(sw.handlers)} handlers x "
            f"{len(IDENTITIES)} identities x {len(routes)} routes: {calls} calls sent "
            f"({skipped} skipped as the identity's own job), "
            f"{len(s.canaries)} canaries, {elapsed:.0f} s",
            *report.lines,
        ]
    )
    with capsys.disabled():
        print("\n" + summary)
    # Also kept in a file: under pytest-xdist a worker's output never reaches the terminal.
    SUMMARY_DIR.mkdir(exist_ok=True)
    slug = target.engine_name.split()[0].lower()  # sqlite, postgresql
    (SUMMARY_DIR / f"sweep-{slug}.txt").write_text(summary + "\n")
    assert not report.leaks and not report.writes and not report.hangs, "\n".join(report.lines)


async def _drain_quietly(client: AsyncReflexClient) -> None:
    """Every tab's answers are in (a stuck tab was reported when it got stuck)."""
    if client.disconnected:
        return
    with contextlib.suppress(TimeoutError, ConnectionError):
        await client.drain(timeout=STUCK_AFTER_S)


@dataclass
class Report:
    leaks: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    writes: list[str] = field(default_factory=list)
    hangs: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)


async def _sweep(sw: Sweep, owner_tokens: dict[str, str]) -> Report:
    s = sw.s
    page = f"/pairs/{s.pair_id}"
    owners = {
        who: AsyncReflexClient(sw.target.url, session_cookie=t) for who, t in owner_tokens.items()
    }
    await asyncio.gather(*(c.connect(page) for c in owners.values()))
    # The goals section loads as it mounts (a browser's doing): asked for here.
    await asyncio.gather(*(c.emit(handler(PairGoalsState, "load"), {}) for c in owners.values()))
    # The secret is there to leak: both members' tabs hold the chat, the check-in notes and
    # the goals with their notes.
    for who, tab in owners.items():
        await tab.drain()
        seen = json.dumps(tab.updates)
        missing = [
            n
            for n in [*s.chat_canaries, "checkin_note_mentor", "checkin_note_mentee"]
            + [n for n in s.canaries if n.startswith("goal_")]
            if s.canaries[n] not in seen
        ]
        assert not missing, f"the {who}'s own tab did not receive {missing}"

    before = sweep.snapshot(sw.reader)
    await asyncio.gather(*(sw.run(sock) for sock in sw.sockets))
    await asyncio.gather(*(_drain_quietly(c) for sock in sw.sockets for c in sock.clients))
    after = sweep.snapshot(sw.reader)

    # The chat goes on: a new message reaches the mentee live, and nobody else.
    live_from = {id(c): len(c.updates) for sock in sw.sockets for c in sock.clients}
    live = s.canary("message_live")
    await owners["mentor"].emit(
        handler(PairChatFormState, "send"), {"form": {"body": live, "client_id": f"live{s.tag}"}}
    )
    report = Report()
    try:
        await owners["mentee"].wait_for(lambda c: live in json.dumps(c.state), timeout=30)
    except TimeoutError:
        report.hangs.append("the mentor's new message did not reach the mentee within 30 s")
    await asyncio.gather(*(_drain_quietly(c) for sock in sw.sockets for c in sock.clients))
    for tab in owners.values():
        await tab.close()

    for sock in sw.sockets:
        report.hangs.extend(f"{sock.identity}: {h}" for h in sock.hangs)
        forbidden = {n: v.lower() for n, v in s.canaries.items() if n not in ALLOWED[sock.identity]}
        for index, client in enumerate(sock.clients):
            for at, update in enumerate(client.updates):
                frame = json.dumps(update).lower()
                for name, value in forbidden.items():
                    if value in frame:
                        where = _label(sock, index, at, live_from[id(client)])
                        found = report.leaks.setdefault((sock.identity, name), [])
                        if where not in found:
                            found.append(where)
        for client in sock.clients:
            await client.close()

    users = {u.id or 0 for u in s.people.values()}
    users |= {
        row["id"]
        for row in after.get("app_user", {}).values()
        if str(row["email"]).startswith(sweep.SWEEP_EMAIL_PREFIX)
    }
    emails = {str(row["email"]) for row in after.get("app_user", {}).values() if row["id"] in users}
    groups = {
        row["id"] for row in after.get("community_group", {}).values() if row["created_by"] in users
    }
    report.writes = [
        str(c) for c in sweep.changes(before, after) if not _is_own(c, users, emails, groups)
    ]

    by_identity: dict[str, list[str]] = defaultdict(list)
    for (identity, name), where in sorted(report.leaks.items()):
        shown = "; ".join(where[:4]) + (f"; ... {len(where) - 4} more" if len(where) > 4 else "")
        by_identity[identity].append(f"    {name}: via {shown}")
    if by_identity:
        report.lines.append("LEAKS (canary: handler and route of the first frames carrying it)")
        for identity in IDENTITIES:
            if by_identity[identity]:
                report.lines.append(f"  to {identity} ({WHO[identity]}):")
                report.lines.extend(by_identity[identity])
    if report.writes:
        report.lines.append(f"ROWS CHANGED by the sweeping sockets ({len(report.writes)}):")
        report.lines.extend(f"  {w}" for w in report.writes[:40])
    if report.hangs:
        report.lines.append(f"NO ANSWER within {STUCK_AFTER_S} s ({len(report.hangs)}):")
        report.lines.extend(f"  {h}" for h in report.hangs[:40])
    if not report.lines:
        report.lines.append("no canary reached a socket that may not see it; no row changed")
    report.lines.extend(_answer_times(sw.sockets))
    return report


def _answer_times(sockets: list[Socket]) -> list[str]:
    """The calls' answer times: median, 99th percentile and the slowest, as figures."""
    times = sorted(
        ((t, f"{sock.identity}: {label}") for sock in sockets for t, label in sock.times),
        reverse=True,
    )
    if not times:
        return []
    ordered = sorted(t for t, _ in times)
    median = ordered[len(ordered) // 2]
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    lines = [
        f"answer times: median {median * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
        f"slowest {times[0][0]:.1f} s ({times[0][1]})"
    ]
    slow = [(t, label) for t, label in times if t > SLOW_AFTER_S]
    if slow:
        lines.append(f"answered after more than {SLOW_AFTER_S} s ({len(slow)}):")
        lines.extend(f"  {t:.1f} s {label}" for t, label in slow[:10])
    return lines
