"""The pairing workspace, a member's pairs and notifications, and a pair's page.

Every event re-resolves the user and lets the pairing service check that they are an
admin of the program's group (or a member of the pair): nothing is trusted from the page.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from typing import Any

import reflex as rx
from reflex.event import EventSpec
from sqlmodel import Session

from mentor_app.apart import ApartFailed, run_apart
from mentor_app.db import get_engine, url_of
from mentor_app.models import User, utcnow
from mentor_app.services import journey, notifications, pairing
from mentor_app.services.errors import NotFound, PermissionDenied, ServiceError
from mentor_app.services.paging import Page
from mentor_app.wording import count
from state.busy import while_busy
from state.journey import schedule_pair_refresh
from state.paging import EMPTY_PAGE_INFO, page_info
from state.session import SessionState, SignedOut

CHART_BAR_MAX_PX = 80
# A long Publish, written from a helper process, checks the admin's session this often.
SESSION_CHECK_EVERY_S = 1.0
# and asks the helper for as many chunks as it writes in this long (the progress shown
# moves as often): a chunk a call was a round trip through the worker every 15 ms.
PUBLISH_APART_FOR_S = 0.25
# Publish stopped by something other than a rule (its helper process failed, the database
# was unreachable): what is published stays, the rest are drafts to publish again.
PUBLISH_STOPPED = "Publishing stopped for a technical reason; press Publish again for the rest."
SUGGEST_STOPPED = "Suggest all stopped for a technical reason; no draft was made. Press it again."


def _suggested(made: int | list[Any]) -> str:
    """What Suggest all says it did (`made`: its drafts, or how many)."""
    made = made if isinstance(made, int) else len(made)
    if not made:
        return "No new pairs reach the minimum score."
    return f"Suggested {count(made, 'draft pair')}. Review them, then publish."


def _mentor_item(m: pairing.MentorRow) -> dict[str, Any]:
    return {"id": m.enrollment_id, "name": m.name, "load": f"{m.used}/{m.capacity}", "free": m.free}


def _pair_row(row: pairing.PairRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "mentor": row.mentor_name,
        "mentee": row.mentee_name,
        "score": str(row.score),
        "score_changed": (
            "" if row.score_was is None else f"score changed from {row.score_was} to {row.score}"
        ),
        "reasons": list(row.reasons),
        "progress": f"{row.steps_done}/{row.steps_total}",
        "check_ins": str(row.check_ins),
    }


def _more(names: list[str], total: int, nobody: str) -> str:
    """A few names and how many more: "Ann, Bo and 12 more"."""
    if not names:
        return nobody
    shown = ", ".join(names)
    return f"{shown} and {total - len(names)} more" if total > len(names) else shown


# The workspace's paged lists: the page each is on is kept in `pages`.
WORKSPACE_LISTS = ("mentees", "mentors", "drafts", "published", "ended")


class PairingWorkspaceState(SessionState):
    program: rx.Field[dict[str, Any]] = rx.field(default_factory=dict)
    denied: rx.Field[str] = rx.field("")
    search: rx.Field[str] = rx.field("")
    free_only: rx.Field[bool] = rx.field(False)
    # Each list holds one page (at most PAGE_SIZE rows); `*_info` says where it is.
    mentees: rx.Field[list[dict[str, Any]]] = rx.field(default_factory=list)
    mentors: rx.Field[list[dict[str, Any]]] = rx.field(default_factory=list)
    mentors_free: rx.Field[list[dict[str, Any]]] = rx.field(default_factory=list)
    totals: rx.Field[dict[str, int]] = rx.field(default_factory=dict)
    drafts: rx.Field[list[dict[str, Any]]] = rx.field(default_factory=list)
    published: rx.Field[list[dict[str, Any]]] = rx.field(default_factory=list)
    ended: rx.Field[list[dict[str, Any]]] = rx.field(default_factory=list)
    pages: rx.Field[dict[str, int]] = rx.field(default_factory=dict)
    mentees_info: rx.Field[dict[str, Any]] = rx.field(default_factory=lambda: EMPTY_PAGE_INFO)
    mentors_info: rx.Field[dict[str, Any]] = rx.field(default_factory=lambda: EMPTY_PAGE_INFO)
    drafts_info: rx.Field[dict[str, Any]] = rx.field(default_factory=lambda: EMPTY_PAGE_INFO)
    published_info: rx.Field[dict[str, Any]] = rx.field(default_factory=lambda: EMPTY_PAGE_INFO)
    ended_info: rx.Field[dict[str, Any]] = rx.field(default_factory=lambda: EMPTY_PAGE_INFO)
    turning: rx.Field[str] = rx.field("")  # the list whose next page is on its way
    fairness: rx.Field[dict[str, Any]] = rx.field(default_factory=dict)
    chart: rx.Field[list[dict[str, Any]]] = rx.field(default_factory=list)
    selected: rx.Field[dict[str, Any]] = rx.field(default_factory=dict)
    suggestions: rx.Field[list[dict[str, Any]]] = rx.field(default_factory=list)
    errors: rx.Field[dict[str, str]] = rx.field(default_factory=dict)
    message: rx.Field[str] = rx.field("")
    working: rx.Field[bool] = rx.field(False)
    ending: rx.Field[bool] = rx.field(False)  # an "End pair" dialog's act on its way
    confirm_mentor: rx.Field[int] = rx.field(0)  # awaiting "Pair anyway" (not a good fit)

    def _program_id(self) -> int:
        return self._page_id("programs", "Program not found.")

    def _refresh(self) -> EventSpec | None:
        """Reload the workspace, each list on its page (the last one if it has shrunk); a
        selected mentee keeps their suggestions while still waiting."""
        try:
            with self._reading_as_user() as (db, user):
                program_id = self._program_id()
                ws = pairing.get_workspace(
                    db,
                    actor=user,
                    program_id=program_id,
                    search=self.search,
                    free_only=self.free_only,
                    mentees_page=self.pages.get("mentees", 0),
                    mentors_page=self.pages.get("mentors", 0),
                    drafts_page=self.pages.get("drafts", 0),
                    published_page=self.pages.get("published", 0),
                    ended_page=self.pages.get("ended", 0),
                )
                chosen = int(self.selected.get("id", 0) or 0)
                found = (
                    pairing.suggest_mentors(
                        db, actor=user, program_id=program_id, mentee_enrollment_id=chosen
                    )
                    if chosen
                    and pairing.is_waiting(
                        db, actor=user, program_id=program_id, mentee_enrollment_id=chosen
                    )
                    else None
                )
        except SignedOut:
            return self._login_redirect()
        except (NotFound, PermissionDenied) as error:
            self.denied, self.program = error.message, {}
            self._forget_lists()
            return None
        self.denied = ""
        self.program = {
            "id": ws.program_id,
            "title": ws.title,
            "status": ws.status,
            "can_pair": ws.can_pair,
            "href": f"/programs/{ws.program_id}",
        }
        self.mentees = [
            {"id": m.enrollment_id, "name": m.name, "rematch": m.rematch}
            for m in ws.mentees_waiting.items
        ]
        self.mentors = [_mentor_item(m) for m in ws.mentors.items]
        self.mentors_free = [_mentor_item(m) for m in ws.free_mentors]
        self.totals = {
            "mentees": ws.mentees_waiting.total,
            "mentors": ws.mentors.total,
            "drafts": ws.drafts.total,
            "published": ws.published.total,
            "ended": ws.ended.total,
        }
        self.drafts = [_pair_row(p) for p in ws.drafts.items]
        self.published = [_pair_row(p) for p in ws.published.items]
        self.ended = [
            {
                "id": e.id,
                "mentor": e.mentor_name,
                "mentee": e.mentee_name,
                "status": e.status,
                "reason": journey.END_REASONS.get(e.reason, e.reason),
                "detail": e.detail,
                "rating": "private" if e.private else f"{e.rating} of 5" if e.rating else "—",
                "when": e.ended_at.strftime("%d %b %Y") if e.ended_at else "",
            }
            for e in ws.ended.items
        ]
        shown: dict[str, Page[Any]] = {
            "mentees": ws.mentees_waiting,
            "mentors": ws.mentors,
            "drafts": ws.drafts,
            "published": ws.published,
            "ended": ws.ended,
        }
        # The pages the service read: a list that shrank (a draft published, a mentee
        # paired) is shown on its last page rather than past its end.
        self.pages = {name: page.page for name, page in shown.items()}
        self.mentees_info = page_info(ws.mentees_waiting)
        self.mentors_info = page_info(ws.mentors)
        self.drafts_info = page_info(ws.drafts)
        self.published_info = page_info(ws.published)
        self.ended_info = page_info(ws.ended)
        f = ws.fairness
        self.fairness = {
            "unmatched": f.unmatched,
            "unmatched_names": _more(f.unmatched_names, f.unmatched, "nobody"),
            "full_mentors": _more(f.full_mentors, f.full_mentors_total, "none"),
            "published": f.published,
            "median": "—" if f.median_score is None else str(f.median_score),
        }
        peak = max((n for _label, n in f.score_buckets), default=0) or 1
        self.chart = [
            {
                "label": label,
                "count": str(n),
                "name": f"{count(n, 'pair')} scored {label}",
                "height": f"{max(2, round(CHART_BAR_MAX_PX * n / peak))}px",
            }
            for label, n in f.score_buckets
        ]
        if found is None:
            self.selected, self.suggestions = {}, []
        else:
            self.suggestions = [
                {
                    "id": s.mentor_enrollment_id,
                    "name": s.name,
                    "score": str(s.score),
                    "load": f"{s.used}/{s.capacity}",
                    "reasons": list(s.reasons),
                }
                for s in found
            ]
        return None

    def _forget_lists(self) -> None:
        self.mentees, self.mentors, self.mentors_free = [], [], []
        self.drafts, self.published, self.ended = [], [], []
        self.selected, self.suggestions = {}, []

    @rx.event
    def load(self) -> EventSpec | None:
        self.errors, self.message, self.selected, self.suggestions = {}, "", {}, []
        self.search, self.free_only, self.pages, self.turning = "", False, {}, ""
        return self._refresh()

    @rx.event
    def set_search(self, value: str) -> EventSpec | None:
        self.search = str(value)[: pairing.SEARCH_MAX]
        self.pages = {**self.pages, "mentees": 0, "mentors": 0}
        return self._refresh()

    @rx.event
    def set_free_only(self, value: bool) -> EventSpec | None:
        self.free_only = bool(value)
        self.pages = {**self.pages, "mentors": 0}
        return self._refresh()

    def _turn(self, which: str, step: int):  # type: ignore[no-untyped-def]
        if which not in WORKSPACE_LISTS:
            return
        self.turning = which  # the list shows it is loading until its page is here
        yield
        self.pages = {**self.pages, which: max(0, self.pages.get(which, 0) + step)}
        follow_up = self._refresh()
        self.turning = ""
        if follow_up is not None:
            yield follow_up

    @rx.event
    def next_page(self, which: str):  # type: ignore[no-untyped-def]
        yield from self._turn(str(which), 1)

    @rx.event
    def previous_page(self, which: str):  # type: ignore[no-untyped-def]
        yield from self._turn(str(which), -1)

    @rx.event
    def select_mentee(self, enrollment_id: int, name: str) -> EventSpec | None:
        self.errors, self.message, self.confirm_mentor = {}, "", 0
        self.selected = {"id": int(enrollment_id), "name": str(name)}
        follow_up = self._refresh()
        if follow_up is not None or not self.selected:
            return follow_up
        # The suggestions show below both lists: on a phone, far out of view.
        return rx.scroll_to("suggested-mentors")

    @rx.event
    def clear_selection(self) -> None:
        self.selected, self.suggestions, self.errors = {}, [], {}
        self.confirm_mentor = 0

    def _act(
        self,
        action: Any,
        success: str | Callable[[Any], str],
        error_key: str = "form",
        check_first: Callable[[Session], bool] | None = None,
    ) -> EventSpec | None:
        """Run one service call as the signed-in admin, then reload the workspace."""
        self.errors, self.message = {}, ""
        try:
            with self._as_user(check_first) as (db, user):
                outcome = action(db, user, self._program_id())
        except SignedOut:
            return self._login_redirect()
        except ServiceError as error:
            self.errors = {error.field or error_key: error.message}
            return self._refresh()
        self.message = success(outcome) if callable(success) else success
        return self._refresh()

    @rx.event
    def pair_with(self, mentor_enrollment_id: int) -> EventSpec | None:
        return self._pair(int(mentor_enrollment_id))

    def _pair(self, mentor_enrollment_id: int, confirmed: bool = False) -> EventSpec | None:
        mentee_id = int(self.selected.get("id", 0))
        name = self.selected.get("name", "")
        follow_up = self._act(
            lambda db, user, pid: pairing.pair_by_hand(
                db,
                actor=user,
                program_id=pid,
                mentee_enrollment_id=mentee_id,
                mentor_enrollment_id=int(mentor_enrollment_id),
                confirmed=confirmed,
            ),
            f"Draft pair made for {name}. Publish pairs to tell them.",
            "pair",
        )
        # The service asked for a confirmation: remember whom "Pair anyway" pairs.
        warned = pairing.CONFIRM_NOT_A_GOOD_FIT in self.errors
        self.confirm_mentor = int(mentor_enrollment_id) if warned else 0
        return follow_up

    @rx.event
    def pair_anyway(self) -> EventSpec | None:
        """The admin confirmed a pair whose earlier pair ended as not a good fit."""
        if not self.confirm_mentor:
            return None
        return self._pair(self.confirm_mentor, confirmed=True)

    @rx.event
    def cancel_pair_anyway(self) -> None:
        self.confirm_mentor = 0
        self.errors = {}

    @rx.event
    def pair_manually(self, form: dict[str, Any]) -> EventSpec | None:
        raw = str(form.get("mentor", ""))
        if not raw.isdigit():
            self.errors = {"pair": "Choose a mentor."}
            return None
        return self._pair(int(raw))

    @rx.event
    def unpair(self, pair_id: int) -> EventSpec | None:
        return self._act(
            lambda db, user, _pid: pairing.unpair(db, actor=user, pair_id=int(pair_id)),
            "Draft pair removed.",
            "drafts",
        )

    @rx.event
    def suggest_all(self, form: dict[str, Any]):  # type: ignore[no-untyped-def]
        # A whole cohort takes a moment: show the button busy first.
        self.working = True
        yield
        follow_up = self._suggest_all(str(form.get("min_score", "")))
        self.working = False
        if follow_up is not None:
            yield follow_up

    def _suggest_all(self, min_score: str) -> EventSpec | None:
        # The scoring and the assignment in a read transaction: the write lock (every chat
        # send waits for it on SQLite) is held only to check the cohort and write drafts.
        # A large cohort is planned, checked and written in a helper process
        # (mentor_app.apart): in this thread that work held the interpreter every other
        # member's events on the worker need.
        today = utcnow().date()
        plan: pairing.SuggestPlan | None = None
        apart_as: tuple[str, int, int] | None = None
        try:
            with self._reading_as_user() as (db, user):
                program_id = self._program_id()
                if pairing.plan_apart(db, actor=user, program_id=program_id):
                    apart_as = url_of(db), user.id or 0, program_id
                else:
                    plan = pairing.plan_suggest_all(
                        db, actor=user, program_id=program_id, min_score=min_score
                    )
        except (SignedOut, ServiceError):
            pass  # told by the write below, which checks everything again
        if apart_as is not None:  # outside the read transaction: the helper writes
            return self._suggest_apart(*apart_as, min_score, today)
        return self._act(
            lambda db, user, pid: pairing.suggest_all(
                db, actor=user, program_id=pid, min_score=min_score, today=today, plan=plan
            ),
            _suggested,
            "min_score",
            # The plan's cohort checked again before the write lock, not under it.
            check_first=None
            if plan is None
            else pairing.plan_is_current(
                plan, program_id=plan.program_id, min_score=min_score, today=today
            ),
        )

    def _suggest_apart(
        self, url: str, actor_id: int, program_id: int, min_score: str, today: dt.date
    ) -> EventSpec | None:
        """Suggest all for a large cohort, from a helper process (`pairing.suggest_job`);
        the session was checked just before (the job checks the admin's rights itself)."""
        self.errors, self.message = {}, ""
        try:
            made = run_apart(
                pairing.suggest_job, url, actor_id, program_id, min_score, today
            ).unwrap()
        except ServiceError as error:
            self.errors = {error.field or "min_score": error.message}
        except ApartFailed:
            self.errors = {"min_score": SUGGEST_STOPPED}
        else:
            self.message = _suggested(made)
        return self._refresh()

    @rx.event
    def publish(self):  # type: ignore[no-untyped-def]
        """Publish every draft, `PUBLISH_CHUNK` at a time (each a short transaction, so
        other members' chat never waits long for the database), saying how far it got."""
        self.errors, self.message = {}, ""
        self.working = True
        yield
        now = utcnow()  # one rule for every pair's start date, whatever the chunk
        published, dropped = 0, []
        try:
            with self._reading_as_user() as (db, user):
                program_id = self._program_id()
                apart = pairing.publish_apart(db, actor=user, program_id=program_id)
                actor_id = user.id or 0
            checked = time.monotonic()
            while True:
                if apart and time.monotonic() - checked >= SESSION_CHECK_EVERY_S:
                    with self._reading_as_user():  # still signed in, between chunks
                        checked = time.monotonic()
                result = self._publish_chunk(now, apart_as=actor_id if apart else None)
                published += result.published
                dropped += result.dropped
                if not result.more:
                    break
                self.message = f"Publishing… {count(published, 'pair')} so far."
                yield
        except SignedOut:
            self.working = False
            yield self._login_redirect()
            return
        except (ServiceError, ApartFailed) as error:
            said = error.message if isinstance(error, ServiceError) else PUBLISH_STOPPED
            self.message = ""
            self.errors = {
                "drafts": (
                    f"{count(published, 'pair')} published; the others are still drafts. " + said
                    if published
                    else said
                )
            }
        else:
            text = f"Published {count(published, 'pair')}; each member has been told."
            if dropped:
                text += " Not published: " + " ".join(dropped)
            self.message = text
        self.working = False
        follow_up = self._refresh()
        if follow_up is not None:
            yield follow_up

    def _publish_chunk(self, now: dt.datetime, *, apart_as: int | None) -> pairing.PublishResult:
        """One chunk of Publish, as the signed-in admin. `apart_as` (a large cohort: the
        admin's id): written from a helper process (`pairing.publish_job`); the caller has
        checked the session at most `SESSION_CHECK_EVERY_S` before. The members it told
        are announced here, where their pages are."""
        if apart_as is None:
            with self._as_user() as (db, user):
                return pairing.publish_pairs(
                    db,
                    actor=user,
                    program_id=self._program_id(),
                    now=now,
                    limit=pairing.PUBLISH_CHUNK,
                )
        url, program_id = url_of(get_engine()), self._program_id()
        done = run_apart(
            pairing.publish_job,
            url,
            apart_as,
            program_id,
            now,
            pairing.PUBLISH_CHUNK,
            PUBLISH_APART_FOR_S,
        )
        notifications.announce(done.told)
        return done.unwrap()

    @rx.event
    def end_pair(self, form: dict[str, Any]) -> Iterator[EventSpec | None]:
        # A sync generator: each step runs in a handler thread (state.off_loop), the
        # service's write too.
        yield from while_busy(self, "ending", lambda: self._end_pair(form))

    def _end_pair(self, form: dict[str, Any]) -> EventSpec | None:
        raw = str(form.get("pair_id", ""))
        pair_id = int(raw) if raw.isdigit() else 0
        ended: list[int] = []  # filled only once the service has ended the pair

        def end(db: Session, user: User, _pid: int) -> None:
            pair = journey.end_pair(
                db,
                actor=user,
                pair_id=pair_id,
                reason=str(form.get("reason", "")),
                rating=form.get("rating", ""),
                detail=form.get("detail", ""),
            )
            ended.append(pair.id or 0)

        follow_up = self._act(
            end,
            "The pair has ended. The mentee is back in the waiting list with rematch priority.",
            "end",
        )
        if ended and not self.errors:
            # After this event: its tab may hold the pair's locks (see refresh_pair_page).
            schedule_pair_refresh(ended[0])  # the members' open pages turn read-only
        return follow_up


class MyPairsState(SessionState):
    """The member's pairs (a page of them) and latest notifications, on their home page
    (My groups)."""

    pairs: rx.Field[list[dict[str, Any]]] = rx.field(default_factory=list)
    pairs_info: rx.Field[dict[str, Any]] = rx.field(default_factory=lambda: dict(EMPTY_PAGE_INFO))
    pairs_loading: rx.Field[bool] = rx.field(False)
    notices: rx.Field[list[dict[str, Any]]] = rx.field(default_factory=list)
    unread: rx.Field[int] = rx.field(0)

    def _load(self, pairs_page: int | None = None) -> EventSpec | None:
        """Read page `pairs_page` of the pairs (the page shown when None) and the notices."""
        if pairs_page is None:
            pairs_page = int(self.pairs_info.get("page", 0))
        try:
            with self._reading_as_user() as (db, user):
                mine = pairing.list_my_pairs(db, actor=user, page=pairs_page)
                recent = notifications.list_recent(db, actor=user, limit=10)
        except SignedOut:
            return self._login_redirect()
        self.pairs = [
            {
                "id": p.pair_id,
                "href": f"/pairs/{p.pair_id}",
                "program": p.program_title,
                "partner": p.partner_name,
                "role": p.my_role,
                "partner_role": "mentee" if p.my_role == "mentor" else "mentor",
                "status": p.status,
            }
            for p in mine.items
        ]
        self.pairs_info = page_info(mine)
        self.notices = [
            {
                "id": n.id,
                "text": n.text,
                "href": n.link,
                "when": n.created_at.strftime("%d %b %Y, %H:%M UTC"),
                "read": n.read,
            }
            for n in recent
        ]
        self.unread = sum(1 for n in recent if not n.read)
        return None

    @rx.event
    def load(self) -> EventSpec | None:
        self.pairs_loading = False
        return self._load(pairs_page=0)

    def _pairs_page(self, step: int):  # type: ignore[no-untyped-def]
        self.pairs_loading = True
        yield
        try:
            yield self._load(pairs_page=int(self.pairs_info.get("page", 0)) + step)
        finally:
            self.pairs_loading = False

    @rx.event
    def pairs_previous(self):  # type: ignore[no-untyped-def]
        yield from self._pairs_page(-1)

    @rx.event
    def pairs_next(self):  # type: ignore[no-untyped-def]
        yield from self._pairs_page(1)

    @rx.event
    def mark_all_read(self) -> EventSpec | None:
        try:
            with self._as_user() as (db, user):
                notifications.mark_all_read(db, actor=user)
        except SignedOut:
            return self._login_redirect()
        return self._load()
