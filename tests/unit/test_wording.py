"""Counted nouns are written one way: "1 pair", "2 pairs" (mentor_app/wording.py)."""

from __future__ import annotations

import pytest

from mentor_app.wording import count


@pytest.mark.parametrize(
    "n, noun, plural_form, text",
    [
        (0, "pair", None, "0 pairs"),
        (1, "pair", None, "1 pair"),
        (2, "pair", None, "2 pairs"),
        (1, "draft pair", None, "1 draft pair"),
        (1536, "draft pair", None, "1536 draft pairs"),
        (1, "reply", "replies", "1 reply"),
        (3, "reply", "replies", "3 replies"),
    ],
)
def test_a_count_names_its_noun_in_the_right_number(
    n: int, noun: str, plural_form: str | None, text: str
) -> None:
    assert count(n, noun, plural_form) == text
