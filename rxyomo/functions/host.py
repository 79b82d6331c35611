"""The function host: many functions, from different developers, in one process.

Each function has a runner of its own (its instances, limits, queue, stats and
quarantine), so one function's faults reach no other. Functions are added, replaced and
removed while the others serve, and reloaded when their source changes::

    host = FunctionHost(watch=True)
    host.add(function_config("upper", "upper.wasm", observe=[0x10], export="upper",
                             reply=0x11))
    host.submit("upper", Frame(0x10, b"hello"), print)   # an Outcome, on a worker thread

**Hot reload** (:meth:`FunctionHost.reload`, a change of the file when watching): the
new code is loaded and checked beside the old, then takes over between frames (see
:meth:`~rxyomo.functions.runner.FunctionRunner.swap`); code that fails to load leaves the
old version serving and the reason logged and kept in the stats.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rxyomo.functions.frames import Frame
from rxyomo.functions.loading import load_version
from rxyomo.functions.quarantine import QuarantinePolicy
from rxyomo.functions.runner import Done, FunctionRunner
from rxyomo.functions.spec import FunctionConfig
from rxyomo.functions.version import LoadError

if TYPE_CHECKING:
    from rxyomo.functions.watcher import SourceWatcher

__all__ = ["FunctionHost", "Reload"]

log = logging.getLogger("rxyomo.functions")


@dataclass(frozen=True)
class Reload:
    """What a reload did: ``changed`` when a new version took over from ``previous``;
    ``error`` when the new code was refused (the old version goes on serving)."""

    name: str
    version: str
    previous: str
    changed: bool
    error: str = ""


class FunctionHost:
    """Serves functions side by side (see the module's documentation).

    With ``watch`` each function's source file is watched and reloaded when it changes
    (``debounce_ms`` groups an editor's writes). ``quarantine`` applies to every function.
    Thread-safe.
    """

    def __init__(
        self,
        *,
        quarantine: QuarantinePolicy | None = None,
        watch: bool = False,
        debounce_ms: int = 300,
    ) -> None:
        self.quarantine = quarantine
        self._runners: dict[str, FunctionRunner] = {}
        self._lock = threading.RLock()
        # One reload at a time: the watcher, a signal and the API may ask at once.
        self._reloading = threading.Lock()
        self._watcher: SourceWatcher | None = None
        if watch:
            from rxyomo.functions.watcher import SourceWatcher

            self._watcher = SourceWatcher(self._files_changed, debounce_ms=debounce_ms)

    # the registry

    def add(self, config: FunctionConfig) -> FunctionRunner:
        """Load ``config``'s code and start serving it.

        Raises :class:`LoadError` (naming the function and why) when the code cannot be
        served, and :class:`ValueError` when a function of that name is served already.
        """
        with self._lock:
            if config.name in self._runners:
                raise ValueError(f"function {config.name!r} is served already")
        version = load_version(config)
        runner = FunctionRunner(version, quarantine=self.quarantine)
        with self._lock:
            if config.name in self._runners:
                runner.close(drain=False)
                raise ValueError(f"function {config.name!r} is served already")
            self._runners[config.name] = runner
        log.info("serving %s, version %s", version.describe(), version.version)
        self._rewatch()
        return runner

    def replace(self, config: FunctionConfig, timeout: float = 5.0) -> FunctionRunner:
        """Serve ``config`` (new code, limits or settings) instead of the function of the
        same name: new frames go to the new runner; frames the old one holds finish there
        (for up to ``timeout`` seconds). A config that fails to load changes nothing."""
        version = load_version(config)
        runner = FunctionRunner(version, quarantine=self.quarantine)
        with self._lock:
            old = self._runners.get(config.name)
            self._runners[config.name] = runner
        log.info("serving %s, version %s", version.describe(), version.version)
        self._rewatch()
        if old is not None:
            old.close(timeout)
        return runner

    def remove(self, name: str, timeout: float = 5.0) -> None:
        """Stop serving ``name``; frames it holds finish first (up to ``timeout`` s)."""
        with self._lock:
            runner = self._runners.pop(name, None)
        if runner is None:
            raise KeyError(f"no function {name!r} is served")
        self._rewatch()
        runner.close(timeout)
        log.info("%s: no longer served", name)

    def runner(self, name: str) -> FunctionRunner:
        """The runner serving ``name``; :class:`KeyError` if none."""
        with self._lock:
            try:
                return self._runners[name]
            except KeyError:
                raise KeyError(f"no function {name!r} is served") from None

    @property
    def names(self) -> list[str]:
        """The functions served, in the order they were added."""
        with self._lock:
            return list(self._runners)

    def __contains__(self, name: object) -> bool:
        with self._lock:
            return name in self._runners

    def __iter__(self) -> Iterator[FunctionRunner]:
        with self._lock:
            return iter(list(self._runners.values()))

    def __len__(self) -> int:
        with self._lock:
            return len(self._runners)

    def submit(self, name: str, frame: Frame, done: Done) -> bool:
        """Hand ``frame`` to ``name``'s runner (see
        :meth:`~rxyomo.functions.runner.FunctionRunner.submit`)."""
        return self.runner(name).submit(frame, done)

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Every function's stats, by name."""
        return {runner.name: runner.snapshot() for runner in self}

    def close(self, timeout: float = 5.0) -> None:
        """Stop watching and stop every function (frames held finish first)."""
        if self._watcher is not None:
            self._watcher.close()
        with self._lock:
            runners, self._runners = list(self._runners.values()), {}
        for runner in runners:
            runner.close(timeout)

    # hot reload

    def reload(self, name: str) -> Reload:
        """Load ``name``'s source again; if it changed, the new version takes over
        between frames. Code that fails to load leaves the old version serving."""
        with self._reloading:
            runner = self.runner(name)
            current = runner.version
            try:
                data = runner.config.source.read_bytes()
            except OSError as exc:
                return self._refused(runner, f"cannot read {runner.config.source}: {exc}")
            if hashlib.sha256(data).hexdigest() == current.sha256:
                return Reload(name, current.version, current.version, changed=False)
            try:
                version = load_version(runner.config)
            except LoadError as exc:
                return self._refused(runner, exc.reason)
            if version.sha256 == current.sha256:  # the same module in other bytes (.wat)
                version.retire()
                return Reload(name, current.version, current.version, changed=False)
            if set(version.observe) != set(current.observe):
                version.retire()
                tags = ", ".join(f"0x{tag:X}" for tag in version.observe)
                return self._refused(
                    runner, f"the new code observes other tags ({tags}); restart it to change them"
                )
            if version.wanted_target != current.wanted_target:
                version.retire()
                wanted = version.wanted_target or "none"
                return self._refused(
                    runner, f"the new code wants another target ({wanted}); restart it to change it"
                )
            if self.runner(name) is not runner:  # replaced meanwhile: the new one stands
                version.retire()
                return Reload(name, current.version, current.version, changed=False)
            runner.swap(version)
        log.info(
            "%s: reloaded, version %s took over from %s", name, version.version, current.version
        )
        return Reload(name, version.version, current.version, changed=True)

    def reload_all(self) -> list[Reload]:
        """:meth:`reload` every function."""
        results = []
        for name in self.names:
            try:
                results.append(self.reload(name))
            except KeyError:  # removed meanwhile
                continue
        return results

    @property
    def watching(self) -> bool:
        """Whether source files are watched."""
        return self._watcher is not None

    def wait_watching(self, timeout: float = 5.0) -> bool:
        """Wait until changes are seen (the watch is in place); False if not watching."""
        return self._watcher is not None and self._watcher.wait_ready(timeout)

    def _refused(self, runner: FunctionRunner, reason: str) -> Reload:
        current = runner.version.version
        log.error(
            "%s: the new code is refused, version %s goes on serving: %s",
            runner.name,
            current,
            reason,
        )
        runner.stats.reloaded(error=reason)
        return Reload(runner.name, current, current, changed=False, error=reason)

    def _rewatch(self) -> None:
        if self._watcher is not None:
            with self._lock:
                files = [runner.config.source for runner in self._runners.values()]
            self._watcher.watch(files)

    def _files_changed(self, paths: set[Path]) -> None:
        for runner in self:
            if runner.config.source in paths:
                try:
                    self.reload(runner.name)
                except KeyError:  # removed meanwhile
                    continue
