"""What the transports share: argument checks, how an address is printed, and what every
channel keeps."""

from __future__ import annotations

import asyncio
from typing import Any

from rxyomo.transport.base import Channel

#: The largest port number.
MAX_PORT = 65535


def check_port(port: int) -> None:
    """Raise ``ValueError`` unless ``port`` is a port number (0 asks for a free one)."""
    if not 0 <= port <= MAX_PORT:
        raise ValueError(f"port must be in 0..{MAX_PORT}, got {port}")


def check_positive(**settings: float) -> None:
    """Raise ``ValueError`` naming the first of ``settings`` that is not above zero."""
    for name, value in settings.items():
        if value <= 0:
            raise ValueError(f"{name} must be positive, got {value}")


def check_bytes_like(data: Any) -> None:
    """Raise ``TypeError`` unless ``data`` can be written to a channel."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes-like, not {type(data).__name__}")


def format_address(address: tuple[Any, ...]) -> str:
    """``host:port``, with brackets around an IPv6 host."""
    host, port = address[0], address[1]
    return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"


class ChannelBase(Channel):
    """What every channel here has: the peer's printable address, and an event set once
    its resources are released, which ``wait_closed`` waits for."""

    def __init__(self, peer: str) -> None:
        self._peer = peer
        self._released = asyncio.Event()

    async def wait_closed(self) -> None:
        await self._released.wait()

    @property
    def peer(self) -> str:
        return self._peer


class ChannelState(ChannelBase):
    """A channel that keeps whether it is closing (``close``/``abort`` called) or lost (the
    connection is over) as two flags."""

    def __init__(self, peer: str) -> None:
        super().__init__(peer)
        self._closing = False
        self._lost = False

    def is_closing(self) -> bool:
        return self._closing or self._lost
