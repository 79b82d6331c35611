"""Real YoMo parts for the interoperability tests and ``benches/bench_yomo.py``.

``tests/interop/yomo_harness`` is a small Go program built against YoMo's public API;
its subcommands run a YoMo zipper, source or stream function and report what happens
as line-delimited JSON on standard output (YoMo's own logs go to standard error).
This module builds that program once per source version (cached) and runs it as
child processes whose events tests can wait for.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml

#: The Go sources of the harness program; they stay with the interoperability tests.
HARNESS_DIR = Path(__file__).resolve().parents[1] / "tests" / "interop" / "yomo_harness"

#: Upper bound for one ``go build`` (the first build downloads YoMo's modules).
BUILD_TIMEOUT = 600.0

#: How many lines of the build output a failure reports.
BUILD_OUTPUT_LINES = 40

#: How many lines of a child's standard error are kept.
STDERR_LINES = 200

#: Environment variable naming the cache directory (overrides the XDG default).
CACHE_ENV = "RXYOMO_CACHE"

Event = dict[str, Any]
Predicate = Callable[[Event], bool]


class HarnessUnavailable(Exception):
    """The harness program cannot be built here (no Go, or the build failed)."""


# --------------------------------------------------------------------------- build


def source_hash(directory: Path | None = None) -> str:
    """SHA-256 over the harness sources (default :data:`HARNESS_DIR`): go.mod, go.sum and
    every ``*.go`` file, sorted by name, each as name and content."""
    directory = HARNESS_DIR if directory is None else directory
    names = {p.name for p in directory.glob("*.go") if p.is_file()}
    names.update(n for n in ("go.mod", "go.sum") if (directory / n).is_file())
    digest = hashlib.sha256()
    for name in sorted(names):
        content = (directory / name).read_bytes()
        digest.update(name.encode())
        digest.update(b"\0")
        digest.update(len(content).to_bytes(8, "big"))
        digest.update(content)
    return digest.hexdigest()


def cache_dir() -> Path:
    """``$RXYOMO_CACHE``, else ``$XDG_CACHE_HOME/rxyomo``, else ``~/.cache/rxyomo``."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "rxyomo"


def _build_env() -> dict[str, str]:
    env = dict(os.environ)
    flags = [f for f in env.get("GOFLAGS", "").split() if not f.startswith("-mod=")]
    env["GOFLAGS"] = " ".join([*flags, "-mod=mod"])
    return env


def _tail(text: str, lines: int) -> str:
    return "\n".join(text.splitlines()[-lines:])


_build_lock = threading.Lock()


def harness_binary() -> Path:
    """The harness program for the current sources, built on first use.

    The binary lives at ``<cache>/yomo-harness/<hash16>/yomo-harness``. It is built
    under a temporary name and renamed into place, so a concurrent or interrupted
    build never leaves a partial binary behind.
    """
    with _build_lock:
        target = cache_dir() / "yomo-harness" / source_hash()[:16] / "yomo-harness"
        if target.is_file() and os.access(target, os.X_OK):
            return target
        go = shutil.which("go")
        if go is None:
            raise HarnessUnavailable("Go is not installed (go not on PATH)")
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.parent / f".yomo-harness.{os.getpid()}.{uuid.uuid4().hex}.tmp"
        try:
            try:
                result = subprocess.run(
                    [go, "build", "-trimpath", "-o", str(tmp), "."],
                    cwd=HARNESS_DIR,
                    env=_build_env(),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                    errors="replace",
                    timeout=BUILD_TIMEOUT,
                    check=False,
                )
            except subprocess.TimeoutExpired as exc:
                output = exc.output if isinstance(exc.output, str) else ""
                raise HarnessUnavailable(
                    f"go build of {HARNESS_DIR.name} did not finish within {BUILD_TIMEOUT:g} s:\n"
                    + _tail(output, BUILD_OUTPUT_LINES)
                ) from None
            if result.returncode != 0 or not tmp.is_file():
                raise HarnessUnavailable(
                    f"go build of {HARNESS_DIR.name} failed (exit {result.returncode}):\n"
                    + _tail(result.stdout, BUILD_OUTPUT_LINES)
                )
            os.replace(tmp, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        return target


# --------------------------------------------------------------------------- config


def yomo_zipper_config(
    path: Path,
    *,
    name: str,
    port: int,
    token: str | None = None,
    mesh: Mapping[str, tuple[str, int, str]] | None = None,
) -> Path:
    """Write a YoMo zipper config (YAML) listening on 127.0.0.1:``port``; returns ``path``.

    ``mesh`` maps a downstream zipper's name to ``(host, port, credential)``. YoMo only
    accepts config files ending in ``.yaml`` or ``.yml``.
    """
    if path.suffix not in (".yaml", ".yml"):
        raise ValueError(f"YoMo wants a .yaml or .yml config file, not {path.name}")
    config: dict[str, Any] = {"name": name, "host": "127.0.0.1", "port": port}
    if token is not None:
        config["auth"] = {"type": "token", "token": token}
    if mesh:
        config["mesh"] = {
            mesh_name: {"host": host, "port": mesh_port, "credential": credential}
            for mesh_name, (host, mesh_port, credential) in mesh.items()
        }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- processes


def event(kind: str, **fields: Any) -> Predicate:
    """A predicate for ``wait_for``: an event of ``kind`` whose listed fields are equal."""

    def matches(ev: Event) -> bool:
        return ev.get("event") == kind and all(ev.get(k) == v for k, v in fields.items())

    return matches


_live: set[HarnessProcess] = set()
_live_lock = threading.Lock()


@atexit.register
def _stop_leftovers() -> None:
    with _live_lock:
        leftovers = list(_live)
    for proc in leftovers:
        with contextlib.suppress(Exception):
            proc.stop(timeout=2)


class HarnessProcess:
    """One harness subcommand running as a child process.

    Standard output is read line by line into :attr:`events` (JSON objects; anything
    else is kept as ``{"event": "unparsed", "line": ...}``); the last
    :data:`STDERR_LINES` lines of standard error are kept for failure messages.
    ``YOMO_LOG_LEVEL`` defaults to ``error`` and ``YOMO_LOG_FORMAT`` to ``text``
    unless the environment or ``env`` sets them.
    """

    def __init__(
        self,
        binary: Path,
        args: Sequence[str],
        *,
        name: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.args = [str(binary), *args]
        full_env = dict(os.environ)
        full_env.setdefault("YOMO_LOG_LEVEL", "error")
        full_env.setdefault("YOMO_LOG_FORMAT", "text")
        if env:
            full_env.update(env)
        self._cond = threading.Condition()
        self._events: list[Event] = []
        self._stderr: collections.deque[str] = collections.deque(maxlen=STDERR_LINES)
        self._stdout_done = False
        self._stop_lock = threading.Lock()
        self._proc = subprocess.Popen(
            self.args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=full_env,
            text=True,
            encoding="utf-8",
            errors="replace",
            bufsize=1,
        )
        self.name = name or f"{args[0] if args else 'harness'}[{self._proc.pid}]"
        with _live_lock:
            _live.add(self)
        self._readers = [
            threading.Thread(target=self._read_stdout, name=f"{self.name}-stdout", daemon=True),
            threading.Thread(target=self._read_stderr, name=f"{self.name}-stderr", daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    # ----------------------------------------------------------------- readers

    def _read_stdout(self) -> None:
        assert self._proc.stdout is not None
        try:
            for raw in self._proc.stdout:
                line = raw.rstrip("\n")
                if not line:
                    continue
                try:
                    parsed = json.loads(line)
                except ValueError:
                    parsed = None
                ev: Event = (
                    parsed if isinstance(parsed, dict) else {"event": "unparsed", "line": line}
                )
                with self._cond:
                    self._events.append(ev)
                    self._cond.notify_all()
        finally:
            with self._cond:
                self._stdout_done = True
                self._cond.notify_all()

    def _read_stderr(self) -> None:
        assert self._proc.stderr is not None
        for raw in self._proc.stderr:
            with self._cond:
                self._stderr.append(raw.rstrip("\n"))

    # ----------------------------------------------------------------- queries

    @property
    def pid(self) -> int:
        return self._proc.pid

    @property
    def returncode(self) -> int | None:
        """The exit code, or None while the process runs."""
        return self._proc.poll()

    def events(self, kind: str | None = None) -> list[Event]:
        """A copy of the events so far, only those of ``kind`` if given."""
        with self._cond:
            return [ev for ev in self._events if kind is None or ev.get("event") == kind]

    def last(self, kind: str) -> Event | None:
        """The latest event of ``kind``, if any."""
        with self._cond:
            for ev in reversed(self._events):
                if ev.get("event") == kind:
                    return ev
        return None

    def stderr_tail(self, lines: int = STDERR_LINES) -> str:
        with self._cond:
            return "\n".join(list(self._stderr)[-lines:])

    def describe(self, events: int = 20, stderr_lines: int = 40) -> str:
        """The process, its recent events and the tail of its standard error."""
        with self._cond:
            recent = self._events[-events:]
        shown = "\n".join(f"  {json.dumps(ev)}" for ev in recent) or "  (none)"
        state = "running" if self.returncode is None else f"exit code {self.returncode}"
        return (
            f"{self.name} ({state}): {' '.join(self.args)}\n"
            f"recent events:\n{shown}\n"
            f"stderr tail:\n{self.stderr_tail(stderr_lines) or '(empty)'}"
        )

    # ----------------------------------------------------------------- waiting

    def wait_for(self, predicate: Predicate, timeout: float, *, start: int = 0) -> Event:
        """The first event (from index ``start``) that satisfies ``predicate``.

        Waits at most ``timeout`` seconds; raises AssertionError, describing the
        process, on timeout or when its output ended without a match.
        """
        deadline = time.monotonic() + timeout
        index = start
        with self._cond:
            while True:
                while index < len(self._events):
                    ev = self._events[index]
                    index += 1
                    if predicate(ev):
                        return ev
                if self._stdout_done:
                    reason = "exited before the awaited event"
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    reason = f"awaited event not seen within {timeout:g} s"
                    break
                self._cond.wait(remaining)
        if self._stdout_done:
            # Let the process finish and the stderr reader drain, for the message.
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(timeout=2)
            self._readers[1].join(timeout=2)
        raise AssertionError(f"{self.name}: {reason}\n{self.describe()}")

    def wait_event(self, kind: str, timeout: float, **fields: Any) -> Event:
        """``wait_for(event(kind, **fields), timeout)``."""
        return self.wait_for(event(kind, **fields), timeout)

    def wait(self, timeout: float) -> int:
        """Wait at most ``timeout`` seconds for the process to exit by itself; its exit code."""
        try:
            code = self._proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"{self.name}: still running after {timeout:g} s\n{self.describe()}"
            ) from None
        self._join_readers()
        self._forget()
        return code

    # ----------------------------------------------------------------- stopping

    def stop(self, timeout: float = 10) -> int:
        """SIGTERM, wait up to ``timeout`` s, then SIGKILL; the exit code. Idempotent."""
        with self._stop_lock:
            if self._proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    self._proc.terminate()
                try:
                    self._proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        self._proc.kill()
                    try:
                        self._proc.wait(timeout=timeout)
                    except subprocess.TimeoutExpired:
                        raise AssertionError(
                            f"{self.name}: not gone {timeout:g} s after SIGKILL"
                        ) from None
            self._join_readers()
            self._forget()
            code = self._proc.returncode
            assert code is not None
            return code

    def _join_readers(self) -> None:
        for reader in self._readers:
            reader.join(timeout=5)

    def _forget(self) -> None:
        with _live_lock:
            _live.discard(self)

    def __enter__(self) -> HarnessProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<HarnessProcess {self.name} returncode={self.returncode}>"


class HarnessGroup:
    """Harness processes started for one test, stopped (newest first) together."""

    def __init__(self, binary: Path, env: Mapping[str, str] | None = None) -> None:
        self.binary = binary
        self._env = dict(env or {})
        self.processes: list[HarnessProcess] = []

    def start(
        self, args: Sequence[str], *, name: str | None = None, env: Mapping[str, str] | None = None
    ) -> HarnessProcess:
        proc = HarnessProcess(self.binary, args, name=name, env={**self._env, **(env or {})})
        self.processes.append(proc)
        return proc

    def stop_all(self, timeout: float = 10) -> None:
        for proc in reversed(self.processes):
            proc.stop(timeout)

    def __iter__(self) -> Iterator[HarnessProcess]:
        return iter(self.processes)
