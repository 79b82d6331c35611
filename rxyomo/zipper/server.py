"""The zipper: listens for connections, joins the mesh, and closes in order.

The moving parts live beside it: :mod:`~rxyomo.zipper.peer` (one accepted connection),
:mod:`~rxyomo.zipper.router` (what flows between connections),
:mod:`~rxyomo.zipper.admission` (who gets in), :mod:`~rxyomo.zipper.receipts` (when
receipts go out) and :mod:`~rxyomo.zipper.serving` (the functions it serves itself).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from rxyomo.delivery.destination import LOST_IN_FLIGHT
from rxyomo.functions.host import Reload
from rxyomo.observe import hooks as observe_hooks
from rxyomo.protocol.connection import ConnectionConfig
from rxyomo.protocol.extensions import ALL as ALL_EXTENSIONS
from rxyomo.protocol.extensions import HEARTBEAT
from rxyomo.transport.base import Listener, Transport
from rxyomo.zipper.mesh import MeshLink
from rxyomo.zipper.peer import ARRIVED_CLOSED, Peer
from rxyomo.zipper.receipts import SETTLE_INTERVAL
from rxyomo.zipper.router import Router
from rxyomo.zipper.serving import ServedFunctions
from rxyomo.zipper.workflow import Workflow

__all__ = ["ARRIVED_CLOSED", "LOST_IN_FLIGHT", "SETTLE_INTERVAL", "Zipper", "serve"]

log = logging.getLogger("rxyomo.zipper")


class Zipper:
    """Routes data frames between sources, stream functions, sinks and other zippers.

    The workflow's functions with code (``wasm:``, ``python:``) are served in-process;
    with ``watch_functions`` each is reloaded when its file changes.
    """

    def __init__(
        self,
        workflow: Workflow,
        transport: Transport,
        *,
        connection_config: ConnectionConfig | None = None,
        stats_interval: float | None = None,
        watch_functions: bool = False,
    ) -> None:
        self.workflow = workflow
        self.transport = transport
        limits = workflow.limits
        self.connection_config = connection_config or ConnectionConfig(
            max_frame_size=limits.max_frame_size, handshake_timeout=limits.handshake_timeout
        )
        # What rxyomo clients may agree to: heartbeats only where the transport has no
        # liveness of its own.
        extensions = ALL_EXTENSIONS - {HEARTBEAT} if transport.liveness else ALL_EXTENSIONS
        self._ids = itertools.count(1)
        #: What every connection reports to: routing, back-pressure, receipts.
        self.router = Router(workflow, extensions, self.snapshot, self._control)
        #: The functions this zipper serves itself.
        self.functions = ServedFunctions(
            workflow.served, self.router, self._ids, watch=watch_functions
        )
        self.routing = self.router.routing
        self.stats = self.router.stats
        #: The connections taken in, by connection id.
        self.peers = self.router.peers
        #: Which senders are held paused for which slow destinations.
        self.pressure = self.router.pressure
        #: The links to the other zippers of the mesh.
        self.mesh: list[MeshLink] = self.router.mesh
        self._mesh_tasks: list[asyncio.Task[None]] = []
        self._listener: Listener | None = None
        self._stats_interval = stats_interval
        self._stats_task: asyncio.Task[None] | None = None
        self._closed = asyncio.Event()
        #: What serves the metrics and the live view (:mod:`rxyomo.observe`), once started.
        self.observe_servers: list[Any] = []
        observe_hooks.read_environment()  # traces, when OTEL_EXPORTER_OTLP_ENDPOINT asks
        if observe_hooks.HOOKS.tracing is not None or workflow.metrics or workflow.dashboard:
            from rxyomo.observe.zipper import attach

            attach(self)

    @property
    def address(self) -> tuple[str, int]:
        """The bound host and port."""
        if self._listener is None:
            raise RuntimeError("the zipper is not started")
        return self._listener.address

    async def start(self) -> tuple[str, int]:
        """Load the functions it serves, then start listening; returns the bound address.

        A function whose code cannot be served is refused (logged, and named in the
        stats with the reason); the others serve all the same.
        """
        await self.functions.start()
        self._listener = await self.transport.serve(
            self.workflow.host, self.workflow.port, self._new_peer
        )
        loop = asyncio.get_running_loop()
        for peer in self.workflow.mesh:
            link = MeshLink(
                self.workflow.name,
                peer,
                self.stats,
                on_release=self.router.released,
                transport=self.transport,
            )
            self.mesh.append(link)
            # Peers may start later than this zipper: the link retries by itself.
            self._mesh_tasks.append(loop.create_task(self._join_mesh(link)))
        if self._stats_interval:
            self._stats_task = loop.create_task(self._log_stats())
        if self.workflow.metrics or self.workflow.dashboard:
            from rxyomo.observe.web import start_servers

            try:
                self.observe_servers = await start_servers(
                    self, metrics=self.workflow.metrics, dashboard=self.workflow.dashboard
                )
            except BaseException:
                await self.close()
                raise
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
        if self.functions.functions:
            # What the served functions hold is answered before the connections go.
            await self.functions.drain(grace / 2)
        channels = [p.channel for p in self.peers.values() if p.channel is not None]
        for peer in list(self.peers.values()):
            peer.close(message)
        for link in self.mesh:
            await link.close(timeout=1.0)
        for task in self._mesh_tasks:
            task.cancel()
        await self.functions.close(timeout=grace / 2)
        self.router.close()
        for server in self.observe_servers:
            await server.close()
        self.observe_servers = []
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
        if len(self.functions):
            data["functions"] = self.functions.snapshot()
        return data

    async def reload_functions(self, names: Sequence[str] = ()) -> list[Reload]:
        """Reload the functions it serves named (all when none): see
        :meth:`~rxyomo.zipper.serving.ServedFunctions.reload`."""
        return await self.functions.reload(names)

    def _control(self, peer: Peer, payload: bytes) -> None:
        self.functions.control(peer, payload)

    def _new_peer(self) -> Peer:
        return Peer(self.router, next(self._ids), self.connection_config)

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
