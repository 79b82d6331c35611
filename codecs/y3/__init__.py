"""Y3, YoMo's tag-length-value codec, in both of its dialects.

``Dialect.CODEC_GOLANG`` is the seed era's ``y3-codec-golang`` (PVarInt integers);
``Dialect.V1`` is ``yomorun/y3`` v1.0.x, the dialect of YoMo's frames (NVarInt integers).
"""

from __future__ import annotations

from y3._encoder import (
    encode_array_packet,
    encode_header,
    encode_node_packet,
    encode_primitive_packet,
)
from y3._errors import (
    BeyondBoundaryError,
    KeyOutOfRangeError,
    MalformedPacketError,
    NegativeLengthError,
    PacketTooLargeError,
    PacketTooShortError,
    TruncatedVarIntError,
    UnsupportedTypeError,
    ValueOutOfRangeError,
    Y3Error,
)
from y3._marshal import Codec
from y3._packet import (
    NodePacket,
    Packet,
    PrimitivePacket,
    decode_header,
    decode_node_packet,
    decode_packet,
    decode_primitive_packet,
)
from y3._schema import y3_field
from y3._stream import DEFAULT_MAX_PACKET_SIZE, KeyObserver, Observation, StreamDecoder
from y3._types import Dialect, Kind
from y3._values import decode_value, encode_value
from y3._varfloat import (
    decode_varfloat32,
    decode_varfloat64,
    encode_varfloat32,
    encode_varfloat64,
)
from y3._varint import (
    decode_nvarint,
    decode_pvarint,
    encode_nvarint,
    encode_pvarint,
    nvarint_size,
    pvarint_size,
)

__all__ = [
    "DEFAULT_MAX_PACKET_SIZE",
    "BeyondBoundaryError",
    "Codec",
    "Dialect",
    "KeyObserver",
    "KeyOutOfRangeError",
    "Kind",
    "MalformedPacketError",
    "NegativeLengthError",
    "NodePacket",
    "Observation",
    "Packet",
    "PacketTooLargeError",
    "PacketTooShortError",
    "PrimitivePacket",
    "StreamDecoder",
    "TruncatedVarIntError",
    "UnsupportedTypeError",
    "ValueOutOfRangeError",
    "Y3Error",
    "decode_header",
    "decode_node_packet",
    "decode_nvarint",
    "decode_packet",
    "decode_primitive_packet",
    "decode_pvarint",
    "decode_value",
    "decode_varfloat32",
    "decode_varfloat64",
    "encode_array_packet",
    "encode_header",
    "encode_node_packet",
    "encode_nvarint",
    "encode_primitive_packet",
    "encode_pvarint",
    "encode_value",
    "encode_varfloat32",
    "encode_varfloat64",
    "nvarint_size",
    "pvarint_size",
    "y3_field",
]
