"""aioquic's sans-I/O connection with a receive window that moves only when the app reads.

aioquic raises a stream's flow-control limit (MAX_STREAM_DATA) by doubling it
whenever the peer has sent more than half of it, whether or not anything was
read: a receiver that stops reading never stops its sender, and memory grows
without bound. This subclass replaces that policy for rxyomo's data stream
with a sliding window: the limit is ``consumed + receive_window``, where
``consumed`` counts bytes handed to the application, and it is re-announced
once less than half a window of credit is left. A paused reader stops
consuming, so its sender is stopped by QUIC itself after one window.

It also writes the length of STREAM and CRYPTO frames as a four-byte variable-length
integer where aioquic writes two: two bytes stop at 16383, so aioquic's own packets
cannot usefully exceed 16 KiB, while loopback and jumbo-frame links carry 64 KiB
datagrams, and aioquic's cost is per packet. Any QUIC peer parses either form.

Acknowledgements are batched: aioquic sends an ACK 1 ms after every ack-eliciting
packet, so at a few hundred frames a second each frame costs a packet (and an
event-loop wake-up) on both ends just for its ACK. Here an ACK waits up to
:data:`ACK_DELAY` (well below the 25 ms ``max_ack_delay`` announced to the peer) or
until :data:`ACK_EVERY` packets are unacknowledged, whichever comes first, and rides
along with any data sent sooner.

The peer's ``max_udp_payload_size`` transport parameter is honoured (RFC 9000 section
18.2: an endpoint must not send datagrams larger than it): a connection starts at 1200
bytes, the size every QUIC path carries, and raises its packets to the configured
``max_datagram_size`` only up to what the peer announced. A peer that announces nothing
gets 1200-byte packets: its limit is unknown (quic-go announces, and reads, 1452 bytes).
This end announces :data:`MAX_UDP_PAYLOAD_SIZE`, since it reads datagrams whole. Packets
never exceed what the installed aioquic can encrypt either (see
:func:`largest_packet_supported`).

Everything here stays sans-I/O, like the class it extends.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

from aioquic.buffer import Buffer, size_uint_var
from aioquic.quic.configuration import SMALLEST_MAX_DATAGRAM_SIZE, QuicConfiguration
from aioquic.quic.congestion.base import create_congestion_control
from aioquic.quic.connection import (
    MAX_STREAM_DATA_FRAME_CAPACITY,
    QuicConnection,
    QuicConnectionState,
)
from aioquic.quic.crypto import CryptoPair
from aioquic.quic.events import ConnectionTerminated
from aioquic.quic.packet import (
    QuicFrameType,
    QuicProtocolVersion,
    pull_quic_transport_parameters,
    push_quic_transport_parameters,
)
from aioquic.quic.packet_builder import QuicPacketBuilder
from aioquic.quic.recovery import QuicPacketPacer, QuicPacketSpace
from aioquic.quic.stream import QuicStream, QuicStreamSender

from rxyomo.transport._common import check_positive

#: The one bidirectional stream of a connection; the client opens it.
DATA_STREAM = 0
#: Bytes of a frame's length field: a four-byte varint (prefix 0b10) holds up to 2**30 - 1.
_LENGTH_SIZE = 4
_LENGTH_PREFIX = 0x80000000
#: Seconds an ACK may wait for more packets to acknowledge, or for data to ride on.
ACK_DELAY = 0.010
#: Packets received after which an ACK goes out at once (RFC 9000 section 13.2.2
#: suggests two; more would slow a sender whose congestion window grows with ACKs).
ACK_EVERY = 2
#: The ``max_udp_payload_size`` this end announces: the largest RFC 9000 allows (the
#: UDP endpoints read 65535-byte datagrams).
MAX_UDP_PAYLOAD_SIZE = 65527
#: The largest packet aioquic builds whose packet protection is C code can encrypt (1.3,
#: the newest release for Python 3.10, is one); later builds encrypt any size.
CLASSIC_PACKET_LIMIT = 1500


#: A short header with a four-byte packet number, for :func:`largest_packet_supported`.
_PROBE_HEADER = bytes([0x43]) + bytes(8) + bytes(4)


@functools.lru_cache(maxsize=8)
def largest_packet_supported(size: int) -> int:
    """``size`` if the installed aioquic can encrypt a packet that large, else
    :data:`CLASSIC_PACKET_LIMIT`."""
    if size <= CLASSIC_PACKET_LIMIT:
        # Every build encrypts these; a probe this small could overrun the C build's buffer.
        return size
    pair = CryptoPair()
    pair.setup_initial(cid=bytes(8), is_client=True, version=QuicProtocolVersion.VERSION_1)
    try:
        # The C build refuses a plaintext over its limit before writing anything.
        pair.encrypt_packet(_PROBE_HEADER, bytes(size), 0)
    except ValueError:  # aioquic's CryptoError, whose own module is private
        return CLASSIC_PACKET_LIMIT
    return size


class StreamConnection(QuicConnection):
    """A :class:`QuicConnection` whose data-stream credit follows what the app consumed."""

    def __init__(
        self,
        *,
        configuration: QuicConfiguration,
        receive_window: int,
        max_udp_payload_size: int | None = MAX_UDP_PAYLOAD_SIZE,
        **kwargs: Any,
    ) -> None:
        #: The datagram size this end would use; sent only once the peer allows it. A larger
        #: packet than aioquic can encrypt would fail the connection when it is written.
        self.wanted_datagram_size = largest_packet_supported(configuration.max_datagram_size)
        # The first flight (padded to the datagram size) must reach any peer.
        start = min(configuration.max_datagram_size, SMALLEST_MAX_DATAGRAM_SIZE)
        super().__init__(
            configuration=dataclasses.replace(configuration, max_datagram_size=start), **kwargs
        )
        #: The peer's transport parameters, once received: its ``max_udp_payload_size``
        #: (None when it announced none) and its idle timeout in seconds (None likewise).
        self.peer_max_udp_payload_size: int | None = None
        self.peer_idle_timeout: float | None = None
        #: What this end announces as its ``max_udp_payload_size`` (None: nothing, as
        #: aioquic itself does).
        self.max_udp_payload_size = max_udp_payload_size
        check_positive(receive_window=receive_window)
        self.receive_window = receive_window
        #: Bytes of the data stream delivered to the application so far.
        self.consumed = 0
        # Kept here because aioquic forgets a stream once both of its sides finished.
        self._data_sender: QuicStreamSender | None = None
        self._ack_delay = ACK_DELAY
        self._packets_unacked = 0

    @property
    def datagram_size(self) -> int:
        """The largest datagram this connection sends now."""
        return int(self._max_datagram_size)

    def idle_timeout(self) -> float:
        """Seconds of silence after which the connection ends: the lower of both ends'
        idle timeouts, once the peer's is known."""
        local = float(self.configuration.idle_timeout)
        return local if self.peer_idle_timeout is None else min(local, self.peer_idle_timeout)

    def _parse_transport_parameters(self, data: bytes, from_session_ticket: bool = False) -> None:
        super()._parse_transport_parameters(data, from_session_ticket)
        # aioquic validated them; it keeps neither of the two read here.
        parameters = pull_quic_transport_parameters(Buffer(data=data))
        self.peer_max_udp_payload_size = parameters.max_udp_payload_size
        if parameters.max_idle_timeout:
            self.peer_idle_timeout = parameters.max_idle_timeout / 1000.0
        allowed = parameters.max_udp_payload_size or SMALLEST_MAX_DATAGRAM_SIZE
        size = min(self.wanted_datagram_size, allowed)
        if size > self._max_datagram_size:
            self._use_datagram_size(size)

    def _use_datagram_size(self, size: int) -> None:
        # Congestion control and pacing count in datagrams: rebuilt for the new size,
        # keeping what is in flight (the handshake's first packets).
        loss = self._loss
        in_flight = loss._cc.bytes_in_flight
        loss._cc = create_congestion_control(
            self.configuration.congestion_control_algorithm, max_datagram_size=size
        )
        loss._cc.bytes_in_flight = in_flight
        loss._pacer = QuicPacketPacer(max_datagram_size=size)
        self._max_datagram_size = size

    def _serialize_transport_parameters(self) -> bytes:
        data = super()._serialize_transport_parameters()
        if self.max_udp_payload_size is None:
            return data
        parameters = pull_quic_transport_parameters(Buffer(data=data))
        parameters.max_udp_payload_size = self.max_udp_payload_size
        buf = Buffer(capacity=3 * SMALLEST_MAX_DATAGRAM_SIZE)
        push_quic_transport_parameters(buf, parameters)
        return bytes(buf.data)

    @property
    def close_event(self) -> ConnectionTerminated | None:
        """Why the connection is closing, as soon as it is known (before draining ends)."""
        return self._close_event

    def has_data_stream(self) -> bool:
        """True once the data stream exists (a server learns of it from the first bytes)."""
        return DATA_STREAM in self._streams

    def ack_now(self) -> None:
        """Acknowledge what arrived with the next packet, not after the ACK delay.

        aioquic only writes an ACK once its delay has passed; a connection that
        closes sooner would leave the peer believing its last frames were lost.
        """
        for space in self._spaces.values():
            if space.ack_at is not None:
                space.ack_at = 0.0

    def receive_datagram(self, data: bytes, addr: Any, now: float) -> None:
        """aioquic's, asking for an ACK once :data:`ACK_EVERY` packets await one."""
        try:
            super().receive_datagram(data, addr, now)
        except AssertionError:
            # aioquic 1.3 asserts when a server connection that has decrypted no Initial
            # yet meets a packet of another type (anyone can send that, coalesced behind a
            # bogus Initial); later releases drop the rest of the datagram, as this does.
            if self.configuration.is_client or self._state is not QuicConnectionState.FIRSTFLIGHT:
                raise
            return
        if any(space.ack_at is not None for space in self._spaces.values()):
            self._packets_unacked += 1
            if self._packets_unacked >= ACK_EVERY:
                self.ack_now()

    def unacked_bytes(self) -> int:
        """Bytes written to the data stream that the peer has not acknowledged yet."""
        stream = self._streams.get(DATA_STREAM)
        if stream is None:
            return 0
        # The sender keeps every byte from the first unacknowledged one onwards.
        return len(stream.sender._buffer)

    def send_stream_data(self, stream_id: int, data: bytes, end_stream: bool = False) -> None:
        """aioquic's, remembering the data stream's sender for :meth:`acknowledged_bytes`;
        a pending ACK goes out with this data rather than in a packet of its own."""
        super().send_stream_data(stream_id, data, end_stream)
        self.ack_now()
        if self._data_sender is None and stream_id == DATA_STREAM:
            self._data_sender = self._streams[DATA_STREAM].sender

    def acknowledged_bytes(self) -> int:
        """Bytes written to the data stream, from its start, that the peer acknowledged."""
        sender = self._data_sender
        # The sender drops each byte once it and every byte before it are acknowledged.
        return 0 if sender is None else sender._buffer_start

    def data_stream_finished(self) -> bool:
        """True when everything written, FIN included, was acknowledged."""
        stream = self._streams.get(DATA_STREAM)
        return stream is None or stream.sender.is_finished

    def _write_stream_limits(
        self, builder: QuicPacketBuilder, space: QuicPacketSpace, stream: QuicStream
    ) -> None:
        # Locally opened unidirectional streams have no receive side (limit 0).
        if not stream.max_stream_data_local:
            return
        if stream.stream_id == DATA_STREAM:
            target = self.consumed + self.receive_window
            if target - stream.max_stream_data_local >= self.receive_window // 2:
                stream.max_stream_data_local = target
        # Any other stream is a protocol violation the channel closes on: no new credit.
        if (
            stream.max_stream_data_local_sent != stream.max_stream_data_local
            and stream.stream_id is not None
        ):
            buf = builder.start_frame(
                QuicFrameType.MAX_STREAM_DATA,
                capacity=MAX_STREAM_DATA_FRAME_CAPACITY,
                handler=self._on_max_stream_data_delivery,
                handler_args=(stream,),
            )
            buf.push_uint_var(stream.stream_id)
            buf.push_uint_var(stream.max_stream_data_local)
            stream.max_stream_data_local_sent = stream.max_stream_data_local

    def _write_ack_frame(
        self, builder: QuicPacketBuilder, space: QuicPacketSpace, now: float
    ) -> None:
        super()._write_ack_frame(builder, space, now)
        self._packets_unacked = 0

    def _write_crypto_frame(
        self, builder: QuicPacketBuilder, space: QuicPacketSpace, stream: QuicStream
    ) -> bool:
        sender = stream.sender
        overhead = 1 + size_uint_var(sender.next_offset) + _LENGTH_SIZE
        frame = sender.get_frame(builder.remaining_flight_space - overhead)
        if frame is None:
            return False
        buf = builder.start_frame(
            QuicFrameType.CRYPTO,
            capacity=overhead,
            handler=sender.on_data_delivery,
            handler_args=(frame.offset, frame.offset + len(frame.data), False),
        )
        buf.push_uint_var(frame.offset)
        buf.push_uint32(_LENGTH_PREFIX | len(frame.data))
        buf.push_bytes(frame.data)
        return True

    def _write_stream_frame(
        self,
        builder: QuicPacketBuilder,
        space: QuicPacketSpace,
        stream: QuicStream,
        max_offset: int,
    ) -> int:
        sender = stream.sender
        assert stream.stream_id is not None  # only open streams are written
        overhead = 1 + size_uint_var(stream.stream_id) + _LENGTH_SIZE
        if sender.next_offset:
            overhead += size_uint_var(sender.next_offset)
        highest_before = sender.highest_offset
        frame = sender.get_frame(builder.remaining_flight_space - overhead, max_offset)
        if frame is None:
            return 0
        # STREAM type bits: 0x4 an offset follows, 0x2 a length follows, 0x1 FIN.
        frame_type = QuicFrameType.STREAM_BASE | 0x2
        if frame.offset:
            frame_type |= 0x4
        if frame.fin:
            frame_type |= 0x1
        buf = builder.start_frame(
            frame_type,
            capacity=overhead,
            handler=sender.on_data_delivery,
            handler_args=(frame.offset, frame.offset + len(frame.data), frame.fin),
        )
        buf.push_uint_var(stream.stream_id)
        if frame.offset:
            buf.push_uint_var(frame.offset)
        buf.push_uint32(_LENGTH_PREFIX | len(frame.data))
        buf.push_bytes(frame.data)
        return sender.highest_offset - highest_before
