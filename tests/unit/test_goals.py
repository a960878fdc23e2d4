"""The goals a pair works toward: who sets them, their limits, progress and comments, the
history a page shows, the closing survey's answers, and the journey steps that link to them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlmodel import Session, col, select

from mentor_app.models import Goal, GoalUpdate, Pair
from mentor_app.program_templates import TEMPLATES
from mentor_app.services import chat, goals, journey, programs
from mentor_app.services.errors import Conflict, NotFound, PermissionDenied, ValidationError
from tests.factories import PairSetup, add_member, make_pair, make_program, make_user

# Noon UTC on a day of the journey: every date below is counted from it.
NOW = dt.datetime(2026, 2, 10, 12, tzinfo=dt.UTC)
TODAY = NOW.date()


@pytest.fixture
def setup(db: Session) -> PairSetup:
    return make_pair(db)


def _pid(setup: PairSetup) -> int:
    return setup.pair.id or 0


def _add(db: Session, setup: PairSetup, text: str = "Ship a side project", **kw: object) -> Goal:
    return goals.add_goal(db, actor=setup.mentee, pair_id=_pid(setup), text=text, now=NOW, **kw)  # type: ignore[arg-type]


# --- setting goals ------------------------------------------------------------------------------


def test_the_mentee_sets_a_goal_with_a_target_date_and_both_members_see_it(
    db: Session, setup: PairSetup
) -> None:
    target = TODAY + dt.timedelta(days=60)
    _add(db, setup, "  Lead a team   meeting  ", target_date=target.isoformat())

    for member in (setup.mentee, setup.mentor):
        view = goals.list_goals(db, actor=member, pair_id=_pid(setup))
        assert [(g.position, g.text, g.target_date, g.progress) for g in view.goals] == [
            (1, "Lead a team meeting", target, 0)
        ]
        assert view.can_change


def test_a_pair_has_at_most_three_goals(db: Session, setup: PairSetup) -> None:
    for n in range(3):
        _add(db, setup, f"Goal {n}")
    with pytest.raises(Conflict, match="at most 3 goals"):
        _add(db, setup, "A fourth")
    assert len(db.exec(select(Goal).where(Goal.pair_id == _pid(setup))).all()) == 3


def test_removing_a_goal_frees_its_place_for_another(db: Session, setup: PairSetup) -> None:
    first, second, _third = (_add(db, setup, f"Goal {n}") for n in range(3))
    goals.mark_progress(db, actor=setup.mentor, pair_id=_pid(setup), goal_id=second.id, progress=30)
    goals.remove_goal(db, actor=setup.mentee, pair_id=_pid(setup), goal_id=second.id)

    again = _add(db, setup, "A new second goal")

    assert again.position == 2
    view = goals.list_goals(db, actor=setup.mentee, pair_id=_pid(setup))
    assert [g.text for g in view.goals] == ["Goal 0", "A new second goal", "Goal 2"]
    assert db.exec(select(GoalUpdate).where(GoalUpdate.goal_id == second.id)).all() == []
    assert first.position == 1


@pytest.mark.parametrize("text", ["", "   ", "\n\t", "x" * 201])
def test_a_goal_needs_one_to_two_hundred_characters(
    db: Session, setup: PairSetup, text: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        _add(db, setup, text)
    assert refused.value.field == "text"


def test_two_hundred_characters_after_trimming_is_enough(db: Session, setup: PairSetup) -> None:
    assert _add(db, setup, "  " + "y" * 200 + "  ").text == "y" * 200


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (TODAY - dt.timedelta(days=1), "from today on"),
        (TODAY + dt.timedelta(days=goals.TARGET_DAYS_MAX + 1), "within the next two years"),
        ("next spring", "Choose a date"),
    ],
)
def test_a_target_date_is_not_in_the_past_nor_absurdly_far(
    db: Session, setup: PairSetup, target: object, message: str
) -> None:
    with pytest.raises(ValidationError, match=message) as refused:
        _add(db, setup, target_date=str(target))
    assert refused.value.field == "target_date"


def test_today_and_two_years_on_are_fine_target_dates(db: Session, setup: PairSetup) -> None:
    assert _add(db, setup, target_date=TODAY.isoformat()).target_date == TODAY
    far = TODAY + dt.timedelta(days=goals.TARGET_DAYS_MAX)
    assert _add(db, setup, "Two", target_date=far).target_date == far
    assert _add(db, setup, "Three", target_date="").target_date is None


def test_the_mentee_edits_a_goal_and_may_keep_a_target_date_that_has_passed(
    db: Session, setup: PairSetup
) -> None:
    target = TODAY + dt.timedelta(days=3)
    goal = _add(db, setup, target_date=target)
    later = NOW + dt.timedelta(days=10)  # the target date has passed by now
    goals.edit_goal(
        db, actor=setup.mentee, pair_id=_pid(setup), goal_id=goal.id,
        text="Ship it and write it up", target_date=target.isoformat(), now=later,
    )  # fmt: skip
    assert (goal.text, goal.target_date) == ("Ship it and write it up", target)
    with pytest.raises(ValidationError, match="from today on"):
        goals.edit_goal(
            db, actor=setup.mentee, pair_id=_pid(setup), goal_id=goal.id,
            text="Ship it", target_date=(target + dt.timedelta(days=1)).isoformat(), now=later,
        )  # fmt: skip


# --- who may do what ------------------------------------------------------------------------


def test_the_mentor_cannot_set_edit_or_remove_the_goals(db: Session, setup: PairSetup) -> None:
    goal = _add(db, setup)
    pid = _pid(setup)
    with pytest.raises(PermissionDenied, match="Only the mentee"):
        goals.add_goal(db, actor=setup.mentor, pair_id=pid, text="My idea", now=NOW)
    with pytest.raises(PermissionDenied, match="Only the mentee"):
        goals.edit_goal(db, actor=setup.mentor, pair_id=pid, goal_id=goal.id, text="Reworded")
    with pytest.raises(PermissionDenied, match="Only the mentee"):
        goals.remove_goal(db, actor=setup.mentor, pair_id=pid, goal_id=goal.id)
    db.refresh(goal)
    assert goal.text == "Ship a side project"


def test_only_the_mentor_comments(db: Session, setup: PairSetup) -> None:
    goal = _add(db, setup)
    with pytest.raises(PermissionDenied, match="Comments are the mentor's"):
        goals.comment(db, actor=setup.mentee, pair_id=_pid(setup), goal_id=goal.id, note="Me")
    goals.comment(db, actor=setup.mentor, pair_id=_pid(setup), goal_id=goal.id, note="Nice")
    with pytest.raises(ValidationError, match="Write your comment"):
        goals.comment(db, actor=setup.mentor, pair_id=_pid(setup), goal_id=goal.id, note="  ")
    with pytest.raises(ValidationError, match="at most 500"):
        goals.comment(db, actor=setup.mentor, pair_id=_pid(setup), goal_id=goal.id, note="z" * 501)
    kinds = db.exec(select(GoalUpdate.kind).where(GoalUpdate.goal_id == goal.id)).all()
    assert kinds == ["comment"]


def _every_act(db: Session, setup: PairSetup, goal: Goal) -> list[Callable[[object], object]]:
    pid, gid = _pid(setup), goal.id
    return [
        lambda u: goals.list_goals(db, actor=u, pair_id=pid),  # type: ignore[arg-type]
        lambda u: goals.add_goal(db, actor=u, pair_id=pid, text="Mine", now=NOW),  # type: ignore[arg-type]
        lambda u: goals.edit_goal(db, actor=u, pair_id=pid, goal_id=gid, text="Mine"),  # type: ignore[arg-type]
        lambda u: goals.remove_goal(db, actor=u, pair_id=pid, goal_id=gid),  # type: ignore[arg-type]
        lambda u: goals.mark_progress(db, actor=u, pair_id=pid, goal_id=gid, progress=50),  # type: ignore[arg-type]
        lambda u: goals.comment(db, actor=u, pair_id=pid, goal_id=gid, note="Hi"),  # type: ignore[arg-type]
    ]


def test_outsiders_and_the_groups_admin_can_neither_see_nor_touch_the_goals(
    db: Session, setup: PairSetup
) -> None:
    goal = _add(db, setup)
    stranger = make_user(db)
    add_member(db, setup.group, stranger)
    for outsider in (stranger, setup.admin):
        for act in _every_act(db, setup, goal):
            with pytest.raises(NotFound, match="Pair not found"):
                act(outsider)
    db.refresh(goal)
    assert (goal.text, goal.progress) == ("Ship a side project", 0)


def test_another_pairs_goal_is_not_found_through_this_pair(db: Session, setup: PairSetup) -> None:
    other = make_pair(db)
    theirs = goals.add_goal(db, actor=other.mentee, pair_id=_pid(other), text="Theirs", now=NOW)
    with pytest.raises(NotFound, match="goal doesn't exist"):
        goals.mark_progress(
            db, actor=setup.mentee, pair_id=_pid(setup), goal_id=theirs.id, progress=10
        )
    with pytest.raises(NotFound, match="goal doesn't exist"):
        goals.remove_goal(db, actor=setup.mentee, pair_id=_pid(setup), goal_id=theirs.id)
    assert db.get(Goal, theirs.id) is not None


def test_an_ended_pairs_goals_are_read_only(db: Session, setup: PairSetup) -> None:
    goal = _add(db, setup)
    journey.end_pair(db, actor=setup.mentor, pair_id=_pid(setup), reason="no_longer_available")
    view = goals.list_goals(db, actor=setup.mentee, pair_id=_pid(setup))
    assert [g.text for g in view.goals] == ["Ship a side project"] and not view.can_change
    for member in (setup.mentee, setup.mentor):
        for act in _every_act(db, setup, goal)[1:]:
            with pytest.raises((Conflict, PermissionDenied)):
                act(member)
    assert db.exec(select(GoalUpdate)).all() == []


def test_nothing_changes_across_a_block(db: Session, setup: PairSetup) -> None:
    goal = _add(db, setup)
    chat.block_partner(db, actor=setup.mentor, pair_id=_pid(setup))
    # Even were the pair still active (a block and an end are one act; here the row is put
    # back by hand), the block alone refuses every change.
    pair = db.get(Pair, _pid(setup))
    assert pair is not None
    pair.status = "active"
    db.add(pair)
    db.flush()
    for member in (setup.mentee, setup.mentor):
        with pytest.raises(Conflict, match="block"):
            goals.mark_progress(db, actor=member, pair_id=_pid(setup), goal_id=goal.id, progress=20)
    with pytest.raises(Conflict, match="block"):
        _add(db, setup, "After the block")
    assert not goals.list_goals(db, actor=setup.mentee, pair_id=_pid(setup)).can_change


# --- progress -------------------------------------------------------------------------------


def test_either_member_marks_progress_with_a_note_and_the_goal_keeps_the_latest(
    db: Session, setup: PairSetup
) -> None:
    goal = _add(db, setup)
    goals.mark_progress(
        db, actor=setup.mentee, pair_id=_pid(setup), goal_id=goal.id, progress="30",
        note="Drafted the outline",
    )  # fmt: skip
    goals.mark_progress(db, actor=setup.mentor, pair_id=_pid(setup), goal_id=goal.id, progress=60)
    db.refresh(goal)
    assert goal.progress == 60
    entries = goals.list_goals(db, actor=setup.mentee, pair_id=_pid(setup)).goals[0].entries
    assert [(e.kind, e.progress, e.note, e.name, e.role) for e in entries] == [
        ("progress", 60, "", "Maya", "mentor"),
        ("progress", 30, "Drafted the outline", "Theo", "mentee"),
    ]


@pytest.mark.parametrize("progress", [35, 110, -10, "5", "half", "", None, True, 10.5])
def test_progress_moves_in_steps_of_ten_from_zero_to_a_hundred(
    db: Session, setup: PairSetup, progress: object
) -> None:
    goal = _add(db, setup)
    with pytest.raises(ValidationError, match="steps of 10") as refused:
        goals.mark_progress(
            db, actor=setup.mentee, pair_id=_pid(setup), goal_id=goal.id, progress=progress
        )
    assert refused.value.field == "progress"
    db.refresh(goal)
    assert goal.progress == 0


@pytest.mark.parametrize("progress", [0, 10, 50, 100, "70"])
def test_every_step_of_ten_is_a_progress_mark(
    db: Session, setup: PairSetup, progress: object
) -> None:
    goal = _add(db, setup)
    goals.mark_progress(
        db, actor=setup.mentee, pair_id=_pid(setup), goal_id=goal.id, progress=progress
    )
    assert goal.progress == int(str(progress))


def test_a_progress_note_is_at_most_five_hundred_characters(db: Session, setup: PairSetup) -> None:
    goal = _add(db, setup)
    with pytest.raises(ValidationError, match="at most 500") as refused:
        goals.mark_progress(
            db, actor=setup.mentee, pair_id=_pid(setup), goal_id=goal.id, progress=10,
            note="n" * 501,
        )  # fmt: skip
    assert refused.value.field == "note"


def test_the_history_is_newest_first_and_bounded(db: Session, setup: PairSetup) -> None:
    goal = _add(db, setup)
    for n in range(25):
        goals.mark_progress(
            db, actor=setup.mentee, pair_id=_pid(setup), goal_id=goal.id,
            progress=(n % 11) * 10, note=f"entry {n}",
        )  # fmt: skip
    shown = goals.list_goals(db, actor=setup.mentor, pair_id=_pid(setup)).goals[0]
    assert len(shown.entries) == goals.HISTORY_SHOWN == 20
    assert shown.entries_total == 25
    assert [e.note for e in shown.entries] == [f"entry {n}" for n in range(24, 4, -1)]
    times = [e.created_at for e in shown.entries]
    assert times == sorted(times, reverse=True)


# --- the closing survey ---------------------------------------------------------------------


def _at_the_end(db: Session, setup: PairSetup) -> None:
    for member in (setup.mentee, setup.mentor):
        journey.mark_step_done(db, actor=member, pair_id=_pid(setup), week=8)


def test_the_closing_survey_asks_how_far_each_goal_got_once_per_member(
    db: Session, setup: PairSetup
) -> None:
    first, second = _add(db, setup, "First"), _add(db, setup, "Second")
    _at_the_end(db, setup)
    pid, end = _pid(setup), setup.at_week(9)
    answers = {str(first.id): "80", str(second.id): "40"}

    journey.complete_pair(
        db, actor=setup.mentee, pair_id=pid, rating=5, goal_answers=answers, now=end
    )
    journey.complete_pair(
        db, actor=setup.mentor, pair_id=pid, rating=4,
        goal_answers={str(first.id): 70, str(second.id): 50}, now=end,
    )  # fmt: skip
    with pytest.raises(Conflict, match="already sent"):
        journey.complete_pair(
            db, actor=setup.mentor, pair_id=pid, rating=4, goal_answers=answers, now=end
        )

    rows = db.exec(
        select(GoalUpdate.goal_id, GoalUpdate.user_id, GoalUpdate.progress)
        .where(GoalUpdate.kind == "survey")
        .order_by(col(GoalUpdate.user_id), col(GoalUpdate.goal_id))
    ).all()
    mentor, mentee = setup.mentor.id, setup.mentee.id
    assert sorted(rows) == sorted(
        [(first.id, mentee, 80), (second.id, mentee, 40), (first.id, mentor, 70),
         (second.id, mentor, 50)]
    )  # fmt: skip
    entry = goals.list_goals(db, actor=setup.mentee, pair_id=pid).goals[0].entries[0]
    assert (entry.kind, entry.progress, entry.role) == ("survey", 70, "mentor")


@pytest.mark.parametrize(
    ("answers", "field"),
    [
        ({}, "goal-{first}"),  # no answer
        ({"{first}": "80"}, "goal-{second}"),  # one goal left out
        ({"{first}": "35", "{second}": "40"}, "goal-{first}"),  # not a step of ten
        ({"{first}": "80", "{second}": "110"}, "goal-{second}"),
        ({"{first}": "80", "{second}": "40", "999999": "10"}, "survey"),  # another goal
    ],
)
def test_the_survey_needs_a_step_of_ten_for_every_goal_and_completes_nothing_without(
    db: Session, setup: PairSetup, answers: dict[str, str], field: str
) -> None:
    first, second = _add(db, setup, "First"), _add(db, setup, "Second")
    _at_the_end(db, setup)
    ids = {"first": first.id, "second": second.id}
    given = {k.format(**ids): v for k, v in answers.items()}
    with pytest.raises(ValidationError) as refused:
        journey.complete_pair(
            db, actor=setup.mentee, pair_id=_pid(setup), rating=5, goal_answers=given,
            now=setup.at_week(9),
        )  # fmt: skip
    assert refused.value.field == field.format(**ids)
    assert db.get(Pair, _pid(setup)).status == "active"  # type: ignore[union-attr]
    assert db.exec(select(GoalUpdate).where(GoalUpdate.kind == "survey")).all() == []


def test_a_pair_without_goals_completes_with_no_goal_answers(db: Session, setup: PairSetup) -> None:
    _at_the_end(db, setup)
    journey.complete_pair(
        db, actor=setup.mentee, pair_id=_pid(setup), rating=5, now=setup.at_week(9)
    )
    assert db.get(Pair, _pid(setup)).status == "completed"  # type: ignore[union-attr]


def test_the_survey_form_fields_name_their_goal() -> None:
    form = {"rating": "5", "goal-7": "60", "goal-12": "", "takeaway": "x"}
    assert goals.survey_fields(form) == {"7": "60", "12": ""}


# --- the journey's goal steps -----------------------------------------------------------------

GOAL_STEPS = {
    "career_advancement": ["First meeting and goals", "Mid-point review", "Wrap-up and next steps"],
    "skills_development": [
        "First meeting and a skill goal",
        "Mid-point review",
        "Show, reflect and keep going",
    ],
    "encouragement_support": [
        "Meeting each other and setting the tone",
        "Mid-point check-in",
        "Wrap-up and goodbye",
    ],
}


@pytest.mark.parametrize("key", sorted(GOAL_STEPS))
def test_the_templates_mark_the_first_the_halfway_and_the_last_step_as_goal_steps(
    key: str,
) -> None:
    journey_steps = TEMPLATES[key].journey
    flagged = [s["title"] for s in journey_steps if goals.is_goal_step(s)]
    assert flagged == GOAL_STEPS[key]
    assert goals.is_goal_step(journey_steps[0]) and goals.is_goal_step(journey_steps[-1])


def test_a_programs_goal_steps_link_to_the_goals_on_the_pair_page(
    db: Session, setup: PairSetup
) -> None:
    steps = journey.get_journey(db, actor=setup.mentee, pair_id=_pid(setup)).steps
    assert [s.week for s in steps if s.goal] == [1, 5, 8]


def test_the_goal_flag_survives_the_wizard_and_an_admin_can_drop_it(db: Session) -> None:
    admin = make_user(db)
    program = make_program(db, admin=admin, status="draft")
    assert [s["week"] for s in program.journey if goals.is_goal_step(s)] == [1, 5, 8]
    edited = [dict(s) for s in program.journey]
    edited[4].pop("goal")
    edited[2]["goal"] = "yes"  # only a true flag counts
    programs.save_journey(db, actor=admin, program_id=program.id or 0, journey=edited)
    assert [s["week"] for s in program.journey if goals.is_goal_step(s)] == [1, 8]
    assert [(s["week"], s["goal"]) for s in program.journey if "goal" in s] == [
        (1, True),
        (8, True),
    ]


# --- the open pages' refresh after a closing survey -------------------------------------------


@pytest.mark.sqlite_only(reason="SQLite's write lock")
def test_the_goals_refresh_reads_while_another_writer_holds_the_lock(
    db: Session, setup: PairSetup, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full `make test` once held the lock past every retry (the test's own session had
    left a transaction open): a refresh that only reads must not wait for any writer."""
    import sqlite3
    import time

    from mentor_app import db as database
    from state.goals import _view_as_system

    _add(db, setup)
    db.commit()
    engine = db.get_bind()
    monkeypatch.setattr(database, "get_engine", lambda: engine)
    writer = sqlite3.connect(str(engine.url.database), isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # another writer holds the lock throughout
    try:
        started = time.perf_counter()
        view = _view_as_system(_pid(setup))
        assert time.perf_counter() - started < 1
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert view is not None and [g.text for g in view.goals] == ["Ship a side project"]
