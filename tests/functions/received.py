"""What a test's sink received, shared by the function tests."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from rxyomo import Context
from rxyomo.functions import VERSION_KEY

__all__ = ["Received"]


@dataclass
class Received:
    """What the sink got: payloads with their metadata."""

    items: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)

    def handler(self, ctx: Context) -> None:
        self.items.append((ctx.data, dict(ctx.metadata)))

    @property
    def data(self) -> list[bytes]:
        return [data for data, _ in self.items]

    def by_frame(self, versions: Mapping[str, str]) -> dict[int, str]:
        """The prefix of each frame's answer (answers are ``PREFIX#NUMBER``), by frame
        number; fails the test if a frame was answered twice or an answer carries another
        version than ``versions`` names for its prefix."""
        seen: dict[int, str] = {}
        for data, meta in self.items:
            prefix, _, number = data.decode().partition("#")
            assert int(number) not in seen  # none twice
            seen[int(number)] = prefix
            assert meta[VERSION_KEY] == versions[prefix]
        return seen
