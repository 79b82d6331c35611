"""Streaming: whole packets out of arbitrary chunks, and the Subscribe/OnObserve key observer.

Both are sans-I/O: the caller feeds whatever bytes arrived and gets back what is complete.
A packet that arrives inside one chunk is returned as a view of that chunk (no copy); one that
spans chunks is joined once when its last byte arrives.

Errors never lose accepted data: when a chunk holds complete packets followed by bad bytes,
``feed`` returns the packets and raises on the next call. A framing error (bad header) is
final: the stream cannot be resynchronised, so every later call raises it again.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import NamedTuple

from y3._errors import (
    KeyOutOfRangeError,
    PacketTooLargeError,
    PacketTooShortError,
    TruncatedVarIntError,
    Y3Error,
)
from y3._packet import KEY_MASK, LENGTH_MAX_BYTES, NODE_FLAG, decode_header, read_length

__all__ = ["DEFAULT_MAX_PACKET_SIZE", "KeyObserver", "Observation", "StreamDecoder"]

Buffer = bytes | bytearray | memoryview
# (buffer holding the packet, start, end, stream offset of start)
Span = tuple[bytes, int, int, int]

DEFAULT_MAX_PACKET_SIZE = 16 * 1024 * 1024
_MAX_HEADER = 1 + LENGTH_MAX_BYTES


def _header_size(buf: bytes | bytearray, pos: int, end: int, base: int) -> tuple[int, int] | None:
    """(header size, value length) of the packet at ``pos``, or None if ``buf[pos:end]`` does
    not hold the whole header yet. ``base`` is the stream offset of ``buf[0]``."""
    if end - pos < 2:
        return None
    first = buf[pos + 1]
    if first < 0x40:
        return 2, first
    try:
        length, start = read_length(buf, pos + 1, end, base=base)
    except TruncatedVarIntError:
        return None
    return start - pos, length


class StreamDecoder:
    """Splits a byte stream into whole top-level packets, however it is chunked.

    ``max_packet_size`` bounds the memory a single packet may take (header included); a packet
    declaring more raises PacketTooLargeError as soon as its header is read. ``None`` means
    no limit beyond the format's own (2**31 - 1 value bytes).
    """

    def __init__(self, *, max_packet_size: int | None = DEFAULT_MAX_PACKET_SIZE) -> None:
        if max_packet_size is not None and max_packet_size < 2:
            raise ValueError("max_packet_size must be at least 2")
        self._max = max_packet_size
        self._head = bytearray()  # a packet whose header is still incomplete
        self._parts: list[bytes] = []  # a packet whose header is known, as received so far
        self._have = 0
        self._total = 0
        self._packet_start = 0  # stream offset of the packet in progress
        self._consumed = 0  # stream offset of the next chunk
        self._error: Y3Error | None = None

    @property
    def pending(self) -> int:
        """Bytes held for a packet that is not complete yet."""
        return len(self._head) + self._have

    def feed(self, data: Buffer) -> list[memoryview]:
        """Absorb ``data``; return every packet it completes, each as a whole-TLV memoryview."""
        return [memoryview(buf)[start:end] for buf, start, end, _ in self.feed_spans(data)]

    def close(self) -> None:
        """Declare the end of the stream; raises PacketTooShortError if a packet is unfinished
        (Go: "malformed")."""
        if self._error is not None:
            raise self._error
        if self._head or self._parts:
            total = f"{self._total}" if self._parts else "an unknown number of"
            raise PacketTooShortError(
                f"stream ended inside a packet: {self.pending} of {total} bytes",
                offset=self._packet_start,
            )

    def feed_spans(self, data: Buffer) -> list[Span]:
        """Like ``feed`` but returns (buffer, start, end, stream offset) tuples, so that a
        caller can walk the packets without making views."""
        if self._error is not None:
            raise self._error
        chunk = data if isinstance(data, bytes) else bytes(data)
        out: list[Span] = []
        try:
            pos = self._finish_pending(chunk, out) if (self._head or self._parts) else 0
            self._split(chunk, pos, out)
        except Y3Error as exc:
            self._error = exc
            if not out:
                raise
        finally:
            self._consumed += len(chunk)
        return out

    def _check_size(self, size: int, offset: int) -> None:
        if self._max is not None and size > self._max:
            raise PacketTooLargeError(
                f"packet of {size} bytes exceeds max_packet_size {self._max}", offset=offset
            )

    def _split(self, chunk: bytes, pos: int, out: list[Span]) -> None:
        n = len(chunk)
        base = self._consumed
        while pos < n:
            if n - pos >= 2 and chunk[pos + 1] < 0x40:  # inline: a one-byte length
                size = chunk[pos + 1] + 2
            else:
                header = _header_size(chunk, pos, n, base)
                if header is None:
                    self._head += chunk[pos:]
                    self._packet_start = base + pos
                    return
                size = header[0] + header[1]
            if self._max is not None and size > self._max:
                self._check_size(size, base + pos)
            if n - pos < size:
                self._parts = [chunk[pos:] if pos else chunk]
                self._have = n - pos
                self._total = size
                self._packet_start = base + pos
                return
            out.append((chunk, pos, pos + size, base + pos))
            pos += size

    def _finish_pending(self, chunk: bytes, out: list[Span]) -> int:
        """Continue the packet in progress with ``chunk``; return how much of it was used."""
        pos = 0
        if self._head:
            take = min(len(chunk), _MAX_HEADER - len(self._head))
            self._head += chunk[:take]
            header = _header_size(self._head, 0, len(self._head), self._packet_start)
            if header is None:
                return len(chunk)
            size = header[0] + header[1]
            self._check_size(size, self._packet_start)
            head = bytes(self._head)
            self._head = bytearray()
            if size <= len(head):
                out.append((head, 0, size, self._packet_start))
                return take - (len(head) - size)
            self._parts, self._have, self._total = [head], len(head), size
            pos = take
        take = min(self._total - self._have, len(chunk) - pos)
        if take:
            self._parts.append(chunk if take == len(chunk) else chunk[pos : pos + take])
            self._have += take
            pos += take
        if self._have == self._total:
            packet = b"".join(self._parts)
            out.append((packet, 0, len(packet), self._packet_start))
            self._parts, self._have, self._total = [], 0, 0
        return pos


class Observation(NamedTuple):
    """One observed child: its key and the whole child TLV (tag, length and value)."""

    key: int
    packet: memoryview


def _rebased(exc: Y3Error, delta: int) -> Y3Error:
    return type(exc)(exc.message, offset=None if exc.offset is None else exc.offset + delta)


class KeyObserver:
    """YoMo's ``Subscribe(key).OnObserve(...)`` over a byte stream.

    Feed chunks; for each root node packet, get the first child whose key is observed, as
    ``Observation(key, whole child TLV)``. The walk goes child by child using the lengths, so a
    key is never matched inside a value, and it stops at the first match (the rest of the
    packet is skipped). With ``nested=True`` the walk also descends into child nodes, in
    document order (YoMo's Go observer finds nested keys too, by scanning bytes). Top-level
    primitive packets carry no children and yield nothing.

    A malformed child raises a Y3Error for that packet only; the stream carries on.
    """

    def __init__(
        self,
        keys: int | Iterable[int],
        *,
        nested: bool = False,
        max_packet_size: int | None = DEFAULT_MAX_PACKET_SIZE,
    ) -> None:
        self.keys = frozenset((keys,) if isinstance(keys, int) else keys)
        bad = [k for k in self.keys if not 0 <= k <= KEY_MASK]
        if bad or not self.keys:
            raise KeyOutOfRangeError(f"observed keys must be 0x00-0x3F, got {sorted(self.keys)}")
        self.nested = nested
        # tag byte -> observed?, so that the walk tests a key with one index (a tuple: CPython
        # indexes tuples faster than bytes).
        self._table = tuple(tag & KEY_MASK in self.keys for tag in range(256))
        self._decoder = StreamDecoder(max_packet_size=max_packet_size)
        self._queue: deque[Span] = deque()
        self._deferred: Y3Error | None = None

    @property
    def pending(self) -> int:
        """Bytes held for a packet that is not complete yet."""
        return self._decoder.pending

    def close(self) -> None:
        """Declare the end of the stream (see ``StreamDecoder.close``)."""
        self._decoder.close()

    def feed(self, data: Buffer) -> list[Observation]:
        """Absorb ``data``; return the observations of every root packet it completes."""
        stream_error: Y3Error | None = None
        try:
            self._queue.extend(self._decoder.feed_spans(data))
        except Y3Error as exc:
            stream_error = exc
        out: list[Observation] = []
        error, self._deferred = self._deferred, None
        while error is None and self._queue:
            span = self._queue.popleft()
            try:
                found = self._match(span)
            except Y3Error as exc:
                error = _rebased(exc, span[3] - span[1])
                break
            if found is not None:
                out.append(found)
        error = error or stream_error
        if error is not None:
            if not out:
                raise error
            self._deferred = error
        return out

    def _match(self, span: Span) -> Observation | None:
        buf, start, end, _ = span
        if not buf[start] & NODE_FLAG:
            return None
        if self.nested:
            return self._walk(buf, start, end)
        # The hot path: first-level children only, bounds checked once after the loop.
        table = self._table
        # The stream decoder has checked the root's header: its value ends at ``end``, and
        # its length varint ends at the first byte without the continuation bit.
        pos = start + 1
        while buf[pos] & 0x80:
            pos += 1
        pos += 1
        limit = end
        last = limit - 1
        while pos < last:
            length = buf[pos + 1]
            if length < 0x40:
                if table[buf[pos]]:
                    value_end = pos + 2 + length
                    if value_end > limit:
                        break
                    return Observation(buf[pos] & KEY_MASK, memoryview(buf)[pos:value_end])
                pos += 2 + length
            else:
                tag, _, value_end = decode_header(buf, pos, limit)
                if table[tag]:
                    return Observation(tag & KEY_MASK, memoryview(buf)[pos:value_end])
                pos = value_end
        if pos == limit:
            return None
        return self._walk(buf, start, end)  # a child overran: the checked walk names it

    def _walk(self, buf: bytes, start: int, end: int) -> Observation | None:
        """The checked walk, descending into nodes when ``nested``."""
        keys = self.keys
        _, pos, limit = decode_header(buf, start, end)
        limits = [limit]
        while True:
            if pos >= limit:
                limits.pop()
                if not limits:
                    return None
                limit = limits[-1]
                continue
            tag, value_start, value_end = decode_header(buf, pos, limit)
            if tag & KEY_MASK in keys:
                return Observation(tag & KEY_MASK, memoryview(buf)[pos:value_end])
            if self.nested and tag & NODE_FLAG:
                limits.append(value_end)
                limit = value_end
                pos = value_start
            else:
                pos = value_end
