"""Reading video with OpenCV: probing, rotation metadata, frame ranges, streaming decode.

Frames are decoded in a background thread a few frames ahead, so decoding overlaps
with pose inference (OpenCV and MediaPipe both release the GIL) and the whole video is never
held in memory. Frames come out as RGB, rotated upright per the container's rotation metadata.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import cv2
import numpy as np

from ..background import BackgroundIterator
from .errors import VideoError

# Longest frame side accepted: 8K UHD is 7680 wide and H.264/H.265 stop at 8192. Anything larger
# is refused before decoding (one frame alone would take hundreds of MB).
MAX_FRAME_SIDE = 8192
# A stream that stops this many frames (or 1%) before the container's frame count is corrupt or
# truncated; a smaller shortfall is an inexact count (webm/avi estimate it from the duration).
_COUNT_TOLERANCE_FRAMES = 2
_COUNT_TOLERANCE_FRACTION = 0.01
# Frames decoded ahead of the consumer: enough to hide decoder jitter, small enough for 4K.
_PREFETCH = 8
# Further ahead than this, seeking (back to a keyframe, then decoding forward) beats decoding
# every frame in between.
_SEEK_AHEAD = 48

_ROTATE_CODES = {
    90: cv2.ROTATE_90_CLOCKWISE,
    180: cv2.ROTATE_180,
    270: cv2.ROTATE_90_COUNTERCLOCKWISE,
}


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about a video, with width/height already rotated upright."""

    path: Path
    width: int
    height: int
    fps: float
    frame_count: int
    rotation: int  # degrees clockwise the raw frames are turned to display upright
    codec: str

    @property
    def image_size(self) -> tuple[int, int]:
        return (self.width, self.height)


@dataclass(frozen=True)
class Frame:
    index: int  # frame number in the video, from 0
    time: float  # presentation time in seconds, from the container (exact for variable rate)
    rgb: np.ndarray  # (height, width, 3) uint8, upright, possibly downscaled (see FrameStream)


def _open_capture(path: Path) -> cv2.VideoCapture:
    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    if capture.isOpened():
        # Rotation is applied here, explicitly, so that every OpenCV build behaves alike.
        capture.set(cv2.CAP_PROP_ORIENTATION_AUTO, 0)
    return capture


def _unreadable_reason(path: Path) -> str:
    with open(path, "rb") as f:
        head = f.read(12)
    if len(head) == 0:
        return "the file is empty"
    if head[4:8] == b"ftyp":
        return ("it is an MP4/MOV container without decodable video frames "
                "(no frames, truncated, or corrupt)")
    return "it is not a video file OpenCV/FFmpeg can read"


def probe_video(path: str | Path) -> VideoInfo:
    """Open ``path`` and read its metadata, or raise :class:`VideoError` saying what is wrong."""
    path = Path(path)
    if not path.exists():
        raise VideoError(f"{path}: file not found")
    if path.is_dir():
        raise VideoError(f"{path}: this is a folder, not a video file")
    if not path.is_file():
        raise VideoError(f"{path}: not a file")
    # FFmpeg happily opens a PNG/JPEG as a one-frame "video"; a still photo is a user mistake
    # worth naming, not a clip to lift.
    if cv2.haveImageReader(str(path)):
        raise VideoError(f"{path}: this is a still image, not a video")
    capture = _open_capture(path)
    try:
        if not capture.isOpened():
            raise VideoError(f"{path}: cannot be opened as a video: {_unreadable_reason(path)}")
        raw_width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        raw_height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        fps = float(capture.get(cv2.CAP_PROP_FPS))
        frame_count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        rotation = int(round(capture.get(cv2.CAP_PROP_ORIENTATION_META))) % 360
        fourcc = int(capture.get(cv2.CAP_PROP_FOURCC))
    finally:
        capture.release()
    codec = fourcc.to_bytes(4, "little").decode("ascii", "replace").strip("\x00 ")
    if raw_width <= 0 or raw_height <= 0:
        raise VideoError(f"{path}: no video stream (frame size {raw_width}x{raw_height})")
    if max(raw_width, raw_height) > MAX_FRAME_SIDE:
        raise VideoError(
            f"{path}: frame size {raw_width}x{raw_height} is larger than the supported "
            f"{MAX_FRAME_SIDE} pixels per side; downscale the video first"
        )
    if frame_count <= 0:
        raise VideoError(f"{path}: the video has no frames")
    if not np.isfinite(fps) or fps <= 0:
        raise VideoError(f"{path}: the container reports no frame rate ({fps})")
    if rotation not in (0, 90, 180, 270):
        raise VideoError(f"{path}: unsupported rotation metadata {rotation} degrees")
    width, height = (raw_height, raw_width) if rotation in (90, 270) else (raw_width, raw_height)
    return VideoInfo(path, width, height, fps, frame_count, rotation, codec)


def frame_range(info: VideoInfo, start: int = 0, end: int | None = None,
                stride: int = 1) -> range:
    """The frame numbers ``start:end:stride`` of the video, checked against its length."""
    for name, value in (("start", start), ("stride", stride)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
            raise ValueError(f"{name} must be an integer, got {value!r}")
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    if start < 0:
        raise ValueError(f"start must be >= 0, got {start}")
    if start >= info.frame_count:
        raise VideoError(f"{info.path}: start={start} is past the last frame "
                         f"(the video has {info.frame_count} frames)")
    stop = info.frame_count if end is None else min(int(end), info.frame_count)
    if stop <= start:
        raise ValueError(f"end must be greater than start={start}, got {end}")
    return range(start, stop, stride)


class FrameStream:
    """Decode ``frames`` (increasing frame numbers, e.g. from :func:`frame_range`) in a
    background thread (``repose_core.background``).

    Use as a context manager and iterate. ``max_side`` downscales frames whose longer side is
    larger (pose models work at 256 px, so 4K frames only cost copying); ``None`` keeps the
    size. A stream that ends early (a truncated or corrupt file) just ends: ``stopped_at`` then
    holds the frame number where decoding stopped, short of what the container lists.
    """

    def __init__(self, info: VideoInfo, frames: Sequence[int], max_side: int | None = None):
        self.info = info
        self.frames = frames
        self.max_side = max_side
        self.stopped_at: int | None = None
        self._decoded: BackgroundIterator[Frame] | None = None

    def __enter__(self) -> "FrameStream":
        self._decoded = BackgroundIterator(self._decode, _PREFETCH, name="repose-decode")
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._decoded is not None:
            self._decoded.close()

    def __iter__(self) -> Iterator[Frame]:
        if self._decoded is None:
            raise RuntimeError("iterate a FrameStream inside its with block")
        return iter(self._decoded)

    def _decode(self) -> Iterator[Frame]:
        info = self.info
        capture = _open_capture(info.path)
        if not capture.isOpened():
            raise VideoError(f"{info.path}: cannot be opened as a video")
        try:
            rotate = _ROTATE_CODES.get(info.rotation)
            scale = 1.0
            if self.max_side is not None and max(info.width, info.height) > self.max_side:
                scale = self.max_side / max(info.width, info.height)
            position = 0  # the frame the next grab() decodes
            for index in self.frames:
                if index - position > _SEEK_AHEAD or index < position:
                    capture.set(cv2.CAP_PROP_POS_FRAMES, index)
                    position = index
                # grab() decodes without the colour conversion: enough for skipped frames.
                while position <= index:
                    if not capture.grab():
                        self._note_early_end(position)
                        return
                    position += 1
                ok, bgr = capture.retrieve()
                if not ok:
                    self._note_early_end(index)
                    return
                time = capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
                if rotate is not None:
                    bgr = cv2.rotate(bgr, rotate)
                if scale != 1.0:
                    size = (round(bgr.shape[1] * scale), round(bgr.shape[0] * scale))
                    bgr = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
                yield Frame(index, time, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        finally:
            capture.release()

    def _note_early_end(self, index: int) -> None:
        """The decoder stopped at ``index``: normal if the container's count was an estimate,
        else the file is truncated or corrupt (``stopped_at``)."""
        count = self.info.frame_count
        tolerance = max(_COUNT_TOLERANCE_FRAMES, int(count * _COUNT_TOLERANCE_FRACTION))
        if index < count - tolerance:
            self.stopped_at = index
