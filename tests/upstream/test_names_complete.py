"""The list of upstream private names is whole: rxyomo's code uses no private name that
tests/upstream/names.py lacks (every import of a private module; the private attributes
the QUIC connection and the wasmtime engine touch), docs/architecture.md names each, and
the installed releases are those pyproject.toml pins, the ones the canaries ran on.

A private attribute used elsewhere, on an object of another package's, is beyond what
these checks can tell from rxyomo's own: review finds it.
"""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.connection import QuicConnection
from packaging.requirements import Requirement

from tests.upstream import names
from tests.upstream._canary import Upstream

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[2]

_OURS = {
    "rxyomo",
    "y3",
    "wasm_host",
    "benches",
    "tests",
    "devtools",
    "_rxyomo_extras",
    "__future__",
}
_SOURCES = ["rxyomo", "wasm_host", "codecs", "examples", "benches", "devtools"]
#: Modules imported by their bare names, from pytest's and mypy's paths, or a neighbour.
_LOCAL = {p.stem for d in ["codecs", "examples/image_recognition"] for p in (REPO / d).iterdir()}


def _sources() -> Iterator[Path]:
    for top in _SOURCES:
        for folder, subfolders, files in os.walk(REPO / top):
            # Not into build output (the guest's Rust target) or caches.
            subfolders[:] = sorted(d for d in subfolders if d not in ("target", "__pycache__"))
            yield from (Path(folder) / f for f in sorted(files) if f.endswith(".py"))


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _private_imports(path: Path) -> set[str]:
    """Modules of other packages' with a private part that ``path`` imports."""
    found: set[str] = set()
    local = _LOCAL | {p.stem for p in path.parent.iterdir()}
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [f"{node.module}.{alias.name}" for alias in node.names]
        for module in modules:
            root = module.split(".")[0]
            if root in _OURS or root in local:
                continue
            parts = module.split(".")
            private = [i for i, part in enumerate(parts) if _private(part)]
            if private:
                found.add(".".join(parts[: private[0] + 1]))
    return found


def test_no_other_private_module_is_imported() -> None:
    found = {module for path in _sources() for module in _private_imports(path)}
    assert found == names.PRIVATE_MODULES, (
        "imports of private modules changed: list each in tests/upstream/names.py and in "
        "docs/architecture.md, or use a public module"
    )


def _private_attributes(path: Path, skip: set[str]) -> set[str]:
    """Private attribute names ``path`` reads or writes on anything but the names ``skip``."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            receiver = node.value
            if not (isinstance(receiver, ast.Name) and receiver.id in skip):
                found.add(node.attr)
    return found


def _private_methods(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    return {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and _private(n.name)}


def test_every_private_name_of_aioquics_the_connection_uses_is_listed() -> None:
    path = REPO / "rxyomo" / "transport" / "quic" / "connection.py"
    plain = QuicConnection(configuration=QuicConfiguration(is_client=True))
    # On self, and as methods, the names of aioquic's are those a plain connection has too.
    on_self = _private_attributes(path, set()) | _private_methods(path)
    used = _private_attributes(path, {"self"}) | {n for n in on_self if hasattr(plain, n)}
    listed = {e.name for e in names.AIOQUIC_NAMES if _private(e.name)}
    assert used == listed, "list the private names the connection uses in names.py"


def test_every_private_name_of_wasmtimes_the_engine_uses_is_listed() -> None:
    engines = REPO / "wasm_host" / "engines"
    files = [engines / "wasmtime_engine.py", engines / "_wasmtime_host.py"]
    used: set[str] = set()
    ffi: set[str] = set()
    symbols: set[str] = set()
    for path in files:
        used |= _private_attributes(path, {"self", "ffi"})
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Attribute) and ast.unparse(node.value) == "ffi":
                ffi.add(node.attr)
            elif isinstance(node, ast.Subscript) and ast.unparse(node.value) == "ffi.dll":
                symbols.add(ast.unparse(node.slice).strip("'\""))
    by_owner: dict[str, set[str]] = {}
    for entry in names.WASMTIME_NAMES:
        by_owner.setdefault(entry.owner, set()).add(entry.name)
    assert ffi == by_owner["wasmtime._ffi"]
    assert symbols == by_owner["wasmtime._ffi.dll"]
    bindings = {"wasmtime", "wasmtime._ffi", "wasmtime._ffi.dll"}
    assert used == {e.name for e in names.WASMTIME_NAMES if e.owner not in bindings}


def test_the_architecture_document_names_every_listed_name() -> None:
    text = (REPO / "docs" / "architecture.md").read_text()
    section = text.split("\n## Upstream private names\n", 1)[1].split("\n## ", 1)[0]
    missing = [
        entry.label
        for entry in names.AIOQUIC_NAMES + names.WASMTIME_NAMES
        if not re.search(rf"`[^`]*\b{re.escape(entry.name)}\b", section)
    ]
    assert not missing, "docs/architecture.md, 'Upstream private names', lacks these"


def _pins(distribution: str) -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    listed = [*project["dependencies"], *project["optional-dependencies"]["wasm"]]
    requirements = [Requirement(line) for line in listed]
    return [
        r
        for r in requirements
        if r.name == distribution and (r.marker is None or r.marker.evaluate())
    ]


@pytest.mark.parametrize("upstream", [names.AIOQUIC, names.WASMTIME], ids=lambda u: u.distribution)
def test_the_installed_release_is_a_pinned_one(upstream: Upstream) -> None:
    # The canaries say a release works only for the releases they ran on: those pinned.
    pins = _pins(upstream.distribution)
    assert pins, f"pyproject.toml no longer lists {upstream.distribution} for this Python"
    for pin in pins:
        assert any(s.operator in ("<", "<=", "==", "~=") for s in pin.specifier), (
            f"pyproject.toml must cap {upstream.distribution}, whose private names rxyomo uses"
        )
    try:
        version = upstream.installed()
    except importlib.metadata.PackageNotFoundError:
        pytest.skip(f"{upstream.distribution} is not installed")
    for pin in pins:
        assert pin.specifier.contains(version, prereleases=True), (
            f"{upstream.distribution} {version} is installed, but pyproject.toml pins {pin}: "
            "run the tests in an environment installed from it"
        )
