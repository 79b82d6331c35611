"""The codec's exceptions: one base class, one subclass per way a packet can be wrong."""

from __future__ import annotations

__all__ = [
    "BeyondBoundaryError",
    "KeyOutOfRangeError",
    "MalformedPacketError",
    "NegativeLengthError",
    "PacketTooLargeError",
    "PacketTooShortError",
    "TruncatedVarIntError",
    "UnsupportedTypeError",
    "ValueOutOfRangeError",
    "Y3Error",
]


class Y3Error(ValueError):
    """Base class of every error the Y3 codec raises.

    ``offset`` is the byte position (in the buffer or stream being decoded) where the
    problem was found, or ``None`` when the error is not about a position (encoding);
    ``message`` is the text without the position.
    """

    def __init__(self, message: str, *, offset: int | None = None) -> None:
        self.message = message
        self.offset = offset
        super().__init__(message if offset is None else f"{message} (at offset {offset})")


class PacketTooShortError(Y3Error):
    """Fewer bytes than a packet needs: under the 2-byte minimum, or a stream ended mid-packet.

    Go's message: "invalid y3 packet minimal size".
    """


class BeyondBoundaryError(Y3Error):
    """A value runs past the end of its buffer or of its parent node ("beyond the boundary")."""


class TruncatedVarIntError(Y3Error):
    """A varint (or a numeric value) ends before its last byte ("buffer insufficient")."""


class NegativeLengthError(Y3Error):
    """A length field decodes to a negative number ("invalid y3 packet, negative length")."""


class KeyOutOfRangeError(Y3Error):
    """A sequence id (key) outside what its position allows (0x00-0x3F, user keys 0x10-0x3F,
    signal keys 0x02-0x0F)."""


class ValueOutOfRangeError(Y3Error):
    """A number that does not fit its declared width, or a varint longer than that width allows."""


class PacketTooLargeError(Y3Error):
    """A streamed packet declares more bytes than the decoder's ``max_packet_size``."""


class MalformedPacketError(Y3Error):
    """A packet that parses but does not have the expected shape (a node where a primitive is
    expected, invalid UTF-8 for a string, a missing key)."""


class UnsupportedTypeError(Y3Error, TypeError):
    """A Python value or type the high-level marshaller cannot map to Y3."""
