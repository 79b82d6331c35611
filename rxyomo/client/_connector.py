"""Keeping a client connected: one connection attempt after another, with backoff."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from rxyomo.client._link import ConnectionRejected, Link
from rxyomo.transport.base import CertificateError, Transport, TransportError

__all__ = ["Connector", "ConnectorHooks", "ReconnectPolicy", "parse_address"]

log = logging.getLogger("rxyomo.client")


@dataclass(frozen=True)
class ReconnectPolicy:
    """Exponential backoff between connection attempts (seconds)."""

    initial_delay: float = 0.2
    max_delay: float = 2.0
    multiplier: float = 2.0
    #: Give up after this many failed attempts in a row (None: never).
    max_attempts: int | None = None

    def delays(self) -> Iterable[float]:
        """The successive waits before each retry."""
        delay = self.initial_delay
        while True:
            yield delay
            delay = min(delay * self.multiplier, self.max_delay)


def parse_address(address: str) -> tuple[str, int]:
    """``host:port`` or ``[v6]:port`` to a (host, port) pair."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ValueError(f"expected HOST:PORT, got {address!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    number = int(port)
    if not 0 < number < 65536:
        raise ValueError(f"port out of range in {address!r}")
    return host, number


def _untrusted(exc: BaseException) -> bool:
    """Whether ``exc``, or an error it was raised from, is a :class:`CertificateError`."""
    seen: BaseException | None = exc
    for _ in range(8):  # a short chain: transports wrap an error once or twice
        if seen is None:
            return False
        if isinstance(seen, CertificateError):
            return True
        seen = seen.__cause__
    return False


@dataclass(frozen=True)
class ConnectorHooks:
    """What a connector asks of, and tells, its client."""

    #: A new connection attempt (the client keeps it as its current link).
    new_link: Callable[[], Link]
    #: The transport to connect over.
    transport: Callable[[], Transport]
    #: An error the client meets and goes on after (a failed attempt, a lost connection).
    error: Callable[[BaseException], None]
    #: Why the client stops for good.
    failed: Callable[[BaseException], None]


class Connector:
    """Runs a client's connections, one :class:`Link` per attempt, until it is closed or
    gives up: exponential backoff between attempts, a move where the zipper redirects,
    and no retry where retrying cannot help (a rejection, an untrusted certificate) or
    the policy's attempts are used up."""

    def __init__(
        self,
        name: str,
        address: tuple[str, int],
        policy: ReconnectPolicy,
        hooks: ConnectorHooks,
    ) -> None:
        self.name = name
        #: The zipper's host and port (a redirect moves it).
        self.address = address
        self.policy = policy
        #: Set once the client is closing: no further attempt.
        self.closing = False
        self._hooks = hooks
        self._task: asyncio.Task[None] | None = None
        self._first: asyncio.Future[None] | None = None
        self._redirect: str | None = None

    @property
    def started(self) -> bool:
        """Whether :meth:`connect` was called."""
        return self._task is not None

    async def connect(self) -> None:
        """Start the attempts (once) and wait for the first connection to open; raises
        why the client gave up if it did before."""
        if self._task is None:
            loop = asyncio.get_running_loop()
            self._first = loop.create_future()
            self._task = loop.create_task(self._run(), name=f"rxyomo client {self.name}")
        assert self._first is not None
        await asyncio.shield(self._first)

    def redirect(self, endpoint: str) -> None:
        """The zipper asked the client to move to ``endpoint`` (from the next attempt)."""
        self._redirect = endpoint

    async def stop(self) -> None:
        """Stop for good (the client closes): no further attempt, the current one cut
        unless it closed already."""
        self.closing = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def wait_stopped(self) -> None:
        """Wait until the attempts stop: closed, or given up."""
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(self._task)

    async def _run(self) -> None:
        delays = iter(self.policy.delays())
        failures = 0
        link: Link | None = None
        try:
            while not self.closing:
                link = self._hooks.new_link()
                host, port = self.address
                try:
                    await self._hooks.transport().connect(host, port, link)
                    await link.opened
                except ConnectionRejected as exc:
                    self._fail(exc)
                    return
                except (TransportError, OSError) as exc:
                    if _untrusted(exc):
                        # Retrying cannot fix a certificate: say so now, not in a log line.
                        untrusted = CertificateError(f"zipper {host}:{port}: {exc}")
                        untrusted.__cause__ = exc
                        self._fail(untrusted)
                        return
                    failures += 1
                    self._hooks.error(exc)
                    limit = self.policy.max_attempts
                    if limit is not None and failures >= limit:
                        self._fail(TransportError(f"cannot reach zipper {host}:{port}: {exc}"))
                        return
                    log.info(
                        "%s: connecting to %s:%s failed (%s), retrying", self.name, host, port, exc
                    )
                    await asyncio.sleep(next(delays))
                    continue
                failures = 0
                delays = iter(self.policy.delays())
                if self._first is not None and not self._first.done():
                    self._first.set_result(None)
                ended = await link.ended
                if not ended.reconnect:
                    self._fail(ConnectionRejected(ended.reason))
                    return
                if self._redirect:
                    self.address, self._redirect = parse_address(self._redirect), None
                if not self.closing:
                    self._hooks.error(TransportError(f"disconnected: {ended.reason}"))
                    log.info("%s: disconnected (%s), reconnecting", self.name, ended.reason)
                    await asyncio.sleep(next(delays))
        finally:
            # A graceful close already closed the channel; anything else is cut.
            if link is not None:
                link.abort()

    def _fail(self, exc: BaseException) -> None:
        self._hooks.failed(exc)
        if self._first is not None and not self._first.done():
            self._first.set_exception(exc)
