"""A site moderator works a report: reads its evidence, takes it into review, suspends the
reported member (who is logged out at once and can't log back in); members are refused."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Callable

from playwright.sync_api import Page, expect
from sqlmodel import Session, col, select, update

from mentor_app.models import Group, Membership, Message, Report, User, utcnow
from mentor_app.seed import DEMO_PASSWORD
from mentor_app.services import accounts, enrollments, pairing, programs
from tests.e2e.cohorts import pages_of
from tests.e2e.conftest import screenshot
from tests.e2e.test_programs import demo_log_in
from tests.factories import answers_for, make_people

REPORTED_TEXT = "Nobody would miss you if you quit this program."
PROGRAM_TITLE = "Moderation test program"


def arrange_reported_pair(db: Session) -> int:
    """Rae (mentor) and Uma (mentee), paired in a program of Parents Together; Uma has
    reported one of Rae's messages. Returns the report's id."""
    ada = db.exec(select(User).where(User.email == "ada.admin@example.org")).one()
    group = db.exec(select(Group).where(Group.name == "Parents Together")).one()
    people = {}
    for email, name in (
        ("rae.mentor@example.org", "Rae Mentor"),
        ("uma.mentee@example.org", "Uma Mentee"),
    ):
        user = accounts.sign_up(
            db, email=email, display_name=name, password=DEMO_PASSWORD, date_of_birth="1988-04-04"
        )
        db.add(Membership(group_id=group.id or 0, user_id=user.id or 0))
        people[name] = user
    db.flush()
    program = programs.start_program(
        db, actor=ada, group_id=group.id or 0, template_key="encouragement_support"
    )
    programs.save_details(
        db, actor=ada, program_id=program.id or 0, title=PROGRAM_TITLE,
        description=program.description, start_date=dt.date.today().isoformat(),
        length_weeks=program.length_weeks, mentor_capacity_max=2,
    )  # fmt: skip
    programs.publish(db, actor=ada, program_id=program.id or 0)
    mentor = enrollments.apply(
        db, actor=people["Rae Mentor"], program_id=program.id or 0, role="mentor",
        answers=answers_for(program, "mentor"), capacity=1,
    )  # fmt: skip
    mentee = enrollments.apply(
        db, actor=people["Uma Mentee"], program_id=program.id or 0, role="mentee",
        answers=answers_for(program, "mentee"),
    )  # fmt: skip
    pair = pairing.pair_by_hand(
        db, actor=ada, program_id=program.id or 0,
        mentee_enrollment_id=mentee.id or 0, mentor_enrollment_id=mentor.id or 0,
    )  # fmt: skip
    pairing.publish_pairs(db, actor=ada, program_id=program.id or 0)
    pair.start_date = dt.date.today() - dt.timedelta(days=9)
    db.add(pair)
    rae, uma = people["Rae Mentor"], people["Uma Mentee"]
    return add_report(
        db,
        pair_id=pair.id or 0,
        reporter_id=uma.id or 0,
        reported=rae,
        body=REPORTED_TEXT,
        details="Rae keeps sending messages like this one.",
        client_id="e2e-moderation-1",
    )


def add_report(
    db: Session, *, pair_id: int, reporter_id: int, reported: User, body: str, details: str,
    client_id: str,
) -> int:  # fmt: skip
    """`reported` sent `body` in the pair and the other member reported it for harassment,
    with that message as evidence; committed. Returns the report's id."""
    message = Message(pair_id=pair_id, sender_id=reported.id or 0, client_id=client_id, body=body)
    db.add(message)
    db.flush()
    report = Report(
        pair_id=pair_id,
        reporter_id=reporter_id,
        reported_id=reported.id or 0,
        category="harassment",
        details=details,
        evidence=[
            {
                "message_id": message.id,
                "sender_id": reported.id,
                "sender_name": reported.display_name,
                "body": body,
                "created_at": message.created_at.isoformat(),
            }
        ],
    )
    db.add(report)
    db.commit()
    return report.id or 0


def test_a_moderator_suspends_a_reported_member_who_is_logged_out_at_once(
    new_page: Callable[..., Page], app_db: Session
) -> None:
    report_id = arrange_reported_pair(app_db)

    # Rae is signed in somewhere when the decision falls.
    rae = new_page()
    demo_log_in(rae, "rae.mentor@example.org")

    mo = new_page()
    demo_log_in(mo, "mo.moderator@example.org")
    mo.get_by_role("link", name="Moderation").click()
    expect(mo.get_by_role("heading", name="Moderation queue")).to_be_visible()
    expect(mo.get_by_role("button", name=re.compile(r"^Open \(\d+\)$"))).to_have_attribute(
        "aria-pressed", "true"
    )
    reports = mo.get_by_role("list", name="Reports")
    expect(reports).to_contain_text("Uma Mentee → Rae Mentor")
    mo.get_by_role("button", name=f"View report {report_id}: Harassment, about Rae Mentor").click()

    selected = mo.get_by_label("Selected report")
    expect(selected.get_by_role("heading", name=f"Report {report_id}: Harassment")).to_be_visible()
    expect(selected).to_contain_text("Rae keeps sending messages like this one.")
    expect(selected.get_by_role("list", name="Evidence")).to_contain_text(REPORTED_TEXT)
    expect(selected).to_contain_text("No action taken yet.")

    selected.get_by_role("button", name="Take into review").click()
    expect(mo.get_by_role("status")).to_contain_text("The report is in review.")
    history = selected.get_by_role("list", name="History")
    expect(history).to_contain_text("Taken into review by Mo (moderator)")
    expect(selected.get_by_role("button", name="Take into review")).to_have_count(0)

    # Acting needs a reason.
    selected.get_by_role("button", name="Warn the member").click()
    expect(selected.get_by_role("alert")).to_contain_text("Give a reason")

    selected.get_by_label("Reason").fill("Repeated hurtful messages to a mentee.")
    selected.get_by_role("button", name="Suspend the account").click()
    dialog = mo.get_by_role("alertdialog")
    expect(dialog).to_contain_text("Suspend Rae Mentor's account?")
    dialog.get_by_role("button", name="Suspend", exact=True).click()
    expect(mo.get_by_role("status")).to_contain_text("The account is suspended")
    expect(history).to_contain_text("Actioned: suspend the account by Mo (moderator)")
    expect(history).to_contain_text("Repeated hurtful messages to a mentee.")
    expect(selected.get_by_text("Suspended", exact=True)).to_be_visible()
    expect(selected.get_by_role("button", name="Reopen")).to_be_visible()
    screenshot(mo, "moderation-queue")

    # The report now sits under Actioned.
    mo.get_by_role("button", name=re.compile(r"^Actioned \(\d+\)$")).click()
    expect(reports).to_contain_text("Uma Mentee → Rae Mentor")

    # Rae's session died with the suspension: the next page sends her to log in, and
    # logging in is refused with the same message as a wrong password.
    rae.reload()
    expect(rae).to_have_url(re.compile(r"/login"))
    rae.get_by_label("Email").fill("rae.mentor@example.org")
    rae.get_by_label("Password").fill(DEMO_PASSWORD)
    rae.get_by_role("button", name="Log in").click()
    expect(rae.get_by_text("Email or password is incorrect.")).to_be_visible()

    # Uma learns the pair ended and that her report was reviewed, nothing more.
    uma = new_page()
    demo_log_in(uma, "uma.mentee@example.org")
    notices = uma.get_by_role("list", name="Notifications")
    expect(notices).to_contain_text(f"Your pair in “{PROGRAM_TITLE}” has ended.")
    expect(notices).to_contain_text("Thank you: your report has been reviewed.")
    expect(notices).not_to_contain_text("suspend")

    # On a phone the queue still reads top to bottom, evidence included.
    phone = new_page(viewport={"width": 390, "height": 844})
    demo_log_in(phone, "mo.moderator@example.org", then="/moderation")
    phone.get_by_role("button", name=re.compile(r"^Actioned \(\d+\)$")).click()
    phone.get_by_role(
        "button", name=f"View report {report_id}: Harassment, about Rae Mentor"
    ).click()
    expect(phone.get_by_role("list", name="Evidence")).to_contain_text(REPORTED_TEXT)
    # Opening a report scrolls to it.
    expect(phone.get_by_role("heading", name=f"Report {report_id}: Harassment")).to_be_in_viewport()
    screenshot(phone, "moderation-phone")


def test_a_member_cannot_open_the_moderation_queue(
    new_page: Callable[..., Page], app_db: Session
) -> None:
    page = new_page(viewport={"width": 390, "height": 844})
    demo_log_in(page, "sam.mentee@example.org")
    expect(page.get_by_role("link", name="Moderation")).to_have_count(0)
    page.goto("/moderation")
    expect(page.get_by_role("alert")).to_have_text("Only site moderators can see this page.")
    expect(page.get_by_role("list", name="Reports")).to_have_count(0)


def arrange_many_reports(db: Session, count: int = 25) -> list[int]:
    """`count` open spam reports about "Pager Reported 01", "02"..., dated tomorrow so that
    they come first in the queue, 01 the newest. Returns their ids."""

    def person(name: str) -> User:
        user = User(
            email=f"{name.lower().replace(' ', '.')}.{secrets.token_hex(3)}@example.org",
            display_name=name,
            password_hash="not-a-real-hash",
            date_of_birth=dt.date(1990, 1, 1),
        )
        db.add(user)
        db.flush()
        return user

    reporter = person("Pager Reporter")
    tomorrow = utcnow() + dt.timedelta(days=1)
    reports = [
        Report(
            reporter_id=reporter.id or 0,
            reported_id=person(f"Pager Reported {n:02d}").id or 0,
            category="spam",
            created_at=tomorrow - dt.timedelta(minutes=n),
        )
        for n in range(1, count + 1)
    ]
    db.add_all(reports)
    db.commit()
    return [r.id or 0 for r in reports]


def test_a_moderator_pages_through_a_long_queue_and_deciding_keeps_the_page(
    new_page: Callable[..., Page], app_db: Session
) -> None:
    made = arrange_many_reports(app_db)
    try:
        mo = new_page()
        demo_log_in(mo, "mo.moderator@example.org", then="/moderation")
        reports = mo.get_by_role("list", name="Reports")
        report_pages = pages_of(mo, "Reports pages")
        expect(reports.get_by_role("listitem")).to_have_count(20)
        expect(reports).to_contain_text("Pager Reporter → Pager Reported 01")
        expect(reports).to_contain_text("Pager Reporter → Pager Reported 20")
        expect(report_pages).to_contain_text(re.compile(r"Page 1 of [2-9]"))
        expect(report_pages.get_by_role("button", name="Previous")).to_be_disabled()
        report_pages.get_by_role("button", name="Next").click()
        expect(report_pages).to_contain_text(re.compile(r"Page 2 of [2-9]"))
        expect(reports).to_contain_text("Pager Reporter → Pager Reported 21")
        expect(reports).not_to_contain_text("Pager Reported 01")

        # Dismissing a report takes it out of the open queue; the moderator stays on page 2.
        reports.get_by_role("button", name=re.compile(r"about Pager Reported 21$")).click()
        mo.get_by_label("Reason", exact=True).fill("Not spam: a shared link to a course.")
        mo.get_by_role("button", name="Dismiss", exact=True).click()
        expect(mo.get_by_role("status")).to_contain_text("The report is dismissed.")
        expect(report_pages).to_contain_text(re.compile(r"Page 2 of [2-9]"))
        expect(reports).not_to_contain_text("Pager Reported 21")
        expect(reports).to_contain_text("Pager Reporter → Pager Reported 22")
        report_pages.get_by_role("button", name="Previous").click()
        expect(report_pages).to_contain_text(re.compile(r"Page 1 of [2-9]"))
        expect(reports).to_contain_text("Pager Reported 01")
    finally:
        # Out of the way of the session's other tests: decided, and long ago (a report's
        # history is append-only, so a decided report can't be deleted).
        app_db.exec(
            update(Report)
            .where(col(Report.id).in_(made))
            .values(status="dismissed", created_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
        )
        app_db.commit()


def test_suspended_members_are_shown_a_page_at_a_time(
    new_page: Callable[..., Page], app_db: Session
) -> None:
    # Named to sort after every other suspended account of the session's tests.
    people = make_people(app_db, 25, name="Zz Paged Suspended")
    for person in people:
        person.status = "suspended"
    app_db.add_all(people)
    app_db.commit()
    try:
        mo = new_page()
        demo_log_in(mo, "mo.moderator@example.org", then="/moderation")
        members = mo.get_by_role("list", name="Suspended members")
        member_pages = pages_of(mo, "Suspended members pages")
        expect(member_pages).to_contain_text(re.compile(r"Page 1 of [2-9]"))
        expect(members.get_by_role("listitem")).to_have_count(20)  # one page, never all
        # Page by page to the last, each turn waiting for its page (reading whether Next is
        # enabled raced the turn's answer: Next is disabled while a page is on its way).
        last = int(re.search(r"Page 1 of (\d+)", member_pages.inner_text()).group(1))  # type: ignore[union-attr]
        for number in range(2, last + 1):
            member_pages.get_by_role("button", name="Next").click()
            expect(member_pages).to_contain_text(f"Page {number} of {last}")
        expect(member_pages.get_by_role("button", name="Next")).to_be_disabled()
        expect(members).to_contain_text("Zz Paged Suspended 25")
        expect(members.get_by_role("listitem").last).to_contain_text("Zz Paged Suspended 25")
        # Lifting works from any page: the dialog is for the member on this page.
        members.get_by_role("button", name="Lift the suspension of Zz Paged Suspended 25").click()
        mo.get_by_label("Reason", exact=True).fill("Paged list test.")
        mo.get_by_role("dialog").get_by_role("button", name="Lift the suspension").click()
        expect(members).not_to_contain_text("Zz Paged Suspended 25")
    finally:
        for person in people:
            person.status = "active"
        app_db.add_all(people)
        app_db.commit()
