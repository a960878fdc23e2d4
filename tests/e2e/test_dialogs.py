"""Every dialog behaves alike (they all come from components/dialogs.py): opened from the
keyboard, it is named by its title and described by its description, the focus goes in
(to the first field of a form, to Cancel when the act is destructive), the button that
does a destructive act is red, Escape and Cancel close it, and the focus goes back to the
button that opened it, also when the page's state opened it (no Radix trigger). A form
dialog's button is busy while its act is on its way, and a second press sends nothing."""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlmodel import Session, select

from mentor_app.models import Group, Report, User
from mentor_app.services import programs
from tests.e2e.test_journey import arrange_pair_two_weeks_in
from tests.e2e.test_programs import demo_log_in as log_in
from tests.factories import make_user

GROUP = "Grow Every Day"
MENTOR = "Dee Mentor"
SUSPENDED = "Aaa Dialog Suspended"  # sorts first: on the first page of suspended members


@dataclass(frozen=True)
class Case:
    where: str  # "pair", "settings", "group", "moderation" or "program"
    trigger: str  # the button that opens it
    role: str  # "dialog" or "alertdialog"
    title: str
    description: str  # how the description begins
    focused: tuple[str, str]  # (role, name) of the control focused on opening
    act: str  # the button that does the act
    destructive: bool
    cancel: str = "Cancel"


CASES = [
    Case(
        "pair",
        "Report",
        "dialog",
        "Report a problem",
        "Site moderators read your report",
        ("combobox", "What is the problem?"),
        "Send report",
        destructive=False,
    ),
    Case(
        "pair",
        "Block",
        "alertdialog",
        f"Block {MENTOR}?",
        "No messages will pass between you",
        ("button", "Cancel"),
        f"Block {MENTOR}",
        destructive=True,
    ),
    Case(
        "pair",
        "End this pair",
        "alertdialog",
        "End this pair?",
        "The journey becomes read-only",
        ("button", "Keep the pair"),
        "End the pair",
        destructive=True,
        cancel="Keep the pair",
    ),
    Case(
        "settings",
        "Delete my account",
        "alertdialog",
        "Delete your account?",
        "This cannot be undone.",
        ("button", "Cancel"),
        "Delete my account for good",
        destructive=True,
    ),
    # Opened by the page's state (it loads what leaving does first): no Radix trigger.
    Case(
        "group",
        "Leave group",
        "alertdialog",
        f"Leave {GROUP}?",
        "You will no longer see this group's programs",
        ("button", "Stay in the group"),
        "Leave the group",
        destructive=True,
        cancel="Stay in the group",
    ),
    Case(
        "moderation",
        f"Lift the suspension of {SUSPENDED}",
        "dialog",
        f"Lift {SUSPENDED}'s suspension?",
        "They can log in again and are told.",
        ("textbox", "Reason"),
        "Lift the suspension",
        destructive=False,
    ),
    Case(
        "program",
        "Close the program",
        "alertdialog",
        "Close the program?",
        "The program ends for everyone.",
        ("button", "Cancel"),
        "Close the program",
        destructive=True,
    ),
]


@pytest.fixture
def opened_at(new_page: Callable[..., Page], app_db: Session) -> Iterator[Callable[[str], Page]]:
    """opened_at(where): a page of that kind, signed in as someone who has the dialog."""
    suspended = []

    def open_(where: str) -> Page:
        page = new_page()
        if where == "moderation":
            user = make_user(app_db, display_name=SUSPENDED)
            user.status = "suspended"
            app_db.add(user)
            app_db.commit()
            suspended.append(user)
            log_in(page, "mo.moderator@example.org")
            page.goto("/moderation")
            expect(page.get_by_role("heading", name="Moderation queue")).to_be_visible()
            return page
        suffix = uuid.uuid4().hex[:8]
        mentee = f"dialogs.mentee.{suffix}@example.org"
        program_id, pair_id = arrange_pair_two_weeks_in(  # commits: no write lock held
            app_db,
            mentor=(f"dialogs.mentor.{suffix}@example.org", MENTOR),
            mentee=(mentee, "Dee Mentee"),
            title=f"Dialogs program {suffix}",
        )
        if where == "program":  # its admin, once it runs: the next step is to close it
            ada = app_db.exec(select(User).where(User.email == "ada.admin@example.org")).one()
            programs.advance_status(
                app_db, actor=ada, program_id=program_id, expected_status="open"
            )
            app_db.commit()
            log_in(page, ada.email)
            page.goto(f"/programs/{program_id}")
            expect(page.get_by_role("heading", name=f"Dialogs program {suffix}")).to_be_visible()
            return page
        log_in(page, mentee)
        if where == "pair":
            page.goto(f"/pairs/{pair_id}")
            expect(page.get_by_role("heading", name=f"Chat with {MENTOR}")).to_be_visible()
        elif where == "settings":
            page.goto("/settings")
            expect(page.get_by_role("heading", name="Your data")).to_be_visible()
        else:
            group = app_db.exec(select(Group).where(Group.name == GROUP)).one()
            page.goto(f"/groups/{group.id}")
            expect(page.get_by_role("heading", name=GROUP, exact=True)).to_be_visible()
        return page

    yield open_
    for user in suspended:  # the moderation tests count the suspended members
        user.status = "active"
        app_db.add(user)
    app_db.commit()


def open_from_keyboard(page: Page, trigger: Locator, case: Case) -> Locator:
    trigger.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role(case.role)  # type: ignore[arg-type]
    expect(dialog).to_be_visible()
    return dialog


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.where}-{c.trigger}")
def test_every_dialog_is_named_takes_the_focus_and_gives_it_back(
    case: Case, opened_at: Callable[[str], Page]
) -> None:
    page = opened_at(case.where)
    trigger = page.get_by_role("button", name=case.trigger, exact=True)

    dialog = open_from_keyboard(page, trigger, case)
    expect(dialog).to_have_accessible_name(case.title)
    expect(dialog).to_have_accessible_description(re.compile("^" + re.escape(case.description)))
    role, name = case.focused
    expect(dialog.get_by_role(role, name=name, exact=True)).to_be_focused()  # type: ignore[arg-type]
    act = dialog.get_by_role("button", name=case.act, exact=True)
    if case.destructive:
        expect(act).to_have_attribute("data-accent-color", "red")
    else:
        expect(act).not_to_have_attribute("data-accent-color", "red")

    page.keyboard.press("Escape")
    expect(page.get_by_role(case.role)).to_have_count(0)  # type: ignore[arg-type]
    expect(trigger).to_be_focused()

    # Cancel closes it the same way.
    dialog = open_from_keyboard(page, trigger, case)
    dialog.get_by_role("button", name=case.cancel, exact=True).click()
    expect(page.get_by_role(case.role)).to_have_count(0)  # type: ignore[arg-type]
    expect(trigger).to_be_focused()


@contextlib.contextmanager
def app_writes_wait(db: Session) -> Iterator[None]:
    """While inside, the app's writes wait: this session's transaction holds SQLite's write
    lock (the tests' engine begins with BEGIN IMMEDIATE too). Keep it well under the app's
    5 s busy timeout."""
    db.connection()
    try:
        yield
    finally:
        db.rollback()


def reports_about(db: Session, pair_id: int) -> int:
    try:
        return len(db.exec(select(Report.id).where(Report.pair_id == pair_id)).all())
    finally:
        db.rollback()  # no transaction left open: it would hold the write lock


def test_a_report_sent_with_a_double_press_is_made_once(
    opened_at: Callable[[str], Page], app_db: Session
) -> None:
    page = opened_at("pair")
    pair_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    report = page.get_by_role("button", name="Report", exact=True)
    report.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("What is the problem?").select_option("harassment")
    send = dialog.get_by_role("button", name="Send report", exact=True)

    with app_writes_wait(app_db):
        send.click()
        # Busy while the report is on its way: disabled, so the second press of a double
        # press (or of an impatient hand) sends nothing.
        expect(send).to_be_disabled()
        send.click(force=True)
    expect(dialog).to_have_count(0)
    expect(page.get_by_role("status")).to_contain_text("Your report has gone to the site")

    # Opening the dialog again is an event of this tab: it is answered after any second
    # send it had made, so the count below sees that one too.
    report.click()
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Send report", exact=True)).to_be_enabled()
    assert reports_about(app_db, pair_id) == 1
