"""An admin who is also a member of a pair is that pair's member first: admin alerts about
the pair never reach them, and the admin views hide what their partner said privately
(ratings, free text, the fit check). Every other admin still gets and sees all of it."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from mentor_app.models import Message, Notification, Pair
from mentor_app.services import dashboard, journey, pairing
from mentor_app.services.nudges import NudgeRules, run_nudges
from tests.factories import PairSetup, make_pair_with_partner_admin


@pytest.fixture
def setup(db: Session) -> PairSetup:
    """Maya mentors Theo, and Maya is also an admin of the group; Ada is an admin only."""
    return make_pair_with_partner_admin(db)


def _alerted(db: Session, kind: str) -> list[int]:
    return sorted(
        n.user_id for n in db.exec(select(Notification).where(Notification.kind == kind)).all()
    )


def _ended_row(db: Session, setup: PairSetup, viewer: object) -> pairing.EndedRow:
    ws = pairing.get_workspace(db, actor=viewer, program_id=setup.program.id or 0)  # type: ignore[arg-type]
    return next(e for e in ws.ended.items if e.id == setup.pair.id)


# --- alerts --------------------------------------------------------------------------------


def test_not_a_good_fit_alert_skips_the_admin_who_is_the_partner(
    db: Session, setup: PairSetup
) -> None:
    journey.answer_fit_check(
        db, actor=setup.mentee, pair_id=setup.pair.id or 0, answer="not_good", now=setup.at_week(2)
    )
    assert _alerted(db, "fit_alert") == [setup.admin.id]


def test_one_sided_silence_alert_skips_the_admin_who_is_the_partner(
    engine: Engine, db: Session, setup: PairSetup
) -> None:
    # Theo wrote three days ago; Maya (mentor and admin) has been silent for 21 days.
    now = setup.at_week(4, hour=12)
    setup.pair.published_at = now - dt.timedelta(days=21)
    setup.pair.start_date = (now - dt.timedelta(days=21)).date()
    db.add(setup.pair)
    db.add(
        Message(
            pair_id=setup.pair.id or 0,
            sender_id=setup.mentee.id or 0,
            client_id="c-theo",
            body="Hello?",
            created_at=now - dt.timedelta(days=3),
        )
    )
    db.commit()

    report = run_nudges(engine, now=now, rules=NudgeRules())

    assert report.admin_alerts == 1
    assert _alerted(db, "one_sided_alert") == [setup.admin.id]


# --- the pairing workspace's ended pairs ---------------------------------------------------


def _mentee_ends_it(db: Session, setup: PairSetup) -> None:
    """Theo ends the pair: not a good fit, rated 1, with words about Maya."""
    journey.end_pair(
        db,
        actor=setup.mentee,
        pair_id=setup.pair.id or 0,
        reason="not_a_good_fit",
        rating=1,
        detail="Maya never listened.",
    )
    db.commit()


def test_the_partner_admin_does_not_see_the_rating_and_words_of_the_member_who_ended_it(
    db: Session, setup: PairSetup
) -> None:
    _mentee_ends_it(db, setup)

    mine = _ended_row(db, setup, setup.mentor)
    assert (mine.rating, mine.detail, mine.private) == (None, pairing.PRIVATE_TO_YOU, True)
    assert mine.reason == "not_a_good_fit"  # the fact of the ending is no secret


def test_another_admin_sees_the_rating_and_words(db: Session, setup: PairSetup) -> None:
    _mentee_ends_it(db, setup)

    theirs = _ended_row(db, setup, setup.admin)
    assert (theirs.rating, theirs.detail, theirs.private) == (1, "Maya never listened.", False)


def test_the_partner_admin_still_sees_what_they_wrote_themselves(
    db: Session, setup: PairSetup
) -> None:
    journey.end_pair(
        db,
        actor=setup.mentor,
        pair_id=setup.pair.id or 0,
        reason="other",
        rating=3,
        detail="Moving abroad.",
    )
    db.commit()

    mine = _ended_row(db, setup, setup.mentor)
    assert (mine.rating, mine.detail, mine.private) == (3, "Moving abroad.", False)


# --- the dashboard -------------------------------------------------------------------------


def _fit_reasons(db: Session, setup: PairSetup, viewer: object) -> list[str]:
    board = dashboard.get_dashboard(
        db,
        actor=viewer,  # type: ignore[arg-type]
        program_id=setup.program.id or 0,
        now=setup.at_week(2),
    )
    health = next(p for p in board.pairs if p.pair_id == setup.pair.id)
    return [r.text for r in health.reasons if r.key == "not_good_fit"]


def mentee_says_not_a_good_fit(db: Session, setup: PairSetup) -> None:
    """Theo answers the week-2 fit check: not a good fit (his word to the admins)."""
    journey.answer_fit_check(
        db, actor=setup.mentee, pair_id=setup.pair.id or 0, answer="not_good", now=setup.at_week(2)
    )
    db.commit()


def test_the_dashboard_hides_the_partners_fit_answer_from_the_partner_admin(
    db: Session, setup: PairSetup
) -> None:
    mentee_says_not_a_good_fit(db, setup)

    assert _fit_reasons(db, setup, setup.mentor) == []
    assert _fit_reasons(db, setup, setup.admin) == ["fit check: not a good fit (mentee)"]


def test_the_dashboard_shows_the_partner_admin_their_own_fit_answer(
    db: Session, setup: PairSetup
) -> None:
    journey.answer_fit_check(
        db, actor=setup.mentor, pair_id=setup.pair.id or 0, answer="not_good", now=setup.at_week(2)
    )
    db.commit()

    assert _fit_reasons(db, setup, setup.mentor) == ["fit check: not a good fit (mentor)"]
    pair = db.get(Pair, setup.pair.id)
    assert pair is not None and pair.status == "active"
