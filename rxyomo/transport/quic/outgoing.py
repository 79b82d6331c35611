"""What one end writes on a connection's data stream.

The client opens the stream by writing to it; a server cannot send on it until the
client's first bytes arrived, so what a server writes sooner waits here.
"""

from __future__ import annotations

from rxyomo.transport.quic.connection import DATA_STREAM, StreamConnection


class DataStreamWriter:
    """Writes to the data stream, holding a server's bytes until the stream exists."""

    __slots__ = ("_early", "_early_size", "_is_client", "_quic")

    def __init__(self, quic: StreamConnection) -> None:
        self._quic = quic
        self._is_client = bool(quic.configuration.is_client)
        self._early: list[bytes] = []
        self._early_size = 0

    @property
    def can_send(self) -> bool:
        """True once bytes can go on the stream (always for a client)."""
        return self._is_client or self._quic.has_data_stream()

    def write(self, data: bytes) -> None:
        """Send ``data``, or hold it until the client opened the stream."""
        if self.can_send:
            self._quic.send_stream_data(DATA_STREAM, data)
        else:
            self._early.append(data)
            self._early_size += len(data)

    def send_fin(self) -> None:
        """End the stream after what was written (only once :attr:`can_send`)."""
        self._quic.send_stream_data(DATA_STREAM, b"", end_stream=True)

    def flush(self) -> None:
        """Send what was held, now that the stream may exist."""
        if self._early and self._quic.has_data_stream():
            for chunk in self._early:
                self._quic.send_stream_data(DATA_STREAM, chunk)
            self.drop()

    def drop(self) -> None:
        """Forget what was held: the connection is over."""
        self._early.clear()
        self._early_size = 0

    def buffered(self) -> int:
        """Bytes written and not yet acknowledged by the peer, held ones included."""
        return self._early_size + self._quic.unacked_bytes()
