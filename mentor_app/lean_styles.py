"""The global stylesheet with the Radix Themes colours the app uses, not all 31.

Radix Themes' `styles.css` is its tokens, components and utilities in one file, with the
scales of all 31 colours (light, dark and display-p3), 150 KiB of the 680 KiB stylesheet
every page waits for before its first paint. Radix publishes the same parts one by one
(`tokens/base.css`, `tokens/colors/<name>.css`, `components.css`, `utilities.css`), so the
Tailwind plugin here writes the root stylesheet with the base tokens, the colours in
`COLORS` and the rest unchanged, in the same cascade layer as before.

`COLORS` must hold every colour the app names: the theme's accent and its gray (`sage`
goes with `teal`), and every `color_scheme` or `var(--<colour>-N)` in the sources.
`tests/unit/test_lean_styles.py` checks that against the sources and the build.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reflex_base.constants import Dirs
from reflex_base.plugins import tailwind_v4

ACCENT = "teal"
# The gray Radix pairs with teal ("auto" gray): the pages carry data-gray-color="sage".
GRAY = "sage"
COLORS = ("gray", GRAY, ACCENT, "tomato", "red", "orange", "amber", "green", "blue")
# Every colour Radix Themes 3 has a scale for.
RADIX_COLORS = (
    "gray", "mauve", "slate", "sage", "olive", "sand", "tomato", "red", "ruby", "crimson",
    "pink", "plum", "purple", "violet", "iris", "indigo", "blue", "cyan", "teal", "jade",
    "green", "grass", "brown", "orange", "sky", "mint", "lime", "yellow", "amber", "gold",
    "bronze",
)  # fmt: skip
THEMES = "@radix-ui/themes"


def radix_imports(colors: tuple[str, ...] = COLORS) -> str:
    sheets = [
        f"{THEMES}/tokens/base.css",
        *(f"{THEMES}/tokens/colors/{name}.css" for name in colors),
        f"{THEMES}/components.css",
        f"{THEMES}/utilities.css",
    ]
    return "".join(f'@import "{sheet}" layer(components);\n' for sheet in sheets)


def compile_root_style(include_radix_themes: bool = True) -> tuple[str, str]:
    """Tailwind's root stylesheet (`styles/tailwind.css`), with Radix Themes in parts."""
    return str(
        Path(Dirs.STYLES) / tailwind_v4.Constants.ROOT_STYLE_PATH
    ), tailwind_v4.Constants.ROOT_STYLE_CONTENT.format(
        radix_import=radix_imports() if include_radix_themes else ""
    )


@dataclasses.dataclass
class LeanTailwindPlugin(tailwind_v4.TailwindV4Plugin):
    """Reflex's Tailwind v4 plugin, whose root stylesheet imports Radix Themes in parts: its
    own tasks, with `compile_root_style` above in place of Reflex's."""

    def pre_compile(self, **context: Any) -> None:
        add_save_task = context["add_save_task"]

        def add(task: Callable[..., Any], /, *args: Any, **kwargs: Any) -> None:
            lean = compile_root_style if task is tailwind_v4.compile_root_style else task
            add_save_task(lean, *args, **kwargs)

        super().pre_compile(**{**context, "add_save_task": add})
