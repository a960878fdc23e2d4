"""Two people ending (or completing) one pair at the same moment, each in their own
transaction: exactly one of them ends it, and only that one tells anybody."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from mentor_app.models import AuditLog, Notification, Pair, PairSurvey, User
from mentor_app.services import journey
from mentor_app.services.errors import Conflict
from tests.factories import PairSetup, make_pair
from tests.support.race import meet_once_at, race

Act = Callable[[Session], object]


def _end(setup: PairSetup, who: str, reason: str = "not_a_good_fit") -> Act:
    actor: User = getattr(setup, who)
    detail = "Mentor moved away." if reason == "other" else ""
    return lambda db: journey.end_pair(
        db, actor=actor, pair_id=setup.pair.id or 0, reason=reason, detail=detail
    )


def _complete(setup: PairSetup, who: str) -> Act:
    actor: User = getattr(setup, who)
    return lambda db: journey.complete_pair(
        db, actor=actor, pair_id=setup.pair.id or 0, rating=4, now=setup.at_week(9)
    )


def _act(setup: PairSetup, kind: str, who: str) -> Act:
    if kind == "complete":
        return _complete(setup, who)
    return _end(setup, who, "other" if who == "admin" else "not_a_good_fit")


def _ready_to_complete(engine: Engine) -> PairSetup:
    """A pair past its last week, whose last step both members marked done."""
    with Session(engine, expire_on_commit=False) as db:
        setup = make_pair(db)
        for member in (setup.mentor, setup.mentee):
            journey.mark_step_done(db, actor=member, pair_id=setup.pair.id or 0, week=8)
        db.commit()
    return setup


def _told_and_logged(engine: Engine, setup: PairSetup) -> tuple[list[int], int]:
    with Session(engine) as db:
        told = db.exec(
            select(Notification.user_id)
            .where(Notification.kind == "pair_ended")
            .order_by(col(Notification.user_id))
        ).all()
        logged = db.exec(
            select(AuditLog.id).where(
                AuditLog.action == "pair_ended", AuditLog.target_id == setup.pair.id
            )
        ).all()
    return [user_id or 0 for user_id in told], len(logged)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("end", "mentor"), ("end", "mentee")),
        (("end", "mentor"), ("complete", "mentee")),
        (("end", "mentee"), ("end", "admin")),
    ],
    ids=["mentor-end-vs-mentee-end", "end-vs-complete", "member-end-vs-admin-end"],
)
def test_two_endings_at_once_end_the_pair_once_and_tell_people_once(
    any_engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    first: tuple[str, str],
    second: tuple[str, str],
) -> None:
    setup = _ready_to_complete(any_engine)
    calls = [_act(setup, kind, who) for kind, who in (first, second)]
    # Both read the pair as active before either writes (on PostgreSQL).
    meet_once_at(monkeypatch, journey, "_clean_rating")

    results = race(any_engine, *calls)

    refused = [r for r in results if isinstance(r, Exception)]
    assert len(refused) == 1, results
    assert isinstance(refused[0], Conflict) and "already ended" in refused[0].message, refused
    winner_kind, winner = second if results[0] is refused[0] else first
    with Session(any_engine) as db:
        pair = db.get(Pair, setup.pair.id)
    assert pair is not None
    assert pair.status == ("completed" if winner_kind == "complete" else "ended")
    members = {setup.mentor.id or 0, setup.mentee.id or 0}
    winner_id = getattr(setup, winner).id
    told, logged = _told_and_logged(any_engine, setup)
    assert told == sorted(members - {winner_id}), told
    assert logged == 1


def test_both_members_completing_at_once_complete_once_and_keep_both_surveys(
    any_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = _ready_to_complete(any_engine)
    meet_once_at(monkeypatch, journey, "_clean_rating")

    results = race(any_engine, _complete(setup, "mentor"), _complete(setup, "mentee"))

    assert not [r for r in results if isinstance(r, Exception)], results
    with Session(any_engine) as db:
        pair = db.get(Pair, setup.pair.id)
        surveys = db.exec(select(PairSurvey.user_id).where(PairSurvey.pair_id == setup.pair.id))
        assert sorted(s or 0 for s in surveys.all()) == sorted(
            [setup.mentor.id or 0, setup.mentee.id or 0]
        )
    assert pair is not None and pair.status == "completed"
    told, logged = _told_and_logged(any_engine, setup)
    assert len(told) == 1 and logged == 1, (told, logged)
