"""YoMo v1.22's frames, in the y3 v1 dialect.

Every frame is one Y3 node packet whose tag is ``0x80 | frame type`` and whose children are the
frame's fields, keyed as in Go's ``pkg/frame-codec/y3codec`` (written in the same order, so the
bytes match Go's). Decoding follows Go's y3 v1 map semantics: a repeated field key keeps the last
value, unknown keys and nested nodes are ignored (skipped by their length), missing fields take
their defaults. Decoding walks the fields in place: the only copies are the values handed out.

Any malformed input raises ``FrameError`` (never a codec or other exception).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from enum import IntEnum

import y3
from y3 import Y3Error

from rxyomo.protocol.extensions import FIELD_KEY as _EXTENSIONS
from rxyomo.protocol.extensions import decode_extensions, encode_extensions

__all__ = [
    "DEFAULT_MAX_FRAME_SIZE",
    "RESERVED_TAG_MAX",
    "RESERVED_TAG_MIN",
    "ClientType",
    "ConnectToFrame",
    "DataFrame",
    "Frame",
    "FrameDecoder",
    "FrameError",
    "FrameTooLargeError",
    "FrameType",
    "GoawayFrame",
    "HandshakeAckFrame",
    "HandshakeFrame",
    "RejectedFrame",
    "decode_frame",
    "encode_frame",
    "is_reserved_tag",
]

DEFAULT_MAX_FRAME_SIZE = 16 * 1024 * 1024
# Go's frame.IsReservedTag: applications must not write these data tags.
RESERVED_TAG_MIN = 0xF000
RESERVED_TAG_MAX = 0xFFFF
_UINT32_MAX = 0xFFFF_FFFF
_BYTES_LIKE = (bytes, bytearray, memoryview)
_NODE = 0x80


class FrameType(IntEnum):
    """The frame type: the low 7 bits of the frame's tag byte."""

    DATA = 0x3F
    HANDSHAKE = 0x31
    HANDSHAKE_ACK = 0x29
    REJECTED = 0x39
    GOAWAY = 0x2E
    CONNECT_TO = 0x3E


class ClientType(IntEnum):
    """What kind of client a handshake announces (Go's ``core.ClientType``)."""

    SOURCE = 0x5F
    UPSTREAM_ZIPPER = 0x5E
    STREAM_FUNCTION = 0x5D


#: Client types by code, for decoding (a code rxyomo does not know stays an int).
_CLIENT_TYPES = {member.value: member for member in ClientType}


class FrameError(ValueError):
    """A frame that cannot be encoded or decoded."""


class FrameTooLargeError(FrameError):
    """A frame larger than the decoder's ``max_frame_size``."""


def is_reserved_tag(tag: int) -> bool:
    """Whether ``tag`` is in YoMo's reserved range 0xF000-0xFFFF."""
    return RESERVED_TAG_MIN <= tag <= RESERVED_TAG_MAX


def _check_uint32(value: int, what: str) -> None:
    if not isinstance(value, int) or not 0 <= value <= _UINT32_MAX:
        raise FrameError(f"{what} {value!r} is not a uint32")


@dataclass(frozen=True, slots=True)
class DataFrame:
    """Tagged application data; ``metadata`` is a msgpack map (see ``metadata.py``)."""

    tag: int
    payload: bytes
    metadata: bytes = b""
    #: The frame's encoding as it was received, if it was decoded: a router
    #: forwards these bytes instead of encoding the frame again. Not an init
    #: field, so ``dataclasses.replace`` never carries stale bytes over.
    raw: bytes | None = field(default=None, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        # Inline checks: this runs for every frame on the data path.
        if not (isinstance(self.tag, int) and 0 <= self.tag <= _UINT32_MAX):
            raise FrameError(f"data tag {self.tag!r} is not a uint32")
        if not isinstance(self.payload, _BYTES_LIKE):
            raise FrameError(f"data frame payload must be bytes, not {type(self.payload).__name__}")
        if not isinstance(self.metadata, _BYTES_LIKE):
            raise FrameError(
                f"data frame metadata must be bytes, not {type(self.metadata).__name__}"
            )


@dataclass(frozen=True, slots=True)
class HandshakeFrame:
    """The client's first frame: who it is and which data tags it observes."""

    name: str
    client_type: int
    id: str = ""
    auth_name: str = ""
    auth_payload: str = ""
    observed_data_tags: tuple[int, ...] = ()
    version: str = ""
    want_target: str = ""
    function_definition: bytes = b""
    #: rxyomo's extensions this client offers (:mod:`rxyomo.protocol.extensions`); None
    #: for a client that knows none (YoMo's), whose handshake has no such field.
    extensions: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.client_type, int) or not 0 <= self.client_type <= 0xFF:
            raise FrameError(f"client type {self.client_type!r} is not a byte")
        # Callers may pass a list; the frame keeps a tuple so that it stays hashable.
        object.__setattr__(self, "observed_data_tags", tuple(self.observed_data_tags))
        for tag in self.observed_data_tags:
            _check_uint32(tag, "observed data tag")
        _freeze_extensions(self)


@dataclass(frozen=True, slots=True)
class HandshakeAckFrame:
    """The zipper accepted the handshake.

    An rxyomo zipper answers a client that offered extensions with those it accepts;
    YoMo's HandshakeAck has no fields (``extensions`` None).
    """

    extensions: frozenset[str] | None = None

    def __post_init__(self) -> None:
        _freeze_extensions(self)


def _freeze_extensions(frame: HandshakeFrame | HandshakeAckFrame) -> None:
    if frame.extensions is not None:
        names = frozenset(frame.extensions)
        try:
            encode_extensions(names)
        except ValueError as exc:
            raise FrameError(str(exc)) from None
        object.__setattr__(frame, "extensions", names)


@dataclass(frozen=True, slots=True)
class RejectedFrame:
    """The zipper refuses the client for good (it must not reconnect)."""

    message: str = ""


@dataclass(frozen=True, slots=True)
class GoawayFrame:
    """The zipper evicts the connection (the client may come back later)."""

    message: str = ""


@dataclass(frozen=True, slots=True)
class ConnectToFrame:
    """The zipper asks the client to connect to another endpoint."""

    endpoint: str = ""


Frame = (
    DataFrame | HandshakeFrame | HandshakeAckFrame | RejectedFrame | GoawayFrame | ConnectToFrame
)

# Field keys, as in Go's y3codec.
_DATA_TAG, _DATA_PAYLOAD, _DATA_METADATA = 0x01, 0x02, 0x03
_HS_NAME, _HS_CLIENT_TYPE, _HS_ID, _HS_AUTH_NAME, _HS_AUTH_PAYLOAD = 0x01, 0x02, 0x03, 0x04, 0x05
_HS_TAGS, _HS_VERSION, _HS_WANT_TARGET, _HS_FUNCTION_DEFINITION = 0x06, 0x07, 0x08, 0x09
_MESSAGE = 0x01  # Rejected, Goaway and ConnectTo carry a single string under key 0x01


def _field(key: int, value: bytes | bytearray | memoryview) -> list[bytes | bytearray | memoryview]:
    return [y3.encode_header(key, len(value)), value]


def _text(text: str, what: str) -> bytes:
    try:
        return text.encode("utf-8")
    except (UnicodeEncodeError, AttributeError) as exc:
        raise FrameError(f"{what} {text!r} is not encodable text") from exc


def _node(frame_type: FrameType, parts: list[bytes | bytearray | memoryview]) -> bytes:
    header = y3.encode_header(_NODE | frame_type, sum(len(p) for p in parts))
    return b"".join([header, *parts])


def encode_frame(frame: Frame) -> bytes:
    """The Y3 bytes of ``frame``, identical to what YoMo v1.22's Go code writes."""
    try:
        return _encode(frame)
    except Y3Error as exc:  # a value over Y3's 2 GiB length limit
        raise FrameError(f"cannot encode {type(frame).__name__}: {exc}") from exc


def _encode(frame: Frame) -> bytes:
    if isinstance(frame, DataFrame):  # the data path: built directly, joined once
        if frame.raw is not None:
            return frame.raw
        tag = y3.encode_nvarint(frame.tag, 32, signed=False)
        metadata, payload = frame.metadata, frame.payload
        tag_header = bytes((_DATA_TAG, len(tag)))
        metadata_header = y3.encode_header(_DATA_METADATA, len(metadata))
        payload_header = y3.encode_header(_DATA_PAYLOAD, len(payload))
        size = (
            2 + len(tag) + len(metadata_header) + len(metadata) + len(payload_header) + len(payload)
        )
        header = y3.encode_header(_NODE | FrameType.DATA, size)
        return b"".join(
            (header, tag_header, tag, metadata_header, metadata, payload_header, payload)
        )
    if isinstance(frame, HandshakeFrame):
        tags = frame.observed_data_tags
        return _node(
            FrameType.HANDSHAKE,
            [
                *_field(_HS_NAME, _text(frame.name, "name")),
                *_field(_HS_ID, _text(frame.id, "id")),
                *_field(_HS_CLIENT_TYPE, bytes((frame.client_type,))),
                *_field(_HS_TAGS, struct.pack(f"<{len(tags)}I", *tags)),
                *_field(_HS_AUTH_NAME, _text(frame.auth_name, "auth name")),
                *_field(_HS_AUTH_PAYLOAD, _text(frame.auth_payload, "auth payload")),
                *_field(_HS_VERSION, _text(frame.version, "version")),
                *_field(_HS_FUNCTION_DEFINITION, frame.function_definition),
                *_field(_HS_WANT_TARGET, _text(frame.want_target, "want target")),
                *_extensions_field(frame.extensions),
            ],
        )
    if isinstance(frame, HandshakeAckFrame):
        return _node(FrameType.HANDSHAKE_ACK, _extensions_field(frame.extensions))
    if isinstance(frame, RejectedFrame):
        return _node(FrameType.REJECTED, _field(_MESSAGE, _text(frame.message, "message")))
    if isinstance(frame, GoawayFrame):
        return _node(FrameType.GOAWAY, _field(_MESSAGE, _text(frame.message, "message")))
    if isinstance(frame, ConnectToFrame):
        return _node(FrameType.CONNECT_TO, _field(_MESSAGE, _text(frame.endpoint, "endpoint")))
    raise FrameError(f"not a frame: {type(frame).__name__}")


def _extensions_field(names: frozenset[str] | None) -> list[bytes | bytearray | memoryview]:
    # Absent, not empty, for a peer that offers nothing: YoMo's bytes stay YoMo's.
    return [] if names is None else _field(_EXTENSIONS, encode_extensions(names))


_Fields = dict[int, tuple[int, int]]


def _extensions(buf: bytes | memoryview, fields: _Fields) -> frozenset[str] | None:
    if _EXTENSIONS not in fields:
        return None
    try:
        return decode_extensions(_bytes(buf, fields, _EXTENSIONS))
    except ValueError as exc:
        raise FrameError(str(exc)) from None


def _bytes(buf: bytes | memoryview, fields: _Fields, key: int) -> bytes:
    span = fields.get(key)
    return b"" if span is None else bytes(buf[span[0] : span[1]])


def _str(buf: bytes | memoryview, fields: _Fields, key: int) -> str:
    span = fields.get(key)
    if span is None:
        return ""
    try:
        return str(buf[span[0] : span[1]], "utf-8")
    except UnicodeDecodeError as exc:
        raise FrameError(f"field {key:#04x} is not valid UTF-8: {exc.reason}") from None


def _decode_handshake(buf: bytes | memoryview, fields: _Fields) -> HandshakeFrame:
    client_type = _bytes(buf, fields, _HS_CLIENT_TYPE)
    if len(client_type) != 1:
        raise FrameError(f"handshake client type must be 1 byte, got {len(client_type)}")
    raw_tags = _bytes(buf, fields, _HS_TAGS)
    if len(raw_tags) % 4:
        raise FrameError(f"observed data tags: {len(raw_tags)} bytes is not a multiple of 4")
    code = client_type[0]
    return HandshakeFrame(
        name=_str(buf, fields, _HS_NAME),
        client_type=_CLIENT_TYPES.get(code, code),
        id=_str(buf, fields, _HS_ID),
        auth_name=_str(buf, fields, _HS_AUTH_NAME),
        auth_payload=_str(buf, fields, _HS_AUTH_PAYLOAD),
        observed_data_tags=struct.unpack(f"<{len(raw_tags) // 4}I", raw_tags),
        version=_str(buf, fields, _HS_VERSION),
        want_target=_str(buf, fields, _HS_WANT_TARGET),
        function_definition=_bytes(buf, fields, _HS_FUNCTION_DEFINITION),
        extensions=_extensions(buf, fields),
    )


def _decode_at(buf: bytes | memoryview, start: int, end: int) -> Frame:
    """Decode the frame that fills ``buf[start:end]``; may raise Y3Error or FrameError."""
    tag, pos, limit = y3.decode_header(buf, start, end)
    if limit != end:
        raise FrameError(f"{end - limit} bytes after the frame's end at {limit}")
    if not tag & _NODE:
        raise FrameError(f"frame tag {tag:#04x} is not a node packet")
    # The fields, as y3 v1's map of primitive children: the last of a key wins.
    fields: _Fields = {}
    while pos < limit:
        length = buf[pos + 1] if limit - pos >= 2 else 0x40
        if length < 0x40 and pos + 2 + length <= limit:  # inline: a short field that fits
            field_tag, value_start, pos = buf[pos], pos + 2, pos + 2 + length
        else:
            field_tag, value_start, pos = y3.decode_header(buf, pos, limit)
        if not field_tag & _NODE:
            fields[field_tag & 0x3F] = (value_start, pos)
    code = tag & 0x7F
    if code == FrameType.DATA:
        span = fields.get(_DATA_TAG)
        data_tag = (
            0
            if span is None
            else y3.decode_nvarint(buf[span[0] : span[1]], bits=32, signed=False, offset=span[0])
        )
        frame = DataFrame(
            tag=data_tag,
            payload=_bytes(buf, fields, _DATA_PAYLOAD),
            metadata=_bytes(buf, fields, _DATA_METADATA),
        )
        object.__setattr__(frame, "raw", bytes(buf[start:end]))
        return frame
    if code == FrameType.HANDSHAKE:
        return _decode_handshake(buf, fields)
    if code == FrameType.HANDSHAKE_ACK:
        return HandshakeAckFrame(_extensions(buf, fields))
    if code == FrameType.REJECTED:
        return RejectedFrame(_str(buf, fields, _MESSAGE))
    if code == FrameType.GOAWAY:
        return GoawayFrame(_str(buf, fields, _MESSAGE))
    if code == FrameType.CONNECT_TO:
        return ConnectToFrame(_str(buf, fields, _MESSAGE))
    raise FrameError(f"unknown frame type {code:#04x}")


def decode_frame(buf: bytes | bytearray | memoryview) -> Frame:
    """Decode exactly one whole frame; trailing bytes are an error."""
    data = buf if isinstance(buf, bytes) else memoryview(buf).cast("B")
    try:
        return _decode_at(data, 0, len(data))
    except Y3Error as exc:
        raise FrameError(f"malformed frame: {exc}") from exc


class FrameDecoder:
    """Frames out of a byte stream split anywhere (sans-I/O).

    ``max_frame_size`` bounds one frame's bytes (header included); a larger one raises
    FrameTooLargeError as soon as its header arrives. Errors are final for the stream; frames
    completed before an error in the same chunk are returned first and the error is raised by
    the next ``feed``.
    """

    def __init__(self, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE) -> None:
        self._stream = y3.StreamDecoder(max_packet_size=max_frame_size)
        self._error: FrameError | None = None

    @property
    def pending(self) -> int:
        """Bytes held for a frame that is not complete yet."""
        return self._stream.pending

    def feed(self, data: bytes | bytearray | memoryview) -> list[Frame]:
        """Absorb ``data``; return every frame it completes, in order."""
        if self._error is not None:
            raise self._error
        frames: list[Frame] = []
        try:
            for buf, start, end, _ in self._stream.feed_spans(data):
                frames.append(_decode_at(buf, start, end))
        except y3.PacketTooLargeError as exc:
            self._error = FrameTooLargeError(str(exc))
            self._error.__cause__ = exc
        except Y3Error as exc:
            self._error = FrameError(f"malformed frame: {exc}")
            self._error.__cause__ = exc
        except FrameError as exc:
            self._error = exc
        if self._error is not None and not frames:
            raise self._error
        return frames
