"""The zipper's routing table: a plain object, tested without any network.

It knows which connections are up, what each observes, and how the workflow
orders them, and answers two questions: may this handshake join
(:meth:`RoutingTable.admit`), and where does this data frame go
(:meth:`RoutingTable.route`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from rxyomo.protocol.frames import ClientType, HandshakeFrame
from rxyomo.zipper.workflow import FunctionSpec, InstancePolicy, Stage, Workflow

ConnId = int


@dataclass(frozen=True)
class Endpoint:
    """A connected client as the router sees it."""

    conn_id: ConnId
    name: str
    client_type: int
    observed_tags: frozenset[int]
    want_target: str = ""
    spec: FunctionSpec | None = None

    @property
    def is_zipper(self) -> bool:
        """A mesh peer: its frames are routed locally and never forwarded again."""
        return self.client_type == ClientType.UPSTREAM_ZIPPER

    def observes(self, tag: int) -> bool:
        """Whether this endpoint wants frames of ``tag`` (no tags: everything, seed form)."""
        return not self.observed_tags or tag in self.observed_tags


@dataclass(frozen=True)
class Admission:
    """The answer to a handshake: accepted (possibly replacing others) or rejected."""

    accepted: bool
    reason: str = ""
    replaced: tuple[ConnId, ...] = ()


@dataclass
class _Group:
    """The instances of one function name; frames are balanced across them."""

    members: list[Endpoint] = field(default_factory=list)
    turn: itertools.count[int] = field(default_factory=itertools.count)


@dataclass(frozen=True)
class Route:
    """Where one data frame goes."""

    connections: tuple[ConnId, ...]
    #: Forward to the mesh too: the frame did not come from another zipper.
    to_mesh: bool


class RoutingTable:
    """Which connection observes what, following one :class:`Workflow`."""

    def __init__(self, workflow: Workflow) -> None:
        self.workflow = workflow
        # Fixed for the table's life, and asked for every frame: worked out once.
        self._sequential = workflow.is_sequential
        self._flows = workflow.flows
        self._sinks = workflow.sinks
        self._endpoints: dict[ConnId, Endpoint] = {}
        self._groups: dict[str, _Group] = {}

    def __len__(self) -> int:
        return len(self._endpoints)

    def endpoint(self, conn_id: ConnId) -> Endpoint | None:
        """The endpoint of a connection, if it was admitted."""
        return self._endpoints.get(conn_id)

    def endpoints(self) -> list[Endpoint]:
        """All admitted endpoints."""
        return list(self._endpoints.values())

    def admit(
        self, conn_id: ConnId, handshake: HandshakeFrame, *, local: bool = False
    ) -> Admission:
        """Decide whether a handshake may join and register it if so.

        ``local`` is for a function the zipper serves itself (its workflow entry has
        code); a connection may not take such a function's name.
        """
        if conn_id in self._endpoints:
            return Admission(False, f"connection {conn_id} already joined")
        spec: FunctionSpec | None = None
        if handshake.client_type == ClientType.STREAM_FUNCTION:
            spec = self.workflow.function(handshake.name)
            if spec is None:
                listed = ", ".join(f.name for f in self.workflow.functions) or "none"
                return Admission(
                    False,
                    f"function {handshake.name!r} is not in workflow "
                    f"{self.workflow.name!r} (it lists: {listed})",
                )
            if (spec.served is not None) != local:
                served = "is served by the zipper itself" if not local else "connects"
                return Admission(False, f"function {handshake.name!r} {served}")
        elif handshake.client_type not in (ClientType.SOURCE, ClientType.UPSTREAM_ZIPPER):
            return Admission(False, f"unknown client type 0x{handshake.client_type:02X}")
        replaced: tuple[ConnId, ...] = ()
        group = self._groups.get(handshake.name) if spec is not None else None
        if group and self.workflow.instances is InstancePolicy.REPLACE:
            replaced = tuple(member.conn_id for member in group.members)
            for old in replaced:
                self.remove(old)
        endpoint = Endpoint(
            conn_id=conn_id,
            name=handshake.name,
            client_type=handshake.client_type,
            observed_tags=frozenset(handshake.observed_data_tags),
            want_target=handshake.want_target,
            spec=spec,
        )
        self._endpoints[conn_id] = endpoint
        if spec is not None:
            self._groups.setdefault(handshake.name, _Group()).members.append(endpoint)
        return Admission(True, replaced=replaced)

    def remove(self, conn_id: ConnId) -> Endpoint | None:
        """Forget a connection (closed or replaced)."""
        endpoint = self._endpoints.pop(conn_id, None)
        if endpoint is not None and endpoint.spec is not None:
            group = self._groups.get(endpoint.name)
            if group is not None:
                group.members = [m for m in group.members if m.conn_id != conn_id]
                if not group.members:
                    del self._groups[endpoint.name]
        return endpoint

    def route(
        self,
        sender: ConnId,
        tag: int,
        *,
        target: str = "",
        broadcast: bool = False,
        congested: Callable[[ConnId], bool] = lambda _conn: False,
    ) -> Route:
        """The connections a data frame from ``sender`` with ``tag`` goes to.

        One instance of each observing function receives it (the least busy
        in turn: a congested instance is passed over while another is free);
        ``broadcast`` sends it to every instance. With a ``target`` only
        functions that asked for that target receive it.
        """
        source = self._endpoints.get(sender)
        if source is None:
            return Route((), False)
        out: list[ConnId] = []
        for group in self._next_stage(source):
            members = [m for m in group.members if m.observes(tag)]
            if target:
                members = [m for m in members if m.want_target == target]
            if not members:
                continue
            if broadcast:
                out.extend(m.conn_id for m in members)
            else:
                out.append(_pick(group, members, congested))
        return Route(tuple(out), to_mesh=not source.is_zipper)

    def _next_stage(self, source: Endpoint) -> Iterable[_Group]:
        """The groups that may receive from ``source``, per the workflow's shape."""
        if not self._sequential:
            # Tag routing; a function never receives its own output, which
            # would otherwise loop forever when it emits a tag it observes.
            return (g for name, g in self._groups.items() if name != source.name)
        flows = self._flows
        spec = source.spec
        if spec is None:
            wanted: tuple[FunctionSpec, ...] = flows[:1] or self._sinks
        elif spec.stage is Stage.FLOW and spec.index + 1 < len(flows):
            wanted = (flows[spec.index + 1],)
        elif spec.stage is Stage.FLOW:
            wanted = self._sinks
        else:
            wanted = ()  # sinks are the end of the line
        return (self._groups[f.name] for f in wanted if f.name in self._groups)


def _pick(group: _Group, members: list[Endpoint], congested: Callable[[ConnId], bool]) -> ConnId:
    start = next(group.turn)
    count = len(members)
    for step in range(count):
        candidate = members[(start + step) % count]
        if not congested(candidate.conn_id):
            return candidate.conn_id
    # All busy: keep the rotation fair; back-pressure will slow the sender.
    return members[start % count].conn_id
