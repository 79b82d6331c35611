"""What travels: the image a source writes under 0x10 and the result a flow writes under 0x11.

The article's source wrote each JPEG alone, ``y3.Codec(0x10).marshal(jpeg)``, and its flow
took it back with ``y3.decode_primitive_packet(packet).to_bytes()``. That payload carries no
frame number, and with several flow instances sharing the load the results come back out of
order, so this example's source writes an :class:`ImageFrame` instead: the same Y3 key 0x10
holding a node with the frame's index, its send time and the JPEG. ``subscribe(0x10)`` on
the flow observes either form; the flow answers the article's form with the sentence alone
and an :class:`ImageFrame` with a :class:`Recognition`, which carries the index and the send
time on to the sink (latency = sink receive time - source send time, one machine's clock).

The guest served as it is (by the zipper, or by ``rxyomo run``) takes the JPEG alone and
answers the sentence alone, so in those forms the source writes the raw JPEG under tag
0x10 with the frame's index and send time in the frame's metadata
(:func:`image_metadata`), which the guest's answer carries on to the sink
(:func:`raw_recognition`).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping

import y3

__all__ = [
    "IMAGE_KEY",
    "LABEL_KEY",
    "UNKNOWN_TIME",
    "WARM_UP",
    "ImageFrame",
    "Recognition",
    "decode_image",
    "decode_result",
    "encode_frame",
    "encode_jpeg",
    "image_metadata",
    "is_raw",
    "raw_image",
    "raw_recognition",
    "read_sentence",
]

#: The Y3 key (and data tag) of images, as in the article.
IMAGE_KEY = 0x10
#: The Y3 key (and data tag) of results, as in the article.
LABEL_KEY = 0x11

_NODE = 0x80

# Metadata keys of a raw image: its index, send time and position in the input.
_INDEX, _SENT, _POSITION = "image-index", "image-sent-ns", "image-position"
#: Metadata key of a frame sent to warm the classifier up, whose answer shows no label.
WARM_UP = "image-warm-up"
#: ``Recognition.inference_us`` of an answer that does not say (a guest served as is).
UNKNOWN_TIME = -1
_SENTENCE = re.compile(
    r"^It (?P<confidence>is very likely|is likely|could be) a "
    r"<a href='[^']*'>(?P<label>[^<]*)</a> in the picture"
)


@dataclasses.dataclass(frozen=True)
class ImageFrame:
    """One picture as this example's source sends it."""

    #: Position in the stream, from 0: the sink shows results in this order.
    index: int = y3.y3_field(0x11)
    #: Source clock at sending, ``time.time_ns()``.
    sent_ns: int = y3.y3_field(0x12)
    #: The JPEG image.
    jpeg: bytes = y3.y3_field(0x13)
    #: Where the picture came from in its input (a video's frame number, a file's number).
    position: int = y3.y3_field(0x14, default=0)


@dataclasses.dataclass(frozen=True)
class Recognition:
    """What the flow says about one :class:`ImageFrame`."""

    index: int = y3.y3_field(0x11)
    sent_ns: int = y3.y3_field(0x12)
    #: The guest's sentence, e.g. ``It is very likely a <a href='...'>espresso</a> in the
    #: picture``; empty when the image could not be classified.
    sentence: str = y3.y3_field(0x13)
    #: Time spent in the WebAssembly function, in microseconds.
    inference_us: int = y3.y3_field(0x14, default=0)
    #: Which flow instance answered (its process id and thread).
    worker: str = y3.y3_field(0x15, default="")
    #: Why the image could not be classified (empty when it was).
    error: str = y3.y3_field(0x16, default="")
    position: int = y3.y3_field(0x17, default=0)


def encode_jpeg(jpeg: bytes) -> bytes:
    """The article's payload: the JPEG alone under key 0x10."""
    return y3.Codec(IMAGE_KEY).marshal(bytes(jpeg))


def encode_frame(frame: ImageFrame) -> bytes:
    """This example's payload: an :class:`ImageFrame` under key 0x10."""
    return y3.Codec(IMAGE_KEY).marshal(frame)


def decode_image(packet: bytes) -> ImageFrame | bytes:
    """The packet ``subscribe(0x10)`` observed: an :class:`ImageFrame`, or the JPEG alone
    when a source wrote the article's form. Raises :class:`y3.Y3Error` for bad bytes."""
    if packet and packet[0] & _NODE:
        frame: ImageFrame = y3.Codec(IMAGE_KEY).unmarshal(packet, ImageFrame)
        return frame
    image, _ = y3.decode_primitive_packet(packet)
    return image.to_bytes()


def decode_result(packet: bytes) -> Recognition | str:
    """The packet ``subscribe(0x11)`` observed: a :class:`Recognition`, or the sentence
    alone (the answer to the article's form). Raises :class:`y3.Y3Error` for bad bytes."""
    if packet and packet[0] & _NODE:
        result: Recognition = y3.Codec(LABEL_KEY).unmarshal(packet, Recognition)
        return result
    sentence, _ = y3.decode_primitive_packet(packet)
    return sentence.to_str()


def read_sentence(sentence: str) -> tuple[str, str] | None:
    """``(confidence, label)`` from the guest's sentence, e.g. ``("is very likely",
    "espresso")``; ``None`` when it names nothing ("It does not appear to be ...")."""
    found = _SENTENCE.match(sentence)
    if found is None:
        return None
    return found.group("confidence"), found.group("label")


def image_metadata(index: int, sent_ns: int, position: int = 0) -> dict[str, str]:
    """The metadata of a raw image: what the :class:`ImageFrame` node would carry."""
    return {_INDEX: str(index), _SENT: str(sent_ns), _POSITION: str(position)}


def is_raw(metadata: Mapping[str, str]) -> bool:
    """Whether a frame with this metadata is of the raw form (:func:`image_metadata`, or
    a warm-up frame), rather than a Y3 node."""
    return _INDEX in metadata or WARM_UP in metadata


def raw_image(jpeg: bytes, metadata: Mapping[str, str]) -> ImageFrame | None:
    """The :class:`ImageFrame` a raw image stands for (:func:`image_metadata`); ``None``
    when its metadata names no index (a frame of another form, or a warm-up frame)."""
    if not is_raw(metadata) or WARM_UP in metadata:
        return None
    return ImageFrame(
        index=int(metadata[_INDEX]),
        sent_ns=int(metadata.get(_SENT, "0")),
        jpeg=bytes(jpeg),
        position=int(metadata.get(_POSITION, "0")),
    )


def raw_recognition(sentence: bytes, metadata: Mapping[str, str]) -> Recognition | None:
    """A :class:`Recognition` from a served guest's answer (the sentence alone) and the
    metadata it carried on from its raw image; ``None`` for a warm-up frame's answer.
    Its inference time is :data:`UNKNOWN_TIME`: the served function's stats have it."""
    if WARM_UP in metadata:
        return None
    return Recognition(
        index=int(metadata.get(_INDEX, "-1")),
        sent_ns=int(metadata.get(_SENT, "0")),
        sentence=sentence.decode("utf-8", "replace"),
        inference_us=UNKNOWN_TIME,
        position=int(metadata.get(_POSITION, "0")),
    )
