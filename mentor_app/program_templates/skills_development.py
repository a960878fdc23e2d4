"""Skills development: six weeks of practice and feedback on one chosen skill."""

from __future__ import annotations

from typing import Any

from mentor_app.program_templates.common import question, where_and_how

KEY = "skills_development"
TITLE = "Skills development"
DESCRIPTION = (
    "Help members get better at one practical skill by learning alongside someone who "
    "already does it well. Each pair picks a small real project, and over six weeks the "
    "mentee practises, shows their work and gets specific feedback, so progress is "
    "something you can see rather than just talk about."
)
DEFAULT_LENGTH_WEEKS = 6

JOURNEY: list[dict[str, Any]] = [
    {
        "week": 1,
        "goal": True,
        "title": "First meeting and a skill goal",
        "focus": (
            "Get to know each other and pin down the skill. Agree what 'better' will look "
            "like in six weeks and choose a small project to practise on."
        ),
        "prompts": [
            "Mentee: describe the skill and a recent moment when you needed it.",
            "Rate your current level from 1 to 10 together, and describe what two points "
            "higher would look like in practice.",
            "Pick a small, real project you can work on across the six weeks.",
            "Agree when you'll meet and how you'll share work in between.",
        ],
    },
    {
        "week": 2,
        "title": "A learning plan",
        "focus": (
            "Turn the goal into a routine: the few resources worth using, regular practice "
            "time, and milestones for the project."
        ),
        "prompts": [
            "Mentor: recommend one resource (a book, course or tutorial) and say which parts "
            "to skip.",
            "Mentee: put practice time in your calendar: how many hours a week, and when.",
            "Split the project into weekly milestones up to week 6.",
        ],
    },
    {
        "week": 3,
        "title": "Practice and feedback",
        "focus": (
            "Look at real work, however rough. Specific, kind feedback on one piece of work "
            "teaches more than general advice."
        ),
        "prompts": [
            "Mentee: show something you made or did this week.",
            "Mentor: name one thing to keep doing and one thing to change.",
            "Find the mistake the mentee makes most often and agree a short drill for it.",
        ],
    },
    {
        "week": 4,
        "goal": True,
        "title": "Mid-point review",
        "focus": (
            "Halfway: compare with the starting point, find what's slowing progress down, "
            "and adjust the plan for the last two weeks."
        ),
        "prompts": [
            "Re-rate your level from 1 to 10 and compare it with week 1.",
            "What's in the way: time, materials, confidence or the plan itself?",
            "Adjust the milestones so the project can be finished by week 6.",
        ],
    },
    {
        "week": 5,
        "title": "Working like a practitioner",
        "focus": (
            "Go beyond technique to how experienced people think: their habits, their tools "
            "and how they judge when something is good enough."
        ),
        "prompts": [
            "Mentor: walk through how you'd approach the mentee's project, thinking aloud.",
            "Mentee: try one technique or tool the mentor uses and report back.",
            "Discuss how you tell good work from good-enough work in this skill.",
        ],
    },
    {
        "week": 6,
        "goal": True,
        "title": "Show, reflect and keep going",
        "focus": (
            "The mentee presents the project, finished or not. Name the progress made and "
            "plan how to keep learning after the program."
        ),
        "prompts": [
            "Mentee: present your project in five minutes, as you would to a colleague.",
            "List three things you can do now that you couldn't in week 1.",
            "Plan the next step: one resource, one project and one person to learn from.",
        ],
    },
]

_SKILLS = [
    "Writing and editing",
    "Public speaking and presenting",
    "Spreadsheets and data",
    "Programming",
    "Design",
    "Project management",
    "Marketing and social media",
    "Budgeting and personal finance",
    "Learning a language",
    "Photography and video",
    "Crafts and making",
]
_LEVELS = ["Beginner", "Some experience", "Confident", "Advanced", "Expert"]
QUESTIONS: list[dict[str, Any]] = [
    question(
        "mentor_areas", "Which skills can you teach?", "multiple_choice", _SKILLS, match_key="areas"
    ),
    question(
        "mentor_experience",
        "How would you describe your own level in those skills?",
        "single_choice",
        _LEVELS,
        match_key="experience",
    ),
    *where_and_how("mentor", languages_text="Which languages can you mentor in?"),
    question(
        "mentor_why",
        "Why do you want to mentor, and how did you learn the skill yourself?",
        "long_text",
    ),
    question(
        "mentee_areas",
        "Which skills would you like to develop?",
        "multiple_choice",
        _SKILLS,
        match_key="areas",
    ),
    question(
        "mentee_experience",
        "What's your level in the skill you most want to work on?",
        "single_choice",
        _LEVELS,
        match_key="experience",
    ),
    *where_and_how(
        "mentee", languages_text="Which languages are you comfortable being mentored in?"
    ),
    question(
        "mentee_hopes",
        "What do you hope to get out of this program? Is there a project in mind?",
        "long_text",
    ),
]
