"""Career advancement: eight weeks from a clear goal to a 90-day plan."""

from __future__ import annotations

from typing import Any

from mentor_app.program_templates.common import question, where_and_how

KEY = "career_advancement"
TITLE = "Career advancement"
DESCRIPTION = (
    "Pair people who want to take the next step in their careers with members who have "
    "walked a similar road. Over eight weekly conversations, mentees set a concrete goal, "
    "sharpen how they present their work, grow their network and practise the hard "
    "conversations, and leave with a 90-day plan of their own."
)
DEFAULT_LENGTH_WEEKS = 8

JOURNEY: list[dict[str, Any]] = [
    {
        "week": 1,
        "goal": True,
        "title": "First meeting and goals",
        "focus": (
            "Get to know each other and agree how you will work together. Leave with one "
            "career goal for these eight weeks that the mentee could show someone at the end."
        ),
        "prompts": [
            "Each tell your career story in five minutes: the turning points, not the job titles.",
            "Mentee: write down one goal for the eight weeks and what 'done' would look like.",
            "Agree when and how you'll meet, how to reschedule, and that what's said stays "
            "between you.",
        ],
    },
    {
        "week": 2,
        "title": "Strengths and what matters to you",
        "focus": (
            "Look at what the mentee is already good at and what they want from work. "
            "A next step that fits both is far easier to take and to keep."
        ),
        "prompts": [
            "Mentee: bring three achievements you're proud of and the skill each one shows.",
            "Mentor: reflect back a strength you heard that the mentee didn't name.",
            "Rank what you want from your next role: pay, growth, impact, flexibility, people.",
        ],
    },
    {
        "week": 3,
        "title": "Mapping the path to the next role",
        "focus": (
            "Make the next step concrete: which roles, what they ask for, and how people "
            "really get there. Compare what the mentee has with what is missing."
        ),
        "prompts": [
            "Mentee: bring two job posts for the role you want; mark what you have and what's "
            "missing.",
            "Mentor: describe how people actually moved into that role where you've worked.",
            "Name one person the mentee could ask for a 20-minute informational chat.",
        ],
    },
    {
        "week": 4,
        "title": "Telling your story",
        "focus": (
            "Work on how the mentee presents themselves on paper and in person. "
            "Outcomes and evidence beat lists of duties."
        ),
        "prompts": [
            "Mentee: share your CV or profile; mentor suggests three specific edits.",
            "Practise a 60-second introduction out loud and give each other honest feedback.",
            "Rewrite one past project as an outcome: what changed, for whom, by how much.",
        ],
    },
    {
        "week": 5,
        "goal": True,
        "title": "Mid-point review",
        "focus": (
            "Halfway through: check progress against the week-1 goal and how the mentoring "
            "itself is going. Change the plan now rather than at the end."
        ),
        "prompts": [
            "Score progress towards your goal from 1 to 10 and say what would make it one "
            "point higher.",
            "Each say one thing that works in these meetings and one thing to change.",
            "Adjust the goal or the plan for the last three weeks and write it down.",
        ],
    },
    {
        "week": 6,
        "title": "Network and advocates",
        "focus": (
            "Careers move through people. Talk about building relationships that last, "
            "and about advocates who speak up for you when you're not in the room."
        ),
        "prompts": [
            "List five people who know your work and pick two to reconnect with this week.",
            "Mentor: share a time a sponsor or advocate changed your path, and how it started.",
            "Draft together a short message asking someone for a conversation.",
        ],
    },
    {
        "week": 7,
        "title": "The hard conversations",
        "focus": (
            "Prepare for the conversation the mentee finds hardest: asking for a promotion "
            "or a raise, a tough interview question, or a change of role."
        ),
        "prompts": [
            "Role-play the conversation; the mentor plays the manager or interviewer.",
            "Gather the evidence: three results you delivered and who benefited.",
            "Agree on the opening sentence and on a date to have the real conversation.",
        ],
    },
    {
        "week": 8,
        "goal": True,
        "title": "Wrap-up and next steps",
        "focus": (
            "Look back at what changed since week 1 and turn the momentum into a plan the "
            "mentee owns after the program ends."
        ),
        "prompts": [
            "Compare where you are with your week-1 goal: what moved, what didn't, and why.",
            "Write a 90-day plan with three actions, each with a date.",
            "Decide whether and how you'll stay in touch, and thank each other for something "
            "specific.",
        ],
    },
]

_AREAS = [
    "Getting promoted",
    "Changing careers",
    "Job search and interviews",
    "CV and professional profile",
    "Leadership and managing people",
    "Negotiating pay",
    "Networking",
    "Returning to work after a break",
    "Starting a business or freelancing",
]
_EXPERIENCE = [
    "Less than 2 years",
    "2 to 5 years",
    "6 to 10 years",
    "11 to 20 years",
    "More than 20 years",
]
QUESTIONS: list[dict[str, Any]] = [
    question(
        "mentor_areas",
        "Which areas can you help with?",
        "multiple_choice",
        _AREAS,
        match_key="areas",
    ),
    question(
        "mentor_experience",
        "How many years of professional experience do you have?",
        "single_choice",
        _EXPERIENCE,
        match_key="experience",
    ),
    *where_and_how("mentor", languages_text="Which languages can you mentor in?"),
    question(
        "mentor_why",
        "Why do you want to mentor, and what have you learnt that you'd like to pass on?",
        "long_text",
    ),
    question(
        "mentee_areas",
        "Which areas would you like help with?",
        "multiple_choice",
        _AREAS,
        match_key="areas",
    ),
    question(
        "mentee_experience",
        "How many years of professional experience do you have?",
        "single_choice",
        _EXPERIENCE,
        match_key="experience",
    ),
    *where_and_how(
        "mentee", languages_text="Which languages are you comfortable being mentored in?"
    ),
    question("mentee_hopes", "What do you hope to get out of this program?", "long_text"),
]
