from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from rxyomo.client import ReconnectPolicy
from rxyomo.transport.memory import MemoryRegistry, MemoryTransport
from rxyomo.zipper import Zipper, parse_workflow

FAST = ReconnectPolicy(initial_delay=0.02, max_delay=0.1)


@pytest.fixture
def transport() -> MemoryTransport:
    # A registry per test: no test sees another's listeners.
    return MemoryTransport(registry=MemoryRegistry())


ZipperFactory = Callable[..., Awaitable[Zipper]]


@pytest.fixture
async def make_zipper(transport: MemoryTransport) -> AsyncIterator[ZipperFactory]:
    started: list[Zipper] = []

    async def factory(yaml_text: str, **kwargs: Any) -> Zipper:
        zipper = Zipper(parse_workflow(yaml_text), kwargs.pop("transport", transport), **kwargs)
        await zipper.start()
        started.append(zipper)
        return zipper

    yield factory
    for zipper in started:
        await zipper.close()


async def eventually(check: Callable[[], bool], timeout: float = 3.0) -> None:
    """Wait until ``check()`` holds; fail the test after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)
