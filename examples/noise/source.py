"""Emit a noise reading every 100 ms (``--count`` bounds the run)."""

from __future__ import annotations

import asyncio
import logging
import random
import time

from _common import parser, tls
from app import NOISE_KEY, NoiseData, encode_reading

from rxyomo import Source


async def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--count", type=int, default=0, help="stop after this many (0: never)")
    p.add_argument("--interval", type=float, default=0.1, help="seconds between readings")
    args = p.parse_args()
    async with Source(
        "noise-source", zipper=args.zipper, transport=args.transport, tls=tls(args)
    ) as source:
        sent = 0
        while not args.count or sent < args.count:
            reading = NoiseData(random.uniform(0, 200), int(time.time() * 1000), "sensor-1")
            await source.write(NOISE_KEY, encode_reading(reading))
            sent += 1
            logging.info("✅ emitted %.1f", reading.noise)
            await asyncio.sleep(args.interval)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    asyncio.run(main())
