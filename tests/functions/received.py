"""What a test's sink received, shared by the function tests."""

from __future__ import annotations

from dataclasses import dataclass, field

from rxyomo import Context

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
