"""The rest of YoMo's client API: context handlers, init, cron, error handlers, targets."""

from __future__ import annotations

import asyncio

import pytest

from rxyomo.client import (
    ConnectionRejected,
    Context,
    CronContext,
    ReconnectPolicy,
    Sink,
    Source,
    StreamFunction,
)
from rxyomo.protocol.metadata import SOURCE_ID, TARGET, TID
from rxyomo.transport import Transport

from .conftest import FAST, ZipperFactory, addr, eventually

WORKFLOW = """\
name: test
functions:
  - name: fn
  - name: sink
  - name: other
"""


async def test_a_context_handler_sees_the_frame_and_its_answers_carry_the_metadata(
    make_zipper: ZipperFactory, transport: Transport
) -> None:
    zipper = await make_zipper(WORKFLOW)
    seen: list[Context] = []

    async def handler(ctx: Context) -> None:
        seen.append(ctx)
        ctx.write(0x11, ctx.data.upper())
        ctx.write_with_target(0x11, b"for-user-2", "user-2")

    got: list[Context] = []

    def record(ctx: Context) -> None:
        got.append(ctx)

    fn = StreamFunction(
        "fn",
        observe=[0x10],
        handler=handler,
        zipper=addr(zipper),
        transport=transport,
        reconnect=FAST,
    )
    sink = Sink(
        "sink",
        observe=[0x11],
        handler=record,
        zipper=addr(zipper),
        transport=transport,
        want_target="user-2",
        reconnect=FAST,
    )
    elsewhere: list[bytes] = []
    other = Sink(
        "other",
        observe=[0x11],
        handler=elsewhere.append,
        zipper=addr(zipper),
        transport=transport,
        want_target="user-3",
        reconnect=FAST,
    )
    source = Source("src", zipper=addr(zipper), transport=transport, reconnect=FAST)
    for client in (fn, sink, other, source):
        await client.connect()
    await source.write(0x10, b"hello", metadata={"user-key": "v"})
    await eventually(lambda: len(got) == 2 and len(elsewhere) == 1, "the answers")
    [ctx] = seen
    assert (ctx.tag, ctx.data, ctx.source_id, ctx.tid) == (
        0x10,
        b"hello",
        source.id,
        source.last_tid,
    )
    assert [a.data for a in got] == [b"HELLO", b"for-user-2"]  # in the order written
    for answer in got:
        assert answer.metadata[TID] == source.last_tid
        assert (answer.metadata[SOURCE_ID], answer.metadata["user-key"]) == (source.id, "v")
    # The targeted answer reached only the function that wants its target; handlers
    # never see a target, as YoMo's do not.
    assert elsewhere == [b"HELLO"]
    assert all(TARGET not in a.metadata for a in got)
    for client in (source, fn, sink, other):
        await client.close()


async def test_init_runs_once_before_the_first_connection(
    make_zipper: ZipperFactory, transport: Transport
) -> None:
    zipper = await make_zipper(WORKFLOW)
    calls: list[bool] = []

    async def init() -> None:
        calls.append(fn.is_connected)

    fn = StreamFunction(
        "fn",
        observe=[0x10],
        handler=lambda d: None,
        init=init,
        zipper=addr(zipper),
        transport=transport,
    )
    await fn.connect()
    await fn.connect()
    assert calls == [False]
    await fn.close()

    def broken() -> None:
        raise RuntimeError("model file missing")

    failing = StreamFunction(
        "fn",
        observe=[0x10],
        handler=lambda d: None,
        init=broken,
        zipper=addr(zipper),
        transport=transport,
    )
    with pytest.raises(RuntimeError, match="model file missing"):
        await failing.connect()
    assert not failing.is_connected
    await failing.close()


async def test_a_cron_handler_writes_on_its_schedule(
    make_zipper: ZipperFactory, transport: Transport
) -> None:
    zipper = await make_zipper(WORKFLOW)
    got: list[Context] = []

    def tick(ctx: CronContext) -> None:
        ctx.write(0x11, b"tick")

    fn = StreamFunction("fn", zipper=addr(zipper), transport=transport)
    fn.set_cron_handler("@every 50ms", tick)
    sink = Sink(
        "sink",
        observe=[0x11],
        handler=got.append,
        zipper=addr(zipper),
        transport=transport,
        context=True,
    )
    await sink.connect()
    await fn.connect()
    await eventually(lambda: len(got) >= 3, "three ticks")
    assert {ctx.data for ctx in got} == {b"tick"}
    assert {ctx.source_id for ctx in got} == {fn.id}
    assert len({ctx.tid for ctx in got}) == len(got)  # a new transaction each run
    for client in (fn, sink):
        await client.close()


async def test_the_error_handler_hears_of_failed_frames_and_rejections(
    make_zipper: ZipperFactory, transport: Transport
) -> None:
    zipper = await make_zipper(WORKFLOW)
    errors: list[BaseException] = []

    def handler(data: bytes) -> None:
        raise ValueError(f"cannot handle {data!r}")

    fn = StreamFunction(
        "fn", observe=[0x10], handler=handler, zipper=addr(zipper), transport=transport
    )
    fn.set_error_handler(errors.append)
    source = Source("src", zipper=addr(zipper), transport=transport)
    for client in (fn, source):
        await client.connect()
    await source.write(0x10, b"bad")
    await eventually(lambda: errors, "the handler's error")
    assert isinstance(errors[0], ValueError)
    assert fn.errors == 1
    for client in (source, fn):
        await client.close()

    stranger = StreamFunction(
        "not-listed",
        observe=[0x10],
        handler=lambda d: None,
        zipper=addr(zipper),
        transport=transport,
        reconnect=ReconnectPolicy(max_attempts=1),
    )
    heard: list[BaseException] = []
    stranger.set_error_handler(heard.append)
    with pytest.raises(ConnectionRejected):
        await stranger.connect()
    assert isinstance(heard[-1], ConnectionRejected)
    with pytest.raises(ConnectionRejected):
        await asyncio.wait_for(stranger.wait(), 5)


async def test_an_answer_on_a_bad_tag_is_the_handler_s_error_and_the_function_goes_on(
    make_zipper: ZipperFactory, transport: Transport
) -> None:
    zipper = await make_zipper(WORKFLOW)
    got: list[bytes] = []

    def handler(ctx: Context) -> None:
        ctx.write(0xF001 if ctx.data == b"bad" else 0x11, ctx.data)

    def returns_bad(data: bytes) -> tuple[int, bytes]:
        return (-1 if data == b"bad" else 0x11, data)

    for shape in (handler, returns_bad):
        fn = StreamFunction(
            "fn", observe=[0x10], handler=shape, zipper=addr(zipper), transport=transport
        )
        sink = Sink(
            "sink", observe=[0x11], handler=got.append, zipper=addr(zipper), transport=transport
        )
        source = Source("src", zipper=addr(zipper), transport=transport)
        for client in (fn, sink, source):
            await client.connect()
        got.clear()
        for data in (b"bad", b"good"):
            await source.write(0x10, data)
        await eventually(lambda: got == [b"good"], "the frame after the bad one")
        assert (fn.errors, fn.handled) == (1, 1)
        for client in (source, fn, sink):
            await client.close()
