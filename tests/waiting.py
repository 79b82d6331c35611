"""The one way tests wait for a condition: polled, bounded, failing with what was awaited."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def eventually(
    check: Callable[[], object],
    what: str = "condition",
    timeout: float = 3.0,
    poll: float = 0.01,
) -> None:
    """Wait until ``check()`` holds; fail the test after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            raise AssertionError(f"{what} not reached in {timeout:g} s")
        await asyncio.sleep(poll)
