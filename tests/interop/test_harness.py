"""Go-only baselines: real YoMo parts talking to each other through the harness.

They show that the harness and YoMo itself behave, so that a failing interop test
points at rxyomo rather than at the tooling.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools.harness import HarnessGroup, event, yomo_zipper_config

pytestmark = pytest.mark.network

#: Every wait in these tests is bounded by this many seconds.
TIMEOUT = 30.0

FRAMES = 200
SIZE = 1024


def test_source_sfn_sink_pipeline(
    yomo_processes: HarnessGroup, udp_port: int, tmp_path: Path
) -> None:
    config = yomo_zipper_config(tmp_path / "zipper.yaml", name="baseline", port=udp_port)
    zipper = yomo_processes.start(["zipper", "--config", str(config)], name="zipper")
    addr = zipper.wait_event("listening", TIMEOUT)["addr"]
    assert addr == f"127.0.0.1:{udp_port}"

    echo = yomo_processes.start(
        ["sfn", "--zipper", addr, "--name", "echo", "--observe", "0x10", "--reply", "0x11"],
        name="echo",
    )
    sink = yomo_processes.start(
        ["sfn", "--zipper", addr, "--name", "sink", "--observe", "0x11"], name="sink"
    )
    # The zipper acknowledges the handshake after adding the route: connected means routed.
    echo.wait_event("connected", TIMEOUT)
    sink.wait_event("connected", TIMEOUT)

    # --hold: YoMo's Source.Close closes the QUIC connection at once, dropping frames
    # still in flight; staying connected a moment lets the last ones arrive.
    source_args = ["source", "--zipper", addr, "--name", "baseline-source", "--tag", "0x10"]
    source_args += ["--count", str(FRAMES), "--size", str(SIZE), "--hold", "1"]
    source = yomo_processes.start(source_args, name="source")
    source.wait_event("connected", TIMEOUT)
    done = source.wait_event("done", TIMEOUT)
    assert (done["written"], done["write_errors"]) == (FRAMES, 0)
    assert source.wait(TIMEOUT) == 0

    sink.wait_for(lambda e: e["event"] == "count" and e["frames"] >= FRAMES, TIMEOUT)
    echo.wait_for(lambda e: e["event"] == "count" and e["frames"] >= FRAMES, TIMEOUT)
    assert sink.stop() == 0
    assert echo.stop() == 0
    for fn in (echo, sink):
        fn.wait_event("exit", TIMEOUT)
        final = fn.last("count")
        assert final is not None
        assert (final["frames"], final["duplicates"], final["bytes"]) == (FRAMES, 0, FRAMES * SIZE)

    sink_frames = sink.events("frame")
    assert sorted(f["seq"] for f in sink_frames) == list(range(FRAMES))
    assert {(f["tag"], f["len"]) for f in sink_frames} == {(0x11, SIZE)}
    assert all(f["source_id"] and f["tid"] for f in sink_frames)
    assert len({f["tid"] for f in sink_frames}) == FRAMES, "every write has its own tid"
    assert len({f["source_id"] for f in sink_frames}) == 1

    # ctx.Write in the echo function keeps the incoming metadata: same tid and source id.
    at_echo = echo.wait_for(event("frame", seq=0), TIMEOUT)
    at_sink = sink.wait_for(event("frame", seq=0), TIMEOUT)
    assert at_echo["tag"] == 0x10
    assert at_echo["tid"] == at_sink["tid"]
    assert at_echo["source_id"] == at_sink["source_id"]

    assert zipper.stop() == 0
    zipper.wait_event("exit", TIMEOUT)

    for proc in yomo_processes:
        assert proc.events("unparsed") == [], f"{proc.name}: stdout carries only events"
        unexpected = [e for e in proc.events("error") if not e.get("during_close")]
        assert unexpected == [], f"{proc.name}: {unexpected}"


def test_token_auth(yomo_processes: HarnessGroup, udp_port: int, tmp_path: Path) -> None:
    config = yomo_zipper_config(
        tmp_path / "zipper.yaml", name="guarded", port=udp_port, token="right-token"
    )
    zipper = yomo_processes.start(["zipper", "--config", str(config)], name="zipper")
    addr = zipper.wait_event("listening", TIMEOUT)["addr"]

    base = ["source", "--zipper", addr, "--tag", "0x10", "--count", "1"]
    wrong = yomo_processes.start([*base, "--credential", "token:wrong-token"], name="wrong")
    rejected = wrong.wait_event("connect_error", TIMEOUT)
    assert "wrong-token" in rejected["error"]
    assert wrong.wait(TIMEOUT) == 3
    assert wrong.last("connected") is None

    # The same source with the right token gets in: the rejection was the token's.
    right = yomo_processes.start([*base, "--credential", "token:right-token"], name="right")
    right.wait_event("connected", TIMEOUT)
    right.wait_event("done", TIMEOUT)
    assert right.wait(TIMEOUT) == 0

    assert zipper.returncode is None, "the zipper survives a rejected client"
