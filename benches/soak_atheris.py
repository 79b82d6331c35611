"""Coverage-guided fuzzing of the zipper's input path with atheris, as an option.

The hypothesis harness (``devtools/fuzzing.py``) sends its cases at a live zipper
over QUIC; this one trades the network for coverage guidance and runs the same code in
process: each input is split into chunks (its first byte chooses where), fed to a server
``Connection``, and every event is handled as the zipper does (admission by the workflow and
the token, metadata read for routing keys, routing). Anything but the documented outcomes
(events, a close with a reason) is a finding.

    pip install atheris     # not a project dependency: optional
    python -m benches.soak_atheris -atheris_runs=1000000
    python -m benches.soak_atheris --plain 200000   # without atheris: seeded random bytes
"""

from __future__ import annotations

import contextlib
import random
import sys

from rxyomo.protocol.auth import check_credential
from rxyomo.protocol.connection import Connection, ConnectionConfig, Role
from rxyomo.protocol.events import (
    ConnectionTerminated,
    DataReceived,
    Event,
    HandshakeReceived,
)
from rxyomo.protocol.frames import ClientType, DataFrame, HandshakeFrame, encode_frame
from rxyomo.protocol.metadata import MetadataError, decode_metadata
from rxyomo.zipper import RoutingTable, parse_workflow

WORKFLOW = parse_workflow(
    "name: atheris\nfunctions:\n  - name: fn\nauth:\n  type: token\n  token: t\n"
    "limits:\n  max_frame_size: 4096\n"
)
CONFIG = ConnectionConfig(max_frame_size=WORKFLOW.limits.max_frame_size)
SEEDS = [
    encode_frame(HandshakeFrame("src", ClientType.SOURCE, auth_name="token", auth_payload="t"))
    + encode_frame(DataFrame(0x10, b"payload", b"\x81\xa3tid\xa11")),
    encode_frame(
        HandshakeFrame(
            "fn",
            ClientType.STREAM_FUNCTION,
            auth_name="token",
            auth_payload="t",
            observed_data_tags=(0x10,),
        )
    ),
]


def one_input(data: bytes) -> None:
    """Drive one server connection with ``data``, as the zipper would."""
    if not data:
        return
    step = data[0] or 1
    core = Connection(Role.SERVER, 0.0, CONFIG)
    routing = RoutingTable(WORKFLOW)

    def handle(events: list[Event]) -> None:
        for event in events:
            if isinstance(event, HandshakeReceived):
                problem = check_credential(WORKFLOW.auth_token, event.handshake)
                if problem is None:
                    admission = routing.admit(1, event.handshake)
                    problem = None if admission.accepted else admission.reason or "rejected"
                handle(core.accept(0.0) if problem is None else core.reject(problem, 0.0))
            elif isinstance(event, DataReceived):
                frame = event.frame
                if frame.metadata:
                    with contextlib.suppress(MetadataError):
                        decode_metadata(frame.metadata)
                routing.route(1, frame.tag)
            elif isinstance(event, ConnectionTerminated):
                assert event.reason, "a connection closed without a reason"

    for start in range(1, len(data), step):
        handle(core.receive_data(data[start : start + step], 0.0))
        if core.is_closed:
            break
    core.data_to_send()


def plain(runs: int, seed: int = 0) -> None:
    """Without atheris: seeded random bytes and byte flips of the seeds."""
    rng = random.Random(seed)
    for run in range(runs):
        if rng.random() < 0.5:
            data = bytearray(rng.choice(SEEDS))
            for _ in range(rng.randint(1, 4)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        else:
            data = bytearray(rng.randbytes(rng.randint(1, 200)))
        one_input(bytes([rng.randrange(1, 64)]) + bytes(data))
        if run % 50_000 == 0:
            print(f"{run} inputs", flush=True)
    print(f"{runs} inputs, no finding")


def main() -> None:
    if len(sys.argv) >= 2 and sys.argv[1] == "--plain":
        plain(int(sys.argv[2]) if len(sys.argv) > 2 else 100_000)
        return
    try:
        import atheris
    except ImportError:
        sys.exit("atheris is not installed: pip install atheris, or run with --plain N")
    atheris.instrument_all()
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
