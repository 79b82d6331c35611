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

    def _emit(self, line: bytes) -> None:
        GUEST_LOGGER.log(
            self.level, "%s: %s", self.stream, line.decode("utf-8", "replace").rstrip("\r")
        )


def output_loggers() -> tuple[LineLogger, LineLogger]:
    """A fresh (stdout, stderr) pair for one instance."""
    return LineLogger("stdout", logging.INFO), LineLogger("stderr", logging.WARNING)
