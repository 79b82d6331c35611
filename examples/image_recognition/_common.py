"""What the example's programs share: command-line options, the transport, clean stops."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from pathlib import Path
from typing import Any

from rxyomo.client import ZipperClient
from rxyomo.transport import TlsConfig, Transport, TransportOptions, get_transport
from rxyomo.transport.certs import dev_client_tls

# QUIC packets on loopback: aioquic's cost is per packet, so fewer, larger packets carry
# a JPEG frame for much less CPU than 1200-byte ones (see the README's figures).
from rxyomo.transport.quic import LOOPBACK_DATAGRAM_SIZE


def parser(description: str) -> argparse.ArgumentParser:
    """The options every program of the example takes."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--zipper", default="localhost:9000", help="HOST:PORT of the zipper")
    p.add_argument("--transport", default="quic", choices=["quic", "tcp"])
    p.add_argument(
        "--max-datagram-size",
        type=int,
        metavar="BYTES",
        help="largest QUIC packet (default: the transport's choice, larger towards loopback "
        f"than elsewhere; on loopback {LOOPBACK_DATAGRAM_SIZE} costs the least CPU a frame)",
    )
    p.add_argument(
        "--ca",
        type=Path,
        help="CA that signed the zipper's certificate "
        "(default: the development CA rxyomo generates)",
    )
    p.add_argument("--quiet", action="store_true", help="log warnings only")
    return p


def transport(args: argparse.Namespace) -> Transport:
    """The client transport the options ask for."""
    tls = TlsConfig(cafile=args.ca) if args.ca else dev_client_tls()
    if args.transport == "quic" and args.max_datagram_size is not None:
        return get_transport(
            "quic", TransportOptions(tls=tls), max_datagram_size=args.max_datagram_size
        )
    return get_transport(args.transport, TransportOptions(tls=tls))


def client_options(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of a client: the zipper's address and the transport."""
    return {"zipper": args.zipper, "transport": transport(args)}


def setup_logging(args: argparse.Namespace) -> None:
    """Log lines with a time stamp, on stderr."""
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(name)s: %(message)s",
    )


def stop_event() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM, so that a program closes its connections in
    order instead of dying mid-frame."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # Windows: Ctrl-C raises instead
            loop.add_signal_handler(sig, stop.set)
    return stop


async def serve(client: ZipperClient, ready: str) -> None:
    """Connect ``client``, print ``ready`` on stdout, then serve until SIGINT or SIGTERM,
    or until the client stops for good (raising why, e.g. ``ConnectionRejected``).
    The client is closed in order either way."""
    stop = stop_event()
    try:
        await client.connect()
        print(ready, flush=True)
        stopped = asyncio.ensure_future(client.wait_stopped())
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait({stopped, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if stopped.done():
            stopped.result()
        stopped.cancel()
    finally:
        await client.close()
