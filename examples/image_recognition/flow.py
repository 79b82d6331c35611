"""The ``image-recognition`` flow: classify each image with the WebAssembly function.

Run several (same name) to share the load: the zipper hands each frame to one of them.
The guest gets the ``INFER_*`` variables of this process's environment (see guest/README.md).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path

from _rxyomo_extras import needs_extra

PROGRAM = "image_recognition/flow.py"

# Without the 'demo' extra, one line naming it instead of a traceback.
with needs_extra("demo", PROGRAM, __name__):
    from _common import client_options, parser, serve, setup_logging
    from frames import IMAGE_KEY
    from pipeline import FLOW_NAME, ImageRecognition
    from recognizer import Recognizer, RecognizerError

    from rxyomo import ConnectionRejected, StreamFunction

log = logging.getLogger("image-recognition")


async def main() -> int:
    p = parser(__doc__ or "")
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="images classified at once by this instance, each on a thread of its own "
        "(0: on the event loop, as the article's function did)",
    )
    p.add_argument("--threads", type=int, default=1, help="TFLite threads per classification")
    p.add_argument("--model-dir", type=Path, help="folder mounted as /model for the guest")
    args = p.parse_args()
    setup_logging(args)
    try:
        recognizer = Recognizer(args.model_dir, threads=args.threads)
        app = ImageRecognition(recognizer, workers=args.workers)
        # A missing model or a broken guest stops the flow now, not on the first frame.
        await app.warm_up(recognizer.warm_up)
    except (RecognizerError, ValueError) as exc:
        print(f"{FLOW_NAME}: {exc}", file=sys.stderr)
        return 1
    function = StreamFunction(FLOW_NAME, observe=[IMAGE_KEY], **client_options(args))
    function.pipe(app.handler)
    try:
        at_once = max(args.workers, 1)
        await serve(function, f"{FLOW_NAME} ready (pid {os.getpid()}, {at_once} at a time)")
    except ConnectionRejected as exc:
        print(f"{FLOW_NAME}: the zipper refused this flow: {exc}", file=sys.stderr)
        return 1
    finally:
        app.close()
        recognizer.close()
    log.info("%s: classified %d images", FLOW_NAME, app.count)
    return 0


if __name__ == "__main__":
    with needs_extra("demo", PROGRAM, __name__):
        sys.exit(asyncio.run(main()))
