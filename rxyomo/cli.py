"""The ``rxyomo`` command: run a zipper, serve functions, ask a zipper for its stats or
to reload the functions it serves."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import logging
import signal
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from rxyomo.zipper.workflow import Workflow, WorkflowError, load_workflow

log = logging.getLogger("rxyomo")


def _version() -> str:
    try:
        return version("rxyomo")
    except PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``rxyomo``."""
    parser = argparse.ArgumentParser(
        prog="rxyomo", description="Geo-distributed streaming serverless, after YoMo."
    )
    parser.add_argument("--version", action="version", version=f"rxyomo {_version()}")
    parser.add_argument(
        "--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"]
    )
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run a zipper from a workflow file")
    serve.add_argument("-c", "--config", required=True, type=Path, help="workflow.yaml")
    serve.add_argument("--host", help="override the workflow's host")
    serve.add_argument("--port", type=int, help="override the workflow's port")
    serve.add_argument("--transport", choices=["quic", "tcp"], help="override the transport")
    serve.add_argument(
        "--max-datagram-size",
        type=int,
        metavar="BYTES",
        help="largest QUIC packet (default: chosen per peer by the transport); on "
        "loopback, or links whose path MTU allows, larger packets carry big frames for "
        "much less CPU",
    )
    serve.add_argument(
        "--stats-interval",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="log traffic counters this often (0: never)",
    )
    _observe_options(serve)
    serve.add_argument(
        "--no-watch",
        action="store_true",
        help="do not reload the functions the zipper serves when their file changes "
        "(SIGHUP and rxyomo reload still do)",
    )
    _tls_options(serve)

    stats = sub.add_parser("stats", help="print a running zipper's counters as JSON")
    stats.add_argument("--zipper", default="localhost:9000", help="HOST:PORT")
    stats.add_argument("--transport", choices=["quic", "tcp"], default="quic")
    stats.add_argument("--credential", default="", help="'token:SECRET' if the zipper needs one")
    _tls_options(stats)

    reload = sub.add_parser(
        "reload",
        help="reload functions a running zipper serves itself (its workflow's wasm: entries)",
        description="Ask a zipper to load the functions it serves again: each new version "
        "takes over between frames; code that fails to load leaves the old one serving.",
    )
    reload.add_argument("names", nargs="*", metavar="NAME", help="functions (default: all)")
    reload.add_argument("--zipper", default="localhost:9000", help="HOST:PORT")
    reload.add_argument("--transport", choices=["quic", "tcp"], default="quic")
    reload.add_argument("--credential", default="", help="'token:SECRET' if the zipper needs one")
    _tls_options(reload)

    from rxyomo.functions.command import add_run_parser

    add_run_parser(sub)
    return parser


def _observe_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--metrics", metavar="HOST:PORT", help="serve Prometheus metrics at /metrics here"
    )
    parser.add_argument(
        "--dashboard", metavar="HOST:PORT", help="serve the live view (a web page) here"
    )
    parser.add_argument(
        "--dashboard-preview",
        metavar="MODULE:NAME",
        help="show the frames this preview picks on the live view (e.g. thumbnails)",
    )


def _tls_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cert", type=Path, help="TLS certificate (PEM)")
    parser.add_argument("--key", type=Path, help="TLS private key (PEM)")
    parser.add_argument("--ca", type=Path, help="CA bundle to verify the peer with")
    parser.add_argument(
        "--insecure",
        action="store_true",
        help="do not verify the zipper's certificate (development only)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rxyomo`` console script."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        if args.command == "serve":
            return _serve(args)
        if args.command == "run":
            from rxyomo.functions.command import run_command

            return run_command(args)
        if args.command == "reload":
            return _reload(args)
        return _stats(args)
    except WorkflowError as exc:
        print(f"rxyomo: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _transport_for(args: argparse.Namespace, name: str, **settings: Any) -> Any:
    from rxyomo.transport import get_transport
    from rxyomo.transport.base import TlsConfig, TransportOptions

    tls = TlsConfig(certfile=args.cert, keyfile=args.key, cafile=args.ca, verify=not args.insecure)
    return get_transport(name, TransportOptions(tls=tls), **settings)


def _serve(args: argparse.Namespace) -> int:
    from rxyomo.zipper.server import Zipper

    workflow: Workflow = load_workflow(args.config)
    overrides: dict[str, Any] = {}
    if args.host:
        overrides["host"] = args.host
    if args.port is not None:
        overrides["port"] = args.port
    if args.transport:
        overrides["transport"] = args.transport
    for key in ("metrics", "dashboard"):
        if getattr(args, key):
            overrides[key] = getattr(args, key)
    workflow = dataclasses.replace(workflow, **overrides)
    problem = _observe_problem(workflow, args.dashboard_preview)
    if problem:
        print(f"rxyomo: {problem}", file=sys.stderr)
        return 2
    if args.cert is None and workflow.tls.cert:
        args.cert, args.key = Path(workflow.tls.cert), Path(workflow.tls.key)
    if args.ca is None and workflow.tls.ca:
        args.ca = Path(workflow.tls.ca)
    args.insecure = args.insecure or not workflow.tls.verify
    settings: dict[str, Any] = {}
    if args.max_datagram_size is not None:
        if workflow.transport != "quic":
            print("rxyomo: --max-datagram-size applies to the quic transport only", file=sys.stderr)
            return 2
        settings["max_datagram_size"] = args.max_datagram_size
    try:
        transport = _transport_for(args, workflow.transport, **settings)
    except ValueError as exc:
        print(f"rxyomo: {exc}", file=sys.stderr)
        return 2

    async def run() -> None:
        zipper = Zipper(
            workflow,
            transport,
            stats_interval=args.stats_interval or None,
            watch_functions=not args.no_watch,
        )
        if args.dashboard_preview:
            from rxyomo.observe import attach
            from rxyomo.observe.dashboard.previews import load_preview

            attach(zipper).set_preview(load_preview(args.dashboard_preview))
        await zipper.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        reloads: set[asyncio.Task[Any]] = set()

        def reload_all() -> None:
            log.info("SIGHUP: reloading the functions the zipper serves")
            task = loop.create_task(zipper.reload_functions())
            reloads.add(task)
            task.add_done_callback(reloads.discard)

        if len(zipper.functions):
            with contextlib.suppress(NotImplementedError, AttributeError):  # no SIGHUP here
                loop.add_signal_handler(signal.SIGHUP, reload_all)
        await stop.wait()
        log.info("shutting down")
        await zipper.close()

    asyncio.run(run())
    return 0


def _observe_problem(workflow: Workflow, preview: str | None) -> str | None:
    """Why the metrics, live view or traces asked for cannot be had (a missing extra, a
    bad address), checked before anything starts."""
    from rxyomo.observe import MissingExtra, parse_address, tracing_configured
    from rxyomo.observe._extras import require

    try:
        for address in (workflow.metrics, workflow.dashboard):
            if address:
                parse_address(address)
        if workflow.metrics:
            require("prometheus_client", feature="--metrics", extra="metrics")
            require("aiohttp", feature="--metrics", extra="metrics")
        if workflow.dashboard:
            require("aiohttp", feature="--dashboard", extra="dashboard")
        if preview and not workflow.dashboard:
            return "--dashboard-preview needs --dashboard"
        if tracing_configured():
            require("opentelemetry.sdk.trace", feature="OTEL_EXPORTER_OTLP_ENDPOINT", extra="otel")
    except (MissingExtra, ValueError) as exc:
        return str(exc)
    return None


def _stats(args: argparse.Namespace) -> int:
    from rxyomo.client.stats import fetch_stats

    transport = _transport_for(args, args.transport)
    try:
        data = asyncio.run(fetch_stats(args.zipper, transport, credential=args.credential))
    except Exception as exc:  # any failure is reported, not traced back
        print(f"rxyomo: cannot get stats from {args.zipper}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(data, indent=2, sort_keys=True))
    return 0


def _reload(args: argparse.Namespace) -> int:
    from rxyomo.client.stats import reload_functions

    transport = _transport_for(args, args.transport)
    try:
        results = asyncio.run(
            reload_functions(args.zipper, args.names, transport, credential=args.credential)
        )
    except Exception as exc:  # any failure is reported, not traced back
        print(f"rxyomo: cannot reload at {args.zipper}: {exc}", file=sys.stderr)
        return 1
    failed = False
    for result in results:
        name, version = result.get("name"), result.get("version")
        if result.get("error"):
            failed = True
            serving = f"version {version} goes on serving" if version else "not served"
            print(f"{name}: refused ({serving}): {result['error']}")
        elif result.get("changed") and result.get("previous"):
            print(f"{name}: version {version} took over from {result['previous']}")
        elif result.get("changed"):
            print(f"{name}: serving, version {version}")
        else:
            print(f"{name}: unchanged, version {version}")
    if not results:
        print("the zipper serves no function itself")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
