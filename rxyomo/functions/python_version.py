"""A Python function following YoMo's stream-function template::

    from rxyomo import Context

    def observe_datatags() -> list[int]:      # YoMo's DataTags
        return [0x10]

    def init() -> None:                       # optional, YoMo's Init: load a model
        ...

    def handler(ctx: Context) -> None:        # YoMo's Handler; may be async
        ctx.write(0x11, ctx.data.upper())

Returning bytes (or a str) from ``handler`` answers under the function's ``reply`` tag,
when it has one. The module is executed from the bytes its version is named after, under
a name of its own, so that a reload never mixes two versions' globals. It runs unsandboxed
in the host's interpreter: nothing bounds its memory or time, and an endless loop in it
holds a worker for good. Untrusted code belongs in WebAssembly, or in a process of its own.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import inspect
import itertools
import re
import sys
import types
from collections.abc import Callable
from typing import Any

from rxyomo.client.context import Context
from rxyomo.functions.frames import BAD_ANSWER, HANDLER_ERROR, Answer, Fault, Frame
from rxyomo.functions.spec import FunctionConfig, parse_tag
from rxyomo.functions.version import FunctionVersion, Instance, LoadError

__all__ = ["PythonInstance", "PythonVersion", "load_python"]

_loads = itertools.count(1)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _run_maybe_async(function: Callable[[], object]) -> object:
    """Calls ``function``; an awaitable result is awaited in a loop of its own, on a
    thread of its own, so that this works whether or not the caller runs an event loop."""
    result = function()
    if not inspect.isawaitable(result):
        return result

    async def wait() -> object:
        return await result

    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="rxyomo-init") as pool:
        return pool.submit(asyncio.run, wait()).result()


def load_python(config: FunctionConfig, data: bytes) -> PythonVersion:
    """The checked version of ``config``'s module from its source bytes ``data``; runs
    its ``init()``. Raises :class:`LoadError` saying what is wrong."""
    name = config.name
    sha256 = hashlib.sha256(data).hexdigest()
    slug = re.sub(r"\W", "_", name)
    module_name = f"rxyomo_function_{slug}_{sha256[:12]}_{next(_loads)}"
    try:
        code = compile(data, str(config.source), "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        raise LoadError(name, f"the module cannot be compiled: {_describe(exc)}") from exc
    module = types.ModuleType(module_name)
    module.__file__ = str(config.source)
    # Registered while it runs: dataclasses and typing look their module up by name.
    sys.modules[module_name] = module
    try:
        try:
            exec(code, module.__dict__)
        except Exception as exc:
            raise LoadError(name, f"importing the module failed: {_describe(exc)}") from exc
        handler = _handler(name, module)
        tags = _tags(config, module)
        init = module.__dict__.get("init")
        if init is not None:
            if not callable(init):
                raise LoadError(name, "'init' must be a function")
            try:
                _run_maybe_async(init)
            except Exception as exc:
                raise LoadError(name, f"init() failed: {_describe(exc)}") from exc
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return PythonVersion(config, sha256, tags, module_name, handler)


def _handler(name: str, module: types.ModuleType) -> Callable[[Context], Any]:
    handler = module.__dict__.get("handler")
    if handler is None:
        raise LoadError(name, "the module has no handler(ctx) function")
    if not callable(handler):
        raise LoadError(name, f"'handler' must be a function, not {type(handler).__name__}")
    try:
        signature = inspect.signature(handler)
    except (TypeError, ValueError):
        return handler  # type: ignore[no-any-return]  # a builtin: it will tell when called
    try:
        signature.bind(object())
    except TypeError:
        raise LoadError(
            name, f"handler must take one argument, the context; it is handler{signature}"
        ) from None
    return handler  # type: ignore[no-any-return]


def _tags(config: FunctionConfig, module: types.ModuleType) -> tuple[int, ...]:
    name = config.name
    observe = module.__dict__.get("observe_datatags")
    declared: tuple[int, ...] = ()
    if observe is not None:
        if not callable(observe):
            raise LoadError(name, "'observe_datatags' must be a function returning the tags")
        try:
            raw = observe()
        except Exception as exc:
            raise LoadError(name, f"observe_datatags() failed: {_describe(exc)}") from exc
        if isinstance(raw, (int, str)):
            raw = [raw]
        try:
            declared = tuple(parse_tag(tag) for tag in raw)
        except (TypeError, ValueError) as exc:
            raise LoadError(name, f"observe_datatags() returned a bad tag: {exc}") from exc
    if config.observe and declared and set(config.observe) != set(declared):
        given = ", ".join(f"0x{tag:X}" for tag in config.observe)
        found = ", ".join(f"0x{tag:X}" for tag in declared)
        raise LoadError(
            name, f"observe says [{given}], but the module's observe_datatags() says [{found}]"
        )
    tags = config.observe or declared
    if not tags:
        raise LoadError(name, "it observes no tags: define observe_datatags() or give observe")
    return tags


class PythonVersion(FunctionVersion):
    """A module executed once, whose handler every instance calls."""

    def __init__(
        self,
        config: FunctionConfig,
        sha256: str,
        observe: tuple[int, ...],
        module_name: str,
        handler: Callable[[Context], Any],
    ) -> None:
        super().__init__(config, sha256, observe)
        self.module_name = module_name
        self.handler = handler

    def instantiate(self) -> Instance:
        return PythonInstance(self.handler, self.config.reply)

    def retire(self) -> None:
        # Calls in flight keep the module alive through the handler's globals.
        sys.modules.pop(self.module_name, None)


class PythonInstance(Instance):
    """Calls the handler on this worker's thread; an async handler runs on a loop the
    instance keeps."""

    def __init__(self, handler: Callable[[Context], Any], reply: int | None) -> None:
        self._handler = handler
        self._reply = reply
        self._loop: asyncio.AbstractEventLoop | None = None

    def call(self, frame: Frame) -> list[Answer]:
        context = Context(metadata=dict(frame.metadata), tag=frame.tag, data=frame.data)
        try:
            result = self._handler(context)
            if inspect.isawaitable(result):
                if self._loop is None:
                    self._loop = asyncio.new_event_loop()
                result = self._loop.run_until_complete(_awaited(result))
        except Exception as exc:
            raise Fault(HANDLER_ERROR, _describe(exc), costly=False) from exc
        answers = context.take_answers()
        if result is None or self._reply is None:
            return answers
        if isinstance(result, str):
            result = result.encode()
        if not isinstance(result, (bytes, bytearray, memoryview)):
            raise Fault(
                BAD_ANSWER, f"handler returned {type(result).__name__}, not bytes", costly=False
            )
        answers.append(Answer(self._reply, bytes(result)))
        return answers

    def close(self) -> None:
        if self._loop is not None:
            self._loop.close()
            self._loop = None


async def _awaited(awaitable: Any) -> Any:
    return await awaitable
