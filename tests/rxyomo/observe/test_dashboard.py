"""The live view in a real browser: Debian's Chromium driven by Playwright (the system's
browser, headless; nothing is downloaded) on a live zipper over QUIC with traffic. The
numbers on the page move while frames flow and then match /metrics; the latest frames'
labels show; a screenshot is kept in the test's folder."""

from __future__ import annotations

import asyncio
import io
import os
import shutil
import urllib.request
from collections.abc import AsyncIterator, Collection
from pathlib import Path
from typing import Any

import pytest

from rxyomo import Context, Sink, Source, StreamFunction, Zipper, parse_workflow
from rxyomo.observe import attach
from rxyomo.transport.quic import QuicTransport
from tests.extras import needs
from tests.waiting import eventually

pytestmark = [needs("playwright", "prometheus_client", "aiohttp", "PIL"), pytest.mark.network]

BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def chromium() -> str:
    """The system's Chromium; skips the test without one (fails it on CI)."""
    found = os.environ.get("RXYOMO_CHROMIUM") or next(
        filter(None, map(shutil.which, ("chromium", "chromium-browser"))), None
    )
    if found is None:
        message = "no chromium on PATH (scripts/test.sh installs Debian's)"
        if os.environ.get("CI", "").strip().lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return found


class LabelPreview:
    """Shows the latest frames of 0x10 with their payload as the label and a thumbnail."""

    tags: Collection[int] = (0x10,)

    def __init__(self) -> None:
        self.latest: list[tuple[int, bytes]] = []
        self._count = 0

    def frame(self, tag: int, payload: bytes, metadata: bytes, now: float) -> None:
        self.latest = [(self._count, payload), *self.latest[:3]]
        self._count += 1

    def items(self) -> list[dict[str, Any]]:
        return [
            {
                "key": str(n),
                "label": payload.decode(),
                "detail": f"#{n}",
                "latency_ms": 1.5,
                "image": True,
            }
            for n, payload in self.latest
        ]

    def image(self, key: str) -> bytes | None:
        from PIL import Image

        out = io.BytesIO()
        Image.new("RGB", (160, 120), (40, 120 + int(key) % 100, 200)).save(out, "JPEG")
        return out.getvalue()


def metric_sum(url: str, name: str, **labels: str) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(url, timeout=10) as answer:
        text = answer.read().decode()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    )


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    executable = chromium()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=executable, headless=True, args=BROWSER_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


async def test_the_live_view_moves_with_the_traffic_and_matches_the_metrics(
    browser: Any, quic: QuicTransport, started: list[Any], tmp_path: Path
) -> None:
    workflow = parse_workflow(
        "name: europe\nhost: 127.0.0.1\nport: 0\nmetrics: 127.0.0.1:0\n"
        "dashboard: 127.0.0.1:0\nfunctions:\n  - name: upper\n  - name: log\n"
    )
    zipper = Zipper(workflow, quic)
    attach(zipper).set_preview(LabelPreview())
    await zipper.start()
    started.append(zipper)
    (server,) = zipper.observe_servers
    address = f"127.0.0.1:{zipper.address[1]}"
    answers: list[bytes] = []

    def upper(ctx: Context) -> None:
        ctx.write(0x11, ctx.data.upper())

    for client in (
        StreamFunction("upper", observe=[0x10], handler=upper, zipper=address, transport=quic),
        Sink("log", observe=[0x11], handler=answers.append, zipper=address, transport=quic),
    ):
        await client.connect()
        started.append(client)
    source = Source("camera", zipper=address, transport=quic)
    await source.connect()
    started.append(source)

    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    await page.goto(server.url)
    await page.wait_for_selector("#status.live")
    frames_in = page.locator('[data-total="frames_in"]')
    assert await frames_in.text_content() == "0"

    sent = 0

    async def write_for(seconds: float) -> None:
        nonlocal sent
        loop = asyncio.get_running_loop()
        until = loop.time() + seconds
        while loop.time() < until:
            await source.write(0x10, f"frame {sent}".encode())
            sent += 1
            await asyncio.sleep(0.01)  # scenario: a source's pace

    writer = asyncio.ensure_future(write_for(3.0))
    readings = []
    for _ in range(3):
        await asyncio.sleep(0.8)  # scenario: readings of the page while traffic flows
        readings.append(int((await frames_in.text_content() or "0").replace(",", "")))
    rate_while_flowing = float(
        await page.locator('[data-total="frames_in_per_s"]').text_content() or "0"
    )
    await writer
    # The numbers moved while frames flowed.
    assert readings[0] < readings[1] < readings[2], readings
    assert rate_while_flowing > 5
    await eventually(lambda: len(answers) == sent, "every answer at the sink", timeout=20)

    metrics_url = server.url + "metrics"
    total_in = 2 * sent  # the source's frames and the function's answers

    async def page_shows_the_metrics() -> bool:
        shown = int((await frames_in.text_content() or "0").replace(",", ""))
        scraped = await asyncio.to_thread(
            metric_sum, metrics_url, "rxyomo_zipper_frames_received_total"
        )
        return shown == scraped == total_in

    await eventually(
        page_shows_the_metrics, f"the page showing the metrics' {total_in} frames in", timeout=10
    )
    row = page.locator('#traffic tr[data-key="out|function|upper|0x10"] [data-field="frames"]')
    scraped_row = await asyncio.to_thread(
        metric_sum, metrics_url, "rxyomo_zipper_frames_sent_total", client="upper", tag="0x10"
    )
    assert int((await row.text_content() or "").replace(",", "")) == scraped_row == sent
    connections = await page.locator("#connections tbody tr").count()
    assert connections == 3

    # The latest frames show with their labels, newest first.
    labels = await page.locator("#gallery .thumb .label").all_text_contents()
    assert labels == [f"frame {n}" for n in range(sent - 1, sent - 5, -1)]
    await page.locator("#gallery .thumb img").first.wait_for()
    assert await page.locator("#gallery .thumb img").first.evaluate("i => i.naturalWidth") == 160

    screenshot = tmp_path / "dashboard.png"
    await page.screenshot(path=str(screenshot), full_page=True)
    text = (await page.inner_text("body")).lower()  # headings are shown in capitals
    for heading in ("Frames in", "Latest frames", "Traffic by client and tag", "Connections"):
        assert heading.lower() in text
    from PIL import Image

    with Image.open(screenshot) as image:
        assert image.width == 1280
        assert image.height >= 900
        assert len(image.convert("RGB").getcolors(1 << 20) or []) > 50  # not a blank page
