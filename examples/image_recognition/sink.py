"""The ``label-printer`` sink: print each result in the order the frames were sent.

``--record FILE`` also writes one JSON object a line per result (the demo reads it).
``--payload raw`` reads the sentence alone, with the frame's index in its metadata: the
answers of the guest served as it is (by the zipper or by ``rxyomo run``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from pathlib import Path
from typing import TextIO

from _rxyomo_extras import needs_extra

PROGRAM = "image_recognition/sink.py"

# Without the 'demo' extra, one line naming it instead of a traceback.
with needs_extra("demo", PROGRAM, __name__):
    from _common import client_options, parser, serve, setup_logging
    from frames import LABEL_KEY, raw_recognition
    from pipeline import SINK_NAME, LabelPrinter, Printed
    from summary import record, summarize

    from rxyomo import ConnectionRejected, Context, Sink


async def main() -> int:
    p = parser(__doc__ or "")
    p.add_argument("--record", type=Path, help="write each result as a JSON line to this file")
    p.add_argument(
        "--max-wait",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="how long later frames wait for a missing one before it is given up",
    )
    p.add_argument(
        "--payload",
        choices=["y3", "raw"],
        default="y3",
        help="y3: the flow's Recognition nodes; raw: the guest's sentence alone",
    )
    args = p.parse_args()
    setup_logging(args)
    records: list[dict[str, object]] = []
    out: TextIO | None = args.record.open("w", encoding="utf-8") if args.record else None

    def keep(item: Printed) -> None:
        row = record(item)
        records.append(row)
        if out is not None:
            out.write(json.dumps(row) + "\n")
            out.flush()  # the demo reads the file while it grows

    printer = LabelPrinter(
        show=lambda line: print(line, flush=True), on_result=keep, max_wait=args.max_wait
    )
    if args.payload == "raw":

        def answered(ctx: Context) -> None:
            result = raw_recognition(ctx.data, ctx.metadata)
            if result is None:  # a warm-up frame's answer
                print(f"{SINK_NAME}: warm-up answered", flush=True)
            else:
                printer.receive(result)

        sink = Sink(SINK_NAME, observe=[LABEL_KEY], handler=answered, **client_options(args))
    else:
        sink = Sink(SINK_NAME, observe=[LABEL_KEY], **client_options(args))
        sink.pipe(printer.handler)

    async def tick() -> None:
        while True:
            await asyncio.sleep(0.25)
            printer.tick()

    ticker = asyncio.get_running_loop().create_task(tick())
    try:
        await serve(sink, f"{SINK_NAME} ready")
    except ConnectionRejected as exc:
        print(f"{SINK_NAME}: the zipper refused this sink: {exc}", file=sys.stderr)
        return 1
    finally:
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker
        printer.flush()
        if out is not None:
            out.close()
    if printer.reorder.skipped:
        print(f"{SINK_NAME}: frames never received: {printer.reorder.skipped}", file=sys.stderr)
    for line in summarize(records).lines():
        print(f"{SINK_NAME}: {line}", flush=True)
    return 0


if __name__ == "__main__":
    with needs_extra("demo", PROGRAM, __name__):
        sys.exit(asyncio.run(main()))
