"""Serving functions: WebAssembly modules and Python modules as stream functions.

A developer hands over a ``.wasm`` file (or a Python module following YoMo's template)
and a :class:`FunctionConfig` says how to serve it; a :class:`FunctionHost` serves many
side by side, each in a :class:`FunctionRunner` of its own (instances on worker threads,
limits, a bounded queue, stats, quarantine), reloading each when its file changes;
:class:`ServedFunction` connects one to a zipper, as ``rxyomo run`` does.

Whatever feeds a function hands it a :class:`Frame` and gets an :class:`Outcome`: the
runner needs no event loop and no connection.
"""

from __future__ import annotations

from rxyomo.functions.frames import (
    BAD_ANSWER,
    CLOSED,
    HANDLER_ERROR,
    INSTANCE_FAILED,
    QUARANTINED,
    VERSION_KEY,
    Fault,
    Frame,
    Outcome,
)
from rxyomo.functions.host import FunctionHost, Reload
from rxyomo.functions.loading import load_version
from rxyomo.functions.quarantine import QuarantinePolicy
from rxyomo.functions.runner import Done, FunctionRunner
from rxyomo.functions.served import ServedFunction, serve_host
from rxyomo.functions.spec import (
    DEFAULT_LIMITS,
    FunctionConfig,
    FunctionLimits,
    SpecError,
    function_config,
    parse_size,
)
from rxyomo.functions.specfile import entry_config, load_functions_file, parse_functions
from rxyomo.functions.version import FunctionVersion, Instance, LoadError

__all__ = [
    "BAD_ANSWER",
    "CLOSED",
    "DEFAULT_LIMITS",
    "HANDLER_ERROR",
    "INSTANCE_FAILED",
    "QUARANTINED",
    "VERSION_KEY",
    "Done",
    "Fault",
    "Frame",
    "FunctionConfig",
    "FunctionHost",
    "FunctionLimits",
    "FunctionRunner",
    "FunctionVersion",
    "Instance",
    "LoadError",
    "Outcome",
    "QuarantinePolicy",
    "Reload",
    "ServedFunction",
    "SpecError",
    "entry_config",
    "function_config",
    "load_functions_file",
    "load_version",
    "parse_functions",
    "parse_size",
    "serve_host",
]
