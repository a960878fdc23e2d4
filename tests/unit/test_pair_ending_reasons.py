""" "Completed" is reached only through Complete the program; ending a pair for any other
reason never closes the mentee's application, so they can be rematched or sign up again."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from mentor_app.models import Enrollment, Notification, Pair
from mentor_app.services import enrollments, journey, pairing
from mentor_app.services.errors import ValidationError
from tests.factories import PairSetup, answers_for, make_pair


@pytest.fixture
def setup(db: Session) -> PairSetup:
    return make_pair(db)


def application(db: Session, enrollment: Enrollment) -> Enrollment:
    fresh = db.get(Enrollment, enrollment.id)
    assert fresh is not None
    return fresh


@pytest.mark.parametrize("who", ["mentor", "mentee", "admin"])
def test_no_one_can_end_a_pair_as_completed_in_week_one(
    db: Session, setup: PairSetup, who: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        journey.end_pair(
            db, actor=getattr(setup, who), pair_id=setup.pair.id or 0, reason="completed"
        )

    assert refused.value.field == "reason"
    assert "Complete the program" in refused.value.message
    assert db.get(Pair, setup.pair.id).status == "active"  # type: ignore[union-attr]
    assert application(db, setup.mentee_enrollment).status == "active"
    assert not db.exec(select(Notification).where(Notification.kind == "pair_ended")).first()


def test_the_end_forms_do_not_offer_completed() -> None:
    assert "completed" not in journey.END_CHOICES
    assert set(journey.END_CHOICES) == {"not_a_good_fit", "no_longer_available", "other"}


@pytest.mark.parametrize(
    ("reason", "detail"), [("no_longer_available", ""), ("other", "Moving abroad.")]
)
def test_a_mentee_who_steps_back_can_sign_up_again(
    db: Session, setup: PairSetup, reason: str, detail: str
) -> None:
    journey.end_pair(
        db, actor=setup.mentee, pair_id=setup.pair.id or 0, reason=reason, detail=detail
    )
    assert application(db, setup.mentee_enrollment).status != "done"

    again = enrollments.apply(
        db,
        actor=setup.mentee,
        program_id=setup.program.id or 0,
        role="mentee",
        answers=answers_for(setup.program, "mentee"),
    )

    assert again.id == setup.mentee_enrollment.id and again.status == "active"


def test_a_mentor_no_longer_available_gets_no_new_mentee_and_theirs_is_rematched_first(
    db: Session, setup: PairSetup
) -> None:
    journey.end_pair(
        db, actor=setup.mentor, pair_id=setup.pair.id or 0, reason="no_longer_available"
    )

    ws = pairing.get_workspace(db, actor=setup.admin, program_id=setup.program.id or 0)
    assert [(m.name, m.rematch) for m in ws.mentees_waiting.items] == [("Theo", True)]
    assert all(m.name != "Maya" for m in ws.mentors.items)


def test_only_completing_the_program_marks_the_mentees_application_done(
    db: Session, setup: PairSetup
) -> None:
    pid = setup.pair.id or 0
    for member in (setup.mentor, setup.mentee):
        journey.mark_step_done(db, actor=member, pair_id=pid, week=8)

    journey.complete_pair(db, actor=setup.mentee, pair_id=pid, rating=5, now=setup.at_week(9))

    pair = db.get(Pair, pid)
    assert pair is not None and (pair.status, pair.end_reason) == ("completed", "completed")
    assert application(db, setup.mentee_enrollment).status == "done"
    told = db.exec(
        select(Notification.user_id, Notification.text).where(Notification.kind == "pair_ended")
    ).all()
    assert [tuple(t) for t in told] == [
        (
            setup.mentor.id,
            f"Your pair with Theo in “{setup.program.title}” has completed the program.",
        )
    ]
