"""The runtime end to end, over the in-memory transport and over QUIC and TCP on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from rxyomo.client import ConnectionRejected, Context, Sink, Source, StreamFunction
from rxyomo.client.stats import fetch_stats
from rxyomo.delivery.stats import BY_ZIPPER
from rxyomo.protocol.connection import ConnectionConfig
from rxyomo.protocol.extensions import RECEIPTS
from rxyomo.protocol.frames import DataFrame, encode_frame
from rxyomo.protocol.metadata import SOURCE_ID, SPAN_ID, TID, TRACE_ID
from rxyomo.transport import Transport
from rxyomo.transport.base import Channel, StreamHandler
from rxyomo.zipper import Zipper
from rxyomo.zipper.stats import ConnectionStats
from tests.rxyomo.transport._support import Tap

from .conftest import FAST, ZipperFactory, addr, eventually, free_port


def connection_stats(zipper: Zipper, name: str) -> ConnectionStats:
    """The zipper's counters of the one connection of the client called ``name``."""
    [stats] = [c for c in zipper.stats.connections.values() if c.name == name]
    return stats


MODERN = """\
name: test
host: 127.0.0.1
port: 0
functions:
  - name: upper
  - name: printer
"""


async def test_source_to_function_to_sink(make_zipper: ZipperFactory, transport: Transport) -> None:
    zipper = await make_zipper(MODERN)
    got: list[bytes] = []
    fn = StreamFunction(
        "upper",
        observe=[0x10],
        handler=lambda d: (0x11, d.upper()),
        zipper=addr(zipper),
        transport=transport,
    )
    sink = Sink(
        "printer", observe=[0x11], handler=got.append, zipper=addr(zipper), transport=transport
    )
    source = Source("src", zipper=addr(zipper), transport=transport)
    for client in (fn, sink, source):
        await client.connect()
    for i in range(50):
        await source.write(0x10, f"frame {i}".encode())
    await eventually(lambda: len(got) == 50)
    assert got == [f"FRAME {i}".encode() for i in range(50)]
    for client in (source, fn, sink):
        await client.close()


async def test_async_handler_and_failures_do_not_stop_the_function(
    make_zipper: ZipperFactory, transport: Transport
) -> None:
    zipper = await make_zipper(MODERN)
    got: list[bytes] = []

    async def handler(data: bytes) -> tuple[int, bytes]:
        await asyncio.sleep(0)  # scenario: a handler that really suspends
        if data == b"bad":
            raise ValueError("cannot handle")
        return 0x11, data

    fn = StreamFunction(
        "upper", observe=[0x10], handler=handler, zipper=addr(zipper), transport=transport
    )
    sink = Sink(
        "printer", observe=[0x11], handler=got.append, zipper=addr(zipper), transport=transport
    )
    source = Source("src", zipper=addr(zipper), transport=transport)
    for client in (fn, sink, source):
        await client.connect()
    for item in (b"a", b"bad", b"c"):
        await source.write(0x10, item)
    await eventually(lambda: len(got) == 2)
    assert got == [b"a", b"c"]
    assert fn.errors == 1
    assert fn.handled == 2
    for client in (source, fn, sink):
        await client.close()


async def test_function_not_in_workflow_is_rejected(
    make_zipper: ZipperFactory, transport: Transport
) -> None:
    zipper = await make_zipper(MODERN)
    fn = StreamFunction(
        "stranger",
        observe=[1],
        handler=lambda d: None,
        zipper=addr(zipper),
        transport=transport,
        reconnect=FAST,
    )
    with pytest.raises(ConnectionRejected, match="not in workflow 'test'"):
        await asyncio.wait_for(fn.connect(), 3)
    await fn.close()
    assert zipper.stats.rejected == 1


async def test_token_auth(make_zipper: ZipperFactory, transport: Transport) -> None:
    zipper = await make_zipper(MODERN + "auth:\n  type: token\n  token: abc\n")
    wrong = Source("s1", zipper=addr(zipper), transport=transport, credential="token:xyz")
    with pytest.raises(ConnectionRejected, match="wrong token"):
        await asyncio.wait_for(wrong.connect(), 3)
    missing = Source("s2", zipper=addr(zipper), transport=transport)
    with pytest.raises(ConnectionRejected, match="needs a token"):
        await asyncio.wait_for(missing.connect(), 3)
    right = Source("s3", zipper=addr(zipper), transport=transport, credential="token:abc")
    await asyncio.wait_for(right.connect(), 3)
    assert right.is_connected
    for client in (wrong, missing, right):
        await client.close()


async def test_seed_workflow_runs_flows_in_sequence(
    make_zipper: ZipperFactory, transport: Transport
) -> None:
    zipper = await make_zipper(
        "name: seed\nport: 0\nflows:\n  - name: add-a\n  - name: add-b\nsinks:\n"
        "  - name: k1\n  - name: k2\n"
    )
    k1: list[bytes] = []
    k2: list[bytes] = []
    clients = [
        StreamFunction(
            "add-a", handler=lambda d: (0x20, d + b"a"), zipper=addr(zipper), transport=transport
        ),
        StreamFunction(
            "add-b", handler=lambda d: (0x30, d + b"b"), zipper=addr(zipper), transport=transport
        ),
        Sink("k1", handler=k1.append, zipper=addr(zipper), transport=transport),
        Sink("k2", handler=k2.append, zipper=addr(zipper), transport=transport),
    ]
    source = Source("src", zipper=addr(zipper), transport=transport)
    for client in [*clients, source]:
        await client.connect()
    await source.write(0x10, b">")
    await eventually(lambda: k1 == [b">ab"] and k2 == [b">ab"])
    for client in [source, *clients]:
        await client.close()


async def test_instances_share_the_load(make_zipper: ZipperFactory, transport: Transport) -> None:
    zipper = await make_zipper(MODERN)
    seen: dict[str, int] = {"one": 0, "two": 0}

    def counting(label: str) -> Callable[[bytes], None]:
        def handler(data: bytes) -> None:
            seen[label] += 1

        return handler

    one = StreamFunction(
        "upper", observe=[0x10], handler=counting("one"), zipper=addr(zipper), transport=transport
    )
    two = StreamFunction(
        "upper", observe=[0x10], handler=counting("two"), zipper=addr(zipper), transport=transport
    )
    source = Source("src", zipper=addr(zipper), transport=transport)
    for client in (one, two, source):
        await client.connect()
    for _ in range(20):
        await source.write(0x10, b"x")
    await eventually(lambda: seen["one"] + seen["two"] == 20)
    assert seen == {"one": 10, "two": 10}
    for client in (source, one, two):
        await client.close()


async def test_client_reconnects_after_zipper_restart(transport: Transport) -> None:
    from rxyomo.zipper import Zipper, parse_workflow

    port = free_port(transport)
    workflow = parse_workflow(MODERN.replace("port: 0", f"port: {port}"))
    zipper = Zipper(workflow, transport)
    await zipper.start()
    got: list[bytes] = []
    sink = Sink(
        "printer",
        observe=[0x10],
        handler=got.append,
        zipper=f"127.0.0.1:{port}",
        transport=transport,
        reconnect=FAST,
    )
    source = Source("src", zipper=f"127.0.0.1:{port}", transport=transport, reconnect=FAST)
    await sink.connect()
    await source.connect()
    await source.write(0x10, b"before")
    await eventually(lambda: got == [b"before"])
    await zipper.close()
    await eventually(lambda: not source.is_connected and not sink.is_connected)
    zipper = Zipper(workflow, transport)
    await zipper.start()
    await eventually(lambda: source.is_connected and sink.is_connected)
    await source.write(0x10, b"after")
    await eventually(lambda: got == [b"before", b"after"])
    await source.close()
    await sink.close()
    await zipper.close()


async def test_mesh_of_three_zippers_delivers_each_frame_once(transport: Transport) -> None:
    from rxyomo.zipper import Zipper, parse_workflow

    ports = {name: free_port(transport) for name in "abc"}
    zippers = []
    for name, port in ports.items():
        mesh = "".join(
            f"  {peer}:\n    host: 127.0.0.1\n    port: {p}\n"
            for peer, p in ports.items()
            if peer != name
        )
        text = (
            f"name: {name}\nhost: 127.0.0.1\nport: {port}\nfunctions:\n  - name: fn\nmesh:\n{mesh}"
        )
        zippers.append(Zipper(parse_workflow(text), transport))
    for zipper in zippers:
        await zipper.start()
    await eventually(lambda: all(link.is_connected for z in zippers for link in z.mesh))
    got_b: list[bytes] = []
    got_c: list[bytes] = []
    fn_b = Sink(
        "fn",
        observe=[0x10],
        handler=got_b.append,
        zipper=f"127.0.0.1:{ports['b']}",
        transport=transport,
    )
    fn_c = Sink(
        "fn",
        observe=[0x10],
        handler=got_c.append,
        zipper=f"127.0.0.1:{ports['c']}",
        transport=transport,
    )
    # Receipts through the mesh: b and c pass 0x10 on, nobody anywhere observes 0x20.
    source = Source("src", zipper=f"127.0.0.1:{ports['a']}", transport=transport, receipts=True)
    for client in (fn_b, fn_c, source):
        await client.connect()
    for i in range(10):
        await source.write(0x10, bytes([i]))
    await source.write(0x20, b"unobserved", metadata={TID: "unobserved"})
    await eventually(lambda: len(got_b) == 10 and len(got_c) == 10)
    # A marker from each zipper, behind any duplicate on each link of the mesh: from a
    # behind a's frames to b and c, from b and c behind anything they passed on.
    markers = [
        Source(f"marker-{name}", zipper=f"127.0.0.1:{port}", transport=transport)
        for name, port in ports.items()
    ]
    for marker in markers:
        await marker.connect()
        await marker.write(0x10, marker.name.encode())
    names = sorted(marker.name.encode() for marker in markers)
    await eventually(lambda: set(names) <= set(got_b) and set(names) <= set(got_c), "markers")
    for got in (got_b, got_c):
        assert got[:10] == [bytes([i]) for i in range(10)]
        assert sorted(got[10:]) == names, "a frame came twice"
    await eventually(lambda: source.delivery.in_flight == 0)
    assert source.delivery.confirmed == 10
    assert source.delivery.drops == {f"{BY_ZIPPER}no observer for tag 0x20 anywhere in the mesh": 1}
    assert list(source.delivery.dropped_keys) == ["unobserved"]
    for marker in markers:
        await marker.close()
    for client in (source, fn_b, fn_c):
        await client.close()
    for zipper in zippers:
        await zipper.close()


async def test_max_connections_turns_extra_clients_away(
    make_zipper: ZipperFactory, transport: Transport
) -> None:
    zipper = await make_zipper(MODERN + "limits:\n  max_connections: 1\n")
    first = Source("s1", zipper=addr(zipper), transport=transport)
    await first.connect()
    second = Source("s2", zipper=addr(zipper), transport=transport, reconnect=FAST)
    task = asyncio.ensure_future(second.connect())
    await eventually(lambda: zipper.stats.drops["connection refused: max connections"] >= 1)
    assert not second.is_connected
    task.cancel()
    await second.close()
    await first.close()


class _Silent(StreamHandler):
    """A client that connects and never says anything."""

    def __init__(self) -> None:
        self.lost = asyncio.Event()
        self.received = b""

    def connection_made(self, channel: Channel) -> None:
        self.channel = channel

    def data_received(self, data: bytes) -> None:
        self.received += data

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost.set()


async def test_silent_client_is_dropped_after_the_handshake_timeout(
    make_zipper: ZipperFactory, transport: Transport
) -> None:
    zipper = await make_zipper(MODERN, connection_config=ConnectionConfig(handshake_timeout=0.1))
    silent = _Silent()
    await transport.connect(*zipper.address, silent)
    await asyncio.wait_for(silent.lost.wait(), 3)
    # A client that never said who it is may be YoMo's, which stops for good on a
    # Goaway: the transport's close is all it gets.
    assert silent.received == b""


async def test_stats_report_traffic(make_zipper: ZipperFactory, transport: Transport) -> None:
    zipper = await make_zipper(MODERN)
    source = Source("src", zipper=addr(zipper), transport=transport)
    await source.connect()
    await source.write(0x42, b"nobody listens")
    await eventually(lambda: zipper.stats.drops.get("no observer for tag 0x42") == 1)
    stats = await fetch_stats(addr(zipper), transport)
    assert stats["name"] == "test"
    assert stats["drops"] == {"no observer for tag 0x42": 1}
    assert any(c["name"] == "src" and c["frames_in"] == 1 for c in stats["connections"])
    await source.close()


async def test_answers_keep_the_incoming_metadata_less_the_target(
    make_zipper: ZipperFactory, transport: Transport
) -> None:
    zipper = await make_zipper(MODERN)
    fn = StreamFunction(
        "upper",
        observe=[0x10],
        handler=lambda d: (0x11, d),
        zipper=addr(zipper),
        transport=transport,
    )
    received: list[dict[str, str]] = []

    def keep_metadata(ctx: Context) -> None:
        received.append(ctx.metadata)

    sink = Sink(
        "printer", observe=[0x11], handler=keep_metadata, zipper=addr(zipper), transport=transport
    )
    source = Source("src", zipper=addr(zipper), transport=transport)
    for client in (fn, sink, source):
        await client.connect()
    await source.write(
        0x10, b"x", metadata={TRACE_ID: "trace-1", SPAN_ID: "span-1", "user-key": "kept"}
    )
    await eventually(lambda: len(received) == 1)
    [meta] = received
    assert meta[TID] == source.last_tid
    assert (meta[TRACE_ID], meta[SPAN_ID]) == ("trace-1", "span-1")
    # As YoMo's Context.Write: the whole incoming metadata, the source's id included.
    assert (meta[SOURCE_ID], meta["user-key"]) == (source.id, "kept")
    for client in (source, fn, sink):
        await client.close()


async def test_a_client_that_closes_right_after_an_answer_counts_it_delivered(
    make_zipper: ZipperFactory, transport: Transport
) -> None:
    # The answer was received: the closing client acknowledges it at once rather
    # than after its transport's ACK delay, so the zipper does not count it lost.
    zipper = await make_zipper(MODERN)
    for _ in range(5):
        await fetch_stats(addr(zipper), transport)
    await eventually(lambda: zipper.stats.closed == 5)
    assert dict(zipper.stats.drops) == {}


async def test_receipts_are_on_by_default_and_name_a_reserved_tag_frame_dropped(
    make_zipper: ZipperFactory, transport: Transport
) -> None:
    zipper = await make_zipper(MODERN)
    source = Source("src", zipper=addr(zipper), transport=transport)
    await source.connect()
    # Asked for by default and agreed on in the handshake, before any frame is sent.
    assert RECEIPTS in source.extensions
    # Written raw: Source.write refuses reserved tags.
    frame = encode_frame(DataFrame(tag=0xF0AB, payload=b"not for clients"))
    assert source.send_encoded_now(frame, "reserved")
    await eventually(lambda: source.delivery.in_flight == 0)
    assert source.delivery.drops == {f"{BY_ZIPPER}reserved tag": 1}
    assert zipper.stats.drops["reserved tag"] == 1
    await source.close()


async def test_with_receipts_frames_are_confirmed_once_passed_on(
    make_zipper: ZipperFactory, transport: Transport
) -> None:
    # A sink that stops reading keeps frames in the zipper: its transport has them, but
    # they are not passed on, so a source asking for receipts must not count them yet.
    if transport.name == "tcp":
        pytest.skip("TLS over TCP cannot tell what the peer acknowledged")
    # Tapped, to see how much of what the zipper wrote to the sink its transport confirmed.
    tap = Tap(transport)
    zipper = await make_zipper(MODERN, transport=tap)
    release = asyncio.Event()
    got: list[bytes] = []

    async def blocked(data: bytes) -> None:
        await release.wait()
        got.append(data)

    sink = Sink(
        "printer",
        observe=[0x10],
        handler=blocked,
        max_pending=1,
        zipper=addr(zipper),
        transport=transport,
    )
    source = Source("src", zipper=addr(zipper), transport=transport, receipts=True)
    plain = Source("plain", zipper=addr(zipper), transport=transport)
    for client in (sink, source, plain):
        await client.connect()
    await source.write(0x10, b"first")
    await eventually(lambda: source.delivery.confirmed == 1)  # passed on to the sink
    await source.write(0x99, b"unobserved", metadata={TID: "lost"})  # settled, as dropped
    unobserved = f"{BY_ZIPPER}no observer for tag 0x99"
    await eventually(lambda: source.delivery.drops[unobserved] == 1)
    assert source.delivery.confirmed == 1
    assert list(source.delivery.dropped_keys) == ["lost"]
    for _ in range(48):
        # 3 MiB: more than the sink's receive window, less than every buffer on the way.
        await plain.write(0x10, bytes(64 * 1024))
    printer = connection_stats(zipper, "printer")
    # Wait for the zipper to hold the whole backlog for the sink (the first frame and the
    # 48), not just its start: the next frames queue behind more than the sink's window.
    await eventually(lambda: printer.frames_out == 1 + 48)
    # More than one frame written to the sink is not confirmed by its transport: bytes
    # written (at least the payloads) less bytes confirmed exceed one 64 KiB frame.
    confirmed = tap.accepted_from(printer.peer).acknowledged_bytes()
    assert confirmed is not None
    assert printer.bytes_out - confirmed > 64 * 1024 + 1024
    for i in range(3):
        await source.write(0x10, b"late %d" % i)
    # The zipper has routed the late frames; a receipt to another source, settled after
    # them, comes behind any (wrong) receipt the zipper would send for them.
    await eventually(lambda: connection_stats(zipper, "src").frames_in == 5)
    marker = Source("marker", zipper=addr(zipper), transport=transport, receipts=True)
    await marker.connect()
    await marker.write(0x99, b"marker")
    await eventually(lambda: marker.delivery.drops[unobserved] == 1, "the marker's receipt")
    assert source.delivery.confirmed == 1
    assert source.delivery.in_flight == 3
    await marker.close()
    release.set()
    await eventually(lambda: source.delivery.confirmed == 4, timeout=20)
    await source.close()
    assert source.delivery.as_dict() == {
        "written": 5,
        "confirmed": 4,
        "in_flight": 0,
        "drops": {unobserved: 1},
        "unknown": {},
    }
    await eventually(lambda: len(got) == 52, timeout=20)
    for client in (plain, sink):
        await client.close()
