"""The one way tests wait for a condition: polled, bounded, failing with what was awaited.

Nothing else under ``tests/`` polls. A test that must show that something did *not*
happen writes a marker after it, waits here for the marker, then asserts that nothing
else came; a test that lets time pass as part of its scenario (a timeout to expire, a
source's pace) says so on that line with a ``# scenario:`` comment.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable


async def _holds(check: Callable[[], object]) -> bool:
    result = check()
    if inspect.isawaitable(result):  # an async check: a stats request, say
        result = await result
    return bool(result)


async def eventually(
    check: Callable[[], object],
    what: str = "condition",
    timeout: float = 3.0,
    poll: float = 0.01,
) -> None:
    """Wait until ``check()`` holds; fail the test after ``timeout`` seconds.

    ``check`` may be a coroutine function, awaited on each poll.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await _holds(check):
        if loop.time() > deadline:
            raise AssertionError(f"{what} not reached in {timeout:g} s")
        await asyncio.sleep(poll)


def eventually_in_thread(
    check: Callable[[], object],
    what: str = "condition",
    timeout: float = 3.0,
    poll: float = 0.002,
) -> None:
    """:func:`eventually` for code with no event loop (worker threads, the function host):
    wait until ``check()`` holds; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached in {timeout:g} s")
        time.sleep(poll)


async def holds_for(check: Callable[[], object], period: float, poll: float = 0.01) -> bool:
    """Whether ``check()`` keeps holding for ``period`` seconds (False at the first lapse).

    For a steady state that no event announces: a writer that stays paused because no
    more can move.
    """
    loop = asyncio.get_running_loop()
    until = loop.time() + period
    while await _holds(check):
        if loop.time() >= until:
            return True
        await asyncio.sleep(poll)
    return False
