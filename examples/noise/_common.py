"""Command-line options the example's programs share."""

from __future__ import annotations

import argparse
from pathlib import Path

from rxyomo.transport.base import TlsConfig
from rxyomo.transport.certs import dev_client_tls


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--zipper", default="localhost:9000", help="HOST:PORT of the zipper")
    p.add_argument("--transport", default="quic", choices=["quic", "tcp"])
    p.add_argument(
        "--ca",
        type=Path,
        help="CA that signed the zipper's certificate "
        "(default: the development CA rxyomo generates)",
    )
    return p


def tls(args: argparse.Namespace) -> TlsConfig:
    return TlsConfig(cafile=args.ca) if args.ca else dev_client_tls()
