"""The reconnecting connection every client kind shares."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from rxyomo._timer import CoreTimer
from rxyomo.client.delivery import (
    BY_ZIPPER,
    CLOSED_UNCONFIRMED,
    LOST_UNCONFIRMED,
    UNSETTLED,
    DeliveryStats,
)
from rxyomo.protocol.auth import parse_credential
from rxyomo.protocol.connection import Connection, ConnectionConfig, ConnectionState, Role
from rxyomo.protocol.errors import ProtocolError
from rxyomo.protocol.events import (
    ConnectionTerminated,
    ConnectToReceived,
    DataReceived,
    Event,
    HandshakeAccepted,
)
from rxyomo.protocol.extensions import HEARTBEAT, RECEIPTS, STATS
from rxyomo.protocol.frames import DataFrame, HandshakeFrame
from rxyomo.protocol.receipts import decode_receipt
from rxyomo.protocol.reserved import RECEIPT_TAG
from rxyomo.transport.base import (
    CertificateError,
    Channel,
    StreamHandler,
    TlsConfig,
    Transport,
    TransportError,
    TransportOptions,
)

log = logging.getLogger("rxyomo.client")

#: Bytes of frames a link queues before it hands them to the transport regardless.
_COALESCE_BYTES = 64 * 1024

#: The protocol version this client announces in its handshake.
PROTOCOL_VERSION = "2024-01-03"


class ConnectionRejected(Exception):
    """The zipper refused this client (bad token, unknown name); it will not retry."""


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


class _Link(StreamHandler):
    """One connection attempt: a protocol core bound to a transport channel."""

    def __init__(self, client: ZipperClient) -> None:
        self.client = client
        self.loop = asyncio.get_running_loop()
        self.core = Connection(Role.CLIENT, self.loop.time(), client.connection_config)
        self.channel: Channel | None = None
        self.opened: asyncio.Future[None] = self.loop.create_future()
        self.ended: asyncio.Future[ConnectionTerminated] = self.loop.create_future()
        self.writable = asyncio.Event()
        #: Resolved once the transport reported the connection gone.
        self.lost: asyncio.Future[None] = self.loop.create_future()
        self._settled = False
        self._timer = CoreTimer(self.loop, self._on_timer)
        self._flush_handle: asyncio.Handle | None = None
        self._flushed_at = 0
        #: The count of the latest receipt (when the client asked for receipts).
        self._receipted = 0
        #: Whether receipts confirm this connection's frames (the client asked for them
        #: and the zipper agreed in its HandshakeAck); known once the connection is open.
        self.receipts = False

    def connection_made(self, channel: Channel) -> None:
        self.channel = channel
        self.core.send_handshake(self.client._handshake(), self.loop.time())
        self._after()

    def data_received(self, data: bytes) -> None:
        discarded = self.core.frames_discarded
        self._handle(self.core.receive_data(data, self.loop.time()))
        self.client.discarded += self.core.frames_discarded - discarded

    def connection_lost(self, exc: Exception | None) -> None:
        reason = f"connection lost: {exc}" if exc else "connection closed"
        self._handle(self.core.connection_lost(reason))
        self.settle(LOST_UNCONFIRMED)
        if not self.lost.done():
            self.lost.set_result(None)

    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        if self.core.state is ConnectionState.OPEN:
            self.writable.set()

    def send(self, frame: DataFrame, key: object = None) -> None:
        self.core.send_data(frame, self.loop.time(), key)
        self._queued()

    def send_encoded(self, encoded_frame: bytes, key: object = None) -> None:
        self.core.send_encoded(encoded_frame, self.loop.time(), key)
        self._queued()

    def _queued(self) -> None:
        # A burst of writes reaches the transport as one write: flushed once the
        # writer yields to the loop, or at once when enough has piled up (which
        # also bounds what sits here before the transport's watermarks see it).
        self.client.delivery.written += 1
        if self.core.bytes_queued - self._flushed_at >= _COALESCE_BYTES:
            self.flush()
        elif self._flush_handle is None:
            self._flush_handle = self.loop.call_soon(self.flush)

    def flush(self) -> None:
        """Hand every queued frame to the transport now."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        self._flushed_at = self.core.bytes_queued
        self._after()
        self._confirm()

    def _acknowledged(self) -> int | None:
        channel = self.channel
        return None if channel is None else channel.confirmed_bytes(self.core.bytes_queued)

    def _confirm(self) -> None:
        # With receipts only the zipper's receipts confirm frames.
        if self._settled or self.receipts:
            return
        acknowledged = self._acknowledged()
        if acknowledged is not None:
            self.client.delivery.confirmed += self.core.confirm(
                acknowledged, self.client._confirmation_hook
            )

    def _on_receipt(self, frame: DataFrame) -> None:
        try:
            count, drops = decode_receipt(frame)
        except ProtocolError as exc:
            log.warning("%s: ignored a malformed receipt: %s", self.client.name, exc)
            return
        if not self.receipts:
            log.warning("%s: ignored a receipt the zipper did not agree to send", self.client.name)
            return
        if count <= self._receipted or self._settled:
            return  # stale or repeated: counts only grow
        delta, self._receipted = count - self._receipted, count
        by_index = {index: reason for reason, indices in drops.items() for index in indices}
        dropped: defaultdict[str, list[object]] = defaultdict(list)
        before = self.core.frames_unconfirmed
        self.client.delivery.confirmed += self.core.settle(
            delta,
            self.client._confirmation_hook,
            dropped=by_index,
            on_dropped=lambda reason, key: dropped[reason].append(key),
        )
        for reason, keys in dropped.items():
            self.client._on_dropped_by_zipper(reason, keys)
        if before - self.core.frames_unconfirmed != delta:
            log.warning(
                "%s: the zipper settled %d frames more than were in flight",
                self.client.name,
                delta - before + self.core.frames_unconfirmed,
            )

    def settle(self, reason: str) -> None:
        """The connection is over: count what it did not confirm as dropped, once."""
        if self._settled:
            return
        self._confirm()
        self._settled = True
        acknowledged = self._acknowledged() if self.receipts else None
        if acknowledged is not None:
            # The zipper's transport had these, but the zipper never said it passed them
            # on: they may have arrived, or died with it.
            accepted, unconfirmed = self.core.unconfirmed_split(acknowledged)
            self._count_unconfirmed(UNSETTLED, accepted)
        else:
            unconfirmed = self.core.unconfirmed()
        self._count_unconfirmed(reason, unconfirmed)

    def _count_unconfirmed(self, reason: str, keys: list[object]) -> None:
        if keys:
            log.warning(
                "%s: %d frames were in flight when the connection ended (%s)",
                self.client.name,
                len(keys),
                reason,
            )
            self.client._on_unconfirmed(reason, keys)

    def close(self, message: str) -> None:
        self.core.close(message, self.loop.time())
        self._after()

    def _handle(self, events: list[Event]) -> None:
        for event in events:
            if isinstance(event, HandshakeAccepted):
                self.receipts = RECEIPTS in event.extensions
                if self.client.receipts and not self.receipts:
                    self.client._without_receipts(self.core.peer_is_rxyomo)
                self.writable.set()
                if not self.opened.done():
                    self.opened.set_result(None)
            elif isinstance(event, DataReceived):
                if event.frame.tag == RECEIPT_TAG:
                    self._on_receipt(event.frame)
                else:
                    self.client._on_frame(event.frame)
            elif isinstance(event, ConnectToReceived):
                log.info("%s: zipper asks to move to %s", self.client.name, event.endpoint)
                self.client._redirect = event.endpoint
            elif isinstance(event, ConnectionTerminated):
                self.writable.clear()
                if not self.ended.done():
                    self.ended.set_result(event)
                if not self.opened.done():
                    self.opened.set_exception(
                        ConnectionRejected(event.reason)
                        if not event.reconnect
                        else TransportError(event.reason)
                    )
                    self.opened.exception()  # retrieved here; the run loop reads `ended`
        self._after()

    def _after(self) -> None:
        data = self.core.data_to_send()
        if data and self.channel is not None and not self.channel.is_closing():
            self.channel.write(data)
        if self.core.state is ConnectionState.CLOSED:
            self._timer.cancel()
            channel = self.channel
            if channel is not None and not channel.is_closing():
                channel.abort() if self.core.peer_expired else channel.close()
            return
        # Re-armed when the deadline comes earlier (the handshake's timeout gives way to
        # the heartbeat once open); a later one is left to the early timer's re-check.
        self._timer.arm(self.core.next_timer())

    def _on_timer(self) -> None:
        self._handle(self.core.handle_timer(self.loop.time()))


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


async def _poll_until(done: Callable[[], bool], deadline: float) -> None:
    """Wait until ``done()`` or the loop's clock passes ``deadline``. Polled: the transport
    interface announces neither an empty buffer nor acknowledgements."""
    loop = asyncio.get_running_loop()
    while not done() and loop.time() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.005)


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
        self._link: _Link | None = None
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
        link = self._link
        if link is not None and link.channel is not None and self.is_connected:
            link.flush()
            channel = link.channel
            await _poll_until(lambda: channel.get_write_buffer_size() == 0, deadline)
            if link.receipts:
                # Give the zipper the rest of the time to confirm what it was sent.
                await _poll_until(lambda: not link.core.frames_unconfirmed, deadline)
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
            link.settle(CLOSED_UNCONFIRMED)
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
                and link.writable.is_set()
                and link.core.state is ConnectionState.OPEN
            ):
                link.send(frame, key)
                return
            waiter = link.writable.wait() if link is not None else asyncio.sleep(0.05)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(waiter, 0.1)

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

    @property
    def _confirmation_hook(self) -> Callable[[object], None] | None:
        # None spares the ledger a call per confirmed frame when nobody listens.
        return self._on_confirmed if self._tracks_keys else None

    def _on_unconfirmed(self, reason: str, keys: list[object]) -> None:
        """Frames (named by their keys) were in flight when a connection ended."""
        self.delivery.drop(reason, keys)

    def _on_dropped_by_zipper(self, reason: str, keys: list[object]) -> None:
        """The zipper's receipt says it dropped these frames, for ``reason``."""
        self.delivery.drop(f"{BY_ZIPPER}{reason}", keys)

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
                link = _Link(self)
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
                self._link.settle(CLOSED_UNCONFIRMED)

    def _fail(self, exc: BaseException) -> None:
        self.error = exc
        log.warning("%s: giving up: %s", self.name, exc)
        self._report_error(exc)
        if self._first is not None and not self._first.done():
            self._first.set_exception(exc)
