"""Counted nouns from a count the browser holds: `mentor_app.wording.count`'s words."""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex.vars import Var

from mentor_app.wording import plural


def count_var(n: Var[Any], noun: str, plural_form: str | None = None) -> Var[str]:
    # String(n): the count may come as a number or as text; `.to(str)` only renames the
    # type, and `.to_string()` would quote a text ('"1"').
    number: Var[str] = Var(
        _js_expr=f"String({n})", _var_type=str, _var_data=n._get_all_var_data()
    ).to(str)
    one: Var[str] = number + (" " + noun)  # type: ignore[operator]
    many: Var[str] = number + (" " + plural(noun, plural_form))  # type: ignore[operator]
    return rx.cond(number == "1", one, many).to(str)
