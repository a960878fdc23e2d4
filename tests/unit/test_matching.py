"""The matching engine: each factor and its explanation, the cohort scores, suggestions and
the whole-cohort auto-match checked against brute force."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import numpy as np
import pytest

from mentor_app.program_templates import get_template
from mentor_app.program_templates.common import MEETING, TIMEZONES, question
from mentor_app.services.matching import (
    Candidate,
    Factor,
    MatchSpec,
    auto_match,
    auto_match_cohort,
    expand_slots,
    match_specs,
    score_matrix,
    score_pair,
    suggest,
)

CAREER = list(get_template("career_advancement").questions)
AREAS = CAREER[0]["options"]
EXPERIENCE = CAREER[1]["options"]


def career_specs() -> list[MatchSpec]:
    return match_specs(CAREER)


def factor(key: str, mentor: dict[str, Any], mentee: dict[str, Any]) -> Factor:
    specs = [s for s in career_specs() if s.key == key]
    _, factors = score_pair(specs, mentor, mentee)
    return factors[0]


def unkeyed(qid: str, qtype: str, options: list[str], text: str = "Hobbies?") -> dict[str, Any]:
    q = question(qid, text, qtype, options)
    q["for_matching"] = True
    return q


# --- factors and what they say -----------------------------------------------------------


def test_areas_score_the_share_of_wanted_areas_the_mentor_covers() -> None:
    f = factor(
        "areas",
        {"mentor_areas": [AREAS[0], AREAS[1], AREAS[5]]},
        {"mentee_areas": [AREAS[0], AREAS[1], AREAS[2]]},
    )
    assert (f.detail, f.points) == ("2 of 3", 27)
    assert str(f) == "areas of help ∩ areas wanted: 2 of 3 (+27)"
    assert f.explain == str(f)


def test_mentor_covering_every_wanted_area_gets_all_40_points() -> None:
    f = factor("areas", {"mentor_areas": AREAS}, {"mentee_areas": [AREAS[3]]})
    assert (f.detail, f.points) == ("1 of 1", 40)


def test_no_area_in_common_scores_nothing() -> None:
    f = factor("areas", {"mentor_areas": [AREAS[0]]}, {"mentee_areas": [AREAS[1], AREAS[2]]})
    assert str(f) == "areas of help ∩ areas wanted: 0 of 2 (+0)"


def test_half_points_round_up() -> None:
    # 40 * 1 / 16 = 2.5: rounded half up, never to even.
    spec = match_specs(
        [
            question(
                "mentor_x", "X?", "multiple_choice", [f"o{i}" for i in range(16)], match_key="areas"
            ),
            question(
                "mentee_x", "X?", "multiple_choice", [f"o{i}" for i in range(16)], match_key="areas"
            ),
        ]
    )
    _, (f,) = score_pair(spec, {"mentor_x": ["o0"]}, {"mentee_x": [f"o{i}" for i in range(16)]})
    assert (f.detail, f.points) == ("1 of 16", 3)


def test_same_time_zone_band_adds_15() -> None:
    f = factor(
        "timezone", {"mentor_timezone": "Europe/Africa"}, {"mentee_timezone": "Europe/Africa"}
    )
    assert str(f) == "time zone: same time zone band: Europe/Africa (+15)"


def test_different_time_zone_bands_add_nothing() -> None:
    f = factor("timezone", {"mentor_timezone": "Americas"}, {"mentee_timezone": "Asia/Pacific"})
    assert (f.detail, f.points) == ("different time zone bands", 0)


def test_a_language_in_common_adds_10() -> None:
    f = factor(
        "languages",
        {"mentor_languages": ["Spanish", "English"]},
        {"mentee_languages": ["English", "French"]},
    )
    assert str(f) == "languages: language in common: English (+10)"


def test_several_languages_in_common_still_add_10_once() -> None:
    f = factor(
        "languages",
        {"mentor_languages": ["Spanish", "English"]},
        {"mentee_languages": ["English", "Spanish"]},
    )
    assert (f.detail, f.points) == ("languages in common: English, Spanish", 10)


def test_no_language_in_common_adds_nothing() -> None:
    f = factor("languages", {"mentor_languages": ["German"]}, {"mentee_languages": ["English"]})
    assert (f.detail, f.points) == ("no language in common", 0)


def test_a_shared_way_of_meeting_adds_10() -> None:
    f = factor(
        "meeting",
        {"mentor_meeting": ["Video call", "Chat"]},
        {"mentee_meeting": ["Phone call", "Video call"]},
    )
    assert str(f) == "meeting: both can meet by Video call (+10)"


def test_no_shared_way_of_meeting_adds_nothing() -> None:
    f = factor("meeting", {"mentor_meeting": ["In person"]}, {"mentee_meeting": ["Chat"]})
    assert (f.detail, f.points) == ("no way of meeting in common", 0)


def test_more_experienced_mentor_adds_15() -> None:
    f = factor(
        "experience",
        {"mentor_experience": EXPERIENCE[3]},
        {"mentee_experience": EXPERIENCE[1]},
    )
    assert str(f) == "experience: mentor has more (11 to 20 years vs 2 to 5 years) (+15)"


def test_same_experience_adds_5() -> None:
    f = factor(
        "experience", {"mentor_experience": EXPERIENCE[2]}, {"mentee_experience": EXPERIENCE[2]}
    )
    assert (f.detail, f.points) == ("same level (6 to 10 years)", 5)


def test_less_experienced_mentor_adds_nothing() -> None:
    f = factor(
        "experience", {"mentor_experience": EXPERIENCE[0]}, {"mentee_experience": EXPERIENCE[4]}
    )
    assert f.points == 0
    assert f.detail == "mentor has less (Less than 2 years vs More than 20 years)"


def test_other_single_choice_key_adds_10_for_the_same_answer() -> None:
    specs = match_specs(
        [
            question(
                "mentor_sector", "Sector?", "single_choice", ["Tech", "Health"], match_key="sector"
            ),
            question(
                "mentee_sector", "Sector?", "single_choice", ["Tech", "Health"], match_key="sector"
            ),
        ]
    )
    _, (same,) = score_pair(specs, {"mentor_sector": "Tech"}, {"mentee_sector": "Tech"})
    _, (other,) = score_pair(specs, {"mentor_sector": "Tech"}, {"mentee_sector": "Health"})
    assert str(same) == "sector: same answer: Tech (+10)"
    assert str(other) == "sector: different answers (+0)"


def test_other_multiple_choice_key_scores_the_share_in_common() -> None:
    options = ["a", "b", "c", "d"]
    specs = match_specs(
        [
            question("mentor_t", "Topics?", "multiple_choice", options, match_key="topics"),
            question("mentee_t", "Topics?", "multiple_choice", options, match_key="topics"),
        ]
    )
    _, (f,) = score_pair(specs, {"mentor_t": ["a", "b", "d"]}, {"mentee_t": ["a", "b", "c"]})
    assert str(f) == "topics: 2 of 3 (+7)"


def test_unanswered_questions_score_nothing_and_say_who_did_not_answer() -> None:
    specs = career_specs()
    score, factors = score_pair(
        specs,
        {"mentor_areas": [AREAS[0]], "mentor_timezone": "Americas", "mentor_languages": []},
        {"mentee_timezone": "Americas", "mentee_languages": []},
    )
    by_key = {f.key: f for f in factors}
    assert str(by_key["areas"]) == "areas of help ∩ areas wanted: not answered by the mentee (+0)"
    assert by_key["experience"].detail == "not answered by either"
    assert by_key["languages"].detail == "not answered by either"
    assert by_key["timezone"].points == 15
    assert score == 15


def test_options_no_longer_offered_count_as_not_answered() -> None:
    f = factor("languages", {"mentor_languages": ["Klingon"]}, {"mentee_languages": ["English"]})
    assert (f.detail, f.points) == ("not answered by the mentor", 0)


def test_score_is_the_sum_of_factors_in_question_order() -> None:
    score, factors = score_pair(
        career_specs(),
        {
            "mentor_areas": [AREAS[0], AREAS[1]],
            "mentor_experience": EXPERIENCE[4],
            "mentor_languages": ["English"],
            "mentor_timezone": "Americas",
            "mentor_meeting": ["Chat"],
        },
        {
            "mentee_areas": [AREAS[0], AREAS[2]],
            "mentee_experience": EXPERIENCE[0],
            "mentee_languages": ["English"],
            "mentee_timezone": "Americas",
            "mentee_meeting": ["Video call"],
        },
    )
    assert [(f.key, f.points) for f in factors] == [
        ("areas", 20),
        ("experience", 15),
        ("languages", 10),
        ("timezone", 15),
        ("meeting", 0),
    ]
    assert score == 60


# --- which questions are compared --------------------------------------------------------


def test_career_template_compares_its_five_keyed_questions() -> None:
    specs = career_specs()
    assert [(s.key, s.mentor_question, s.mentee_question) for s in specs] == [
        ("areas", "mentor_areas", "mentee_areas"),
        ("experience", "mentor_experience", "mentee_experience"),
        ("languages", "mentor_languages", "mentee_languages"),
        ("timezone", "mentor_timezone", "mentee_timezone"),
        ("meeting", "mentor_meeting", "mentee_meeting"),
    ]
    assert specs[0].label == "Areas of help ∩ areas wanted"


def test_question_without_key_pairs_with_the_other_roles_question_with_the_same_options() -> None:
    questions = [
        unkeyed("mentor_hobbies", "multiple_choice", ["Chess", "Hiking", "Music"]),
        unkeyed("mentee_food", "multiple_choice", ["Pasta", "Rice"], text="Food?"),
        unkeyed("mentee_hobbies", "multiple_choice", ["Music", "Chess", "Hiking"]),
    ]
    (spec,) = match_specs(questions)
    assert (spec.mentor_question, spec.mentee_question) == ("mentor_hobbies", "mentee_hobbies")
    assert spec.label == "Hobbies?"
    _, (f,) = score_pair(
        [spec], {"mentor_hobbies": ["Chess"]}, {"mentee_hobbies": ["Chess", "Music"]}
    )
    assert (f.detail, f.points) == ("1 of 2", 5)


def test_questions_not_for_matching_or_without_a_partner_are_ignored() -> None:
    text = question("mentor_bio", "About you", "long_text", match_key=None)
    off = question("mentor_tz", "Where?", "single_choice", TIMEZONES)  # for_matching False
    lonely_key = question("mentor_pets", "Pets?", "single_choice", ["Cat", "Dog"], match_key="pets")
    other_key = question(
        "mentee_animal", "Animal?", "single_choice", ["Dog", "Cat"], match_key="zoo"
    )
    unkeyed_mentee_tz = unkeyed("mentee_tz", "single_choice", TIMEZONES)
    assert match_specs([text, off, lonely_key, other_key, unkeyed_mentee_tz]) == []


def test_keyed_question_without_partner_pairs_with_an_unkeyed_one_with_the_same_options() -> None:
    keyed = question("mentor_meet", "Meet?", "multiple_choice", MEETING, match_key="meeting")
    plain = unkeyed("mentee_meet", "multiple_choice", list(reversed(MEETING)))
    (spec,) = match_specs([keyed, plain])
    assert (spec.key, spec.mentee_question) == ("meeting", "mentee_meet")


# --- whole cohorts ------------------------------------------------------------------------


EXTRA_QUESTIONS = [
    question(
        "mentor_sector", "Sector?", "single_choice", ["Tech", "Health", "Arts"], match_key="sector"
    ),
    question(
        "mentee_sector", "Sector?", "single_choice", ["Arts", "Tech", "Health"], match_key="sector"
    ),
    # Mentor picks several, mentee one, and the lists differ.
    question(
        "mentor_style", "Style?", "multiple_choice", ["Calm", "Direct", "Fun"], match_key="style"
    ),
    question(
        "mentee_style", "Style?", "single_choice", ["Direct", "Gentle", "Fun"], match_key="style"
    ),
    unkeyed("mentor_hobbies", "multiple_choice", ["Chess", "Hiking", "Music", "Film"]),
    unkeyed("mentee_hobbies", "multiple_choice", ["Film", "Music", "Hiking", "Chess"]),
]


def random_answer(rng: random.Random, q: dict[str, Any]) -> Any:
    if not q["options"]:
        return "Some words."
    roll = rng.random()
    if roll < 0.08:
        return None  # not answered
    if roll < 0.11:
        return [] if q["type"] == "multiple_choice" else ""
    if roll < 0.14:
        return ["Klingon", q["options"][0]] if q["type"] == "multiple_choice" else "Klingon"
    if q["type"] == "single_choice":
        return rng.choice(q["options"])
    picks = rng.sample(q["options"], rng.randint(1, len(q["options"])))
    return picks[0] if rng.random() < 0.05 else picks  # a lone string now and then


def random_people(rng: random.Random, role: str, n: int) -> list[dict[str, Any]]:
    questions = [q for q in CAREER + EXTRA_QUESTIONS if q["role"] == role]
    people = []
    for _ in range(n):
        answers = {q["id"]: random_answer(rng, q) for q in questions}
        people.append({k: v for k, v in answers.items() if v is not None})
    return people


def test_cohort_scores_equal_pair_scores_on_a_random_cohort() -> None:
    rng = random.Random(7)
    specs = match_specs(CAREER + EXTRA_QUESTIONS)
    assert [s.key for s in specs][-3:] == ["sector", "style", "mentee_hobbies"]
    mentees, mentors = random_people(rng, "mentee", 60), random_people(rng, "mentor", 40)

    matrix = score_matrix(specs, mentees, mentors)

    expected = np.array([[score_pair(specs, m, e)[0] for m in mentors] for e in mentees])
    assert matrix.dtype == np.int32
    assert matrix.shape == (60, 40)
    assert (matrix == expected).all()
    assert len(np.unique(matrix)) > 20  # a real spread, not all zeros


def test_cohort_scores_with_nobody_are_empty() -> None:
    specs = career_specs()
    assert score_matrix(specs, [], [{"mentor_timezone": "Americas"}]).shape == (0, 1)
    assert score_matrix(specs, [{}], []).shape == (1, 0)


# --- suggestions --------------------------------------------------------------------------


def test_suggestions_are_the_five_best_mentors_ties_by_lowest_id() -> None:
    rng = random.Random(3)
    specs = match_specs(CAREER + EXTRA_QUESTIONS)
    people = random_people(rng, "mentor", 80)
    mentors = [Candidate(id=1000 - i, answers=a, free_capacity=1) for i, a in enumerate(people)]
    mentee = random_people(rng, "mentee", 1)[0]

    got = suggest(specs, mentee, mentors, k=5)

    ranked = sorted(
        ((-score_pair(specs, m.answers, mentee)[0], m.id) for m in mentors),
    )
    assert [(s.mentor_id, s.score) for s in got] == [(i, -neg) for neg, i in ranked[:5]]
    for s in got:
        mentor = next(m for m in mentors if m.id == s.mentor_id)
        assert (s.score, s.factors) == score_pair(specs, mentor.answers, mentee)


def test_equal_scores_are_suggested_lowest_mentor_id_first() -> None:
    same = {"mentor_timezone": "Americas"}
    mentors = [Candidate(id=i, answers=same, free_capacity=2) for i in (9, 4, 7, 1, 8, 3)]
    got = suggest(career_specs(), {"mentee_timezone": "Americas"}, mentors, k=5)
    assert [(s.mentor_id, s.score) for s in got] == [(1, 15), (3, 15), (4, 15), (7, 15), (8, 15)]


def test_full_mentors_and_excluded_mentors_are_never_suggested() -> None:
    good = {"mentor_timezone": "Americas", "mentor_languages": ["English"]}
    poor = {"mentor_timezone": "Asia/Pacific"}
    mentors = [
        Candidate(id=1, answers=good, free_capacity=0),
        Candidate(id=2, answers=good, free_capacity=-1),
        Candidate(id=3, answers=good, free_capacity=1),
        Candidate(id=4, answers=good, free_capacity=3),
        Candidate(id=5, answers=poor, free_capacity=1),
    ]
    mentee = {"mentee_timezone": "Americas", "mentee_languages": ["English"]}
    got = suggest(career_specs(), mentee, mentors, k=5, excluded={3})
    assert [(s.mentor_id, s.score) for s in got] == [(4, 25), (5, 0)]
    assert [str(f) for f in got[0].factors][2:4] == [
        "languages: language in common: English (+10)",
        "time zone: same time zone band: Americas (+15)",
    ]


def test_no_open_mentors_means_no_suggestions() -> None:
    mentors = [Candidate(id=1, answers={}, free_capacity=0)]
    assert suggest(career_specs(), {}, mentors) == []
    assert suggest(career_specs(), {}, []) == []


# --- auto-match ---------------------------------------------------------------------------


def brute_force_best(
    scores: np.ndarray, capacities: list[int], min_score: int, allowed: np.ndarray
) -> tuple[int, int]:
    """(highest total score, most pairs at that total) over every feasible pairing."""
    n_e, n_m = scores.shape
    best = (0, 0)

    def walk(i: int, left: list[int], total: int, pairs: int) -> None:
        nonlocal best
        if i == n_e:
            best = max(best, (total, pairs))
            return
        walk(i + 1, left, total, pairs)
        for j in range(n_m):
            if left[j] > 0 and allowed[i, j] and scores[i, j] >= min_score:
                left[j] -= 1
                walk(i + 1, left, total + int(scores[i, j]), pairs + 1)
                left[j] += 1

    walk(0, list(capacities), 0, 0)
    return best


def assert_feasible(
    result: list[tuple[int, int, int]],
    scores: np.ndarray,
    capacities: list[int],
    min_score: int,
    allowed: np.ndarray | None,
) -> None:
    mentees = [i for i, _, _ in result]
    assert len(mentees) == len(set(mentees)), "a mentee was paired twice"
    per_mentor = Counter(j for _, j, _ in result)
    assert all(per_mentor[j] <= max(capacities[j], 0) for j in per_mentor)
    for i, j, s in result:
        assert s == scores[i, j]
        assert s >= min_score
        assert allowed is None or allowed[i, j]


def test_auto_match_is_as_good_as_trying_every_pairing() -> None:
    rng = np.random.default_rng(11)
    for _ in range(200):
        n_e, n_m = int(rng.integers(0, 6)), int(rng.integers(0, 4))
        scores = rng.integers(0, 8, size=(n_e, n_m)).astype(np.int32)
        capacities = [int(c) for c in rng.integers(0, 3, size=n_m)]
        allowed = rng.random((n_e, n_m)) > 0.25
        min_score = int(rng.integers(0, 5))

        result = auto_match(scores, capacities, min_score=min_score, allowed=allowed)

        assert_feasible(result, scores, capacities, min_score, allowed)
        got = (sum(s for _, _, s in result), len(result))
        assert got == brute_force_best(scores, capacities, min_score, allowed)


def test_auto_match_trades_no_score_for_more_pairs() -> None:
    # Mentee 0 fits mentor 0 (score 1); pairing mentee 0 with mentor 1 instead would free
    # mentor 0 for mentee 1 (two pairs, but total 0). The score wins.
    scores = np.array([[1, 0], [0, 0]])
    allowed = np.array([[True, True], [True, False]])
    assert auto_match(scores, [1, 1], min_score=0, allowed=allowed) == [(0, 0, 1)]


def test_auto_match_makes_every_zero_score_pair_allowed_by_min_score_zero() -> None:
    assert auto_match(np.zeros((3, 1), dtype=np.int32), [2], min_score=0) == [
        (0, 0, 0),
        (1, 0, 0),
    ]


def test_auto_match_never_exceeds_a_mentors_capacity_on_a_big_cohort() -> None:
    rng = np.random.default_rng(5)
    scores = rng.integers(0, 90, size=(300, 40)).astype(np.int32)
    capacities = [int(c) for c in rng.integers(0, 5, size=40)]
    allowed = rng.random((300, 40)) > 0.1

    result = auto_match(scores, capacities, min_score=30, allowed=allowed)

    assert_feasible(result, scores, capacities, 30, allowed)
    assert len(result) == sum(capacities)  # plenty of good mentees for every place


def test_auto_match_leaves_out_pairs_below_min_score_or_not_allowed() -> None:
    scores = np.array([[50, 90], [10, 20]])
    allowed = np.array([[True, False], [True, True]])
    assert auto_match(scores, [1, 1], min_score=15, allowed=allowed) == [(0, 0, 50), (1, 1, 20)]
    assert auto_match(scores, [1, 1], min_score=60, allowed=allowed) == []


@pytest.mark.parametrize(
    ("shape", "capacities"), [((0, 3), [1, 1, 1]), ((4, 0), []), ((4, 2), [0, 0])]
)
def test_auto_match_with_nobody_to_pair_makes_no_pairs(
    shape: tuple[int, int], capacities: list[int]
) -> None:
    assert auto_match(np.ones(shape, dtype=np.int32), capacities, min_score=0) == []


def test_slots_repeat_each_mentor_by_capacity() -> None:
    matrix, owner = expand_slots(np.array([[1, 2, 3]]), [2, 0, 1])
    assert matrix.tolist() == [[1, 1, 3]]
    assert owner.tolist() == [0, 0, 2]


def test_cohort_auto_match_pairs_by_ids_within_free_places_and_skips_forbidden_pairs() -> None:
    specs = career_specs()
    americas = {"mentee_timezone": "Americas", "mentee_languages": ["English"]}
    europe = {"mentee_timezone": "Europe/Africa", "mentee_languages": ["English"]}
    mentees = [Candidate(id=11, answers=americas), Candidate(id=12, answers=europe)]
    mentors = [
        Candidate(id=21, answers={"mentor_timezone": "Americas"}, free_capacity=1),
        Candidate(id=22, answers={"mentor_timezone": "Europe/Africa"}, free_capacity=0),
        Candidate(
            id=23,
            answers={"mentor_timezone": "Europe/Africa", "mentor_languages": ["English"]},
            free_capacity=2,
        ),
    ]
    assert auto_match_cohort(specs, mentees, mentors, min_score=10) == [
        (11, 21, 15),
        (12, 23, 25),
    ]
    assert auto_match_cohort(specs, mentees, mentors, min_score=10, forbidden={(12, 23)}) == [
        (11, 21, 15)
    ]
    assert auto_match_cohort(specs, [], mentors, min_score=0) == []


# --- ties: rematch priority, then waiting time ---------------------------------------------


def brute_force_best_served(
    scores: np.ndarray, capacities: list[int], min_score: int, priority: list[int]
) -> tuple[int, int, int]:
    """(highest total, most pairs at it, then the most served by priority: the sum over paired
    mentees of how many mentees rank behind them) over every feasible pairing."""
    n_e, n_m = scores.shape
    best = (0, 0, 0)

    def walk(i: int, left: list[int], total: int, pairs: int, served: int) -> None:
        nonlocal best
        if i == n_e:
            best = max(best, (total, pairs, served))
            return
        walk(i + 1, left, total, pairs, served)
        for j in range(n_m):
            if left[j] > 0 and scores[i, j] >= min_score:
                left[j] -= 1
                walk(i + 1, left, total + int(scores[i, j]), pairs + 1, served + n_e - priority[i])
                left[j] += 1

    walk(0, list(capacities), 0, 0, 0)
    return best


@pytest.mark.parametrize("first", [0, 1])
def test_auto_match_gives_a_tied_seat_to_the_mentee_ranked_first_in_either_row_order(
    first: int,
) -> None:
    priority = [0, 1] if first == 0 else [1, 0]
    result = auto_match(np.array([[50], [50]]), [1], min_score=0, priority=priority)
    assert result == [(first, 0, 50)]


def test_auto_match_never_trades_a_score_point_for_priority() -> None:
    # Mentee 0 ranks first, but mentee 1 scores one point more with the only mentor.
    assert auto_match(np.array([[49], [50]]), [1], min_score=0, priority=[0, 1]) == [(1, 0, 50)]


def test_auto_match_with_priority_keeps_the_best_total_and_serves_the_first_ranked() -> None:
    rng = np.random.default_rng(17)
    for _ in range(200):
        n_e, n_m = int(rng.integers(1, 6)), int(rng.integers(1, 4))
        scores = rng.integers(0, 4, size=(n_e, n_m)).astype(np.int32)  # many ties
        capacities = [int(c) for c in rng.integers(0, 3, size=n_m)]
        priority = [int(p) for p in rng.permutation(n_e)]
        min_score = int(rng.integers(0, 2))

        result = auto_match(scores, capacities, min_score=min_score, priority=priority)

        assert_feasible(result, scores, capacities, min_score, None)
        served = sum(n_e - priority[i] for i, _, _ in result)
        got = (sum(s for _, _, s in result), len(result), served)
        assert got == brute_force_best_served(scores, capacities, min_score, priority)


def test_cohort_auto_match_breaks_ties_by_the_priority_it_is_given() -> None:
    specs = career_specs()
    same = {CAREER[0]["id"].replace("mentor", "mentee"): AREAS[:1]}
    mentees = [Candidate(id=10, answers=same), Candidate(id=11, answers=same)]
    mentors = [Candidate(id=20, answers={CAREER[0]["id"]: AREAS[:1]}, free_capacity=1)]
    for priority, winner in (([0, 1], 10), ([1, 0], 11)):
        got = auto_match_cohort(specs, mentees, mentors, min_score=0, priority=priority)
        assert [(e, m) for e, m, _ in got] == [(winner, 20)]
