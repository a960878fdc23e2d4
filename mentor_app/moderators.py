"""Who the site moderators are, set by the operator from the command line.

python -m mentor_app.moderators grant EMAIL
python -m mentor_app.moderators revoke EMAIL
python -m mentor_app.moderators list
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from sqlalchemy.engine import Engine

from mentor_app.db import session_scope
from mentor_app.services import moderation
from mentor_app.services.errors import NotFound


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mentor_app.moderators",
        description="Grant, revoke or list site moderators (they handle reported messages).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (
        ("grant", "make the account with this e-mail a site moderator"),
        ("revoke", "stop the account with this e-mail being a site moderator"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("email")
    commands.add_parser("list", help="list the site moderators")
    return parser


def main(argv: Sequence[str] | None = None, *, engine: Engine | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "list":
        with session_scope(engine) as db:
            people = [(u.email, u.display_name, u.status) for u in moderation.list_moderators(db)]
        if not people:
            print("There are no site moderators.")
        for email, name, status in people:
            print(f"{email}  {name}" + ("  (suspended)" if status != "active" else ""))
        return 0
    grant = args.command == "grant"
    try:
        with session_scope(engine) as db:
            user = moderation.set_site_moderator(db, email=args.email, value=grant)
            email = user.email
    except NotFound as error:
        print(error.message, file=sys.stderr)
        return 1
    if grant:
        print(f"{email} is now a site moderator.")
    else:
        print(f"{email} is no longer a site moderator.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
