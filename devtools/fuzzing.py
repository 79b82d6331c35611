"""A fuzzing harness for a live zipper over its real transport.

Each fuzz connection sends one byte stream: a handshake (right, wrong, mutated, or none),
then a batch of cases (data frames drawn by hypothesis, the same mutated by the byte,
frames a client must not send, garbage, oversized headers, stats requests), then a probe
(a stats request). An oracle, the sans-I/O protocol core plus the zipper's admission rules,
reads the same bytes and predicts how the live zipper must end the connection:

- ``answered``: it stays open and answers every stats request (the probe included);
- ``closed``: it says Goaway (to an rxyomo client) or Rejected with a reason, and closes;
  a client that announced no rxyomo extensions (YoMo's) gets no Goaway, as YoMo's zipper
  sends none, and no stats answer;
- ``client-ended``: a case was the client's own Goaway or Rejected, so it just closes;
- ``incomplete``: the stream stops inside a frame (the probe was swallowed), so nothing
  comes back until the client closes.

Any other outcome, a close without a reason, or no outcome within the time limit is a
mismatch. Fuzz connections join only as the workflow's functions whose names start with
``fuzz``: the others are left to healthy clients running alongside. Cases are counted as
they are sent (``cases_sent``), and as the oracle says the zipper handled them
(``cases_handled``: everything up to the case that ended the stream).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import y3

from devtools import strategies
from rxyomo.protocol.auth import check_credential
from rxyomo.protocol.connection import Connection, ConnectionConfig, Role
from rxyomo.protocol.events import (
    ConnectionTerminated,
    DataReceived,
    Event,
    HandshakeReceived,
)
from rxyomo.protocol.extensions import ALL as ALL_EXTENSIONS
from rxyomo.protocol.extensions import HEARTBEAT, STATS
from rxyomo.protocol.frames import (
    ClientType,
    DataFrame,
    Frame,
    FrameDecoder,
    FrameError,
    GoawayFrame,
    HandshakeFrame,
    RejectedFrame,
    encode_frame,
)
from rxyomo.protocol.reserved import HEARTBEAT_TAG, STATS_TAG
from rxyomo.transport import Channel, StreamHandler, Transport, TransportError
from rxyomo.zipper import RoutingTable, Workflow

#: A connection that has not ended as predicted within this many seconds is a hang.
CONNECTION_TIMEOUT = 20.0
#: How long an ``incomplete`` stream is watched for an answer that must not come.
QUIET_PERIOD = 0.3
_INTERESTING = (0x00, 0x01, 0x3F, 0x40, 0x7F, 0x80, 0xBF, 0xC0, 0xFF)


@dataclass(frozen=True)
class Prediction:
    """How the zipper must end one fuzz connection."""

    outcome: str
    stats_answers: int
    cases_handled: int
    reject: bool = False
    reason: str = ""
    #: Whether the zipper says why it closes (Rejected, or a Goaway to an rxyomo client).
    told: bool = True


class Oracle:
    """Predicts the live zipper from the protocol core and the zipper's admission rules."""

    def __init__(self, workflow: Workflow) -> None:
        self.workflow = workflow
        self.config = ConnectionConfig(max_frame_size=workflow.limits.max_frame_size)
        #: What the zipper agrees to over QUIC (which has liveness of its own).
        self.extensions = ALL_EXTENSIONS - {HEARTBEAT}

    def predict(self, cases: list[bytes], probe: bytes) -> Prediction:
        core = Connection(Role.SERVER, 0.0, self.config)
        stats = 0
        last: DataFrame | None = None
        ended: ConnectionTerminated | None = None

        def handle(events: list[Event]) -> None:
            nonlocal stats, last, ended
            for event in events:
                if isinstance(event, HandshakeReceived):
                    handle(self._decide(core, event.handshake))
                elif isinstance(event, DataReceived):
                    last = event.frame
                    stats += event.frame.tag == STATS_TAG and STATS in core.extensions
                elif isinstance(event, ConnectionTerminated):
                    ended = event

        handled = 0
        for case in cases:
            handle(core.receive_data(case, 0.0))
            if core.is_closed:
                break
            handled += 1
        if ended is None:
            handle(core.receive_data(probe, 0.0))
        if ended is not None:
            return Prediction(
                "client-ended" if ended.by_peer else "closed",
                stats,
                handled + 1,
                reject=not ended.reconnect,
                reason=ended.reason,
                told=not ended.reconnect or core.peer_is_rxyomo,
            )
        if last is not None and last.tag == STATS_TAG and last.payload == PROBE_PAYLOAD:
            return Prediction("answered", stats, handled)
        return Prediction("incomplete", stats, handled)

    def _decide(self, core: Connection, handshake: HandshakeFrame) -> list[Event]:
        problem = check_credential(self.workflow.auth_token, handshake)
        if problem is None:
            admission = RoutingTable(self.workflow).admit(1, handshake)
            problem = None if admission.accepted else admission.reason
        if problem is not None:
            return core.reject(problem, 0.0)
        return core.accept(0.0, self.extensions)


PROBE_PAYLOAD = b"fuzz-probe"
PROBE = encode_frame(DataFrame(tag=STATS_TAG, payload=PROBE_PAYLOAD))


class Mutator:
    """Fast byte-level mutations of encoded frames."""

    def __init__(self, rng: random.Random, corpus: list[bytes]) -> None:
        self.rng = rng
        self.corpus = corpus

    def mutate(self, data: bytes) -> bytes:
        rng = self.rng
        buf = bytearray(data)
        for _ in range(rng.choice((1, 1, 1, 2, 3))):
            op = rng.randrange(8)
            pos = rng.randrange(len(buf) + 1)
            if op == 0 and buf:  # flip a bit
                pos = min(pos, len(buf) - 1)
                buf[pos] ^= 1 << rng.randrange(8)
            elif op == 1 and buf:  # an interesting byte
                buf[min(pos, len(buf) - 1)] = rng.choice(_INTERESTING)
            elif op == 2:  # insert bytes
                buf[pos:pos] = rng.randbytes(rng.randint(1, 8))
            elif op == 3:  # delete bytes
                del buf[pos : pos + rng.randint(1, 8)]
            elif op == 4 and len(buf) > 1:  # truncate
                del buf[max(pos, 1) :]
            elif op == 5:  # duplicate a slice
                end = min(len(buf), pos + rng.randint(1, 16))
                buf[pos:pos] = buf[pos:end]
            elif op == 6:  # splice with another frame
                other = rng.choice(self.corpus)
                buf = buf[:pos] + other[rng.randrange(len(other) + 1) :]
            elif len(buf) > 1:  # the frame's own length byte
                buf[1] = rng.randrange(256)
        return bytes(buf)


@dataclass
class Corpus:
    """Encoded seeds drawn from the strategies in :mod:`devtools.strategies`."""

    data: list[bytes]
    frames: list[DataFrame]
    handshakes: list[bytes]
    control: list[bytes]
    good_source: bytes
    good_function: Callable[[tuple[int, ...]], bytes]

    @classmethod
    def draw(cls, workflow: Workflow, seed: int, size: int = 400) -> Corpus:
        token = workflow.auth_token or ""
        # Fuzz connections may join as the functions named fuzz...; the others belong to
        # healthy clients, whose frames an impostor with the token would share.
        names = [f.name for f in workflow.functions if f.name.startswith("fuzz")] or ["fuzz"]
        frames = strategies.draw(strategies.data_frames(), size, seed)
        data = _encode_all(frames)
        hello = _encode_all(strategies.draw(strategies.handshakes(names, token), size, seed))
        control = _encode_all(strategies.draw(strategies.control_frames(), 50, seed))
        credential = ("token", token) if token else ("", "")

        def function(tags: tuple[int, ...]) -> bytes:
            return encode_frame(
                HandshakeFrame(
                    name="fuzz-fn",
                    client_type=ClientType.STREAM_FUNCTION,
                    auth_name=credential[0],
                    auth_payload=credential[1],
                    observed_data_tags=tags,
                    extensions=frozenset({STATS}),
                )
            )

        source = encode_frame(
            HandshakeFrame(
                name="fuzz-source",
                client_type=ClientType.SOURCE,
                auth_name=credential[0],
                auth_payload=credential[1],
                extensions=frozenset({STATS}),
            )
        )
        return cls(data, frames, hello, control, source, function)


def _encode_all(frames: list[Any]) -> list[bytes]:
    encoded = []
    for frame in frames:
        try:
            encoded.append(encode_frame(frame))
        except FrameError:
            continue
    return encoded


@dataclass
class Plan:
    """One fuzz connection: what it sends and what the oracle expects."""

    cases: list[bytes]
    handshakes: int
    prediction: Prediction


class Planner:
    """Builds fuzz connections from a corpus, deterministically for a seed."""

    def __init__(self, corpus: Corpus, oracle: Oracle, seed: int, *, cases: int = 100) -> None:
        self.corpus = corpus
        self.oracle = oracle
        self.rng = random.Random(seed)
        self.mutator = Mutator(self.rng, corpus.data + corpus.handshakes)
        self.cases = cases
        self.max_frame_size = oracle.workflow.limits.max_frame_size

    def plan(self) -> Plan:
        rng, corpus = self.rng, self.corpus
        roll = rng.random()
        if roll < 0.03:
            first = rng.choice([rng.randbytes(rng.randint(1, 64)), rng.choice(corpus.data)])
        elif roll < 0.09:
            first = self.mutator.mutate(rng.choice([corpus.good_source, *corpus.handshakes]))
        elif roll < 0.19:
            first = rng.choice(corpus.handshakes)
        elif roll < 0.29:
            tags = tuple(rng.choice((0x10, 0x11, 0x33, rng.randrange(2**32))) for _ in range(3))
            first = corpus.good_function(tags)
        else:
            first = corpus.good_source
        cases = [first]
        # Most connections keep their framing intact, so that their many cases reach the
        # zipper's routing; the rest break the framing and end early.
        case = self._framed_case if rng.random() < 0.7 else self._case
        for _ in range(rng.randint(self.cases // 2, self.cases * 3 // 2)):
            cases.append(case())
        prediction = self.oracle.predict(cases, PROBE)
        handshakes = sum(1 for case in cases if case[:1] == b"\xb1")
        return Plan(cases, handshakes, prediction)

    def _framed_case(self) -> bytes:
        """A well-framed data frame with hostile content: fields mutated, not the framing."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.45:
            return rng.choice(self.corpus.data)
        if roll < 0.95:
            frame = rng.choice(self.corpus.frames)
            mutate = self.mutator.mutate
            return encode_frame(
                DataFrame(
                    tag=rng.choice((frame.tag, rng.randrange(2**32))),
                    payload=mutate(frame.payload) if rng.random() < 0.7 else frame.payload,
                    metadata=mutate(frame.metadata) if rng.random() < 0.3 else frame.metadata,
                )
            )
        if roll < 0.98:
            return encode_frame(DataFrame(tag=STATS_TAG, payload=b""))
        return encode_frame(DataFrame(tag=HEARTBEAT_TAG, payload=b""))

    def _case(self) -> bytes:
        rng, corpus = self.rng, self.corpus
        roll = rng.random()
        if roll < 0.60:
            return rng.choice(corpus.data)
        if roll < 0.88:
            return self.mutator.mutate(rng.choice(corpus.data))
        if roll < 0.91:
            return encode_frame(DataFrame(tag=STATS_TAG, payload=b""))
        if roll < 0.93:
            return encode_frame(DataFrame(tag=HEARTBEAT_TAG, payload=b""))
        if roll < 0.95:
            return rng.choice(corpus.control)
        if roll < 0.96:
            return rng.choice(corpus.handshakes)
        if roll < 0.98:
            return rng.randbytes(rng.randint(1, 32))
        # A header announcing a frame over the limit: refused before its body arrives.
        return y3.encode_header(0xBF, self.max_frame_size + rng.randint(1, 1 << 20))


class RawClient(StreamHandler):
    """The raw client end of one fuzz connection: records what the zipper says."""

    def __init__(self) -> None:
        loop = asyncio.get_running_loop()
        self.decoder = FrameDecoder()
        self.frames: list[Frame] = []
        self.stats_answers = 0
        self.lost: asyncio.Future[None] = loop.create_future()
        self.changed = asyncio.Event()
        self.undecodable = False

    def connection_made(self, channel: Channel) -> None:
        self.channel = channel

    def data_received(self, data: bytes) -> None:
        try:
            frames = self.decoder.feed(data)
        except FrameError:
            self.undecodable = True
            return
        for frame in frames:
            if isinstance(frame, DataFrame) and frame.tag == STATS_TAG:
                self.stats_answers += 1
            elif not (isinstance(frame, DataFrame) and frame.tag == HEARTBEAT_TAG):
                self.frames.append(frame)
        self.changed.set()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(None)
        self.changed.set()

    @property
    def closing_frame(self) -> GoawayFrame | RejectedFrame | None:
        for frame in self.frames:
            if isinstance(frame, (GoawayFrame, RejectedFrame)):
                return frame
        return None

    async def until(self, check: Callable[[], bool], timeout: float) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not check():
            self.changed.clear()
            left = deadline - loop.time()
            if left <= 0:
                return False
            try:
                await asyncio.wait_for(self.changed.wait(), left)
            except (asyncio.TimeoutError, TimeoutError):
                return check()
        return True


@dataclass
class FuzzReport:
    """What one campaign sent and how the zipper answered."""

    connections: int = 0
    cases_sent: int = 0
    handshakes_sent: int = 0
    cases_handled: int = 0
    bytes_sent: int = 0
    seconds: float = 0.0
    outcomes: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    mismatches: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "connections": self.connections,
            "cases_sent": self.cases_sent,
            "handshakes_sent": self.handshakes_sent,
            "cases_handled": self.cases_handled,
            "bytes_sent": self.bytes_sent,
            "seconds": round(self.seconds, 2),
            "cases_per_second": round(self.cases_sent / self.seconds) if self.seconds else 0,
            "outcomes": dict(self.outcomes),
            "close_reasons": dict(self.reasons.most_common(20)),
            "mismatches": self.mismatches[:20],
        }


async def run_plan(transport: Transport, host: str, port: int, plan: Plan) -> str | None:
    """Send one plan and check the zipper's answer; a description of any mismatch."""
    client = RawClient()
    try:
        channel = await asyncio.wait_for(transport.connect(host, port, client), CONNECTION_TIMEOUT)
    except (TransportError, OSError, asyncio.TimeoutError, TimeoutError) as exc:
        return f"cannot connect: {exc}"
    expect = plan.prediction
    try:
        channel.write(b"".join(plan.cases) + PROBE)
        if expect.outcome == "answered":
            if not await client.until(
                lambda: client.stats_answers >= expect.stats_answers, CONNECTION_TIMEOUT
            ):
                return f"answered: {client.stats_answers} of {expect.stats_answers} stats answers"
            if client.lost.done() or client.closing_frame is not None:
                return f"answered, yet closed: {client.closing_frame}"
            return None
        if expect.outcome == "incomplete":
            await client.until(lambda: client.lost.done(), QUIET_PERIOD)
            if client.lost.done() or client.closing_frame is not None:
                return f"incomplete, yet closed: {client.closing_frame}"
            return None
        if not await client.until(lambda: client.lost.done(), CONNECTION_TIMEOUT):
            return f"{expect.outcome} ({expect.reason}): still open after {CONNECTION_TIMEOUT} s"
        frame = client.closing_frame
        if expect.outcome == "client-ended":
            return None
        if not expect.told:
            return None if frame is None else f"told a YoMo client {frame!r} ({expect.reason})"
        if frame is None or not frame.message:
            return f"closed without a reason (expected {expect.reason!r})"
        if isinstance(frame, RejectedFrame) is not expect.reject:
            return f"closed with {frame!r}, expected reject={expect.reject} ({expect.reason})"
        return None
    finally:
        if not channel.is_closing():
            channel.abort()
        await asyncio.wait_for(channel.wait_closed(), CONNECTION_TIMEOUT)


async def run_campaign(
    transport: Transport,
    address: tuple[str, int],
    workflow: Workflow,
    *,
    cases: int,
    seed: int = 0,
    concurrency: int = 16,
    cases_per_connection: int = 100,
    deadline: float | None = None,
) -> FuzzReport:
    """Send at least ``cases`` cases (or stop at ``deadline``, a ``time.monotonic()``)."""
    # Drawing the corpus takes seconds of CPU: on a thread, so the event loop (and any
    # healthy clients on it) keeps answering meanwhile instead of going silent.
    corpus = await asyncio.to_thread(Corpus.draw, workflow, seed)
    planner = Planner(corpus, Oracle(workflow), seed, cases=cases_per_connection)
    report = FuzzReport()
    started = time.monotonic()

    async def worker() -> None:
        while report.cases_sent < cases and (deadline is None or time.monotonic() < deadline):
            plan = planner.plan()
            report.connections += 1
            report.cases_sent += len(plan.cases)
            report.handshakes_sent += plan.handshakes
            report.cases_handled += plan.prediction.cases_handled
            report.bytes_sent += sum(map(len, plan.cases))
            report.outcomes[plan.prediction.outcome] += 1
            if plan.prediction.outcome == "closed":
                report.reasons[_reason_kind(plan.prediction.reason)] += 1
            problem = await run_plan(transport, *address, plan)
            if problem is not None:
                report.mismatches.append(problem)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    report.seconds = time.monotonic() - started
    return report


def _reason_kind(reason: str) -> str:
    """A close reason without its particulars (offsets, names), for counting."""
    head = reason.split(":")[0]
    return head if len(head) < 60 else head[:60]
