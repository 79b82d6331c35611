"""The guest's stdout and stderr, line by line, to Python logging."""

from __future__ import annotations

import logging

#: The logger guest output goes to: stdout at INFO, stderr at WARNING.
GUEST_LOGGER = logging.getLogger("wasm_host.guest")

# A guest that never writes a newline must not grow the buffer without bound.
_MAX_PENDING = 64 * 1024


class LineLogger:
    """Collects a guest stream's writes and logs each complete line."""

    def __init__(self, stream: str, level: int) -> None:
        self.stream = stream
        self.level = level
        self._pending = b""
        self._first: str | None = None

    def __call__(self, data: bytes) -> None:
        """Takes one write of the guest."""
        self._pending += data
        *lines, self._pending = self._pending.split(b"\n")
        for line in lines:
            self._emit(line)
        if len(self._pending) > _MAX_PENDING:
            self.flush()

    def flush(self) -> None:
        """Logs what is left of an unterminated line."""
        if self._pending:
            self._emit(self._pending)
            self._pending = b""

    def take_first_line(self) -> str | None:
        """The first non-empty line written since the previous call: what went wrong, as
        a Rust panic message comes before its notes."""
        self.flush()
        first, self._first = self._first, None
        return first

    def _emit(self, line: bytes) -> None:
        text = line.decode("utf-8", "replace").rstrip("\r")
        if text.strip() and self._first is None:
            self._first = text
        GUEST_LOGGER.log(self.level, "%s: %s", self.stream, text)


def with_last_words(message: str, stderr: LineLogger | None) -> str:
    """``message``, followed by what the guest wrote first on stderr during the call."""
    said = stderr.take_first_line() if stderr is not None else None
    return f"{message} (guest stderr: {said.strip()})" if said else message


def output_loggers() -> tuple[LineLogger, LineLogger]:
    """A fresh (stdout, stderr) pair for one instance."""
    return LineLogger("stdout", logging.INFO), LineLogger("stderr", logging.WARNING)
