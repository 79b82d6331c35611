"""Pictures in: the sample video, a video file, a folder of images or a camera, as JPEGs.

The sample videos are made at run time from photos that scikit-image ships (no download).
The demo's default, :func:`make_tour_video`, is a real clip: a slow pan and zoom over each
photo in turn, 24 frames a second, of which the demo sends every few, as the article sent
every 24th. :func:`make_sample_video` holds each photo still for ``hold`` frames, so taking
every ``hold``-th frame gives each photo once.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from PIL import Image

from _rxyomo_extras import MissingExtra

__all__ = [
    "SAMPLE_PHOTOS",
    "Picture",
    "camera_device",
    "default_sample_video",
    "describe",
    "make_sample_video",
    "make_tour_video",
    "pictures",
    "sample_photo_dir",
]

#: scikit-image's photos in the sample video, in order.
SAMPLE_PHOTOS = (
    "chelsea.png",
    "coffee.png",
    "astronaut.png",
    "rocket.jpg",
    "motorcycle_left.png",
    "camera.png",
)
_VIDEO_SIZE = (640, 480)
_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
# How PyAV names each system's camera input.
_CAMERA_FORMATS = {"linux": "v4l2", "darwin": "avfoundation", "win32": "dshow"}
_DEFAULT_CAMERAS = {"linux": "/dev/video0", "darwin": "0", "win32": "video=0"}
#: Seconds the tour spends on each photo, and how far it zooms in.
_TOUR_SECONDS = 2.0
_TOUR_ZOOM = 1.4

log = logging.getLogger("video")


class InputError(ValueError):
    """The input cannot be read: a missing file, a folder without images, no camera."""


@dataclass(frozen=True)
class Picture:
    """One picture to send."""

    #: Where it came from: a video's frame number, or a file's number in its folder.
    position: int
    jpeg: bytes
    #: Seconds into the video it was shown at (None for a folder's images).
    time: float | None = None

    @property
    def digest(self) -> str:
        """The first 12 hex digits of the JPEG's SHA-256, for the logs."""
        return hashlib.sha256(self.jpeg).hexdigest()[:12]


def sample_photo_dir() -> Path:
    """scikit-image's data folder, which holds its sample photos."""
    try:
        import skimage.data
    except ImportError as exc:
        raise InputError(str(MissingExtra("the sample video", "demo", "skimage"))) from exc
    return Path(skimage.data.__file__).parent


def make_sample_video(
    path: Path,
    photos: Sequence[str] = SAMPLE_PHOTOS,
    *,
    hold: int = 24,
    fps: int = 24,
    size: tuple[int, int] = _VIDEO_SIZE,
) -> Path:
    """Write an H.264 (else MPEG-4) video of ``photos``, each held for ``hold`` frames.

    Each photo is scaled to ``size`` as a camera frame would be; the file is written under
    a temporary name and renamed, so a reader never sees half a video.
    """
    import av

    if hold < 1 or fps < 1:
        raise ValueError(f"hold and fps must be positive, got {hold} and {fps}")
    folder = sample_photo_dir()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
    with av.open(str(partial), mode="w", format="mp4") as container:
        stream: Any = container.add_stream(codec, rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, fps)
        if codec == "libx264":
            stream.options = {"crf": "18", "preset": "veryfast"}
        else:
            stream.bit_rate = 4_000_000
        # PyAV's own annotations leave these untyped.
        to_frame: Any = av.VideoFrame.from_image
        count = 0
        for name in photos:
            with Image.open(folder / name) as photo:
                image = photo.convert("RGB").resize(size, Image.Resampling.BICUBIC)
            for _ in range(hold):
                frame = to_frame(image)
                frame.pts = count
                count += 1
                container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    partial.replace(path)
    return path


def _tour_frame(photo: Image.Image, step: float, index: int, size: tuple[int, int]) -> Any:
    """The view of ``photo`` at ``step`` (0 to 1) of its part of the tour: zooming in on
    even photos and out on odd ones, while the view drifts across the picture."""
    zoom = 1 + (_TOUR_ZOOM - 1) * (step if index % 2 == 0 else 1 - step)
    width, height = photo.size
    view_w, view_h = width / zoom, height / zoom
    # Drift from one corner's side towards the other's, a different way for each photo.
    dx, dy = ((1, 1), (-1, 1), (1, -1), (-1, -1))[index % 4]
    cx = width / 2 + dx * (step - 0.5) * (width - view_w)
    cy = height / 2 + dy * (step - 0.5) * (height - view_h)
    box = (cx - view_w / 2, cy - view_h / 2, cx + view_w / 2, cy + view_h / 2)
    return photo.resize(size, Image.Resampling.BILINEAR, box=box)


def make_tour_video(
    path: Path,
    photos: Sequence[str] = SAMPLE_PHOTOS,
    *,
    seconds: float = _TOUR_SECONDS,
    fps: int = 24,
    size: tuple[int, int] = _VIDEO_SIZE,
) -> Path:
    """Write an H.264 (else MPEG-4) clip that pans and zooms over each of ``photos`` for
    ``seconds``, at ``fps`` frames a second; written under a temporary name and renamed."""
    import av

    if seconds <= 0 or fps < 1:
        raise ValueError(f"seconds and fps must be positive, got {seconds} and {fps}")
    folder = sample_photo_dir()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
    frames_each = max(1, round(seconds * fps))
    with av.open(str(partial), mode="w", format="mp4") as container:
        stream: Any = container.add_stream(codec, rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, fps)
        if codec == "libx264":
            stream.options = {"crf": "20", "preset": "veryfast"}
        else:
            stream.bit_rate = 4_000_000
        to_frame: Any = av.VideoFrame.from_image
        count = 0
        for index, name in enumerate(photos):
            with Image.open(folder / name) as opened:
                photo = opened.convert("RGB")
            for n in range(frames_each):
                frame = to_frame(_tour_frame(photo, n / max(frames_each - 1, 1), index, size))
                frame.pts = count
                count += 1
                container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    partial.replace(path)
    return path


def default_sample_video(cache_dir: Path | None = None) -> Path:
    """The demo's clip (:func:`make_tour_video`) in ``cache_dir`` (default: the user's
    cache), made on first use."""
    if cache_dir is None:
        import platformdirs

        cache_dir = Path(platformdirs.user_cache_dir("rxyomo")) / "examples"
    # The name changes with the recipe, so a changed recipe makes a new video.
    recipe = (SAMPLE_PHOTOS, _VIDEO_SIZE, 24, "tour", _TOUR_SECONDS, _TOUR_ZOOM)
    path = cache_dir / f"tour-{hashlib.sha256(repr(recipe).encode()).hexdigest()[:8]}.mp4"
    if not path.exists():
        make_tour_video(path)
    return path


def camera_device(spec: str) -> tuple[str, str] | None:
    """``(device, PyAV format)`` for ``camera`` or ``camera:DEVICE``; ``None`` otherwise."""
    if spec != "camera" and not spec.startswith("camera:"):
        return None
    platform = "linux" if sys.platform.startswith("linux") else sys.platform
    if platform not in _CAMERA_FORMATS:
        raise InputError(f"no camera support on {sys.platform}")
    device = spec.partition(":")[2] or _DEFAULT_CAMERAS[platform]
    return device, _CAMERA_FORMATS[platform]


def describe(spec: str) -> str:
    """What ``spec`` is, for the logs: a video, a folder, a camera."""
    camera = camera_device(spec)
    if camera is not None:
        return f"camera {camera[0]}"
    path = Path(spec)
    return f"folder {path}" if path.is_dir() else f"video {path}"


def pictures(spec: str, every: int | None = None, *, quality: int = 85) -> Iterator[Picture]:
    """The pictures of ``spec`` (a video file, a folder of images, ``camera[:DEVICE]``),
    every ``every``-th one (default: every 24th of a video or camera, every image of a
    folder), as JPEGs. JPEG files are sent as they are; anything else is encoded.

    Raises :class:`InputError` when the input cannot be opened.
    """
    if every is not None and every < 1:
        raise ValueError(f"every must be at least 1, got {every}")
    camera = camera_device(spec)
    if camera is not None:
        return _video_pictures(camera[0], every or 24, quality, camera[1])
    path = Path(spec)
    if path.is_dir():
        return _folder_pictures(path, every or 1, quality)
    if not path.is_file():
        raise InputError(f"no such video, folder or camera: {spec}")
    return _video_pictures(str(path), every or 24, quality, None)


def _video_pictures(
    source: str, every: int, quality: int, input_format: str | None
) -> Iterator[Picture]:
    import av

    try:
        container = av.open(source, format=input_format)
    except (av.FFmpegError, OSError) as exc:
        raise InputError(f"cannot open {source}: {exc}") from exc
    if not container.streams.video:
        container.close()
        raise InputError(f"{source} has no video stream")

    def frames() -> Iterator[Picture]:
        with container:
            decoded: Iterator[Any] = container.decode(video=0)
            for number, frame in enumerate(decoded):
                if number % every == 0:
                    yield Picture(number, _jpeg(frame.to_image(), quality), frame.time)

    return frames()


def _folder_pictures(folder: Path, every: int, quality: int) -> Iterator[Picture]:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in _IMAGE_SUFFIXES)
    if not files:
        raise InputError(f"no images in {folder} (looked for {', '.join(sorted(_IMAGE_SUFFIXES))})")

    def read() -> Iterator[Picture]:
        for number, file in enumerate(files):
            if number % every:
                continue
            try:
                data = file.read_bytes()
                if data[:3] == b"\xff\xd8\xff":  # already a JPEG: send it untouched
                    picture = Picture(number, data)
                else:
                    with Image.open(io.BytesIO(data)) as image:
                        picture = Picture(number, _jpeg(image, quality))
            except (OSError, ValueError, Image.DecompressionBombError) as exc:
                # One bad file in a folder of many: say so and go on with the rest.
                log.warning("skipping %s: cannot read it: %s", file, exc)
                continue
            yield picture

    return read()


def _jpeg(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()
