"""The context a YoMo-style handler gets: the frame, its metadata, and how to answer.

YoMo's Go handlers take a ``serverless.Context``: ``ctx.Tag()``, ``ctx.Data()``,
``ctx.Metadata(key)``, ``ctx.Write(tag, data)``, ``ctx.WriteWithTarget(tag, data,
target)``. Their answers carry the incoming frame's whole metadata (its source id,
transaction id, trace ids and any key a user added), less the target, which names the
receiver of one frame only. :class:`Context` is the same for Python handlers.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from rxyomo.client.source import check_tag
from rxyomo.protocol.metadata import SOURCE_ID, TARGET, TID
from rxyomo.protocol.reserved import BROADCAST

__all__ = ["Answer", "Context", "CronContext", "answer_metadata", "takes_context"]

# Keys that route one frame and must not carry over to its answers.
_ROUTING_KEYS = (TARGET, BROADCAST)


@dataclass(frozen=True, slots=True)
class Answer:
    """A frame a handler wrote: its tag, payload and the target it is meant for."""

    tag: int
    data: bytes
    target: str = ""

    def __post_init__(self) -> None:
        # Refused where the handler wrote it, so the failure is the handler's, named.
        check_tag(self.tag)


def answer_metadata(incoming: Mapping[str, str], target: str = "") -> dict[str, str]:
    """The metadata of an answer to a frame with ``incoming`` metadata, as YoMo's
    ``Context.Write`` builds it: everything but the routing keys, and ``target`` if any."""
    meta = {key: value for key, value in incoming.items() if key not in _ROUTING_KEYS}
    if target:
        meta[TARGET] = target
    return meta


@dataclass
class CronContext:
    """What a cron handler gets (YoMo's ``serverless.CronContext``): a way to write.

    Writes are sent in order once the handler returns.
    """

    #: The metadata the frames written get (a new transaction id per run).
    metadata: dict[str, str] = field(default_factory=dict)
    _answers: list[Answer] = field(default_factory=list, repr=False)

    def write(self, tag: int, data: bytes | bytearray | memoryview) -> None:
        """Answer with ``data`` under ``tag``."""
        self._answers.append(Answer(tag, bytes(data)))

    def write_with_target(
        self, tag: int, data: bytes | bytearray | memoryview, target: str
    ) -> None:
        """Answer with ``data`` under ``tag``, for the functions that want ``target`` only."""
        self._answers.append(Answer(tag, bytes(data), target))

    def take_answers(self) -> list[Answer]:
        """The frames written so far, in order; the context forgets them."""
        answers, self._answers = self._answers, []
        return answers


@dataclass
class Context(CronContext):
    """One incoming frame, for a handler written YoMo's way (``def handler(ctx: Context)``).

    ``metadata`` is the frame's, less its routing keys (the target, as YoMo hands it to a
    handler, and rxyomo's broadcast flag); what the handler writes carries it on. Writes
    are queued and sent in order once the handler returns, waiting as the zipper's
    back-pressure asks.
    """

    tag: int = 0
    data: bytes = b""

    @property
    def source_id(self) -> str:
        """The id of the source the frame's chain of answers started at."""
        return self.metadata.get(SOURCE_ID, "")

    @property
    def tid(self) -> str:
        """The transaction id: the same on a source's frame and every answer to it."""
        return self.metadata.get(TID, "")


def takes_context(handler: Callable[..., object]) -> bool:
    """Whether ``handler``'s first parameter is annotated as a :class:`Context`.

    The annotation decides, so that ``def handler(data: bytes)`` keeps the plain form.
    """
    try:
        parameters = list(inspect.signature(handler).parameters.values())
    except (TypeError, ValueError):  # some builtins have no signature
        return False
    if not parameters:
        return False
    annotation = parameters[0].annotation
    if isinstance(annotation, str):  # postponed annotations: resolve, or read the name
        try:
            annotation = typing.get_type_hints(handler).get(parameters[0].name, annotation)
        except Exception:  # an annotation naming something not importable here
            return bool(annotation.rpartition(".")[2] == "Context")
    return isinstance(annotation, type) and issubclass(annotation, Context)
