"""The one interface every transport implements.

A transport carries one ordered, reliable, bidirectional byte stream per
connection (a QUIC stream, a TLS-over-TCP socket, or an in-memory pipe) and
nothing else: framing, handshakes and routing live in the sans-I/O protocol
core. The shape follows asyncio's Protocol/Transport pair because it is
callback driven (no task and no StreamReader per connection), which is what
makes the QUIC adapter fast, and because it carries flow control both ways:
``pause_writing``/``resume_writing`` tell the protocol side that a peer is slow,
``pause_reading``/``resume_reading`` let it stop accepting bytes from one.
``write_confirmed`` tells it how much of what it wrote the other end has, so that it
never has to poll for acknowledgements or for an empty buffer.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

#: The ALPN protocol id YoMo speaks over QUIC and TLS.
ALPN = "yomo"


class TransportError(Exception):
    """A connection could not be set up or broke in a transport-specific way."""


class CertificateError(TransportError):
    """The server's TLS certificate is not trusted (unknown CA, wrong name, expired).

    Retrying does not help until the configuration changes, so clients give up at once.
    """


class StreamHandler(abc.ABC):
    """The protocol side of one connection: a transport calls these."""

    @abc.abstractmethod
    def connection_made(self, channel: Channel) -> None:
        """The connection is up; ``channel`` is how to write to it."""

    @abc.abstractmethod
    def data_received(self, data: bytes) -> None:
        """Bytes arrived, in order; chunk boundaries carry no meaning."""

    @abc.abstractmethod
    def connection_lost(self, exc: Exception | None) -> None:
        """The connection is gone (``exc`` is None for an orderly close)."""

    def pause_writing(self) -> None:  # noqa: B027 - optional hook
        """The channel's write buffer passed its high watermark: stop writing."""

    def resume_writing(self) -> None:  # noqa: B027 - optional hook
        """The channel's write buffer drained below its low watermark."""

    def write_confirmed(self, confirmed: int) -> None:  # noqa: B027 - optional hook
        """More of what was written is confirmed: ``confirmed`` bytes so far, counted from
        the first ``write`` (what :meth:`Channel.confirmed_bytes` answers).

        Called from the event loop, never from inside ``write``, each time the count
        grows: when the peer's transport acknowledges bytes (QUIC), the peer's handler
        reads them (in memory), or the kernel takes them (TLS over TCP). Once it equals
        the bytes written, the write buffer is empty.
        """


class Channel(abc.ABC):
    """The transport side of one connection: the protocol side calls these."""

    @abc.abstractmethod
    def write(self, data: bytes) -> None:
        """Queue bytes for sending; never blocks (see ``pause_writing``)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Send what is queued, then close."""

    @abc.abstractmethod
    def abort(self) -> None:
        """Close at once, dropping what is queued."""

    @abc.abstractmethod
    def pause_reading(self) -> None:
        """Stop calling ``data_received`` (and stop granting the peer credit)."""

    @abc.abstractmethod
    def resume_reading(self) -> None:
        """Undo ``pause_reading``."""

    @abc.abstractmethod
    def get_write_buffer_size(self) -> int:
        """Bytes queued but not yet handed to the network."""

    @abc.abstractmethod
    def is_closing(self) -> bool:
        """True once ``close``/``abort`` was called or the connection was lost."""

    def acknowledged_bytes(self) -> int | None:
        """How many of the bytes written so far the peer's transport has confirmed.

        Counted from the first ``write``. It still answers after the connection is lost
        (what was confirmed before), which is how a sender tells which of its messages
        were in flight. None when the transport cannot tell (TLS over TCP: the kernel
        keeps its acknowledgements to itself).
        """
        return None

    def confirmed_bytes(self, written: int) -> int:
        """:meth:`acknowledged_bytes`, or where the transport cannot tell, what it took off
        the writer's hands: ``written`` (bytes written so far) less what it still buffers."""
        acknowledged = self.acknowledged_bytes()
        return written - self.get_write_buffer_size() if acknowledged is None else acknowledged

    async def wait_closed(self) -> None:  # noqa: B027 - optional override
        """Wait until the connection is over and its resources are released.

        Call it after ``close``/``abort`` (or when the peer is expected to close)
        before the event loop ends: a QUIC client, for one, keeps its socket for
        a short closing period. Transports that hold nothing override nothing.
        """

    @property
    @abc.abstractmethod
    def peer(self) -> str:
        """A printable address of the other end (``host:port`` or a name)."""


@dataclass(frozen=True)
class TlsConfig:
    """Certificates for QUIC and TLS-over-TCP.

    Servers need ``certfile``/``keyfile`` (a development pair is generated and
    reused when they are omitted); clients verify the server against ``cafile``
    (or the system store) unless ``verify`` is turned off explicitly.
    """

    certfile: Path | None = None
    keyfile: Path | None = None
    cafile: Path | None = None
    verify: bool = True
    server_name: str | None = None


@dataclass(frozen=True)
class FlowControl:
    """Write-buffer watermarks, in bytes, for ``pause_writing``/``resume_writing``."""

    high_watermark: int = 4 * 1024 * 1024
    low_watermark: int = 1 * 1024 * 1024

    def __post_init__(self) -> None:
        if not 0 <= self.low_watermark <= self.high_watermark:
            raise ValueError(
                f"need 0 <= low_watermark <= high_watermark, got "
                f"{self.low_watermark} and {self.high_watermark}"
            )


class Listener(abc.ABC):
    """A server's listening endpoint."""

    @property
    @abc.abstractmethod
    def address(self) -> tuple[str, int]:
        """The bound host and port (the real port when 0 was asked for)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Stop accepting; existing connections stay up."""

    @abc.abstractmethod
    async def wait_closed(self) -> None:
        """Wait until the listener is fully closed."""


HandlerFactory = Callable[[], StreamHandler]


@dataclass(frozen=True)
class TransportOptions:
    """Settings shared by every transport."""

    tls: TlsConfig = field(default_factory=TlsConfig)
    flow: FlowControl = field(default_factory=FlowControl)


class Transport(abc.ABC):
    """Makes connections; one instance per kind of transport and settings."""

    #: The name used in configuration files and on the command line.
    name: str = ""
    #: Whether the transport notices a silent peer by itself (QUIC's PING and idle
    #: timeout). Over one that does not, rxyomo peers agree on heartbeats instead.
    liveness: bool = False

    @abc.abstractmethod
    async def serve(self, host: str, port: int, factory: HandlerFactory) -> Listener:
        """Listen on ``host:port``; call ``factory()`` for each new connection."""

    @abc.abstractmethod
    async def connect(self, host: str, port: int, handler: StreamHandler) -> Channel:
        """Connect to a server; raises :class:`TransportError` on failure."""
