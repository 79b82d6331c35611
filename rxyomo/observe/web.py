"""The HTTP side of observability, on aiohttp: ``/metrics`` (Prometheus' text format)
and the live view (``/``, its ``/static/`` files, ``/api/view`` as JSON, ``/events`` as
server-sent events, ``/preview/KEY`` for thumbnails), served from the zipper's own event
loop so that every figure is read between two frames."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rxyomo.observe._extras import require

if TYPE_CHECKING:
    from rxyomo.observe.zipper import ZipperObserver
    from rxyomo.zipper.server import Zipper

__all__ = ["ObserveServer", "parse_address", "start_servers"]

log = logging.getLogger("rxyomo.observe")

STATIC = Path(__file__).resolve().parent / "dashboard" / "static"
#: How often the live view is pushed to each open page.
PUSH_INTERVAL = 0.5
_STATIC_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6) as a pair; raises ValueError."""
    host, _, port = text.rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"an address is HOST:PORT, got {text!r}")
    return host, int(port)


class ObserveServer:
    """Serves the metrics, the live view, or both, for one zipper (``observer``) or for
    a process without one (function metrics only)."""

    def __init__(self, observer: ZipperObserver | None, *, metrics: bool, dashboard: bool) -> None:
        self._web = require("aiohttp.web", feature="the metrics server", extra="metrics")
        if metrics:
            from rxyomo.observe.metrics import MetricsRegistry

            self.metrics: MetricsRegistry | None = MetricsRegistry(observer)
        else:
            self.metrics = None
        self.view: Any = None
        if dashboard:
            if observer is None:
                raise ValueError("the live view needs a zipper")
            from rxyomo.observe.dashboard.view import LiveView

            self.view = LiveView(observer)
        self.observer = observer
        self._runner: Any = None
        self._closing = asyncio.Event()
        self.address: tuple[str, int] | None = None

    @property
    def url(self) -> str:
        """``http://HOST:PORT/`` once started."""
        if self.address is None:
            raise RuntimeError("the server is not started")
        host, port = self.address
        return f"http://{f'[{host}]' if ':' in host else host}:{port}/"

    async def start(self, host: str, port: int) -> tuple[str, int]:
        """Listen on ``host:port`` (0: any free port); returns the bound address."""
        web = self._web
        app = web.Application()
        routes = []
        if self.metrics is not None:
            routes.append(web.get("/metrics", self._metrics))
        if self.view is not None:
            routes += [
                web.get("/", self._index),
                web.get("/static/{name}", self._static),
                web.get("/api/view", self._view),
                web.get("/events", self._events),
                web.get("/preview/{key}", self._preview),
            ]
        app.add_routes(routes)
        # Open pages hold a response each: they end when the server closes.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = self._runner.addresses[0]
        self.address = (str(bound[0]), int(bound[1]))
        log.info("observe: serving %s on %s", self._what(), self.url)
        return self.address

    async def close(self) -> None:
        """Stop serving; open pages are ended."""
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _what(self) -> str:
        parts = (["metrics at /metrics"] if self.metrics is not None else []) + (
            ["the live view at /"] if self.view is not None else []
        )
        return " and ".join(parts)

    # handlers

    async def _metrics(self, request: Any) -> Any:
        from rxyomo.observe.metrics import CONTENT_TYPE

        assert self.metrics is not None
        body = self.metrics.render()
        return self._web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})

    async def _index(self, request: Any) -> Any:
        return self._file("index.html")

    async def _static(self, request: Any) -> Any:
        return self._file(request.match_info["name"])

    def _file(self, name: str) -> Any:
        path = STATIC / name
        # Only the files shipped beside the page, never a path out of the folder.
        if path.parent != STATIC or path.suffix not in _STATIC_TYPES or not path.is_file():
            raise self._web.HTTPNotFound()
        return self._web.Response(
            body=path.read_bytes(),
            content_type=_STATIC_TYPES[path.suffix],
            headers={"Cache-Control": "no-cache"},
        )

    async def _view(self, request: Any) -> Any:
        return self._web.json_response(self.view.snapshot())

    async def _events(self, request: Any) -> Any:
        response = self._web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        with contextlib.suppress(ConnectionError):
            while not self._closing.is_set():
                data = json.dumps(self.view.snapshot(), separators=(",", ":"))
                await response.write(f"data: {data}\n\n".encode())
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._closing.wait(), PUSH_INTERVAL)
        return response

    async def _preview(self, request: Any) -> Any:
        observer = self.observer
        preview = observer.preview if observer is not None else None
        image = preview.image(request.match_info["key"]) if preview is not None else None
        if image is None:
            raise self._web.HTTPNotFound()
        return self._web.Response(
            body=image, content_type="image/jpeg", headers={"Cache-Control": "max-age=3600"}
        )


async def start_servers(zipper: Zipper, *, metrics: str, dashboard: str) -> list[ObserveServer]:
    """Serve ``zipper``'s metrics on ``metrics`` and its live view on ``dashboard``
    (``HOST:PORT`` each, empty for none; one server when both name the same address)."""
    from rxyomo.observe.zipper import attach

    observer = attach(zipper)
    servers: list[ObserveServer] = []
    try:
        if metrics and metrics == dashboard:
            wanted = [(metrics, True, True)]
        else:
            wanted = [(a, a == metrics, a == dashboard) for a in (metrics, dashboard) if a]
        for address, serve_metrics, serve_view in wanted:
            server = ObserveServer(observer, metrics=serve_metrics, dashboard=serve_view)
            await server.start(*parse_address(address))
            servers.append(server)
    except BaseException:
        for server in servers:
            await server.close()
        raise
    return servers
