"""Feeding a stream: how the runtime pushes Data frame payloads into an ``RxStream``."""

from __future__ import annotations

from reactivex.subject import Subject

__all__ = ["StreamClosedError", "StreamFeeder"]


class StreamClosedError(RuntimeError):
    """An item or an end was pushed into a stream that had already ended."""


class StreamFeeder:
    """The writing end of a source stream: one :meth:`feed` per incoming Data frame.

    Call it from the thread that runs the stream (the event loop's, in the runtime). The
    source is hot: subscribe to the pipeline before feeding, or the first items are missed.
    """

    __slots__ = ("_closed", "_subject")

    def __init__(self, subject: Subject[bytes]) -> None:
        self._subject = subject
        self._closed = False

    @property
    def closed(self) -> bool:
        """True once :meth:`complete` or :meth:`error` was called."""
        return self._closed

    def feed(self, payload: bytes | bytearray | memoryview) -> None:
        """Push one payload; a ``bytearray`` or ``memoryview`` is copied to ``bytes``."""
        if self._closed:
            raise StreamClosedError("feed() after the stream ended")
        if not isinstance(payload, bytes):
            if not isinstance(payload, (bytearray, memoryview)):
                raise TypeError(f"a payload must be bytes-like, got {type(payload).__name__}")
            payload = bytes(payload)
        self._subject.on_next(payload)

    def complete(self) -> None:
        """End the stream normally (the connection closed in order)."""
        self._close()
        self._subject.on_completed()

    def error(self, error: Exception) -> None:
        """End the stream with ``error`` (the connection broke)."""
        if not isinstance(error, Exception):
            raise TypeError(f"error() needs an Exception, got {type(error).__name__}")
        self._close()
        self._subject.on_error(error)

    def _close(self) -> None:
        if self._closed:
            raise StreamClosedError("the stream already ended")
        self._closed = True
