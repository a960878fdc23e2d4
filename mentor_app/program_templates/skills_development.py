"""Skills development: six weeks of practice and feedback on one chosen skill."""

from __future__ import annotations

from typing import Any

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
_LANGUAGES = [
    "English",
    "Spanish",
    "French",
    "German",
    "Portuguese",
    "Italian",
    "Dutch",
    "Polish",
    "Arabic",
    "Hindi",
    "Mandarin Chinese",
    "Japanese",
    "Other",
]
_TIMEZONES = ["Americas", "Europe/Africa", "Asia/Pacific"]
_MEETING = ["Video call", "Phone call", "Chat", "In person"]

QUESTIONS: list[dict[str, Any]] = [
    {
        "id": "mentor_areas",
        "role": "mentor",
        "text": "Which skills can you teach?",
        "type": "multiple_choice",
        "options": _SKILLS,
        "required": True,
        "for_matching": True,
        "match_key": "areas",
    },
    {
        "id": "mentor_experience",
        "role": "mentor",
        "text": "How would you describe your own level in those skills?",
        "type": "single_choice",
        "options": _LEVELS,
        "required": True,
        "for_matching": True,
        "match_key": "experience",
    },
    {
        "id": "mentor_languages",
        "role": "mentor",
        "text": "Which languages can you mentor in?",
        "type": "multiple_choice",
        "options": _LANGUAGES,
        "required": True,
        "for_matching": True,
        "match_key": "languages",
    },
    {
        "id": "mentor_timezone",
        "role": "mentor",
        "text": "Where in the world are you?",
        "type": "single_choice",
        "options": _TIMEZONES,
        "required": True,
        "for_matching": True,
        "match_key": "timezone",
    },
    {
        "id": "mentor_meeting",
        "role": "mentor",
        "text": "How would you like to meet? Choose all that work for you.",
        "type": "multiple_choice",
        "options": _MEETING,
        "required": True,
        "for_matching": True,
        "match_key": "meeting",
    },
    {
        "id": "mentor_why",
        "role": "mentor",
        "text": "Why do you want to mentor, and how did you learn the skill yourself?",
        "type": "long_text",
        "options": [],
        "required": True,
        "for_matching": False,
        "match_key": None,
    },
    {
        "id": "mentee_areas",
        "role": "mentee",
        "text": "Which skills would you like to develop?",
        "type": "multiple_choice",
        "options": _SKILLS,
        "required": True,
        "for_matching": True,
        "match_key": "areas",
    },
    {
        "id": "mentee_experience",
        "role": "mentee",
        "text": "What's your level in the skill you most want to work on?",
        "type": "single_choice",
        "options": _LEVELS,
        "required": True,
        "for_matching": True,
        "match_key": "experience",
    },
    {
        "id": "mentee_languages",
        "role": "mentee",
        "text": "Which languages are you comfortable being mentored in?",
        "type": "multiple_choice",
        "options": _LANGUAGES,
        "required": True,
        "for_matching": True,
        "match_key": "languages",
    },
    {
        "id": "mentee_timezone",
        "role": "mentee",
        "text": "Where in the world are you?",
        "type": "single_choice",
        "options": _TIMEZONES,
        "required": True,
        "for_matching": True,
        "match_key": "timezone",
    },
    {
        "id": "mentee_meeting",
        "role": "mentee",
        "text": "How would you like to meet? Choose all that work for you.",
        "type": "multiple_choice",
        "options": _MEETING,
        "required": True,
        "for_matching": True,
        "match_key": "meeting",
    },
    {
        "id": "mentee_hopes",
        "role": "mentee",
        "text": "What do you hope to get out of this program? Is there a project in mind?",
        "type": "long_text",
        "options": [],
        "required": True,
        "for_matching": False,
        "match_key": None,
    },
]
