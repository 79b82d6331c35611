"""The host: many functions side by side, added, replaced and removed while others serve;
one function's trap, endless loop or memory blow-up never stops or slows another."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from rxyomo.functions import (
    QUARANTINED,
    Frame,
    FunctionHost,
    LoadError,
    Outcome,
    QuarantinePolicy,
    function_config,
)
from rxyomo.functions.stats import percentile
from tests.functions.conftest import GuestFactory
from tests.functions.test_runner import Collector, key
from tests.waiting import eventually_in_thread

pytest.importorskip("wasmtime")


def _echo_config(guest: object, name: str = "healthy", **limits: object):
    return function_config(
        name, guest, observe=[0x10], export="echo", reply=0x11, limits=limits or None
    )


def _hostile(guest: object, export: str):
    limits = {"timeout_ms": 150, "memory": "8MiB"}
    return function_config(f"hostile-{export}", guest, observe=[0x10], export=export, limits=limits)


def _timed_run(host: FunctionHost, name: str, count: int) -> tuple[float, list[float]]:
    """Seconds to handle ``count`` frames fed as fast as the queue takes them, and each
    frame's latency."""
    runner = host.runner(name)
    got = Collector()
    sent: dict[int, float] = {}
    latencies: list[float] = []
    started = time.perf_counter()

    def done(outcome: Outcome) -> None:
        latencies.append(time.perf_counter() - sent[key(outcome)])
        got(outcome)

    for index in range(count):
        sent[index] = time.perf_counter()
        while not runner.submit(Frame(0x10, b"%d" % index, key=index), done):
            time.sleep(0.0005)  # scenario: a full queue; offer the frame again
    outcomes = got.wait(count, timeout=60)
    elapsed = time.perf_counter() - started
    assert all(o.ok for o in outcomes)
    assert sorted(map(key, outcomes)) == list(range(count))
    return elapsed, sorted(latencies)


class _Feeder:
    """Feeds a function a frame every ``interval`` seconds on a thread, as a source would."""

    def __init__(self, host: FunctionHost, name: str, interval: float = 0.005) -> None:
        self.outcomes = Collector()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(host, name, interval))
        self._thread.start()

    def _run(self, host: FunctionHost, name: str, interval: float) -> None:
        while not self._stop.wait(interval):
            host.submit(name, Frame(0x10, b"x"), self.outcomes)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


@pytest.fixture
def feeders() -> Iterator[list[_Feeder]]:
    started: list[_Feeder] = []
    yield started
    for feeder in started:
        feeder.stop()


def test_a_healthy_function_keeps_serving_beside_hostile_ones(
    host: FunctionHost, make_guest: GuestFactory, feeders: list[_Feeder]
) -> None:
    guest = make_guest("ok:")
    host.add(_echo_config(guest, queue=256))
    _timed_run(host, "healthy", 300)  # warm
    alone, alone_latency = _timed_run(host, "healthy", 3000)
    for export in ("spin", "hog", "crash"):
        host.add(_hostile(guest, export))
        feeders.append(_Feeder(host, f"hostile-{export}"))
    time.sleep(0.3)  # scenario: the hostile ones get going before the healthy run
    beside, beside_latency = _timed_run(host, "healthy", 3000)
    # Each hostile one goes on until it has been quarantined (three faults in a row: an
    # endless loop takes three deadlines), however fast the healthy run was done.
    eventually_in_thread(
        lambda: all(
            host.snapshot()[f"hostile-{export}"]["quarantines"] >= 1
            for export in ("spin", "hog", "crash")
        ),
        "every hostile function quarantined",
        timeout=30,
    )
    for feeder in feeders:
        feeder.stop()
    stats = host.snapshot()
    print(
        f"\nhealthy alone {3000 / alone:.0f} frames/s, beside hostile {3000 / beside:.0f} "
        f"frames/s ({alone / beside:.2f}x); p99 {percentile(alone_latency, 0.99) * 1e3:.2f} ms"
        f" alone, {percentile(beside_latency, 0.99) * 1e3:.2f} ms beside"
    )
    # How fast it stays is the isolation benchmark's to say (benches/); here, that every
    # healthy frame was answered, in order of keys, with no error (_timed_run checks each).
    assert stats["healthy"]["errors"] == {}
    assert stats["hostile-spin"]["errors"].get("deadline exceeded", 0) >= 1
    assert stats["hostile-hog"]["errors"].get("memory limit exceeded", 0) >= 1
    assert stats["hostile-crash"]["errors"].get("guest trap", 0) >= 3
    for name in ("hostile-spin", "hostile-hog", "hostile-crash"):
        assert stats[name]["quarantines"] >= 1, name
        assert stats[name]["errors"].get(QUARANTINED, 0) >= 1, name
        assert stats[name]["handled"] == 0


def test_an_endless_loop_does_not_hold_up_another_function(
    host: FunctionHost, make_guest: GuestFactory
) -> None:
    guest = make_guest()
    host.add(_echo_config(guest))
    host.add(
        function_config("spin", guest, observe=[1], export="spin", limits={"timeout_ms": 5000})
    )
    spinning = Collector()
    host.submit("spin", Frame(1, b""), spinning)
    time.sleep(0.05)  # scenario: the spinning call is under way
    _, latencies = _timed_run(host, "healthy", 200)
    # All 200 were answered while the loop still ran: it held none of them up.
    assert len(latencies) == 200
    assert spinning.outcomes == []
    assert spinning.wait(1, timeout=15)[0].cause == "deadline exceeded"


def test_functions_are_added_replaced_and_removed_while_others_serve(
    host: FunctionHost, make_guest: GuestFactory
) -> None:
    one, two = make_guest("one:", "one"), make_guest("two:", "two")
    host.add(_echo_config(one, "a"))
    host.add(_echo_config(two, "b"))
    assert host.names == ["a", "b"]
    assert "a" in host
    assert len(host) == 2
    with pytest.raises(ValueError, match="served already"):
        host.add(_echo_config(two, "a"))
    got = Collector()
    host.submit("a", Frame(0x10, b"x"), got)
    assert got.wait(1)[0].answers[0].data == b"one:x"
    replaced = host.replace(_echo_config(two, "a", instances=2))
    assert replaced.instances == 2
    host.submit("a", Frame(0x10, b"x"), got)
    assert got.wait(2)[1].answers[0].data == b"two:x"
    with pytest.raises(LoadError, match="lacks the export"):
        host.replace(function_config("a", two, observe=[0x10], export="nothing"))
    assert host.runner("a") is replaced  # a refused replacement changes nothing
    host.remove("b")
    assert host.names == ["a"]
    with pytest.raises(KeyError, match="no function 'b'"):
        host.submit("b", Frame(0x10, b""), got)
    with pytest.raises(KeyError):
        host.remove("b")


def test_a_bad_module_is_refused_and_the_others_keep_serving(
    host: FunctionHost, make_guest: GuestFactory, tmp_path: object
) -> None:
    host.add(_echo_config(make_guest("ok:")))
    with pytest.raises(LoadError, match="function 'broken': the module lacks the export"):
        host.add(function_config("broken", make_guest(), observe=[1], export="infer"))
    assert host.names == ["healthy"]
    got = Collector()
    host.submit("healthy", Frame(0x10, b"x"), got)
    assert got.wait(1)[0].ok


def test_quarantine_policy_applies_to_every_function(make_guest: GuestFactory) -> None:
    served = FunctionHost(quarantine=QuarantinePolicy(faults=1, backoff=5.0, max_backoff=5.0))
    try:
        served.add(function_config("crash", make_guest(), observe=[1], export="crash"))
        got = Collector()
        served.submit("crash", Frame(1, b""), got)
        got.wait(1)
        served.submit("crash", Frame(1, b""), got)
        assert got.wait(2)[1].cause == QUARANTINED
    finally:
        served.close()
