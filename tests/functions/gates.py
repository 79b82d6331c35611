"""Gates that Python functions under test wait on, opened by the test.

A Python function runs in the test's own interpreter, so a module it imports is this
one: the test opens the gate its handler waits behind, and can tell how far it got.
"""

from __future__ import annotations

import threading

#: Gates by name; a handler waits on ``gate(name)``.
_GATES: dict[str, threading.Event] = {}
_LOCK = threading.Lock()


def gate(name: str) -> threading.Event:
    """The gate called ``name`` (closed when first asked for)."""
    with _LOCK:
        return _GATES.setdefault(name, threading.Event())


def python_function(name: str, *, reply: int = 0x11) -> str:
    """A YoMo-template module observing 0x10 whose handler waits for gate ``name``, then
    answers the payload under ``reply``."""
    return (
        "from rxyomo import Context\n"
        "from tests.functions.gates import gate\n\n"
        "def observe_datatags():\n"
        "    return [0x10]\n\n"
        "def handler(ctx: Context) -> None:\n"
        f"    gate({name!r}).wait(30)\n"
        f"    ctx.write({reply}, ctx.data)\n"
    )
