"""The one rule every input cleaner of the services applies before its own checks."""

from __future__ import annotations

NUL = "\x00"


def storable(text: str) -> str:
    """`text` without NUL (U+0000): PostgreSQL text columns refuse it (SQLite would keep
    it), and no page ever shows it (chat.displayable drops it). Every other character is
    kept as sent, so "stored as sent" holds on both engines, NUL apart."""
    return text.replace(NUL, "")
