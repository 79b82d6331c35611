"""Transports: one interface (``base``) and its QUIC, TLS-over-TCP and in-memory forms.

``get_transport(name, options)`` builds a transport by the name used in
configuration files: ``"quic"``, ``"tcp"`` or ``"memory"``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rxyomo.transport._common import format_address
from rxyomo.transport.base import (
    ALPN,
    CertificateError,
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
    "CertificateError",
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
    "format_address",
    "get_transport",
]

#: Transport constructors by configuration name.
TRANSPORTS: dict[str, Callable[..., Transport]] = {
    QuicTransport.name: QuicTransport,
    TcpTransport.name: TcpTransport,
    MemoryTransport.name: MemoryTransport,
}


def get_transport(name: str, options: TransportOptions | None = None, **settings: Any) -> Transport:
    """The transport called ``name`` ("quic", "tcp" or "memory") with ``options``.

    ``settings`` go to that transport's constructor, e.g.
    ``get_transport("quic", options, max_datagram_size=8000)``.
    """
    try:
        make = TRANSPORTS[name]
    except KeyError:
        known = ", ".join(sorted(TRANSPORTS))
        raise ValueError(f"unknown transport {name!r}; known: {known}") from None
    try:
        return make(options if options is not None else TransportOptions(), **settings)
    except TypeError as exc:
        raise ValueError(f"bad settings for the {name} transport: {exc}") from exc
