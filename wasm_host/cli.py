"""``python -m wasm_host``: run a WebAssembly function on a file, or inspect a module.

::

    python -m wasm_host run guest.wasm infer photo.jpg --dir /model:./models
    python -m wasm_host run sfn.wasm frame.txt --tag 0x33      # YoMo's ABI: no export
    python -m wasm_host inspect guest.wasm

The convention (wasm-bindgen, wasmedge-bindgen, YoMo's stream-function ABI) is detected
from the module; a YoMo function prints each answer as ``TAG: data``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from _rxyomo_extras import MissingExtra, exit_missing

from .bindgen import BindgenAbi, CallPlan, ReturnKind, plan_call
from .cache import load_module
from .conventions import Convention, describe_convention, detect_convention
from .engine import CompiledModule, ExternKind, Limits, WasiConfig
from .engines import ENGINE_NAMES, get_engine
from .engines._output import GUEST_LOGGER
from .errors import (
    BindgenError,
    ConfigurationError,
    ConventionError,
    EngineUnavailable,
    WasmHostError,
    WasmTrap,
)
from .function import WasmFunction, YomoFunction
from .host import (
    HostModule,
    ImageHost,
    TensorFlowHost,
    TensorFlowLiteHost,
    TensorTypes,
    WasiNnHost,
    default_host_modules,
)
from .linker import PLACEHOLDER_MODULES, WASI_MODULES
from .yomo_abi import YomoCaller

__all__ = ["main"]

_INTERNAL_EXPORTS = ("__wbindgen", "__externref", "_initialize", "__heap_base", "__data_end")


def _pair(text: str, separator: str, what: str) -> tuple[str, str]:
    left, found, right = text.partition(separator)
    if not found or not left:
        raise argparse.ArgumentTypeError(f"{what} must look like A{separator}B, not {text!r}")
    return left, right


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m wasm_host",
        description="Run a WebAssembly function on a file, or inspect a module.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    # What both commands take: the module, and the engine that loads it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("module", type=Path, help="the .wasm (or .wat) file")
    common.add_argument("--engine", choices=ENGINE_NAMES, help="default: wasmtime")

    run = commands.add_parser(
        "run", parents=[common], help="call a function with a file's bytes, print the result"
    )
    run.add_argument(
        "export", help="the exported function, e.g. infer (none for YoMo's ABI: give the input)"
    )
    run.add_argument("input", nargs="?", help="the input file ('-' for standard input)")
    run.add_argument(
        "--tag", type=lambda t: int(t, 0), help="YoMo's ABI: the frame's tag (default: observed)"
    )
    run.add_argument(
        "--http-host",
        action="append",
        default=[],
        metavar="HOST",
        help="YoMo's ABI: a host yomo_http_send may reach (repeatable)",
    )
    run.add_argument(
        "--nn-preload",
        action="append",
        default=[],
        metavar="NAME:PATH",
        type=lambda t: _pair(t, ":", "--nn-preload"),
        help="WASI-NN: a model load_by_name finds as NAME (or WasmEdge's NAME:ENC:TARGET:PATH)",
    )
    run.add_argument(
        "--tensor-types",
        choices=[t.value for t in TensorTypes],
        default=TensorTypes.AUTO.value,
        help="WASI-NN: the guest's table of tensor type codes (default: auto)",
    )
    run.add_argument(
        "--dir",
        action="append",
        default=[],
        metavar="GUEST:HOST",
        type=lambda t: _pair(t, ":", "--dir"),
        help="preopen the host directory HOST as GUEST (repeatable)",
    )
    run.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        type=lambda t: _pair(t, "=", "--env"),
        help="a WASI environment variable (repeatable)",
    )
    run.add_argument("--arg", action="append", default=[], help="a WASI argument (repeatable)")
    run.add_argument("--timeout", type=float, help="seconds the call may run (wasmtime)")
    run.add_argument("--fuel", type=int, help="fuel the call may use (wasmtime)")
    run.add_argument("--max-memory", type=int, metavar="BYTES", help="linear memory limit")
    run.add_argument("--returns", choices=[k.value for k in ReturnKind], help="default: detected")
    run.add_argument("--no-cache", action="store_true", help="do not use the compiled-module cache")
    run.add_argument("-q", "--quiet", action="store_true", help="hide the guest's output")

    commands.add_parser(
        "inspect", parents=[common], help="list imports, exports and the detected ABI"
    )
    return parser


def _host_modules(args: argparse.Namespace) -> list[HostModule]:
    # WasmEdge's --nn-preload is NAME:ENCODING:TARGET:PATH; the path is the last part.
    models = {name: value.rpartition(":")[2] for name, value in args.nn_preload}
    nn = WasiNnHost(models, tensor_types=TensorTypes(args.tensor_types))
    return [TensorFlowLiteHost(), ImageHost(), TensorFlowHost(), nn]


def _print_bytes(result: bytes) -> None:
    try:
        print(result.decode("utf-8"))
    except UnicodeDecodeError:
        sys.stdout.flush()
        sys.stdout.buffer.write(result)


def _run(args: argparse.Namespace) -> int:
    limits = Limits(fuel=args.fuel, timeout=args.timeout, max_memory=args.max_memory)
    module = load_module(
        get_engine(args.engine, fuel=limits.fuel is not None),
        args.module,
        use_cache=not args.no_cache,
    )
    try:
        convention: Convention | None = detect_convention(module)
    except ConventionError:
        convention = None
    export, source = (args.export, args.input) if args.input is not None else (None, args.export)
    data = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    wasi = WasiConfig(args=args.arg, env=dict(args.env), preopens=dict(args.dir))
    if convention is Convention.YOMO:
        if export is not None:
            raise ConfigurationError("a YoMo stream function takes no export name: give the input")
        with YomoFunction(
            module,
            limits=limits,
            wasi=wasi,
            host_modules=_host_modules(args),
            http_hosts=args.http_host,
        ) as function:
            answers = function(data, args.tag)
        for answer in answers:
            target = f" to {answer.target}" if answer.target else ""
            print(f"{answer.tag:#x}{target}: ", end="")
            _print_bytes(answer.data)
        if not answers:
            print("(no answer)", file=sys.stderr)
        return 0
    if export is None:
        raise ConfigurationError("name the export to call, e.g. infer")
    with WasmFunction(
        module,
        export,
        limits=limits,
        wasi=wasi,
        host_modules=_host_modules(args),
        returns=ReturnKind(args.returns) if args.returns else None,
    ) as function:
        result = function(data)
    if isinstance(result, bytes):
        _print_bytes(result)
    elif result is not None:
        print(result)
    return 0


def _describe_plan(plan: CallPlan, byte_args: int) -> str:
    if byte_args == 0:
        shape = "no byte argument"
    else:
        noun = "argument" if byte_args == 1 else "arguments"
        shape = f"{byte_args} byte {noun} as {plan.slices.value}"
    return f"bindgen, {shape}, returns {plan.returns.value}"


def _guess_plan(abi: BindgenAbi, module: CompiledModule, name: str) -> str:
    ty = module.function_type(name)
    assert ty is not None
    for byte_args in range(1, 5):
        try:
            return _describe_plan(plan_call(abi, name, ty, [True] * byte_args), byte_args)
        except BindgenError:
            continue
    try:
        return _describe_plan(plan_call(abi, name, ty, [False] * len(ty.params)), 0)
    except BindgenError:
        return "not callable with the bindgen convention"


def _inspect(args: argparse.Namespace) -> int:
    module = load_module(get_engine(args.engine), args.module)
    hosts = {host.name: host for host in default_host_modules()}
    print(f"module {args.module} ({module.engine.name}, sha256 {module.digest[:16]}...)")
    print("imports:")
    for item in module.imports:
        if item.module in WASI_MODULES:
            source = "WASI"
        elif item.module in PLACEHOLDER_MODULES:
            source = "wasm-bindgen placeholder (traps if called)"
        elif item.module in hosts:
            reason = hosts[item.module].unavailable_reason()
            source = f"host, UNAVAILABLE: {reason}" if reason else "host"
            if item.name not in hosts[item.module].signatures():
                source = "UNRESOLVED: no such host function"
        else:
            source = "UNRESOLVED"
        ty = f" {item.type}" if item.type is not None else ""
        print(f"  {item.module}.{item.name}{ty}  [{source}]")
    print("exports:")
    for export in module.exports:
        ty = f" {export.type}" if export.type is not None else ""
        print(f"  {export.kind.value} {export.name}{ty}")
    _inspect_convention(module)
    try:
        abi = BindgenAbi.detect(module)
    except BindgenError as exc:
        print(f"ABI: {exc}")
        return 0
    malloc = "malloc(size, align)" if abi.malloc_takes_align else "malloc(size)"
    free = "free(ptr, size, align)" if abi.free_takes_align else "free(ptr, size)"
    retptr = "__wbindgen_add_to_stack_pointer" if abi.stack_pointer else "address 8"
    print(f"ABI: wasm-bindgen, {malloc}, {free}, return slot at {retptr}", end="")
    print(", runs _initialize first" if abi.initializer else "", end="")
    print(", WASI" if abi.wasi else "")
    for export in module.exports:
        if export.kind is ExternKind.FUNC and not export.name.startswith(_INTERNAL_EXPORTS):
            print(f"  {export.name}: {_guess_plan(abi, module, export.name)}")
    return 0


def _inspect_convention(module: CompiledModule) -> None:
    try:
        print(f"convention: {describe_convention(module)}")
    except ConventionError as exc:
        print(f"convention: none known ({exc})")
        return
    imported = {i.name for i in module.imports if i.module == WasiNnHost.name}
    if imported:
        types = WasiNnHost().types_for(imported)
        print(f"WASI-NN: tensor type codes {types.value}", end="")
        print(" (chosen from the first input's size)" if types is TensorTypes.AUTO else "")
    if detect_convention(module) is Convention.YOMO:
        # Starting the function runs its code: what it observes is only known that way.
        try:
            caller = YomoCaller.create(module, limits=Limits(timeout=5.0))
        except WasmHostError as exc:
            print(f"  (not started here: {exc})")
            return
        try:
            tags = ", ".join(f"{tag:#x}" for tag in caller.observed) or "none"
            print(f"  observes {tags}", end="")
            target = caller.wanted_target
            print(f"; wanted target {target!r}" if target else "")
        finally:
            caller.close()


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; returns the exit status (1 for a trap, 2 for other errors)."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    guest_level = logging.ERROR if getattr(args, "quiet", False) else logging.INFO
    GUEST_LOGGER.setLevel(guest_level)
    try:
        return _run(args) if args.command == "run" else _inspect(args)
    except WasmTrap as exc:
        print(f"error: the call trapped: {exc}", file=sys.stderr)
        return 1
    except EngineUnavailable as exc:
        if isinstance(exc.__cause__, MissingExtra):
            exit_missing(exc.__cause__)  # the same line as for a missing numpy
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (WasmHostError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
