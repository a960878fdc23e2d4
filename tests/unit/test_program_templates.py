"""The built-in templates: what admins start from must pass the wizard's own rules."""

from __future__ import annotations

import pytest

from mentor_app.program_templates import TEMPLATES, ProgramTemplate, get_template
from mentor_app.services import programs
from mentor_app.services.errors import NotFound

ALL = pytest.mark.parametrize("template", list(TEMPLATES.values()), ids=list(TEMPLATES))


def test_three_templates_are_offered_with_their_titles() -> None:
    assert {key: t.title for key, t in TEMPLATES.items()} == {
        "career_advancement": "Career advancement",
        "skills_development": "Skills development",
        "encouragement_support": "Encouragement and support",
    }


def test_unknown_template_is_not_found() -> None:
    with pytest.raises(NotFound):
        get_template("gardening")


@ALL
def test_template_questions_pass_the_wizards_validation_unchanged(
    template: ProgramTemplate,
) -> None:
    assert programs.validate_questions(list(template.questions)) == list(template.questions)


@ALL
def test_template_journey_passes_the_wizards_validation_unchanged(
    template: ProgramTemplate,
) -> None:
    assert programs.validate_journey(list(template.journey)) == list(template.journey)


@ALL
def test_template_lasts_6_to_12_weeks_with_one_step_a_week(template: ProgramTemplate) -> None:
    assert 6 <= template.default_length_weeks <= 12
    assert [s["week"] for s in template.journey] == list(
        range(1, template.default_length_weeks + 1)
    )


@ALL
def test_every_week_has_its_own_title_and_two_to_four_prompts(template: ProgramTemplate) -> None:
    titles = [s["title"] for s in template.journey]
    assert len(set(titles)) == len(titles)
    assert all(2 <= len(s["prompts"]) <= 4 for s in template.journey)


@ALL
def test_template_has_a_description_of_a_few_sentences(template: ProgramTemplate) -> None:
    assert 2 <= template.description.count(". ") + 1 <= 4


@ALL
def test_choice_questions_have_options_and_text_questions_none(
    template: ProgramTemplate,
) -> None:
    for q in template.questions:
        if q["type"] in programs.CHOICE_TYPES:
            assert 2 <= len(q["options"]) <= programs.OPTIONS_MAX, q["id"]
        else:
            assert q["options"] == [], q["id"]


@ALL
@pytest.mark.parametrize("role", ["mentor", "mentee"])
def test_each_role_answers_four_to_six_questions(template: ProgramTemplate, role: str) -> None:
    assert 4 <= sum(q["role"] == role for q in template.questions) <= 6


@ALL
def test_matching_questions_pair_a_mentor_question_with_a_mentee_one(
    template: ProgramTemplate,
) -> None:
    def matching(role: str) -> dict[str, dict]:
        return {
            q["match_key"]: q for q in template.questions if q["role"] == role and q["for_matching"]
        }

    mentor, mentee = matching("mentor"), matching("mentee")
    assert set(mentor) == set(mentee)
    assert {"areas", "languages", "timezone", "meeting"} <= set(mentor)
    for key in mentor:
        assert mentor[key]["type"] == mentee[key]["type"], key
        assert mentor[key]["options"] == mentee[key]["options"], key


@ALL
@pytest.mark.parametrize("role", ["mentor", "mentee"])
def test_each_role_says_why_in_a_long_answer_not_used_for_matching(
    template: ProgramTemplate, role: str
) -> None:
    assert any(
        q["role"] == role and q["type"] == "long_text" and q["required"] and not q["for_matching"]
        for q in template.questions
    )
