"""A pair's journey: weeks, steps, check-ins, the fit check, ending and completing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from mentor_app.models import CheckIn, Enrollment, Notification, Pair
from mentor_app.services import journey, pairing
from mentor_app.services.errors import Conflict, NotFound, ValidationError
from tests.factories import PairSetup, add_member, make_application, make_pair, make_user
from tests.support.race import race


@pytest.fixture
def setup(db: Session) -> PairSetup:
    return make_pair(db)


# --- weeks -------------------------------------------------------------------------------


START = dt.date(2026, 3, 2)


@pytest.mark.parametrize(
    ("today", "week"),
    [
        (dt.date(2026, 3, 1), 0),  # the day before the start
        (dt.date(2026, 2, 1), 0),  # a start date still weeks away
        (dt.date(2026, 3, 2), 1),  # the start date itself
        (dt.date(2026, 3, 8), 1),  # the seventh day
        (dt.date(2026, 3, 9), 2),  # the eighth day starts week 2
        (dt.date(2026, 4, 26), 8),  # the last day of an eight-week journey
        (dt.date(2026, 4, 27), 9),  # past the end: the number keeps growing
    ],
)
def test_the_journey_week_is_counted_from_the_pairs_start_date(today: dt.date, week: int) -> None:
    assert journey.week_of(START, today) == week


def test_no_start_date_means_the_journey_has_not_started() -> None:
    assert journey.week_of(None, dt.date(2026, 3, 9)) == 0


def test_the_week_turns_at_local_midnight_in_the_members_time_zone() -> None:
    # 16:30 UTC on the seventh day is already the eighth day in Tokyo (UTC+9).
    moment = dt.datetime(2026, 3, 8, 16, 30, tzinfo=dt.UTC)
    assert journey.week_of(START, journey.local_date(moment, "UTC")) == 1
    assert journey.week_of(START, journey.local_date(moment, "Asia/Tokyo")) == 2
    # And 03:00 UTC on the eighth day is still the seventh in Los Angeles.
    early = dt.datetime(2026, 3, 9, 3, 0, tzinfo=dt.UTC)
    assert journey.week_of(START, journey.local_date(early, "America/Los_Angeles")) == 1


@pytest.mark.parametrize("name", ["", "Mars/Olympus", "../etc/passwd", "x" * 200, None])
def test_an_unknown_time_zone_counts_as_utc(name: str | None) -> None:
    assert journey.clean_timezone(name) == "UTC"


def test_the_page_counts_weeks_in_the_viewers_own_time_zone(db: Session, setup: PairSetup) -> None:
    journey.set_timezone(db, actor=setup.mentee, timezone="Asia/Tokyo")
    assert setup.pair.start_date is not None
    seventh = setup.pair.start_date + dt.timedelta(days=6)
    moment = dt.datetime(seventh.year, seventh.month, seventh.day, 16, tzinfo=dt.UTC)
    mentee_view = journey.get_journey(
        db, actor=setup.mentee, pair_id=setup.pair.id or 0, now=moment
    )
    mentor_view = journey.get_journey(
        db, actor=setup.mentor, pair_id=setup.pair.id or 0, now=moment
    )
    assert (mentee_view.current_week, mentor_view.current_week) == (2, 1)


# --- who may see and act -----------------------------------------------------------------


def test_only_the_two_members_can_open_or_act_on_the_pair(db: Session, setup: PairSetup) -> None:
    stranger = make_user(db)
    add_member(db, setup.group, stranger)
    pid = setup.pair.id or 0
    now = setup.at_week(2)
    actions: list[Callable[[object], object]] = [
        lambda u: journey.get_journey(db, actor=u, pair_id=pid, now=now),  # type: ignore[arg-type]
        lambda u: journey.mark_step_done(db, actor=u, pair_id=pid, week=1),  # type: ignore[arg-type]
        lambda u: journey.save_check_in(db, actor=u, pair_id=pid, mood=3, met="yes", now=now),  # type: ignore[arg-type]
        lambda u: journey.answer_fit_check(db, actor=u, pair_id=pid, answer="good", now=now),  # type: ignore[arg-type]
        lambda u: journey.complete_pair(db, actor=u, pair_id=pid, rating=5, now=now),  # type: ignore[arg-type]
    ]
    for outsider in (stranger, setup.admin):  # the admin sees counts in the workspace only
        for action in actions:
            with pytest.raises(NotFound, match="Pair not found"):
                action(outsider)
    with pytest.raises(NotFound, match="Pair not found"):
        journey.end_pair(db, actor=stranger, pair_id=pid, reason="other", detail="x")


def test_a_draft_pair_does_not_exist_for_its_members(db: Session, setup: PairSetup) -> None:
    mentee = make_user(db)
    add_member(db, setup.group, mentee)
    enrollment = make_application(db, program=setup.program, user=mentee)
    draft = pairing.pair_by_hand(
        db, actor=setup.admin, program_id=setup.program.id or 0,
        mentee_enrollment_id=enrollment.id or 0,
        mentor_enrollment_id=setup.mentor_enrollment.id or 0,
    )  # fmt: skip
    with pytest.raises(NotFound):
        journey.get_journey(db, actor=mentee, pair_id=draft.id or 0)


# --- steps ---------------------------------------------------------------------------------


def test_marking_a_step_done_shows_who_and_when_to_both(db: Session, setup: PairSetup) -> None:
    pid = setup.pair.id or 0
    journey.mark_step_done(db, actor=setup.mentee, pair_id=pid, week=1)
    journey.mark_step_done(db, actor=setup.mentee, pair_id=pid, week=1)  # twice: one mark

    view = journey.get_journey(db, actor=setup.mentor, pair_id=pid, now=setup.at_week(1))

    assert [name for name, _when in view.steps[0].done_by] == ["Theo"]
    assert view.steps[0].done_by_me is False
    # One mark is one member's word: the step is done once both marked it.
    assert not view.steps[0].done and view.weeks_done == 0 and view.steps[1].done_by == []

    journey.mark_step_done(db, actor=setup.mentor, pair_id=pid, week=1)
    view = journey.get_journey(db, actor=setup.mentor, pair_id=pid, now=setup.at_week(1))
    assert [name for name, _when in view.steps[0].done_by] == ["Theo", "Maya"]
    assert view.steps[0].done and view.steps[0].done_by_me and view.weeks_done == 1


def test_a_member_can_take_back_their_own_mark_only(db: Session, setup: PairSetup) -> None:
    pid = setup.pair.id or 0
    journey.mark_step_done(db, actor=setup.mentee, pair_id=pid, week=2)
    journey.mark_step_done(db, actor=setup.mentor, pair_id=pid, week=2)
    journey.undo_step(db, actor=setup.mentee, pair_id=pid, week=2)
    view = journey.get_journey(db, actor=setup.mentee, pair_id=pid)
    assert [name for name, _ in view.steps[1].done_by] == ["Maya"]


@pytest.mark.parametrize("week", [0, 9, -1, "1", True])
def test_a_step_that_does_not_exist_is_refused(db: Session, setup: PairSetup, week: object) -> None:
    with pytest.raises(ValidationError):
        journey.mark_step_done(db, actor=setup.mentee, pair_id=setup.pair.id or 0, week=week)  # type: ignore[arg-type]


# --- check-ins -------------------------------------------------------------------------------


def _check_in(setup: PairSetup, db: Session, week: int, **kw: object) -> CheckIn:
    args: dict[str, object] = {"mood": 4, "met": "yes", "note": "Good talk.", **kw}
    return journey.save_check_in(
        db,
        actor=setup.mentee,
        pair_id=setup.pair.id or 0,
        now=setup.at_week(week),
        **args,  # type: ignore[arg-type]
    )


def test_a_check_in_is_for_the_members_current_week_and_can_be_edited_that_week(
    db: Session, setup: PairSetup
) -> None:
    first = _check_in(setup, db, 1, mood=2, note="Slow start.")
    edited = _check_in(setup, db, 1, mood=4, met="no", note="Better after all.")
    db.commit()

    assert edited.id == first.id and edited.week == 1
    rows = db.exec(select(CheckIn)).all()
    assert [(r.week, r.mood, r.met, r.note) for r in rows] == [(1, 4, False, "Better after all.")]


def test_past_weeks_are_read_only(db: Session, setup: PairSetup) -> None:
    _check_in(setup, db, 1, mood=2, note="Week one.")
    _check_in(setup, db, 2, mood=5, note="Week two.")  # next week: a new row, week 1 untouched
    db.commit()
    rows = db.exec(select(CheckIn).order_by(CheckIn.week)).all()  # type: ignore[arg-type]
    assert [(r.week, r.mood, r.note) for r in rows] == [(1, 2, "Week one."), (2, 5, "Week two.")]
    view = journey.get_journey(db, actor=setup.mentor, pair_id=setup.pair.id or 0)
    assert [(c.week, c.name, c.note) for c in view.check_ins] == [
        (2, "Theo", "Week two."),
        (1, "Theo", "Week one."),
    ]


def test_check_ins_outside_the_journeys_weeks_are_refused(db: Session, setup: PairSetup) -> None:
    with pytest.raises(Conflict, match="hasn't started"):
        _check_in(setup, db, 0)
    with pytest.raises(Conflict, match="weeks are over"):
        _check_in(setup, db, 9)


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"mood": 0}, "mood"),
        ({"mood": "6"}, "mood"),
        ({"mood": "great"}, "mood"),
        ({"met": "maybe"}, "met"),
        ({"note": "x" * 1001}, "note"),
    ],
)
def test_a_bad_check_in_is_refused_next_to_its_field(
    db: Session, setup: PairSetup, kw: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        _check_in(setup, db, 1, **kw)
    assert refused.value.field == field
    assert db.exec(select(CheckIn)).all() == []


def test_two_check_ins_sent_at_once_make_one_row(any_engine: Engine) -> None:
    with Session(any_engine, expire_on_commit=False) as db:
        setup = make_pair(db)

    def send(mood: int) -> Callable[[Session], object]:
        return lambda session: journey.save_check_in(
            session, actor=setup.mentee, pair_id=setup.pair.id or 0,
            mood=mood, met="yes", now=setup.at_week(1),
        )  # fmt: skip

    results = race(any_engine, send(3), send(5))

    assert not [r for r in results if isinstance(r, Exception)], results
    with Session(any_engine) as db:
        rows = db.exec(select(CheckIn)).all()
    assert len(rows) == 1 and rows[0].mood in (3, 5)


# --- fit check -------------------------------------------------------------------------------


def test_the_fit_check_opens_after_week_one_and_is_answered_once(
    db: Session, setup: PairSetup
) -> None:
    pid = setup.pair.id or 0
    assert not journey.get_journey(
        db, actor=setup.mentee, pair_id=pid, now=setup.at_week(1)
    ).fit_check_due
    with pytest.raises(Conflict, match="after your first week"):
        journey.answer_fit_check(
            db, actor=setup.mentee, pair_id=pid, answer="good", now=setup.at_week(1)
        )
    assert journey.get_journey(
        db, actor=setup.mentee, pair_id=pid, now=setup.at_week(2)
    ).fit_check_due

    journey.answer_fit_check(
        db, actor=setup.mentee, pair_id=pid, answer="good", now=setup.at_week(2)
    )
    with pytest.raises(Conflict, match="already answered"):
        journey.answer_fit_check(
            db, actor=setup.mentee, pair_id=pid, answer="not_good", now=setup.at_week(3)
        )
    view = journey.get_journey(db, actor=setup.mentee, pair_id=pid, now=setup.at_week(3))
    assert not view.fit_check_due and view.my_fit_answer == "good"
    assert db.exec(select(Notification).where(Notification.kind == "fit_alert")).all() == []


def test_not_a_good_fit_alerts_the_programs_admins(db: Session, setup: PairSetup) -> None:
    journey.answer_fit_check(
        db, actor=setup.mentor, pair_id=setup.pair.id or 0, answer="not_good", now=setup.at_week(2)
    )
    alerts = db.exec(select(Notification).where(Notification.kind == "fit_alert")).all()
    assert [(a.user_id, a.text) for a in alerts] == [
        (
            setup.admin.id,
            f"Maya says their pair with Theo in “{setup.program.title}” is not a good fit.",
        )
    ]
    assert alerts[0].link == f"/programs/{setup.program.id}/pairing"


# --- ending ----------------------------------------------------------------------------------


def _waiting(db: Session, setup: PairSetup) -> list[tuple[str, bool]]:
    ws = pairing.get_workspace(db, actor=setup.admin, program_id=setup.program.id or 0)
    return [(m.name, m.rematch) for m in ws.mentees_waiting.items]


def test_the_mentor_ending_the_pair_gives_the_mentee_rematch_priority(
    db: Session, setup: PairSetup
) -> None:
    pid = setup.pair.id or 0
    journey.end_pair(db, actor=setup.mentor, pair_id=pid, reason="not_a_good_fit", rating=2)
    db.commit()

    pair = db.get(Pair, pid)
    assert pair is not None and pair.status == "ended" and pair.mentor_seat is None
    assert _waiting(db, setup) == [("Theo", True)]
    ws = pairing.get_workspace(db, actor=setup.admin, program_id=setup.program.id or 0)
    assert [(e.reason, e.rating) for e in ws.ended.items] == [("not_a_good_fit", 2)]
    told = db.exec(select(Notification).where(Notification.kind == "pair_ended")).all()
    assert [(n.user_id, n.text) for n in told] == [
        (setup.mentee.id, f"Your pair with Maya in “{setup.program.title}” has ended.")
    ]


def test_an_ended_pair_is_read_only_but_its_history_stays(db: Session, setup: PairSetup) -> None:
    pid = setup.pair.id or 0
    _check_in(setup, db, 1, note="Our first week.")
    journey.end_pair(db, actor=setup.mentor, pair_id=pid, reason="no_longer_available")
    with pytest.raises(Conflict, match="read-only"):
        journey.mark_step_done(db, actor=setup.mentee, pair_id=pid, week=1)
    with pytest.raises(Conflict, match="read-only"):
        _check_in(setup, db, 2)
    with pytest.raises(Conflict, match="already ended"):
        journey.end_pair(db, actor=setup.mentee, pair_id=pid, reason="not_a_good_fit")
    view = journey.get_journey(db, actor=setup.mentee, pair_id=pid)
    assert view.status == "ended" and [c.note for c in view.check_ins] == ["Our first week."]


def test_the_mentee_ending_as_not_a_good_fit_waits_for_a_new_match_without_priority(
    db: Session, setup: PairSetup
) -> None:
    journey.end_pair(db, actor=setup.mentee, pair_id=setup.pair.id or 0, reason="not_a_good_fit")
    assert _waiting(db, setup) == [("Theo", False)]


def test_the_mentee_leaving_is_not_put_back_in_the_waiting_list(
    db: Session, setup: PairSetup
) -> None:
    journey.end_pair(
        db, actor=setup.mentee, pair_id=setup.pair.id or 0, reason="no_longer_available"
    )
    assert _waiting(db, setup) == []


def test_an_admin_can_end_a_pair_and_the_mentee_gets_priority(
    db: Session, setup: PairSetup
) -> None:
    journey.end_pair(
        db,
        actor=setup.admin,
        pair_id=setup.pair.id or 0,
        reason="other",
        detail="Mentor moved away.",
    )
    assert _waiting(db, setup) == [("Theo", True)]


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"reason": "bored"}, "reason"),
        ({"reason": "other"}, "detail"),
        ({"reason": "not_a_good_fit", "rating": 6}, "rating"),
        ({"reason": "not_a_good_fit", "rating": "x"}, "rating"),
        ({"reason": "other", "detail": "x" * 501}, "detail"),
    ],
)
def test_a_bad_ending_is_refused_and_nothing_changes(
    db: Session, setup: PairSetup, kw: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        journey.end_pair(db, actor=setup.mentor, pair_id=setup.pair.id or 0, **kw)  # type: ignore[arg-type]
    assert refused.value.field == field
    assert db.get(Pair, setup.pair.id).status == "active"  # type: ignore[union-attr]


def test_publishing_a_new_pair_clears_rematch_priority(db: Session, setup: PairSetup) -> None:
    pid, program_id = setup.pair.id or 0, setup.program.id or 0
    journey.end_pair(db, actor=setup.mentor, pair_id=pid, reason="not_a_good_fit")
    other = make_user(db, display_name="Omar")
    add_member(db, setup.group, other)
    mentor = make_application(db, program=setup.program, user=other, role="mentor")
    pairing.pair_by_hand(
        db, actor=setup.admin, program_id=program_id,
        mentee_enrollment_id=setup.mentee_enrollment.id or 0,
        mentor_enrollment_id=mentor.id or 0,
    )  # fmt: skip
    pairing.publish_pairs(db, actor=setup.admin, program_id=program_id)
    enrollment = db.get(Enrollment, setup.mentee_enrollment.id)
    assert enrollment is not None and enrollment.rematch_priority is False


# --- completing ------------------------------------------------------------------------------


def test_completing_needs_the_last_week_passed_and_its_step_done_by_both(
    db: Session, setup: PairSetup
) -> None:
    pid = setup.pair.id or 0
    with pytest.raises(Conflict, match="last week has passed"):
        journey.complete_pair(db, actor=setup.mentee, pair_id=pid, rating=5, now=setup.at_week(8))
    journey.mark_step_done(db, actor=setup.mentee, pair_id=pid, week=8)
    with pytest.raises(Conflict, match="Both of you"):
        journey.complete_pair(db, actor=setup.mentee, pair_id=pid, rating=5, now=setup.at_week(9))
    assert not journey.get_journey(
        db, actor=setup.mentee, pair_id=pid, now=setup.at_week(9)
    ).can_complete
    journey.mark_step_done(db, actor=setup.mentor, pair_id=pid, week=8)
    assert journey.get_journey(
        db, actor=setup.mentee, pair_id=pid, now=setup.at_week(9)
    ).can_complete

    journey.complete_pair(
        db,
        actor=setup.mentee,
        pair_id=pid,
        rating=5,
        takeaway="A plan I believe in.",
        now=setup.at_week(9),
    )

    assert db.get(Pair, pid).status == "completed"  # type: ignore[union-attr]
    assert _waiting(db, setup) == []
    mentor_view = journey.get_journey(db, actor=setup.mentor, pair_id=pid, now=setup.at_week(9))
    assert mentor_view.my_survey_due and mentor_view.surveyed_roles == ["mentee"]
    journey.complete_pair(db, actor=setup.mentor, pair_id=pid, rating=4, now=setup.at_week(9))
    mentor_view = journey.get_journey(db, actor=setup.mentor, pair_id=pid)
    assert not mentor_view.my_survey_due
    assert mentor_view.surveyed_roles == ["mentor", "mentee"]  # what both pages share
    with pytest.raises(Conflict, match="already sent"):
        journey.complete_pair(db, actor=setup.mentor, pair_id=pid, rating=4, now=setup.at_week(9))


# --- what admins see -------------------------------------------------------------------------


def test_admins_see_progress_and_check_in_counts_not_notes(db: Session, setup: PairSetup) -> None:
    pid = setup.pair.id or 0
    journey.mark_step_done(db, actor=setup.mentee, pair_id=pid, week=1)
    journey.mark_step_done(db, actor=setup.mentor, pair_id=pid, week=1)
    journey.mark_step_done(db, actor=setup.mentor, pair_id=pid, week=2)
    _check_in(setup, db, 1, note="Private to us.")

    ws = pairing.get_workspace(db, actor=setup.admin, program_id=setup.program.id or 0)

    row = ws.published.items[0]
    assert (row.steps_done, row.steps_total, row.check_ins) == (1, 8, 1)  # week 2: one mark
    assert "Private to us." not in repr(ws)


def test_the_partner_sees_sign_up_answers_only_if_their_owner_agreed(
    db: Session, setup: PairSetup
) -> None:
    pid = setup.pair.id or 0
    shown = journey.get_journey(db, actor=setup.mentee, pair_id=pid)
    assert shown.partner_answers and shown.partner_answers[0][0] == "Which areas can you help with?"

    enrollment = db.get(Enrollment, setup.mentor_enrollment.id)
    assert enrollment is not None
    enrollment.share_answers = False
    db.add(enrollment)
    db.commit()
    assert journey.get_journey(db, actor=setup.mentee, pair_id=pid).partner_answers == []
