"""The QUIC cores side by side: aioquic as rxyomo drives it, and the native core.

One process, one event loop, loopback: a client writes 1 KiB frames back to back (as
fast as ``pause_writing`` lets it) to a server that counts them, for a fixed time; both
ends are rxyomo channels, so each frame costs one send and one receive path, as a frame
costs a zipper passing it on. For each core: frames per second and the process's CPU
time per frame (both ends), at quic-go's datagram size (1452 bytes, what a zipper talks
to YoMo's clients with) and at the loopback default. Variants alternate round by round
and each figure is the median of its rounds.

Writes benches/results/native_quic.json.

    python -m benches.bench_native_quic [--seconds 3] [--rounds 3] [--size 1024]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from typing import Any

from benches._bench import write_report
from rxyomo.transport import Channel, StreamHandler, TransportOptions, dev_client_tls
from rxyomo.transport.quic import QuicTransport
from rxyomo.transport.quic.native import AVAILABLE, NativeQuicTransport


class Counter(StreamHandler):
    """The server side: counts the bytes it is handed."""

    def __init__(self) -> None:
        self.received = 0

    def connection_made(self, channel: Channel) -> None:
        pass

    def data_received(self, data: bytes) -> None:
        self.received += len(data)

    def connection_lost(self, exc: Exception | None) -> None:
        pass


class Writer(StreamHandler):
    """The client side: writes frames while the channel is not paused."""

    def __init__(self, frame: bytes) -> None:
        self.frame = frame
        self.paused = False
        self.resumed: asyncio.Event = asyncio.Event()

    def connection_made(self, channel: Channel) -> None:
        pass

    def data_received(self, data: bytes) -> None:
        pass

    def connection_lost(self, exc: Exception | None) -> None:
        pass

    def is_paused(self) -> bool:
        """Whether the channel asked for a pause (a write may have just done so)."""
        return self.paused

    def pause_writing(self) -> None:
        self.paused = True
        self.resumed.clear()

    def resume_writing(self) -> None:
        self.paused = False
        self.resumed.set()


async def one_run(
    kind: str, seconds: float, size: int, datagram_size: int | None
) -> dict[str, float]:
    counter = Counter()
    server_transport = QuicTransport(max_datagram_size=datagram_size, core=kind)
    server = await server_transport.serve("127.0.0.1", 0, lambda: counter)
    writer = Writer(bytes(size))
    client = QuicTransport(
        TransportOptions(tls=dev_client_tls()), max_datagram_size=datagram_size, core=kind
    )
    assert isinstance(client, NativeQuicTransport) == (kind == "native")
    channel = await client.connect("127.0.0.1", server.address[1], writer)
    # Warm up, then measure a fixed time.
    deadline = time.monotonic() + 0.5
    measuring = False
    start_bytes = 0
    cpu0 = wall0 = 0.0
    while True:
        now = time.monotonic()
        if not measuring and now >= deadline:
            measuring = True
            start_bytes = counter.received
            cpu0, wall0 = time.process_time(), now
            deadline = now + seconds
        elif measuring and now >= deadline:
            break
        if writer.paused:
            await writer.resumed.wait()
            continue
        for _ in range(64):
            channel.write(writer.frame)
            if writer.is_paused():
                break
        await asyncio.sleep(0)
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    frames = (counter.received - start_bytes) / size
    channel.abort()
    await channel.wait_closed()
    server.close()
    await asyncio.wait_for(server.wait_closed(), 30)
    return {"frames_per_s": frames / wall, "cpu_us_per_frame": 1e6 * cpu / max(frames, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="measured time per run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--size", type=int, default=1024, help="frame bytes")
    args = parser.parse_args()
    if not AVAILABLE:
        print("the native QUIC core (rxyomo_quic) is not installed", file=sys.stderr)
        return 1
    sizes: dict[str, int | None] = {"1452": 1452, "loopback": None}
    runs: dict[str, list[dict[str, float]]] = {}
    for round_ in range(args.rounds):
        for label, datagram_size in sizes.items():
            for kind in ("aioquic", "native"):
                result = asyncio.run(one_run(kind, args.seconds, args.size, datagram_size))
                runs.setdefault(f"{kind}/{label}", []).append(result)
                print(
                    f"round {round_ + 1} {kind:8} {label:9} {result['frames_per_s']:9,.0f} "
                    f"frames/s {result['cpu_us_per_frame']:6.1f} us/frame"
                )
    medians = {
        name: {key: statistics.median(r[key] for r in results) for key in results[0]}
        for name, results in runs.items()
    }
    ratios: dict[str, Any] = {}
    for label in sizes:
        aio, native = medians[f"aioquic/{label}"], medians[f"native/{label}"]
        ratios[label] = {
            "frames_per_s": native["frames_per_s"] / aio["frames_per_s"],
            "cpu_per_frame": native["cpu_us_per_frame"] / aio["cpu_us_per_frame"],
        }
    report = {
        "settings": vars(args),
        "runs": runs,
        "medians": medians,
        "native_over_aioquic": ratios,
    }
    path = write_report("native_quic.json", report)
    print(f"{'core/datagram':18} {'frames/s':>10} {'CPU/frame':>10}")
    for name, m in medians.items():
        print(f"{name:18} {m['frames_per_s']:10,.0f} {m['cpu_us_per_frame']:8.1f}us")
    for label, ratio in ratios.items():
        print(
            f"native / aioquic at {label}: {ratio['frames_per_s']:.2f}x frames/s, "
            f"{ratio['cpu_per_frame']:.2f}x CPU per frame"
        )
    print(f"report {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
