"""A soak: traffic through a zipper process for a long time while things go wrong.

Four sources write numbered frames to two sinks, every client behind a user-space relay
with 20 ms of delay and 1 % loss. Every few seconds something breaks: the zipper is
SIGKILLed and restarted, or one client's link is cut off for longer than the idle timeout
(a partition), or nothing happens for a while. At the end the books are checked per source
with the sequence numbers: no duplicate, no frame out of order, and every missing frame
named by its source as dropped, with a reason: dropped by the zipper (its receipt said
why) or lost with a connection before the zipper settled it. Any of these failing fails
the run. ``--transport-acks`` runs the sources without receipts, to show the difference:
then the zipper's drops are only counted (its counters read just before each kill, since
a killed zipper takes them along), and the frames that died uncounted with a SIGKILLed
zipper are reported rather than failed.

    python -m benches.soak [--minutes 10] [--seed S] [--transport-acks]

Prints a JSON summary and writes benches/results/soak.json; exits 1 if a check failed.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict, deque
from pathlib import Path
from typing import Any

from benches._bench import write_report
from devtools.processes import ProcessGroup, free_udp_port
from devtools.udp_relay import Impairment, UdpRelay
from rxyomo.client import ReconnectPolicy, Sink, Source
from rxyomo.client.stats import fetch_stats
from rxyomo.protocol.connection import ConnectionConfig
from rxyomo.protocol.metadata import TID
from rxyomo.transport.base import TransportOptions
from rxyomo.transport.certs import CONFIG_DIR_ENV, dev_certificates, dev_client_tls
from rxyomo.transport.quic import QuicTransport

MILD = Impairment(delay=0.02, jitter=0.002, loss=0.01)
SOURCES, SINKS = 4, 2


async def soak(
    minutes: float, seed: int, scratch: Path, *, receipts: bool = True
) -> dict[str, Any]:
    os.environ[CONFIG_DIR_ENV] = str(scratch / "config")
    dev_certificates()
    rng = random.Random(seed)
    port = free_udp_port()
    workflow = scratch / "workflow.yaml"
    sinks_yaml = "".join(f"  - name: sink-{i}\n" for i in range(SINKS))
    workflow.write_text(f"name: soak\nhost: 127.0.0.1\nport: {port}\nfunctions:\n{sinks_yaml}")
    group = ProcessGroup({**os.environ, "PYTHONUNBUFFERED": "1"})
    zipper = group.zipper(workflow, scratch / "zipper.log")
    tls = dev_client_tls()
    address = f"127.0.0.1:{port}"
    transport = QuicTransport(TransportOptions(tls=tls))
    config = ConnectionConfig(heartbeat_interval=0.5, idle_timeout=3.0)
    retry = ReconnectPolicy(initial_delay=0.1, max_delay=1.0)
    relays: list[UdpRelay] = []
    got: dict[str, list[int]] = defaultdict(list)

    async def relayed() -> str:
        relays.append(await UdpRelay.start(("127.0.0.1", port), MILD, seed=rng.randrange(1 << 30)))
        return relays[-1].endpoint

    def collect(data: bytes) -> None:
        name, seq = data.split(b":")
        got[name.decode()].append(int(seq))

    sinks = [
        Sink(
            f"sink-{i}",
            observe=[0x10 + i],
            handler=collect,
            zipper=await relayed(),
            transport=transport,
            reconnect=retry,
            connection_config=config,
        )
        for i in range(SINKS)
    ]
    sources = [
        Source(
            f"src-{i}",
            zipper=await relayed(),
            transport=transport,
            reconnect=retry,
            connection_config=config,
            receipts=receipts,
        )
        for i in range(SOURCES)
    ]
    for source in sources:
        # The books are checked frame by frame: keep every counted frame's key.
        source.delivery.dropped_keys = deque(source.delivery.dropped_keys)
        source.delivery.unknown_keys = deque(source.delivery.unknown_keys)
    written = dict.fromkeys((s.name for s in sources), 0)
    counted_by_zippers = 0
    events: list[str] = []
    for client in (*sinks, *sources):
        await asyncio.wait_for(client.connect(), 60)
    stop = time.monotonic() + minutes * 60

    async def stream(index: int, source: Source) -> None:
        while time.monotonic() < stop:
            seq = written[source.name]
            await source.write(
                0x10 + index % SINKS, f"{source.name}:{seq}".encode(), metadata={TID: str(seq)}
            )
            written[source.name] = seq + 1
            await asyncio.sleep(0.01)

    async def zipper_drops() -> int:
        try:
            stats = await fetch_stats(address, tls=tls, timeout=5)
        except Exception:  # the zipper is between lives: nothing to read
            return 0
        return sum(stats["drops"].values())

    async def chaos() -> None:
        nonlocal counted_by_zippers
        while time.monotonic() < stop - 15:
            await asyncio.sleep(rng.uniform(5, 15))
            event = rng.choice(["kill zipper", "partition", "calm"])
            events.append(event)
            if event == "kill zipper":
                counted_by_zippers += await zipper_drops()
                zipper.kill()
                await asyncio.sleep(rng.uniform(0.2, 2.0))
                zipper.start()
                await asyncio.to_thread(zipper.wait_for_output, "listening on", zipper.starts)
            elif event == "partition":
                relay = rng.choice(relays)
                relay.set_impairment(loss=1.0)
                await asyncio.sleep(rng.uniform(4, 8))  # longer than the idle timeout
                relay.set_impairment(MILD)

    writers = [asyncio.ensure_future(stream(i, s)) for i, s in enumerate(sources)]
    await asyncio.gather(chaos(), *writers)
    for source in sources:
        await source.close(timeout=10)
    # Wait until delivery stops moving (what is missing by then will not come).
    deadline, delivered = time.monotonic() + 60, -1
    while time.monotonic() < deadline and delivered != sum(map(len, got.values())):
        delivered = sum(map(len, got.values()))
        await asyncio.sleep(2)
    duplicates = out_of_order = uncounted = dropped_but_delivered = unknown_delivered = 0
    for source in sources:
        seqs = got[source.name]
        duplicates += len(seqs) - len(set(seqs))
        out_of_order += sum(1 for a, b in itertools.pairwise(seqs) if b <= a)
        dropped = {int(str(key)) for key in source.delivery.dropped_keys}
        unknown = {int(str(key)) for key in source.delivery.unknown_keys}
        missing = set(range(written[source.name])) - set(seqs)
        dropped_but_delivered += len(dropped - missing)
        unknown_delivered += len(unknown - missing)
        uncounted += len(missing - dropped - unknown)
    if not receipts:
        # Without receipts the zipper's drops are not named to the sources: they should
        # cover what the sources did not count. A connection the zipper gave up on is
        # counted once its transport lets it go (after the close times out): give the
        # last ones that long.
        deadline, last = time.monotonic() + 45, 0
        while time.monotonic() < deadline:
            last = await zipper_drops()
            if counted_by_zippers + last >= uncounted:
                break
            await asyncio.sleep(2)
        counted_by_zippers += last
    for sink in sinks:
        await sink.close(timeout=5)
    for relay in relays:
        relay.close()
    group.kill_all()
    # With receipts every missing frame must be named by its source: dropped by the
    # zipper (its receipt said why) or lost with a connection. Without, frames a zipper
    # counted are not named, and what their counts do not cover died with a SIGKILLed
    # zipper after it had acknowledged it (see docs/architecture.md, "No silent loss").
    died_uncounted = uncounted if receipts else max(0, uncounted - counted_by_zippers)
    drops: Counter[str] = sum((s.delivery.drops for s in sources), Counter())
    unknowns: Counter[str] = sum((s.delivery.unknowns for s in sources), Counter())
    return {
        "minutes": minutes,
        "seed": seed,
        "events": events,
        "written": sum(written.values()),
        "delivered": sum(map(len, got.values())),
        "dropped_by_sources": sum(s.delivery.dropped for s in sources),
        "drops_by_reason": dict(drops.most_common()),
        "dropped_by_sources_yet_delivered": dropped_but_delivered,
        "unknown_to_sources": sum(s.delivery.unknown for s in sources),
        "unknown_by_reason": dict(unknowns.most_common()),
        "unknown_to_sources_and_delivered": unknown_delivered,
        "counted_by_zippers": counted_by_zippers,
        "missing_not_counted_by_sources": uncounted,
        "uncounted_died_with_a_zipper": died_uncounted,
        "receipts": receipts,
        "duplicates": duplicates,
        "out_of_order": out_of_order,
        # Dropped means not delivered: a frame counted so and delivered is a false book.
        "ok": duplicates == 0
        and out_of_order == 0
        and dropped_but_delivered == 0
        and not (receipts and died_uncounted),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument(
        "--transport-acks",
        action="store_true",
        help="sources count a frame delivered once the zipper's transport has it (no receipts)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rxyomo-soak-") as scratch:
        summary = asyncio.run(
            soak(args.minutes, args.seed, Path(scratch), receipts=not args.transport_acks)
        )
    write_report("soak.json", summary)
    print(json.dumps(summary, indent=2))
    sys.exit(0 if summary["ok"] else 1)


if __name__ == "__main__":
    main()
