"""How fast the matching engine pairs a synthetic Career advancement cohort.

Run `python -m bench.matching` (or `python bench/matching.py`); the last line printed is
one JSON object with the figures. `ratio` compares the whole auto-match with scipy's
assignment alone on the same matrix: what the engine adds on top of the unavoidable part.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from scipy.optimize import linear_sum_assignment
from sqlmodel import select

from bench import stop_cleanly_on_sigterm
from mentor_app.program_templates import get_template
from mentor_app.services.matching import (
    Candidate,
    MatchSpec,
    auto_match_cohort,
    expand_slots,
    match_specs,
    pair_weights,
    score_matrix,
    suggest,
)

# How often each band, language and way of meeting comes up, roughly.
TIMEZONE_WEIGHTS = {"Americas": 4, "Europe/Africa": 5, "Asia/Pacific": 2}
SECOND_LANGUAGES = ["Spanish", "French", "German", "Portuguese", "Hindi", "Mandarin Chinese"]
MEETING_WEIGHTS = {"Video call": 8, "Phone call": 3, "Chat": 4, "In person": 2}


def _some(rng: random.Random, weights: dict[str, int], low: int, high: int) -> list[str]:
    picked: list[str] = []
    options, w = list(weights), list(weights.values())
    for _ in range(rng.randint(low, high)):
        picked.append(rng.choices(options, w)[0])
    return list(dict.fromkeys(picked))


def person(rng: random.Random, role: str, questions: list[dict[str, Any]]) -> dict[str, Any]:
    """Plausible answers: mentors offer more areas and have more experience than mentees."""
    by_key = {q["match_key"]: q for q in questions if q["role"] == role and q["match_key"]}
    areas = by_key["areas"]["options"]
    levels = by_key["experience"]["options"]
    answers: dict[str, Any] = {}
    n_areas = rng.randint(2, 5) if role == "mentor" else rng.randint(1, 3)
    answers[by_key["areas"]["id"]] = rng.sample(areas, n_areas)
    low = 1 if role == "mentor" else 0
    answers[by_key["experience"]["id"]] = levels[
        min(len(levels) - 1, low + int(rng.triangular(0, len(levels), 1)))
    ]
    languages = ["English"] if rng.random() < 0.85 else []
    if rng.random() < 0.35 or not languages:
        languages.append(rng.choice(SECOND_LANGUAGES))
    answers[by_key["languages"]["id"]] = languages
    answers[by_key["timezone"]["id"]] = rng.choices(
        list(TIMEZONE_WEIGHTS), list(TIMEZONE_WEIGHTS.values())
    )[0]
    answers[by_key["meeting"]["id"]] = _some(rng, MEETING_WEIGHTS, 1, 3)
    return answers


def cohort(
    rng: random.Random, questions: list[dict[str, Any]], *, mentees: int, mentors: int
) -> tuple[list[Candidate], list[Candidate]]:
    return (
        [Candidate(id=i, answers=person(rng, "mentee", questions)) for i in range(mentees)],
        [
            Candidate(
                id=100_000 + j,
                answers=person(rng, "mentor", questions),
                free_capacity=rng.randint(1, 5),
            )
            for j in range(mentors)
        ],
    )


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench_auto_match(
    specs: list[MatchSpec],
    mentees: list[Candidate],
    mentors: list[Candidate],
    *,
    min_score: int,
    repeat: int,
) -> tuple[float, float, int]:
    """Median seconds of the whole auto-match and of the bare assignment, and pairs made."""
    scores = score_matrix(specs, [e.answers for e in mentees], [m.answers for m in mentors])
    matrix, _ = expand_slots(
        pair_weights(scores, min_score=min_score), [m.free_capacity for m in mentors]
    )
    pairs: list[tuple[int, int, int]] = []

    def whole() -> None:
        nonlocal pairs
        pairs = auto_match_cohort(specs, mentees, mentors, min_score=min_score)

    full, floor = [], []
    for _ in range(repeat):  # interleaved, so both see the same machine
        full.append(timed(whole))
        floor.append(timed(lambda: linear_sum_assignment(matrix, maximize=True)))
    return statistics.median(full), statistics.median(floor), len(pairs)


def bench_suggest(
    specs: list[MatchSpec],
    mentees: list[Candidate],
    mentors: list[Candidate],
) -> float:
    """Median milliseconds to suggest five mentors for one mentee."""
    times = []
    for mentee in mentees:
        start = time.perf_counter()
        suggest(specs, mentee.answers, mentors, k=5)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def bench_service(
    questions: list[dict[str, Any]],
    mentees: list[Candidate],
    mentors: list[Candidate],
    *,
    min_score: int,
) -> dict[str, float]:
    """The same cohort through `services.pairing` on SQLite: loading, locking, inserting
    one draft row per pair, as the workspace's Suggest all does. Run once."""
    import datetime as dt
    import tempfile
    from pathlib import Path

    from sqlmodel import Session

    from mentor_app import migrations
    from mentor_app.db import make_engine
    from mentor_app.models import Enrollment, Group, Membership, Program, User
    from mentor_app.services import pairing

    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
        migrations.upgrade(engine)
        with Session(engine, expire_on_commit=False) as db:
            admin = User(
                email="admin@bench.test",
                display_name="Admin",
                password_hash="x",
                date_of_birth=dt.date(1980, 1, 1),
            )
            db.add(admin)
            db.flush()
            group = Group(name="Bench", category="professional", created_by=admin.id)
            db.add(group)
            db.flush()
            db.add(Membership(group_id=group.id or 0, user_id=admin.id or 0, role="admin"))
            program = Program(
                group_id=group.id or 0,
                template_key="career_advancement",
                title="Bench",
                status="open",
                questions=questions,
                mentor_capacity_max=5,
                start_date=dt.date.today(),
            )
            db.add(program)
            db.flush()
            people = [(c, "mentee") for c in mentees] + [(c, "mentor") for c in mentors]
            users = [
                User(
                    email=f"p{i}@bench.test",
                    display_name=f"Person {i:05d}",
                    password_hash="x",
                    date_of_birth=dt.date(1990, 1, 1),
                )
                for i in range(len(people))
            ]
            db.add_all(users)
            db.flush()
            db.add_all(
                Enrollment(
                    program_id=program.id or 0,
                    user_id=user.id or 0,
                    role=role,
                    answers=dict(c.answers),
                    capacity=c.free_capacity if role == "mentor" else None,
                )
                for user, (c, role) in zip(users, people, strict=True)
            )
            db.commit()
            pid = program.id or 0
            first_mentee = db.exec(
                select(Enrollment.id).where(Enrollment.role == "mentee").limit(1)
            ).one()

            start = time.perf_counter()
            pairing.suggest_mentors(
                db, actor=admin, program_id=pid, mentee_enrollment_id=first_mentee or 0
            )
            one_ms = (time.perf_counter() - start) * 1000
            start = time.perf_counter()
            made = pairing.suggest_all(db, actor=admin, program_id=pid, min_score=min_score)
            db.commit()
            all_s = time.perf_counter() - start
            start = time.perf_counter()
            pairing.get_workspace(db, actor=admin, program_id=pid)
            page_s = time.perf_counter() - start
        engine.dispose()
    print(
        f"service on SQLite: suggestions {one_ms:.0f} ms, Suggest all {len(made)} drafts "
        f"in {all_s:.2f} s, workspace load {page_s:.2f} s"
    )
    return {
        "service_suggest_one_ms": round(one_ms, 1),
        "service_suggest_all_s": round(all_s, 3),
        "service_workspace_s": round(page_s, 3),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description="Time the matching engine on a synthetic cohort.")
    parser.add_argument("--mentees", type=int, default=2000)
    parser.add_argument("--mentors", type=int, default=500)
    parser.add_argument("--suggest-mentees", type=int, default=50)
    parser.add_argument("--min-score", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--service",
        action="store_true",
        help="also time the pairing service end to end on a temporary SQLite database",
    )
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    questions = list(get_template("career_advancement").questions)
    specs = match_specs(questions)
    mentees, mentors = cohort(rng, questions, mentees=args.mentees, mentors=args.mentors)
    slots = sum(m.free_capacity for m in mentors)

    auto_s, floor_s, made = bench_auto_match(
        specs, mentees, mentors, min_score=args.min_score, repeat=args.repeat
    )
    print(f"cohort: {args.mentees} mentees, {args.mentors} mentors, {slots} free places")
    print(f"auto-match: {made} pairs in {auto_s:.3f} s (median of {args.repeat})")
    print(f"assignment alone on the same matrix: {floor_s:.3f} s, ratio {auto_s / floor_s:.2f}")

    suggest_ms = bench_suggest(specs, mentees[: args.suggest_mentees], mentors)
    print(f"suggest 5 among {args.mentors} mentors: {suggest_ms:.1f} ms a mentee")

    figures = {
        "mentees": args.mentees,
        "mentors": args.mentors,
        "auto_match_s": round(auto_s, 4),
        "lsa_floor_s": round(floor_s, 4),
        "ratio": round(auto_s / floor_s, 3),
        "suggest_one_ms": round(suggest_ms, 2),
    }
    if args.service:
        figures.update(bench_service(questions, mentees, mentors, min_score=args.min_score))
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    stop_cleanly_on_sigterm()
    main()
