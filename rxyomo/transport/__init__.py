"""Transports: one interface (``base``) and its QUIC, TLS-over-TCP and in-memory forms.

``get_transport(name, options)`` builds a transport by the name used in
configuration files: ``"quic"``, ``"tcp"`` or ``"memory"``.
"""

from __future__ import annotations

from collections.abc import Callable

from rxyomo.transport.base import (
    ALPN,
    Channel,
    FlowControl,
    HandlerFactory,
    Listener,
    StreamHandler,
    TlsConfig,
    Transport,
    TransportError,
    TransportOptions,
)
from rxyomo.transport.certs import DevCertificates, dev_certificates, dev_client_tls
from rxyomo.transport.memory import MemoryTransport
from rxyomo.transport.quic import QuicTransport
from rxyomo.transport.tcp import TcpTransport

__all__ = [
    "ALPN",
    "TRANSPORTS",
    "Channel",
    "DevCertificates",
    "FlowControl",
    "HandlerFactory",
    "Listener",
    "MemoryTransport",
    "QuicTransport",
    "StreamHandler",
    "TcpTransport",
    "TlsConfig",
    "Transport",
    "TransportError",
    "TransportOptions",
    "dev_certificates",
    "dev_client_tls",
    "get_transport",
]

#: Transport constructors by configuration name.
TRANSPORTS: dict[str, Callable[[TransportOptions], Transport]] = {
    QuicTransport.name: QuicTransport,
    TcpTransport.name: TcpTransport,
    MemoryTransport.name: MemoryTransport,
}


def get_transport(name: str, options: TransportOptions | None = None) -> Transport:
    """The transport called ``name`` ("quic", "tcp" or "memory") with ``options``."""
    try:
        make = TRANSPORTS[name]
    except KeyError:
        known = ", ".join(sorted(TRANSPORTS))
        raise ValueError(f"unknown transport {name!r}; known: {known}") from None
    return make(options if options is not None else TransportOptions())
