"""QUIC: one bidirectional stream per connection, Y3 frames on it, on one of two cores.

The native core (quinn-proto in Rust, the ``rxyomo_quic`` extension built from
``native/quic``) is used when it is installed, aioquic otherwise; ``QuicTransport(core=...)``
or ``RXYOMO_QUIC_CORE`` ("native" or "aioquic") chooses. The aioquic layers, from the
wire up:

- ``udp``: the datagram socket (batched reads, GSO where the kernel has it);
- ``connection``: aioquic's ``QuicConnection`` with rxyomo's packet-size and framing rules;
- ``server``: one endpoint demultiplexing connections by connection ID;
- ``lifecycle``: a channel's phases and the table of the moves between them;
- ``channel``: one connection as a :class:`~rxyomo.transport.base.Channel`, with
  ``timers`` (its clocks) and ``outgoing`` (what it writes on the data stream);
- ``errors``: QUIC close codes to :class:`~rxyomo.transport.base.TransportError`;
- ``transport``: :class:`QuicTransport`, the public entry point.

The native core's: ``native_driver`` (an endpoint on a socket), ``native_channel`` (one
connection as a Channel) and ``native`` (the transport, its server, and the choice).
"""

from rxyomo.transport.quic.transport import (
    LOOPBACK_DATAGRAM_SIZE,
    MAX_DATAGRAM_SIZE,
    QuicTransport,
)

__all__ = ["LOOPBACK_DATAGRAM_SIZE", "MAX_DATAGRAM_SIZE", "QuicTransport"]
