"""Linking a tab to a shared state is an act that needs the service's proof of access: it
happens in state/linked.py alone, which asks for that proof (DESIGN.md, rule 4)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP_CODE = ("mentor_app", "state", "components")
THE_PLACE = ROOT / "state" / "linked.py"


def _links(path: Path) -> list[int]:
    """Lines where `path` calls `_link_to(...)`, as a method or a name."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            called = node.func
            name = called.attr if isinstance(called, ast.Attribute) else getattr(called, "id", "")
            if name == "_link_to":
                found.append(node.lineno)
    return found


def test_shared_states_are_linked_only_in_state_linked() -> None:
    outside = [
        f"{path.relative_to(ROOT)}:{line}"
        for folder in APP_CODE
        for path in sorted((ROOT / folder).rglob("*.py"))
        if path != THE_PLACE
        for line in _links(path)
    ]
    assert outside == [], "_link_to( outside state/linked.py: " + ", ".join(outside)
