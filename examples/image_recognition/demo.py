"""The article's scenario end to end: a zipper, the image-recognition flow (several
instances sharing the load), the label-printer sink and a video source, each a process of
its own, over QUIC on loopback. Shows each label as it comes back, then a summary, then
stops everything in order. Exits non-zero, naming the part and why, when a part fails.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
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
    from pipeline import FLOW_NAME, SINK_NAME
    from summary import Summary, summarize
    from video import InputError, camera_device, default_sample_video, describe

HERE = Path(__file__).resolve().parent
WORKFLOW = HERE / "zipper" / "workflow.yaml"
DEFAULT_PORT = 9000
_FRAME_LINE = r"^frame "


def build_parser() -> argparse.ArgumentParser:
    """The demo's command line."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument(
        "--instances",
        type=int,
        default=os.cpu_count() or 1,
        help="flow instances sharing the load (default: the number of CPUs)",
    )
    p.add_argument("--workers", type=int, default=1, help="images at a time per instance")
    p.add_argument("--threads", type=int, default=1, help="TFLite threads per image")
    p.add_argument(
        "--input",
        help="a video file, a folder of images, or camera[:DEVICE] "
        "(default: a video made from scikit-image's photos)",
    )
    p.add_argument("--every", type=int, help="every Nth frame (default 24 of a video)")
    p.add_argument("--max-frames", type=int, default=0, help="stop after this many (0: all)")
    p.add_argument("--fps", type=float, default=0.0, help="frames sent per second (0: no pacing)")
    p.add_argument(
        "--model-dir",
        type=Path,
        help="folder mounted as /model for the guest, with INFER_* variables set for "
        "another model (see guest/README.md)",
    )
    p.add_argument(
        "--port", type=int, help=f"zipper port (default {DEFAULT_PORT}, else a free one)"
    )
    p.add_argument(
        "--max-datagram-size",
        type=int,
        default=LOOPBACK_DATAGRAM_SIZE,
        metavar="BYTES",
        help=f"largest QUIC packet (default {LOOPBACK_DATAGRAM_SIZE}: loopback allows it)",
    )
    p.add_argument("--timeout", type=float, default=300.0, help="give up after this many seconds")
    p.add_argument("--verbose", action="store_true", help="show every part's output")
    p.add_argument("--json", action="store_true", help="end with the summary as one JSON line")
    return p


def pick_port(wanted: int | None) -> tuple[int, str | None]:
    """The zipper's UDP port and, when it is not the usual one, why."""
    if wanted is not None:
        return wanted, None
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind(("127.0.0.1", DEFAULT_PORT))
            return DEFAULT_PORT, None
        except OSError:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
    return port, f"port {DEFAULT_PORT} is taken: the zipper listens on {port} instead"


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
        self.supervisor = Supervisor()
        self.sink_record = workdir / "results.jsonl"
        self.source_record = workdir / "sent.jsonl"
        self.python = sys.executable
        self.common: list[str] = []

    def show(self, part: str, line: str) -> None:
        """Forward a part's line: the sink's results always, everything when verbose."""
        if self.args.verbose:
            print(f"{part:>9} | {line}", flush=True)
        elif part == "sink" and line.startswith("frame "):
            print(line, flush=True)

    async def run(self) -> Summary:
        """Start the parts, stream, wait for every result, stop; the summary."""
        args = self.args
        spec = args.input or str(await asyncio.to_thread(default_sample_video))
        check_input(spec)
        port, note = pick_port(args.port)
        if note:
            say(note)
        address = f"127.0.0.1:{port}"
        self.common = ["--zipper", address, "--max-datagram-size", str(args.max_datagram_size)]
        say(
            f"zipper on {address} over QUIC (packets up to {args.max_datagram_size} bytes); "
            f"{args.instances} x {FLOW_NAME}; sink {SINK_NAME}; source: {describe(spec)}"
        )
        zipper = await self.supervisor.start(
            "zipper", self._zipper_argv(port), ready=r"listening on", show=self.show
        )
        await self.supervisor.wait_ready([zipper], 30)
        parts = [await self._start_flow(n) for n in range(1, args.instances + 1)]
        parts.append(
            await self.supervisor.start(
                "sink",
                [
                    self.python,
                    str(HERE / "sink.py"),
                    *self.common,
                    "--record",
                    str(self.sink_record),
                ],
                ready=rf"{SINK_NAME} ready",
                show=self.show,
            )
        )
        await self.supervisor.wait_ready(parts, 120)
        say(f"all parts ready: streaming {spec}")
        source = await self.supervisor.start("source", self._source_argv(spec), show=self.show)
        await self.supervisor.wait_exit(source, args.timeout)
        if source.returncode != 0:
            raise source.failure(f"exited with status {source.returncode}")
        sent = _count_lines(self.source_record)
        say(f"source sent {sent} frames; waiting for their results")
        records = await self._wait_results(sent, timeout=min(args.timeout, 60 + sent))
        return summarize(records)

    def _zipper_argv(self, port: int) -> list[str]:
        # The console script next to this interpreter, else the module.
        script = Path(self.python).parent / "rxyomo"
        command = [str(script)] if script.exists() else [self.python, "-m", "rxyomo"]
        return [
            *command,
            "serve",
            "-c",
            str(WORKFLOW),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--max-datagram-size",
            str(self.args.max_datagram_size),
            "--stats-interval",
            "0",
        ]

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
        except PartFailed as failure:
            print(f"demo: FAILED: {failure.report()}", file=sys.stderr, flush=True)
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
            say("summary")
            for line in summary.lines():
                print(f"  {line}", flush=True)
            if args.json:
                print(summary.as_json(), flush=True)
    return code


if __name__ == "__main__":
    with needs_extra("demo", PROGRAM, __name__):
        sys.exit(asyncio.run(main()))
