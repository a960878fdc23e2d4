"""Pages import the Radix Themes components they use, not the whole of Radix Themes.

Reflex registers every plugin's npm package as a "bundled library": `window.__reflex` maps
its name to the whole module, so that components sent from the backend at run time
(`rx.dynamic`, `ComponentState`) can find their JavaScript. `frontend_lazy_bundled_libraries`
makes that an `import("@radix-ui/themes")` in the root, loaded on demand, but a dynamic
import of a package's index still needs every export of the index: the bundler cannot
tree-shake it, so every page's shared chunk carried all of Radix Themes (the theme panel,
context menus, segmented controls...: 470 KB of script before compression on the pair
page, 0.3 s of a 4x slower CPU to evaluate).

The app sends no component at run time (every page is compiled), so `LeanScriptsPlugin`
takes Radix Themes out of the bundled libraries before the root is compiled. Its npm
package stays a dependency (`get_frontend_dependencies` of Radix's own plugin), and the
pages' named imports (`import {Badge, Button} from "@radix-ui/themes"`) stay as they are.

Tree-shaken, the components a page uses were split into a dozen small chunks (a card, a
dialog, a table...) that a page's own script imports: Chromium learns of them only once
that script has arrived, a third round trip before a signed-in page (drawn by its scripts)
can paint. `UI_GROUP` puts the Radix and lucide modules the app uses into one chunk, which
the root imports (its `Theme`), so every page's HTML preloads it with the root's.

`tests/e2e/test_first_load.py` checks the built scripts.
"""

from __future__ import annotations

from typing import Any

from reflex_base.plugins.base import Plugin
from reflex_base.registry import RegistrationContext

# Rolldown's code-splitting group for the UI libraries' modules (see the module's docstring).
UI_GROUP = """
            {
              test: /node_modules[\\\\/](@radix-ui|lucide-react)[\\\\/]/,
              name: "ui",
            },"""
GROUPS = "groups: ["

# Libraries no component of the app needs at run time (see the module's docstring).
NOT_AT_RUN_TIME = ("@radix-ui/themes",)


def drop_run_time_libraries(libraries: list[str]) -> None:
    """Take NOT_AT_RUN_TIME out of a list of bundled libraries, in place."""
    libraries[:] = [name for name in libraries if name not in NOT_AT_RUN_TIME]


def with_ui_group(vite_config: str) -> str:
    """Reflex's `vite.config.js` with UI_GROUP first among its code-splitting groups."""
    if vite_config.count(GROUPS) != 1:
        msg = "vite.config.js has no single code-splitting `groups: [` to add the UI group to"
        raise ValueError(msg)
    return vite_config.replace(GROUPS, GROUPS + UI_GROUP)


class LeanScriptsPlugin(Plugin):
    """Runs after the pages are evaluated and before the root is compiled (`pre_compile`)."""

    def pre_compile(self, **context: Any) -> None:
        drop_run_time_libraries(RegistrationContext.ensure_context().bundled_libraries)
        context["add_modify_task"]("vite.config.js", with_ui_group)
