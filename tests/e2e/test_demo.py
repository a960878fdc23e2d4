"""The demo tells its story: each demo account's first screens show what the README's demo
table promises, straight from the seed (`python -m mentor_app.seed`, run by the app
server before the tests), with nothing arranged by the test."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from mentor_app.seed_story import HEALTHY_CHAT, REPORTED, STORY_GROUP, STORY_PROGRAM
from tests.e2e.conftest import screenshot
from tests.e2e.test_notifications import bell
from tests.e2e.test_programs import demo_log_in, open_group

ANY_UNREAD = re.compile(r"^Notifications, [1-9]\d* unread$")


def unread_bell(page: Page) -> None:
    expect(page.get_by_role("banner").get_by_role("link", name=ANY_UNREAD)).to_be_visible()


# (e-mail, the card of My pairs on their first screen, whether they have unread news)
MEMBERS = [
    ("grace.mentor@example.org", "Noah Brooks · your mentee", "active", True),
    ("noah.mentee@example.org", "Grace Liu · your mentor", "active", True),
    ("ravi.mentor@example.org", "Elena Petrova · your mentee", "active", True),
    ("elena.mentee@example.org", "Ravi Shah · your mentor", "active", True),
    ("kofi.mentor@example.org", "Julia Weber · your mentee", "active", True),
    ("julia.mentee@example.org", "Kofi Mensah · your mentor", "active", True),
    ("ben.mentor@example.org", "Aisha Khan · your mentee", "ended", False),
    ("aisha.mentee@example.org", "Ben Carter · your mentor", "ended", True),
]


@pytest.mark.parametrize(("email", "card", "status", "news"), MEMBERS)
def test_each_story_member_lands_on_their_pair_and_their_news(
    new_page: Callable[..., Page], email: str, card: str, status: str, news: bool
) -> None:
    page = new_page()
    demo_log_in(page, email)
    pairs = page.get_by_role("list", name="My pairs").get_by_role("listitem")
    expect(pairs).to_have_count(1)
    expect(pairs.first.get_by_role("link", name=card)).to_be_visible()
    expect(pairs.first).to_contain_text(STORY_PROGRAM)
    expect(pairs.first.get_by_text(status, exact=True)).to_be_visible()
    if news:
        unread_bell(page)
    else:
        expect(bell(page, 0)).to_be_visible()


def test_the_healthy_pairs_mentee_is_in_week_3_with_the_chat_and_this_weeks_check_in(
    new_page: Callable[..., Page],
) -> None:
    noah = new_page()
    demo_log_in(noah, "noah.mentee@example.org")
    noah.get_by_role("link", name="Grace Liu · your mentor").click()
    expect(noah.get_by_role("heading", name="Your mentor: Grace Liu")).to_be_visible()
    expect(noah.get_by_text("Week 3 of 6")).to_be_visible()
    expect(noah.get_by_text("2 of 6 steps done")).to_be_visible()
    messages = noah.get_by_role("log", name="Messages")
    expect(messages).to_contain_text(HEALTHY_CHAT[0][3])  # the first, three weeks ago
    expect(messages).to_contain_text(HEALTHY_CHAT[-1][3])  # the latest, yesterday
    expect(noah.get_by_role("heading", name="This week's check-in")).to_be_visible()
    expect(noah.get_by_role("button", name="Save check-in")).to_be_visible()
    expect(noah.get_by_label("Check-in history")).to_contain_text(
        "The story opening is a big improvement."
    )
    screenshot(noah, "demo-pair-page")


def test_the_admin_finds_the_one_sided_pair_at_risk_and_a_mentee_to_rematch(
    new_page: Callable[..., Page],
) -> None:
    ada = new_page()
    demo_log_in(ada, "ada.admin@example.org")
    unread_bell(ada)
    open_group(ada, STORY_GROUP)
    ada.get_by_role("link", name=STORY_PROGRAM).click()
    ada.get_by_role("link", name="Program dashboard").click()
    expect(ada.get_by_role("heading", name="Program dashboard")).to_be_visible()
    rows = ada.get_by_role("region", name="Pairs by health").get_by_role("row")
    expect(rows).to_have_count(4)  # the header and three active pairs
    at_risk = rows.nth(1)  # lowest health first
    expect(at_risk).to_contain_text("Elena Petrova")
    expect(at_risk).to_contain_text("at risk")
    expect(at_risk).to_contain_text(
        re.compile(r"one-sided: mentor writing, mentee silent for 1\d days")
    )
    expect(rows.filter(has_text="Julia Weber")).to_contain_text("fit check: not a good fit")
    expect(rows.filter(has_text="Noah Brooks")).to_contain_text("healthy")
    screenshot(ada, "demo-dashboard")

    ada.go_back()
    ada.get_by_role("link", name="Open the pairing workspace").click()
    waiting = ada.get_by_role("list", name="Mentees waiting")
    expect(waiting.get_by_role("button", name=re.compile("Aisha Khan"))).to_contain_text(
        "Rematch priority"
    )


def test_the_moderator_finds_the_open_report_and_its_evidence(
    new_page: Callable[..., Page],
) -> None:
    mo = new_page()
    demo_log_in(mo, "mo.moderator@example.org")
    mo.get_by_role("link", name="Moderation").click()
    expect(mo.get_by_role("heading", name="Moderation queue")).to_be_visible()
    reports = mo.get_by_role("list", name="Reports")
    expect(reports).to_contain_text("Julia Weber → Kofi Mensah")
    reports.get_by_role(
        "button", name=re.compile(r"^View report \d+: Harassment, about Kofi Mensah$")
    ).click()
    evidence = mo.get_by_label("Selected report").get_by_role("list", name="Evidence")
    for text in REPORTED:
        expect(evidence).to_contain_text(text)
    screenshot(mo, "demo-moderation")


def test_the_silent_mentee_reads_the_nudges_waiting_for_her(
    new_page: Callable[..., Page],
) -> None:
    elena = new_page()
    demo_log_in(elena, "elena.mentee@example.org")
    elena.get_by_role("banner").get_by_role("link", name=ANY_UNREAD).click()
    expect(elena.get_by_role("heading", name="Notifications", level=1)).to_be_visible()
    items = elena.get_by_role("list", name="Notifications").get_by_role("listitem")
    nudge = items.filter(has_text="Ravi Shah has been in touch — reply when you can")
    expect(nudge).to_contain_text("New")
    expect(items.filter(has_text="check in with Ravi Shah")).to_have_count(1)  # this week's
