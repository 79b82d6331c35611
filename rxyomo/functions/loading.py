"""Loads a function's source into a :class:`~rxyomo.functions.version.FunctionVersion`.

The file is read once; the version is named after exactly the bytes read, so a file
changing while it is loaded can never serve under the wrong name. WebAssembly support
(``wasm_host`` and wasmtime, the ``wasm`` extra) is imported only for wasm functions.
"""

from __future__ import annotations

from rxyomo.functions.spec import FunctionConfig
from rxyomo.functions.version import FunctionVersion, LoadError

__all__ = ["LoadError", "load_version"]


def load_version(config: FunctionConfig) -> FunctionVersion:
    """The code of ``config`` as its source file holds it now, checked and ready to run.

    Raises :class:`LoadError` naming the function and why it cannot be served.
    """
    try:
        data = config.source.read_bytes()
    except OSError as exc:
        raise LoadError(config.name, f"cannot read {config.source}: {exc.strerror}") from exc
    if config.kind == "python":
        from rxyomo.functions.python_version import load_python

        return load_python(config, data)
    try:
        from rxyomo.functions.wasm_version import load_wasm
    except ImportError as exc:
        raise LoadError(
            config.name, f"WebAssembly support is not installed (pip install 'rxyomo[wasm]'): {exc}"
        ) from exc
    return load_wasm(config, data)
