"""Two members on their pair's page: live progress, check-ins, ending; others see nothing."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable

from playwright.sync_api import Page, WebSocket, expect
from sqlmodel import Session, select

from mentor_app.models import Group, Membership, Pair, Program, StepCompletion, User
from mentor_app.seed import DEMO_PASSWORD
from mentor_app.services import accounts, enrollments, pairing, programs
from tests.e2e.conftest import screenshot
from tests.e2e.test_programs import demo_log_in
from tests.factories import answers_for
from tests.support.socket_gate import SocketGate


def open_program(
    db: Session, *, admin: User, group: Group, title: str, template_key: str = "skills_development"
) -> Program:
    """A program of `group` that `admin` started from a template, with its details saved
    (starting today, up to two mentees a mentor) and published: open for sign-ups. Not
    committed."""
    program = programs.start_program(
        db, actor=admin, group_id=group.id or 0, template_key=template_key
    )
    programs.save_details(
        db, actor=admin, program_id=program.id or 0, title=title,
        description=program.description, start_date=dt.date.today().isoformat(),
        length_weeks=program.length_weeks, mentor_capacity_max=2,
    )  # fmt: skip
    programs.publish(db, actor=admin, program_id=program.id or 0)
    return program


def arrange_pair_two_weeks_in(
    db: Session,
    mentor: tuple[str, str] = ("jo.mentor@example.org", "Jo Mentor"),
    mentee: tuple[str, str] = ("kim.mentee@example.org", "Kim Mentee"),
    group_name: str = "Grow Every Day",
    title: str = "Journey test program",
) -> tuple[int, int]:
    """Two new members (e-mail, name), paired as mentor and mentee in a new program of a
    demo group whose journey started nine days ago. Returns (program id, pair id)."""
    ada = db.exec(select(User).where(User.email == "ada.admin@example.org")).one()
    group = db.exec(select(Group).where(Group.name == group_name)).one()
    people = {}
    for email, name in (mentor, mentee):
        user = accounts.sign_up(
            db, email=email, display_name=name, password=DEMO_PASSWORD, date_of_birth="1990-05-05"
        )
        db.add(Membership(group_id=group.id or 0, user_id=user.id or 0))
        people[name] = user
    db.flush()
    program = open_program(db, admin=ada, group=group, title=title)
    mentor = enrollments.apply(
        db, actor=people[mentor[1]], program_id=program.id or 0, role="mentor",
        answers=answers_for(program, "mentor"), capacity=1,
    )  # fmt: skip
    mentee = enrollments.apply(
        db, actor=people[mentee[1]], program_id=program.id or 0, role="mentee",
        answers=answers_for(program, "mentee"),
    )  # fmt: skip
    pair = pairing.pair_by_hand(
        db, actor=ada, program_id=program.id or 0,
        mentee_enrollment_id=mentee.id or 0, mentor_enrollment_id=mentor.id or 0,
    )  # fmt: skip
    pairing.publish_pairs(db, actor=ada, program_id=program.id or 0)
    pair.start_date = dt.date.today() - dt.timedelta(days=9)  # the journey is in week 2
    db.add(pair)
    db.commit()
    return program.id or 0, pair.id or 0


def arrange_tagged_pair(db: Session, kind: str, title: str) -> tuple[str, int]:
    """`arrange_pair_two_weeks_in` under addresses no other test uses (`<kind>.mentor.<tag>`
    and `<kind>.mentee.<tag>` at example.org, named "<Kind> Mentor" and "<Kind> Mentee", in
    the program "<title> <tag>"). Returns (the mentee's e-mail, pair id); it commits."""
    tag = uuid.uuid4().hex[:8]
    mentee = f"{kind}.mentee.{tag}@example.org"
    _, pair_id = arrange_pair_two_weeks_in(
        db,
        mentor=(f"{kind}.mentor.{tag}@example.org", f"{kind.title()} Mentor"),
        mentee=(mentee, f"{kind.title()} Mentee"),
        title=f"{title} {tag}",
    )
    return mentee, pair_id


def check_in(page: Page, mood: str, met: str, note: str) -> None:
    page.get_by_role("radio", name=mood).check()
    page.get_by_role("radio", name=met, exact=True).check()
    page.get_by_label("Note (optional, only the two of you see it)").fill(note)
    page.get_by_role("button", name="Save check-in").click()
    expect(page.get_by_role("status")).to_contain_text("Check-in saved.")


def test_a_pair_walks_its_journey_live_then_the_mentor_ends_it(
    new_page: Callable[..., Page], app_db: Session
) -> None:
    program_id, pair_id = arrange_pair_two_weeks_in(app_db)
    url = f"/pairs/{pair_id}"

    mentor, mentee = new_page(), new_page()
    demo_log_in(mentor, "jo.mentor@example.org")
    demo_log_in(mentee, "kim.mentee@example.org")
    mentor.goto(url)
    mentee.goto(url)
    expect(mentor.get_by_role("heading", name="Your mentee: Kim Mentee")).to_be_visible()
    expect(mentee.get_by_role("heading", name="Your mentor: Jo Mentor")).to_be_visible()
    expect(mentee.get_by_text("Week 2 of 6")).to_be_visible()
    expect(mentee.get_by_text("0 of 6 steps done")).to_be_visible()

    # The mentee marks step 1 done; the mentor's open page shows the mark without a reload.
    # One mark is not a done step: both members' marks show, and the count waits for both.
    steps = mentor.get_by_role("list", name="Journey steps").get_by_role("listitem")
    mentee_steps = mentee.get_by_role("list", name="Journey steps").get_by_role("listitem")
    mentee.get_by_role("button", name=re.compile(r"^Mark step done: Week 1: ")).click()
    expect(steps.first).to_contain_text("Marked by Kim Mentee")
    expect(steps.first).to_contain_text("You —")
    expect(steps.first).to_contain_text("Kim Mentee ✓")
    expect(mentee_steps.first).to_contain_text("You ✓")
    expect(mentee_steps.first).to_contain_text("Jo Mentor —")
    for page in (mentor, mentee):
        expect(page.get_by_text("0 of 6 steps done")).to_be_visible()
    expect(steps.first.get_by_text("Done", exact=True)).to_have_count(0)
    expect(
        mentee.get_by_role("button", name=re.compile(r"^Undo my mark on Week 1"))
    ).to_be_visible()
    # The mentor marks it too: now it is done, for both, live.
    mentor.get_by_role("button", name=re.compile(r"^Mark step done: Week 1: ")).click()
    for page in (mentor, mentee):
        expect(page.get_by_text("1 of 6 steps done")).to_be_visible()
    expect(mentee_steps.first.get_by_text("Done", exact=True)).to_be_visible()
    expect(mentee_steps.first).to_contain_text("Jo Mentor ✓")

    # The fit check, asked after week 1.
    mentee.get_by_role("button", name="Still deciding").click()
    expect(mentee.get_by_role("heading", name="How is the match going?")).to_have_count(0)

    # Both check in; each sees the other's check-in arrive.
    checked = mentor.get_by_label("This week's check-ins")
    expect(checked).to_contain_text("Kim Mentee")
    check_in(mentee, "4 Good", "Yes", "We planned the first practice session.")
    expect(checked.get_by_text("checked in")).to_have_count(1)
    expect(mentor.get_by_label("Check-in history")).to_contain_text(
        "We planned the first practice session."
    )
    check_in(mentor, "5 Great", "Yes", "Kim is motivated.")
    expect(mentee.get_by_label("This week's check-ins").get_by_text("checked in")).to_have_count(2)
    screenshot(mentee, "journey")

    # The mentor ends the pair; the mentee's page turns read-only.
    mentor.get_by_role("button", name="End this pair").click()
    dialog = mentor.get_by_role("alertdialog")
    dialog.get_by_label("Why is it ending?").select_option("not_a_good_fit")
    dialog.get_by_role("button", name="End the pair").click()
    expect(mentor.get_by_role("status")).to_contain_text("The pair has ended")
    expect(mentee.get_by_text(re.compile("This pair ended on"))).to_be_visible()
    expect(mentee.get_by_role("button", name=re.compile("^Mark step done"))).to_have_count(0)
    expect(mentee.get_by_role("heading", name="This week's check-in")).to_have_count(0)
    expect(mentee.get_by_label("Check-in history")).to_contain_text("Kim is motivated.")

    # The admin finds Kim waiting with rematch priority, and the reason.
    admin = new_page()
    demo_log_in(admin, "ada.admin@example.org", then=f"/programs/{program_id}/pairing")
    waiting = admin.get_by_role("list", name="Mentees waiting")
    expect(waiting.get_by_role("button", name=re.compile("Kim Mentee"))).to_contain_text(
        "Rematch priority"
    )
    expect(admin.get_by_role("heading", name="Ended pairs (1)")).to_be_visible()
    expect(admin.get_by_role("cell", name="Not a good fit")).to_be_visible()

    # Nobody else can open the pair: not even the admin.
    admin.goto(url)
    expect(admin.get_by_role("heading", name="Pair not found")).to_be_visible()
    outsider = new_page()
    demo_log_in(outsider, "sam.mentee@example.org", then=url)
    expect(outsider.get_by_role("heading", name="Pair not found")).to_be_visible()
    expect(outsider.get_by_text("Kim is motivated.")).to_have_count(0)


def _as_shown(page: Page) -> dict[str, object]:
    """What a pair's page shows of its state: headings, notices, buttons and progress (not
    the chat's times, which move)."""
    main = page.get_by_role("main")
    return {
        "headings": main.get_by_role("heading").all_inner_texts(),
        "notices": main.locator(".rt-CalloutRoot").all_inner_texts(),
        "buttons": sorted(set(main.get_by_role("button").all_inner_texts())),
        "badges": main.locator(".rt-Badge").all_inner_texts(),
        "composer": main.get_by_label("Message", exact=True).count(),
    }


def _live_matches_reloaded(page: Page, wait_for: str) -> dict[str, object]:
    expect(page.get_by_text(wait_for).first).to_be_visible()
    live = _as_shown(page)
    page.reload()
    expect(page.get_by_text(wait_for).first).to_be_visible()
    expect(page.get_by_role("main").get_by_role("heading").first).to_be_visible()
    reloaded = _as_shown(page)
    assert live == reloaded
    return live


def test_a_page_updated_live_shows_what_a_reload_shows_after_each_status_change(
    new_page: Callable[..., Page], app_db: Session
) -> None:
    """The partner's open page, changed live by the other member's act, against the same
    page reloaded: ended, blocked, completed. The ended date was missing live once, and
    a report's thanks stayed beside "This pair ended"."""
    _program, ended_id = arrange_pair_two_weeks_in(
        app_db,
        ("lu.ending@example.org", "Lu Mentor"),
        ("max.ending@example.org", "Max Mentee"),
        title="Live ending program",
    )
    _program, blocked_id = arrange_pair_two_weeks_in(
        app_db,
        ("ola.blocking@example.org", "Ola Mentor"),
        ("pat.blocking@example.org", "Pat Mentee"),
        title="Live blocking program",
    )
    _program, done_id = arrange_pair_two_weeks_in(
        app_db,
        ("rae.completing@example.org", "Rae Mentor"),
        ("sol.completing@example.org", "Sol Mentee"),
        title="Live completing program",
    )
    done = app_db.get(Pair, done_id)
    assert done is not None
    done.start_date = dt.date.today() - dt.timedelta(days=7 * 6 + 1)  # past its 6 weeks
    app_db.add(done)
    for member in (done.mentor_id, done.mentee_id):
        app_db.add(StepCompletion(pair_id=done_id, week=6, user_id=member))
    app_db.commit()

    # Ended: the mentee's page names the day, live as after a reload; the report's thanks
    # from before does not stay beside it.
    lu, max_ = new_page(), new_page()
    demo_log_in(lu, "lu.ending@example.org")
    demo_log_in(max_, "max.ending@example.org")
    lu.goto(f"/pairs/{ended_id}")
    max_.goto(f"/pairs/{ended_id}")
    max_.get_by_role("button", name="Report").click()
    dialog = max_.get_by_role("dialog")
    dialog.get_by_label("What is the problem?").select_option("other")
    dialog.get_by_label("Details (needed for “Other”)").fill("We never meet.")
    dialog.get_by_role("button", name="Send report").click()
    expect(max_.get_by_role("status")).to_contain_text("Thank you. Your report")
    lu.get_by_role("button", name="End this pair").click()
    dialog = lu.get_by_role("alertdialog")
    dialog.get_by_label("Why is it ending?").select_option("no_longer_available")
    dialog.get_by_role("button", name="End the pair").click()
    today = dt.date.today().strftime("%d %b %Y")
    shown = _live_matches_reloaded(max_, f"This pair ended on {today}.")
    assert not any("Thank you" in notice for notice in shown["notices"])  # type: ignore[attr-defined]

    # Blocked: the same on the blocked member's page.
    ola, pat = new_page(), new_page()
    demo_log_in(ola, "ola.blocking@example.org")
    demo_log_in(pat, "pat.blocking@example.org")
    ola.goto(f"/pairs/{blocked_id}")
    pat.goto(f"/pairs/{blocked_id}")
    expect(pat.get_by_label("Message", exact=True)).to_be_visible()
    ola.get_by_role("button", name="Block", exact=True).click()
    ola.get_by_role("alertdialog").get_by_role("button", name="Block Pat Mentee").click()
    expect(ola.get_by_role("status")).to_contain_text("You blocked Pat Mentee")
    shown = _live_matches_reloaded(pat, f"This pair ended on {today}.")
    assert shown["composer"] == 0

    # Completed: the mentor completes; the mentee's page turns to its own closing survey.
    rae, sol = new_page(), new_page()
    demo_log_in(rae, "rae.completing@example.org")
    demo_log_in(sol, "sol.completing@example.org")
    rae.goto(f"/pairs/{done_id}")
    sol.goto(f"/pairs/{done_id}")
    expect(sol.get_by_role("heading", name="Complete the program")).to_be_visible()
    rae.get_by_label("How useful was the program for you?").select_option("5")
    rae.get_by_role("button", name="Complete the program").click()
    expect(rae.get_by_role("status")).to_contain_text("Your closing survey is in")
    shown = _live_matches_reloaded(sol, "You completed the program together.")
    assert "Your closing survey" in shown["headings"]  # type: ignore[operator]


# Notes, from the first paint on, whether the goals section ever said it was loading, and
# what the page held when "End this pair" (at the foot of the page) first appeared.
WATCH_THE_PAGE_FILL_IN = """
window.__fill = {loading: false, atEnd: null};
new MutationObserver(() => {
  const text = document.body ? document.body.textContent : "";
  if (text.includes("Loading goals")) {
    window.__fill.loading = true;
  }
  const end = [...document.querySelectorAll("button")].find(
    (b) => b.textContent === "End this pair");
  if (end && window.__fill.atEnd === null) {
    window.__fill.atEnd = {
      meetings: text.includes("No meeting booked yet."),
      goals: text.includes("hasn't set any goals yet"),
    };
  }
}).observe(document, {childList: true, subtree: true, characterData: true});
"""


# The top of "End this pair" on the page (not in the viewport).
END_BUTTON_ON_THE_PAGE = """() => {
  const end = [...document.querySelectorAll("button")].find(
    (b) => b.textContent === "End this pair");
  return end.getBoundingClientRect().top + window.scrollY;
}"""


def test_the_pair_page_appears_whole_so_nothing_moves_under_a_click(
    new_page: Callable[..., Page], app_db: Session
) -> None:
    """The page's load reads the meetings and the goals with the journey and the chat: the
    sections do not fill in after the page appears, pushing "End this pair" down under a
    click; nor do the weeks above it change height as it is scrolled to (each cause made
    this click open nothing in full `make test` runs)."""
    _program_id, pair_id = arrange_pair_two_weeks_in(
        app_db,
        ("whole.mentor@example.org", "Wes Mentor"),
        ("whole.mentee@example.org", "Wyn Mentee"),
        title="Whole page program",
    )
    page = new_page()
    demo_log_in(page, "whole.mentor@example.org", then=None)
    page.add_init_script(WATCH_THE_PAGE_FILL_IN)
    page.goto(f"/pairs/{pair_id}")
    end = page.get_by_role("button", name="End this pair")
    expect(end).to_be_visible()
    expect(page.get_by_text("No meeting booked yet.")).to_be_visible()
    expect(page.get_by_text("Wyn Mentee hasn't set any goals yet.", exact=False)).to_be_visible()
    filled = page.evaluate("window.__fill")
    assert filled["atEnd"] == {"meetings": True, "goals": True}, filled
    assert not filled["loading"], "the goals section filled in after the page appeared"
    # Nor does anything above it change height as it is scrolled to: weeks drawn with a
    # stand-in height until scrolled near (`content-visibility: auto`) took their real one
    # a frame later, moving the button some 60 px between Playwright's press and release.
    before = page.evaluate(END_BUTTON_ON_THE_PAGE)
    assert before > page.viewport_size["height"], "the button is below the fold"  # type: ignore[index]
    end.scroll_into_view_if_needed()
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    assert page.evaluate(END_BUTTON_ON_THE_PAGE) == before
    end.click()
    expect(page.get_by_role("alertdialog")).to_contain_text("End this pair?")


def mentee_in_los_angeles(
    new_page: Callable[..., Page],
    app_db: Session,
    mentor: tuple[str, str],
    mentee: tuple[str, str],
    title: str,
) -> tuple[Page, int]:
    """A pair two weeks in (mentor and mentee: the part of their address before
    "@example.org", and their name; the program "<title> program"), and a page of a browser
    in Los Angeles, logged in as the mentee (the log-in records the browser's zone)."""
    _, pair_id = arrange_pair_two_weeks_in(
        app_db,
        (f"{mentor[0]}@example.org", mentor[1]),
        (f"{mentee[0]}@example.org", mentee[1]),
        title=f"{title} program",
    )
    page = new_page(timezone_id="America/Los_Angeles")
    demo_log_in(page, f"{mentee[0]}@example.org")
    return page, pair_id


def test_a_page_whose_time_zone_is_on_record_is_not_read_and_sent_again(
    new_page: Callable[..., Page], app_db: Session
) -> None:
    """The page sends the browser's zone once it has loaded. When that zone is the one on
    record (log-in recorded it), nothing changes: the page is not read again, and the
    server's answer does not carry the pair a second time (it had: the browser then drew
    the whole page twice on every visit)."""
    page, pair_id = mentee_in_los_angeles(
        new_page, app_db, ("una.known", "Una Mentor"), ("vic.known", "Vic Mentee"), "Known zone"
    )
    frames: list[tuple[str, str]] = []

    def watch(socket: WebSocket) -> None:
        socket.on("framesent", lambda payload: frames.append(("sent", str(payload))))
        socket.on("framereceived", lambda payload: frames.append(("received", str(payload))))

    page.on("websocket", watch)
    page.goto(f"/pairs/{pair_id}")
    expect(page.get_by_role("heading", name="Your mentor: Una Mentor")).to_be_visible()
    expect(page.get_by_text("(America/Los_Angeles time)")).to_be_visible()

    def zone_sent() -> int | None:
        """Where among the frames the page sent its set_timezone event, once it has."""
        sent = (
            i for i, (way, text) in enumerate(frames) if way == "sent" and "set_timezone" in text
        )
        return next(sent, None)

    for _ in range(200):  # sent once the load's answer has run the page's script
        if zone_sent() is not None:
            break
        page.wait_for_timeout(25)
    zone = zone_sent()
    assert zone is not None, "the page sent no time zone"
    # The tab's events are handled one after another: once a message sent after the zone has
    # come back, so has everything the zone's event was answered with.
    box = page.get_by_label("Message", exact=True)
    box.fill("Zone check")
    page.get_by_role("button", name="Send").click()
    expect(box).to_have_value("")  # emptied once the server has stored it
    echo = next(
        i for i, (way, text) in enumerate(frames) if way == "received" and "Zone check" in text
    )
    answer = [text for way, text in frames[zone + 1 : echo] if way == "received"]
    pair = '"partner":"Una Mentor"'
    assert any(pair in text for way, text in frames[:zone] if way == "received"), (
        "the page's load sent no pair: nothing to compare with"
    )
    assert not any(pair in text for text in answer), answer


def test_a_rating_chosen_while_the_page_still_reads_the_time_zone_is_kept(
    new_page: Callable[..., Page], app_db: Session
) -> None:
    """The page reads the pair again when the browser's time zone comes back, a moment
    after it loads. A rating chosen in between was wiped by that re-read (the form was
    re-mounted), and the check-in was refused for want of one (seen under load)."""
    page, pair_id = mentee_in_los_angeles(
        new_page, app_db, ("ines.zone", "Ines Mentor"), ("tom.zone", "Tom Mentee"), "Time zone race"
    )  # the log-in recorded the browser's zone: forget it
    tom = app_db.exec(select(User).where(User.email == "tom.zone@example.org")).one()
    tom.timezone = "UTC"
    app_db.add(tom)
    app_db.commit()
    # The page's set_timezone event, sent with the browser's zone once the page has loaded.
    gate = SocketGate("from_page", hold=lambda message: "set_timezone" in str(message))
    page.route_web_socket(re.compile(r"/_event"), gate.route)
    page.goto(f"/pairs/{pair_id}")
    mood = page.get_by_role("group", name="How is it going?")
    mood.get_by_role("radio", name="4 Good").check()
    expect(page.get_by_text("(UTC time)")).to_be_visible()
    assert gate.held, "the page sent no time zone to hold back"

    gate.release()
    expect(page.get_by_text("(America/Los_Angeles time)")).to_be_visible()
    expect(mood.get_by_role("radio", name="4 Good")).to_be_checked()
    page.get_by_role("group", name="Did you meet or talk this week?").get_by_role(
        "radio", name="Yes"
    ).check()
    page.get_by_role("button", name="Save check-in").click()
    expect(page.get_by_role("status")).to_contain_text("Check-in saved.")
