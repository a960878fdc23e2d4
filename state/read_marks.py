"""The chat's read marks after each send, written in batches.

A send makes the sender's conversation read, and the partner's too when one of the tabs
the message was pushed to is theirs (`presence.after_send`). Written per message, that was
a transaction and its commit for every message, the largest single cost of a send under
load. Here each send notes its mark on the event loop (no database); the marks of the
next FLUSH_S seconds are written together, by `presence.after_sends`, in one transaction
in a handler thread: three statements and one commit however many messages.

A mark is best effort, as before: one that cannot be written is logged, and a worker that
dies loses at most FLUSH_S of them. That only matters to the away notice, which waits
AWAY_AFTER (fifteen minutes) before it tells anyone of an unread message.
"""

from __future__ import annotations

import asyncio
import logging
import os

from sqlalchemy.exc import OperationalError

from mentor_app.db import session_scope
from mentor_app.models import utcnow
from mentor_app.services import presence
from mentor_app.services.access import PairAccess
from state.off_loop import in_thread, soon

logger = logging.getLogger(__name__)

FLUSH_S = float(os.environ.get("MENTOR_READ_MARKS_FLUSH_S", "0.5"))

# Marks waiting for the next write, one per (pair, sender): a later send replaces the
# earlier one's time and adds its tabs. Only ever touched on the app's event loop.
_pending: dict[tuple[int, int], presence.SendMark] = {}
_flush_due = False


def note_send(access: PairAccess, session_keys: frozenset[str]) -> None:
    """A message from `access`'s member was pushed to the tabs of these sessions just now.
    Call it on the event loop (from an async handler)."""
    global _flush_due
    key = (access.pair_id, access.actor_id)
    earlier = _pending.get(key)
    keys = session_keys | earlier.session_keys if earlier else session_keys
    _pending[key] = presence.SendMark(access.pair_id, access.actor_id, keys, utcnow())
    if not _flush_due:
        _flush_due = True
        soon(_flush_later)


async def _flush_later() -> None:
    global _flush_due
    await asyncio.sleep(FLUSH_S)
    marks = list(_pending.values())
    _pending.clear()
    _flush_due = False
    await in_thread(write_marks, marks)


def write_marks(marks: list[presence.SendMark]) -> None:
    try:
        with session_scope() as db:
            presence.after_sends(db, marks=marks)
    except OperationalError:
        logger.warning("Could not note %s chat sends as read", len(marks), exc_info=True)
