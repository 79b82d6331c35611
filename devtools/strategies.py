"""Hypothesis strategies for hostile but well-formed YoMo frames, and a way to draw a seeded
corpus of them outside a test (the fuzz harness mutates the corpus by the byte)."""

from __future__ import annotations

from typing import TypeVar

import msgpack
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from rxyomo.protocol.frames import (
    ClientType,
    ConnectToFrame,
    DataFrame,
    Frame,
    GoawayFrame,
    HandshakeAckFrame,
    HandshakeFrame,
    RejectedFrame,
)
from rxyomo.protocol.metadata import SOURCE_ID, TARGET, TID
from rxyomo.protocol.reserved import BROADCAST, HEARTBEAT_TAG, STATS_TAG

T = TypeVar("T")

#: Tags worth hitting: ordinary ones, the reserved range's edges and the ones rxyomo uses.
TAGS = st.one_of(
    st.sampled_from([0, 1, 0x10, 0x11, 0x33, 0xEFFF, 0xF000, STATS_TAG, HEARTBEAT_TAG, 0xFFFF]),
    st.integers(0, 2**32 - 1),
)

_TEXT = st.text(max_size=24)
_METADATA_KEYS = st.sampled_from([TID, SOURCE_ID, TARGET, BROADCAST, "x", ""])


def metadata() -> st.SearchStrategy[bytes]:
    """What a data frame's metadata may hold: nothing, a proper map, or msgpack of any shape
    (lists, nested maps, ints, binary, invalid UTF-8), or bytes that are no msgpack at all."""
    proper = st.dictionaries(
        st.one_of(_METADATA_KEYS, _TEXT), st.one_of(_TEXT, st.just("1")), max_size=4
    )
    shapes = st.recursive(
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(-(2**63), 2**64 - 1),
            _TEXT,
            st.binary(max_size=16),
            st.floats(),
        ),
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(_TEXT, inner, max_size=4)
        ),
        max_leaves=12,
    )
    return st.one_of(
        st.just(b""),
        proper.map(lambda m: msgpack.packb(m) if m else b""),
        shapes.map(msgpack.packb),
        st.binary(max_size=32),
    )


def data_frames(max_payload: int = 512) -> st.SearchStrategy[DataFrame]:
    """Data frames a hostile source might write: any tag, any payload, odd metadata."""
    return st.builds(
        DataFrame, tag=TAGS, payload=st.binary(max_size=max_payload), metadata=metadata()
    )


def handshakes(names: list[str], token: str) -> st.SearchStrategy[HandshakeFrame]:
    """Handshakes, right and wrong: listed and unlisted names, every client type and some
    that do not exist, good, bad and missing credentials, many observed tags."""
    return st.builds(
        HandshakeFrame,
        name=st.one_of(st.sampled_from(names), _TEXT),
        client_type=st.one_of(st.sampled_from(list(ClientType)), st.integers(0, 255)),
        id=_TEXT,
        auth_name=st.sampled_from(["token", "", "jwt", "TOKEN"]),
        auth_payload=st.one_of(st.just(token), _TEXT),
        observed_data_tags=st.lists(TAGS, max_size=8).map(tuple),
        version=st.sampled_from(["2024-01-03", "", "9999"]),
        want_target=st.one_of(st.just(""), _TEXT),
        function_definition=st.binary(max_size=32),
        # rxyomo clients and YoMo's (no field), offering known and unknown extensions.
        extensions=st.one_of(
            st.none(),
            st.frozensets(st.sampled_from(["receipts", "stats", "heartbeat", "future"])),
        ),
    )


def control_frames() -> st.SearchStrategy[Frame]:
    """Frames a client has no business sending mid-stream (or at all)."""
    return st.one_of(
        st.builds(HandshakeAckFrame),
        st.builds(GoawayFrame, _TEXT),
        st.builds(RejectedFrame, _TEXT),
        st.builds(ConnectToFrame, _TEXT),
    )


def draw(strategy: st.SearchStrategy[T], count: int, seed: int) -> list[T]:
    """Up to ``count`` examples of ``strategy``, the same ones for the same ``seed``."""
    drawn: list[T] = []

    @hypothesis_seed(seed)
    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(value: T) -> None:
        drawn.append(value)

    collect()
    return drawn
