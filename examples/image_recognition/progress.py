"""The demo's progress line while frames stream: frames sent and back, frames/s and the
latency p50 so far, kept at the bottom of the terminal (rich) below the labels."""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.text import Text

__all__ = ["Progress", "progress_text"]


def progress_text(sent: int, records: Sequence[dict[str, Any]], elapsed: float) -> Text:
    """``frames 12 sent, 10 back · 5.9 frames/s · latency p50 31.2 ms``."""
    back = len(records)
    rate = back / elapsed if elapsed > 0 else 0.0
    latencies = [r["latency_ms"] for r in records if r.get("latency_ms") is not None]
    p50 = f"{statistics.median(latencies):.1f} ms" if latencies else "-"
    text = Text()
    text.append("frames ", style="dim")
    text.append(f"{sent}", style="bold")
    text.append(" sent, ", style="dim")
    text.append(f"{back}", style="bold")
    text.append(" back · ", style="dim")
    text.append(f"{rate:.1f}", style="bold cyan")
    text.append(" frames/s · latency p50 ", style="dim")
    text.append(p50, style="bold green")
    return text


class Progress:
    """A live line on a terminal, nothing elsewhere (the lines printed meanwhile go above
    it). ``update`` redraws it."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console()
        self.started = time.monotonic()
        self._live = Live(
            Text(""),
            console=self.console,
            transient=True,
            auto_refresh=False,
            redirect_stderr=False,
        )

    def update(self, sent: int, records: Sequence[dict[str, Any]]) -> None:
        """Show the figures so far."""
        if self.console.is_terminal:
            text = progress_text(sent, records, time.monotonic() - self.started)
            self._live.update(text, refresh=True)

    def __enter__(self) -> Progress:
        if self.console.is_terminal:
            self._live.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.console.is_terminal:
            self._live.stop()
