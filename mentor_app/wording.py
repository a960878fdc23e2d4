"""Counted nouns, written one way everywhere: "1 pair", "2 pairs", "0 pairs".

`count` for text made on the server (states, services' audit details, e-mails); for a
count that is only known in the browser, `components.text.count_var` writes the same
words from a Var. A noun whose plural is not the noun and an "s" says so
(`count(n, "reply", "replies")`).
"""

from __future__ import annotations


def plural(noun: str, plural_form: str | None = None) -> str:
    return plural_form if plural_form is not None else noun + "s"


def count(n: int, noun: str, plural_form: str | None = None) -> str:
    return f"{n} {noun if n == 1 else plural(noun, plural_form)}"
