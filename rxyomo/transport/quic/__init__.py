"""QUIC on aioquic: one bidirectional stream per connection, Y3 frames on it.

The layers, from the wire up:

- ``udp``: the datagram socket (batched reads, GSO where the kernel has it);
- ``connection``: aioquic's ``QuicConnection`` with rxyomo's packet-size and framing rules;
- ``server``: one endpoint demultiplexing connections by connection ID;
- ``lifecycle``: a channel's phases and the table of the moves between them;
- ``channel``: one connection as a :class:`~rxyomo.transport.base.Channel`, with
  ``timers`` (its clocks) and ``outgoing`` (what it writes on the data stream);
- ``errors``: QUIC close codes to :class:`~rxyomo.transport.base.TransportError`;
- ``transport``: :class:`QuicTransport`, the public entry point.
"""

from rxyomo.transport.quic.transport import (
    LOOPBACK_DATAGRAM_SIZE,
    MAX_DATAGRAM_SIZE,
    QuicTransport,
)

__all__ = ["LOOPBACK_DATAGRAM_SIZE", "MAX_DATAGRAM_SIZE", "QuicTransport"]
