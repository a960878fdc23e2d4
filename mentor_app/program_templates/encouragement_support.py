"""Encouragement and support: ten weeks of peer support through a demanding season."""

from __future__ import annotations

from typing import Any

from mentor_app.program_templates.common import question, where_and_how

KEY = "encouragement_support"
TITLE = "Encouragement and support"
DESCRIPTION = (
    "Pair members going through a demanding season, such as new parenthood, a life change "
    "or a stretch of low confidence, with someone who has been there and wants to listen. "
    "Over ten weeks, pairs look at what takes and gives energy, build small routines and a "
    "wider support network, and celebrate progress. This is peer support, not therapy or "
    "crisis care."
)
DEFAULT_LENGTH_WEEKS = 10

JOURNEY: list[dict[str, Any]] = [
    {
        "week": 1,
        "goal": True,
        "title": "Meeting each other and setting the tone",
        "focus": (
            "Get to know each other and agree how you'll look after these conversations. "
            "Be clear that this is peer support, and know where to turn for professional help."
        ),
        "prompts": [
            "Share a little about your life right now and what brought you to the program.",
            "Agree that what's said stays between you, and how to say if you need to skip a week.",
            "Mentee: name one thing you'd like to feel or handle differently by week 10.",
            "Note together a local helpline or service to contact if things ever feel too heavy.",
        ],
    },
    {
        "week": 2,
        "title": "What's on your plate",
        "focus": (
            "Map what is taking the mentee's energy right now and what gives it back. "
            "The mentor listens first and advises second."
        ),
        "prompts": [
            "Mentee: list what drains your energy and what restores it.",
            "Mentor: before offering advice, ask 'what would help most right now?'",
            "Choose one small thing to drop, delay or share with someone this week.",
        ],
    },
    {
        "week": 3,
        "title": "Your support network",
        "focus": (
            "Nobody should carry everything alone, and one mentor can't be everything. "
            "Look at who else is, or could be, there for the mentee."
        ),
        "prompts": [
            "List the people, groups and services you can lean on, and who you'd like to add.",
            "Mentor: share how you built support during a hard season of your own.",
            "Reach out to one person this week, even if only to say hello.",
        ],
    },
    {
        "week": 4,
        "title": "Looking after yourself",
        "focus": (
            "Talk about rest, sleep, movement and small routines. Aim for one change small "
            "enough to survive a bad week."
        ),
        "prompts": [
            "Mentee: walk through a normal day and find a 15-minute pocket for yourself.",
            "Choose one small routine to try this week: a walk, an earlier night, "
            "a phone-free meal.",
            "Mentor: which habit helped you most, and what did you have to let go of?",
        ],
    },
    {
        "week": 5,
        "goal": True,
        "title": "Mid-point check-in",
        "focus": (
            "Halfway: check how the conversations feel for both of you and what has shifted, "
            "then choose what to focus on in the second half."
        ),
        "prompts": [
            "Each say how these conversations are going for you and what you'd change.",
            "Look back at the week-1 hope: has anything shifted, even slightly?",
            "Pick the one topic you most want to spend the next five weeks on.",
        ],
    },
    {
        "week": 6,
        "title": "Setbacks and self-talk",
        "focus": (
            "Setbacks are part of any change. Notice how the mentee talks to themselves "
            "when things go wrong, and practise a kinder, more useful voice."
        ),
        "prompts": [
            "Mentee: recall a recent setback and what you told yourself about it.",
            "Together, rewrite that thought the way you'd say it to a friend.",
            "Mentor: share a setback of your own and what helped you move on.",
        ],
    },
    {
        "week": 7,
        "title": "Boundaries and asking for help",
        "focus": (
            "Saying no and asking for help are skills that can be practised. Rehearse one "
            "real situation so it's easier to do for real."
        ),
        "prompts": [
            "Mentee: name a situation where you'd like to say no or ask for help.",
            "Practise the words out loud while the mentor plays the other person.",
            "Agree a low-stakes moment this week to try it, and share how it went next time.",
        ],
    },
    {
        "week": 8,
        "title": "Celebrating progress",
        "focus": (
            "Progress in hard seasons is easy to overlook. Take time to notice and name it, "
            "however small."
        ),
        "prompts": [
            "Mentee: list three things from recent weeks that took effort, big or small.",
            "Mentor: name a change you've noticed in the mentee since week 1.",
            "Plan a small way to mark the progress.",
        ],
    },
    {
        "week": 9,
        "title": "Planning for after the program",
        "focus": (
            "Decide what to keep once the weekly meetings end, and prepare for the moments "
            "when old patterns return."
        ),
        "prompts": [
            "Which routines and supports do you want to keep after week 10?",
            "Mentee: what might get in the way, and what will you do when it does?",
            "Name who in your own network could take on part of the mentor's role.",
        ],
    },
    {
        "week": 10,
        "goal": True,
        "title": "Wrap-up and goodbye",
        "focus": (
            "Close the program well: look back at the journey, say what each of you takes "
            "away, and agree how, or whether, to stay in touch."
        ),
        "prompts": [
            "Each share what you'll take away from these ten weeks.",
            "Mentee: write yourself a short note to read in three months.",
            "Decide together whether and how you'll stay in touch, and say thank you.",
        ],
    },
]

_AREAS = [
    "New parenthood",
    "Parenting young children",
    "Parenting teenagers",
    "Balancing work and family",
    "Stress and feeling overwhelmed",
    "Confidence and self-esteem",
    "Loneliness and making connections",
    "Life changes (moving, separation, new job)",
    "Healthy routines",
]
QUESTIONS: list[dict[str, Any]] = [
    question(
        "mentor_areas",
        "Which areas can you offer support with from your own experience?",
        "multiple_choice",
        _AREAS,
        match_key="areas",
    ),
    *where_and_how("mentor", languages_text="Which languages can you talk in?"),
    question(
        "mentor_why",
        "Why do you want to mentor, and what helped you through a hard season?",
        "long_text",
    ),
    question(
        "mentor_about",
        "Anything else your mentee should know about you? (optional)",
        "short_text",
        required=False,
    ),
    question(
        "mentee_areas",
        "What would you like support with?",
        "multiple_choice",
        _AREAS,
        match_key="areas",
    ),
    *where_and_how("mentee", languages_text="Which languages are you comfortable talking in?"),
    question("mentee_hopes", "What do you hope to get out of this program?", "long_text"),
    question(
        "mentee_avoid",
        "Is there anything you'd rather not talk about? (optional)",
        "short_text",
        required=False,
    ),
]
