"""Stream pictures to the zipper under 0x10: a video's every Nth frame as a JPEG, the
images of a folder, or a camera's frames. By default, the sample video made from
scikit-image's photos. ``--payload raw`` writes the JPEG alone, its index in the frame's
metadata, for the guest served as it is (by the zipper or by ``rxyomo run``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from _rxyomo_extras import needs_extra

PROGRAM = "image_recognition/source.py"

# Without the 'demo' extra, one line naming it instead of a traceback.
with needs_extra("demo", PROGRAM, __name__):
    from _common import client_options, parser, setup_logging, stop_event
    from frames import IMAGE_KEY, ImageFrame, encode_frame, encode_jpeg, image_metadata
    from video import InputError, Picture, default_sample_video, describe, pictures

    from rxyomo import ConnectionRejected, Source

log = logging.getLogger("source")


async def main() -> int:
    p = parser(__doc__ or "")
    p.add_argument(
        "--input",
        help="a video file, a folder of images, or camera[:DEVICE] (default: the sample video)",
    )
    p.add_argument(
        "--every", type=int, help="send every Nth frame (default: 24 of a video, 1 of a folder)"
    )
    p.add_argument("--max-frames", type=int, default=0, help="stop after this many (0: all)")
    p.add_argument("--fps", type=float, default=0.0, help="frames sent per second (0: no pacing)")
    p.add_argument(
        "--realtime",
        action="store_true",
        help="send a video's frames when the video shows them (as a camera would)",
    )
    p.add_argument("--quality", type=int, default=85, help="JPEG quality of encoded frames")
    p.add_argument("--record", type=Path, help="write each frame sent as a JSON line here")
    p.add_argument(
        "--article-form",
        action="store_true",
        help="send the JPEG alone, as the article's source did (no index, no latency)",
    )
    p.add_argument(
        "--payload",
        choices=["y3", "raw"],
        default="y3",
        help="y3: an ImageFrame node (for the flow); raw: the JPEG alone, the index and "
        "send time in the metadata (for the guest served as it is)",
    )
    args = p.parse_args()
    setup_logging(args)
    try:
        spec = args.input or str(default_sample_video())
        frames = pictures(spec, args.every, quality=args.quality)
    except (InputError, ValueError) as exc:
        print(f"source: {exc}", file=sys.stderr)
        return 2
    log.info("streaming %s", describe(spec))
    out = args.record.open("w", encoding="utf-8") if args.record else None
    source = Source("image-source", **client_options(args))
    try:
        await source.connect()
        sent = await stream(source, frames, args, out)
    except ConnectionRejected as exc:
        print(f"source: the zipper refused this source: {exc}", file=sys.stderr)
        return 1
    except InputError as exc:
        print(f"source: {exc}", file=sys.stderr)
        return 2
    finally:
        await source.close()
        if out is not None:
            out.close()
    print(f"source: sent {sent} frames", flush=True)
    return 0


async def stream(
    source: Source, frames: Iterator[Picture], args: argparse.Namespace, out: TextIO | None
) -> int:
    """Send the pictures, paced by ``--fps`` (or, with ``--realtime``, by the video's own
    clock), until the input ends, ``--max-frames`` or SIGINT/SIGTERM; returns how many
    were sent."""
    stop = stop_event()
    interval = 1.0 / args.fps if args.fps > 0 else 0.0
    started = time.monotonic()
    index = 0
    while not stop.is_set() and (not args.max_frames or index < args.max_frames):
        # Decoding and JPEG encoding run off the loop, which keeps the connection moving.
        picture: Picture | None = await asyncio.to_thread(next, frames, None)
        if picture is None:
            break
        if args.realtime and picture.time is not None:
            if index == 0:
                started = time.monotonic() - picture.time
            await asyncio.sleep(max(0.0, started + picture.time - time.monotonic()))
        elif interval:
            await asyncio.sleep(max(0.0, started + index * interval - time.monotonic()))
        sent_ns = time.time_ns()
        metadata = None
        if args.payload == "raw":
            payload = picture.jpeg
            metadata = image_metadata(index, sent_ns, picture.position)
        elif args.article_form:
            payload = encode_jpeg(picture.jpeg)
        else:
            payload = encode_frame(ImageFrame(index, sent_ns, picture.jpeg, picture.position))
        await source.write(IMAGE_KEY, payload, metadata=metadata)
        log.info(
            "✅ frame %d (input %d): %s bytes, sha256 %s",
            index,
            picture.position,
            f"{len(picture.jpeg):,}",
            picture.digest,
        )
        if out is not None:
            row = {
                "index": index,
                "position": picture.position,
                "size": len(picture.jpeg),
                "sha256": picture.digest,
                "sent_ns": sent_ns,
            }
            out.write(json.dumps(row) + "\n")
            out.flush()
        index += 1
    return index


if __name__ == "__main__":
    with needs_extra("demo", PROGRAM, __name__):
        sys.exit(asyncio.run(main()))
