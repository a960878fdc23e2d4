"""The audit log: an append-only record of admin, moderation and security actions.

There is deliberately no function to change or remove an entry.
"""

from __future__ import annotations

from sqlmodel import Session

from mentor_app.models import AuditLog

DETAIL_MAX = 2000


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
