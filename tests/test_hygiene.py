"""The tests themselves: they go through the public API, and they never sleep to wait.

A private name (``_x``) read from another object, imported from a private module of
rxyomo, wasm_host or y3, or handed to ``setattr``/``monkeypatch.setattr`` as a string ties
a test to how the code is built today rather than to what it promises; each one still
needed is listed in :data:`ALLOWED` with its reason (and :data:`INTERNAL` names public
attributes that hand out private objects). A sleep outside ``tests/waiting.py``
either waits for something (use :func:`tests.waiting.eventually`), or hopes that something
will not happen by then (write a marker after it and wait for the marker instead), or is
part of the scenario, which its line says with a ``# scenario:`` comment.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

TESTS = Path(__file__).resolve().parent
#: Our import packages: their private modules and names are no test's business.
LIBRARIES = ("rxyomo", "wasm_host", "y3")
#: The one place that may poll.
WAITING = TESTS / "waiting.py"
SCENARIO = "# scenario:"

#: Private names a test may still use: (file under tests/, name) and why.
ALLOWED: dict[tuple[str, str], str] = {
    ("rxyomo/test_throttle.py", "rxyomo._throttle"): (
        "the unit test of the rate-limited log, a private helper of the zipper and clients"
    ),
    ("wasm_host/test_host_image.py", "wasm_host.host._resize"): (
        "the unit test of the resize that reproduces WasmEdge's byte for byte"
    ),
    ("wasm_host/test_guest.py", "wasm_host.host._resize"): (
        "the pixels a WasmEdge guest gets, to compare a guest's labels with the model's"
    ),
    ("rxyomo/observe/test_tracing.py", "rxyomo.observe._extras"): (
        "the unit test of the helper that imports an observability feature's extra"
    ),
    ("rxyomo/observe/test_metrics.py", "peers"): (
        "a stand-in zipper for the back-pressure observer's unit test: no real peer in it"
    ),
    ("rxyomo/transport/test_quic.py", "_resolve_all"): (
        "the resolver is the only way to make 'localhost' answer ::1 before 127.0.0.1"
    ),
}


#: Folders whose very subject is private names: the canaries of the upstream internals
#: rxyomo relies on must read them to say when they change.
EXEMPT = ("upstream/",)


#: Public attributes that hand out a library's private objects, and what to use instead.
INTERNAL = {
    "peers": "the zipper's own connection objects: read zipper.stats.connections, or tap "
    "the transport (tests.rxyomo.transport._support.Tap) to reach a channel",
}


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _ours(module: str) -> bool:
    return module.split(".")[0] in LIBRARIES


def _is_sleep(call: ast.Call) -> bool:
    func = call.func
    if isinstance(func, ast.Attribute):
        return (
            func.attr == "sleep"
            and isinstance(func.value, ast.Name)
            and func.value.id in ("asyncio", "time")
        )
    return isinstance(func, ast.Name) and func.id == "sleep"


def _findings(path: Path) -> Iterator[tuple[int, str, str]]:
    """(line, name, what is wrong) for each use of a private name or unjustified sleep."""
    source = path.read_text()
    lines = source.splitlines()
    for node in ast.walk(ast.parse(source, str(path))):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            owner = node.value
            if not (isinstance(owner, ast.Name) and owner.id in ("self", "cls")):
                yield node.lineno, node.attr, f"reads the private attribute {node.attr!r}"
        elif isinstance(node, ast.Attribute) and node.attr in INTERNAL:
            yield node.lineno, node.attr, f"reads {node.attr!r}, {INTERNAL[node.attr]}"
        elif isinstance(node, ast.ImportFrom) and node.module and _ours(node.module):
            if any(_private(part) for part in node.module.split(".")):
                yield node.lineno, node.module, f"imports from the private {node.module}"
            for alias in node.names:
                if _private(alias.name):
                    yield node.lineno, alias.name, f"imports the private {alias.name!r}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if _ours(alias.name) and any(_private(p) for p in alias.name.split(".")):
                    yield node.lineno, alias.name, f"imports the private {alias.name}"
        elif isinstance(node, ast.Call):
            func = node.func
            named = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if named in ("setattr", "getattr", "delattr") and len(node.args) >= 2:
                name = node.args[1]
                literal = name.value if isinstance(name, ast.Constant) else None
                if isinstance(literal, str) and _private(literal):
                    yield node.lineno, literal, f"{named}s the private {literal!r}"
            if _is_sleep(node) and path != WAITING:
                span = lines[node.lineno - 1 : (node.end_lineno or node.lineno)]
                if not any(SCENARIO in line for line in span):
                    yield node.lineno, "sleep", f"sleeps without a {SCENARIO!r} reason"


def test_tests_use_public_names_and_wait_only_through_the_helper() -> None:
    problems = []
    used: set[tuple[str, str]] = set()
    for path in sorted(TESTS.rglob("*.py")):
        relative = path.relative_to(TESTS).as_posix()
        if relative.startswith(EXEMPT):
            continue
        for line, name, what in _findings(path):
            if (relative, name) in ALLOWED:
                used.add((relative, name))
            else:
                problems.append(f"tests/{relative}:{line}: {what}")
    assert problems == [], "\n".join(problems)
    # An allowance nothing needs any more goes too.
    assert set(ALLOWED) == used, f"allowed but unused: {sorted(set(ALLOWED) - used)}"


def test_the_guard_sees_what_it_forbids(tmp_path: Path) -> None:
    sample = tmp_path / "test_sample.py"
    sample.write_text(
        "import asyncio\n"
        "from rxyomo.client._link import Link\n"
        "async def test(client, monkeypatch):\n"
        "    client._link.channel.abort()\n"
        "    monkeypatch.setattr(client, '_hooks', None)\n"
        "    await asyncio.sleep(0.1)\n"
        "    await asyncio.sleep(0.1)  # scenario: a paced source\n"
        "    self._fine = super().__init__()\n"
        "    zipper.peers.clear()\n"
    )
    found = sorted((line, name) for line, name, _ in _findings(sample))
    assert found == [
        (2, "rxyomo.client._link"),
        (4, "_link"),
        (5, "_hooks"),
        (6, "sleep"),
        (9, "peers"),
    ]
