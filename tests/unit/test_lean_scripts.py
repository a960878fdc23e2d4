"""The build leaves Radix Themes out of the run-time libraries and groups the UI modules
into one chunk (mentor_app/lean_scripts.py); the built scripts are checked in
tests/e2e/test_first_load.py."""

from __future__ import annotations

import pytest

from mentor_app.lean_scripts import UI_GROUP, drop_run_time_libraries, with_ui_group

# The code-splitting part of the vite.config.js Reflex 0.10 writes.
REFLEX_VITE_CONFIG = """
      output: {
        codeSplitting: {
          groups: [
            {
              test: /env.json/,
              name: "reflex-env",
            },
          ],
        },
      },
"""


def test_radix_themes_is_not_a_run_time_library_and_the_others_stay() -> None:
    libraries = ["react", "@emotion/react", "@radix-ui/themes", "$/utils/state"]
    drop_run_time_libraries(libraries)
    assert libraries == ["react", "@emotion/react", "$/utils/state"]


def test_the_ui_group_comes_first_and_reflex_s_group_stays() -> None:
    config = with_ui_group(REFLEX_VITE_CONFIG)
    assert config.index(UI_GROUP) < config.index("reflex-env")
    assert config.replace(UI_GROUP, "") == REFLEX_VITE_CONFIG
    assert r"test: /node_modules[\\/](@radix-ui|lucide-react)[\\/]/," in config


def test_a_vite_config_without_groups_stops_the_build() -> None:
    with pytest.raises(ValueError, match="code-splitting"):
        with_ui_group("export default defineConfig({});")
