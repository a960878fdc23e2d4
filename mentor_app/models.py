"""SQLModel tables shared by services (and, read-only, by states through services).

Datetimes are timezone-aware UTC (`utcnow()`); SQLModel's UTCDateTime stores them
the same way on SQLite and PostgreSQL and refuses naive values.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class User(SQLModel, table=True):
    __tablename__ = "app_user"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True, index=True)
    display_name: str = Field(max_length=80)
    password_hash: str = Field(max_length=255)
    date_of_birth: dt.date
    status: str = Field(default="active", max_length=16)  # active | suspended
    is_site_moderator: bool = Field(default=False)
    timezone: str = Field(default="UTC", max_length=64)  # IANA name, from the browser
    # Whether `timezone` came from the member's browser (sign-up, log-in, the pair page);
    # while it is False, `timezone` is only the UTC default and nudges guess (see nudges).
    timezone_known: bool = Field(default=False)
    created_at: dt.datetime = Field(default_factory=utcnow)


class UserSession(SQLModel, table=True):
    """A signed-in browser. Only the SHA-256 of the token is stored."""

    __tablename__ = "user_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    user_id: int = Field(foreign_key="app_user.id", index=True, ondelete="CASCADE")
    created_at: dt.datetime = Field(default_factory=utcnow)
    last_seen_at: dt.datetime = Field(default_factory=utcnow)
    expires_at: dt.datetime


class LoginThrottle(SQLModel, table=True):
    """Failed logins per normalised e-mail, known or not, so throttling reveals nothing."""

    __tablename__ = "login_throttle"

    email: str = Field(primary_key=True, max_length=254)
    failure_count: int = Field(default=0)
    last_failure_at: dt.datetime | None = None
    locked_until: dt.datetime | None = None


class RateLimit(SQLModel, table=True):
    """One rate limit's count in its current window: failed log-ins and sign-ups of a client
    address, new groups and joins of a member (`services.throttling`). A row whose window
    has passed counts as nothing and is deleted by the scheduler."""

    __tablename__ = "rate_limit"

    key: str = Field(primary_key=True, max_length=200)  # "<limit>:<address or member id>"
    window_start: dt.datetime = Field(index=True)
    count: int = Field(default=0)


class Group(SQLModel, table=True):
    __tablename__ = "community_group"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    description: str = Field(default="", max_length=2000)
    category: str = Field(max_length=32)  # parenting | professional | personal_development | other
    is_open: bool = Field(default=True)
    created_by: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
    created_at: dt.datetime = Field(default_factory=utcnow)


class Membership(SQLModel, table=True):
    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("group_id", "user_id", name="uq_membership_group_user"),)

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="community_group.id", index=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="app_user.id", index=True, ondelete="CASCADE")
    role: str = Field(default="member", max_length=16)  # admin | moderator | member
    joined_at: dt.datetime = Field(default_factory=utcnow)


class AuditLog(SQLModel, table=True):
    """Append-only record of admin, moderation and security-relevant actions."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = Field(default_factory=utcnow, index=True)
    actor_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
    action: str = Field(max_length=64, index=True)
    target_type: str | None = Field(default=None, max_length=32)
    target_id: int | None = None
    detail: str = Field(default="", max_length=2000)


class Program(SQLModel, table=True):
    """A mentorship program of a group, built from a template in the wizard.

    Questions and journey are edited as whole documents in the wizard, so they are
    stored as JSON (validated by services.programs before every save)."""

    __tablename__ = "program"

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="community_group.id", index=True, ondelete="CASCADE")
    template_key: str = Field(max_length=40)
    title: str = Field(default="", max_length=120)
    description: str = Field(default="", max_length=4000)
    start_date: dt.date | None = None
    length_weeks: int = Field(default=8)
    mentor_capacity_max: int = Field(default=3)
    status: str = Field(default="draft", max_length=16)  # draft | open | active | closed
    wizard_step: int = Field(default=1)  # where the admin left the wizard (1..5)
    questions: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    journey: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    created_by: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
    created_at: dt.datetime = Field(default_factory=utcnow)
    published_at: dt.datetime | None = None


class Enrollment(SQLModel, table=True):
    """A member's application to a program as mentor or mentee."""

    __tablename__ = "enrollment"
    __table_args__ = (UniqueConstraint("program_id", "user_id", name="uq_enrollment_program_user"),)

    id: int | None = Field(default=None, primary_key=True)
    program_id: int = Field(foreign_key="program.id", index=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="app_user.id", index=True, ondelete="CASCADE")
    role: str = Field(max_length=8)  # mentor | mentee
    capacity: int | None = None  # mentors only: how many mentees they take
    answers: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    # active (waiting or paired) | withdrawn | done (pair completed, or left the program)
    status: str = Field(default="active", max_length=16)
    share_answers: bool = Field(default=True)  # the partner may read these answers
    rematch_priority: bool = Field(default=False)  # a mentee whose pair ended, not by them
    created_at: dt.datetime = Field(default_factory=utcnow)
    updated_at: dt.datetime = Field(default_factory=utcnow)


class Pair(SQLModel, table=True):
    """One mentor and one mentee in a program. Drafts are the admin's proposal, seen by
    admins only; publishing makes them active.

    Capacity is held in the database: a live pair (draft or active) takes one of the
    mentor's numbered seats, unique per mentor, and the mentee's enrollment id is copied
    into a unique column. Once a pair is over both are set to NULL, which frees them.
    """

    __tablename__ = "mentor_pair"
    __table_args__ = (
        UniqueConstraint("mentor_enrollment_id", "mentor_seat", name="uq_pair_mentor_seat"),
        UniqueConstraint("live_mentee_enrollment_id", name="uq_pair_live_mentee"),
        CheckConstraint("mentor_seat IS NULL OR mentor_seat >= 1", name="ck_pair_seat_positive"),
        CheckConstraint("mentor_id <> mentee_id", name="ck_pair_two_people"),
        CheckConstraint(
            "live_mentee_enrollment_id IS NULL OR live_mentee_enrollment_id = mentee_enrollment_id",
            name="ck_pair_live_mentee",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    program_id: int = Field(foreign_key="program.id", index=True, ondelete="CASCADE")
    mentor_enrollment_id: int = Field(foreign_key="enrollment.id", index=True, ondelete="CASCADE")
    mentee_enrollment_id: int = Field(foreign_key="enrollment.id", index=True, ondelete="CASCADE")
    mentor_id: int = Field(foreign_key="app_user.id", index=True, ondelete="CASCADE")
    mentee_id: int = Field(foreign_key="app_user.id", index=True, ondelete="CASCADE")
    status: str = Field(default="draft", max_length=16)  # draft | active | completed | ended
    mentor_seat: int | None = None
    live_mentee_enrollment_id: int | None = None
    score: int = 0
    factors: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    created_by: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
    created_at: dt.datetime = Field(default_factory=utcnow)
    published_at: dt.datetime | None = None
    start_date: dt.date | None = None
    ended_at: dt.datetime | None = None
    end_reason: str | None = Field(default=None, max_length=32)
    ended_by: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
    end_rating: int | None = None  # 1..5, how good the match was; admins only
    end_detail: str = Field(default="", max_length=500)
    paused: bool = Field(default=False)  # an admin paused it: no nudges until resumed


class Block(SQLModel, table=True):
    """A member blocked another: they are never paired or suggested to each other."""

    __tablename__ = "member_block"
    __table_args__ = (
        UniqueConstraint("blocker_id", "blocked_id", name="uq_block_blocker_blocked"),
        CheckConstraint("blocker_id <> blocked_id", name="ck_block_not_self"),
    )

    id: int | None = Field(default=None, primary_key=True)
    blocker_id: int = Field(foreign_key="app_user.id", index=True, ondelete="CASCADE")
    blocked_id: int = Field(foreign_key="app_user.id", index=True, ondelete="CASCADE")
    created_at: dt.datetime = Field(default_factory=utcnow)


class Notification(SQLModel, table=True):
    """An in-app notification for one member."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_user_created", "user_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", ondelete="CASCADE")
    kind: str = Field(max_length=32)
    text: str = Field(max_length=500)
    link: str = Field(default="", max_length=200)
    created_at: dt.datetime = Field(default_factory=utcnow)
    read_at: dt.datetime | None = None


class StepCompletion(SQLModel, table=True):
    """A member marked a week's step of their pair's journey done."""

    __tablename__ = "step_completion"
    __table_args__ = (
        UniqueConstraint("pair_id", "week", "user_id", name="uq_step_completion_member"),
    )

    id: int | None = Field(default=None, primary_key=True)
    pair_id: int = Field(foreign_key="mentor_pair.id", index=True, ondelete="CASCADE")
    week: int
    user_id: int = Field(foreign_key="app_user.id", ondelete="CASCADE")
    done_at: dt.datetime = Field(default_factory=utcnow)


class CheckIn(SQLModel, table=True):
    """One member's weekly check-in: at most one per member per journey week."""

    __tablename__ = "check_in"
    __table_args__ = (
        UniqueConstraint("pair_id", "user_id", "week", name="uq_check_in_member_week"),
        CheckConstraint("mood BETWEEN 1 AND 5", name="ck_check_in_mood"),
    )

    id: int | None = Field(default=None, primary_key=True)
    pair_id: int = Field(foreign_key="mentor_pair.id", index=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="app_user.id", ondelete="CASCADE")
    week: int
    mood: int
    met: bool
    note: str = Field(default="", max_length=1000)
    created_at: dt.datetime = Field(default_factory=utcnow)
    updated_at: dt.datetime = Field(default_factory=utcnow)


class FitCheck(SQLModel, table=True):
    """A member's answer, once, to "is this a good fit?" after the first week."""

    __tablename__ = "fit_check"
    __table_args__ = (UniqueConstraint("pair_id", "user_id", name="uq_fit_check_member"),)

    id: int | None = Field(default=None, primary_key=True)
    pair_id: int = Field(foreign_key="mentor_pair.id", index=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="app_user.id", ondelete="CASCADE")
    answer: str = Field(max_length=16)  # good | deciding | not_good
    created_at: dt.datetime = Field(default_factory=utcnow)


class PairSurvey(SQLModel, table=True):
    """A member's closing survey when the pair completes the program."""

    __tablename__ = "pair_survey"
    __table_args__ = (
        UniqueConstraint("pair_id", "user_id", name="uq_pair_survey_member"),
        CheckConstraint("rating BETWEEN 1 AND 5", name="ck_pair_survey_rating"),
    )

    id: int | None = Field(default=None, primary_key=True)
    pair_id: int = Field(foreign_key="mentor_pair.id", index=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="app_user.id", ondelete="CASCADE")
    rating: int
    takeaway: str = Field(default="", max_length=1000)
    created_at: dt.datetime = Field(default_factory=utcnow)


class Message(SQLModel, table=True):
    """A chat message between the two members of a pair, stored as sent (NUL apart:
    see services.cleaning.storable).

    `client_id` comes from the sender's browser: a retry of the same send finds the row
    the first attempt wrote (unique per sender) instead of writing a second one."""

    __tablename__ = "pair_message"
    __table_args__ = (
        UniqueConstraint("sender_id", "client_id", name="uq_message_sender_client"),
        Index("ix_pair_message_pair_id_id", "pair_id", "id"),
        Index("ix_pair_message_sender_created", "sender_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    pair_id: int = Field(foreign_key="mentor_pair.id", ondelete="CASCADE")
    sender_id: int = Field(foreign_key="app_user.id", ondelete="CASCADE")
    client_id: str = Field(max_length=64)
    body: str = Field(sa_type=Text)
    created_at: dt.datetime = Field(default_factory=utcnow)


class Report(SQLModel, table=True):
    """A member's report from a pair's chat, with a frozen copy of the messages concerned.

    `evidence` is written once, when the report is made: later changes to anything else do
    not alter it. The reported member is never told."""

    __tablename__ = "report"
    __table_args__ = (Index("ix_report_status_created", "status", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    pair_id: int | None = Field(default=None, foreign_key="mentor_pair.id", ondelete="SET NULL")
    reporter_id: int = Field(foreign_key="app_user.id", index=True, ondelete="CASCADE")
    reported_id: int = Field(foreign_key="app_user.id", index=True, ondelete="CASCADE")
    category: str = Field(max_length=32)
    details: str = Field(default="", max_length=2000)
    evidence: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    status: str = Field(default="open", max_length=16)  # open | in_review | actioned | dismissed
    created_at: dt.datetime = Field(default_factory=utcnow)
    updated_at: dt.datetime = Field(default_factory=utcnow)


class ReportedMessage(SQLModel, table=True):
    """Which messages a member has reported: the same message counts once per reporter."""

    __tablename__ = "reported_message"
    __table_args__ = (
        UniqueConstraint("reporter_id", "message_id", name="uq_reported_message_reporter"),
    )

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="report.id", index=True, ondelete="CASCADE")
    reporter_id: int = Field(foreign_key="app_user.id", ondelete="CASCADE")
    message_id: int = Field(foreign_key="pair_message.id", ondelete="CASCADE")


class ModerationAction(SQLModel, table=True):
    """One step a site moderator took on a report (the report's history)."""

    __tablename__ = "moderation_action"

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="report.id", index=True, ondelete="CASCADE")
    moderator_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
    action: str = Field(max_length=16)  # review | dismiss | action | reopen
    outcome: str | None = Field(default=None, max_length=16)  # warn | suspend (for action)
    reason: str = Field(default="", max_length=2000)
    at: dt.datetime = Field(default_factory=utcnow)


class Nudge(SQLModel, table=True):
    """A nudge made for one member of a pair: at most one per (pair, member, week, kind),
    written before the notification is sent, so a rerun or a second scheduler makes none."""

    __tablename__ = "nudge"
    __table_args__ = (UniqueConstraint("pair_id", "user_id", "week", "kind", name="uq_nudge_once"),)

    id: int | None = Field(default=None, primary_key=True)
    pair_id: int = Field(foreign_key="mentor_pair.id", index=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="app_user.id", ondelete="CASCADE")
    week: int
    kind: str = Field(max_length=16)  # weekly | one_sided | admin_alert
    notification_id: int | None = Field(
        default=None, foreign_key="notification.id", ondelete="SET NULL"
    )
    created_at: dt.datetime = Field(default_factory=utcnow)


class LeaderLease(SQLModel, table=True):
    """Who runs the scheduled jobs (SQLite; PostgreSQL uses an advisory lock instead)."""

    __tablename__ = "leader_lease"

    name: str = Field(primary_key=True, max_length=64)
    holder: str = Field(max_length=128)
    expires_at: dt.datetime


class EmailOutbox(SQLModel, table=True):
    """An e-mail to send for a notification; the sender marks it sent exactly once."""

    __tablename__ = "email_outbox"
    __table_args__ = (Index("ix_email_outbox_status_next", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    notification_id: int | None = Field(
        default=None, foreign_key="notification.id", ondelete="SET NULL", unique=True
    )
    to_address: str = Field(max_length=254)
    subject: str = Field(max_length=200)
    body: str = Field(sa_type=Text)
    # pending | sending | sent | failed | skipped | held (for the weekly digest) | digested
    status: str = Field(default="pending", max_length=16)
    attempts: int = Field(default=0)
    next_attempt_at: dt.datetime = Field(default_factory=utcnow)
    last_error: str = Field(default="", max_length=500)
    created_at: dt.datetime = Field(default_factory=utcnow)
    sent_at: dt.datetime | None = None
    # The notification's kind ("nudge", "paired" …; "digest" for a weekly digest) and the
    # member it is for: read at send time against their e-mail preferences.
    kind: str = Field(default="", max_length=32)
    user_id: int | None = Field(
        default=None, foreign_key="app_user.id", index=True, ondelete="CASCADE"
    )
    # A calendar invite (RFC 5545 text, METHOD:REQUEST or CANCEL) sent as `invite.ics`.
    ics: str = Field(default="", sa_type=Text)


class EmailPreference(SQLModel, table=True):
    """Which optional e-mails a member gets. No row: the defaults (all on, no digest).
    Safety, moderation and account e-mails are not optional and have no switch here."""

    __tablename__ = "email_preference"

    user_id: int = Field(foreign_key="app_user.id", primary_key=True, ondelete="CASCADE")
    nudges: bool = Field(default=True)
    reminders: bool = Field(default=True)
    pairing: bool = Field(default=True)
    digest: bool = Field(default=False)  # hold the optional ones for one e-mail a week
    last_digest_at: dt.datetime | None = None
    updated_at: dt.datetime = Field(default_factory=utcnow)


class ConversationRead(SQLModel, table=True):
    """How far a member has read a pair's chat, and the away notice of its quiet period.

    read_at: the last time the conversation was in front of them (they opened the pair
    page, sent a message, or a message reached a tab of theirs showing the chat). Messages
    from the partner after it are unread. noticed_at: when they were last told of unread
    messages while away; a notice is due again only once read_at has passed it (they read
    the conversation: a new quiet period begins)."""

    __tablename__ = "conversation_read"
    __table_args__ = (UniqueConstraint("pair_id", "user_id", name="uq_conversation_read"),)

    id: int | None = Field(default=None, primary_key=True)
    pair_id: int = Field(foreign_key="mentor_pair.id", index=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="app_user.id", ondelete="CASCADE")
    read_at: dt.datetime | None = None
    noticed_at: dt.datetime | None = None


class Meeting(SQLModel, table=True):
    """A pair's meeting: proposed with up to three times (`options`, UTC ISO strings), then
    confirmed on one (`starts_at`). Visible to the pair's two members only.

    Its calendar invites carry the stable `uid`; `sequence` goes up with every change that
    sends an invite (RFC 5545). A weekly meeting repeats until `repeat_until` (the date of
    the journey's last week, in UTC)."""

    __tablename__ = "meeting"
    __table_args__ = (
        CheckConstraint("duration_minutes BETWEEN 15 AND 240", name="ck_meeting_duration"),
        CheckConstraint("sequence >= 0", name="ck_meeting_sequence"),
        Index("ix_meeting_status_starts", "status", "starts_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    pair_id: int = Field(foreign_key="mentor_pair.id", index=True, ondelete="CASCADE")
    uid: str = Field(max_length=80, unique=True)
    status: str = Field(default="proposed", max_length=16)  # proposed | confirmed | cancelled
    proposed_by: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
    options: list[str] = Field(default_factory=list, sa_type=JSON)
    starts_at: dt.datetime | None = None
    duration_minutes: int = Field(default=60)
    # The proposer's IANA zone when the time was set: a weekly series keeps its local time
    # there across a daylight-saving change (the invite's TZID).
    timezone: str = Field(default="UTC", max_length=64)
    video_link: str = Field(default="", max_length=500)
    weekly: bool = Field(default=False)
    repeat_until: dt.date | None = None
    sequence: int = Field(default=0)
    created_at: dt.datetime = Field(default_factory=utcnow)
    updated_at: dt.datetime = Field(default_factory=utcnow)
    cancelled_at: dt.datetime | None = None
    cancelled_by: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")


class MeetingReminder(SQLModel, table=True):
    """A reminder made for one member before one occurrence of a meeting: written before
    the notification is sent, so a rerun, a second worker or a crash sends none twice."""

    __tablename__ = "meeting_reminder"
    __table_args__ = (
        UniqueConstraint("meeting_id", "user_id", "occurrence_at", name="uq_meeting_reminder_once"),
    )

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="app_user.id", ondelete="CASCADE")
    occurrence_at: dt.datetime
    notification_id: int | None = Field(
        default=None, foreign_key="notification.id", ondelete="SET NULL"
    )
    created_at: dt.datetime = Field(default_factory=utcnow)


class Goal(SQLModel, table=True):
    """One of the one to three goals a pair's mentee works toward. Visible to the pair's two
    members only; admins see counts and averages, never the text."""

    __tablename__ = "goal"
    __table_args__ = (
        UniqueConstraint("pair_id", "position", name="uq_goal_position"),
        CheckConstraint("position BETWEEN 1 AND 3", name="ck_goal_position"),
        CheckConstraint(
            "progress BETWEEN 0 AND 100 AND progress % 10 = 0", name="ck_goal_progress"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    pair_id: int = Field(foreign_key="mentor_pair.id", index=True, ondelete="CASCADE")
    position: int
    text: str = Field(max_length=200)
    target_date: dt.date | None = None
    progress: int = Field(default=0)  # 0..100 in steps of 10
    created_by: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
    created_at: dt.datetime = Field(default_factory=utcnow)
    updated_at: dt.datetime = Field(default_factory=utcnow)


class GoalUpdate(SQLModel, table=True):
    """A dated entry on a goal: a progress mark with a note, a mentor's comment, or a
    member's closing-survey answer (how far it got)."""

    __tablename__ = "goal_update"
    __table_args__ = (
        CheckConstraint(
            "progress IS NULL OR (progress BETWEEN 0 AND 100 AND progress % 10 = 0)",
            name="ck_goal_update_progress",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    goal_id: int = Field(foreign_key="goal.id", index=True, ondelete="CASCADE")
    pair_id: int = Field(foreign_key="mentor_pair.id", index=True, ondelete="CASCADE")
    user_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
    kind: str = Field(max_length=16)  # progress | comment | survey
    progress: int | None = None
    note: str = Field(default="", max_length=500)
    created_at: dt.datetime = Field(default_factory=utcnow)
