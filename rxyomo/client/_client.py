"""The reconnecting connection every client kind shares."""

from __future__ import annotations

import asyncio
import logging
import signal
import uuid
from collections.abc import Callable, Iterable

from rxyomo.client._connector import Connector, ConnectorHooks, ReconnectPolicy, parse_address
from rxyomo.client._link import Link, LinkHooks
from rxyomo.delivery.outcome import Outcome
from rxyomo.delivery.stats import DeliveryStats
from rxyomo.observe.hooks import read_environment
from rxyomo.protocol.auth import parse_credential
from rxyomo.protocol.connection import ConnectionConfig, ConnectionState
from rxyomo.protocol.extensions import HEARTBEAT, RECEIPTS, STATS
from rxyomo.protocol.frames import DataFrame, HandshakeFrame
from rxyomo.transport.base import TlsConfig, Transport, TransportOptions

__all__ = ["PROTOCOL_VERSION", "ClientClosed", "ReconnectPolicy", "ZipperClient", "parse_address"]

log = logging.getLogger("rxyomo.client")

#: The protocol version this client announces in its handshake.
PROTOCOL_VERSION = "2024-01-03"


class ClientClosed(Exception):
    """The client was closed; nothing more can be written."""


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
        self._connector = Connector(
            name,
            parse_address(zipper),
            self.reconnect_policy,
            ConnectorHooks(
                new_link=self._new_link,
                transport=self._transport,
                error=self._report_error,
                failed=self._fail,
            ),
        )
        #: The current connection attempt (None before the first).
        self._link: Link | None = None
        # Set while the current link takes frames, and to wake writers on close or failure.
        self._writable = asyncio.Event()
        self._hooks = LinkHooks(
            frame=self._on_frame,
            outcome=self.on_outcome,
            opened=self._on_opened,
            redirect=self._connector.redirect,
            discarded=self._on_discarded,
        )
        #: Why the client stopped for good, if it did.
        self.error: BaseException | None = None
        #: What became of the data frames this client wrote (see :class:`DeliveryStats`).
        self.delivery = DeliveryStats()
        #: Data frames that arrived after this client had closed its connection (the
        #: zipper routed them before it heard of the close); they were not handled.
        self.discarded = 0
        self._error_handler: Callable[[BaseException], object] | None = None
        read_environment()  # traces, when OTEL_EXPORTER_OTLP_ENDPOINT asks for them

    @property
    def address(self) -> tuple[str, int]:
        """The zipper's host and port (where it redirected this client, if it did)."""
        return self._connector.address

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
        await self._connector.connect()

    async def close(self, timeout: float = 5.0) -> None:
        """Send what was accepted (up to ``timeout``), say Goaway, and stop.

        When it returns, :attr:`delivery` is final: frames the zipper had not confirmed
        by then are counted as dropped.
        """
        self._connector.closing = True
        deadline = asyncio.get_running_loop().time() + timeout
        self._writable.set()  # writers waiting for a connection learn of the close
        link = self._link
        if link is not None:
            await link.drain(deadline)
        await self._connector.stop()
        if link is not None:
            await link.wait_lost(deadline)
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
        await self._connector.wait_stopped()
        if self.error is not None and not self._connector.closing:
            raise self.error

    async def __aenter__(self) -> ZipperClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # writing

    async def _send(self, frame: DataFrame, key: object = None) -> None:
        """Send when a connection is open and not congested (waits otherwise).

        ``key`` names the frame in :attr:`delivery` should it be dropped.
        """
        while True:
            if self._connector.closing:
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
        if self._link is not None:
            self._link.pause_reading()

    def _resume_reading(self) -> None:
        """Undo :meth:`_pause_reading`."""
        if self._link is not None:
            self._link.resume_reading()

    # connecting

    def _new_link(self) -> Link:
        self._link = Link(
            self.name, self._handshake(), self.connection_config, self._hooks, self._writable
        )
        return self._link

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

    def _transport(self) -> Transport:
        if isinstance(self._transport_spec, Transport):
            return self._transport_spec
        from rxyomo.transport import get_transport  # resolved once, on first use

        options = TransportOptions(tls=self._tls) if self._tls is not None else None
        self._transport_spec = get_transport(self._transport_spec, options)
        return self._transport_spec

    def _fail(self, exc: BaseException) -> None:
        self.error = exc
        self._writable.set()  # writers waiting for a connection learn of the failure
        log.warning("%s: giving up: %s", self.name, exc)
        self._report_error(exc)

    # what the connection tells

    def on_outcome(self, outcome: Outcome[object]) -> None:
        """Count what became of some of this client's frames (by the keys they were
        written with) in :attr:`delivery`; the connection calls it whenever frames are
        confirmed, dropped or of unknown fate. A subclass that keeps state per frame (a
        mesh link's tickets) extends it."""
        for reasons in (outcome.dropped, outcome.unknown):
            for reason, keys in reasons.items():
                log.warning(
                    "%s: %d frames were in flight when the connection ended (%s)",
                    self.name,
                    len(keys),
                    reason,
                )
        self.delivery.record(outcome)

    def _on_frame(self, frame: DataFrame) -> None:
        """A data frame arrived (subclasses consume it)."""

    def _on_opened(self, receipts: bool, rxyomo_zipper: bool) -> None:
        if not self.receipts or receipts or self._told_no_receipts:
            return
        # Said once per client, not per connection.
        self._told_no_receipts = True
        log.info(
            "%s: the zipper %s receipts; frames count as delivered once its transport has "
            "them (a zipper killed outright may take some along uncounted)",
            self.name,
            "declined" if rxyomo_zipper else "does not offer (not an rxyomo zipper)",
        )

    def _on_discarded(self, count: int) -> None:
        self.discarded += count

    async def _on_closed(self) -> None:
        """The client stopped (subclasses release their resources)."""
