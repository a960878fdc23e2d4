"""Fair rematching in the pairing workspace (issue 17): ties go to rematch priority, then to
whoever has waited longer; a pair that ended as "not a good fit" is never proposed again
(an admin may still make it by hand, after a warning); drafts show fresh scores."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import select

from mentor_app.models import Enrollment, Pair
from mentor_app.services import enrollments, journey, matching, pairing
from mentor_app.services.errors import Conflict
from tests.factories import TODAY, answers_for
from tests.unit.test_pairing import AREAS, Cohort

EARLY = dt.datetime(2026, 1, 2, 9, 0, tzinfo=dt.UTC)
LATE = dt.datetime(2026, 1, 9, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def cohort(db) -> Cohort:  # type: ignore[no-untyped-def]
    return Cohort(db)


def _waiting_since(cohort: Cohort, enrollment: Enrollment, when: dt.datetime) -> None:
    enrollment.created_at = when
    cohort.db.add(enrollment)
    cohort.db.commit()


def _give_rematch_priority(cohort: Cohort, enrollment: Enrollment) -> None:
    enrollment.rematch_priority = True
    cohort.db.add(enrollment)
    cohort.db.commit()


def _suggested(cohort: Cohort) -> list[tuple[int, int]]:
    made = pairing.suggest_all(cohort.db, actor=cohort.admin, program_id=cohort.pid, today=TODAY)
    cohort.db.commit()
    return [(p.mentee_enrollment_id, p.mentor_enrollment_id) for p in made]


# --- defect 5: Suggest all breaks ties by rematch priority, then by waiting time --------------


@pytest.mark.parametrize("priority_name", ["Al", "Zoe"])
@pytest.mark.parametrize("priority_since", [EARLY, LATE])
def test_suggest_all_gives_the_last_seat_to_the_mentee_with_rematch_priority(
    cohort: Cohort, priority_name: str, priority_since: dt.datetime
) -> None:
    # Equal scores for the one free seat; the priority mentee wins whatever their name or
    # how long the other one has waited.
    mentor = cohort.person("Maya", "mentor", capacity=1, areas=AREAS[:1])
    other_name = "Zoe" if priority_name == "Al" else "Al"
    first = cohort.person(priority_name, "mentee", areas=AREAS[:1])
    second = cohort.person(other_name, "mentee", areas=AREAS[:1])
    _give_rematch_priority(cohort, first)
    _waiting_since(cohort, first, priority_since)
    _waiting_since(cohort, second, EARLY if priority_since == LATE else LATE)

    assert _suggested(cohort) == [(first.id, mentor.id)]


@pytest.mark.parametrize("longer_name", ["Al", "Zoe"])
def test_with_equal_priority_the_mentee_who_waited_longer_gets_the_last_seat(
    cohort: Cohort, longer_name: str
) -> None:
    mentor = cohort.person("Maya", "mentor", capacity=1, areas=AREAS[:1])
    # The one who applied later in the test waited longer: neither the id nor the name decides.
    newer = cohort.person("Zoe" if longer_name == "Al" else "Al", "mentee", areas=AREAS[:1])
    longer = cohort.person(longer_name, "mentee", areas=AREAS[:1])
    _waiting_since(cohort, newer, LATE)
    _waiting_since(cohort, longer, EARLY)

    assert _suggested(cohort) == [(longer.id, mentor.id)]


def test_rematch_priority_never_outweighs_a_better_score(cohort: Cohort) -> None:
    mentor = cohort.person("Maya", "mentor", capacity=1, areas=AREAS[:2])
    weaker = cohort.person("Al", "mentee", areas=AREAS[2:])
    better = cohort.person("Zoe", "mentee", areas=AREAS[:2])
    _give_rematch_priority(cohort, weaker)

    assert _suggested(cohort) == [(better.id, mentor.id)]


# --- defect 6: a pair ended as "not a good fit" is never proposed again -------------------------


def _ended_as_not_a_good_fit(cohort: Cohort, by: str) -> tuple[Enrollment, Enrollment, Enrollment]:
    """Theo and Maya's pair ended as not a good fit; Omar, a little less suited to Theo than
    Maya, has a free seat. Returns (Theo, Maya, Omar)."""
    maya = cohort.person("Maya", "mentor", capacity=2, areas=AREAS[:2])
    omar = cohort.person("Omar", "mentor", capacity=2, areas=AREAS[:1])
    theo = cohort.person("Theo", "mentee", areas=AREAS[:2])
    pair = cohort.pair(theo, maya)
    pairing.publish_pairs(cohort.db, actor=cohort.admin, program_id=cohort.pid, today=TODAY)
    ender = {"mentee": cohort.user(theo), "mentor": cohort.user(maya), "admin": cohort.admin}[by]
    journey.end_pair(cohort.db, actor=ender, pair_id=pair.id or 0, reason="not_a_good_fit")
    cohort.db.commit()
    return theo, maya, omar


@pytest.mark.parametrize("by", ["mentee", "mentor", "admin"])
def test_a_pair_ended_as_not_a_good_fit_is_not_suggested_for_the_mentee_again(
    cohort: Cohort, by: str
) -> None:
    theo, _maya, omar = _ended_as_not_a_good_fit(cohort, by)

    found = pairing.suggest_mentors(
        cohort.db, actor=cohort.admin, program_id=cohort.pid, mentee_enrollment_id=theo.id or 0
    )

    assert [s.mentor_enrollment_id for s in found] == [omar.id]


@pytest.mark.parametrize("by", ["mentee", "mentor", "admin"])
def test_suggest_all_never_proposes_a_pair_that_ended_as_not_a_good_fit(
    cohort: Cohort, by: str
) -> None:
    theo, _maya, omar = _ended_as_not_a_good_fit(cohort, by)

    assert _suggested(cohort) == [(theo.id, omar.id)]


def test_a_pair_ended_for_another_reason_may_be_suggested_again(cohort: Cohort) -> None:
    maya = cohort.person("Maya", "mentor", capacity=2, areas=AREAS[:2])
    theo = cohort.person("Theo", "mentee", areas=AREAS[:2])
    pair = cohort.pair(theo, maya)
    pairing.publish_pairs(cohort.db, actor=cohort.admin, program_id=cohort.pid, today=TODAY)
    journey.end_pair(
        cohort.db, actor=cohort.admin, pair_id=pair.id or 0, reason="other", detail="Moved away"
    )
    cohort.db.commit()

    assert _suggested(cohort) == [(theo.id, maya.id)]


def test_pairing_a_not_a_good_fit_pair_by_hand_warns_first_and_works_once_confirmed(
    cohort: Cohort,
) -> None:
    theo, maya, _omar = _ended_as_not_a_good_fit(cohort, "mentee")

    def pair_again(**confirm: bool) -> Pair:
        return pairing.pair_by_hand(
            cohort.db,
            actor=cohort.admin,
            program_id=cohort.pid,
            mentee_enrollment_id=theo.id or 0,
            mentor_enrollment_id=maya.id or 0,
            today=TODAY,
            **confirm,
        )

    with pytest.raises(Conflict) as warned:
        pair_again()
    assert warned.value.field == pairing.CONFIRM_NOT_A_GOOD_FIT
    assert warned.value.message == (
        "Theo and Maya's earlier pair in this program ended as “not a good fit”. "
        "Pair them again anyway?"
    )
    assert _live(cohort) == []

    draft = pair_again(confirmed=True)
    cohort.db.commit()

    assert (draft.status, draft.mentee_enrollment_id, draft.mentor_enrollment_id) == (
        "draft",
        theo.id,
        maya.id,
    )


def _live(cohort: Cohort) -> list[Pair]:
    return list(
        cohort.db.exec(select(Pair).where(Pair.status.in_(("draft", "active")))).all()  # type: ignore[attr-defined]
    )


# --- defect 9: drafts are re-scored when answers change -----------------------------------------


def _change_areas(cohort: Cohort, enrollment: Enrollment, areas: list[str]) -> None:
    answers = {**answers_for(cohort.program, "mentee"), "mentee_areas": areas}
    enrollments.update_application(
        cohort.db,
        actor=cohort.user(enrollment),
        enrollment_id=enrollment.id or 0,
        answers=answers,
        today=TODAY,
    )
    cohort.db.commit()


def _score_now(cohort: Cohort, mentee: Enrollment, mentor: Enrollment) -> int:
    cohort.db.refresh(mentee)
    cohort.db.refresh(mentor)
    specs = matching.match_specs(cohort.program.questions)
    return matching.score_pair(specs, mentor.answers, mentee.answers)[0]


def _workspace(cohort: Cohort) -> pairing.Workspace:
    return pairing.get_workspace(cohort.db, actor=cohort.admin, program_id=cohort.pid)


def test_a_draft_shows_its_fresh_score_and_that_it_changed_since_drafting(cohort: Cohort) -> None:
    maya = cohort.person("Maya", "mentor", areas=AREAS[:2])
    theo = cohort.person("Theo", "mentee", areas=AREAS[:2])
    drafted = cohort.pair(theo, maya).score

    _change_areas(cohort, theo, AREAS[2:])

    fresh = _score_now(cohort, theo, maya)
    assert fresh == drafted - 40  # areas: 2 of 2 became 0 of 1
    [draft] = _workspace(cohort).drafts.items
    assert (draft.score, draft.score_was) == (fresh, drafted)
    assert "areas of help ∩ areas wanted: 0 of 1 (+0)" in draft.reasons


def test_a_draft_whose_answers_did_not_change_shows_no_change(cohort: Cohort) -> None:
    maya = cohort.person("Maya", "mentor", areas=AREAS[:2])
    theo = cohort.person("Theo", "mentee", areas=AREAS[:2])
    drafted = cohort.pair(theo, maya).score

    [draft] = _workspace(cohort).drafts.items

    assert (draft.score, draft.score_was) == (drafted, None)


def test_publishing_rescores_each_draft(cohort: Cohort) -> None:
    maya = cohort.person("Maya", "mentor", areas=AREAS[:2])
    theo = cohort.person("Theo", "mentee", areas=AREAS[:2])
    pair = cohort.pair(theo, maya)
    _change_areas(cohort, theo, AREAS[2:])

    pairing.publish_pairs(cohort.db, actor=cohort.admin, program_id=cohort.pid, today=TODAY)
    cohort.db.commit()

    cohort.db.refresh(pair)
    fresh = _score_now(cohort, theo, maya)
    assert (pair.status, pair.score) == ("active", fresh)
    assert "areas of help ∩ areas wanted: 0 of 1 (+0)" in [f["explain"] for f in pair.factors]
    [row] = _workspace(cohort).published.items
    assert (row.score, row.score_was) == (fresh, None)


def test_the_fairness_panel_counts_fresh_scores(cohort: Cohort) -> None:
    maya = cohort.person("Maya", "mentor", areas=AREAS[:2])
    theo = cohort.person("Theo", "mentee", areas=AREAS[:2])
    cohort.pair(theo, maya)
    pairing.publish_pairs(cohort.db, actor=cohort.admin, program_id=cohort.pid, today=TODAY)
    cohort.db.commit()
    _change_areas(cohort, theo, AREAS[2:])  # the program is still open: answers may change

    fairness = _workspace(cohort).fairness

    fresh = _score_now(cohort, theo, maya)
    assert fairness.median_score == fresh
    bucket = next(label for label, low, high in pairing.SCORE_BUCKETS if low <= fresh <= high)
    assert dict(fairness.score_buckets)[bucket] == 1
