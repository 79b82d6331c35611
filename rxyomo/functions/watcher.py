"""Watches served source files and says which changed, on a thread of its own.

Built on watchfiles (the operating system's change notifications, no polling): the
folders holding the files are watched, not recursively, and changes are reported once
they have been quiet for ``step_ms`` (at most ``debounce_ms`` after the first), so an
editor's burst of writes is one change. Deletions are not reported: a file saved by
replacing it comes back as added, and a file that is gone has nothing to load.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

import watchfiles

__all__ = ["SourceWatcher"]

log = logging.getLogger("rxyomo.functions")


class SourceWatcher:
    """Calls ``on_change`` with the set of watched files that changed."""

    def __init__(
        self,
        on_change: Callable[[set[Path]], None],
        *,
        step_ms: int = 10,
        debounce_ms: int = 300,
    ) -> None:
        self._on_change = on_change
        self._step_ms = step_ms
        self._debounce_ms = debounce_ms
        self._lock = threading.Lock()
        self._files: frozenset[Path] = frozenset()
        self._folders: frozenset[Path] = frozenset()
        self._stop: threading.Event | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    @property
    def files(self) -> frozenset[Path]:
        """The files watched."""
        return self._files

    def watch(self, files: Iterable[Path]) -> None:
        """Watch exactly ``files`` from now on (their folders must exist)."""
        resolved = frozenset(Path(f).resolve() for f in files)
        folders = frozenset(f.parent for f in resolved)
        with self._lock:
            self._files = resolved
            if folders == self._folders and self._thread is not None:
                return
            self._stop_thread()
            self._folders = folders
            if folders:
                self._start_thread(folders)

    def wait_ready(self, timeout: float = 5.0) -> bool:
        """Wait until the watcher thread is watching (changes before then are missed)."""
        return self._ready.wait(timeout)

    def close(self) -> None:
        """Stop watching."""
        with self._lock:
            self._files = frozenset()
            self._folders = frozenset()
            self._stop_thread()

    def _start_thread(self, folders: frozenset[Path]) -> None:
        stop = threading.Event()
        self._ready.clear()
        thread = threading.Thread(
            target=self._run, args=(folders, stop), name="rxyomo-fn-watch", daemon=True
        )
        self._stop, self._thread = stop, thread
        thread.start()

    def _stop_thread(self) -> None:
        stop, thread = self._stop, self._thread
        self._stop = self._thread = None
        if stop is not None:
            stop.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5.0)

    def _wanted(self, change: watchfiles.Change, path: str) -> bool:
        return change is not watchfiles.Change.deleted and Path(path) in self._files

    def _run(self, folders: frozenset[Path], stop: threading.Event) -> None:
        try:
            changes = watchfiles.watch(
                *sorted(folders),
                watch_filter=self._wanted,
                debounce=self._debounce_ms,
                step=self._step_ms,
                stop_event=stop,
                recursive=False,
                raise_interrupt=False,
                # An empty batch after half a second without changes says the watch is
                # in place (files are never scanned: the wake-up only reports).
                yield_on_timeout=True,
                rust_timeout=500,
            )
            for batch in changes:
                self._ready.set()
                changed = {Path(path) for _, path in batch} & self._files
                if changed and not stop.is_set():
                    try:
                        self._on_change(changed)
                    except Exception:
                        log.exception("handling a change of %s failed", sorted(changed))
        except Exception:
            log.exception("watching %s failed; files are no longer reloaded", sorted(folders))
        finally:
            self._ready.set()
