"""NUL (U+0000) in every text a person can enter, on both engines: PostgreSQL text columns
refuse it, so each service drops it at input and stores the rest as sent (or, for display
names, refuses every control character with a message); nothing crashes, on either engine.

Each test runs once on SQLite and once on PostgreSQL whatever `--db` says, so `make test`
(SQLite by default) exercises PostgreSQL here too."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from mentor_app import migrations
from mentor_app.db import make_engine
from mentor_app.models import CheckIn, Group, LoginThrottle, Message, Pair, Program, Report, User
from mentor_app.services import accounts, chat, enrollments, groups, journey, moderation, programs
from mentor_app.services.errors import ValidationError
from tests.factories import PASSWORD, TODAY, make_pair, make_user

NUL = "\x00"
# What must survive: markup, direction and zero-width characters are stored as sent.
KEPT = "<b>x</b>\u202eabc\u200bz"


@pytest.fixture(params=["sqlite", "postgresql"])
def both_db(request: pytest.FixtureRequest) -> Iterator[Session]:
    engine: Engine
    if request.param == "postgresql":
        databases = request.getfixturevalue("pg_databases")
        name = databases.create_migrated()
        engine = make_engine(databases.url(name))
    else:
        engine = make_engine(f"sqlite:///{request.getfixturevalue('tmp_path') / 'nul.db'}")
        migrations.upgrade(engine)
    try:
        with Session(engine, expire_on_commit=False) as session:
            yield session
            session.rollback()
    finally:
        engine.dispose()
        if request.param == "postgresql":
            databases.drop(name)


def _fresh(db: Session, row: type, ident: int) -> object:
    db.expire_all()
    found = db.get(row, ident)
    assert found is not None
    return found


def test_nul_in_pair_texts_is_dropped_and_the_rest_stored_as_sent(both_db: Session) -> None:
    db = both_db
    setup = make_pair(db)
    pid = setup.pair.id or 0
    week1 = setup.at_week(1)

    sent = chat.send_message(
        db, actor=setup.mentor, pair_id=pid, body=f"hi{NUL}{KEPT}", client_id=None, now=week1
    )
    journey.save_check_in(
        db, actor=setup.mentor, pair_id=pid, mood=3, met="yes", note=f"n{NUL}ote", now=week1
    )
    report = chat.report(
        db, actor=setup.mentee, pair_id=pid, category="other", details=f"d{NUL}etail", now=week1
    )
    db.commit()

    assert db.exec(select(Message.body).where(Message.id == sent.id)).one() == f"hi{KEPT}"
    assert db.exec(select(CheckIn.note).where(CheckIn.pair_id == pid)).one() == "note"
    assert db.exec(select(Report.details).where(Report.id == report.id)).one() == "detail"

    moderation.set_site_moderator(db, email=f"{NUL}{setup.admin.email}", value=True)
    moderation.take_into_review(db, actor=setup.admin, report_id=report.id or 0, reason=f"r{NUL}")
    db.commit()

    journey.end_pair(db, actor=setup.mentee, pair_id=pid, reason="other", detail=f"bye{NUL}!")
    db.commit()
    ended = _fresh(db, Pair, pid)
    assert isinstance(ended, Pair) and ended.end_detail == "bye!"


def test_nul_in_group_program_and_answer_texts_is_dropped(both_db: Session) -> None:
    db = both_db
    admin = make_user(db, email=f"ad{NUL}min@example.com")
    assert admin.email == "admin@example.com"
    group = groups.create_group(
        db, actor=admin, name=f"Circle{NUL} {KEPT}", description=f"a{NUL}b", category="professional"
    )
    db.commit()
    stored = _fresh(db, Group, group.id or 0)
    assert isinstance(stored, Group)
    assert (stored.name, stored.description) == (f"Circle {KEPT}", "ab")

    program = programs.start_program(
        db, actor=admin, group_id=group.id or 0, template_key="career_advancement"
    )
    pid = program.id or 0
    programs.save_details(
        db, actor=admin, program_id=pid, title=f"T{NUL}itle", description=f"D{NUL}esc",
        start_date=(TODAY.replace(year=TODAY.year + 1)).isoformat(), length_weeks=4,
        mentor_capacity_max=2, today=TODAY,
    )  # fmt: skip
    questions = [dict(q) for q in program.questions]
    choice = next(q for q in questions if q["type"] in programs.CHOICE_TYPES)
    choice["text"] = f"Pick{NUL} one"
    choice["options"] = [f"{o}{NUL}" for o in choice["options"]]
    programs.save_questions(db, actor=admin, program_id=pid, questions=questions)
    steps = [dict(s) for s in program.journey]
    steps[0] |= {"title": f"W{NUL}1", "focus": f"F{NUL}", "prompts": [f"P{NUL}?"]}
    programs.save_journey(db, actor=admin, program_id=pid, journey=steps)
    programs.publish(db, actor=admin, program_id=pid, today=TODAY)
    db.commit()

    saved = _fresh(db, Program, pid)
    assert isinstance(saved, Program)
    assert (saved.title, saved.description) == ("Title", "Desc")
    question = next(q for q in saved.questions if q["id"] == choice["id"])
    assert question["text"] == "Pick one"
    assert not any(NUL in o for o in question["options"])
    assert (saved.journey[0]["title"], saved.journey[0]["focus"]) == ("W1", "F")
    assert saved.journey[0]["prompts"] == ["P?"]

    member = make_user(db)
    groups.join_group(db, actor=member, group_id=group.id or 0)
    answers: dict[str, str | list[str]] = {}
    for q in saved.questions:
        if q["role"] != "mentee":
            continue
        if q["type"] == "single_choice":
            answers[q["id"]] = q["options"][0]
        elif q["type"] == "multiple_choice":
            answers[q["id"]] = q["options"][:1]
        else:
            answers[q["id"]] = f"I{NUL} want to learn"
    enrollment = enrollments.apply(
        db, actor=member, program_id=pid, role="mentee", answers=answers, today=TODAY
    )
    db.commit()
    texts = [a for a in enrollment.answers.values() if isinstance(a, str) and a.startswith("I")]
    assert "I want to learn" in texts


def test_nul_in_a_display_name_is_a_message_and_in_a_log_in_email_no_crash(
    both_db: Session,
) -> None:
    db = both_db
    with pytest.raises(ValidationError) as refused:
        make_user(db, display_name=f"Sam{NUL}")
    assert refused.value.field == "display_name"
    db.rollback()

    user = make_user(db, email="sam@example.com")
    assert accounts.authenticate(db, email=f"sam{NUL}@example.com", password=PASSWORD) == user
    db.commit()
    with pytest.raises(ValidationError):
        accounts.authenticate(db, email=f"nobody{NUL}@example.com", password="wrong password")
    throttles = db.exec(select(LoginThrottle.email)).all()
    assert throttles == ["nobody@example.com"]
    assert [u.email for u in db.exec(select(User)).all()] == ["sam@example.com"]
