"""The built-in program templates an admin starts the wizard from.

Each template is data in its own module; `services.programs` copies one into a
draft and validates it with the same rules as an admin's edits.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

from mentor_app.program_templates import (
    career_advancement,
    encouragement_support,
    skills_development,
)
from mentor_app.services.errors import NotFound


@dataclass(frozen=True)
class ProgramTemplate:
    key: str
    title: str
    description: str
    default_length_weeks: int
    # Shared by every caller: copy (copy.deepcopy) before changing anything.
    journey: tuple[dict[str, Any], ...]
    questions: tuple[dict[str, Any], ...]


def _from_module(module: ModuleType) -> ProgramTemplate:
    return ProgramTemplate(
        key=module.KEY,
        title=module.TITLE,
        description=module.DESCRIPTION,
        default_length_weeks=module.DEFAULT_LENGTH_WEEKS,
        journey=tuple(module.JOURNEY),
        questions=tuple(module.QUESTIONS),
    )


# In the order the wizard offers them.
TEMPLATES: dict[str, ProgramTemplate] = {
    t.key: t
    for t in (
        _from_module(career_advancement),
        _from_module(skills_development),
        _from_module(encouragement_support),
    )
}


def get_template(key: str) -> ProgramTemplate:
    template = TEMPLATES.get(key)
    if template is None:
        raise NotFound("That template doesn't exist.")
    return template
