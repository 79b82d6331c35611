"""The functions a zipper serves itself: loaded at start, reloaded, shown in the stats.

The workflow's entries with code (``wasm:`` or ``python:``) are loaded into one
:class:`~rxyomo.functions.host.FunctionHost` before the zipper listens, so that no frame
arrives before they serve. A module that cannot be served is refused by name and the
reason logged and kept in the stats; the other functions serve all the same, and a
reload tries the refused one again. Reloads come from the host's file watcher, from
SIGHUP to ``rxyomo serve``, and from ``rxyomo reload`` (a request on the stats tag,
see :mod:`rxyomo.protocol.control`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import msgpack

from rxyomo.functions.host import FunctionHost, Reload
from rxyomo.functions.quarantine import QuarantinePolicy
from rxyomo.functions.spec import FunctionConfig
from rxyomo.functions.version import LoadError
from rxyomo.protocol.control import RELOADED, decode_control
from rxyomo.protocol.frames import DataFrame
from rxyomo.protocol.reserved import STATS_TAG
from rxyomo.zipper.local import LocalFunction
from rxyomo.zipper.peer import Peer

if TYPE_CHECKING:
    from rxyomo.zipper.router import Router

__all__ = ["ServedFunctions", "reload_dict"]

log = logging.getLogger("rxyomo.zipper")


class ServedFunctions:
    """The functions ``configs`` served in-process for ``router``.

    ``ids`` hands out connection ids (the zipper's); with ``watch`` each source file is
    reloaded when it changes.
    """

    def __init__(
        self,
        configs: Iterable[FunctionConfig],
        router: Router,
        ids: Iterator[int],
        *,
        watch: bool = False,
        quarantine: QuarantinePolicy | None = None,
    ) -> None:
        self.configs = {config.name: config for config in configs}
        self.router = router
        self.host = FunctionHost(watch=watch, quarantine=quarantine)
        #: The functions serving, by name.
        self.functions: dict[str, LocalFunction] = {}
        #: The functions that could not be served, by name, with why.
        self.refused: dict[str, str] = {}
        self._ids = ids
        self._tasks: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        return len(self.configs)

    async def start(self) -> None:
        """Load every function (a refused one is logged, by name, and left out)."""
        for config in self.configs.values():
            await self._add(config)

    async def _add(self, config: FunctionConfig) -> Reload:
        loop = asyncio.get_running_loop()
        try:
            runner = await loop.run_in_executor(None, self.host.add, config)
        except LoadError as exc:
            self.refused[config.name] = exc.reason
            log.error("refused %s: %s", config.describe(), exc.reason)
            return Reload(config.name, "", "", changed=False, error=exc.reason)
        self.refused.pop(config.name, None)
        function = LocalFunction(self.router, next(self._ids), runner, loop.call_soon_threadsafe)
        self.router.serve(function)
        self.functions[config.name] = function
        version = runner.version.version
        log.info("serving %s in-process, version %s", config.describe(), version)
        return Reload(config.name, version, "", changed=True)

    async def reload(self, names: Sequence[str] = ()) -> list[Reload]:
        """Load the named functions (all when none) again; each new version takes over
        between frames, and code that fails to load leaves the old one serving. A
        function refused so far is tried again."""
        loop = asyncio.get_running_loop()
        results = []
        for name in names or list(self.configs):
            if name not in self.configs:
                error = f"no function {name!r} is served by this zipper"
                results.append(Reload(name, "", "", changed=False, error=error))
            elif name in self.functions:
                results.append(await loop.run_in_executor(None, self.host.reload, name))
            else:
                results.append(await self._add(self.configs[name]))
        return results

    def control(self, peer: Peer, payload: bytes) -> None:
        """Answer a control request from ``peer`` once its reloads are done, on the stats
        tag."""
        task = asyncio.get_running_loop().create_task(self._answer(peer, payload))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, peer: Peer, payload: bytes) -> None:
        try:
            names = decode_control(payload)
        except ValueError as exc:
            answer: dict[str, Any] = {"error": f"bad control request: {exc}"}
        else:
            answer = {RELOADED: [reload_dict(r) for r in await self.reload(names)]}
        if peer.is_open:
            data: bytes = msgpack.packb(answer)
            peer.send_control(DataFrame(tag=STATS_TAG, payload=data), len(data))
            peer.flush()

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Each function's stats by name; a refused one's reason."""
        data: dict[str, dict[str, Any]] = {}
        for name, config in self.configs.items():
            function = self.functions.get(name)
            if function is not None:
                data[name] = function.snapshot()
            else:
                reason = self.refused.get(name, "not loaded yet")
                data[name] = {
                    "name": name,
                    "served_by": "zipper",
                    "source": str(config.source),
                    "state": "refused",
                    "error": reason,
                }
        return data

    async def drain(self, timeout: float) -> None:
        """Wait (up to ``timeout`` s) until the functions hold no frame, and route what
        they answered."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        for function in list(self.functions.values()):
            left = max(deadline - loop.time(), 0.0)
            await loop.run_in_executor(None, function.runner.wait_idle, left)
            function.finish()

    async def close(self, timeout: float = 2.0) -> None:
        """Stop every function; frames still held are counted as dropped."""
        for task in list(self._tasks):
            task.cancel()
        functions = list(self.functions.values())
        for function in functions:
            function.close()
            self.router.unserve(function)
        await asyncio.get_running_loop().run_in_executor(None, self.host.close, timeout)
        for function in functions:
            function.finish()
        self.functions.clear()


def reload_dict(reload: Reload) -> dict[str, Any]:
    """A :class:`Reload` as plain data (the answer to ``rxyomo reload``)."""
    return {
        "name": reload.name,
        "version": reload.version,
        "previous": reload.previous,
        "changed": reload.changed,
        "error": reload.error,
    }
