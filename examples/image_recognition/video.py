"""Pictures in: the sample video, a video file, a folder of images or a camera, as JPEGs.

The sample video is made at run time from photos that scikit-image ships (no download):
each photo is held for ``hold`` frames, so taking every ``hold``-th frame, as the article
took every 24th, gives each photo once.
"""

from __future__ import annotations

import hashlib
import io
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


class InputError(ValueError):
    """The input cannot be read: a missing file, a folder without images, no camera."""


@dataclass(frozen=True)
class Picture:
    """One picture to send."""

    #: Where it came from: a video's frame number, or a file's number in its folder.
    position: int
    jpeg: bytes

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


def default_sample_video(cache_dir: Path | None = None) -> Path:
    """The sample video in ``cache_dir`` (default: the user's cache), made on first use."""
    if cache_dir is None:
        import platformdirs

        cache_dir = Path(platformdirs.user_cache_dir("rxyomo")) / "examples"
    # The name changes with the recipe, so a changed recipe makes a new video.
    recipe = hashlib.sha256(repr((SAMPLE_PHOTOS, _VIDEO_SIZE, 24)).encode()).hexdigest()[:8]
    path = cache_dir / f"sample-{recipe}.mp4"
    if not path.exists():
        make_sample_video(path)
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
                    yield Picture(number, _jpeg(frame.to_image(), quality))

    return frames()


def _folder_pictures(folder: Path, every: int, quality: int) -> Iterator[Picture]:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in _IMAGE_SUFFIXES)
    if not files:
        raise InputError(f"no images in {folder} (looked for {', '.join(sorted(_IMAGE_SUFFIXES))})")

    def read() -> Iterator[Picture]:
        for number, file in enumerate(files):
            if number % every:
                continue
            data = file.read_bytes()
            if data[:3] == b"\xff\xd8\xff":  # already a JPEG: send it untouched
                yield Picture(number, data)
                continue
            try:
                with Image.open(io.BytesIO(data)) as image:
                    yield Picture(number, _jpeg(image, quality))
            except (OSError, ValueError, Image.DecompressionBombError) as exc:
                raise InputError(f"cannot read {file}: {exc}") from exc

    return read()


def _jpeg(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()
