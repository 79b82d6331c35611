"""The reconnecting connection every client kind shares."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from rxyomo.client._link import ConnectionRejected, Link, LinkHooks
from rxyomo.delivery.link import Outcome
from rxyomo.delivery.stats import BY_ZIPPER, CLOSED_UNCONFIRMED, DeliveryStats
from rxyomo.protocol.auth import parse_credential
from rxyomo.protocol.connection import ConnectionConfig, ConnectionState
from rxyomo.protocol.extensions import HEARTBEAT, RECEIPTS, STATS
from rxyomo.protocol.frames import DataFrame, HandshakeFrame
from rxyomo.transport.base import (
    CertificateError,
    TlsConfig,
    Transport,
    TransportError,
    TransportOptions,
)

log = logging.getLogger("rxyomo.client")

#: The protocol version this client announces in its handshake.
PROTOCOL_VERSION = "2024-01-03"


class ClientClosed(Exception):
    """The client was closed; nothing more can be written."""


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


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class ZipperClient:
    """A connection to a zipper that comes back by itself after failures.

    Subclasses (:class:`~rxyomo.client.Source`, ...) choose the client type and
    what to do with received frames.

    With ``receipts`` (the default) the client asks the zipper to confirm each data
    frame only once it has passed it on (every destination's transport has it) or
    counted it as dropped, naming the reason, so that :attr:`delivery` counts every frame
    that is not delivered, even those a zipper killed outright takes along. The request
    is an extension offered in the handshake (:mod:`rxyomo.protocol.extensions`): an
    rxyomo zipper agrees in its HandshakeAck; with a zipper that does not (YoMo's), and
    with ``receipts=False``, a frame counts as delivered once the zipper's transport has
    it. Nothing a YoMo zipper does not know is ever sent to it.
    """

    client_type: int = 0
    # Whether _on_confirmed wants each confirmed frame's key (a per-frame call otherwise saved).
    _tracks_keys = False

    def __init__(
        self,
        name: str,
        *,
        zipper: str = "localhost:9000",
        transport: Transport | str = "quic",
        tls: TlsConfig | None = None,
        observed_tags: Iterable[int] = (),
        credential: str = "",
        want_target: str = "",
        reconnect: ReconnectPolicy | None = None,
        connection_config: ConnectionConfig | None = None,
        client_id: str | None = None,
        receipts: bool = True,
    ) -> None:
        if not name:
            raise ValueError("a client needs a name")
        self.name = name
        self.id = client_id or uuid.uuid4().hex
        self.address = parse_address(zipper)
        self.observed_tags = tuple(observed_tags)
        self._auth = parse_credential(credential)
        self.want_target = want_target
        self.reconnect_policy = reconnect or ReconnectPolicy()
        self.connection_config = connection_config or ConnectionConfig()
        self._transport_spec = transport
        self._tls = tls
        #: Whether to ask for receipts, so that frames count as confirmed only on the
        #: zipper's receipts (see :mod:`rxyomo.protocol.receipts`) rather than once its
        #: transport has them.
        self.receipts = receipts
        self._told_no_receipts = False
        self._link: Link | None = None
        # Set while the current link takes frames, and to wake writers on close or failure.
        self._writable = asyncio.Event()
        self._hooks = LinkHooks(
            frame=self._on_frame,
            outcome=self._count,
            opened=self._on_opened,
            redirect=self._on_redirect,
            discarded=self._on_discarded,
        )
        self._run_task: asyncio.Task[None] | None = None
        self._first: asyncio.Future[None] | None = None
        self._closing = False
        self._redirect: str | None = None
        #: Why the client stopped for good, if it did.
        self.error: BaseException | None = None
        #: What became of the data frames this client wrote (see :class:`DeliveryStats`).
        self.delivery = DeliveryStats()
        #: Data frames that arrived after this client had closed its connection (the
        #: zipper routed them before it heard of the close); they were not handled.
        self.discarded = 0
        self._error_handler: Callable[[BaseException], object] | None = None

    def set_error_handler(self, handler: Callable[[BaseException], object]) -> None:
        """Call ``handler`` with each error this client meets (YoMo's ``SetErrorHandler``):
        failed connection attempts, connections that broke, the reason it gave up, and,
        in a stream function, each frame its handler failed on. The client goes on (or
        stops) as it would anyway; an error handler that raises is logged."""
        self._error_handler = handler

    def _report_error(self, exc: BaseException) -> None:
        if self._error_handler is None:
            return
        try:
            self._error_handler(exc)
        except Exception:
            log.exception("%s: the error handler failed", self.name)

    @property
    def is_connected(self) -> bool:
        """True while a handshaken connection is open."""
        return self._link is not None and self._link.core.state is ConnectionState.OPEN

    @property
    def extensions(self) -> frozenset[str]:
        """The rxyomo extensions the zipper agreed to on the current connection (none
        with a YoMo zipper, or while disconnected)."""
        link = self._link
        return link.core.extensions if link is not None else frozenset()

    async def connect(self) -> None:
        """Connect and wait for the zipper's acknowledgement.

        Raises :class:`ConnectionRejected` if the zipper refuses this client,
        or :class:`~rxyomo.transport.TransportError` once the reconnect
        policy's attempts are used up. Afterwards the client reconnects by
        itself whenever the connection drops.
        """
        if self._run_task is None:
            loop = asyncio.get_running_loop()
            self._first = loop.create_future()
            self._run_task = loop.create_task(self._run(), name=f"rxyomo client {self.name}")
        assert self._first is not None
        await asyncio.shield(self._first)

    async def close(self, timeout: float = 5.0) -> None:
        """Send what was accepted (up to ``timeout``), say Goaway, and stop.

        When it returns, :attr:`delivery` is final: frames the zipper had not confirmed
        by then are counted as dropped.
        """
        self._closing = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        self._writable.set()  # writers waiting for a connection learn of the close
        link = self._link
        if link is not None and link.channel is not None and self.is_connected:
            link.flush()
            await link.until(lambda: link.all_confirmed_by_transport, deadline)
            if link.delivery.receipts:
                # Give the zipper the rest of the time to confirm what it was sent.
                await link.until(lambda: not link.delivery.in_flight, deadline)
            link.close("client closing")
        if self._run_task is not None:
            self._run_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._run_task
        if link is not None and link.channel is not None and not link.lost.done():
            # Wait for the transport to finish the close, so that late acknowledgements count.
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(link.lost), max(deadline - loop.time(), 0))
            if not link.lost.done():
                # Out of time: cut the connection, so what is counted dropped stays dropped.
                link.channel.abort()
        if link is not None:
            link.finish(CLOSED_UNCONFIRMED)
        await self._on_closed()

    async def wait(self) -> None:
        """Run until the client stops for good or the process gets SIGINT or SIGTERM,
        which close it (YoMo's ``Wait``); raises why it stopped, unless it was closed."""
        loop = asyncio.get_running_loop()
        interrupted = loop.create_future()
        handled: list[signal.Signals] = []
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(signum, _resolve, interrupted)
                handled.append(signum)
            except (NotImplementedError, RuntimeError, ValueError):
                pass  # not the main thread, or not a platform with signal handlers
        stopped = loop.create_task(self.wait_stopped())
        try:
            await asyncio.wait({stopped, interrupted}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for signum in handled:
                loop.remove_signal_handler(signum)
        if not stopped.done():
            await self.close()
        await stopped

    async def wait_stopped(self) -> None:
        """Wait until the client stops for good; raises the reason unless it was closed."""
        if self._run_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(self._run_task)
        if self.error is not None and not self._closing:
            raise self.error

    async def __aenter__(self) -> ZipperClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _send(self, frame: DataFrame, key: object = None) -> None:
        """Send when a connection is open and not congested (waits otherwise).

        ``key`` names the frame in :attr:`delivery` should it be dropped.
        """
        while True:
            if self._closing:
                raise ClientClosed(f"client {self.name!r} is closed")
            if self.error is not None:
                raise ClientClosed(f"client {self.name!r} stopped: {self.error}")
            link = self._link
            if (
                link is not None
                and self._writable.is_set()
                and link.core.state is ConnectionState.OPEN
            ):
                link.send(frame, key)
                self.delivery.written += 1
                return
            # Set again when a connection opens or drains, or the client closes or fails.
            self._writable.clear()
            await self._writable.wait()

    def send_encoded_now(self, encoded_frame: bytes, key: object = None) -> bool:
        """Queue an encoded data frame on the open connection without waiting.

        There is no back-pressure here: the caller bounds what it sends (a zipper's mesh
        link forwards what it reads, and its own readers pause). Returns False, having
        queued nothing, when no connection is open.
        """
        link = self._link
        if link is None or link.core.state is not ConnectionState.OPEN:
            return False
        link.send_encoded(encoded_frame, key)
        self.delivery.written += 1
        return True

    def _pause_reading(self) -> None:
        """Stop reading from the zipper (a subclass whose inbox is full)."""
        link = self._link
        if link is not None and link.channel is not None:
            link.channel.pause_reading()

    def _resume_reading(self) -> None:
        """Undo :meth:`_pause_reading`."""
        link = self._link
        if link is not None and link.channel is not None:
            link.channel.resume_reading()

    def _handshake(self) -> HandshakeFrame:
        return HandshakeFrame(
            name=self.name,
            client_type=self.client_type,
            id=self.id,
            auth_name=self._auth[0],
            auth_payload=self._auth[1],
            observed_data_tags=self.observed_tags,
            version=PROTOCOL_VERSION,
            want_target=self.want_target,
            extensions=self._offered_extensions(),
        )

    def _offered_extensions(self) -> frozenset[str]:
        offered = {STATS}
        if self.receipts:
            offered.add(RECEIPTS)
        if not self._transport().liveness:
            offered.add(HEARTBEAT)
        return frozenset(offered)

    def _without_receipts(self, rxyomo_zipper: bool) -> None:
        """The zipper did not agree to receipts; said once per client, not per connection."""
        if self._told_no_receipts:
            return
        self._told_no_receipts = True
        log.info(
            "%s: the zipper %s receipts; frames count as delivered once its transport has "
            "them (a zipper killed outright may take some along uncounted)",
            self.name,
            "declined" if rxyomo_zipper else "does not offer (not an rxyomo zipper)",
        )

    def _on_frame(self, frame: DataFrame) -> None:
        """A data frame arrived (subclasses consume it)."""

    def _on_confirmed(self, key: object) -> None:
        """A frame sent with ``key`` was confirmed (called when ``_tracks_keys``)."""

    def _count(self, outcome: Outcome[object]) -> None:
        """Some of this client's frames were confirmed, dropped or lost track of."""
        self.delivery.confirmed += len(outcome.confirmed)
        if self._tracks_keys:
            for key in outcome.confirmed:
                if key is not None:
                    self._on_confirmed(key)
        for reason, keys in outcome.by_zipper.items():
            self._on_dropped_by_zipper(reason, keys)
        for reason, keys in outcome.dropped.items():
            self._on_unconfirmed(reason, keys, dropped=True)
        for reason, keys in outcome.unknown.items():
            self._on_unconfirmed(reason, keys, dropped=False)

    def _on_unconfirmed(self, reason: str, keys: list[object], *, dropped: bool) -> None:
        """Frames (named by their keys) were in flight when a connection ended: certainly
        not delivered (``dropped``), or of unknown fate."""
        log.warning(
            "%s: %d frames were in flight when the connection ended (%s)",
            self.name,
            len(keys),
            reason,
        )
        if dropped:
            self.delivery.drop(reason, keys)
        else:
            self.delivery.lose_track(reason, keys)

    def _on_dropped_by_zipper(self, reason: str, keys: list[object]) -> None:
        """The zipper's receipt says it dropped these frames, for ``reason``."""
        self.delivery.drop(f"{BY_ZIPPER}{reason}", keys)

    def _on_opened(self, receipts: bool, rxyomo_zipper: bool) -> None:
        if self.receipts and not receipts:
            self._without_receipts(rxyomo_zipper)

    def _on_redirect(self, endpoint: str) -> None:
        self._redirect = endpoint

    def _on_discarded(self, count: int) -> None:
        self.discarded += count

    async def _on_closed(self) -> None:
        """The client stopped (subclasses release their resources)."""

    def _transport(self) -> Transport:
        if isinstance(self._transport_spec, Transport):
            return self._transport_spec
        from rxyomo.transport import get_transport  # resolved once, on first use

        options = TransportOptions(tls=self._tls) if self._tls is not None else None
        self._transport_spec = get_transport(self._transport_spec, options)
        return self._transport_spec

    async def _run(self) -> None:
        delays = iter(self.reconnect_policy.delays())
        failures = 0
        try:
            while not self._closing:
                link = Link(
                    self.name,
                    self._handshake(),
                    self.connection_config,
                    self._hooks,
                    self._writable,
                )
                self._link = link
                host, port = self.address
                try:
                    await self._transport().connect(host, port, link)
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
                    self._report_error(exc)
                    limit = self.reconnect_policy.max_attempts
                    if limit is not None and failures >= limit:
                        self._fail(TransportError(f"cannot reach zipper {host}:{port}: {exc}"))
                        return
                    log.info(
                        "%s: connecting to %s:%s failed (%s), retrying", self.name, host, port, exc
                    )
                    await asyncio.sleep(next(delays))
                    continue
                failures = 0
                delays = iter(self.reconnect_policy.delays())
                if self._first is not None and not self._first.done():
                    self._first.set_result(None)
                ended = await link.ended
                if not ended.reconnect:
                    self._fail(ConnectionRejected(ended.reason))
                    return
                if self._redirect:
                    self.address, self._redirect = parse_address(self._redirect), None
                if not self._closing:
                    self._report_error(TransportError(f"disconnected: {ended.reason}"))
                    log.info("%s: disconnected (%s), reconnecting", self.name, ended.reason)
                    await asyncio.sleep(next(delays))
        finally:
            # A graceful close already closed the channel; anything else is cut.
            channel = self._link.channel if self._link is not None else None
            if channel is not None and not channel.is_closing():
                channel.abort()
                assert self._link is not None
                self._link.finish(CLOSED_UNCONFIRMED)

    def _fail(self, exc: BaseException) -> None:
        self.error = exc
        self._writable.set()  # writers waiting for a connection learn of the failure
        log.warning("%s: giving up: %s", self.name, exc)
        self._report_error(exc)
        if self._first is not None and not self._first.done():
            self._first.set_exception(exc)
