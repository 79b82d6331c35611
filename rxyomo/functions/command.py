"""``rxyomo run``: serve a WebAssembly module or a Python module as a stream function.

::

    rxyomo run guest.wasm --name image-recognition --zipper localhost:9000 \\
        --observe 0x10 --export infer --reply 0x11 --dir /model=./model --memory 128MiB
    rxyomo run sfn.wasm --name sfn --zipper localhost:9000    # YoMo's ABI: its own tags
    rxyomo run app.py --name upper
    rxyomo run -c functions.yaml

The module's convention is detected from its imports and exports: a module of YoMo's
stream-function ABI names its tags and writes its own answers (no ``--observe``,
``--export`` or ``--reply``); a wasm-bindgen or wasmedge-bindgen export is called with
each payload. Source files are watched and reloaded when they change (``--no-watch`` to
turn it off), and SIGHUP reloads every function. With ``-c`` a function that cannot be
loaded is refused by name and the others are served. ``--metrics HOST:PORT`` serves the
functions' call times and errors in Prometheus' format at ``/metrics``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from rxyomo.functions.spec import FunctionConfig, SpecError, function_config
from rxyomo.functions.specfile import load_functions_file
from rxyomo.functions.version import LoadError

__all__ = ["add_run_parser", "configs_from_args", "run_command"]

# The flags that describe one function, refused beside -c (whose file describes them).
_FUNCTION_FLAGS = {
    "name": "--name",
    "observe": "--observe",
    "export": "--export",
    "reply": "--reply",
    "dir": "--dir",
    "env": "--env",
    "nn_preload": "--nn-preload",
    "memory": "--memory",
    "timeout_ms": "--timeout-ms",
    "fuel": "--fuel",
    "instances": "--instances",
    "queue": "--queue",
}


def add_run_parser(sub: Any) -> argparse.ArgumentParser:
    """Adds ``run`` to the ``rxyomo`` command's subparsers."""
    run: argparse.ArgumentParser = sub.add_parser(
        "run",
        help="serve a .wasm or Python function (or a list of them) as stream functions",
        description="Connect WebAssembly or Python functions to a zipper as stream "
        "functions: each frame's payload goes to the function, its result comes back "
        "under the reply tag. A module of YoMo's stream-function ABI (detected from its "
        "imports and exports) observes its own tags and writes its own answers.",
    )
    run.add_argument("file", nargs="?", type=Path, help="a .wasm (or .wat) module, or a .py file")
    run.add_argument(
        "-c", "--config", type=Path, help="functions.yaml: serve every function it lists"
    )
    run.add_argument("-n", "--name", help="the function's name (default: the file's stem)")
    run.add_argument("--zipper", default="localhost:9000", help="HOST:PORT of the zipper")
    run.add_argument(
        "--observe", action="append", metavar="TAG", help="a tag to observe, e.g. 0x10 (repeatable)"
    )
    run.add_argument(
        "--export", help="the wasm export called with each payload, e.g. infer (not for YoMo's ABI)"
    )
    run.add_argument(
        "--reply",
        metavar="TAG",
        help="the tag results go out under (none: a sink; not for YoMo's ABI)",
    )
    run.add_argument(
        "--dir", action="append", metavar="GUEST=HOST", help="preopen a host folder (repeatable)"
    )
    run.add_argument(
        "--env", action="append", metavar="NAME=VALUE", help="a guest variable (repeatable)"
    )
    run.add_argument(
        "--nn-preload",
        action="append",
        metavar="NAME:PATH",
        help="a model WASI-NN's load_by_name finds as NAME (or NAME:ENCODING:TARGET:PATH)",
    )
    run.add_argument("--memory", metavar="SIZE", help="linear memory per instance (128MiB)")
    run.add_argument("--timeout-ms", metavar="MS", help="deadline of each call")
    run.add_argument("--fuel", metavar="UNITS", help="wasm fuel of each call")
    run.add_argument("--instances", metavar="N", help="calls at once, each on a thread")
    run.add_argument("--queue", metavar="N", help="frames that may wait beyond those")
    run.add_argument("--credential", default="", help="'token:SECRET' if the zipper needs one")
    run.add_argument("--transport", choices=["quic", "tcp"], default="quic")
    run.add_argument("--ca", type=Path, help="CA bundle to verify the zipper with")
    run.add_argument(
        "--insecure", action="store_true", help="do not verify the zipper's certificate"
    )
    run.add_argument(
        "--no-watch", action="store_true", help="do not reload functions when their file changes"
    )
    run.add_argument(
        "--stats-interval",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="log each function's counters this often (0: never)",
    )
    run.add_argument(
        "--metrics",
        metavar="HOST:PORT",
        help="serve Prometheus metrics at /metrics here (call times and errors by function)",
    )
    return run


def _metrics_problem(address: str | None) -> str | None:
    """Why ``--metrics`` cannot be had (a bad address, a missing extra), before anything
    starts."""
    if not address:
        return None
    from rxyomo.observe import MissingExtra, parse_address
    from rxyomo.observe._extras import require

    try:
        parse_address(address)
        require("prometheus_client", feature="--metrics", extra="metrics")
        require("aiohttp", feature="--metrics", extra="metrics")
    except (MissingExtra, ValueError) as exc:
        return str(exc)
    return None


async def _serve_with_metrics(address: str | None, serving: Coroutine[Any, Any, int]) -> int:
    """Await ``serving`` (the host's connections) with the metrics served at ``address``
    meanwhile, if one is given."""
    if not address:
        result: int = await serving
        return result
    from rxyomo.observe import ObserveServer, parse_address

    server = ObserveServer(None, metrics=True, dashboard=False)
    try:
        await server.start(*parse_address(address))
    except OSError as exc:
        serving.close()
        print(f"rxyomo run: cannot serve metrics on {address}: {exc}", file=sys.stderr)
        return 2
    print(f"rxyomo run: metrics at {server.url}metrics", flush=True)
    try:
        result = await serving
        return result
    finally:
        await server.close()


def configs_from_args(args: argparse.Namespace) -> list[FunctionConfig]:
    """The functions the command line describes; raises :class:`SpecError`."""
    if args.config is not None:
        given = [flag for key, flag in _FUNCTION_FLAGS.items() if getattr(args, key)]
        if args.file is not None:
            given.insert(0, str(args.file))
        if given:
            raise SpecError(
                "", "", f"-c lists the functions; {', '.join(given)} cannot be given beside it"
            )
        return load_functions_file(args.config)
    if args.file is None:
        raise SpecError("", "", "give the function's file (FILE.wasm or app.py), or -c FILE")
    limits = {
        key: getattr(args, key)
        for key in ("memory", "timeout_ms", "fuel", "instances", "queue")
        if getattr(args, key) is not None
    }
    return [
        function_config(
            args.name or args.file.stem,
            args.file,
            observe=[tag for item in args.observe or () for tag in item.split(",") if tag],
            export=args.export,
            reply=args.reply,
            dirs=args.dir or None,
            env=args.env or None,
            limits=limits,
            nn_preload=args.nn_preload or None,
        )
    ]


def run_command(args: argparse.Namespace) -> int:
    """``rxyomo run``; returns the exit status (2: nothing could be served)."""
    from rxyomo.functions.host import FunctionHost
    from rxyomo.functions.served import serve_host
    from rxyomo.transport import get_transport
    from rxyomo.transport.base import TlsConfig, TransportOptions

    try:
        configs = configs_from_args(args)
    except SpecError as exc:
        print(f"rxyomo run: {exc}", file=sys.stderr)
        return 2
    problem = _metrics_problem(args.metrics)
    if problem is not None:
        print(f"rxyomo run: {problem}", file=sys.stderr)
        return 2
    host = FunctionHost(watch=not args.no_watch)
    try:
        for config in configs:
            try:
                host.add(config)
            except LoadError as exc:
                # Refused by name; the other functions are served all the same.
                print(f"rxyomo run: refused: {exc}", file=sys.stderr, flush=True)
        if not len(host):
            return 2
        tls = TlsConfig(cafile=args.ca, verify=not args.insecure)
        try:
            transport = get_transport(args.transport, TransportOptions(tls=tls))
        except ValueError as exc:
            print(f"rxyomo run: {exc}", file=sys.stderr)
            return 2
        serving = serve_host(
            host,
            zipper=args.zipper,
            transport=transport,
            credential=args.credential,
            stats_interval=args.stats_interval or None,
        )
        return asyncio.run(_serve_with_metrics(args.metrics, serving))
    finally:
        host.close()
