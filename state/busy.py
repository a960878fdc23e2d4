"""A dialog's submit, its button busy until the act is done: the handler sets the state's
flag, yields so that the page shows the button busy (and takes no second press) before the
service is called, and clears the flag whatever the act's outcome."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


def while_busy(state: Any, flag: str, act: Callable[[], T]) -> Iterator[T | None]:
    """For a sync generator handler (its steps run in a handler thread, state.off_loop):
    `yield from while_busy(self, "ending", lambda: self._end_pair(form))`."""
    setattr(state, flag, True)
    yield None
    try:
        outcome = act()
    finally:
        setattr(state, flag, False)
    yield outcome


async def while_busy_async(
    state: Any, flag: str, act: Callable[[], Awaitable[T]]
) -> AsyncIterator[T | None]:
    """For an async generator handler: `async for step in while_busy_async(...): yield step`."""
    setattr(state, flag, True)
    yield None
    try:
        outcome = await act()
    finally:
        setattr(state, flag, False)
    yield outcome
