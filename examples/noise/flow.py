"""The ``Noise`` flow: YoMo's Rx pipeline on each reading."""

from __future__ import annotations

import logging

from _common import parser, tls
from app import NOISE_KEY, Flow

from rxyomo import StreamFunction, run

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    args = parser(__doc__ or "").parse_args()
    flow = Flow()
    function = StreamFunction(
        "Noise", observe=[NOISE_KEY], zipper=args.zipper, transport=args.transport, tls=tls(args)
    )
    function.pipe(flow.handler)
    run(function)
