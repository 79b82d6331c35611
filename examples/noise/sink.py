"""The ``MockDB`` sink: store the latest value of every 100 ms."""

from __future__ import annotations

import logging

from _common import parser, tls
from app import PEEK_KEY, MockDB

from rxyomo import Sink, run

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    args = parser(__doc__ or "").parse_args()
    db = MockDB()
    sink = Sink(
        "MockDB", observe=[PEEK_KEY], zipper=args.zipper, transport=args.transport, tls=tls(args)
    )
    sink.pipe(db.handler)
    run(sink)
