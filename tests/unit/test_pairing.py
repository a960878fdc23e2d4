"""The pairing workspace's rules: who may be paired, by whom, and capacity held by the
database even when two admins act at the same moment."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from mentor_app.db import READ_ONLY, checked_first, session_scope
from mentor_app.models import AuditLog, Enrollment, Notification, Pair, Program, User, utcnow
from mentor_app.services import blocks, enrollments, notifications, pairing, programs
from mentor_app.services.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from tests.factories import (
    TODAY,
    add_member,
    make_application,
    make_group,
    make_minor,
    make_program,
    make_user,
)
from tests.support.race import race


class Cohort:
    """An open Career advancement program with an admin and a few applications."""

    def __init__(self, db: Session) -> None:
        self.db = db
        self.admin = make_user(db, display_name="Ada")
        self.group = make_group(db, admin=self.admin)
        self.program = make_program(db, admin=self.admin, group=self.group)
        self.pid = self.program.id or 0

    def person(self, name: str, role: str, capacity: int = 2, **answers: Any) -> Enrollment:
        user = make_user(self.db, display_name=name)
        add_member(self.db, self.group, user)
        enrollment = make_application(
            self.db, program=self.program, user=user, role=role, capacity=capacity
        )
        if answers:
            enrollment.answers = {**enrollment.answers, **self._answers(role, answers)}
            self.db.add(enrollment)
            self.db.commit()
        return enrollment

    def _answers(self, role: str, answers: dict[str, Any]) -> dict[str, Any]:
        return {f"{role}_{key}": value for key, value in answers.items()}

    def user(self, enrollment: Enrollment) -> User:
        user = self.db.get(User, enrollment.user_id)
        assert user is not None
        return user

    def pair(self, mentee: Enrollment, mentor: Enrollment, actor: User | None = None) -> Pair:
        pair = pairing.pair_by_hand(
            self.db,
            actor=actor or self.admin,
            program_id=self.pid,
            mentee_enrollment_id=mentee.id or 0,
            mentor_enrollment_id=mentor.id or 0,
            today=TODAY,
        )
        self.db.commit()
        return pair


@pytest.fixture
def cohort(db: Session) -> Cohort:
    return Cohort(db)


AREAS = ["Getting promoted", "Changing careers", "Job search and interviews"]


# --- suggestions ---------------------------------------------------------------------------


def test_suggestions_rank_mentors_by_score_and_say_why(cohort: Cohort) -> None:
    mentee = cohort.person("Theo", "mentee", areas=AREAS[:2], timezone="Europe/Africa")
    best = cohort.person("Maya", "mentor", areas=AREAS[:2], timezone="Europe/Africa")
    weaker = cohort.person("Omar", "mentor", areas=AREAS[2:], timezone="Americas")

    found = pairing.suggest_mentors(
        cohort.db, actor=cohort.admin, program_id=cohort.pid, mentee_enrollment_id=mentee.id or 0
    )

    assert [s.mentor_enrollment_id for s in found] == [best.id, weaker.id]
    assert found[0].score > found[1].score
    assert "areas of help ∩ areas wanted: 2 of 2 (+40)" in found[0].reasons
    assert any("same time zone band" in r and r.endswith("(+15)") for r in found[0].reasons)
    assert found[0].used == 0 and found[0].capacity == 2


def test_suggestions_leave_out_blocked_full_and_withdrawn_mentors(cohort: Cohort) -> None:
    mentee = cohort.person("Theo", "mentee")
    blocked = cohort.person("Blocked", "mentor")
    full = cohort.person("Full", "mentor", capacity=1)
    gone = cohort.person("Gone", "mentor")
    cohort.person("Fine", "mentor")
    blocks.block_member(cohort.db, actor=cohort.user(blocked), blocked_id=mentee.user_id)
    cohort.pair(cohort.person("Other", "mentee"), full)
    enrollments.withdraw(cohort.db, actor=cohort.user(gone), enrollment_id=gone.id or 0)
    cohort.db.commit()

    found = pairing.suggest_mentors(
        cohort.db, actor=cohort.admin, program_id=cohort.pid, mentee_enrollment_id=mentee.id or 0
    )

    assert [s.name for s in found] == ["Fine"]


def test_suggestions_are_for_admins_of_the_programs_group_only(cohort: Cohort) -> None:
    mentee = cohort.person("Theo", "mentee")
    member = cohort.user(cohort.person("Maya", "mentor"))
    other_admin = make_user(cohort.db)
    make_group(cohort.db, admin=other_admin)
    for actor in (member, other_admin):
        with pytest.raises(PermissionDenied):
            pairing.suggest_mentors(
                cohort.db, actor=actor, program_id=cohort.pid, mentee_enrollment_id=mentee.id or 0
            )


# --- every workspace action checks the admin ------------------------------------------------


def test_every_workspace_action_refuses_a_member_and_another_groups_admin(cohort: Cohort) -> None:
    mentee = cohort.person("Theo", "mentee")
    mentor = cohort.person("Maya", "mentor")
    draft = cohort.pair(mentee, mentor)
    other_admin = make_user(cohort.db)
    make_group(cohort.db, admin=other_admin)
    actions: list[Callable[[User], object]] = [
        lambda u: pairing.get_workspace(cohort.db, actor=u, program_id=cohort.pid),
        lambda u: pairing.pair_by_hand(
            cohort.db,
            actor=u,
            program_id=cohort.pid,
            mentee_enrollment_id=mentee.id or 0,
            mentor_enrollment_id=mentor.id or 0,
        ),
        lambda u: pairing.unpair(cohort.db, actor=u, pair_id=draft.id or 0),
        lambda u: pairing.suggest_all(cohort.db, actor=u, program_id=cohort.pid),
        lambda u: pairing.publish_pairs(cohort.db, actor=u, program_id=cohort.pid),
    ]
    for actor in (cohort.user(mentee), other_admin):
        for action in actions:
            with pytest.raises(PermissionDenied):
                action(actor)
    assert cohort.db.get(Pair, draft.id).status == "draft"  # type: ignore[union-attr]


# --- never pair ------------------------------------------------------------------------------


def test_pair_by_hand_makes_a_draft_with_its_score_and_reasons(cohort: Cohort) -> None:
    mentee = cohort.person("Theo", "mentee", areas=AREAS[:1])
    mentor = cohort.person("Maya", "mentor", areas=AREAS[:1])

    pair = cohort.pair(mentee, mentor)

    assert pair.status == "draft" and pair.mentor_seat == 1
    assert pair.score > 0
    assert "areas of help ∩ areas wanted: 1 of 1 (+40)" in [f["explain"] for f in pair.factors]


def test_a_member_is_never_paired_with_themselves(cohort: Cohort) -> None:
    mentor = cohort.person("Maya", "mentor")
    with pytest.raises(ValidationError, match="themselves"):
        cohort.pair(mentor, mentor)


def test_two_mentors_or_two_mentees_are_never_paired(cohort: Cohort) -> None:
    mentors = cohort.person("Maya", "mentor"), cohort.person("Omar", "mentor")
    mentees = cohort.person("Theo", "mentee"), cohort.person("Priya", "mentee")
    with pytest.raises(ValidationError, match="one mentor and one mentee"):
        cohort.pair(mentors[0], mentors[1])
    with pytest.raises(ValidationError, match="one mentor and one mentee"):
        cohort.pair(mentees[0], mentees[1])
    with pytest.raises(ValidationError, match="one mentor and one mentee"):
        cohort.pair(mentors[0], mentees[0])  # roles swapped


def test_people_of_two_programs_are_never_paired(cohort: Cohort) -> None:
    mentee = cohort.person("Theo", "mentee")
    other_program = make_program(cohort.db, admin=cohort.admin, group=cohort.group)
    stranger = make_user(cohort.db)
    add_member(cohort.db, cohort.group, stranger)
    mentor = make_application(cohort.db, program=other_program, user=stranger, role="mentor")
    with pytest.raises(ValidationError, match="applied to this program"):
        cohort.pair(mentee, mentor)


def test_a_withdrawn_member_is_never_paired(cohort: Cohort) -> None:
    mentee = cohort.person("Theo", "mentee")
    mentor = cohort.person("Maya", "mentor")
    enrollments.withdraw(cohort.db, actor=cohort.user(mentee), enrollment_id=mentee.id or 0)
    cohort.db.commit()
    with pytest.raises(Conflict, match="withdrawn"):
        cohort.pair(mentee, mentor)


def test_nobody_under_18_is_ever_paired(cohort: Cohort) -> None:
    mentor = cohort.person("Maya", "mentor")
    minor = make_minor(cohort.db)
    add_member(cohort.db, cohort.group, minor)
    # Sign-up refuses minors; this row stands for data that got in some other way.
    enrollment = Enrollment(program_id=cohort.pid, user_id=minor.id or 0, role="mentee")
    cohort.db.add(enrollment)
    cohort.db.commit()
    with pytest.raises(PermissionDenied, match="18"):
        cohort.pair(enrollment, mentor)
    workspace = pairing.get_workspace(cohort.db, actor=cohort.admin, program_id=cohort.pid)
    assert minor.id not in [m.user_id for m in workspace.mentees_waiting.items]


@pytest.mark.parametrize("who_blocks", ["mentor", "mentee"])
def test_two_people_with_a_block_between_them_are_never_paired(
    cohort: Cohort, who_blocks: str
) -> None:
    mentee = cohort.person("Theo", "mentee")
    mentor = cohort.person("Maya", "mentor")
    blocker, blocked = (mentor, mentee) if who_blocks == "mentor" else (mentee, mentor)
    blocks.block_member(cohort.db, actor=cohort.user(blocker), blocked_id=blocked.user_id)
    cohort.db.commit()
    with pytest.raises(Conflict, match="can't be paired"):
        cohort.pair(mentee, mentor)
    assert pairing.suggest_all(cohort.db, actor=cohort.admin, program_id=cohort.pid) == []


def test_a_mentor_is_never_paired_beyond_capacity(cohort: Cohort) -> None:
    mentor = cohort.person("Maya", "mentor", capacity=1)
    cohort.pair(cohort.person("Theo", "mentee"), mentor)
    with pytest.raises(Conflict, match="no free capacity"):
        cohort.pair(cohort.person("Priya", "mentee"), mentor)


def test_a_mentee_already_paired_is_not_paired_again(cohort: Cohort) -> None:
    mentee = cohort.person("Theo", "mentee")
    cohort.pair(mentee, cohort.person("Maya", "mentor"))
    with pytest.raises(Conflict, match="already paired"):
        cohort.pair(mentee, cohort.person("Omar", "mentor"))
    with pytest.raises(Conflict, match="already paired"):
        pairing.suggest_mentors(
            cohort.db,
            actor=cohort.admin,
            program_id=cohort.pid,
            mentee_enrollment_id=mentee.id or 0,
        )


def test_pairs_are_made_only_while_the_program_is_open_or_active(cohort: Cohort) -> None:
    mentee, mentor = cohort.person("Theo", "mentee"), cohort.person("Maya", "mentor")
    late = cohort.person("Priya", "mentee")
    draft_program = make_program(cohort.db, admin=cohort.admin, group=cohort.group, status="draft")
    with pytest.raises(Conflict, match="open or active"):
        pairing.suggest_all(cohort.db, actor=cohort.admin, program_id=draft_program.id or 0)
    programs.advance_status(
        cohort.db, actor=cohort.admin, program_id=cohort.pid, expected_status="open"
    )
    cohort.pair(mentee, mentor)
    programs.advance_status(
        cohort.db, actor=cohort.admin, program_id=cohort.pid, expected_status="active"
    )
    cohort.db.commit()
    with pytest.raises(Conflict, match="open or active"):
        cohort.pair(late, mentor)


# --- the database holds the rules too ----------------------------------------------------------


def _raw_pair(mentee: Enrollment, mentor: Enrollment, seat: int) -> Pair:
    return Pair(
        program_id=mentor.program_id,
        mentor_enrollment_id=mentor.id or 0,
        mentee_enrollment_id=mentee.id or 0,
        mentor_id=mentor.user_id,
        mentee_id=mentee.user_id,
        mentor_seat=seat,
        live_mentee_enrollment_id=mentee.id,
    )


def test_the_database_refuses_a_second_live_pair_on_one_seat_or_one_mentee(
    cohort: Cohort,
) -> None:
    mentor = cohort.person("Maya", "mentor", capacity=1)
    mentee, other = cohort.person("Theo", "mentee"), cohort.person("Priya", "mentee")
    cohort.pair(mentee, mentor)
    cohort.db.add(_raw_pair(other, mentor, seat=1))
    with pytest.raises(IntegrityError):
        cohort.db.commit()
    cohort.db.rollback()
    cohort.db.add(_raw_pair(mentee, cohort.person("Omar", "mentor"), seat=1))
    with pytest.raises(IntegrityError):
        cohort.db.commit()


def test_two_admins_pairing_one_mentor_at_once_never_over_fill_them(any_engine: Engine) -> None:
    with Session(any_engine, expire_on_commit=False) as db:
        cohort = Cohort(db)
        second_admin = make_user(db, display_name="Bea")
        add_member(db, cohort.group, second_admin, role="admin")
        mentor = cohort.person("Maya", "mentor", capacity=1)
        mentees = [cohort.person(f"Mentee {i}", "mentee") for i in range(2)]

    def pair_with(admin: User, mentee: Enrollment) -> Callable[[Session], object]:
        return lambda session: pairing.pair_by_hand(
            session, actor=admin, program_id=cohort.pid,
            mentee_enrollment_id=mentee.id or 0, mentor_enrollment_id=mentor.id or 0,
            today=TODAY,
        )  # fmt: skip

    results = race(
        any_engine, pair_with(cohort.admin, mentees[0]), pair_with(second_admin, mentees[1])
    )

    assert sorted(type(r).__name__ for r in results) == ["Conflict", "Pair"]
    with Session(any_engine) as db:
        live = db.exec(select(Pair).where(Pair.mentor_enrollment_id == mentor.id)).all()
    assert len(live) == 1


def test_two_admins_publishing_at_once_publish_each_pair_once(any_engine: Engine) -> None:
    with Session(any_engine, expire_on_commit=False) as db:
        cohort = Cohort(db)
        second_admin = make_user(db, display_name="Bea")
        add_member(db, cohort.group, second_admin, role="admin")
        mentor = cohort.person("Maya", "mentor", capacity=2)
        for i in range(2):
            cohort.pair(cohort.person(f"Mentee {i}", "mentee"), mentor)

    def publish(admin: User) -> Callable[[Session], object]:
        return lambda session: pairing.publish_pairs(
            session, actor=admin, program_id=cohort.pid, today=TODAY
        )

    results = race(any_engine, publish(cohort.admin), publish(second_admin))

    assert sorted(r.published for r in results) == [0, 2]  # type: ignore[attr-defined]
    with Session(any_engine) as db:
        statuses = db.exec(select(Pair.status).where(Pair.program_id == cohort.pid)).all()
        told = db.exec(select(Notification).where(Notification.kind == "paired")).all()
    assert statuses == ["active", "active"]
    assert len(told) == 4  # each member of each pair, once


def test_two_admins_suggesting_all_at_once_never_over_fill_or_double_pair(
    any_engine: Engine,
) -> None:
    with Session(any_engine, expire_on_commit=False) as db:
        cohort = Cohort(db)
        second_admin = make_user(db, display_name="Bea")
        add_member(db, cohort.group, second_admin, role="admin")
        mentors = [cohort.person(f"Mentor {i}", "mentor", capacity=2) for i in range(2)]
        for i in range(6):
            cohort.person(f"Mentee {i}", "mentee")

    def suggest(admin: User) -> Callable[[Session], object]:
        return lambda session: pairing.suggest_all(
            session, actor=admin, program_id=cohort.pid, today=TODAY
        )

    results = race(any_engine, suggest(cohort.admin), suggest(second_admin))

    made = sorted(len(r) if isinstance(r, list) else -1 for r in results)
    assert made in ([0, 4], [-1, 4]), results  # the loser finds nobody left, or is refused
    with Session(any_engine) as db:
        live = db.exec(select(Pair).where(Pair.program_id == cohort.pid)).all()
    assert len(live) == 4
    assert len({p.mentee_enrollment_id for p in live}) == 4
    for mentor in mentors:
        assert sum(p.mentor_enrollment_id == mentor.id for p in live) == 2


# --- drafts, publishing and what members see -------------------------------------------------


def test_drafts_are_invisible_to_members_until_published(cohort: Cohort) -> None:
    mentee, mentor = cohort.person("Theo", "mentee"), cohort.person("Maya", "mentor")
    draft = cohort.pair(mentee, mentor)
    assert pairing.list_my_pairs(cohort.db, actor=cohort.user(mentee)).items == []
    with pytest.raises(NotFound):
        pairing.get_pair_page(cohort.db, actor=cohort.user(mentee), pair_id=draft.id or 0)
    assert notifications.list_recent(cohort.db, actor=cohort.user(mentee)) == []


def test_publishing_tells_both_members_and_opens_the_pair_to_them_only(cohort: Cohort) -> None:
    mentee, mentor = cohort.person("Theo", "mentee"), cohort.person("Maya", "mentor")
    pair = cohort.pair(mentee, mentor)

    result = pairing.publish_pairs(
        cohort.db, actor=cohort.admin, program_id=cohort.pid, today=TODAY
    )
    cohort.db.commit()

    assert result.published == 1 and result.dropped == []
    assert pair.status == "active" and pair.start_date == cohort.program.start_date
    told = notifications.list_recent(cohort.db, actor=cohort.user(mentee))
    assert [n.text for n in told] == [f"Maya is your mentor in “{cohort.program.title}”."]
    assert told[0].link == f"/pairs/{pair.id}"
    mine = pairing.list_my_pairs(cohort.db, actor=cohort.user(mentee)).items
    assert [(p.partner_name, p.my_role) for p in mine] == [("Maya", "mentee")]
    page = pairing.get_pair_page(cohort.db, actor=cohort.user(mentor), pair_id=pair.id or 0)
    assert (page.partner_name, page.partner_role) == ("Theo", "mentee")
    assert len(page.journey) == cohort.program.length_weeks
    for outsider in (cohort.admin, cohort.user(cohort.person("Nosy", "mentee"))):
        with pytest.raises(NotFound):
            pairing.get_pair_page(cohort.db, actor=outsider, pair_id=pair.id or 0)


def test_a_large_cohort_is_published_a_chunk_at_a_time(cohort: Cohort) -> None:
    mentors = [cohort.person(f"Mentor {i}", "mentor", capacity=3) for i in range(2)]
    drafts = [cohort.pair(cohort.person(f"Mentee {i}", "mentee"), mentors[i % 2]) for i in range(5)]
    cohort.db.commit()
    now = dt.datetime.combine(TODAY, dt.time(9), tzinfo=dt.UTC)

    results = []
    for _ in range(3):
        results.append(
            pairing.publish_pairs(
                cohort.db, actor=cohort.admin, program_id=cohort.pid, now=now, limit=2
            )
        )
        cohort.db.commit()  # each chunk its own transaction

    assert [(r.published, r.more) for r in results] == [(2, True), (2, True), (1, False)]
    statuses = [cohort.db.get(Pair, d.id).status for d in drafts]  # type: ignore[union-attr]
    assert statuses == ["active"] * 5
    starts = {cohort.db.get(Pair, d.id).start_date for d in drafts}  # type: ignore[union-attr]
    assert len(starts) == 1  # one Publish, one rule for every chunk's start dates
    audit = cohort.db.exec(select(AuditLog).where(AuditLog.action == "pairs_published")).all()
    assert [a.detail for a in audit] == [
        "2 published, 0 dropped",
        "2 published, 0 dropped",
        "1 published, 0 dropped",
    ]
    # Without a limit, every draft in one call, as before.
    cohort.pair(cohort.person("Late", "mentee"), cohort.person("Omar", "mentor"))
    whole = pairing.publish_pairs(cohort.db, actor=cohort.admin, program_id=cohort.pid, now=now)
    assert (whole.published, whole.more) == (1, False)


def test_a_draft_that_breaks_a_rule_by_publishing_time_is_dropped(cohort: Cohort) -> None:
    mentee, mentor = cohort.person("Theo", "mentee"), cohort.person("Maya", "mentor")
    cohort.pair(mentee, mentor)
    blocks.block_member(cohort.db, actor=cohort.user(mentee), blocked_id=mentor.user_id)
    cohort.db.commit()

    result = pairing.publish_pairs(
        cohort.db, actor=cohort.admin, program_id=cohort.pid, today=TODAY
    )

    assert result.published == 0 and result.dropped == ["Maya and Theo can't be paired."]
    assert cohort.db.exec(select(Pair)).all() == []


def test_unpair_removes_a_draft_but_not_a_published_pair(cohort: Cohort) -> None:
    mentor = cohort.person("Maya", "mentor")
    draft = cohort.pair(cohort.person("Theo", "mentee"), mentor)
    pairing.unpair(cohort.db, actor=cohort.admin, pair_id=draft.id or 0)
    cohort.db.commit()
    assert cohort.db.exec(select(Pair)).all() == []

    pair = cohort.pair(cohort.person("Priya", "mentee"), mentor)
    pairing.publish_pairs(cohort.db, actor=cohort.admin, program_id=cohort.pid, today=TODAY)
    with pytest.raises(Conflict, match="published"):
        pairing.unpair(cohort.db, actor=cohort.admin, pair_id=pair.id or 0)


# --- suggest all -------------------------------------------------------------------------------


def _drafts(cohort: Cohort) -> set[tuple[int | None, int | None]]:
    """The program's draft pairs as (mentee application, mentor application), read in a
    transaction that ends at once (a helper process may write next)."""
    cohort.db.expire_all()
    drafts = {
        (p.mentee_enrollment_id, p.mentor_enrollment_id)
        for p in cohort.db.exec(
            select(Pair).where(Pair.program_id == cohort.pid, Pair.status == "draft")
        )
    }
    cohort.db.commit()
    return drafts


def _four_people(cohort: Cohort) -> dict[str, Enrollment]:
    """Two mentors and two mentees, where the best single pairs are not the best whole
    assignment: Theo with Omar and Priya with Maya."""
    return {
        "Maya": cohort.person("Maya", "mentor", capacity=1, areas=AREAS[:2]),
        "Omar": cohort.person("Omar", "mentor", capacity=1, areas=AREAS[:1]),
        "Theo": cohort.person("Theo", "mentee", areas=AREAS[:1]),
        "Priya": cohort.person("Priya", "mentee", areas=AREAS[1:2]),
    }


def test_suggest_all_drafts_the_best_whole_cohort_assignment(cohort: Cohort) -> None:
    # Greedy would give Maya to Theo (his best, 40 vs 27) and leave Priya with nobody good;
    # the optimum gives Theo to Omar and Priya to Maya.
    maya, omar, theo, priya = _four_people(cohort).values()

    made = pairing.suggest_all(cohort.db, actor=cohort.admin, program_id=cohort.pid)

    got = {(p.mentee_enrollment_id, p.mentor_enrollment_id) for p in made}
    assert got == {(theo.id, omar.id), (priya.id, maya.id)}
    assert all(p.status == "draft" for p in made)


def test_the_workspace_lists_people_in_the_same_name_order_on_every_engine(
    cohort: Cohort,
) -> None:
    # Code point order (capitals first), whatever the database's collation would say.
    for name in ("bea", "Cy", "Al"):
        cohort.person(name, "mentee")
    for name in ("dan", "Eve"):
        cohort.person(name, "mentor")

    workspace = pairing.get_workspace(cohort.db, actor=cohort.admin, program_id=cohort.pid)

    assert [m.name for m in workspace.mentees_waiting.items] == ["Al", "Cy", "bea"]
    assert [m.name for m in workspace.mentors.items] == ["Eve", "dan"]


def test_suggest_all_breaks_a_tie_the_same_way_on_every_engine(cohort: Cohort) -> None:
    # Two mentees as good as each other for the one seat, with equal priority and waiting
    # since the same moment: the tie goes by name order, which must not be the database's
    # collation (en-US would put "bea" before "Cy").
    mentor = cohort.person("Maya", "mentor", capacity=1, areas=AREAS[:1])
    bea = cohort.person("bea", "mentee", areas=AREAS[:1])
    cy = cohort.person("Cy", "mentee", areas=AREAS[:1])
    cy.created_at = bea.created_at
    cohort.db.add(cy)
    cohort.db.commit()

    made = pairing.suggest_all(cohort.db, actor=cohort.admin, program_id=cohort.pid)

    assert [(p.mentee_enrollment_id, p.mentor_enrollment_id) for p in made] == [(cy.id, mentor.id)]


def test_suggest_all_leaves_out_pairs_below_the_minimum_score(cohort: Cohort) -> None:
    cohort.person("Maya", "mentor", capacity=1, areas=AREAS[:1])
    cohort.person("Theo", "mentee", areas=AREAS[1:2])
    loose = pairing.suggest_all(cohort.db, actor=cohort.admin, program_id=cohort.pid, min_score=0)
    assert len(loose) == 1
    pairing.unpair(cohort.db, actor=cohort.admin, pair_id=loose[0].id or 0)
    strict = pairing.suggest_all(
        cohort.db, actor=cohort.admin, program_id=cohort.pid, min_score=loose[0].score + 1
    )
    assert strict == []


def test_suggest_all_keeps_existing_pairs_and_free_seats_only(cohort: Cohort) -> None:
    mentor = cohort.person("Maya", "mentor", capacity=2)
    paired = cohort.person("Theo", "mentee")
    cohort.pair(paired, mentor)
    waiting = [cohort.person(f"Mentee {i}", "mentee") for i in range(3)]

    made = pairing.suggest_all(cohort.db, actor=cohort.admin, program_id=cohort.pid)

    assert len(made) == 1  # one seat was left
    assert made[0].mentee_enrollment_id in {w.id for w in waiting}
    assert made[0].mentor_seat == 2


@pytest.mark.parametrize("value", ["-1", "abc", "501", "2.5"])
def test_a_bad_minimum_score_is_refused_next_to_its_field(cohort: Cohort, value: str) -> None:
    with pytest.raises(ValidationError) as refused:
        pairing.suggest_all(cohort.db, actor=cohort.admin, program_id=cohort.pid, min_score=value)
    assert refused.value.field == "min_score"


# --- the workspace and its fairness panel --------------------------------------------------------


def test_workspace_lists_waiting_mentees_and_mentor_capacity(cohort: Cohort) -> None:
    maya = cohort.person("Maya", "mentor", capacity=1)
    cohort.person("Omar", "mentor", capacity=3)
    theo, _priya = cohort.person("Theo", "mentee"), cohort.person("Priya", "mentee")
    cohort.pair(theo, maya)
    pairing.publish_pairs(cohort.db, actor=cohort.admin, program_id=cohort.pid, today=TODAY)
    cohort.person("Sam", "mentee")

    ws = pairing.get_workspace(cohort.db, actor=cohort.admin, program_id=cohort.pid)

    assert [m.name for m in ws.mentees_waiting.items] == ["Priya", "Sam"]
    assert [(m.name, m.used, m.capacity) for m in ws.mentors.items] == [
        ("Maya", 1, 1),
        ("Omar", 0, 3),
    ]
    assert [(p.mentee_name, p.mentor_name) for p in ws.published.items] == [("Theo", "Maya")]
    assert ws.fairness.unmatched == 2 and ws.fairness.full_mentors == ["Maya"]
    assert sum(n for _label, n in ws.fairness.score_buckets) == 1
    assert ws.fairness.median_score == ws.published.items[0].score


def test_workspace_search_filters_both_columns_by_name(cohort: Cohort) -> None:
    cohort.person("Maya Okafor", "mentor")
    cohort.person("Omar Haddad", "mentor")
    cohort.person("Theo Martin", "mentee")
    cohort.person("Mara Lind", "mentee")

    ws = pairing.get_workspace(cohort.db, actor=cohort.admin, program_id=cohort.pid, search=" MA")

    assert [m.name for m in ws.mentors.items] == ["Maya Okafor", "Omar Haddad"]
    assert [m.name for m in ws.mentees_waiting.items] == ["Mara Lind", "Theo Martin"]
    ws = pairing.get_workspace(cohort.db, actor=cohort.admin, program_id=cohort.pid, search="oka")
    assert [m.name for m in ws.mentors.items] == ["Maya Okafor"] and ws.mentees_waiting.items == []


# --- applications once paired ---------------------------------------------------------------------


def test_a_mentor_cannot_lower_capacity_below_their_pairs(cohort: Cohort) -> None:
    mentor = cohort.person("Maya", "mentor", capacity=2)
    cohort.pair(cohort.person("Theo", "mentee"), mentor)
    cohort.pair(cohort.person("Priya", "mentee"), mentor)
    pairing.publish_pairs(cohort.db, actor=cohort.admin, program_id=cohort.pid, today=TODAY)
    program = cohort.db.get(Program, cohort.pid)
    assert program is not None
    with pytest.raises(ValidationError) as refused:
        enrollments.update_application(
            cohort.db, actor=cohort.user(mentor), enrollment_id=mentor.id or 0,
            answers=dict(mentor.answers), capacity=1, today=TODAY,
        )  # fmt: skip
    assert refused.value.field == "capacity"


def test_withdrawing_frees_draft_pairs_but_not_a_published_one(cohort: Cohort) -> None:
    mentor = cohort.person("Maya", "mentor")
    drafted = cohort.person("Theo", "mentee")
    cohort.pair(drafted, mentor)
    enrollments.withdraw(cohort.db, actor=cohort.user(drafted), enrollment_id=drafted.id or 0)
    cohort.db.commit()
    assert cohort.db.exec(select(Pair)).all() == []

    published = cohort.person("Priya", "mentee")
    cohort.pair(published, mentor)
    pairing.publish_pairs(cohort.db, actor=cohort.admin, program_id=cohort.pid, today=TODAY)
    with pytest.raises(Conflict, match="already paired"):
        enrollments.withdraw(
            cohort.db, actor=cohort.user(published), enrollment_id=published.id or 0
        )


def test_workspace_can_show_only_mentors_with_a_free_seat(cohort: Cohort) -> None:
    full = cohort.person("Maya", "mentor", capacity=1)
    cohort.person("Omar", "mentor", capacity=1)
    cohort.pair(cohort.person("Theo", "mentee"), full)

    everyone = pairing.get_workspace(cohort.db, actor=cohort.admin, program_id=cohort.pid)
    free = pairing.get_workspace(
        cohort.db, actor=cohort.admin, program_id=cohort.pid, free_only=True
    )

    assert [m.name for m in everyone.mentors.items] == ["Maya", "Omar"]
    assert [m.name for m in free.mentors.items] == ["Omar"]


def test_a_draft_suggest_all_writes_reads_back_as_one_drafted_by_hand(cohort: Cohort) -> None:
    # Suggest all writes its drafts on the driver, its values made ready by hand; a draft
    # drafted by hand goes through the ORM. Both must read back the same, on every engine.
    maya = cohort.person("Maya", "mentor", capacity=2, areas=AREAS[:2])
    theo = cohort.person("Theo", "mentee", areas=AREAS[:1])
    plan = _plan_in_a_read_transaction(cohort)
    (made,) = pairing.suggest_all(cohort.db, actor=cohort.admin, program_id=cohort.pid, plan=plan)
    cohort.db.commit()

    def read(pair_id: int) -> dict[str, Any]:
        cohort.db.expire_all()
        pair = cohort.db.get(Pair, pair_id)
        assert pair is not None
        return pair.model_dump(exclude={"id"})

    suggested = read(made.id)
    pairing.unpair(cohort.db, actor=cohort.admin, pair_id=made.id)
    by_hand = pairing.pair_by_hand(
        cohort.db,
        actor=cohort.admin,
        program_id=cohort.pid,
        mentee_enrollment_id=theo.id or 0,
        mentor_enrollment_id=maya.id or 0,
    )
    cohort.db.commit()
    drafted = read(by_hand.id or 0)

    assert suggested["factors"] and isinstance(suggested["factors"], list)
    assert suggested["status"] == "draft" and suggested["paused"] is False
    assert isinstance(suggested["created_at"], dt.datetime)
    moments = {k: (suggested.pop(k), drafted.pop(k)) for k in ("created_at",)}
    assert suggested == drafted
    (suggested_at, drafted_at) = moments["created_at"]
    assert suggested_at.tzinfo == drafted_at.tzinfo
    assert abs(drafted_at - suggested_at) < dt.timedelta(seconds=30)


def _plan_in_a_read_transaction(cohort: Cohort) -> pairing.SuggestPlan:
    plan = pairing.plan_suggest_all(cohort.db, actor=cohort.admin, program_id=cohort.pid)
    cohort.db.rollback()  # the plan was read in a transaction of its own
    return plan


def _plan_in_a_helper_process(cohort: Cohort) -> pairing.SuggestPlan:
    from mentor_app.apart import run_apart
    from mentor_app.db import url_of

    cohort.db.commit()  # the helper process reads what is committed
    url = url_of(cohort.db)
    return run_apart(pairing.plan_job, url, cohort.admin.id, cohort.pid, 0)


@pytest.mark.parametrize(
    "make_plan",
    [_plan_in_a_read_transaction, _plan_in_a_helper_process],
    ids=["read-transaction", "helper-process"],
)
def test_suggest_all_uses_a_plan_made_on_the_same_cohort_without_working_it_out_again(
    cohort: Cohort,
    monkeypatch: pytest.MonkeyPatch,
    make_plan: Callable[[Cohort], pairing.SuggestPlan],
) -> None:
    maya, omar, theo, priya = _four_people(cohort).values()
    plan = make_plan(cohort)

    worked_out: list[int] = []
    assign = pairing._assign
    monkeypatch.setattr(pairing, "_assign", lambda *args: worked_out.append(1) or assign(*args))
    made = pairing.suggest_all(cohort.db, actor=cohort.admin, program_id=cohort.pid, plan=plan)

    assert worked_out == []  # the write transaction only checked the cohort and wrote
    got = {(p.mentee_enrollment_id, p.mentor_enrollment_id) for p in made}
    assert got == {(theo.id, omar.id), (priya.id, maya.id)}


def test_a_plan_made_before_the_cohort_changed_is_worked_out_again_under_the_lock(
    cohort: Cohort,
) -> None:
    maya, omar, theo, priya = _four_people(cohort).values()
    plan = pairing.plan_suggest_all(cohort.db, actor=cohort.admin, program_id=cohort.pid)
    cohort.db.rollback()
    # Meanwhile another admin pairs Theo with Omar by hand: the plan's Theo-Omar is stale.
    cohort.pair(theo, omar)

    made = pairing.suggest_all(cohort.db, actor=cohort.admin, program_id=cohort.pid, plan=plan)

    assert {(p.mentee_enrollment_id, p.mentor_enrollment_id) for p in made} == {(priya.id, maya.id)}


def _change_an_answer(cohort: Cohort, people: dict[str, Enrollment]) -> None:
    theo = people["Theo"]
    theo.answers = {**theo.answers, **cohort._answers("mentee", {"areas": AREAS[2:3]})}
    cohort.db.add(theo)


def _lower_a_capacity(cohort: Cohort, people: dict[str, Enrollment]) -> None:
    people["Maya"].capacity = 1
    cohort.db.add(people["Maya"])


def _block(cohort: Cohort, people: dict[str, Enrollment]) -> None:
    theo, omar = cohort.user(people["Theo"]), people["Omar"]
    blocks.block_member(cohort.db, actor=theo, blocked_id=omar.user_id)


@pytest.mark.parametrize("change", [_change_an_answer, _lower_a_capacity, _block])
def test_under_the_lock_a_plan_is_checked_by_its_digest_and_any_change_works_it_out_again(
    cohort: Cohort, monkeypatch: pytest.MonkeyPatch, change: Callable[..., None]
) -> None:
    people = {
        "Maya": cohort.person("Maya", "mentor", capacity=2, areas=AREAS[:2]),
        "Omar": cohort.person("Omar", "mentor", capacity=1, areas=AREAS[:1]),
        "Theo": cohort.person("Theo", "mentee", areas=AREAS[:1]),
        "Priya": cohort.person("Priya", "mentee", areas=AREAS[1:2]),
    }
    plan = _plan_in_a_read_transaction(cohort)
    made_people: list[int] = []
    people_of = pairing._cohort
    monkeypatch.setattr(
        pairing, "_cohort", lambda *a, **k: made_people.append(1) or people_of(*a, **k)
    )
    # Unchanged: the write reads the rows and compares digests, and builds nothing.
    pairing.suggest_all(cohort.db, actor=cohort.admin, program_id=cohort.pid, plan=plan)
    assert made_people == []
    cohort.db.rollback()

    change(cohort, people)
    cohort.db.commit()
    fresh = _plan_in_a_read_transaction(cohort)  # what the cohort as it is now gives
    made_people.clear()
    made = pairing.suggest_all(cohort.db, actor=cohort.admin, program_id=cohort.pid, plan=plan)

    assert made_people == [1]  # worked out again under the lock
    assert fresh.digest != plan.digest
    want = {(d.mentee_enrollment_id, d.mentor_enrollment_id) for d in fresh.drafts}
    assert {(p.mentee_enrollment_id, p.mentor_enrollment_id) for p in made} == want


def _write_with_the_check_first(
    cohort: Cohort, engine: Engine, check: pairing.PlanIsCurrent
) -> tuple[list[pairing.Drafted], list[str]]:
    """Suggest all's write as the workspace makes it (`session_scope(check_first=...)`):
    the drafts made, and the statements run in the write transaction."""
    admin_id = cohort.admin.id
    cohort.db.rollback()  # the test's own session holds no transaction
    statements: list[str] = []
    in_write = False

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if in_write:
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        with session_scope(engine, check_first=check) as db:
            in_write = True
            actor = db.get(User, admin_id)
            assert actor is not None
            made = pairing.suggest_all(
                db, actor=actor, program_id=cohort.pid, today=check.today, plan=check.plan
            )
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    return made, statements


def _reads_the_cohort(statements: list[str]) -> bool:
    return any("FROM enrollment" in s and s.lstrip().startswith("SELECT") for s in statements)


def test_a_plan_checked_just_before_the_write_is_written_without_reading_the_cohort_again(
    cohort: Cohort, engine: Engine
) -> None:
    people = _four_people(cohort)
    plan = _plan_in_a_read_transaction(cohort)
    today = utcnow().date()
    check = pairing.plan_is_current(plan, program_id=cohort.pid, min_score=0, today=today)
    assert check is not None

    made, under_the_lock = _write_with_the_check_first(cohort, engine, check)

    pairs = {(p.mentee_enrollment_id, p.mentor_enrollment_id) for p in made}
    assert pairs == {(d.mentee_enrollment_id, d.mentor_enrollment_id) for d in plan.drafts}
    assert pairs == {
        (people["Theo"].id, people["Omar"].id),
        (people["Priya"].id, people["Maya"].id),
    }
    assert under_the_lock  # the drafts' insert at least
    if engine.dialect.name == "sqlite":
        # Checked in the read transaction before, unchanged since: not read again.
        assert not _reads_the_cohort(under_the_lock)
    else:  # no check is made first: the write reads the cohort again, its rows locked
        assert _reads_the_cohort(under_the_lock)


def _block(engine: Engine, blocker_id: int, blocked_id: int) -> None:
    with session_scope(engine) as other:  # another connection: the blocker's own tab
        blocker = other.get(User, blocker_id)
        assert blocker is not None
        blocks.block_member(other, actor=blocker, blocked_id=blocked_id)


@pytest.mark.sqlite_only(reason="the check before the write lock is made on SQLite only")
@pytest.mark.parametrize("when", ["during-the-check", "between-the-check-and-the-write"])
def test_a_block_committed_after_the_check_read_the_cohort_is_seen_by_the_write(
    cohort: Cohort, engine: Engine, when: str
) -> None:
    # The stale plan pairs Theo with Omar, whom Theo blocks after the check read the rows:
    # no commit can have been missed (a blocked pair drafted, which no constraint stops).
    people = _four_people(cohort)
    plan = _plan_in_a_read_transaction(cohort)
    assert (people["Theo"].id, people["Omar"].id) in {
        (d.mentee_enrollment_id, d.mentor_enrollment_id) for d in plan.drafts
    }
    today = utcnow().date()
    block = functools.partial(_block, engine, people["Theo"].user_id, people["Omar"].user_id)

    @dataclass(frozen=True, eq=False)
    class BlockedDuringTheCheck(pairing.PlanIsCurrent):
        def __call__(self, db: Session) -> bool:
            held = super().__call__(db)
            block()  # committed by another connection, after this one's snapshot
            return held

    check: pairing.PlanIsCurrent
    if when == "during-the-check":
        check = BlockedDuringTheCheck(plan, cohort.pid, 0, today)
        made, under_the_lock = _write_with_the_check_first(cohort, engine, check)
    else:
        check = pairing.PlanIsCurrent(plan, cohort.pid, 0, today)
        blocked = []

        def before_the_write_begins(conn: Any) -> None:
            if not conn.get_execution_options().get(READ_ONLY) and not blocked:
                blocked.append(1)
                block()

        # Before the write's BEGIN IMMEDIATE (the engine's own listener, put back after).
        theirs = list(engine.dispatch.begin)
        for listener in theirs:
            event.remove(engine, "begin", listener)
        for listener in [before_the_write_begins, *theirs]:
            event.listen(engine, "begin", listener)
        try:
            made, under_the_lock = _write_with_the_check_first(cohort, engine, check)
        finally:
            event.remove(engine, "begin", before_the_write_begins)
        assert blocked == [1]

    assert _reads_the_cohort(under_the_lock)  # not trusted: read and worked out again
    pairs = {(p.mentee_enrollment_id, p.mentor_enrollment_id) for p in made}
    assert (people["Theo"].id, people["Omar"].id) not in pairs
    assert pairs == {
        (people["Theo"].id, people["Maya"].id),
        (people["Priya"].id, people["Omar"].id),
    }


def test_a_check_for_another_write_is_not_taken_for_this_one(
    cohort: Cohort, engine: Engine
) -> None:
    _four_people(cohort)
    plan = _plan_in_a_read_transaction(cohort)
    today = utcnow().date()
    other_day = pairing.PlanIsCurrent(plan, cohort.pid, 0, today - dt.timedelta(days=1))
    other_score = pairing.PlanIsCurrent(plan, cohort.pid, 5, today)
    for check in (other_day, other_score):
        with session_scope(engine, check_first=check) as db:
            if engine.dialect.name == "sqlite":
                assert checked_first(db) is None  # made, but it did not hold
    assert pairing.plan_is_current(plan, program_id=cohort.pid, min_score="x", today=today) is None
    # Held for this plan, then asked of a plan that is not the one checked.
    check = pairing.PlanIsCurrent(plan, cohort.pid, 0, today)
    assert check.covers(plan, cohort.pid, 0, today)
    again = _plan_in_a_read_transaction(cohort)
    assert not check.covers(again, cohort.pid, 0, today)
    assert not check.covers(plan, cohort.pid + 1, 0, today)
    assert not check.covers(plan, cohort.pid, 1, today)
    assert not check.covers(plan, cohort.pid, 0, today + dt.timedelta(days=1))


def test_only_the_programs_admins_can_plan_suggest_all(cohort: Cohort) -> None:
    member = cohort.user(cohort.person("Maya", "mentor"))
    other_admin = make_user(cohort.db)
    make_group(cohort.db, admin=other_admin)
    for actor in (member, other_admin):
        with pytest.raises(PermissionDenied):
            pairing.plan_suggest_all(cohort.db, actor=actor, program_id=cohort.pid)


def test_a_large_cohort_is_planned_apart_and_only_an_admin_may_ask(
    cohort: Cohort, monkeypatch: pytest.MonkeyPatch
) -> None:
    cohort.person("Maya", "mentor", capacity=1, areas=AREAS[:2])
    cohort.person("Theo", "mentee", areas=AREAS[:1])
    args = {"actor": cohort.admin, "program_id": cohort.pid}
    assert pairing.plan_apart(cohort.db, **args) is False  # 2 applications: planned here
    monkeypatch.setattr(pairing, "PLAN_APART_FROM", 2)
    assert pairing.plan_apart(cohort.db, **args) is True
    with pytest.raises(PermissionDenied):
        pairing.plan_apart(cohort.db, actor=make_user(cohort.db), program_id=cohort.pid)


def test_the_helper_process_checks_the_actor_as_the_service_does(cohort: Cohort) -> None:
    from mentor_app.apart import ApartFailed, run_apart
    from mentor_app.db import url_of

    outsider = make_user(cohort.db)
    cohort.db.commit()
    url = url_of(cohort.db)
    assert run_apart(pairing.plan_job, url, cohort.admin.id, cohort.pid, 0).program_id
    with pytest.raises(ApartFailed, match="PermissionDenied"):
        run_apart(pairing.plan_job, url, outsider.id, cohort.pid, 0)


def test_a_large_cohort_is_planned_checked_and_written_in_the_helper(cohort: Cohort) -> None:
    from mentor_app.apart import run_apart
    from mentor_app.db import url_of

    maya, omar, theo, priya = _four_people(cohort).values()
    outsider = make_user(cohort.db)
    admin_id, outsider_id, pid = cohort.admin.id, outsider.id, cohort.pid
    cohort.db.commit()  # the helper process reads what is committed
    url = url_of(cohort.db)

    refused = run_apart(pairing.suggest_job, url, outsider_id, pid, 0, TODAY)
    with pytest.raises(PermissionDenied):
        refused.unwrap()
    bad = run_apart(pairing.suggest_job, url, admin_id, pid, "lots", TODAY)
    with pytest.raises(ValidationError) as told:
        bad.unwrap()
    assert told.value.field == "min_score"
    assert _drafts(cohort) == set()  # neither wrote anything

    made = run_apart(pairing.suggest_job, url, admin_id, pid, 0, TODAY).unwrap()

    assert made == 2  # the best whole assignment, as in this process
    assert _drafts(cohort) == {(theo.id, omar.id), (priya.id, maya.id)}


# --- a large cohort's Publish and fairness panel, worked in a helper process --------------


def test_a_large_cohort_is_published_from_a_helper_and_its_members_told_here(
    cohort: Cohort, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mentor_app.apart import run_apart
    from mentor_app.db import url_of

    mentors = [cohort.person(f"Mentor {i}", "mentor", capacity=3) for i in range(2)]
    drafts = [cohort.pair(cohort.person(f"Mentee {i}", "mentee"), mentors[i % 2]) for i in range(3)]
    assert pairing.publish_apart(cohort.db, actor=cohort.admin, program_id=cohort.pid) is False
    monkeypatch.setattr(pairing, "PUBLISH_APART_FROM", 3)
    assert pairing.publish_apart(cohort.db, actor=cohort.admin, program_id=cohort.pid) is True
    cohort.db.commit()  # the helper process reads what is committed
    heard: list[frozenset[int]] = []
    monkeypatch.setattr(notifications, "_listeners", [heard.append])  # this test's ear only
    now = dt.datetime.combine(TODAY, dt.time(9), tzinfo=dt.UTC)
    url = url_of(cohort.db)

    first = run_apart(pairing.publish_job, url, cohort.admin.id, cohort.pid, now, 2)
    assert heard == []  # the helper's commit reached no listener of this process
    notifications.announce(first.told)
    rest = run_apart(pairing.publish_job, url, cohort.admin.id, cohort.pid, now, 2).unwrap()

    assert (first.unwrap().published, first.unwrap().more) == (2, True)
    assert (rest.published, rest.more) == (1, False)
    members = {u for d in drafts[:2] for u in (d.mentor_id, d.mentee_id)}
    assert first.told == frozenset(members) and heard == [frozenset(members)]
    cohort.db.expire_all()
    assert [cohort.db.get(Pair, d.id).status for d in drafts] == ["active"] * 3  # type: ignore[union-attr]
    told = notifications.list_recent(
        cohort.db, actor=cohort.user(cohort.db.get(Enrollment, drafts[0].mentee_enrollment_id))
    )  # type: ignore[arg-type]
    assert [n.kind for n in told] == ["paired"]


def test_one_helper_call_writes_chunk_after_chunk_for_as_long_as_it_is_given(
    cohort: Cohort,
) -> None:
    from mentor_app.apart import run_apart
    from mentor_app.db import url_of

    mentors = [cohort.person(f"Mentor {i}", "mentor", capacity=3) for i in range(2)]
    drafts = [cohort.pair(cohort.person(f"Mentee {i}", "mentee"), mentors[i % 2]) for i in range(5)]
    cohort.db.commit()
    now = dt.datetime.combine(TODAY, dt.time(9), tzinfo=dt.UTC)
    url = url_of(cohort.db)

    one = run_apart(pairing.publish_job, url, cohort.admin.id, cohort.pid, now, 2).unwrap()
    rest = run_apart(pairing.publish_job, url, cohort.admin.id, cohort.pid, now, 2, 60.0)

    assert (one.published, one.more) == (2, True)  # no time given: one chunk
    assert (rest.unwrap().published, rest.unwrap().more) == (3, False)  # two chunks, one call
    assert rest.told == frozenset(u for d in drafts[2:] for u in (d.mentor_id, d.mentee_id))
    audit = cohort.db.exec(select(AuditLog).where(AuditLog.action == "pairs_published")).all()
    assert len(audit) == 3  # a transaction a chunk, as before


def test_a_refusal_after_a_helper_calls_chunks_returns_what_they_did_then_the_refusal(
    cohort: Cohort, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mentor_app.db import url_of

    mentors = [cohort.person(f"Mentor {i}", "mentor", capacity=2) for i in range(2)]
    for i in range(4):
        cohort.pair(cohort.person(f"Mentee {i}", "mentee"), mentors[i % 2])
    cohort.db.commit()
    now = dt.datetime.combine(TODAY, dt.time(9), tzinfo=dt.UTC)
    publish, calls = pairing.publish_pairs, []

    def refused_after_one(*args: Any, **kwargs: Any) -> pairing.PublishResult:
        calls.append(1)
        if len(calls) > 1:
            raise PermissionDenied("Only the group's admins can publish pairs.")
        return publish(*args, **kwargs)

    monkeypatch.setattr(pairing, "publish_pairs", refused_after_one)
    url = url_of(cohort.db)
    first = pairing.publish_job(url, cohort.admin.id or 0, cohort.pid, now, 2, 60.0)
    second = pairing.publish_job(url, cohort.admin.id or 0, cohort.pid, now, 2, 60.0)

    assert (first.unwrap().published, first.unwrap().more) == (2, True)  # the chunk it wrote
    assert second.result is None
    with pytest.raises(PermissionDenied, match="Only the group's admins"):
        second.unwrap()


def test_a_refusal_in_the_publishing_helper_comes_back_as_the_same_refusal(
    cohort: Cohort,
) -> None:
    from mentor_app.apart import run_apart
    from mentor_app.db import url_of

    cohort.pair(cohort.person("Theo", "mentee"), cohort.person("Maya", "mentor"))
    outsider = make_user(cohort.db)
    cohort.db.commit()
    now = dt.datetime.combine(TODAY, dt.time(9), tzinfo=dt.UTC)

    done = run_apart(pairing.publish_job, url_of(cohort.db), outsider.id, cohort.pid, now, 2)

    assert done.result is None and done.told == frozenset()
    with pytest.raises(PermissionDenied) as refused:
        done.unwrap()
    with pytest.raises(PermissionDenied) as here:
        pairing.publish_pairs(cohort.db, actor=outsider, program_id=cohort.pid, now=now)
    assert refused.value.message == here.value.message
    assert cohort.db.exec(select(Pair)).one().status == "draft"


def test_the_fairness_panel_of_a_large_program_is_scored_in_a_helper_alike(
    cohort: Cohort, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(3):
        mentor = cohort.person(f"Mentor {i}", "mentor", areas=AREAS[: i + 1])
        cohort.pair(cohort.person(f"Mentee {i}", "mentee", areas=AREAS[i : i + 1]), mentor)
    pairing.publish_pairs(cohort.db, actor=cohort.admin, program_id=cohort.pid, today=TODAY)
    cohort.db.commit()
    here = pairing.get_workspace(cohort.db, actor=cohort.admin, program_id=cohort.pid).fairness
    asked: list[Any] = []
    real = pairing.run_apart
    monkeypatch.setattr(pairing, "run_apart", lambda fn, *a: (asked.append(fn), real(fn, *a))[1])
    monkeypatch.setattr(pairing, "FAIRNESS_APART_FROM", 3)

    apart = pairing.get_workspace(cohort.db, actor=cohort.admin, program_id=cohort.pid).fairness

    assert asked == [pairing.published_scores_job]
    assert apart == here and apart.published == 3


def test_publish_stops_after_a_pair_when_asked_to_yield_and_the_next_call_goes_on(
    cohort: Cohort,
) -> None:
    mentor = cohort.person("Maya", "mentor", capacity=3)
    drafts = [cohort.pair(cohort.person(f"Mentee {i}", "mentee"), mentor) for i in range(3)]
    asked: list[int] = []

    def yield_now() -> bool:
        asked.append(1)
        return True  # a chat send waits from the first pair on

    first = pairing.publish_pairs(
        cohort.db,
        actor=cohort.admin,
        program_id=cohort.pid,
        today=TODAY,
        limit=10,
        yield_to=yield_now,
    )
    assert (first.published, first.more, len(asked)) == (1, True, 1)
    rest = pairing.publish_pairs(
        cohort.db, actor=cohort.admin, program_id=cohort.pid, today=TODAY, limit=10
    )
    assert (rest.published, rest.more) == (2, False)
    assert [cohort.db.get(Pair, d.id).status for d in drafts] == ["active"] * 3  # type: ignore[union-attr]


def _publish_in_a_helper(url: str, actor_id: int, program_id: int, now: Any, flag: str) -> None:
    """As mentor_app.apart runs `publish_job`, in a helper process: before its first pair's
    score, it waits until a writer of the test's process waits for the turn (the worker's
    mark on `<database>-waiting`, 10 s at most)."""
    import time
    from pathlib import Path

    from mentor_app import db as db_module
    from mentor_app.services import matching

    db_module.run_in_background()
    real = matching.score_pair
    first = [True]
    mark = open(f"{url.removeprefix('sqlite:///')}-waiting", "a+b")  # noqa: SIM115

    def then_wait(*args: Any, **kwargs: Any) -> Any:
        if first[0]:
            first[0] = False
            Path(flag).touch()
            deadline = time.monotonic() + 10
            while (
                not db_module._SQLiteWriters._held_by_another(mark) and time.monotonic() < deadline
            ):
                time.sleep(0.001)
        return real(*args, **kwargs)

    matching.score_pair = then_wait  # type: ignore[assignment]
    pairing.publish_job(url, actor_id, program_id, now, 10).unwrap()


@pytest.mark.sqlite_only(reason="SQLite's one writer at a time; PostgreSQL does not wait")
def test_a_write_of_the_worker_waits_for_one_pair_of_a_publish_chunk_not_the_chunk(
    cohort: Cohort, tmp_path: Path
) -> None:
    import multiprocessing
    import time

    from mentor_app.db import session_scope, url_of

    mentors = [cohort.person(f"Mentor {i}", "mentor", capacity=2) for i in range(2)]
    for i in range(4):
        cohort.pair(cohort.person(f"Mentee {i}", "mentee"), mentors[i % 2])
    cohort.db.commit()
    url = url_of(cohort.db)
    flag = tmp_path / "scoring"
    now = dt.datetime.combine(TODAY, dt.time(9), tzinfo=dt.UTC)
    helper = multiprocessing.get_context("spawn").Process(
        target=_publish_in_a_helper, args=(url, cohort.admin.id, cohort.pid, now, str(flag))
    )
    helper.start()
    try:
        deadline = time.monotonic() + 60
        while not flag.exists():
            assert time.monotonic() < deadline and helper.is_alive()
            time.sleep(0.005)
        engine = cohort.db.get_bind()
        with session_scope(engine) as worker_db:  # type: ignore[arg-type]
            active = len(worker_db.exec(select(Pair).where(Pair.status == "active")).all())
        helper.join(60)
    finally:
        helper.kill()
    assert helper.exitcode == 0
    assert active == 1  # the chunk's first pair, committed for this write; 3 still drafts
