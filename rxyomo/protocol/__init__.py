"""YoMo's wire protocol, sans I/O: frames, metadata and the connection state machine."""

from __future__ import annotations

from rxyomo.protocol.auth import TOKEN_AUTH, check_credential, parse_credential
from rxyomo.protocol.connection import Connection, ConnectionConfig, ConnectionState, Role
from rxyomo.protocol.errors import LocalProtocolError, ProtocolError
from rxyomo.protocol.events import (
    ConnectionTerminated,
    ConnectToReceived,
    DataReceived,
    Event,
    HandshakeAccepted,
    HandshakeReceived,
)
from rxyomo.protocol.frames import (
    ClientType,
    ConnectToFrame,
    DataFrame,
    Frame,
    FrameDecoder,
    FrameError,
    FrameType,
    GoawayFrame,
    HandshakeAckFrame,
    HandshakeFrame,
    RejectedFrame,
    decode_frame,
    encode_frame,
    is_reserved_tag,
)
from rxyomo.protocol.metadata import MetadataError, decode_metadata, encode_metadata, new_tid
from rxyomo.protocol.reserved import BROADCAST, HEARTBEAT_TAG, STATS_TAG

__all__ = [
    "BROADCAST",
    "HEARTBEAT_TAG",
    "STATS_TAG",
    "TOKEN_AUTH",
    "ClientType",
    "ConnectToFrame",
    "ConnectToReceived",
    "Connection",
    "ConnectionConfig",
    "ConnectionState",
    "ConnectionTerminated",
    "DataFrame",
    "DataReceived",
    "Event",
    "Frame",
    "FrameDecoder",
    "FrameError",
    "FrameType",
    "GoawayFrame",
    "HandshakeAccepted",
    "HandshakeAckFrame",
    "HandshakeFrame",
    "HandshakeReceived",
    "LocalProtocolError",
    "MetadataError",
    "ProtocolError",
    "RejectedFrame",
    "Role",
    "check_credential",
    "decode_frame",
    "decode_metadata",
    "encode_frame",
    "encode_metadata",
    "is_reserved_tag",
    "new_tid",
    "parse_credential",
]
