"""A UDP socket read in batches: many datagrams per readiness event.

asyncio's datagram transport reads one datagram per event-loop callback, so a
QUIC receiver pays a loop iteration (and, done naively, a transmit) for every
packet. Here the socket is watched with ``loop.add_reader`` and drained up to
``batch`` datagrams at a time; the owner is told once per batch, processes
them all, and transmits once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable
from typing import Any

from rxyomo.transport.base import TransportError

logger = logging.getLogger("rxyomo.transport.quic")

Address = Any  # (host, port) or (host, port, flowinfo, scope_id)

#: Datagrams read per readiness event before yielding to the loop.
DEFAULT_BATCH = 64
# Large socket buffers absorb bursts while the (CPU-bound) receiver catches up.
_SOCKET_BUFFER = 4 * 1024 * 1024
_RECV_SIZE = 65535


class UdpEndpoint:
    """Owns one non-blocking UDP socket: batched reads, direct sends."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        sock: socket.socket,
        on_batch: Callable[[list[tuple[bytes, Address]]], None],
        on_error: Callable[[OSError], None],
        *,
        batch: int = DEFAULT_BATCH,
    ) -> None:
        self._loop = loop
        self._sock = sock
        self._on_batch = on_batch
        self._on_error = on_error
        self._batch = batch
        self._connected = False
        self.closed = False
        self.send_drops = 0
        sock.setblocking(False)
        for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
            with contextlib.suppress(OSError):  # best effort: the system limit applies
                sock.setsockopt(socket.SOL_SOCKET, option, _SOCKET_BUFFER)
        try:
            loop.add_reader(sock.fileno(), self._read_ready)
        except NotImplementedError as exc:
            raise TransportError(
                "the QUIC transport needs an event loop that can watch sockets (add_reader); "
                "on Windows use asyncio.WindowsSelectorEventLoopPolicy"
            ) from exc

    @classmethod
    def bind(
        cls,
        loop: asyncio.AbstractEventLoop,
        family: int,
        address: Address,
        on_batch: Callable[[list[tuple[bytes, Address]]], None],
        on_error: Callable[[OSError], None],
    ) -> UdpEndpoint:
        """Create a socket of ``family`` bound to ``address``."""
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.bind(address)
            return cls(loop, sock, on_batch, on_error)
        except BaseException:
            sock.close()
            raise

    def connect(self, address: Address) -> None:
        """Talk to one peer only; ICMP errors then surface as ``on_error``."""
        self._sock.connect(address)
        self._connected = True

    @property
    def local_address(self) -> Address:
        """The bound address."""
        return self._sock.getsockname()

    def send(self, data: bytes, address: Address) -> None:
        """Send one datagram; a full socket buffer drops it (QUIC recovers the loss)."""
        try:
            if self._connected:
                self._sock.send(data)
            else:
                self._sock.sendto(data, address)
        except (BlockingIOError, InterruptedError):
            self.send_drops += 1
        except OSError as exc:
            self._report(exc)

    def close(self) -> None:
        """Stop reading and close the socket."""
        if self.closed:
            return
        self.closed = True
        self._loop.remove_reader(self._sock.fileno())
        self._sock.close()

    def _read_ready(self) -> None:
        received: list[tuple[bytes, Address]] = []
        recvfrom = self._sock.recvfrom
        try:
            for _ in range(self._batch):
                received.append(recvfrom(_RECV_SIZE))
        except (BlockingIOError, InterruptedError):
            pass
        except OSError as exc:
            self._report(exc)
        if received and not self.closed:
            self._on_batch(received)

    def _report(self, exc: OSError) -> None:
        try:
            self._on_error(exc)
        except Exception:
            logger.exception("UDP error handler failed")
