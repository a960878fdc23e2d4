"""The stylesheet keeps the Radix colours the app names (mentor_app/lean_styles.py)."""

from __future__ import annotations

import re
from pathlib import Path

from mentor_app.lean_styles import COLORS, RADIX_COLORS, radix_imports

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("mentor_app", "components", "state", "assets")


def colors_named_in(text: str) -> set[str]:
    """Radix colours a source names: as a quoted string (a colour scheme, a map of them)
    or as a CSS variable (`var(--red-11)`)."""
    quoted = set(re.findall(r"[\"']([a-z]+)[\"']", text))
    variables = set(re.findall(r"--([a-z]+)-a?\d", text))
    return (quoted | variables) & set(RADIX_COLORS)


def test_every_colour_the_sources_name_is_kept() -> None:
    named: set[str] = set()
    for folder in SOURCES:
        for path in (ROOT / folder).rglob("*"):
            if path.suffix in (".py", ".css") and path.name != "lean_styles.py":
                named |= colors_named_in(path.read_text())
    assert named, "no colour found: the scan is broken"
    assert named <= set(COLORS), sorted(named - set(COLORS))


def test_a_colour_scheme_or_a_variable_counts_as_named() -> None:
    assert colors_named_in('rx.badge("x", color_scheme="crimson")') == {"crimson"}
    assert colors_named_in("color: var(--jade-a11);") == {"jade"}
    assert colors_named_in("a gray day, 'teal'") == {"teal"}


def test_the_root_stylesheet_imports_the_base_each_colour_and_the_components() -> None:
    imports = radix_imports(("gray", "teal"))
    assert imports.splitlines() == [
        '@import "@radix-ui/themes/tokens/base.css" layer(components);',
        '@import "@radix-ui/themes/tokens/colors/gray.css" layer(components);',
        '@import "@radix-ui/themes/tokens/colors/teal.css" layer(components);',
        '@import "@radix-ui/themes/components.css" layer(components);',
        '@import "@radix-ui/themes/utilities.css" layer(components);',
    ]
