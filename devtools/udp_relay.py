"""A network impairment in user space: a UDP relay that delays, drops, duplicates and
reorders datagrams, for machines without the kernel's netem.

The relay listens on loopback; each client that sends to it gets an upstream socket of its
own towards the server (so the server sees one address per client, as behind a NAT), and
every datagram in either direction passes :class:`Impairment`'s dice, drawn from one seeded
generator so that a run can be repeated. ``set_impairment`` changes the conditions while
traffic flows (``loss=1.0`` is a partition).

Used by the transport tests, the reliability tests, ``benches/bench_reliability.py`` and
``benches/soak.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
from dataclasses import dataclass, field, replace

Address = tuple[str, int]

_RECV_SIZE = 65535
_BATCH = 64


@dataclass(frozen=True)
class Impairment:
    """What happens to each datagram, in each direction (seconds and probabilities).

    ``delay`` is one-way, so a path through the relay has a round trip of twice that.
    ``jitter`` spreads each delay uniformly over ``delay ± jitter`` (a jitter larger than
    the gap between datagrams reorders them); ``reorder`` holds a datagram back by an
    extra ``reorder_gap`` so that the next ones overtake it; ``duplicate`` sends a second
    copy a moment after the first.
    """

    delay: float = 0.0
    jitter: float = 0.0
    loss: float = 0.0
    duplicate: float = 0.0
    reorder: float = 0.0
    reorder_gap: float = 0.005

    def __post_init__(self) -> None:
        for name in ("loss", "duplicate", "reorder"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} is a probability, got {value}")
        if self.delay < 0 or self.jitter < 0 or self.reorder_gap < 0:
            raise ValueError("delay, jitter and reorder_gap cannot be negative")
        if self.jitter > self.delay:
            raise ValueError(f"jitter {self.jitter} exceeds delay {self.delay}")


@dataclass
class RelayStats:
    """What the relay did, over both directions."""

    received: int = 0
    forwarded: int = 0
    dropped: int = 0
    duplicated: int = 0
    reordered: int = 0
    bytes_forwarded: int = 0
    clients: set[Address] = field(default_factory=set)


class UdpRelay:
    """Relays datagrams between clients and one server through an :class:`Impairment`."""

    def __init__(
        self,
        server: Address,
        impairment: Impairment | None = None,
        *,
        seed: int = 0,
        host: str = "127.0.0.1",
    ) -> None:
        self.server = server
        self.impairment = impairment or Impairment()
        self.stats = RelayStats()
        self._random = random.Random(seed)
        self._loop = asyncio.get_running_loop()
        self._front = self._socket(host)
        self._upstream: dict[Address, socket.socket] = {}
        self._closed = False
        self._loop.add_reader(self._front.fileno(), self._from_clients)

    @classmethod
    async def start(
        cls, server: Address, impairment: Impairment | None = None, *, seed: int = 0
    ) -> UdpRelay:
        """A relay in front of ``server`` (call from a running event loop)."""
        return cls(server, impairment, seed=seed)

    @property
    def address(self) -> Address:
        """Where clients send to instead of the server."""
        host, port = self._front.getsockname()[:2]
        return str(host), int(port)

    @property
    def endpoint(self) -> str:
        """``host:port`` of the relay, the form clients and workflow files take."""
        host, port = self.address
        return f"{host}:{port}"

    def set_impairment(self, impairment: Impairment | None = None, **changes: float) -> None:
        """Change the conditions from now on (``**changes`` edit the current ones)."""
        self.impairment = replace(impairment or self.impairment, **changes)

    def close(self) -> None:
        """Stop relaying and close every socket; datagrams still delayed are discarded."""
        if self._closed:
            return
        self._closed = True
        for sock in (self._front, *self._upstream.values()):
            with contextlib.suppress(ValueError, OSError):
                self._loop.remove_reader(sock.fileno())
            sock.close()
        self._upstream.clear()

    async def __aenter__(self) -> UdpRelay:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()

    # datagrams

    @staticmethod
    def _socket(host: str) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setblocking(False)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
        sock.bind((host, 0))
        return sock

    def _from_clients(self) -> None:
        for data, client in _drain(self._front):
            upstream = self._upstream.get(client)
            if upstream is None:
                upstream = self._socket("127.0.0.1")
                self._upstream[client] = upstream
                self.stats.clients.add(client)
                self._loop.add_reader(upstream.fileno(), self._from_server, upstream, client)
            self._impair(data, upstream, self.server)

    def _from_server(self, upstream: socket.socket, client: Address) -> None:
        for data, _ in _drain(upstream):
            self._impair(data, self._front, client)

    def _impair(self, data: bytes, sock: socket.socket, destination: Address) -> None:
        rules, dice = self.impairment, self._random
        self.stats.received += 1
        if rules.loss and dice.random() < rules.loss:
            self.stats.dropped += 1
            return
        delay = rules.delay
        if rules.jitter:
            delay += dice.uniform(-rules.jitter, rules.jitter)
        if rules.reorder and dice.random() < rules.reorder:
            delay += rules.reorder_gap
            self.stats.reordered += 1
        self._send_later(delay, data, sock, destination)
        if rules.duplicate and dice.random() < rules.duplicate:
            self.stats.duplicated += 1
            self._send_later(delay + 0.0005, data, sock, destination)

    def _send_later(
        self, delay: float, data: bytes, sock: socket.socket, destination: Address
    ) -> None:
        if delay <= 0:
            self._send(data, sock, destination)
        else:
            self._loop.call_later(delay, self._send, data, sock, destination)

    def _send(self, data: bytes, sock: socket.socket, destination: Address) -> None:
        if self._closed:
            return
        try:
            sock.sendto(data, destination)
        except OSError:
            # A full buffer or an unreachable server is one more lost datagram.
            self.stats.dropped += 1
            return
        self.stats.forwarded += 1
        self.stats.bytes_forwarded += len(data)


def _drain(sock: socket.socket) -> list[tuple[bytes, Address]]:
    received: list[tuple[bytes, Address]] = []
    with contextlib.suppress(BlockingIOError, InterruptedError, ConnectionRefusedError):
        for _ in range(_BATCH):
            data, address = sock.recvfrom(_RECV_SIZE)
            received.append((data, (str(address[0]), int(address[1]))))
    return received
