"""The core flows with the keyboard alone (issue 19): Tab and Shift+Tab to reach a control,
Enter, Space, arrows and Escape to use it, typing to write; never the mouse. Every control
reached shows a focus ring, and a dialog takes focus when it opens and gives it back to
its trigger when it closes.

Where a flow's start is not the point (a pair two weeks into its journey, a report to
decide), it is arranged in the database, as the other browser tests do."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlmodel import Session, col, select

from mentor_app.models import (
    Block,
    CheckIn,
    Enrollment,
    Group,
    Membership,
    Message,
    Pair,
    Program,
    Report,
    StepCompletion,
    User,
)
from mentor_app.seed import DEMO_PASSWORD
from mentor_app.services import enrollments, programs
from tests.e2e.test_journey import arrange_pair_two_weeks_in, open_program
from tests.e2e.test_moderation import add_report
from tests.factories import (
    PASSWORD,
    add_members,
    answers_for,
    make_group,
    make_people,
    make_user,
)

GROUP = "Grow Every Day"  # a demo group of Ada's, of an eligible category

# --- the keyboard helpers ----------------------------------------------------------------

# The focused element, said the way a failure message can name it.
_DESCRIBE = """el => {
  if (!el || el === document.body) return "nothing (the page's body)";
  const name = el.getAttribute("aria-label") || (el.labels && el.labels[0]
    ? el.labels[0].textContent : "") || el.textContent || el.getAttribute("placeholder") || "";
  const role = el.getAttribute("role") || el.getAttribute("type") || "";
  return `<${el.tagName.toLowerCase()}${role ? " " + role : ""}> "${name.trim().slice(0, 60)}"`;
}"""

# Whether the focused element shows a focus ring, and which: an outline on the element, on
# its ::before or ::after (Radix draws a checkbox's ring there) or on the Radix field that
# wraps it (a text field's ring is on its root); or a box shadow the element has only while
# focused (an unfocused copy of it, next to it for an instant, has none or another).
_FOCUS_RING = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return {ok: false, seen: "nothing is focused"};
  const shown = s => s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0
    && !/^rgba\\(.*,\\s*0\\)$/.test(s.outlineColor) && s.outlineColor !== "transparent";
  const places = [[el, null], [el, "::before"], [el, "::after"]];
  const field = el.closest(".rt-TextFieldRoot, .rt-TextAreaRoot");
  if (field) places.push([field, null]);
  for (const [node, pseudo] of places) {
    const s = getComputedStyle(node, pseudo);
    if (shown(s)) {
      return {ok: true, seen: `outline ${s.outlineStyle} ${s.outlineWidth} ${s.outlineColor}`
        + ` on ${node === el ? "the element" : "its field"}${pseudo || ""}`};
    }
  }
  const shadow = getComputedStyle(el).boxShadow;
  if (shadow !== "none") {
    const copy = el.cloneNode(false);
    copy.removeAttribute("id");
    el.after(copy);
    const plain = getComputedStyle(copy).boxShadow;
    copy.remove();
    if (plain !== shadow) return {ok: true, seen: `box-shadow ${shadow}`};
  }
  const s = getComputedStyle(el);
  return {ok: false, seen: `outline ${s.outlineStyle} ${s.outlineWidth}, box-shadow ${shadow}`};
}"""


def focused(page: Page) -> str:
    return page.evaluate(f"({_DESCRIBE})(document.activeElement)")


def expect_focus_ring(page: Page) -> None:
    """The focused element shows a visible focus ring (an outline or a box shadow)."""
    ring = page.evaluate(_FOCUS_RING)
    assert ring["ok"], f"no visible focus ring on {focused(page)}: {ring['seen']}"


def tab_to(page: Page, target: Locator, max_presses: int = 60, *, backwards: bool = False) -> None:
    """Press Tab (Shift+Tab when `backwards`) until `target` has focus, then check that it
    shows a focus ring. Fails naming the target and the last places focus went through."""
    expect(target).to_be_visible()
    expect(target).to_be_enabled()  # a disabled control is skipped by Tab: wait it out
    key = "Shift+Tab" if backwards else "Tab"
    trail: list[str] = []
    for _ in range(max_presses + 1):
        if target.evaluate("el => el === document.activeElement"):
            expect_focus_ring(page)
            return
        if len(trail) < max_presses:
            page.keyboard.press(key)
            trail.append(focused(page))
    raise AssertionError(
        f"{target} was not reached after {max_presses} presses of {key}; focus went to: "
        + " → ".join(trail[-12:])
    )


_ON_A_SKIP_LINK = """() => { const el = document.activeElement;
  return !!el && el.tagName === "A" && el.textContent.trim().startsWith("Skip "); }"""


def keys_to(page: Page, target: Locator, limit: int) -> int:
    """Press Tab until `target` has focus, taking a "Skip …" link met on the way (Enter), as
    a keyboard user does; the number of keys pressed. Fails past `limit` keys, naming the
    last places focus went through."""
    expect(target).to_be_visible()
    trail: list[str] = []
    skipped = False
    while not target.evaluate("el => el === document.activeElement"):
        if len(trail) >= limit:
            raise AssertionError(
                f"{target} was not reached in {limit} keys: " + " → ".join(trail[-12:])
            )
        key = "Enter" if not skipped and page.evaluate(_ON_A_SKIP_LINK) else "Tab"
        skipped = skipped or key == "Enter"
        page.keyboard.press(key)
        trail.append(f"{key} {focused(page)}")
    expect_focus_ring(page)
    return len(trail)


def press_on(page: Page, target: Locator, key: str = "Enter", **tab_options: bool) -> None:
    tab_to(page, target, **tab_options)
    page.keyboard.press(key)


def type_into(page: Page, target: Locator, text: str, *, replace: bool = False) -> None:
    tab_to(page, target)
    if replace:
        page.keyboard.press("Control+A")
    page.keyboard.type(text)


def type_date(page: Page, target: Locator, day: dt.date) -> None:
    """A date field, as typed in an en-US browser: month, day, year (each part moves on)."""
    tab_to(page, target)
    page.keyboard.type(day.strftime("%m%d%Y"))
    expect(target).to_have_value(day.isoformat())


def expect_focus_inside(dialog: Locator) -> None:
    expect(dialog).to_be_visible()
    expect(dialog.locator(":focus")).to_have_count(1)


def check_dialog_gives_focus_back(page: Page, trigger: Locator, dialog: Locator) -> None:
    """Opened from its trigger by Enter, closed by Escape, then by its Cancel button: focus
    goes into the dialog each time and back to the trigger each time. Leaves it closed,
    its trigger focused."""
    for close in ("Escape", "Cancel"):
        tab_to(page, trigger)
        page.keyboard.press("Enter")
        expect_focus_inside(dialog)
        if close == "Escape":
            page.keyboard.press("Escape")
        else:
            press_on(page, dialog.get_by_role("button", name="Cancel", exact=True))
        expect(dialog).to_have_count(0)
        expect(trigger).to_be_focused()
        expect_focus_ring(page)


def expect_focus_kept(place: Locator) -> None:
    """The control that had focus left the page (an action removed it): focus went to
    `place`, with its ring, not to the page's body."""
    expect(place).to_be_focused()
    expect_focus_ring(place.page)


def log_in(page: Page, email: str, password: str = DEMO_PASSWORD) -> None:
    page.goto("/login")
    type_into(page, page.get_by_label("Email"), email)
    type_into(page, page.get_by_label("Password"), password)
    tab_to(page, page.get_by_role("button", name="Log in"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="My groups")).to_be_visible()


@pytest.fixture
def person(new_page: Callable[..., Page]) -> Callable[[], Page]:
    """A new person whose browser writes dates the en-US way (month first)."""
    return lambda: new_page(locale="en-US", timezone_id="UTC")


def _suffix() -> str:
    return uuid.uuid4().hex[:8]


def _group(db: Session) -> Group:
    return db.exec(select(Group).where(Group.name == GROUP)).one()


def member_of_the_group(db: Session, name: str) -> User:
    """A new member of GROUP, who logs in with tests.factories.PASSWORD."""
    user = make_user(db, email=f"kbd.{_suffix()}@example.org", display_name=name)
    db.add(Membership(group_id=_group(db).id or 0, user_id=user.id or 0))
    db.commit()
    return user


# --- signing up ----------------------------------------------------------------------


def test_a_newcomer_signs_up_by_keyboard(person: Callable[[], Page]) -> None:
    page = person()
    page.goto("/signup")
    email = f"kbd.newcomer.{_suffix()}@example.org"
    type_into(page, page.get_by_label("Email"), email)
    type_into(page, page.get_by_label("Display name"), "Keya Keyboard")
    type_into(page, page.get_by_label("Password"), "a sturdy passphrase")
    type_date(page, page.get_by_label("Date of birth"), dt.date(1991, 3, 14))
    press_on(page, page.get_by_role("button", name="Sign up"))
    expect(page.get_by_role("heading", name="My groups")).to_be_visible()
    expect(page.get_by_text("Keya Keyboard")).to_be_visible()


# --- a program: built, published, applied to ----------------------------------------------


def test_an_admin_builds_and_publishes_a_program_and_a_member_applies_by_keyboard(
    person: Callable[[], Page], app_db: Session
) -> None:
    title = f"Keyboard program {_suffix()}"
    mentee_user = member_of_the_group(app_db, "Kai Keys")
    admin = person()
    log_in(admin, "ada.admin@example.org")

    press_on(admin, admin.get_by_role("list", name="My groups").get_by_role("link", name=GROUP))
    expect(admin.get_by_role("heading", name=GROUP)).to_be_visible()
    press_on(admin, admin.get_by_role("link", name="Create a program"))
    press_on(admin, admin.get_by_role("button", name="Use Skills development"))

    expect(admin.get_by_role("heading", name="Details")).to_be_visible()
    wizard = admin.get_by_role("heading", name="New mentorship program")
    expect_focus_kept(wizard)
    type_into(admin, admin.get_by_label("Title"), title, replace=True)
    type_date(admin, admin.get_by_label("Start date"), dt.date.today() + dt.timedelta(days=7))
    press_on(admin, admin.get_by_role("button", name="Next"))
    for heading in ("Sign-up questions", "Journey"):
        expect(admin.get_by_role("heading", name=heading)).to_be_visible()
        expect_focus_kept(wizard)
        # Past every question's or week's editor (about 100 stops for the questions).
        press_on(admin, admin.get_by_role("button", name="Next"), max_presses=120)
    expect(admin.get_by_role("heading", name="Review and publish")).to_be_visible()
    press_on(admin, admin.get_by_role("button", name="Publish"))
    expect(admin.get_by_role("heading", name=title)).to_be_visible()
    expect(admin.get_by_text("open", exact=True)).to_be_visible()
    program_url = admin.url

    mentee = person()
    log_in(mentee, mentee_user.email, PASSWORD)
    mentee.goto(program_url)
    press_on(mentee, mentee.get_by_role("button", name="Sign up as mentee"))
    answer_every_question(mentee, "I want to get better at public speaking.")
    press_on(mentee, mentee.get_by_role("button", name="Send application"))
    expect(mentee.get_by_role("heading", name="Your application")).to_be_visible()
    program = app_db.exec(select(Program).where(Program.title == title)).one()
    try:
        applied = app_db.exec(
            select(Enrollment).where(
                Enrollment.program_id == program.id, Enrollment.user_id == mentee_user.id
            )
        ).one()
    finally:
        app_db.rollback()
    assert applied.role == "mentee"


def test_the_wizard_step_buttons_are_a_few_keys_past_the_questions_and_weeks(
    person: Callable[[], Page], app_db: Session
) -> None:
    ada = app_db.exec(select(User).where(User.email == "ada.admin@example.org")).one()
    draft = programs.start_program(
        app_db, actor=ada, group_id=_group(app_db).id or 0, template_key="skills_development"
    )
    programs.save_details(
        app_db, actor=ada, program_id=draft.id or 0, title=f"Keyboard draft {_suffix()}",
        description=draft.description,
        start_date=(dt.date.today() + dt.timedelta(days=7)).isoformat(),
        length_weeks=draft.length_weeks, mentor_capacity_max=2,
    )  # fmt: skip
    programs.set_wizard_step(app_db, actor=ada, program_id=draft.id or 0, step=2)
    app_db.commit()
    admin = person()
    log_in(admin, ada.email)
    admin.goto(f"/programs/{draft.id}/wizard")
    expect(admin.get_by_role("heading", name="Details")).to_be_visible()
    press_on(admin, admin.get_by_role("button", name="Next"))

    wizard = admin.get_by_role("heading", name="New mentorship program")
    for step, then in (("Sign-up questions", "Journey"), ("Journey", "Review and publish")):
        expect(admin.get_by_role("heading", name=step)).to_be_visible()
        # From the wizard's heading, just above the step's (a dozen question cards of
        # about eight controls each lie between it and Next).
        expect_focus_kept(wizard)
        keys_to(admin, admin.get_by_role("button", name="Next"), limit=15)
        admin.keyboard.press("Enter")
        expect(admin.get_by_role("heading", name=then)).to_be_visible()


def answer_every_question(page: Page, text: str) -> None:
    """Each question of the open application form: its first choice ticked with Space, or
    `text` typed."""
    expect(page.locator("fieldset").first).to_be_visible()
    for question in page.locator("fieldset").all():
        boxes = question.locator("input[type=checkbox], input[type=radio]")
        if boxes.count():
            press_on(page, boxes.first, "Space")
            expect(boxes.first).to_be_checked()
        else:
            type_into(page, question.locator("input, textarea").first, text)


# --- a paged list ------------------------------------------------------------------------


def test_the_pager_keeps_the_focus_on_the_last_page_by_keyboard(
    person: Callable[[], Page], app_db: Session
) -> None:
    owner = make_user(app_db, email=f"kbd.pages.{_suffix()}@example.org", display_name="Pia Pages")
    group = make_group(app_db, admin=owner, name=f"Keyboard pages {_suffix()}")
    add_members(app_db, group, make_people(app_db, 44, name="Paged"))  # 45 with Pia: 3 pages
    page = person()
    log_in(page, owner.email, PASSWORD)
    page.goto(f"/groups/{group.id}")
    pager = page.get_by_role("navigation", name="Members pages")
    expect(pager).to_contain_text("Page 1 of 3")
    next_page = pager.get_by_role("button", name="Next")

    tab_to(page, next_page, max_presses=80)
    for number in (2, 3):
        page.keyboard.press("Enter")
        expect(pager).to_contain_text(f"Page {number} of 3")
    expect(next_page).to_be_disabled()
    page.keyboard.press("Enter")  # once more, as an impatient hand does: nothing to go to
    expect(pager).to_contain_text("Page 3 of 3")
    inside = page.evaluate(
        "() => !!document.activeElement.closest('nav[aria-label=\"Members pages\"]')"
    )
    assert inside, f"the focus left the pager for {focused(page)}"
    expect_focus_ring(page)
    # And back, from where the focus is.
    page.keyboard.press("Shift+Tab")
    expect(pager.get_by_role("button", name="Previous")).to_be_focused()
    page.keyboard.press("Enter")
    expect(pager).to_contain_text("Page 2 of 3")


# --- pairing -----------------------------------------------------------------------------


def arrange_applicants(db: Session, mentor: User, mentee: User, title: str) -> int:
    """An open program of GROUP with `mentor` and `mentee` applied, not paired. Returns
    the program's id."""
    ada = db.exec(select(User).where(User.email == "ada.admin@example.org")).one()
    program = open_program(db, admin=ada, group=_group(db), title=title)
    for user, role in ((mentor, "mentor"), (mentee, "mentee")):
        enrollments.apply(
            db, actor=user, program_id=program.id or 0, role=role,
            answers=answers_for(program, role), capacity=1 if role == "mentor" else None,
        )  # fmt: skip
    db.commit()
    return program.id or 0


def test_an_admin_pairs_from_a_suggestion_and_publishes_by_keyboard(
    person: Callable[[], Page], app_db: Session
) -> None:
    mentor = member_of_the_group(app_db, f"Mira Mentor {_suffix()}")
    mentee = member_of_the_group(app_db, f"Mo Mentee {_suffix()}")
    program_id = arrange_applicants(app_db, mentor, mentee, f"Keyboard pairing {_suffix()}")
    admin = person()
    log_in(admin, "ada.admin@example.org")
    admin.goto(f"/programs/{program_id}/pairing")

    waiting = admin.get_by_role("list", name="Mentees waiting")
    press_on(admin, waiting.get_by_role("button", name=mentee.display_name))
    suggested = admin.get_by_role("list", name="Suggested mentors")
    press_on(admin, suggested.get_by_role("button", name=f"Pair with {mentor.display_name}"))
    expect(admin.get_by_role("status")).to_contain_text(
        f"Draft pair made for {mentee.display_name}"
    )

    publish = admin.get_by_role("button", name="Publish pairs")
    dialog = admin.get_by_role("alertdialog")
    check_dialog_gives_focus_back(admin, publish, dialog)
    admin.keyboard.press("Enter")
    expect(dialog).to_contain_text("Publish 1 pair?")  # one pair: no "1 pairs"
    press_on(admin, dialog.get_by_role("button", name="Publish", exact=True))
    expect(admin.get_by_role("status")).to_contain_text("Published 1 pair;")
    # "Publish pairs" went with the drafts; focus, to the page's heading.
    expect_focus_kept(admin.get_by_role("heading", name="Pairing", exact=True))
    try:
        pair = app_db.exec(select(Pair).where(Pair.program_id == program_id)).one()
    finally:
        app_db.rollback()
    assert (pair.mentor_id, pair.mentee_id, pair.status) == (mentor.id, mentee.id, "active")


# --- a pair's page ---------------------------------------------------------------------


def test_a_mentee_walks_the_pair_page_reports_and_blocks_by_keyboard(
    person: Callable[[], Page], app_db: Session
) -> None:
    suffix = _suffix()
    mentee_email = f"kbd.mentee.{suffix}@example.org"
    _, pair_id = arrange_pair_two_weeks_in(
        app_db,
        mentor=(f"kbd.mentor.{suffix}@example.org", "Jo Keys"),
        mentee=(mentee_email, "Kim Keys"),
        title=f"Keyboard journey {suffix}",
    )
    jo = app_db.exec(select(User).where(User.email == f"kbd.mentor.{suffix}@example.org")).one()
    hurtful = "You will never be any good at this."
    app_db.add(
        Message(pair_id=pair_id, sender_id=jo.id or 0, client_id=f"kbd-{suffix}", body=hurtful)
    )
    app_db.commit()

    page = person()
    log_in(page, mentee_email)
    page.goto(f"/pairs/{pair_id}")
    expect(page.get_by_role("heading", name="Your mentor: Jo Keys")).to_be_visible()

    # A step marked done.
    press_on(page, page.get_by_role("button", name=re.compile(r"^Mark step done: Week 1: ")))
    expect(page.get_by_role("button", name=re.compile(r"^Undo my mark on Week 1"))).to_be_visible()
    expect(page.get_by_role("list", name="Journey steps")).to_contain_text("You ✓")
    expect(page.get_by_text("0 of 6 steps done")).to_be_visible()  # done once both mark it

    # A check-in: arrows move through a group of radios, Space ticks one.
    tab_to(page, page.get_by_role("radio", name="1 Hard going"))
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    expect(page.get_by_role("radio", name="4 Good")).to_be_checked()
    press_on(page, page.get_by_role("radio", name="Yes", exact=True), "Space")
    expect(page.get_by_role("radio", name="Yes", exact=True)).to_be_checked()
    type_into(page, page.get_by_label("Note (optional, only the two of you see it)"), "Typed.")
    press_on(page, page.get_by_role("button", name="Save check-in"))
    expect(page.get_by_role("status")).to_contain_text("Check-in saved.")

    # A message: Enter sends it.
    type_into(page, page.get_by_label("Message", exact=True), "Hello, sent from the keys")
    page.keyboard.press("Enter")
    log = page.get_by_role("log", name="Messages")
    expect(log).to_contain_text("Hello, sent from the keys")

    # The report dialog, back up the page from the composer.
    report = page.get_by_role("button", name="Report", exact=True)
    dialog = page.get_by_role("dialog")
    tab_to(page, report, backwards=True)
    check_dialog_gives_focus_back(page, report, dialog)
    page.keyboard.press("Enter")
    expect_focus_inside(dialog)
    category = dialog.get_by_label("What is the problem?")
    tab_to(page, category)
    page.keyboard.press("ArrowDown")  # from "Choose…" to the first kind, Harassment
    expect(category).to_have_value("harassment")
    evidence = dialog.get_by_role("checkbox", name=re.compile(re.escape(hurtful)))
    press_on(page, evidence, "Space")
    expect(evidence).to_be_checked()
    type_into(page, dialog.get_by_label("Details (needed for “Other”)"), "It hurt.")
    press_on(page, dialog.get_by_role("button", name="Send report"))
    expect(dialog).to_have_count(0)
    expect(page.get_by_role("status")).to_contain_text("Your report has gone to the site")
    expect(report).to_be_focused()

    # Blocking.
    block = page.get_by_role("button", name="Block", exact=True)
    alert = page.get_by_role("alertdialog")
    check_dialog_gives_focus_back(page, block, alert)
    page.keyboard.press("Enter")
    expect_focus_inside(alert)
    press_on(page, alert.get_by_role("button", name="Block Jo Keys"))
    expect(page.get_by_role("status")).to_contain_text("You blocked Jo Keys.")
    # "Block" went with the ended pair; focus, to the page's heading.
    expect_focus_kept(page.get_by_role("heading", name="Your mentor: Jo Keys"))
    expect(page.get_by_text("You can no longer send messages in this chat.")).to_be_visible()

    kim = app_db.exec(select(User).where(User.email == mentee_email)).one()
    try:
        done = app_db.exec(select(StepCompletion).where(StepCompletion.pair_id == pair_id)).all()
        check_in = app_db.exec(select(CheckIn).where(CheckIn.pair_id == pair_id)).one()
        reported = app_db.exec(select(Report).where(Report.pair_id == pair_id)).one()
        blocked = app_db.exec(select(Block).where(Block.blocker_id == kim.id)).all()
        sent = app_db.exec(
            select(Message.body).where(Message.pair_id == pair_id, Message.sender_id == kim.id)
        ).all()
    finally:
        app_db.rollback()
    assert [(s.week, s.user_id) for s in done] == [(1, kim.id)]
    assert (check_in.mood, check_in.met, check_in.note) == (4, True, "Typed.")
    assert sent == ["Hello, sent from the keys"]
    assert (reported.reporter_id, reported.reported_id, reported.category) == (
        kim.id, jo.id, "harassment",
    )  # fmt: skip
    assert [e["body"] for e in reported.evidence] == [hurtful]
    assert [b.blocked_id for b in blocked] == [jo.id]


# --- moderation --------------------------------------------------------------------------


def test_a_moderator_decides_a_report_by_keyboard(
    person: Callable[[], Page], app_db: Session
) -> None:
    suffix = _suffix()
    _, pair_id = arrange_pair_two_weeks_in(
        app_db,
        mentor=(f"kbd.rude.{suffix}@example.org", f"Rudy Keys {suffix}"),
        mentee=(f"kbd.hurt.{suffix}@example.org", f"Hana Keys {suffix}"),
        title=f"Keyboard moderation {suffix}",
    )
    rudy, hana = (
        app_db.exec(select(User).where(User.email == f"kbd.{who}.{suffix}@example.org")).one()
        for who in ("rude", "hurt")
    )
    report_id = add_report(
        app_db, pair_id=pair_id, reporter_id=hana.id or 0, reported=rudy,
        body="Quit already.", details="Rudy keeps at it.", client_id=f"kbd-mod-{suffix}",
    )  # fmt: skip

    mo = person()
    log_in(mo, "mo.moderator@example.org")
    press_on(mo, mo.get_by_role("link", name="Moderation"))
    expect(mo.get_by_role("heading", name="Moderation queue")).to_be_visible()
    press_on(
        mo,
        mo.get_by_role(
            "button", name=f"View report {report_id}: Harassment, about {rudy.display_name}"
        ),
    )
    selected = mo.get_by_label("Selected report")
    expect(selected.get_by_role("list", name="Evidence")).to_contain_text("Quit already.")
    press_on(mo, selected.get_by_role("button", name="Take into review"))
    expect(mo.get_by_role("status")).to_contain_text("The report is in review.")
    expect_focus_kept(mo.get_by_role("heading", name="Moderation queue"))
    type_into(mo, selected.get_by_label("Reason", exact=True), "A warning is enough this time.")
    press_on(mo, selected.get_by_role("button", name="Warn the member"))
    expect(mo.get_by_role("status")).to_contain_text("The member has been warned.")
    expect(selected.get_by_role("list", name="History")).to_contain_text(
        "A warning is enough this time."
    )
    try:
        decided = app_db.exec(select(Report).where(col(Report.id) == report_id)).one()
    finally:
        app_db.rollback()
    assert decided.status == "actioned"
