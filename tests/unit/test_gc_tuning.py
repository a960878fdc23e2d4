"""A worker's start-up objects leave the collector's full walks (mentor_app.gc_tuning)."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator

import pytest

from mentor_app.gc_tuning import gc_freeze_enabled, gc_freeze_lifespan


@pytest.fixture(autouse=True)
def _unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # the rest of the session's tests collect as before


async def _serve() -> tuple[int, int]:
    async with gc_freeze_lifespan() as frozen:
        return frozen, len(gc.get_objects())  # what a full collection walks


def test_the_lifespan_takes_the_start_ups_objects_out_of_the_full_collections_walk() -> None:
    import mentor_app.services.dashboard  # noqa: F401 - modules a worker has loaded

    walked_before = len(gc.get_objects())
    frozen, walked_after = asyncio.run(_serve())
    assert frozen > 0.9 * walked_before
    assert walked_after < 0.1 * walked_before, (walked_before, walked_after)


def test_it_can_be_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MENTOR_GC_FREEZE", "off")
    frozen, _ = asyncio.run(_serve())
    assert frozen == 0 and gc.get_freeze_count() == 0
    assert gc_freeze_enabled({}) and not gc_freeze_enabled({"MENTOR_GC_FREEZE": "no"})


# That the app registers it: tests/unit/test_scheduler.py (importing the app registers its
# jobs, which that module's tests count).
