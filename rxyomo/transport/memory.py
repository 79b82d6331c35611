"""In-memory transport: the same interface with no sockets.

For tests and single-process deployments. Listeners are kept in a registry
keyed by ``(host, port)`` (port 0 allocates one); ``connect`` pairs two
channels. Bytes are delivered from the event loop (``loop.call_soon``), never
from inside ``write``, so a handler can never be re-entered. Each channel keeps
what it wrote until the peer reads it: a peer that pauses reading leaves the
bytes in the writer's buffer, which raises ``pause_writing`` at the high
watermark exactly like a socket whose peer stopped reading.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import deque
from dataclasses import dataclass, field

from rxyomo.transport._common import MAX_PORT, ChannelState, check_bytes_like, check_port
from rxyomo.transport._flow import WriteWatermarks, call_hook
from rxyomo.transport.base import (
    Channel,
    HandlerFactory,
    Listener,
    StreamHandler,
    Transport,
    TransportError,
    TransportOptions,
)

__all__ = ["MemoryRegistry", "MemoryTransport"]

logger = logging.getLogger("rxyomo.transport.memory")

_FIRST_EPHEMERAL_PORT = 49152


@dataclass
class MemoryRegistry:
    """The in-process "network": listeners by ``(host, port)``."""

    listeners: dict[tuple[str, int], _MemoryListener] = field(default_factory=dict)
    _next_port: int = _FIRST_EPHEMERAL_PORT

    def allocate_port(self, host: str) -> int:
        """A free port for ``host`` in the ephemeral range."""
        span = MAX_PORT - _FIRST_EPHEMERAL_PORT + 1
        for _ in range(span):
            port = self._next_port
            self._next_port = _FIRST_EPHEMERAL_PORT + (port + 1 - _FIRST_EPHEMERAL_PORT) % span
            if (host, port) not in self.listeners:
                return port
        raise TransportError(f"no free in-memory port left on {host}")


#: The registry used when a transport is not given its own.
DEFAULT_REGISTRY = MemoryRegistry()

_connection_ids = itertools.count(1)


class MemoryTransport(Transport):
    """Connections between handlers of the same process and event loop."""

    name = "memory"

    def __init__(
        self, options: TransportOptions | None = None, *, registry: MemoryRegistry | None = None
    ) -> None:
        self.options = options if options is not None else TransportOptions()
        self.registry = registry if registry is not None else DEFAULT_REGISTRY

    async def serve(self, host: str, port: int, factory: HandlerFactory) -> Listener:
        """Register a listener on ``host:port`` (port 0 picks a free one)."""
        check_port(port)
        if port == 0:
            port = self.registry.allocate_port(host)
        elif (host, port) in self.registry.listeners:
            raise TransportError(f"address already in use: in-memory {host}:{port}")
        listener = _MemoryListener(self, (host, port), factory, asyncio.get_running_loop())
        self.registry.listeners[(host, port)] = listener
        return listener

    async def connect(self, host: str, port: int, handler: StreamHandler) -> Channel:
        """Connect to the listener on ``host:port``; its handler starts soon after."""
        check_port(port)
        loop = asyncio.get_running_loop()
        listener = self.registry.listeners.get((host, port))
        if listener is None:
            raise TransportError(f"connection refused: no in-memory listener on {host}:{port}")
        if listener.loop is not loop:
            raise TransportError(f"in-memory listener {host}:{port} belongs to another event loop")
        number = next(_connection_ids)
        client = _MemoryChannel(loop, self.options, handler, f"memory:{host}:{port}")
        server = _MemoryChannel(loop, listener.transport.options, None, f"memory-client:{number}")
        client.peer_channel, server.peer_channel = server, client
        # The server side starts from the loop, as an accepted socket would.
        loop.call_soon(server.start, listener.factory)
        try:
            handler.connection_made(client)
        except Exception as exc:
            client._abort_with(None)
            raise TransportError(f"the connection handler failed to start: {exc!r}") from exc
        return client


class _MemoryListener(Listener):
    def __init__(
        self,
        transport: MemoryTransport,
        address: tuple[str, int],
        factory: HandlerFactory,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.transport = transport
        self.factory = factory
        self.loop = loop
        self._address = address
        self._closed = False

    @property
    def address(self) -> tuple[str, int]:
        return self._address

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        listeners = self.transport.registry.listeners
        if listeners.get(self._address) is self:
            del listeners[self._address]

    async def wait_closed(self) -> None:
        # Nothing to wind down: connections are independent of the listener.
        return


class _MemoryChannel(ChannelState):
    """One end of an in-memory pipe; it buffers what it wrote until the peer reads.

    It is released (``wait_closed`` returns) once both ends are gone.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        options: TransportOptions,
        handler: StreamHandler | None,
        peer: str,
    ) -> None:
        super().__init__(peer)
        self._loop = loop
        self._handler = handler
        self._watermarks = WriteWatermarks(options.flow, handler)
        self._outgoing: deque[bytes] = deque()
        self._buffered = 0
        self._flush_scheduled = False
        self._reading_paused = False
        # Bytes handed to the peer's handler: what this end may consider acknowledged.
        self._delivered = 0
        # What ``write_confirmed`` last told the handler.
        self._confirmed = 0
        self.peer_channel: _MemoryChannel | None = None

    def start(self, factory: HandlerFactory) -> None:
        """Create the server-side handler (called from the loop)."""
        if self._lost:
            return
        try:
            handler = factory()
            self._handler = handler
            self._watermarks.handler = handler
            handler.connection_made(self)
        except Exception:
            logger.exception("starting the connection's handler failed; dropping it")
            self._handler = None
            self._abort_with(None)
            return
        # Bytes (or a close) that the client sent before this handler existed.
        if self.peer_channel is not None:
            self.peer_channel._schedule_flush()

    # Channel

    def write(self, data: bytes) -> None:
        """Queue ``data`` for the peer; ignored once the channel is closing."""
        check_bytes_like(data)
        if self._closing or not data:
            return
        chunk = bytes(data)
        self._outgoing.append(chunk)
        self._buffered += len(chunk)
        self._watermarks.update(self._buffered)
        self._schedule_flush()

    def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        self._schedule_flush()

    def abort(self) -> None:
        if self._lost:
            return
        self._abort_with(None)

    def pause_reading(self) -> None:
        self._reading_paused = True

    def resume_reading(self) -> None:
        if not self._reading_paused:
            return
        self._reading_paused = False
        if self.peer_channel is not None and not self._lost:
            self.peer_channel._schedule_flush()

    def get_write_buffer_size(self) -> int:
        return self._buffered

    def acknowledged_bytes(self) -> int:
        return self._delivered

    # delivery

    def _schedule_flush(self) -> None:
        if not self._flush_scheduled and not self._lost:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        peer = self.peer_channel
        if self._lost or peer is None or peer._handler is None:
            return  # the peer's handler does not exist yet; its start() flushes
        while self._outgoing and not peer._reading_paused and not peer._lost:
            chunk = self._outgoing.popleft()
            self._buffered -= len(chunk)
            self._delivered += len(chunk)
            try:
                peer._handler.data_received(chunk)
            except Exception as exc:
                logger.exception("data_received failed; aborting the connection")
                peer._abort_with(exc)
                return
        if self._gone:
            return  # a handler aborted from inside data_received
        self._watermarks.update(self._buffered)
        self._tell_confirmed()
        if self._closing and not self._outgoing and not self._gone:
            self._finish_close()

    def _tell_confirmed(self) -> None:
        if self._delivered > self._confirmed and self._handler is not None:
            self._confirmed = self._delivered
            call_hook(self._handler.write_confirmed, self._delivered)

    @property
    def _gone(self) -> bool:
        # A property, so checks after handler calls are not narrowed away.
        return self._lost

    def _finish_close(self) -> None:
        # Everything written has been read: both ends are gone, as after a FIN.
        self._lose_both(None, None)

    def _abort_with(self, exc: Exception | None) -> None:
        self._lose_both(exc, TransportError("connection aborted by peer"))

    def _lose_both(self, exc: Exception | None, peer_exc: Exception | None) -> None:
        peer = self.peer_channel
        self._mark_lost(exc)
        if peer is not None and not peer._lost:
            peer._mark_lost(peer_exc)

    def _mark_lost(self, exc: Exception | None) -> None:
        self._released.set()
        self._lost = True
        self._closing = True
        self._outgoing.clear()
        self._buffered = 0
        if self._handler is not None:
            self._loop.call_soon(self._handler.connection_lost, exc)
