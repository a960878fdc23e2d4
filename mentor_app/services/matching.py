"""The matching engine: how well a mentor fits a mentee, factor by factor, and the best
pairing of a whole cohort. Pure functions over sign-up questions and answers: no database.

`score_pair` is the reference, written for people to read and to explain a score;
`score_matrix` computes the same numbers for a whole cohort at once with numpy bitmasks
(the tests hold the two equal), and `auto_match` pairs a cohort optimally with scipy.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

# --- weights -----------------------------------------------------------------------------
# Points per factor. Areas weigh most: a mentor who can help with what the mentee asked for
# matters more than logistics. A pair's score is the plain sum, so the maximum for the
# built-in templates is 40 + 15 + 15 + 10 + 10 = 90.

AREAS_POINTS = 40  # scaled by the share of the mentee's wanted areas the mentor covers
TIMEZONE_POINTS = 15  # same time zone band: meeting times are easy to find
LANGUAGES_POINTS = 10  # at least one language in common
MEETING_POINTS = 10  # at least one way of meeting both can use
EXPERIENCE_MORE_POINTS = 15  # mentor further along than the mentee
EXPERIENCE_SAME_POINTS = 5  # same level: a peer can still help, less so
OTHER_POINTS = 10  # any other matching question, scaled by the share of the mentee's picks

# A bitmask holds one bit per option; the wizard allows 20 options a question, so 64 leaves
# room for a mentor and a mentee question whose option lists differ.
MAX_OPTIONS = 64

Kind = Literal["coverage", "shared", "ordered"]
Answers = Mapping[str, Any]

NO_TIMEZONE = "different time zone bands"
NO_LANGUAGE = "no language in common"
NO_MEETING = "no way of meeting in common"

_CHOICE_TYPES = ("single_choice", "multiple_choice")
_LABELS = {
    "areas": "Areas of help ∩ areas wanted",
    "experience": "Experience",
    "timezone": "Time zone",
    "languages": "Languages",
    "meeting": "Meeting",
}


# --- specs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class MatchSpec:
    """One mentor question compared with one mentee question.

    `options` is the shared vocabulary behind the bitmasks: the mentee question's options,
    then any the mentor question adds. An ordered spec compares positions instead, each in
    its own question's option list.
    """

    key: str
    label: str
    kind: Kind
    points: int
    mentor_question: str
    mentee_question: str
    mentor_options: tuple[str, ...]
    mentee_options: tuple[str, ...]
    options: tuple[str, ...]
    both_single: bool


def _is_matching_question(question: Mapping[str, Any]) -> bool:
    return bool(question.get("for_matching")) and question.get("type") in _CHOICE_TYPES


def _make_spec(mentor_q: Mapping[str, Any], mentee_q: Mapping[str, Any]) -> MatchSpec:
    key = mentor_q.get("match_key") or mentee_q.get("match_key") or str(mentee_q["id"])
    mentor_options = tuple(mentor_q.get("options") or ())
    mentee_options = tuple(mentee_q.get("options") or ())
    options = tuple(dict.fromkeys(mentee_options + mentor_options))
    if len(options) > MAX_OPTIONS:
        raise ValueError(f"Matching questions may have at most {MAX_OPTIONS} options: {key}.")
    both_single = mentor_q["type"] == mentee_q["type"] == "single_choice"
    kind: Kind
    if key == "areas":
        kind, points = "coverage", AREAS_POINTS
    elif key == "experience" and both_single:  # levels only compare one answer each
        kind, points = "ordered", EXPERIENCE_MORE_POINTS
    elif key == "timezone":
        kind, points = "shared", TIMEZONE_POINTS
    elif key == "languages":
        kind, points = "shared", LANGUAGES_POINTS
    elif key == "meeting":
        kind, points = "shared", MEETING_POINTS
    else:
        kind, points = "coverage", OTHER_POINTS
    if key in _LABELS:
        label = _LABELS[key]
    elif mentor_q.get("match_key") or mentee_q.get("match_key"):
        label = key.replace("_", " ").replace("-", " ").capitalize()
    else:
        label = str(mentee_q.get("text") or key)
    return MatchSpec(
        key=key,
        label=label,
        kind=kind,
        points=points,
        mentor_question=str(mentor_q["id"]),
        mentee_question=str(mentee_q["id"]),
        mentor_options=mentor_options,
        mentee_options=mentee_options,
        options=options,
        both_single=both_single,
    )


def match_specs(questions: Sequence[Mapping[str, Any]]) -> list[MatchSpec]:
    """Which mentor question is compared with which mentee question, in mentor question order.

    Questions pair by matching key; a matching question without a key (admins add those in
    the wizard) pairs with the other role's first unpaired matching question offering the
    same set of options. Anything left unpaired plays no part in matching.
    """
    mentor_qs = [q for q in questions if q.get("role") == "mentor" and _is_matching_question(q)]
    mentee_qs = [q for q in questions if q.get("role") == "mentee" and _is_matching_question(q)]
    partner: dict[int, int] = {}  # mentor question index -> mentee question index
    taken: set[int] = set()

    mentee_by_key = {q["match_key"]: j for j, q in enumerate(mentee_qs) if q.get("match_key")}
    for i, q in enumerate(mentor_qs):
        j = mentee_by_key.get(q.get("match_key")) if q.get("match_key") else None
        if j is not None:
            partner[i] = j
            taken.add(j)

    for i, q in enumerate(mentor_qs):
        if i in partner:
            continue
        options = set(q.get("options") or ())
        for j, other in enumerate(mentee_qs):
            if j in taken or set(other.get("options") or ()) != options:
                continue
            # Two keyed questions with different keys were meant for different things.
            if q.get("match_key") and other.get("match_key"):
                continue
            partner[i] = j
            taken.add(j)
            break

    return [_make_spec(mentor_qs[i], mentee_qs[partner[i]]) for i in sorted(partner)]


def _picked(answer: Any, options: Sequence[str]) -> list[str]:
    """The options an answer chose, in answer order; unknown options (say, one an admin has
    since removed) and blanks count as not chosen."""
    raw = [answer] if isinstance(answer, str) else answer
    if not isinstance(raw, list | tuple):
        return []
    known = set(options)
    return list(dict.fromkeys(a for a in raw if isinstance(a, str) and a in known))


# --- one pair, explained ------------------------------------------------------------------


@dataclass(frozen=True)
class Factor:
    """One reason a pair scored what it did."""

    key: str
    label: str
    detail: str
    points: int

    @property
    def explain(self) -> str:
        return f"{self.label[:1].lower()}{self.label[1:]}: {self.detail} ({self.points:+d})"

    def __str__(self) -> str:
        return self.explain


def _share(points: int, k: int, n: int) -> int:
    """points * k / n rounded half up, in integers so numpy gives the very same number."""
    return (2 * points * k + n) // (2 * n)


def _either(items: Sequence[str], word: str) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {word} {items[-1]}"


def _shared_detail(key: str, common: list[str]) -> str:
    if key == "timezone":
        return f"same time zone band: {_either(common, 'and')}" if common else NO_TIMEZONE
    if key == "languages":
        if not common:
            return NO_LANGUAGE
        noun = "language" if len(common) == 1 else "languages"
        return f"{noun} in common: {', '.join(common)}"
    if key == "meeting":
        return f"both can meet by {_either(common, 'or')}" if common else NO_MEETING
    return f"in common: {', '.join(common)}" if common else "nothing in common"


def _factor(spec: MatchSpec, mentor_answer: Any, mentee_answer: Any) -> Factor:
    mentor = _picked(mentor_answer, spec.mentor_options)
    mentee = _picked(mentee_answer, spec.mentee_options)
    if not mentor or not mentee:
        if not mentor and not mentee:
            detail = "not answered by either"
        else:
            detail = f"not answered by the {'mentor' if not mentor else 'mentee'}"
        return Factor(spec.key, spec.label, detail, 0)

    if spec.kind == "ordered":
        mine, theirs = spec.mentor_options.index(mentor[0]), spec.mentee_options.index(mentee[0])
        if mine > theirs:
            detail, points = f"mentor has more ({mentor[0]} vs {mentee[0]})", spec.points
        elif mine == theirs:
            detail, points = f"same level ({mentor[0]})", EXPERIENCE_SAME_POINTS
        else:
            detail, points = f"mentor has less ({mentor[0]} vs {mentee[0]})", 0
        return Factor(spec.key, spec.label, detail, points)

    offered = set(mentor)
    common = [o for o in mentee if o in offered]
    if spec.kind == "shared":
        points = spec.points if common else 0
        return Factor(spec.key, spec.label, _shared_detail(spec.key, common), points)

    points = _share(spec.points, len(common), len(mentee))
    if spec.both_single and spec.key != "areas":
        detail = f"same answer: {common[0]}" if common else "different answers"
    else:
        detail = f"{len(common)} of {len(mentee)}"
    return Factor(spec.key, spec.label, detail, points)


def score_pair(
    specs: Sequence[MatchSpec], mentor_answers: Answers, mentee_answers: Answers
) -> tuple[int, list[Factor]]:
    """How well this mentor fits this mentee: the score and the factors that add up to it."""
    factors = [
        _factor(s, mentor_answers.get(s.mentor_question), mentee_answers.get(s.mentee_question))
        for s in specs
    ]
    return sum(f.points for f in factors), factors


# --- whole cohorts, vectorised ------------------------------------------------------------


class _Encoded(NamedTuple):
    masks: npt.NDArray[np.uint64]  # one bit per option in spec.options; 0 = not answered
    levels: npt.NDArray[np.int64]  # ordered specs: position in own option list; -1 = missing


def _encode(
    spec: MatchSpec, role: Literal["mentor", "mentee"], people: Sequence[Answers]
) -> _Encoded:
    qid, own = (
        (spec.mentor_question, spec.mentor_options)
        if role == "mentor"
        else (spec.mentee_question, spec.mentee_options)
    )
    bit = {o: 1 << spec.options.index(o) for o in own}
    level = {o: i for i, o in enumerate(own)}
    # Many people give the same answer (one time zone band, "English"), so encode each
    # distinct answer once; the cache key keeps list order, which `_picked` depends on.
    cache: dict[Any, tuple[int, int]] = {}
    masks = np.zeros(len(people), dtype=np.uint64)
    levels = np.full(len(people), -1, dtype=np.int64)
    for n, answers in enumerate(people):
        answer = answers.get(qid)
        ckey = tuple(answer) if isinstance(answer, list) else answer
        try:
            code = cache[ckey]
        except KeyError:
            picked = _picked(answer, own)
            mask = 0
            for o in picked:
                mask |= bit[o]
            code = (mask, level[picked[0]] if picked else -1)
            cache[ckey] = code
        except TypeError:  # an unhashable, malformed answer
            picked = _picked(answer, own)
            code = (0, -1) if not picked else (sum(bit[o] for o in picked), level[picked[0]])
        masks[n], levels[n] = code
    return _Encoded(masks, levels)


def _share_table(points: int) -> npt.NDArray[np.int32]:
    """table[n, k] = _share(points, k, n); row 0 (mentee did not answer) is all zeros."""
    table = np.zeros((MAX_OPTIONS + 1, MAX_OPTIONS + 1), dtype=np.int32)
    for n in range(1, MAX_OPTIONS + 1):
        for k in range(n + 1):
            table[n, k] = _share(points, k, n)
    return table


_SHARE_TABLES = {p: _share_table(p) for p in (AREAS_POINTS, OTHER_POINTS)}


def _spec_points(spec: MatchSpec, mentees: _Encoded, mentors: _Encoded) -> npt.NDArray[np.int32]:
    if spec.kind == "ordered":
        e, m = mentees.levels[:, None], mentors.levels[None, :]
        answered = (e >= 0) & (m >= 0)
        out = np.where(m > e, spec.points, np.where(m == e, EXPERIENCE_SAME_POINTS, 0))
        return (out * answered).astype(np.int32)
    overlap = mentees.masks[:, None] & mentors.masks[None, :]
    if spec.kind == "shared":
        return (overlap != 0).astype(np.int32) * np.int32(spec.points)
    table = _SHARE_TABLES.get(spec.points)
    if table is None:
        table = _share_table(spec.points)
    wanted = np.bitwise_count(mentees.masks).astype(np.intp)
    return table[wanted[:, None], np.bitwise_count(overlap)]


def _score_encoded(
    specs: Sequence[MatchSpec], mentees: list[_Encoded], mentors: list[_Encoded]
) -> npt.NDArray[np.int32]:
    n_e = len(mentees[0].masks) if mentees else 0
    n_m = len(mentors[0].masks) if mentors else 0
    total = np.zeros((n_e, n_m), dtype=np.int32)
    for spec, e, m in zip(specs, mentees, mentors, strict=True):
        total += _spec_points(spec, e, m)
    return total


def score_matrix(
    specs: Sequence[MatchSpec], mentees: Sequence[Answers], mentors: Sequence[Answers]
) -> npt.NDArray[np.int32]:
    """Every mentee's score with every mentor (rows mentees, columns mentors); the same
    numbers `score_pair` gives one pair at a time."""
    if not specs:
        return np.zeros((len(mentees), len(mentors)), dtype=np.int32)
    return _score_encoded(
        specs,
        [_encode(s, "mentee", mentees) for s in specs],
        [_encode(s, "mentor", mentors) for s in specs],
    )


# --- suggestions for one mentee ----------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """Someone enrolled in the program: `free_capacity` is how many more mentees a mentor
    can take (not used for mentees)."""

    id: int
    answers: Answers
    free_capacity: int = 1


class Suggestion(NamedTuple):
    mentor_id: int
    score: int
    factors: list[Factor]


def suggest(
    specs: Sequence[MatchSpec],
    mentee_answers: Answers,
    mentors: Sequence[Candidate],
    *,
    k: int = 5,
    excluded: Collection[int] = frozenset(),
) -> list[Suggestion]:
    """The k best mentors for one mentee, best first (ties: lower mentor id first). Full
    mentors and `excluded` ids (blocked, already paired...) are never suggested."""
    open_mentors = [m for m in mentors if m.free_capacity > 0 and m.id not in excluded]
    if k <= 0 or not open_mentors:
        return []
    scores = score_matrix(specs, [mentee_answers], [m.answers for m in open_mentors])[0]
    ids = np.fromiter((m.id for m in open_mentors), dtype=np.int64, count=len(open_mentors))
    order = np.lexsort((ids, -scores.astype(np.int64)))[:k]
    suggestions = []
    for i in order:
        mentor = open_mentors[int(i)]
        score, factors = score_pair(specs, mentor.answers, mentee_answers)
        suggestions.append(Suggestion(mentor.id, score, factors))
    return suggestions


# --- the whole cohort at once -------------------------------------------------------------


# Every weight stays below this, so scipy's float64 arithmetic on them is exact with room
# to spare (integers are exact up to 2**53).
_EXACT_WEIGHT = 2**50


def _tie_tiers(
    priority: Sequence[int], n: int, score_max: int
) -> tuple[npt.NDArray[np.int64], int]:
    """Each mentee's tie-break bonus (0 for the last ranked) and how many bonus levels there
    are; ranks are merged into fewer levels only if a huge cohort would not stay exact."""
    ranks = np.asarray(priority, dtype=np.int64)
    if ranks.shape != (n,):
        raise ValueError("One priority per mentee (row) is needed.")
    if n == 0:
        return ranks, 1
    # Dense ranks 0..levels-1: equal priorities stay equal.
    _, dense = np.unique(ranks, return_inverse=True)
    levels = int(dense.max()) + 1
    # weight <= score_max * big + unit + levels, big ~ n * n * levels: keep it exact.
    room = _EXACT_WEIGHT // max(1, (score_max + 1) * (n + 1) * (n + 1))
    if levels > room:
        dense = dense * max(1, room) // levels
        levels = max(1, room)
    return (levels - 1 - dense).astype(np.int64), levels


def pair_weights(
    scores: npt.NDArray[np.integer[Any]],
    *,
    min_score: int,
    allowed: npt.NDArray[np.bool_] | None = None,
    priority: Sequence[int] | None = None,
) -> npt.NDArray[np.float64]:
    """What the assignment maximises: score * BIG + UNIT + bonus for a permitted pair, 0
    otherwise, in three strict tiers.

    UNIT makes the optimum prefer more pairs among equal total scores, and `bonus` (from
    `priority`: a rank per mentee, lower served first) makes it prefer the first-ranked
    mentees among those. UNIT exceeds every bonus the pairs can add up to, and BIG exceeds
    every UNIT and bonus together, so a tie-break never outweighs one pair or one score
    point. Float64 because that is what scipy works in (exact for integers up to 2**53).
    """
    n = scores.shape[0]  # a mentee is in at most one pair
    score_max = int(scores.max()) if scores.size else 0
    if priority is None:
        bonus, levels = np.zeros(n, dtype=np.int64), 1
    else:
        bonus, levels = _tie_tiers(priority, n, max(score_max, 0))
    unit = n * (levels - 1) + 1
    big = n * (unit + levels - 1) + 1
    permitted = scores >= min_score
    if allowed is not None:
        permitted &= allowed
    weights = scores.astype(np.float64)
    weights *= big
    weights += unit
    weights += bonus[:, None].astype(np.float64)
    weights *= permitted
    return weights


def expand_slots(
    scores: npt.NDArray[Any], capacities: Sequence[int]
) -> tuple[npt.NDArray[Any], npt.NDArray[np.intp]]:
    """One column per free place: each mentor's column repeated `capacity` times (none for
    a full mentor), and for each column the mentor it belongs to."""
    caps = np.clip(np.asarray(capacities, dtype=np.intp), 0, None)
    if len(caps) != scores.shape[1]:
        raise ValueError("One capacity per mentor (column) is needed.")
    slot_owner = np.repeat(np.arange(len(caps), dtype=np.intp), caps)
    return scores[:, slot_owner], slot_owner


def auto_match(
    scores: npt.NDArray[np.integer[Any]],
    capacities: Sequence[int],
    *,
    min_score: int,
    allowed: npt.NDArray[np.bool_] | None = None,
    priority: Sequence[int] | None = None,
) -> list[tuple[int, int, int]]:
    """The best pairing of a whole cohort: (mentee index, mentor index, score) triples, by
    mentee index.

    Each mentee gets at most one mentor, each mentor at most `capacity` mentees; pairs below
    `min_score` or not `allowed` are never made. Among pairings within those limits it has
    the highest total score, of those the most pairs, and of those the one that serves the
    mentees ranked first by `priority` (one rank per mentee, lower first; it maximises the
    sum over paired mentees of how many rank behind them). Without `priority`, ties between
    mentees fall where scipy puts them.
    """
    scores = np.asarray(scores)
    if scores.ndim != 2:
        raise ValueError("Scores must be a matrix of mentees by mentors.")
    if allowed is not None and allowed.shape != scores.shape:
        raise ValueError("`allowed` must have the shape of the scores.")
    matrix, slot_owner = expand_slots(
        pair_weights(scores, min_score=min_score, allowed=allowed, priority=priority),
        capacities,
    )
    if matrix.size == 0:
        return []
    rows, cols = linear_sum_assignment(matrix, maximize=True)
    made = matrix[rows, cols] > 0
    rows, mentors = rows[made], slot_owner[cols[made]]
    return [
        (int(r), int(m), int(s))
        for r, m, s in zip(rows, mentors, scores[rows, mentors], strict=True)
    ]


def auto_match_cohort(
    specs: Sequence[MatchSpec],
    mentees: Sequence[Candidate],
    mentors: Sequence[Candidate],
    *,
    min_score: int,
    forbidden: Collection[tuple[int, int]] = frozenset(),
    priority: Sequence[int] | None = None,
) -> list[tuple[int, int, int]]:
    """`auto_match` by ids: (mentee id, mentor id, score) triples, each mentor taking up to
    its free capacity and no (mentee id, mentor id) pair in `forbidden`; `priority` ranks
    the mentees (in `mentees` order, lower first) for ties."""
    if not mentees or not mentors:
        return []
    scores = score_matrix(specs, [e.answers for e in mentees], [m.answers for m in mentors])
    allowed: npt.NDArray[np.bool_] | None = None
    if forbidden:
        row = {e.id: i for i, e in enumerate(mentees)}
        col = {m.id: j for j, m in enumerate(mentors)}
        hits = [(row[e], col[m]) for e, m in forbidden if e in row and m in col]
        if hits:
            allowed = np.ones(scores.shape, dtype=bool)
            r, c = zip(*hits, strict=True)
            allowed[list(r), list(c)] = False
    triples = auto_match(
        scores,
        [m.free_capacity for m in mentors],
        min_score=min_score,
        allowed=allowed,
        priority=priority,
    )
    return [(mentees[i].id, mentors[j].id, s) for i, j, s in triples]
