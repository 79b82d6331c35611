"""The ``rxyomo`` command line: options reach the zipper's transport; bad ones are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from rxyomo import cli
from rxyomo.transport.quic import QuicTransport
from rxyomo.zipper.server import Zipper


class _Started(Exception):
    """Stops ``serve`` where the zipper would start listening."""


@pytest.fixture
def workflow(tmp_path: Path) -> Path:
    path = tmp_path / "workflow.yaml"
    path.write_text("name: cli\nhost: 127.0.0.1\nport: 0\nfunctions:\n  - name: fn\n")
    return path


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[Zipper]:
    zippers: list[Zipper] = []

    async def start(self: Zipper) -> tuple[str, int]:
        zippers.append(self)
        raise _Started

    monkeypatch.setattr(Zipper, "start", start)
    return zippers


def test_serve_passes_the_max_datagram_size_to_the_quic_transport(
    workflow: Path, started: list[Zipper]
) -> None:
    with pytest.raises(_Started):
        # Within 1500 bytes, which every aioquic build can encrypt.
        cli.main(["serve", "-c", str(workflow), "--max-datagram-size", "1400"])
    transport = started[0].transport
    assert isinstance(transport, QuicTransport)
    assert transport.max_datagram_size == 1400


def test_serve_leaves_the_datagram_size_to_the_transport_by_default(
    workflow: Path, started: list[Zipper]
) -> None:
    with pytest.raises(_Started):
        cli.main(["serve", "-c", str(workflow)])
    transport = started[0].transport
    assert isinstance(transport, QuicTransport)
    assert transport.max_datagram_size == QuicTransport().max_datagram_size


def test_serve_refuses_a_datagram_size_out_of_range(
    workflow: Path, started: list[Zipper], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["serve", "-c", str(workflow), "--max-datagram-size", "100"]) == 2
    assert "max_datagram_size must be in 1200..65507, got 100" in capsys.readouterr().err
    assert started == []


def test_serve_refuses_a_datagram_size_for_tcp(
    workflow: Path, started: list[Zipper], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["serve", "-c", str(workflow), "--transport", "tcp", "--max-datagram-size", "9000"]
    assert cli.main(argv) == 2
    assert "applies to the quic transport only" in capsys.readouterr().err
    assert started == []
