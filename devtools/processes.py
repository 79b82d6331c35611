"""Child processes for the fault tests and the benches: zippers and functions started the
way users start them, each killed (SIGKILL) on demand and, whatever happens, when the test
ends; and free loopback ports."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

#: Every wait for a child is bounded by this many seconds.
START_TIMEOUT = 30.0


def free_udp_port() -> int:
    """A UDP port on 127.0.0.1 that is free right now."""
    return _free_port(socket.SOCK_DGRAM)


def free_tcp_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    return _free_port(socket.SOCK_STREAM)


def _free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Child:
    """One child process whose output goes to a file (a pipe nobody reads would block it)."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.args = args
        self.log = log
        self._env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        """Start (again); the log keeps the output of every run."""
        if self.running:
            raise RuntimeError(f"{self.args} is already running")
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, *self.args], env=self._env, stdout=out, stderr=subprocess.STDOUT
            )
        self.starts += 1

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_for_output(self, text: str, count: int = 1, timeout: float = START_TIMEOUT) -> None:
        """Block until ``text`` appeared ``count`` times in the output (or fail)."""
        deadline = time.monotonic() + timeout
        while self.output.count(text) < count:
            if not self.running:
                raise AssertionError(f"{self.args} exited early:\n{self.output[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not seen in {timeout} s:\n{self.output[-3000:]}")
            time.sleep(0.02)

    async def output_appears(
        self, text: str, count: int = 1, timeout: float = START_TIMEOUT
    ) -> None:
        """As :meth:`wait_for_output`, without blocking the event loop (for a child that
        talks to something this process serves)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.output.count(text) < count:
            if not self.running:
                raise AssertionError(f"{self.args} exited early:\n{self.output[-3000:]}")
            if loop.time() > deadline:
                raise AssertionError(f"{text!r} not seen in {timeout} s:\n{self.output[-3000:]}")
            await asyncio.sleep(0.02)

    def kill(self) -> None:
        """SIGKILL: no cleanup, no goodbye to peers, as a crash."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=START_TIMEOUT)

    def terminate(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, then SIGKILL if it does not end in ``timeout`` seconds."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.proc.returncode


class ProcessGroup:
    """The children of one test."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.children: list[Child] = []

    def spawn(self, args: list[str], log: Path) -> Child:
        """Start ``python ARGS`` with its output in ``log``."""
        child = Child(args, self.env, log)
        self.children.append(child)
        child.start()
        return child

    def zipper(self, workflow: Path, log: Path, *extra: str) -> Child:
        """``python -m rxyomo serve -c WORKFLOW``, waited for until it listens."""
        child = self.spawn(
            ["-m", "rxyomo", "serve", "-c", str(workflow), "--stats-interval", "0", *extra], log
        )
        child.wait_for_output("listening on")
        return child

    def kill_all(self) -> None:
        """Kill every child still running (test teardown)."""
        for child in self.children:
            with contextlib.suppress(OSError, subprocess.TimeoutExpired):
                child.kill()
