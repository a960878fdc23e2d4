"""The audit log: an append-only record of admin, moderation and security actions.

There is deliberately no function to change or remove an entry.
"""

from __future__ import annotations

import logging

from sqlmodel import Session

from mentor_app.models import AuditLog

DETAIL_MAX = 2000

# Refused attempts go to the server log, not the table: anyone can make them, as fast as
# they like, and a refusal rolls its transaction back anyway.
security_log = logging.getLogger("mentor_app.security")


def record(
    db: Session,
    *,
    actor_id: int | None,
    action: str,
    target_type: str | None = None,
    target_id: int | None = None,
    detail: str = "",
) -> AuditLog:
    entry = AuditLog(
        actor_id=actor_id,
        action=action,
        target_type=target_type,
        target_id=target_id,
        detail=detail[:DETAIL_MAX],
    )
    db.add(entry)
    db.flush()
    return entry


def refused(*, actor_id: int | None, action: str, target_type: str, target_id: int | None) -> None:
    """Log an attempt to reach what the actor may not (someone else's pair, another
    group's program, an admin or moderator action)."""
    security_log.warning("refused: user %s %s on %s %s", actor_id, action, target_type, target_id)
