"""Members in control of their groups, in a real browser: a paired member leaves a group
(the confirmation names the partner, whose page shows the pair ended), an admin hands over
the admin role, and a moderator fixes an orphaned group and lifts a suspension."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from playwright.sync_api import Page, expect
from sqlmodel import Session

from mentor_app.models import Group, Membership, Pair, Report, User
from mentor_app.seed import DEMO_PASSWORD
from mentor_app.services import accounts, enrollments, groups, pairing, programs
from tests.e2e.conftest import screenshot
from tests.e2e.test_programs import demo_log_in
from tests.factories import answers_for


def _person(db: Session, name: str, tag: str) -> User:
    first = name.split()[0].lower()
    return accounts.sign_up(
        db,
        email=f"{first}.{tag}@example.org",
        display_name=name,
        password=DEMO_PASSWORD,
        date_of_birth="1988-04-04",
    )


def _group(db: Session, admin: User, name: str, *members: User) -> Group:
    group = groups.create_group(
        db, actor=admin, name=name, description="A circle for the test.", category="parenting"
    )
    for member in members:
        db.add(Membership(group_id=group.id or 0, user_id=member.id or 0))
    db.flush()
    return group


@dataclass
class Paired:
    group: Group
    admin: User
    mentor: User
    mentee: User
    pair: Pair
    program_title: str


def arrange_pair(db: Session) -> Paired:
    tag = secrets.token_hex(3)
    admin = _person(db, "Gia Admin", tag)
    mentor = _person(db, "Rob Mentor", tag)
    mentee = _person(db, "Pia Mentee", tag)
    group = _group(db, admin, f"Leavers {tag}", mentor, mentee)
    title = f"Leaving test program {tag}"
    program = programs.start_program(
        db, actor=admin, group_id=group.id or 0, template_key="encouragement_support"
    )
    programs.save_details(
        db, actor=admin, program_id=program.id or 0, title=title,
        description=program.description, start_date=dt.date.today().isoformat(),
        length_weeks=program.length_weeks, mentor_capacity_max=2,
    )  # fmt: skip
    programs.publish(db, actor=admin, program_id=program.id or 0)
    mentor_enrollment = enrollments.apply(
        db, actor=mentor, program_id=program.id or 0, role="mentor",
        answers=answers_for(program, "mentor"), capacity=1,
    )  # fmt: skip
    mentee_enrollment = enrollments.apply(
        db, actor=mentee, program_id=program.id or 0, role="mentee",
        answers=answers_for(program, "mentee"),
    )  # fmt: skip
    pair = pairing.pair_by_hand(
        db, actor=admin, program_id=program.id or 0,
        mentee_enrollment_id=mentee_enrollment.id or 0,
        mentor_enrollment_id=mentor_enrollment.id or 0,
    )  # fmt: skip
    pairing.publish_pairs(db, actor=admin, program_id=program.id or 0)
    db.commit()
    return Paired(group, admin, mentor, mentee, pair, title)


def test_a_paired_mentor_leaves_the_group_and_the_mentee_sees_the_pair_ended(
    new_page: Callable[..., Page], app_db: Session
) -> None:
    setup = arrange_pair(app_db)

    # Pia has her pair's page open while Rob leaves.
    pia = new_page()
    demo_log_in(pia, setup.mentee.email, then=f"/pairs/{setup.pair.id}")
    expect(pia.get_by_text(setup.program_title).first).to_be_visible()
    expect(pia.get_by_text("This pair ended on")).to_have_count(0)

    rob = new_page(viewport={"width": 390, "height": 844})
    demo_log_in(rob, setup.mentor.email, then=f"/groups/{setup.group.id}")
    expect(rob.get_by_role("heading", name=setup.group.name)).to_be_visible()
    rob.get_by_role("button", name="Leave group").click()
    dialog = rob.get_by_role("alertdialog")
    expect(dialog).to_contain_text(f"Leave {setup.group.name}?")
    expect(dialog.get_by_role("list", name="What leaving does")).to_contain_text(
        f"Your pair with Pia Mentee in “{setup.program_title}” will end, and Pia Mentee "
        "will be told."
    )
    screenshot(rob, "leave-group-phone")
    # Staying changes nothing.
    dialog.get_by_role("button", name="Stay in the group").click()
    expect(rob.get_by_role("alertdialog")).to_have_count(0)
    rob.get_by_role("button", name="Leave group").click()
    rob.get_by_role("alertdialog").get_by_role("button", name="Leave the group").click()
    expect(rob.get_by_role("heading", name="My groups")).to_be_visible()
    # Rob was in no other group: the group is one he could join again.
    expect(rob.get_by_text("You are not in any group yet.")).to_be_visible()
    expect(rob.get_by_role("link", name=setup.group.name)).to_be_visible()

    # Pia's open page turns read-only, and she is told who left.
    expect(pia.get_by_text("This pair ended on")).to_be_visible()
    pia.goto("/notifications")
    expect(pia.get_by_role("list", name="Notifications")).to_contain_text(
        f"Rob Mentor left “{setup.group.name}”, so your pair in “{setup.program_title}” has ended."
    )

    # Gia, the admin, hears that Pia waits for a new mentor.
    gia = new_page()
    demo_log_in(gia, setup.admin.email, then="/notifications")
    expect(gia.get_by_role("list", name="Notifications")).to_contain_text("Pia Mentee's pair in")


def test_an_admin_hands_over_the_role_and_the_last_admin_is_kept(
    new_page: Callable[..., Page], app_db: Session
) -> None:
    tag = secrets.token_hex(3)
    gia, sam = _person(app_db, "Gia Admin", tag), _person(app_db, "Sam Member", tag)
    group = _group(app_db, gia, f"Handover {tag}", sam)
    app_db.commit()

    page = new_page()
    demo_log_in(page, gia.email, then=f"/groups/{group.id}")
    members = page.get_by_role("table")
    expect(members).to_contain_text("Sam Member")

    # Alone as admin, Gia can't step down.
    page.get_by_role("button", name="Step down as admin").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Step down").click()
    expect(page.get_by_role("status")).to_contain_text("at least one active admin")

    page.get_by_label("New admin").select_option(label="Sam Member")
    page.get_by_label("I step down to member").check()
    page.get_by_role("button", name="Hand over").click()
    expect(page.get_by_role("status")).to_have_text(
        "Sam Member is now an admin. You stepped down to member."
    )
    gia_row = members.get_by_role("row").filter(has_text="Gia Admin")
    sam_row = members.get_by_role("row").filter(has_text="Sam Member")
    expect(gia_row.get_by_role("cell").nth(1)).to_have_text("member")
    expect(sam_row.get_by_role("cell").nth(1)).to_have_text("admin")
    # Gia runs nothing here now: no hand-over form, no admin buttons.
    expect(page.get_by_role("button", name="Hand over")).to_have_count(0)

    sam_page = new_page()
    demo_log_in(sam_page, sam.email, then="/notifications")
    expect(sam_page.get_by_role("list", name="Notifications")).to_contain_text(
        f"You are now an admin of “{group.name}”."
    )
    # Sam removes Gia… who is no longer admin; Sam makes her admin again, then demotes her.
    sam_page.goto(f"/groups/{group.id}")
    sam_page.get_by_role("button", name="Make Gia Admin an admin").click()
    expect(sam_page.get_by_role("status")).to_have_text("Member promoted to admin.")
    sam_page.get_by_role("button", name="Remove Gia Admin as admin").click()
    sam_page.get_by_role("alertdialog").get_by_role("button", name="Remove admin").click()
    expect(sam_page.get_by_role("status")).to_have_text(
        "Admin role removed: they are a member now."
    )


def test_a_moderator_fixes_an_orphaned_group_and_lifts_a_suspension(
    new_page: Callable[..., Page], app_db: Session
) -> None:
    tag = secrets.token_hex(3)
    gia, sam = _person(app_db, "Gia Admin", tag), _person(app_db, "Sam Member", tag)
    group = _group(app_db, gia, f"Orphaned {tag}", sam)
    accounts.suspend_user(app_db, user_id=gia.id or 0, actor_id=None)
    app_db.commit()

    mo = new_page(viewport={"width": 390, "height": 844})
    demo_log_in(mo, "mo.moderator@example.org", then="/moderation")
    orphans = mo.get_by_role("list", name="Orphaned groups")
    expect(orphans).to_contain_text(group.name)
    mo.get_by_role("button", name=f"Appoint an admin for {group.name}").click()
    dialog = mo.get_by_role("dialog")
    expect(dialog).to_contain_text(f"Appoint an admin for {group.name}")
    dialog.get_by_label("New admin").select_option(label="Sam Member")
    # A reason is required.
    dialog.get_by_role("button", name="Appoint").click()
    expect(dialog.get_by_role("alert")).to_contain_text("Give a reason")
    dialog.get_by_label("Reason").fill("The only admin is suspended.")
    dialog.get_by_role("button", name="Appoint").click()
    expect(mo.get_by_role("status")).to_contain_text(f"“{group.name}” has an admin again.")
    expect(mo.get_by_role("dialog")).to_have_count(0)
    expect(mo.get_by_role("button", name=f"Appoint an admin for {group.name}")).to_have_count(0)

    # Lifting Gia's suspension.
    suspended = mo.get_by_role("list", name="Suspended members")
    expect(suspended).to_contain_text(gia.email)
    suspended.get_by_role("listitem").filter(has_text=gia.email).get_by_role(
        "button", name="Lift the suspension of Gia Admin"
    ).click()
    dialog = mo.get_by_role("dialog")
    expect(dialog).to_contain_text("Lift Gia Admin's suspension?")
    dialog.get_by_label("Reason").fill("Appeal upheld.")
    dialog.get_by_role("button", name="Lift the suspension").click()
    expect(mo.get_by_role("status")).to_contain_text("Gia Admin's suspension is lifted.")
    expect(suspended.filter(has_text=gia.email)).to_have_count(0)
    screenshot(mo, "moderation-orphans-phone")

    # Gia can log in again, and is told.
    page = new_page()
    demo_log_in(page, gia.email, then="/notifications")
    expect(page.get_by_role("list", name="Notifications")).to_contain_text(
        "lifted the suspension of your account"
    )
    sam_page = new_page()
    demo_log_in(sam_page, sam.email, then=f"/groups/{group.id}")
    # Gia's admin role outlived her suspension: the group has two admins now.
    expect(sam_page.get_by_role("button", name="Remove Gia Admin as admin")).to_be_visible()
    expect(sam_page.get_by_role("button", name="Step down as admin")).to_be_visible()


def test_the_suspend_dialog_names_the_groups_it_would_orphan(
    new_page: Callable[..., Page], app_db: Session
) -> None:
    setup = arrange_pair(app_db)
    # Rob, the reported mentor, is the only admin of a group of his own.
    own = _group(app_db, setup.mentor, f"Rob's circle {setup.group.name[-6:]}", setup.mentee)
    report = Report(
        pair_id=setup.pair.id,
        reporter_id=setup.mentee.id or 0,
        reported_id=setup.mentor.id or 0,
        category="harassment",
        details="Rude messages.",
        evidence=[],
    )
    app_db.add(report)
    app_db.commit()

    mo = new_page()
    demo_log_in(mo, "mo.moderator@example.org", then="/moderation")
    mo.get_by_role("button", name=f"View report {report.id}: Harassment, about Rob Mentor").click()
    selected = mo.get_by_label("Selected report")
    selected.get_by_role("button", name="Suspend the account").click()
    dialog = mo.get_by_role("alertdialog")
    expect(dialog).to_contain_text(
        f"Rob Mentor is the only active admin of “{own.name}”. Suspending them leaves no "
        "active admin there"
    )
    dialog.get_by_role("button", name="Cancel").click()
    expect(mo.get_by_role("alertdialog")).to_have_count(0)
