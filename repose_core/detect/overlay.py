"""Draw the detected 2D skeleton over the footage: an mp4, and a contact-sheet PNG.

The first thing to look at when a result seems wrong. Joints are coloured by confidence (red 0,
yellow 0.5, green 1); frames with no person say so; interpolated frames show red joints. A
detection with hands has them drawn too, thin, in the side's colour.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..skeleton import BONES, LEFT_JOINTS, RIGHT_JOINTS
from .atomic import atomic_output
from .result import Detection2D
from .video import FrameStream, probe_video

BONE_LEFT_BGR = (255, 160, 60)  # BGR: left side blue, right side orange, centre white
BONE_RIGHT_BGR = (60, 160, 255)
_BONE_CENTRE = (235, 235, 235)
_THUMB_WIDTH = 360


def confidence_colour(confidence: float) -> tuple[int, int, int]:
    """BGR colour for a confidence in [0, 1]: red -> yellow -> green."""
    c = float(np.clip(confidence, 0.0, 1.0))
    return (0, int(255 * min(1.0, 2 * c)), int(255 * min(1.0, 2 * (1 - c))))


def draw_skeleton(image: np.ndarray, keypoints: np.ndarray, confidence: np.ndarray) -> None:
    """Draw one H36M-17 pose (pixels, NaN = absent) onto a BGR image in place."""
    scale = max(image.shape[:2]) / 1000.0
    thickness = max(1, round(3 * scale))
    radius = max(2, round(6 * scale))
    finite = np.isfinite(keypoints).all(-1)
    for parent, child in BONES:
        if finite[parent] and finite[child]:
            colour = (BONE_LEFT_BGR if child in LEFT_JOINTS
                      else BONE_RIGHT_BGR if child in RIGHT_JOINTS else _BONE_CENTRE)
            cv2.line(image, tuple(np.round(keypoints[parent]).astype(int)),
                     tuple(np.round(keypoints[child]).astype(int)), colour, thickness,
                     cv2.LINE_AA)
    for j in np.flatnonzero(finite):
        centre = tuple(np.round(keypoints[j]).astype(int))
        cv2.circle(image, centre, radius, confidence_colour(confidence[j]), -1, cv2.LINE_AA)
        cv2.circle(image, centre, radius, (0, 0, 0), 1, cv2.LINE_AA)


# MediaPipe's hand: the wrist to each finger's base, then along each finger.
HAND_BONES: tuple[tuple[int, int], ...] = tuple(
    (0 if k == 0 else base + k - 1, base + k) for base in (1, 5, 9, 13, 17) for k in range(4))


def draw_hand(image: np.ndarray, points: np.ndarray, colour: tuple[int, int, int]) -> None:
    """Draw one hand's 21 landmarks (pixels; NaN = not found) onto a BGR image in place."""
    if not np.isfinite(points).all():
        return
    thickness = max(1, round(max(image.shape[:2]) / 1000.0))
    for a, b in HAND_BONES:
        cv2.line(image, tuple(np.round(points[a]).astype(int)),
                 tuple(np.round(points[b]).astype(int)), colour, thickness, cv2.LINE_AA)


def _annotated_frames(det: Detection2D, rows: np.ndarray):
    """(row, BGR frame with the skeleton and a caption) for the given rows of ``det``."""
    info = probe_video(det.video)
    if info.image_size != tuple(det.image_size):
        raise ValueError(f"{det.video}: frame size {info.image_size} differs from the "
                         f"detection's {tuple(det.image_size)}; was the video replaced?")
    row_of = {int(det.frame_indices[r]): int(r) for r in rows}
    with FrameStream(info, sorted(row_of)) as stream:
        for frame in stream:
            r = row_of[frame.index]
            bgr = cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2BGR)
            draw_skeleton(bgr, det.keypoints[r], det.confidence[r])
            if det.has_hands:
                for side, colour in enumerate((BONE_LEFT_BGR, BONE_RIGHT_BGR)):
                    draw_hand(bgr, det.hands[r, side, :, :2], colour)
            caption = f"frame {frame.index}" + ("" if det.found[r] else "  NO PERSON")
            size = max(bgr.shape[:2]) / 1000.0
            origin = (round(12 * size), round(40 * size))
            colour = (255, 255, 255) if det.found[r] else (0, 0, 255)
            for ink, width in (((0, 0, 0), 6), (colour, 2)):  # outlined: readable on any sky
                cv2.putText(bgr, caption, origin, cv2.FONT_HERSHEY_SIMPLEX, 1.1 * size, ink,
                            max(1, round(width * size)), cv2.LINE_AA)
            yield r, bgr


def write_overlay_video(det: Detection2D, path: str | Path) -> Path:
    """Write every processed frame with its skeleton to ``path`` (mp4, MPEG-4 Part 2)."""
    path = Path(path)
    step = int(np.median(np.diff(det.frame_indices))) if len(det) > 1 else 1
    with atomic_output(path) as temp:
        writer = cv2.VideoWriter(str(temp), cv2.VideoWriter_fourcc(*"mp4v"), det.fps / step,
                                 tuple(int(v) for v in det.image_size))
        try:
            if not writer.isOpened():
                raise OSError(f"{path}: OpenCV cannot write an mp4 video here")
            for _, bgr in _annotated_frames(det, np.arange(len(det))):
                writer.write(bgr)
        finally:
            writer.release()
    return path


def write_contact_sheet(det: Detection2D, path: str | Path, count: int = 12,
                        columns: int = 4) -> Path:
    """Write ``count`` evenly spaced annotated frames as one PNG grid to ``path``."""
    path = Path(path)
    rows = np.unique(np.linspace(0, len(det) - 1, min(count, len(det))).round().astype(int))
    width, height = (int(v) for v in det.image_size)
    thumb = (_THUMB_WIDTH, max(1, round(height * _THUMB_WIDTH / width)))
    tiles = [cv2.resize(bgr, thumb, interpolation=cv2.INTER_AREA)
             for _, bgr in _annotated_frames(det, rows)]
    tiles += [np.zeros_like(tiles[0])] * (-len(tiles) % columns)
    sheet = np.vstack([np.hstack(tiles[i:i + columns]) for i in range(0, len(tiles), columns)])
    return write_png(path, sheet)


def write_png(path: str | Path, image: np.ndarray) -> Path:
    """Encode a BGR image as PNG and write it atomically (never a half-written picture)."""
    path = Path(path)
    ok, png = cv2.imencode(".png", image)
    if not ok:
        raise OSError(f"{path}: could not encode the picture as PNG")
    with atomic_output(path) as temp:
        temp.write_bytes(png.tobytes())
    return path
