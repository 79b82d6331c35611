"""The article's scenario end to end: a zipper, the image-recognition function, the
label-printer sink and a video source, each a process of its own, over QUIC on loopback.
Shows each label as it comes back with a progress line, then a summary, then stops
everything in order; the zipper's live view shows the latest frames meanwhile. Exits
non-zero, naming the part and why, when a part fails.

The function takes one of three forms (``--form``, see forms.py): served by the zipper
itself (the default, the fastest: two hops), served by ``rxyomo run`` in a process of its
own, or the article's Python flow, one process per instance.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from _rxyomo_extras import needs_extra

PROGRAM = "image_recognition/demo.py"

# Without the 'demo' extra, one line naming it instead of a traceback.
with needs_extra("demo", PROGRAM, __name__):
    from _common import LOOPBACK_DATAGRAM_SIZE
    from _processes import Part, PartFailed, Supervisor
    from forms import FORMS, RAW_FORMS, run_arguments, served_workflow
    from frames import IMAGE_KEY, WARM_UP
    from pipeline import FLOW_NAME, SINK_NAME
    from progress import Progress
    from recognizer import RecognizerError, default_model_dir, infer_settings, warm_up_image
    from summary import Summary, summarize
    from video import (
        InputError,
        Picture,
        camera_device,
        default_sample_video,
        describe,
        pictures,
    )

    from rxyomo import Source
    from rxyomo.client.stats import fetch_stats
    from rxyomo.transport.base import TransportOptions
    from rxyomo.transport.certs import dev_certificates, dev_client_tls
    from rxyomo.transport.quic import QuicTransport

HERE = Path(__file__).resolve().parent
WORKFLOW = HERE / "zipper" / "workflow.yaml"
DEFAULT_PORT = 9000
DEFAULT_DASHBOARD_PORT = 8080
#: Every how many frames of the default clip one is sent (24 frames a second).
DEFAULT_EVERY = 6
_FRAME_LINE = r"^frame "
#: TFLite threads of the guest's interpreters where it is served as it is (--threads).
TFLITE_THREADS_ENV = "WASM_HOST_TFLITE_THREADS"
#: Lines of a function's host that say a frame failed, or could not be run at all.
_FAULT = ("a frame failed", "cannot make an instance", "quarantined for")


def _port(text: str) -> int:
    """A port number the parts can be told: 1 to 65535."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 1 to 65535, got {port}")
    return port


def build_parser() -> argparse.ArgumentParser:
    """The demo's command line."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument(
        "--form",
        choices=FORMS,
        default=FORMS[0],
        help="zipper: the zipper serves the guest (the default, the fastest); run: rxyomo "
        "run serves it; flow: the article's Python flow processes",
    )
    p.add_argument(
        "--instances",
        type=int,
        default=os.cpu_count() or 1,
        help="instances of the function sharing the load (default: the number of CPUs)",
    )
    p.add_argument(
        "--workers", type=int, default=1, help="images at a time per flow instance (flow form)"
    )
    p.add_argument("--threads", type=int, default=1, help="TFLite threads per image")
    p.add_argument(
        "--input",
        help="a video file, a folder of images, or camera[:DEVICE] "
        "(default: a video made from scikit-image's photos)",
    )
    p.add_argument(
        "--every",
        type=int,
        help=f"every Nth frame (default {DEFAULT_EVERY} of the default clip, 24 of a video)",
    )
    p.add_argument(
        "--realtime",
        action=argparse.BooleanOptionalAction,
        help="send a video's frames as it shows them (default: for the default clip)",
    )
    p.add_argument("--max-frames", type=int, default=0, help="stop after this many (0: all)")
    p.add_argument("--fps", type=float, default=0.0, help="frames sent per second (0: no pacing)")
    p.add_argument(
        "--model-dir",
        type=Path,
        help="folder mounted as /model for the guest, with INFER_* variables set for "
        "another model (see guest/README.md)",
    )
    p.add_argument(
        "--port", type=_port, help=f"zipper port (default {DEFAULT_PORT}, else a free one)"
    )
    p.add_argument(
        "--max-datagram-size",
        type=int,
        default=LOOPBACK_DATAGRAM_SIZE,
        metavar="BYTES",
        help=f"largest QUIC packet (default {LOOPBACK_DATAGRAM_SIZE}: loopback allows it)",
    )
    p.add_argument(
        "--dashboard-port",
        type=_port,
        help=f"the live view's port (default {DEFAULT_DASHBOARD_PORT}, else a free one)",
    )
    p.add_argument("--no-dashboard", action="store_true", help="serve no live view")
    p.add_argument(
        "--hold", action="store_true", help="keep everything up after the summary, until Ctrl-C"
    )
    p.add_argument("--timeout", type=float, default=300.0, help="give up after this many seconds")
    p.add_argument("--verbose", action="store_true", help="show every part's output")
    p.add_argument("--json", action="store_true", help="end with the summary as one JSON line")
    return p


def pick_port(
    wanted: int | None, default: int = DEFAULT_PORT, kind: int = socket.SOCK_DGRAM
) -> tuple[int, str | None]:
    """The zipper's UDP port (or the live view's TCP port) and, when it is not the usual
    one, why."""
    if wanted is not None:
        return wanted, None
    with socket.socket(socket.AF_INET, kind) as probe:
        try:
            probe.bind(("127.0.0.1", default))
            return default, None
        except OSError:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
    return port, f"port {default} is taken: using {port} instead"


def check_input(spec: str) -> None:
    """Fail before starting anything when the input plainly does not exist."""
    if camera_device(spec) is None and not Path(spec).exists():
        raise InputError(f"no such video, folder or camera: {spec}")


def say(message: str) -> None:
    """A line of the demo's own."""
    print(f"demo: {message}", flush=True)


class Demo:
    """One run: the parts, their records, the summary."""

    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        # The zipper imports the live view's preview (preview.py) from this folder.
        paths = [str(HERE), *filter(None, [os.environ.get("PYTHONPATH")])]
        self.supervisor = Supervisor({**os.environ, "PYTHONPATH": os.pathsep.join(paths)})
        #: What came back before a part failed (shown with the failure).
        self.partial: Summary | None = None
        self.dashboard: str | None = None
        self.sink_record = workdir / "results.jsonl"
        self.source_record = workdir / "sent.jsonl"
        self.python = sys.executable
        self.common: list[str] = []
        self.address = ""

    def show(self, part: str, line: str) -> None:
        """Forward a part's line: the sink's results always, everything when verbose."""
        if self.args.verbose:
            print(f"{part:>9} | {line}", flush=True)
        elif part == "sink" and line.startswith("frame "):
            print(line, flush=True)
        elif part == "source" and " skipping " in line:
            say(f"warning: {line.partition(' skipping ')[2]}")

    async def run(self) -> Summary:
        """Start the parts, stream, wait for every result, stop; the summary."""
        args = self.args
        spec = args.input or str(await asyncio.to_thread(default_sample_video))
        check_input(spec)
        if args.input is None:  # the default clip: streamed as it plays, every 6th frame
            args.every = DEFAULT_EVERY if args.every is None else args.every
            args.realtime = True if args.realtime is None else args.realtime
        port, note = pick_port(args.port)
        if note:
            say(f"zipper: {note}")
        if not args.no_dashboard:
            web, note = pick_port(args.dashboard_port, DEFAULT_DASHBOARD_PORT, socket.SOCK_STREAM)
            if note:
                say(f"live view: {note}")
            self.dashboard = f"127.0.0.1:{web}"
        address = f"127.0.0.1:{port}"
        self.address = address
        self.common = ["--zipper", address, "--max-datagram-size", str(args.max_datagram_size)]
        if args.form in RAW_FORMS:
            self.common += ["--payload", "raw"]
        say(
            f"zipper on {address} over QUIC (packets up to {args.max_datagram_size} bytes); "
            f"{self._describe_form()}; sink {SINK_NAME}; source: {describe(spec)}"
        )
        workflow = WORKFLOW
        if args.form == "zipper":
            workflow = served_workflow(
                self.workdir / "served.yaml",
                model_dir=self.model_dir(),
                instances=args.instances,
                env=infer_settings(),
            )
        zipper = await self.supervisor.start(
            "zipper", self._zipper_argv(port, workflow), ready=r"listening on", show=self.show
        )
        await self.supervisor.wait_ready([zipper], 60)
        host = zipper
        parts = []
        if args.form == "zipper":
            refused = [line for line in zipper.tail if f"refused {FLOW_NAME} " in line]
            if refused:
                raise zipper.failure(f"it refused {FLOW_NAME}: {refused[-1].split(': ', 2)[-1]}")
        elif args.form == "run":
            host = await self._start_hosted(address)
            parts.append(host)
        else:
            parts += [await self._start_flow(n) for n in range(1, args.instances + 1)]
        sink = await self.supervisor.start(
            "sink",
            [self.python, str(HERE / "sink.py"), *self.common, "--record", str(self.sink_record)],
            ready=rf"{SINK_NAME} ready",
            show=self.show,
        )
        parts.append(sink)
        await self.supervisor.wait_ready(parts, 120)
        if args.form in RAW_FORMS:
            await self._warm_up(host, sink, spec)
        if self.dashboard:
            say(f"live view at http://{self.dashboard}/ (Prometheus metrics at /metrics)")
        say(f"all parts ready: streaming {spec}")
        with Progress() as progress:
            ticker = asyncio.ensure_future(self._show_progress(progress))
            try:
                source = await self.supervisor.start(
                    "source", self._source_argv(spec), show=self.show
                )
                await self.supervisor.wait_exit(source, args.timeout)
                sent = _count_lines(self.source_record)
                if source.returncode != 0:
                    # What was sent is still waited for and shown, beside the failure.
                    with contextlib.suppress(PartFailed):
                        self.partial = summarize(await self._wait_results(sent, timeout=30))
                    raise source.failure(f"exited with status {source.returncode}")
                say(f"source sent {sent} frames; waiting for their results")
                records = await self._wait_results(sent, timeout=min(args.timeout, 60 + sent))
            finally:
                ticker.cancel()
        if args.form == "flow":
            return summarize(records)
        inference = await self._call_p50() if args.form == "zipper" else None
        kind = "workers in the zipper" if args.form == "zipper" else "workers of rxyomo run"
        return summarize(
            records, inference_p50_ms=inference, workers=args.instances, worker_kind=kind
        )

    async def _show_progress(self, progress: Progress) -> None:
        while True:
            records = _read_records(self.sink_record)
            progress.update(_count_lines(self.source_record), records)
            await asyncio.sleep(0.25)

    def _describe_form(self) -> str:
        n = self.args.instances
        instances = f"{n} instance{'s' if n != 1 else ''}"
        if self.args.form == "zipper":
            return f"{FLOW_NAME} served by the zipper itself ({instances}, the fastest form)"
        if self.args.form == "run":
            return f"{FLOW_NAME} served by rxyomo run ({instances})"
        return f"{n} x {FLOW_NAME} (Python flows)"

    def model_dir(self) -> Path:
        """The folder mounted as /model for the guest."""
        if self.args.model_dir is not None:
            return Path(self.args.model_dir)
        try:
            return default_model_dir()
        except RecognizerError as exc:
            raise PartFailed(FLOW_NAME, str(exc)) from None

    def _rxyomo(self) -> list[str]:
        # The console script next to this interpreter, else the module.
        script = Path(self.python).parent / "rxyomo"
        return [str(script)] if script.exists() else [self.python, "-m", "rxyomo"]

    async def _start_hosted(self, address: str) -> Part:
        argv = run_arguments(
            address,
            model_dir=self.model_dir(),
            instances=self.args.instances,
            env=infer_settings(),
            ca=dev_certificates().ca_certfile,
        )
        return await self.supervisor.start(
            "rxyomo run", [*self._rxyomo(), *argv], ready=r"rxyomo run: serving", show=self.show
        )

    async def _warm_up(self, host: Part, sink: Part, spec: str) -> None:
        """One frame for each instance, so that each has made its guest instance and read
        the model before the first real frame; a guest that fails them fails here, with
        what its host said. The input's first picture, so that the host's resizing is
        ready for its size too (a camera is left alone: a small image instead)."""
        image = warm_up_image()
        if camera_device(spec) is None:
            first = await asyncio.to_thread(_first_picture, spec, self.args.every)
            image = first.jpeg if first is not None else image
        transport = QuicTransport(TransportOptions(tls=dev_client_tls()))
        source = Source("demo-warm-up", zipper=self.address, transport=transport)
        await source.connect()
        try:
            for _ in range(self.args.instances):
                await source.write(IMAGE_KEY, image, metadata={WARM_UP: "1"})
        finally:
            await source.close()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        answered = f"{SINK_NAME}: warm-up answered"
        while sum(line == answered for line in sink.tail) < self.args.instances:
            faults = [line for line in host.tail if any(f in line for f in _FAULT)]
            if faults:
                why = next((f for f in _FAULT if f in faults[0]), "")
                cause = faults[0].partition(why)[2].strip(" ()")[:200]
                raise host.failure(f"{FLOW_NAME} failed its warm-up frames: {cause}")
            self.supervisor.check()
            if loop.time() > deadline:
                raise host.failure(f"{FLOW_NAME} did not answer its warm-up frames in 60 s")
            await asyncio.sleep(0.05)

    async def _call_p50(self) -> float | None:
        """The served function's call-time p50, from the zipper's stats."""
        transport = QuicTransport(TransportOptions(tls=dev_client_tls()))
        try:
            stats = await fetch_stats(self.address, transport)
            return float(stats["functions"][FLOW_NAME]["call_ms"]["p50"])
        except Exception:  # the figure is a nicety: the summary goes without it
            return None

    def _zipper_argv(self, port: int, workflow: Path) -> list[str]:
        return [
            *self._rxyomo(),
            "serve",
            "-c",
            str(workflow),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--max-datagram-size",
            str(self.args.max_datagram_size),
            "--stats-interval",
            "0",
            *self._dashboard_argv(),
            "--no-watch",
        ]

    def _dashboard_argv(self) -> list[str]:
        if not self.dashboard:
            return []
        # One address for the page and /metrics; the preview shows the latest frames.
        preview = ["--dashboard-preview", "preview:ImagePreview"]
        return ["--dashboard", self.dashboard, "--metrics", self.dashboard, *preview]

    async def _start_flow(self, number: int) -> Part:
        args = self.args
        argv = [
            self.python,
            str(HERE / "flow.py"),
            *self.common,
            "--workers",
            str(args.workers),
            "--threads",
            str(args.threads),
        ]
        if args.model_dir is not None:
            argv += ["--model-dir", str(args.model_dir)]
        if not args.verbose:
            argv.append("--quiet")
        return await self.supervisor.start(
            f"flow #{number}", argv, ready=rf"{FLOW_NAME} ready", show=self.show
        )

    def _source_argv(self, spec: str) -> list[str]:
        args = self.args
        argv = [
            self.python,
            str(HERE / "source.py"),
            *self.common,
            "--input",
            spec,
            "--record",
            str(self.source_record),
            "--max-frames",
            str(args.max_frames),
            "--fps",
            str(args.fps),
        ]
        if args.every is not None:
            argv += ["--every", str(args.every)]
        if args.realtime:
            argv.append("--realtime")
        return argv

    async def _wait_results(self, sent: int, timeout: float) -> list[dict[str, Any]]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            records = _read_records(self.sink_record)
            if len(records) >= sent:
                return records
            self.supervisor.check()
            if loop.time() > deadline:
                missing = sent - len(records)
                raise PartFailed(
                    "pipeline",
                    f"{missing} of {sent} frames did not come back within {timeout:g} s "
                    "(see the flows' and the zipper's output with --verbose)",
                )
            await asyncio.sleep(0.1)


async def _hold(demo: Demo) -> None:
    """Keep every part (and the live view) up until SIGINT or SIGTERM."""
    where = f" at http://{demo.dashboard}/" if demo.dashboard else ""
    say(f"holding: the parts and the live view{where} stay up; Ctrl-C to stop")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    waiting = asyncio.ensure_future(stop.wait())
    while not waiting.done():
        demo.supervisor.check()  # a part that dies while held is still reported
        await asyncio.wait({waiting}, timeout=0.5)


def _first_picture(spec: str, every: int | None) -> Picture | None:
    """The input's first readable picture. The files it skips are the source's to report,
    when it sends them: they are not reported twice."""
    video_log = logging.getLogger("video")
    level = video_log.level
    video_log.setLevel(logging.ERROR)
    try:
        return next(pictures(spec, every), None)
    finally:
        video_log.setLevel(level)


def _count_lines(path: Path) -> int:
    try:
        with path.open(encoding="utf-8") as lines:
            return sum(1 for line in lines if line.strip())
    except FileNotFoundError:
        return 0


def _read_records(path: Path) -> list[dict[str, Any]]:
    """The sink's records so far (a line still being written is left for later)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in text.splitlines(keepends=True) if line.endswith("\n")]


async def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.instances < 1:
        say("--instances must be at least 1")
        return 2
    # The guest served as it is runs its TFLite interpreters on --threads threads each, as
    # a flow's classifier does.
    os.environ.setdefault(TFLITE_THREADS_ENV, str(args.threads))
    with tempfile.TemporaryDirectory(prefix="rxyomo-demo-") as workdir:
        demo = Demo(args, Path(workdir))
        task = asyncio.ensure_future(demo.run())
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, task.cancel)
        code = 0
        summary: Summary | None = None
        try:
            summary = await task
            if args.hold:
                _print_summary(summary, args.json)
                summary = None  # shown already
                await _hold(demo)
        except PartFailed as failure:
            print(f"demo: FAILED: {failure.report()}", file=sys.stderr, flush=True)
            summary = demo.partial
            code = 1
        except InputError as exc:
            print(f"demo: FAILED: input: {exc}", file=sys.stderr, flush=True)
            code = 2
        except asyncio.CancelledError:
            say("interrupted")
            code = 130
        finally:
            say("stopping every part")
            for complaint in await demo.supervisor.stop_all():
                print(f"demo: {complaint}", file=sys.stderr, flush=True)
        if code == 130 and (records := _read_records(demo.sink_record)):
            summary = summarize(records)  # what came back before the interruption
        if summary is not None:
            _print_summary(summary, args.json)
    return code


def _print_summary(summary: Summary, as_json: bool) -> None:
    say("summary")
    for line in summary.lines():
        print(f"  {line}", flush=True)
    if as_json:
        print(summary.as_json(), flush=True)


if __name__ == "__main__":
    with needs_extra("demo", PROGRAM, __name__):
        sys.exit(asyncio.run(main()))
