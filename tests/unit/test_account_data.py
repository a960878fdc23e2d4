"""Settings → Your data: downloading one's data, and deleting one's account (GDPR access and
erasure). The member who leaves is the mentee, Theo, renamed to a canary name."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import ForeignKey, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DatabaseError
from sqlmodel import Session, SQLModel

from mentor_app.models import (
    AuditLog,
    Block,
    EmailOutbox,
    Enrollment,
    Group,
    LoginThrottle,
    Message,
    Notification,
    Pair,
    PairSurvey,
    Program,
    Report,
    User,
    UserSession,
    utcnow,
)
from mentor_app.services import (
    account_data,
    accounts,
    chat,
    email_prefs,
    goals,
    journey,
    moderation,
    notifications,
    presence,
    sessions,
)
from mentor_app.services.access import access_pair
from mentor_app.services.errors import ValidationError
from tests.factories import PASSWORD, PairSetup, make_pair, make_user

# The member's private data: none of it may remain anywhere once the account is deleted.
NAME = "Quillonby"
EMAIL = "canary-quillonby@example.org"
GONE = {
    "name": NAME,
    "email": EMAIL,
    "answers": "CANARY-answers-theo",
    "message": "CANARY-message-theo",
    "message_reported_closed": "CANARY-message-in-closed-report",
    "checkin": "CANARY-checkin-theo",
    "survey": "CANARY-survey-theo",
    "notification": "CANARY-notification-theo",
    "outbox": "CANARY-outbox-theo",
    "goal": "CANARY-goal-theo",
    "goal_note": "CANARY-goal-note-theo",
}
# The details of Theo's own report: kept while it is open, for the moderators to finish.
OWN_REPORT = "KEPT-report-by-theo-while-open"
# Others' private data: present in the database, never in Theo's download.
PARTNER_TEXT = "PARTNER-message-maya"
PARTNER_NOTE = "PARTNER-checkin-maya"
PARTNER_GOAL_COMMENT = "PARTNER-goal-comment-maya"
REPORT_BY_OTHER = "REPORT-by-maya-about-theo"
# Theo's message in an open report's evidence: it stays, for the moderators.
EVIDENCE_OPEN = "EVIDENCE-kept-while-open"


@dataclass
class World:
    setup: PairSetup
    moderator: User
    open_report_id: int
    closed_report_id: int
    own_report_id: int

    @property
    def theo(self) -> User:
        return self.setup.mentee

    @property
    def maya(self) -> User:
        return self.setup.mentor


def _send(db: Session, actor: User, pair_id: int, body: str) -> Message:
    return chat.send_message(db, actor=actor, pair_id=pair_id, body=body, client_id=None)


@pytest.fixture
def world(db: Session) -> World:
    setup = make_pair(db)
    theo, maya = setup.mentee, setup.mentor
    pid = setup.pair.id or 0
    theo.display_name, theo.email = NAME, EMAIL
    # A hash of his own (factory members with one password share one): the deletion test
    # looks for it everywhere, and it must be his alone to be found as his.
    theo.password_hash = accounts.pwd_context.hash(PASSWORD)
    db.add(theo)
    enrollment = db.get(Enrollment, setup.mentee_enrollment.id)
    assert enrollment is not None
    enrollment.answers = {**enrollment.answers, "mentee_goals": GONE["answers"]}
    db.add(enrollment)
    db.commit()
    # Pairing news named Theo to Maya (written here: publishing ran before the rename).
    notifications.notify(
        db,
        user_id=maya.id or 0,
        kind="paired",
        text=f"You're paired with {NAME}.",
        link=f"/pairs/{pid}",
    )

    _send(db, theo, pid, GONE["message"])
    _send(db, maya, pid, PARTNER_TEXT)
    evidence_open = _send(db, theo, pid, EVIDENCE_OPEN)
    evidence_closed = _send(db, theo, pid, GONE["message_reported_closed"])
    week1 = setup.at_week(1)
    journey.save_check_in(
        db, actor=theo, pair_id=pid, mood=4, met=True, note=GONE["checkin"], now=week1
    )
    journey.save_check_in(
        db, actor=maya, pair_id=pid, mood=3, met=True, note=PARTNER_NOTE, now=week1
    )
    goal = goals.add_goal(db, actor=theo, pair_id=pid, text=GONE["goal"])
    goals.mark_progress(
        db, actor=theo, pair_id=pid, goal_id=goal.id, progress=30, note=GONE["goal_note"]
    )
    goals.comment(db, actor=maya, pair_id=pid, goal_id=goal.id, note=PARTNER_GOAL_COMMENT)
    journey.answer_fit_check(db, actor=theo, pair_id=pid, answer="good", now=setup.at_week(2))
    db.add(PairSurvey(pair_id=pid, user_id=theo.id or 0, rating=5, takeaway=GONE["survey"]))
    notifications.notify(db, user_id=theo.id or 0, kind="test", text=GONE["notification"])
    db.add(EmailOutbox(to_address=EMAIL, subject=GONE["outbox"], body=GONE["outbox"]))
    db.add(LoginThrottle(email=EMAIL, failure_count=1, last_failure_at=utcnow()))
    third = make_user(db, display_name="Sam")
    db.add(Block(blocker_id=theo.id or 0, blocked_id=third.id or 0))

    open_report = chat.report(
        db,
        actor=maya,
        pair_id=pid,
        category="other",
        details=REPORT_BY_OTHER,
        message_ids=[evidence_open.id or 0],
    )
    closed_report = chat.report(
        db, actor=maya, pair_id=pid, category="spam", message_ids=[evidence_closed.id or 0]
    )
    own_report = chat.report(db, actor=theo, pair_id=pid, category="other", details=OWN_REPORT)
    db.commit()
    moderator = make_user(db, display_name="Mo")
    moderator.is_site_moderator = True
    db.add(moderator)
    db.commit()
    moderation.dismiss(db, actor=moderator, report_id=closed_report.id or 0, reason="Not spam.")
    sessions.create_session(db, user=theo)
    sessions.create_session(db, user=theo)
    db.commit()
    return World(setup, moderator, open_report.id or 0, closed_report.id or 0, own_report.id or 0)


def _dump(db: Session, *, skip: tuple[str, ...] = ()) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, as plain values."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    for table in SQLModel.metadata.sorted_tables:
        if table.name in skip:
            continue
        rows = db.connection().execute(select(table).order_by(*table.primary_key.columns))
        out[table.name] = [tuple(r) for r in rows]
    return out


def _delete(db: Session, user: User, password: str = PASSWORD) -> str:
    deleted = account_data.delete_account(db, actor=user, password=password)
    db.commit()
    return deleted.pseudonym


# --- download my data -----------------------------------------------------------------------


def test_download_holds_the_members_own_data(db: Session, world: World) -> None:
    data = account_data.export_account(db, actor=world.theo)
    blob = json.dumps(data, ensure_ascii=False)
    assert data["profile"]["email"] == EMAIL and data["profile"]["display_name"] == NAME
    assert data["profile"]["date_of_birth"] == "1990-01-01"
    assert [g["role"] for g in data["groups"]] == ["member"]
    [application] = data["applications"]
    assert application["role"] == "mentee"
    assert {"question": "mentee_goals", "answer": GONE["answers"]} in application["answers"]
    [pair] = data["pairs"]
    assert pair["partner"] == "Maya" and pair["your_role"] == "mentee"
    assert [m["you wrote"] for m in pair["messages"] if "you wrote" in m] == [
        GONE["message"],
        EVIDENCE_OPEN,
        GONE["message_reported_closed"],
    ]
    assert [c["note"] for c in pair["check_ins"]] == [GONE["checkin"]]
    assert [(g["goal"], g["progress"]) for g in pair["goals"]] == [(GONE["goal"], 30)]
    assert [n["note"] for n in pair["goal_notes"]] == [GONE["goal_note"]]  # not Maya's
    assert PARTNER_GOAL_COMMENT not in blob
    assert pair["fit_check"] == "Good fit"
    assert pair["closing_survey"] == {"rating": 5, "takeaway": GONE["survey"]}
    assert GONE["notification"] in [n["text"] for n in data["notifications"]]
    assert [e["subject"] for e in data["emails"]] == [GONE["outbox"]]
    assert data["email_preferences"] == {
        "nudges": True,
        "reminders": True,
        "pairing": True,
        "digest": False,
    }
    assert [r["details"] for r in data["reports_filed"]] == [OWN_REPORT]
    assert [b["blocked"] for b in data["blocks"]] == ["Sam"]
    assert "report_filed" in [a["action"] for a in data["activity"]]
    assert json.loads(account_data.export_json(db, actor=world.theo))["pairs"] == data["pairs"]
    assert GONE["message"] in blob


def test_download_shows_the_partners_messages_only_as_partner_wrote(
    db: Session, world: World
) -> None:
    # The canaries are there to leak: in the database, readable by a query.
    stored = db.connection().execute(text("SELECT body, created_at FROM pair_message")).all()
    assert PARTNER_TEXT in [row[0] for row in stored]
    data = account_data.export_account(db, actor=world.theo)
    [pair] = data["pairs"]
    partner = [m for m in pair["messages"] if "partner wrote" in m]
    assert len(partner) == 1 and set(partner[0]) == {"partner wrote"}
    assert partner[0]["partner wrote"].startswith(str(utcnow().year))
    assert PARTNER_TEXT not in json.dumps(data, ensure_ascii=False)


def test_download_holds_no_partner_check_in_and_no_report_by_others(
    db: Session, world: World
) -> None:
    stored = db.connection().execute(text("SELECT note FROM check_in")).all()
    assert PARTNER_NOTE in [row[0] for row in stored]
    assert db.get(Report, world.open_report_id).details == REPORT_BY_OTHER  # type: ignore[union-attr]
    blob = account_data.export_json(db, actor=world.theo).decode()
    assert PARTNER_NOTE not in blob
    assert REPORT_BY_OTHER not in blob
    assert "Not spam." not in blob  # the moderator's reason
    # The partner's own download has their text, and none of Theo's.
    theirs = account_data.export_json(db, actor=world.maya).decode()
    assert PARTNER_TEXT in theirs and PARTNER_NOTE in theirs
    assert GONE["message"] not in theirs and GONE["checkin"] not in theirs


# --- delete my account ----------------------------------------------------------------------


def test_wrong_password_is_refused_and_nothing_changes(engine: Engine, world: World) -> None:
    with Session(engine) as db:
        before = _dump(db, skip=("login_throttle",))
        theo = db.get(User, world.theo.id)
        assert theo is not None
        with pytest.raises(ValidationError) as refused:
            account_data.delete_account(db, actor=theo, password="not my password")
        db.rollback()
        assert refused.value.field == "password"
        assert refused.value.message == account_data.WRONG_PASSWORD
    with Session(engine) as db:
        assert _dump(db, skip=("login_throttle",)) == before
        # The refusal counts as a failed log-in for that e-mail (no free guessing).
        throttle = db.get(LoginThrottle, EMAIL)
        assert throttle is not None and throttle.failure_count == 2


def test_deleting_ends_the_pairs_and_tells_the_partner(db: Session, world: World) -> None:
    assert db.get(Pair, world.setup.pair.id).factors  # type: ignore[union-attr]
    _delete(db, world.theo)
    pair = db.get(Pair, world.setup.pair.id, populate_existing=True)
    assert pair is not None
    assert (pair.status, pair.end_reason, pair.mentor_seat) == ("ended", "account_deleted", None)
    assert pair.factors == []  # they quoted both members' answers
    told = db.exec(
        select(Notification.text).where(
            Notification.user_id == world.maya.id, Notification.kind == "pair_ended"
        )
    ).all()
    assert [t for (t,) in told] == [
        f"Your partner in “{world.setup.program.title}” deleted their account, so your pair "
        "has ended."
    ]
    audit_rows = db.exec(
        select(AuditLog.action).where(AuditLog.target_type == "pair", AuditLog.target_id == pair.id)
    ).all()
    assert ("pair_ended",) in audit_rows


def test_a_mentor_deleting_sends_their_mentee_back_to_wait_first_in_line_and_tells_admins(
    db: Session, world: World
) -> None:
    def rematch_alerts() -> list[str]:
        return list(
            db.scalars(
                select(Notification.text).where(
                    Notification.user_id == world.setup.admin.id,
                    Notification.kind == "rematch_needed",
                )
            )
        )

    assert rematch_alerts() == []
    _delete(db, world.maya)
    mentee = db.get(Enrollment, world.setup.mentee_enrollment.id, populate_existing=True)
    assert mentee is not None
    assert (mentee.status, mentee.rematch_priority) == ("active", True)
    assert (
        db.exec(
            select(Notification).where(
                Notification.user_id == world.theo.id, Notification.kind == "pair_ended"
            )
        ).first()
        is not None
    )
    # The group's admin is told the mentee waits again, first in line.
    [alert] = rematch_alerts()
    assert world.theo.display_name in alert and "rematch priority" in alert


def test_deleting_removes_the_personal_data_from_every_table(db: Session, world: World) -> None:
    old_hash = db.get(User, world.theo.id).password_hash  # type: ignore[union-attr]
    everything = repr(_dump(db))
    for canary in (*GONE.values(), old_hash):
        assert canary in everything, canary  # each canary is there to be found first

    email_prefs.save_preferences(
        db, actor=world.theo, nudges=False, reminders=True, pairing=True, digest=True
    )
    presence.mark_conversation_read(
        db, access=access_pair(db, actor=world.theo, pair_id=world.setup.pair.id or 0)
    )
    db.commit()
    mine = {"email_preference": 0, "conversation_read": 0}
    for table in mine:
        mine[table] = len(
            db.connection()
            .execute(text(f"SELECT 1 FROM {table} WHERE user_id = {world.theo.id}"))
            .all()
        )
    assert mine == {"email_preference": 1, "conversation_read": 1}

    _delete(db, world.theo)

    for table in mine:
        assert (
            not db.connection()
            .execute(text(f"SELECT 1 FROM {table} WHERE user_id = {world.theo.id}"))
            .all()
        ), table
    after = _dump(db)
    for table, rows in after.items():
        for row in rows:
            for canary in (*GONE.values(), old_hash):
                assert canary not in repr(row), f"{canary} left in {table}: {row}"
    tombstone = db.get(User, world.theo.id, populate_existing=True)
    assert tombstone is not None
    assert tombstone.status == "deleted"
    assert tombstone.display_name.startswith("Deleted member ")
    assert tombstone.email.endswith("@deleted.invalid")
    assert tombstone.date_of_birth == dt.date(1900, 1, 1)
    # Others' data stays: the partner's message and check-in note, their comment on the
    # goal, whose numbers stay for the program's counts.
    assert PARTNER_TEXT in repr(after["pair_message"]) and PARTNER_NOTE in repr(after["check_in"])
    assert PARTNER_GOAL_COMMENT in repr(after["goal_update"])
    kept_goals = db.connection().execute(text("SELECT text, progress FROM goal")).all()
    assert [tuple(g) for g in kept_goals] == [(account_data.GOAL_REMOVED, 30)]


def test_reports_about_them_stay_for_moderators_pseudonymised(db: Session, world: World) -> None:
    pseudonym = _delete(db, world.theo)

    open_report = db.get(Report, world.open_report_id, populate_existing=True)
    assert open_report is not None
    assert (open_report.status, open_report.reported_id) == ("open", world.theo.id)
    assert open_report.details == REPORT_BY_OTHER
    [item] = open_report.evidence
    assert (item["sender_name"], item["body"]) == (pseudonym, EVIDENCE_OPEN)
    # The moderators' queue still lists it, under the pseudonym.
    queue = moderation.get_report(db, actor=world.moderator, report_id=world.open_report_id)
    assert pseudonym in repr(queue) and NAME not in repr(queue)

    closed = db.get(Report, world.closed_report_id, populate_existing=True)
    assert closed is not None and closed.status == "dismissed"
    [kept] = closed.evidence
    assert (kept["sender_name"], kept["body"]) == (pseudonym, "")
    # Their own open report stays too, for the moderators to finish.
    own = db.get(Report, world.own_report_id, populate_existing=True)
    assert own is not None and own.reporter_id == world.theo.id
    assert (own.status, own.details) == ("open", OWN_REPORT)


def test_their_text_in_a_report_goes_when_the_report_closes_after_the_deletion(
    db: Session, world: World
) -> None:
    pseudonym = _delete(db, world.theo)
    # Kept while the reports are open: their message in the evidence, their own details.
    about_them = db.get(Report, world.open_report_id, populate_existing=True)
    theirs = db.get(Report, world.own_report_id, populate_existing=True)
    assert about_them is not None and EVIDENCE_OPEN in repr(about_them.evidence)
    assert theirs is not None and theirs.details == OWN_REPORT

    moderation.dismiss(db, actor=world.moderator, report_id=world.open_report_id, reason="Done.")
    moderation.dismiss(db, actor=world.moderator, report_id=world.own_report_id, reason="Done.")
    db.commit()

    about_them = db.get(Report, world.open_report_id, populate_existing=True)
    assert about_them is not None and about_them.status == "dismissed"
    [item] = about_them.evidence
    assert (item["sender_name"], item["body"]) == (pseudonym, "")
    assert about_them.details == REPORT_BY_OTHER  # the reporter's own words are theirs
    theirs = db.get(Report, world.own_report_id, populate_existing=True)
    assert theirs is not None and theirs.details == ""


def test_audit_rows_are_untouched_and_still_append_only(engine: Engine, world: World) -> None:
    with Session(engine) as db:
        before = db.connection().execute(select(AuditLog.__table__)).all()  # type: ignore[attr-defined]
        assert any(row.actor_id == world.theo.id for row in before)
        _delete(db, world.theo)
        after = db.connection().execute(select(AuditLog.__table__)).all()  # type: ignore[attr-defined]
        assert after[: len(before)] == before
        assert ("account_deleted", world.theo.id) in [(r.action, r.actor_id) for r in after]
    for statement in ("UPDATE audit_log SET detail = 'x'", "DELETE FROM audit_log"):
        with Session(engine) as db, pytest.raises(DatabaseError):
            db.connection().execute(text(statement))
            db.commit()


def test_deleted_member_is_logged_out_and_their_email_is_free_again(
    db: Session, world: World
) -> None:
    token = sessions.create_session(db, user=world.theo)
    db.commit()
    _delete(db, world.theo)
    assert sessions.resolve_session(db, token=token) is None
    # Every session row is gone, not merely refused (the tombstone is not "active").
    assert db.exec(select(UserSession).where(UserSession.user_id == world.theo.id)).all() == []
    with pytest.raises(ValidationError):
        accounts.authenticate(db, email=EMAIL, password=PASSWORD)
    db.commit()
    again = make_user(db, email=EMAIL, display_name="Theo again")
    assert again.id != world.theo.id
    assert accounts.authenticate(db, email=EMAIL, password=PASSWORD).id == again.id


def test_a_deleted_account_cannot_be_deleted_or_downloaded_again(db: Session, world: World) -> None:
    _delete(db, world.theo)
    gone = db.get(User, world.theo.id, populate_existing=True)
    assert gone is not None
    with pytest.raises(Exception, match="User not found"):
        account_data.delete_account(db, actor=gone, password=PASSWORD)
    with pytest.raises(Exception, match="User not found"):
        account_data.export_account(db, actor=gone)


def test_every_user_reference_has_a_deletion_decision() -> None:
    references = {
        (table.name, fk.parent.name)
        for table in SQLModel.metadata.sorted_tables
        for fk in table.foreign_keys
        if isinstance(fk, ForeignKey) and fk.column.table.name == "app_user"
    }
    assert references == set(account_data.DECISIONS)


def test_a_moderator_and_an_admin_can_delete_their_accounts_and_their_records_stay(
    db: Session, world: World
) -> None:
    """Deleting such a user by hand is refused today (the append-only tables reference them)
    or cascades; the service keeps every row they are named in, under the tombstone."""
    actions = db.connection().execute(text("SELECT * FROM moderation_action")).all()
    assert any(row.moderator_id == world.moderator.id for row in actions)
    admin = world.setup.admin
    _delete(db, world.moderator)
    _delete(db, admin)
    assert db.connection().execute(text("SELECT * FROM moderation_action")).all() == actions
    program = db.get(Program, world.setup.program.id, populate_existing=True)
    assert program is not None and program.created_by == admin.id
    group = db.get(Group, world.setup.group.id, populate_existing=True)
    assert group is not None and group.created_by == admin.id
    for gone in (world.moderator, admin):
        row = db.get(User, gone.id, populate_existing=True)
        assert row is not None and row.status == "deleted" and not row.is_site_moderator


def test_their_end_note_goes_and_an_admins_note_on_others_pair_stays(db: Session) -> None:
    by_member, by_admin = make_pair(db), make_pair(db)
    journey.end_pair(
        db, actor=by_member.mentee, pair_id=by_member.pair.id or 0, reason="other",
        detail="THEIR-OWN-NOTE", rating=2,
    )  # fmt: skip
    journey.end_pair(
        db, actor=by_admin.admin, pair_id=by_admin.pair.id or 0, reason="other",
        detail="ADMIN-NOTE-ON-OTHERS", rating=4,
    )  # fmt: skip
    db.commit()
    _delete(db, by_member.mentee)
    _delete(db, by_admin.admin)
    own = db.get(Pair, by_member.pair.id, populate_existing=True)
    others = db.get(Pair, by_admin.pair.id, populate_existing=True)
    assert own is not None and (own.end_detail, own.end_rating) == ("", None)
    assert others is not None and (others.end_detail, others.end_rating) == (
        "ADMIN-NOTE-ON-OTHERS",
        4,
    )
