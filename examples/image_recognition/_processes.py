"""Child processes the demo runs and watches: started, ready, failed, stopped in order.

Each part's output is read line by line: a pattern says when it is ready, another which
lines to show, and the last lines are kept to say why it failed. On Linux a part also dies
with the demo, so that not even a killed demo leaves processes behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import os
import re
import signal
import sys
from collections import deque
from collections.abc import Callable, Sequence

__all__ = ["Part", "PartFailed", "Supervisor"]

_TAIL = 15
_PR_SET_PDEATHSIG = 1


class PartFailed(Exception):
    """A part of the pipeline failed: which one, why, and its last lines of output."""

    def __init__(self, part: str, reason: str, tail: Sequence[str] = ()) -> None:
        super().__init__(f"{part}: {reason}")
        self.part = part
        self.reason = reason
        self.tail = list(tail)

    def report(self) -> str:
        """The failure for people: the part, the reason, then its last lines."""
        lines = [f"{self.part} failed: {self.reason}"]
        if self.tail:
            lines.append(f"last lines of {self.part}:")
            lines += [f"  | {line}" for line in self.tail]
        return "\n".join(lines)


class Part:
    """One running child process."""

    def __init__(
        self,
        name: str,
        process: asyncio.subprocess.Process,
        ready: re.Pattern[str] | None,
        show: Callable[[str, str], None] | None,
    ) -> None:
        self.name = name
        self.process = process
        self.tail: deque[str] = deque(maxlen=_TAIL)
        self.ready = asyncio.Event()
        if ready is None:
            self.ready.set()
        self._ready_pattern = ready
        self._show = show
        self.expected_exit = False
        self._reader = asyncio.get_running_loop().create_task(self._read())

    @property
    def returncode(self) -> int | None:
        """The exit status once the process ended, else ``None``."""
        return self.process.returncode

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for raw in self.process.stdout:
            line = raw.decode("utf-8", "replace").rstrip()
            self.tail.append(line)
            if self._ready_pattern is not None and self._ready_pattern.search(line):
                self.ready.set()
            if self._show is not None:
                self._show(self.name, line)

    def failure(self, reason: str) -> PartFailed:
        """A :class:`PartFailed` for this part, with its last lines."""
        return PartFailed(self.name, reason, self.tail)

    async def wait(self) -> int:
        """Wait for the process to end (and its output to be read); its exit status."""
        code = await self.process.wait()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
        return code

    async def stop(self, timeout: float) -> str | None:
        """Ask the process to stop (SIGINT), kill it after ``timeout`` seconds; returns a
        complaint when it had to be killed, or ended with an error, by itself or not."""
        if self.returncode is not None:
            await self.wait()
            if self.returncode != 0 and not self.expected_exit:
                return f"{self.name} had exited with status {self.returncode}"
            return None
        self.expected_exit = True
        with contextlib.suppress(ProcessLookupError):
            if sys.platform == "win32":
                self.process.terminate()
            else:
                self.process.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(self.wait(), timeout)
        except asyncio.TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            await self.wait()
            return f"{self.name} did not stop within {timeout:g} s and was killed"
        code = await self.wait()  # read afresh: the attribute changed since the check above
        if code not in (0, -signal.SIGINT, 130):
            return f"{self.name} exited with status {code} while stopping"
        return None


class Supervisor:
    """Starts parts, notices the first one that fails, stops them all in reverse order."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        self.env = dict(os.environ if env is None else env)
        # Lines reach the demo as they are written, not when a buffer fills.
        self.env["PYTHONUNBUFFERED"] = "1"
        self.parts: list[Part] = []

    async def start(
        self,
        name: str,
        argv: Sequence[str],
        *,
        ready: str | None = None,
        show: Callable[[str, str], None] | None = None,
    ) -> Part:
        """Start ``argv`` as the part ``name``; it is ready once a line matches ``ready``."""
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                env=self.env,
                # Ctrl-C reaches the demo only: it stops the parts in order.
                start_new_session=True,
                preexec_fn=_die_with_parent if _prctl is not None else None,
            )
        except OSError as exc:
            raise PartFailed(name, f"cannot start {argv[0]}: {exc}") from exc
        part = Part(name, process, re.compile(ready) if ready else None, show)
        self.parts.append(part)
        return part

    def check(self) -> None:
        """Raise :class:`PartFailed` for a part that ended when nobody asked it to (it is
        then not reported again when the parts are stopped)."""
        for part in self.parts:
            if part.returncode is not None and not part.expected_exit:
                part.expected_exit = True
                raise part.failure(f"exited with status {part.returncode}")

    async def wait_ready(self, parts: Sequence[Part], timeout: float) -> None:
        """Wait until every part in ``parts`` is ready; raise :class:`PartFailed` naming the
        first that exits first, or the first still not ready after ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not all(part.ready.is_set() for part in parts):
            self.check()
            if loop.time() > deadline:
                late = next(part for part in parts if not part.ready.is_set())
                raise late.failure(f"not ready after {timeout:g} s")
            await asyncio.sleep(0.05)
        self.check()

    async def wait_exit(self, part: Part, timeout: float) -> int:
        """Wait for ``part`` to finish by itself, watching the others meanwhile."""
        part.expected_exit = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while part.returncode is None:
            self.check()
            if loop.time() > deadline:
                raise part.failure(f"still running after {timeout:g} s")
            await asyncio.sleep(0.05)
        return await part.wait()

    async def stop_all(self, timeout: float = 10.0) -> list[str]:
        """Stop every part, the last started first; returns complaints, if any."""
        complaints = []
        for part in reversed(self.parts):
            complaint = await part.stop(timeout)
            if complaint is not None:
                complaints.append(complaint)
        return complaints


def _load_prctl() -> Callable[[int, int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl: Callable[[int, int], int] = ctypes.CDLL(ctypes.util.find_library("c")).prctl
    except (OSError, AttributeError):
        return None
    return prctl


# Loaded here: between fork and exec a child may call nothing that could spawn or lock.
_prctl = _load_prctl()


def _die_with_parent() -> None:
    """In the child, before exec: ask Linux to send SIGTERM when the demo dies."""
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
