"""The zipper: asyncio glue between transports, protocol cores and the routing table."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import msgpack

from rxyomo._throttle import ThrottledLog
from rxyomo._timer import CoreTimer
from rxyomo.delivery.backpressure import BackPressure
from rxyomo.delivery.ledger import Ledger
from rxyomo.delivery.settlement import Settlement, Ticket
from rxyomo.protocol.auth import check_credential
from rxyomo.protocol.connection import (
    Connection,
    ConnectionConfig,
    ConnectionState,
    Role,
)
from rxyomo.protocol.events import ConnectionTerminated, DataReceived, Event, HandshakeReceived
from rxyomo.protocol.extensions import ALL as ALL_EXTENSIONS
from rxyomo.protocol.extensions import HEARTBEAT, RECEIPTS, STATS
from rxyomo.protocol.frames import DataFrame, encode_frame, is_reserved_tag
from rxyomo.protocol.metadata import TARGET, MetadataError, decode_metadata
from rxyomo.protocol.receipts import no_observer
from rxyomo.protocol.reserved import BROADCAST, STATS_TAG
from rxyomo.transport.base import Channel, Listener, StreamHandler, Transport
from rxyomo.zipper.mesh import MeshLink
from rxyomo.zipper.routing import RoutingTable
from rxyomo.zipper.stats import ConnectionStats, ZipperStats
from rxyomo.zipper.workflow import Workflow

log = logging.getLogger("rxyomo.zipper")

# Metadata keys the router acts on, as msgpack carries them (raw UTF-8).
_TARGET_KEY = TARGET.encode()
_BROADCAST_KEY = BROADCAST.encode()

#: Drop reason: frames sent to a connection that was lost before its transport confirmed them.
LOST_IN_FLIGHT = "in flight to a lost connection"
#: Drop reason: frames that arrived on a connection already closed (or rejected).
ARRIVED_CLOSED = "arrived on a closed connection"
#: At most one receipt per client every this many seconds: one covers many frames,
#: sparing a packet each way per frame.
SETTLE_INTERVAL = 0.02


class _Peer(StreamHandler):
    """One accepted connection: feeds the protocol core and acts on its events."""

    def __init__(self, zipper: Zipper, conn_id: int) -> None:
        self.zipper = zipper
        self.conn_id = conn_id
        self.loop = asyncio.get_running_loop()
        self.core = Connection(Role.SERVER, self.loop.time(), zipper.connection_config)
        self.channel: Channel | None = None
        self.stats = ConnectionStats(name="", peer="")
        #: The frames sent to this peer that its transport has not confirmed, by ticket
        #: (None for frames whose writer did not ask for receipts).
        self.ledger: Ledger[Ticket | None] = Ledger()
        #: This client's frames until they are settled, when it agreed to receipts.
        self.settlement: Settlement | None = None
        #: Why this connection is turned away once its handshake arrives (the zipper was
        #: full when it came): a handshake tells whether the client takes a Goaway.
        self.refusal: str | None = None
        self._timer = CoreTimer(self.loop, self._on_timer)

    # transport callbacks

    def connection_made(self, channel: Channel) -> None:
        self.channel = channel
        self.stats.peer = channel.peer
        if len(self.zipper.peers) >= self.zipper.workflow.limits.max_connections:
            # Turned away at its handshake, or at the handshake timeout if none comes.
            self.refusal = "too many connections, try again later"
            self.zipper.stats.drop("connection refused: max connections")
        else:
            self.zipper.peers[self.conn_id] = self
        self._arm_timer()

    def data_received(self, data: bytes) -> None:
        discarded = self.core.frames_discarded
        self._handle(self.core.receive_data(data, self.loop.time()))
        if self.core.frames_discarded != discarded:
            self.zipper.stats.drop(ARRIVED_CLOSED, self.core.frames_discarded - discarded)
        # Frames routed from this chunk go out together: one write per destination.
        self.zipper._flush_destinations()
        self.zipper._settle_later()

    def connection_lost(self, exc: Exception | None) -> None:
        reason = f"connection lost: {exc}" if exc else "connection closed by the peer"
        self._handle(self.core.connection_lost(reason))
        self._forget()
        # Nothing more will be acknowledged: what was not is counted, never lost silently.
        if self.channel is not None:
            self._release(self.ledger.confirm(self.channel.confirmed_bytes(self.core.bytes_queued)))
        lost = self.ledger.clear()
        if lost:
            self.zipper.stats.drop(LOST_IN_FLIGHT, len(lost))
            log.warning(
                "%d frames were in flight to %s (%s) when it was lost",
                len(lost),
                self.conn_id,
                self.stats.name,
            )
            # Counted: for receipts, those frames are settled as dropped.
            self._release(lost, LOST_IN_FLIGHT)
            self.zipper._settle()

    def pause_writing(self) -> None:
        self.zipper.pressure.congested(self.conn_id)

    def resume_writing(self) -> None:
        self.zipper._resume(self.zipper.pressure.drained(self.conn_id))

    def write_confirmed(self, confirmed: int) -> None:
        if self._release(self.ledger.confirm(confirmed)):
            self.zipper._settle_later()

    def _release(self, tickets: list[Ticket | None], dropped: str | None = None) -> bool:
        # One delivery of each of these frames is done (or counted dropped); True if any
        # had a ticket.
        released = False
        for ticket in tickets:
            if ticket is not None:
                ticket.release(dropped)
                released = True
        return released

    # protocol events

    def _handle(self, events: list[Event]) -> None:
        for event in events:
            if isinstance(event, DataReceived):
                self.zipper._on_data(self, event.frame)
            elif isinstance(event, HandshakeReceived):
                # Frames the client pipelined behind its handshake come with the decision.
                self._handle(self.zipper._on_handshake(self, event))
            elif isinstance(event, ConnectionTerminated):
                log.info(
                    "connection %s (%s) closed: %s", self.conn_id, self.stats.name, event.reason
                )
        self.flush()
        if self.core.state is ConnectionState.CLOSED:
            self._close_channel()
        else:
            self._arm_timer()

    def send(self, encoded: bytes, size: int, ticket: Ticket | None = None) -> None:
        """Queue an encoded data frame and account for it; the zipper flushes it.

        ``ticket`` (the frame's, when its writer asked for receipts) is held until this
        connection's transport confirms the frame.
        """
        if ticket is not None:
            ticket.hold()
        self.ledger.sent(self.core.send_encoded(encoded, self.loop.time()), ticket)
        self.stats.frames_out += 1
        self.stats.bytes_out += size
        self.zipper._unflushed.add(self)

    def flush(self) -> None:
        """Hand what is queued to the transport (``write_confirmed`` tells the rest)."""
        data = self.core.data_to_send()
        if data and self.channel is not None and not self.channel.is_closing():
            self.channel.write(data)

    def _close_channel(self) -> None:
        channel = self.channel
        if channel is not None and not channel.is_closing():
            channel.abort() if self.core.peer_expired else channel.close()
        self._forget()

    def _forget(self) -> None:
        self._timer.cancel()
        self.zipper._forget(self)

    def _arm_timer(self) -> None:
        self._timer.arm(self.core.next_timer())

    def _on_timer(self) -> None:
        self._handle(self.core.handle_timer(self.loop.time()))


class Zipper:
    """Routes data frames between sources, stream functions, sinks and other zippers."""

    def __init__(
        self,
        workflow: Workflow,
        transport: Transport,
        *,
        connection_config: ConnectionConfig | None = None,
        stats_interval: float | None = None,
    ) -> None:
        self.workflow = workflow
        self.transport = transport
        limits = workflow.limits
        self.connection_config = connection_config or ConnectionConfig(
            max_frame_size=limits.max_frame_size, handshake_timeout=limits.handshake_timeout
        )
        self.routing = RoutingTable(workflow)
        self.stats = ZipperStats()
        self.peers: dict[int, _Peer] = {}
        #: Which senders are held paused for which slow destinations.
        self.pressure = BackPressure()
        #: Peers with frames queued during the current batch of input.
        self._unflushed: set[_Peer] = set()
        #: Peers that asked for receipts and have frames not settled yet.
        self._settling: set[_Peer] = set()
        self._settle_handle: asyncio.TimerHandle | None = None
        # Warnings any client can provoke at will: logged at a bounded rate.
        self._warn = ThrottledLog(log)
        self.mesh: list[MeshLink] = []
        self._mesh_tasks: list[asyncio.Task[None]] = []
        self._ids = itertools.count(1)
        # What rxyomo clients may agree to: heartbeats only where the transport has no
        # liveness of its own.
        self._extensions = ALL_EXTENSIONS - {HEARTBEAT} if transport.liveness else ALL_EXTENSIONS
        self._listener: Listener | None = None
        self._stats_interval = stats_interval
        self._stats_task: asyncio.Task[None] | None = None
        self._closed = asyncio.Event()

    @property
    def address(self) -> tuple[str, int]:
        """The bound host and port."""
        if self._listener is None:
            raise RuntimeError("the zipper is not started")
        return self._listener.address

    async def start(self) -> tuple[str, int]:
        """Start listening; returns the bound address."""
        self._listener = await self.transport.serve(
            self.workflow.host, self.workflow.port, lambda: _Peer(self, next(self._ids))
        )
        loop = asyncio.get_running_loop()
        for peer in self.workflow.mesh:
            link = MeshLink(
                self.workflow.name,
                peer,
                self.stats,
                on_release=self._settle_later,
                transport=self.transport,
            )
            self.mesh.append(link)
            # Peers may start later than this zipper: the link retries by itself.
            self._mesh_tasks.append(loop.create_task(self._join_mesh(link)))
        if self._stats_interval:
            self._stats_task = loop.create_task(self._log_stats())
        log.info(
            "zipper %r listening on %s:%s (%s)",
            self.workflow.name,
            *self.address,
            self.transport.name,
        )
        return self.address

    async def close(self, message: str = "zipper shutting down", *, grace: float = 2.0) -> None:
        """Say Goaway to every connection and stop listening.

        Connections get ``grace`` seconds to take what was queued for them (a
        client that vanished never will); then they are cut.
        """
        if self._listener is not None:
            self._listener.close()
        channels = [p.channel for p in self.peers.values() if p.channel is not None]
        for peer in list(self.peers.values()):
            peer.core.close(message, peer.loop.time())
            peer.flush()
            peer._close_channel()
        for link in self.mesh:
            await link.close(timeout=1.0)
        for task in self._mesh_tasks:
            task.cancel()
        if self._settle_handle is not None:
            self._settle_handle.cancel()
            self._settle_handle = None
        if self._stats_task is not None:
            self._stats_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._stats_task
        if self._listener is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._listener.wait_closed()), grace)
            except asyncio.TimeoutError:
                log.warning("connections still closing after %g s: cutting them", grace)
                for channel in channels:
                    channel.abort()
                await self._listener.wait_closed()
        self._closed.set()

    async def wait_closed(self) -> None:
        """Wait until :meth:`close` finished."""
        await self._closed.wait()

    def snapshot(self) -> dict[str, Any]:
        """The zipper's counters and connections, as plain data."""
        data = self.stats.as_dict()
        data["name"] = self.workflow.name
        return data

    # called by peers

    def _on_handshake(self, peer: _Peer, event: HandshakeReceived) -> list[Event]:
        hs = event.handshake
        now = peer.loop.time()
        if peer.refusal is not None:
            peer.core.close(peer.refusal, now)
            return []
        problem = check_credential(self.workflow.auth_token, hs)
        admission = self.routing.admit(peer.conn_id, hs) if problem is None else None
        if admission is None or not admission.accepted:
            reason = problem or (admission.reason if admission else "rejected")
            self._warn.warning(
                "rejected", "rejected %r from %s: %s", hs.name, peer.stats.peer, reason
            )
            self.stats.rejected += 1
            return peer.core.reject(reason, now)
        for old in admission.replaced:
            replaced = self.peers.get(old)
            if replaced is not None:
                replaced.core.close(f"replaced by a newer instance of {hs.name!r}", now)
                replaced.flush()
                replaced._close_channel()
        peer.stats.name = hs.name
        self.stats.accepted += 1
        self.stats.connections[peer.conn_id] = peer.stats
        events = peer.core.accept(now, self._extensions)
        if RECEIPTS in peer.core.extensions:
            peer.settlement = Settlement()  # counting from the client's first data frame
        log.info(
            "accepted %r (type 0x%02X, observes %s) from %s, %s",
            hs.name,
            hs.client_type,
            [hex(t) for t in hs.observed_data_tags],
            peer.stats.peer,
            f"rxyomo extensions {sorted(peer.core.extensions)}"
            if peer.core.peer_is_rxyomo
            else "no rxyomo extensions",
        )
        return events

    def _on_data(self, peer: _Peer, frame: DataFrame) -> None:
        settlement = peer.settlement
        if settlement is None:
            self._route(peer, frame, None)
            return
        ticket = settlement.arrive()
        try:
            self._route(peer, frame, ticket)
        finally:
            ticket.placed()
        self._settling.add(peer)

    def _route(self, peer: _Peer, frame: DataFrame, ticket: Ticket | None) -> None:
        if is_reserved_tag(frame.tag):
            # Control frames (receipts, stats requests) are not traffic.
            self._on_reserved(peer, frame, ticket)
            return
        size = len(frame.payload)
        peer.stats.frames_in += 1
        peer.stats.bytes_in += size
        target, broadcast = "", False
        metadata = frame.metadata
        # Only routing keys matter here: most frames carry none, and skip the decode.
        if metadata and (_TARGET_KEY in metadata or _BROADCAST_KEY in metadata):
            try:
                meta = decode_metadata(frame.metadata)
            except MetadataError as exc:
                self._drop("bad metadata", ticket)
                self._warn.warning(
                    "bad metadata",
                    "dropped a frame from %s: bad metadata: %s",
                    peer.stats.name,
                    exc,
                )
                return
            target = meta.get(TARGET, "")
            broadcast = meta.get(BROADCAST, "") == "1"
        route = self.routing.route(
            peer.conn_id,
            frame.tag,
            target=target,
            broadcast=broadcast,
            congested=lambda c: self.pressure.is_congested(c) if c in self.peers else True,
        )
        if not route.connections and not (route.to_mesh and self.mesh):
            self._drop(no_observer(frame.tag), ticket)
            return
        encoded = encode_frame(frame)
        for conn_id in route.connections:
            dest = self.peers.get(conn_id)
            if dest is None or dest.core.state is not ConnectionState.OPEN:
                self._drop("destination closed", ticket)
                continue
            dest.send(encoded, size, ticket)
            if self.pressure.routed(peer.conn_id, conn_id) and peer.channel is not None:
                # The destination is slow: stop reading from this sender until
                # it drains, so memory stays bounded instead of queueing more.
                peer.channel.pause_reading()
        if route.to_mesh:
            for link in self.mesh:
                link.forward(encoded, ticket)

    def _drop(self, reason: str, ticket: Ticket | None) -> None:
        """Count one frame dropped; its receipt (if its writer asked) will say why."""
        self.stats.drop(reason)
        if ticket is not None:
            ticket.mark(reason)

    def _flush_destinations(self) -> None:
        while self._unflushed:
            self._unflushed.pop().flush()

    def _settle(self) -> None:
        """Send the receipts that are due. Every release of a ticket (a destination's
        confirmation, a mesh peer's receipt, a loss) asks for this again."""
        for peer in list(self._settling):
            settlement = peer.settlement
            if settlement is None or peer.core.state is not ConnectionState.OPEN:
                self._settling.discard(peer)
                continue
            due = settlement.advance()
            if due is not None:
                peer.core.send_control(due, peer.loop.time())
                peer.flush()
            if not settlement.pending:
                self._settling.discard(peer)

    def _settle_later(self) -> None:
        # Receipts go out at most every SETTLE_INTERVAL, not after every release: one
        # receipt covers many frames, sparing a packet each way per frame.
        if self._settling and self._settle_handle is None:
            loop = asyncio.get_running_loop()
            self._settle_handle = loop.call_later(SETTLE_INTERVAL, self._on_settle_timer)

    def _on_settle_timer(self) -> None:
        self._settle_handle = None
        self._settle()

    def _on_reserved(self, peer: _Peer, frame: DataFrame, ticket: Ticket | None) -> None:
        if frame.tag == STATS_TAG and STATS in peer.core.extensions:
            if peer.core.state is not ConnectionState.OPEN:
                # Later bytes of the same chunk already closed the connection.
                self._drop("stats request on a closed connection", ticket)
                return
            payload = msgpack.packb(self.snapshot())
            peer.send(encode_frame(DataFrame(tag=STATS_TAG, payload=payload)), len(payload))
        else:
            self._drop("reserved tag", ticket)

    def _forget(self, peer: _Peer) -> None:
        if self.peers.pop(peer.conn_id, None) is None:
            return
        self.routing.remove(peer.conn_id)
        if self.stats.connections.pop(peer.conn_id, None) is not None:
            self.stats.closed += 1
        self._resume(self.pressure.forget(peer.conn_id))  # release anyone it held paused

    def _resume(self, senders: list[int]) -> None:
        for conn_id in senders:
            sender = self.peers.get(conn_id)
            if sender is not None and sender.channel is not None:
                sender.channel.resume_reading()

    async def _join_mesh(self, link: MeshLink) -> None:
        try:
            await link.connect()
            log.info("joined mesh peer %s at %s:%s", link.peer.name, *link.address)
        except Exception as exc:  # a rejected link must not take the zipper down
            log.error("mesh peer %s refused this zipper: %s", link.peer.name, exc)

    async def _log_stats(self) -> None:
        assert self._stats_interval
        while True:
            await asyncio.sleep(self._stats_interval)
            log.info("stats: %s", self.stats.summary())


async def serve(
    workflow: Workflow,
    transport: Transport,
    *,
    ready: Callable[[Zipper], Awaitable[None]] | None = None,
) -> None:
    """Run a zipper until cancelled (the CLI's ``serve``)."""
    zipper = Zipper(workflow, transport, stats_interval=10.0)
    await zipper.start()
    try:
        if ready is not None:
            await ready(zipper)
        await zipper.wait_closed()
    finally:
        await zipper.close()
