"""Members' time zones and dates (issue 17, defects 4 and 10): the zone comes from the
browser at sign-up and log-in; a member whose zone is unknown is nudged only in daytime
everywhere they plausibly live (or in-app only); a pair's start date is one rule for both
members, shown in each one's zone; and the 18+ check uses the earliest date on Earth."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from mentor_app.models import EmailOutbox, Nudge, Pair, Program, User
from mentor_app.services import accounts, dashboard, journey, pairing
from mentor_app.services.errors import ValidationError
from mentor_app.services.nudges import NudgeRules, run_nudges
from tests.factories import (
    PASSWORD,
    TODAY,
    add_member,
    make_application,
    make_group,
    make_program,
    make_user,
)

RULES = NudgeRules()  # 09:00-20:00 local, from day 5 of the week
HONOLULU, BERLIN, LONDON = "Pacific/Honolulu", "Europe/Berlin", "Europe/London"
KIRITIMATI = "Pacific/Kiritimati"  # UTC+14


# --- the zone is taken at sign-up and at every log-in ----------------------------------------


def test_sign_up_records_the_browsers_zone_as_known(db: Session) -> None:
    user = make_user(db, timezone=HONOLULU)
    assert (user.timezone, user.timezone_known) == (HONOLULU, True)


@pytest.mark.parametrize("bad", [None, "", "Mars/Olympus_Mons", "../../etc/passwd", "x" * 65])
def test_a_bad_or_missing_zone_never_refuses_sign_up_and_is_not_recorded(
    db: Session, bad: str | None
) -> None:
    user = make_user(db, timezone=bad)
    assert user.id is not None
    assert (user.timezone, user.timezone_known) == ("UTC", False)


def test_every_log_in_records_the_browsers_zone(db: Session) -> None:
    user = make_user(db, email="kai@example.com", timezone=None)

    accounts.authenticate(db, email="kai@example.com", password=PASSWORD, timezone=HONOLULU)
    db.commit()
    db.refresh(user)
    assert (user.timezone, user.timezone_known) == (HONOLULU, True)

    # Travelling: the next log-in moves it.
    accounts.authenticate(db, email="kai@example.com", password=PASSWORD, timezone=BERLIN)
    db.commit()
    db.refresh(user)
    assert (user.timezone, user.timezone_known) == (BERLIN, True)


@pytest.mark.parametrize("bad", [None, "", "Not/AZone"])
def test_a_bad_zone_at_log_in_logs_in_and_keeps_the_known_zone(
    db: Session, bad: str | None
) -> None:
    user = make_user(db, email="kai@example.com", timezone=HONOLULU)
    assert accounts.authenticate(db, email="kai@example.com", password=PASSWORD, timezone=bad)
    db.commit()
    db.refresh(user)
    assert (user.timezone, user.timezone_known) == (HONOLULU, True)


def test_the_pair_page_never_wipes_a_known_zone_with_a_bad_one(db: Session) -> None:
    user = make_user(db, timezone=HONOLULU)
    assert journey.set_timezone(db, actor=user, timezone="Nowhere/Land") == HONOLULU
    db.commit()
    db.refresh(user)
    assert (user.timezone, user.timezone_known) == (HONOLULU, True)


def test_the_pair_page_rereads_only_for_a_zone_other_than_the_known_one(db: Session) -> None:
    """`timezone_differs` tells the pair page whether the browser's zone changes anything."""
    user = make_user(db, timezone=HONOLULU)
    assert not journey.timezone_differs(db, actor=user, timezone=HONOLULU)
    for bad in ("", "Nowhere/Land"):
        assert not journey.timezone_differs(db, actor=user, timezone=bad)
    assert journey.timezone_differs(db, actor=user, timezone=BERLIN)
    user.timezone_known = False  # the same name, but guessed: recording it makes it known
    db.add(user)
    db.flush()
    assert journey.timezone_differs(db, actor=user, timezone=HONOLULU)


# --- nudges for a member whose zone is unknown ------------------------------------------------


def program_of(db: Session, zones: dict[str, str | None]) -> tuple[Program, Pair, User, User]:
    """A program whose mentor "Maya" and mentee "Theo" are paired (published), with one
    more member waiting for each other zone. `zones`: name → zone (None: unknown)."""
    admin = make_user(db, display_name="Ada")
    group = make_group(db, admin=admin)
    program = make_program(db, admin=admin, group=group)
    people = {name: make_user(db, display_name=name, timezone=zone) for name, zone in zones.items()}
    enrollment = {}
    for name, person in people.items():
        add_member(db, group, person)
        role = "mentor" if name == "Maya" else "mentee"
        enrollment[name] = make_application(db, program=program, user=person, role=role)
    pair = pairing.pair_by_hand(
        db,
        actor=admin,
        program_id=program.id or 0,
        mentee_enrollment_id=enrollment["Theo"].id or 0,
        mentor_enrollment_id=enrollment["Maya"].id or 0,
        today=TODAY,
    )
    pairing.publish_pairs(db, actor=admin, program_id=program.id or 0, today=TODAY)
    pair.start_date = dt.date(2026, 2, 2)  # a Monday; day 6 of week 2 is Saturday 14 Feb
    db.add(pair)
    db.commit()
    return program, pair, people["Maya"], people["Theo"]


def at(zone: str, day: int, hour: int, minute: int = 0, *, month: int = 2) -> dt.datetime:
    """`hour` o'clock on `day` `month` (February unless told), 2026, on `zone`'s clocks."""
    return dt.datetime(2026, month, day, hour, minute, tzinfo=zoneinfo.ZoneInfo(zone))


def nudged(engine: Engine, user: User) -> list[str]:
    with Session(engine) as db:
        return list(db.exec(select(Nudge.kind).where(Nudge.user_id == user.id)).all())


def mailed(engine: Engine, user: User) -> int:
    """How many of the user's nudges were queued as e-mails."""
    with Session(engine) as db:
        return len(
            db.exec(
                select(EmailOutbox.id)
                .join(Nudge, col(Nudge.notification_id) == EmailOutbox.notification_id)
                .where(Nudge.user_id == user.id)
            ).all()
        )


def test_an_unknown_zone_is_not_nudged_at_night_in_honolulu_though_it_is_day_in_berlin(
    engine: Engine, db: Session
) -> None:
    _program, _pair, maya, theo = program_of(db, {"Maya": HONOLULU, "Theo": None, "Lena": BERLIN})

    # 23:00 in Honolulu is 10:00 in Berlin: daytime in one plausible zone is not enough.
    run_nudges(engine, now=at(HONOLULU, 13, 23), rules=RULES)

    assert nudged(engine, theo) == []
    assert nudged(engine, maya) == []  # known zone, 23:00: asleep too


def test_an_unknown_zone_whose_plausible_zones_share_no_daytime_is_nudged_in_app_only(
    engine: Engine, db: Session
) -> None:
    _program, _pair, maya, theo = program_of(db, {"Maya": HONOLULU, "Theo": None, "Lena": BERLIN})

    # Honolulu and Berlin share no hour of 09:00-20:00: no e-mail can be sure to arrive in
    # daytime, so Theo's nudge stays in the app, made in his partner's daytime.
    run_nudges(engine, now=at(HONOLULU, 14, 11), rules=RULES)

    assert nudged(engine, theo) == ["weekly"]
    assert mailed(engine, theo) == 0
    assert (nudged(engine, maya), mailed(engine, maya)) == (["weekly"], 1)


def test_an_unknown_zone_is_nudged_by_e_mail_when_it_is_daytime_in_every_plausible_zone(
    engine: Engine, db: Session
) -> None:
    _program, _pair, _maya, theo = program_of(db, {"Maya": LONDON, "Theo": None, "Lena": BERLIN})

    run_nudges(engine, now=at(LONDON, 14, 19, 30), rules=RULES)  # 20:30 in Berlin
    assert nudged(engine, theo) == []

    run_nudges(engine, now=at(LONDON, 14, 10), rules=RULES)  # 11:00 in Berlin
    assert (nudged(engine, theo), mailed(engine, theo)) == (["weekly"], 1)


def test_with_no_zone_known_in_the_program_the_nudge_is_in_app_only(
    engine: Engine, db: Session
) -> None:
    _program, _pair, maya, theo = program_of(db, {"Maya": None, "Theo": None})

    run_nudges(engine, now=at("UTC", 14, 3), rules=RULES)

    assert nudged(engine, theo) == nudged(engine, maya) == ["weekly"]
    assert mailed(engine, theo) == mailed(engine, maya) == 0


# --- the start date: one rule for both members, shown in each one's zone ----------------------


def published_at(
    db: Session,
    zones: dict[str, str | None],
    now: dt.datetime,
    program_start: dt.date = dt.date(2026, 1, 2),  # the program is already under way
) -> Pair:
    """Maya (mentor) and Theo (mentee) paired and published at `now`."""
    admin = make_user(db, display_name="Ada")
    group = make_group(db, admin=admin)
    program = make_program(db, admin=admin, group=group)
    program.start_date = program_start
    db.add(program)
    people = {name: make_user(db, display_name=name, timezone=zone) for name, zone in zones.items()}
    applied = {}
    for name, person in people.items():
        add_member(db, group, person)
        role = "mentor" if name == "Maya" else "mentee"
        applied[name] = make_application(db, program=program, user=person, role=role)
    pair = pairing.pair_by_hand(
        db,
        actor=admin,
        program_id=program.id or 0,
        mentee_enrollment_id=applied["Theo"].id or 0,
        mentor_enrollment_id=applied["Maya"].id or 0,
        today=TODAY,
    )
    pairing.publish_pairs(db, actor=admin, program_id=program.id or 0, now=now)
    db.commit()
    db.refresh(pair)
    return pair


def test_the_start_is_the_first_date_not_yet_begun_for_either_member(db: Session) -> None:
    # Friday 2 January, 20:00 in Honolulu: already Saturday 3 January, 20:00, in Kiritimati.
    now = at(HONOLULU, 2, 20, month=1)
    pair = published_at(db, {"Maya": KIRITIMATI, "Theo": HONOLULU}, now)

    # Saturday has begun in Kiritimati: the journey starts on Sunday, for both.
    assert pair.start_date == dt.date(2026, 1, 4)
    maya, theo = db.get(User, pair.mentor_id), db.get(User, pair.mentee_id)
    assert maya is not None and theo is not None
    for person, label in ((maya, "tomorrow, Sunday 4 January"), (theo, "Sunday 4 January")):
        view = journey.get_journey(db, actor=person, pair_id=pair.id or 0, now=now)
        assert (view.current_week, view.starts) == (0, label)
    # Sunday 00:00 in each member's own zone is week 1, day 1 for them.
    for person, zone in ((maya, KIRITIMATI), (theo, HONOLULU)):
        midnight = dt.datetime(2026, 1, 4, 0, 0, 1, tzinfo=zoneinfo.ZoneInfo(zone))
        view = journey.get_journey(db, actor=person, pair_id=pair.id or 0, now=midnight)
        assert (view.current_week, view.starts) == (1, "")


def test_an_unknown_zone_counts_as_the_easternmost(db: Session) -> None:
    now = at(HONOLULU, 2, 9, month=1)  # 19:00 UTC, already 3 January at UTC+14
    pair = published_at(db, {"Maya": HONOLULU, "Theo": None}, now)
    assert pair.start_date == dt.date(2026, 1, 4)


def test_a_program_start_still_ahead_for_both_is_kept(db: Session) -> None:
    now = at(HONOLULU, 2, 20, month=1)
    later = dt.date(2026, 1, 10)
    pair = published_at(db, {"Maya": KIRITIMATI, "Theo": HONOLULU}, now, program_start=later)
    assert pair.start_date == later


def test_the_dashboard_counts_a_pairs_weeks_as_its_members_do(db: Session) -> None:
    pair = published_at(db, {"Maya": HONOLULU, "Theo": HONOLULU}, at(HONOLULU, 2, 12, month=1))
    assert pair.start_date == dt.date(2026, 1, 3)
    admin = db.exec(select(User).where(User.display_name == "Ada")).first()
    assert admin is not None and admin.timezone == "UTC"

    # 3 January, 05:00 UTC: the start date for the admin, still 2 January in Honolulu.
    early_utc = dt.datetime(2026, 1, 3, 5, tzinfo=dt.UTC)
    theo = db.get(User, pair.mentee_id)
    assert theo is not None
    board = dashboard.get_dashboard(db, actor=admin, program_id=pair.program_id, now=early_utc)
    page = journey.get_journey(db, actor=theo, pair_id=pair.id or 0, now=early_utc)
    row = next(r for r in board.pairs if r.pair_id == pair.id)
    assert row.current_week == page.current_week == 0


# --- the 18+ check uses the earliest date on Earth -------------------------------------------


def test_nobody_registers_before_their_18th_birthday_has_begun_anywhere(db: Session) -> None:
    birthday = dt.date(2008, 1, 15)  # 18 on 15 January 2026
    # 05:00 UTC on the 15th is still the 14th at UTC-12 (and in Honolulu).
    with pytest.raises(ValidationError) as refused:
        accounts.sign_up(
            db,
            email="early@example.com",
            display_name="Early",
            password=PASSWORD,
            date_of_birth=birthday,
            now=dt.datetime(2026, 1, 15, 5, tzinfo=dt.UTC),
        )
    assert (refused.value.field, refused.value.message) == ("date_of_birth", accounts.UNDERAGE)

    user = accounts.sign_up(
        db,
        email="early@example.com",
        display_name="Early",
        password=PASSWORD,
        date_of_birth=birthday,
        now=dt.datetime(2026, 1, 15, 12, tzinfo=dt.UTC),  # 00:00 on the 15th at UTC-12
    )
    assert user.id is not None
