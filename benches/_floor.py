"""The pipeline's floor: the same processes doing the same application work, joined by bare
asyncio over plain TCP on loopback, with no QUIC, no TLS and no framework.

A relay process stands in for the zipper and ``instances`` worker processes for the flows;
the bench process writes the same y3 ``ImageFrame`` payloads and reads the same
``Recognition`` payloads back. A worker classifies on a thread of its own with the example's
own ``ImageRecognition.decode``. Messages are a four-byte length, a one-byte kind and the
payload. What this variant costs above the model is what this machine charges for moving
frames between four Python processes; what rxyomo costs above it is the framework's.

The served form's floor is one ``server`` process in place of the relay and the workers:
it classifies each raw JPEG (behind an eight-byte index) on ``instances`` threads with the
example's ``Recognizer`` and answers the index, the call's time and the sentence, as a
zipper serving the guest does over two hops.

    python -m benches._floor relay PORT
    PYTHONPATH=examples/image_recognition python -m benches._floor worker PORT
    PYTHONPATH=examples/image_recognition python -m benches._floor server PORT --instances N
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import struct
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import y3

_LENGTH = struct.Struct("!I")
_INDEX = struct.Struct("!Q")
_ANSWER = struct.Struct("!QQ")
#: Message kinds: a worker or the sink says hello; an image; a result.
WORKER, SINK, IMAGE, RESULT = b"W", b"S", b"I", b"R"
RELAY_READY = "floor relay listening"
WORKER_READY = "floor worker ready"
SERVER_READY = "floor server ready"


def join_image(index: int, jpeg: bytes) -> bytes:
    """A raw image for the ``server``: its index, then the JPEG."""
    return _INDEX.pack(index) + jpeg


def split_answer(payload: bytes) -> tuple[int, int, str]:
    """The ``server``'s answer: the image's index, the call's microseconds, the sentence."""
    index, call_us = _ANSWER.unpack_from(payload)
    return index, call_us, payload[_ANSWER.size :].decode()


class Framed(asyncio.Protocol):
    """Length-prefixed messages over one TCP connection."""

    def __init__(self, on_message: Callable[[Framed, bytes, bytes], None]) -> None:
        self._on_message = on_message
        self._buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        start = 0
        while len(buffer) - start >= _LENGTH.size:
            (length,) = _LENGTH.unpack_from(buffer, start)
            end = start + _LENGTH.size + length
            if len(buffer) < end:
                break
            self._on_message(
                self,
                bytes(buffer[start + _LENGTH.size : start + 5]),
                bytes(buffer[start + 5 : end]),
            )
            start = end
        del buffer[:start]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)

    def send(self, kind: bytes, payload: bytes = b"") -> None:
        """Write one message."""
        assert self.transport is not None
        self.transport.write(_LENGTH.pack(len(kind) + len(payload)) + kind + payload)


async def relay(port: int) -> None:
    """Forward images to the workers in turn and results to the sink, until SIGINT."""
    workers: list[Framed] = []
    sinks: list[Framed] = []
    turn = 0

    def on_message(peer: Framed, kind: bytes, payload: bytes) -> None:
        nonlocal turn
        if kind == IMAGE:
            workers[turn % len(workers)].send(IMAGE, payload)
            turn += 1
        elif kind == RESULT:
            sinks[-1].send(RESULT, payload)
        elif kind == WORKER:
            workers.append(peer)
        elif kind == SINK:
            sinks.append(peer)

    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Framed(on_message), "127.0.0.1", port)
    print(RELAY_READY, flush=True)
    await _until_interrupted()
    server.close()


async def worker(port: int) -> None:
    """Classify every image the relay sends, on a thread of its own; answer each with the
    y3 ``Recognition`` the example's flow would write. The example's directory must be on
    the path (``benches/bench_pipeline.py`` starts the workers so)."""
    # Here rather than at the top: the relay and the bench's end need none of the example.
    from frames import LABEL_KEY
    from pipeline import ImageRecognition
    from recognizer import Recognizer

    recognizer = Recognizer()
    app = ImageRecognition(recognizer, workers=1)
    await app.warm_up(recognizer.warm_up)
    codec = y3.Codec(LABEL_KEY)
    loop = asyncio.get_running_loop()
    assert app.executor is not None

    def on_message(peer: Framed, kind: bytes, payload: bytes) -> None:
        if kind != IMAGE:
            return
        future = loop.run_in_executor(app.executor, app.decode, payload)
        future.add_done_callback(lambda done: peer.send(RESULT, codec.marshal(done.result())))

    _, protocol = await loop.create_connection(lambda: Framed(on_message), "127.0.0.1", port)
    protocol.send(WORKER)
    print(WORKER_READY, flush=True)
    await _until_interrupted()
    app.close()
    recognizer.close()


async def server(port: int, instances: int) -> None:
    """Classify every raw image a client sends, ``instances`` at a time on threads of
    their own, and answer each one to the connection it came from."""
    from recognizer import Recognizer

    recognizer = Recognizer()
    pool = ThreadPoolExecutor(instances, thread_name_prefix="infer")
    # Each thread's guest instance made (and the model loaded) before the first frame.
    for done in [pool.submit(recognizer.warm_up) for _ in range(instances)]:
        done.result()
    loop = asyncio.get_running_loop()

    def classify(payload: bytes) -> bytes:
        (index,) = _INDEX.unpack_from(payload)
        started = time.perf_counter()
        sentence = recognizer(payload[_INDEX.size :])
        call_us = int((time.perf_counter() - started) * 1e6)
        return _ANSWER.pack(index, call_us) + sentence.encode()

    def on_message(peer: Framed, kind: bytes, payload: bytes) -> None:
        if kind == IMAGE:
            future = loop.run_in_executor(pool, classify, payload)
            future.add_done_callback(lambda done: peer.send(RESULT, done.result()))

    listening = await loop.create_server(lambda: Framed(on_message), "127.0.0.1", port)
    print(SERVER_READY, flush=True)
    await _until_interrupted()
    listening.close()
    pool.shutdown()
    recognizer.close()


async def connect(port: int, on_result: Callable[[bytes], None]) -> Framed:
    """The bench's end: a connection that writes images and hands every result to
    ``on_result``."""

    def on_message(peer: Framed, kind: bytes, payload: bytes) -> None:
        if kind == RESULT:
            on_result(payload)

    _, protocol = await asyncio.get_running_loop().create_connection(
        lambda: Framed(on_message), "127.0.0.1", port
    )
    protocol.send(SINK)
    return protocol


async def _until_interrupted() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("role", choices=["relay", "worker", "server"])
    parser.add_argument("port", type=int, help="the relay's (or server's) TCP port")
    parser.add_argument("--instances", type=int, default=1, help="the server's threads")
    args = parser.parse_args()
    if args.role == "relay":
        asyncio.run(relay(args.port))
    elif args.role == "worker":
        asyncio.run(worker(args.port))
    else:
        asyncio.run(server(args.port, args.instances))
