"""aioquic's sans-I/O connection with a receive window that moves only when the app reads.

aioquic raises a stream's flow-control limit (MAX_STREAM_DATA) by doubling it
whenever the peer has sent more than half of it, whether or not anything was
read: a receiver that stops reading never stops its sender, and memory grows
without bound. This subclass replaces that policy for rxyomo's data stream
with a sliding window: the limit is ``consumed + receive_window``, where
``consumed`` counts bytes handed to the application, and it is re-announced
once less than half a window of credit is left. A paused reader stops
consuming, so its sender is stopped by QUIC itself after one window.

Everything here stays sans-I/O, like the class it extends.
"""

from __future__ import annotations

from typing import Any

from aioquic.quic.connection import MAX_STREAM_DATA_FRAME_CAPACITY, QuicConnection
from aioquic.quic.events import ConnectionTerminated
from aioquic.quic.packet import QuicFrameType
from aioquic.quic.packet_builder import QuicPacketBuilder
from aioquic.quic.recovery import QuicPacketSpace
from aioquic.quic.stream import QuicStream, QuicStreamSender

from rxyomo.transport._common import check_positive

#: The one bidirectional stream of a connection; the client opens it.
DATA_STREAM = 0


class StreamConnection(QuicConnection):
    """A :class:`QuicConnection` whose data-stream credit follows what the app consumed."""

    def __init__(self, *, receive_window: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        check_positive(receive_window=receive_window)
        self.receive_window = receive_window
        #: Bytes of the data stream delivered to the application so far.
        self.consumed = 0
        # Kept here because aioquic forgets a stream once both of its sides finished.
        self._data_sender: QuicStreamSender | None = None

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

    def unacked_bytes(self) -> int:
        """Bytes written to the data stream that the peer has not acknowledged yet."""
        stream = self._streams.get(DATA_STREAM)
        if stream is None:
            return 0
        # The sender keeps every byte from the first unacknowledged one onwards.
        return len(stream.sender._buffer)

    def send_stream_data(self, stream_id: int, data: bytes, end_stream: bool = False) -> None:
        """aioquic's, remembering the data stream's sender for :meth:`acknowledged_bytes`."""
        super().send_stream_data(stream_id, data, end_stream)
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
