"""What every template shares: the logistics options and a compact way to write questions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

LANGUAGES = [
    "English",
    "Spanish",
    "French",
    "German",
    "Portuguese",
    "Italian",
    "Dutch",
    "Polish",
    "Arabic",
    "Hindi",
    "Mandarin Chinese",
    "Japanese",
    "Other",
]
TIMEZONES = ["Americas", "Europe/Africa", "Asia/Pacific"]
MEETING = ["Video call", "Phone call", "Chat", "In person"]


def question(
    qid: str,
    text: str,
    qtype: str,
    options: Sequence[str] = (),
    *,
    required: bool = True,
    match_key: str | None = None,
) -> dict[str, Any]:
    """One question document; the role is the id's prefix, and a match key means it
    is used for matching."""
    return {
        "id": qid,
        "role": qid.split("_", 1)[0],
        "text": text,
        "type": qtype,
        "options": list(options),
        "required": required,
        "for_matching": match_key is not None,
        "match_key": match_key,
    }


def where_and_how(role: str, *, languages_text: str) -> list[dict[str, Any]]:
    """The logistics every template matches on: languages, time zone band, meeting."""
    return [
        question(
            f"{role}_languages", languages_text, "multiple_choice", LANGUAGES, match_key="languages"
        ),
        question(
            f"{role}_timezone",
            "Where in the world are you?",
            "single_choice",
            TIMEZONES,
            match_key="timezone",
        ),
        question(
            f"{role}_meeting",
            "How would you like to meet? Choose all that work for you.",
            "multiple_choice",
            MEETING,
            match_key="meeting",
        ),
    ]
