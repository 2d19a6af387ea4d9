"""A preview picture of one import: what was detected, and what was lifted from it.

:func:`write_preview` writes a PNG contact sheet of a few evenly spaced frames. Each column is
one frame: on top the video frame with the detected 2D H36M-17 skeleton (drawn by
``repose_core.detect.overlay``: joints coloured by confidence, red 0 -> yellow 0.5 -> green 1)
and, for an import with hands, the hands MediaPipe found (thin lines),
below it the 3D pose of that frame (the final joints the armature follows, Blender world, Z up,
metres) seen from the front and from the side. The person's left side is blue, the right orange,
in both the 2D and the 3D drawings.

No bpy here: numpy, OpenCV (reads only the chosen frames, seeking) and matplotlib (Agg canvas,
no pyplot, so no global backend state is touched).
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from repose_core.detect.overlay import BONE_LEFT_BGR, BONE_RIGHT_BGR, draw_hand, draw_skeleton, write_png
from repose_core.detect.video import FrameStream, probe_video
from repose_core.skeleton import BONES, LEFT_JOINTS, RIGHT_JOINTS, ROOT

if TYPE_CHECKING:
    from .pipeline import MotionResult

FRAMES = 6            # columns of the sheet
TILE_WIDTH = 300      # pixels per column
PANEL_HEIGHT = 300    # pixels of each 3D view
HEADER_HEIGHT = 44    # pixels of the title strip
_DPI = 100
_MARGIN = 0.15        # metres of air around the body in the 3D views


def _rgb(bgr: tuple[int, int, int]) -> tuple[float, float, float]:
    return tuple(c / 255.0 for c in reversed(bgr))


_LEFT, _RIGHT, _CENTRE = _rgb(BONE_LEFT_BGR), _rgb(BONE_RIGHT_BGR), (0.25, 0.25, 0.25)


def preview_rows(num_frames: int, count: int = FRAMES) -> np.ndarray:
    """Indices of up to ``count`` evenly spaced frames of ``num_frames`` (first and last included)."""
    if num_frames < 1:
        raise ValueError("no frames to preview")
    return np.unique(np.linspace(0, num_frames - 1, min(count, num_frames)).round().astype(int))


def thumb_size(image_size: tuple[int, int]) -> tuple[int, int]:
    """(width, height) of one video tile for a video of ``image_size`` (width, height)."""
    width, height = (int(v) for v in image_size)
    return TILE_WIDTH, max(1, round(height * TILE_WIDTH / width))


def preview_size(image_size: tuple[int, int], columns: int) -> tuple[int, int]:
    """(width, height) in pixels of a preview with ``columns`` frames."""
    return columns * TILE_WIDTH, HEADER_HEIGHT + thumb_size(image_size)[1] + 2 * PANEL_HEIGHT


def write_preview(result: "MotionResult", path: str | Path, count: int = FRAMES) -> Path:
    """Write the preview of an :func:`addon.pipeline.analyse` result to ``path`` (PNG, atomic)."""
    return write_preview_arrays(path, result.video, result.frame_indices, result.keypoints,
                                result.confidence, result.found, result.motion.joints, result.image_size,
                                count=count, hands=result.hands)


def write_preview_arrays(path: str | Path, video: str | Path, frame_indices: np.ndarray,
                         keypoints: np.ndarray, confidence: np.ndarray, found: np.ndarray,
                         joints: np.ndarray, image_size: tuple[int, int],
                         count: int = FRAMES, hands: np.ndarray | None = None) -> Path:
    """Write a preview from plain arrays (see :func:`render_preview`) to ``path`` (PNG, atomic)."""
    sheet = render_preview(video, frame_indices, keypoints, confidence, found, joints, image_size,
                           count=count, hands=hands)
    return write_png(path, sheet)


def render_preview(video: str | Path, frame_indices: np.ndarray, keypoints: np.ndarray,
                   confidence: np.ndarray, found: np.ndarray, joints: np.ndarray,
                   image_size: tuple[int, int], count: int = FRAMES,
                   hands: np.ndarray | None = None) -> np.ndarray:
    """The preview as a BGR uint8 image of :func:`preview_size`.

    ``frame_indices`` (T,) video frame numbers; ``keypoints`` (T, 17, 2) pixels (NaN = absent);
    ``confidence`` (T, 17); ``found`` (T,) bool; ``joints`` (T, 17, 3) Blender world metres
    (Z up, the person facing -Y at the start); ``image_size`` (width, height); ``hands``
    (T, 2, 21, 2) pixels of the person's left and right hand (NaN = not found), or None.
    """
    frame_indices = np.asarray(frame_indices)
    keypoints = np.asarray(keypoints, dtype=np.float64)
    joints = np.asarray(joints, dtype=np.float64)
    rows = preview_rows(len(frame_indices), count)
    tiles = _video_tiles(video, frame_indices, keypoints, confidence, rows, image_size, hands)
    return _compose(Path(video).name, frame_indices, found, joints, rows, tiles, image_size)


def _video_tiles(video, frame_indices, keypoints, confidence, rows, image_size, hands) -> dict[int, np.ndarray]:
    """row -> RGB thumbnail with the 2D skeleton (and hands), reading only the chosen frames."""
    info = probe_video(video)
    if tuple(info.image_size) != tuple(int(v) for v in image_size):
        raise ValueError(f"{video}: frame size {info.image_size} differs from the detection's "
                         f"{tuple(image_size)}; was the video replaced?")
    size = thumb_size(image_size)
    scale = np.array([size[0] / image_size[0], size[1] / image_size[1]])
    row_of = {int(frame_indices[r]): int(r) for r in rows}
    tiles = {}
    with FrameStream(info, sorted(row_of)) as stream:
        for frame in stream:
            r = row_of[frame.index]
            bgr = cv2.resize(cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2BGR), size,
                             interpolation=cv2.INTER_AREA)
            draw_skeleton(bgr, keypoints[r] * scale, np.asarray(confidence[r]))
            if hands is not None:
                for side, colour in enumerate((BONE_LEFT_BGR, BONE_RIGHT_BGR)):
                    draw_hand(bgr, np.asarray(hands[r, side], dtype=np.float64) * scale, colour)
            tiles[r] = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    missing = [int(frame_indices[r]) for r in rows if r not in tiles]
    if missing:
        raise ValueError(f"{video}: could not read frame(s) {missing}")
    return tiles


def _views(joints: np.ndarray) -> dict[str, np.ndarray]:
    """Per view, (T, 17, 2) plot coordinates: horizontal centred on the pelvis, vertical = Z.

    Front: seen from -Y (the way the person faces at the start), x to the right, so the person's
    left is on the picture's right as in the video. Side: seen from the person's right (-X), so
    the person faces to the right of the picture.
    """
    front = np.stack([joints[..., 0] - joints[:, ROOT, None, 0], joints[..., 2]], -1)
    side = np.stack([-(joints[..., 1] - joints[:, ROOT, None, 1]), joints[..., 2]], -1)
    return {"front": front, "side": side}


def _limits(views: dict[str, np.ndarray], rows: np.ndarray, aspect: float):
    """One set of (xlim, ylim) for every panel: equal metres on both axes, everyone fits."""
    shown = np.concatenate([v[rows] for v in views.values()]).reshape(-1, 2)
    shown = shown[np.isfinite(shown).all(-1)]
    if len(shown) == 0:
        shown = np.array([[-1.0, 0.0], [1.0, 2.0]])
    half_width = np.abs(shown[:, 0]).max() + _MARGIN
    bottom, top = min(0.0, shown[:, 1].min()) - _MARGIN, shown[:, 1].max() + _MARGIN
    height = max(top - bottom, 2 * half_width / aspect)  # aspect = panel width / height
    centre = (top + bottom) / 2
    half_width = max(half_width, height * aspect / 2)
    return (-half_width, half_width), (centre - height / 2, centre + height / 2)


def _draw_pose(ax, pose2d: np.ndarray, faded: bool) -> None:
    alpha = 0.45 if faded else 1.0
    for parent, child in BONES:
        colour = _LEFT if child in LEFT_JOINTS else _RIGHT if child in RIGHT_JOINTS else _CENTRE
        ax.plot(pose2d[[parent, child], 0], pose2d[[parent, child], 1], color=colour, lw=2.2,
                alpha=alpha, solid_capstyle="round")
    colours = [_LEFT if j in LEFT_JOINTS else _RIGHT if j in RIGHT_JOINTS else _CENTRE
               for j in range(len(pose2d))]
    ax.scatter(pose2d[:, 0], pose2d[:, 1], s=10, c=colours, alpha=alpha, zorder=3, linewidths=0)


def _drawable(text: str) -> str:
    """``text`` with the characters the picture's font lacks (e.g. CJK in DejaVu Sans) as "?":
    matplotlib would draw empty boxes and warn on the terminal about each."""
    from matplotlib.font_manager import FontProperties, findfont
    from matplotlib.ft2font import FT2Font

    font = FT2Font(findfont(FontProperties(weight="bold")))
    return "".join(c if c.isspace() or font.get_char_index(ord(c)) else "?" for c in text)


def _compose(name, frame_indices, found, joints, rows, tiles, image_size) -> np.ndarray:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    columns = len(rows)
    width, height = preview_size(image_size, columns)
    thumb_h = thumb_size(image_size)[1]
    figure = Figure(figsize=(width / _DPI, height / _DPI), dpi=_DPI, facecolor="white")
    canvas = FigureCanvasAgg(figure)

    def box(x, y, w, h):  # pixel box from the top-left -> figure fraction
        return [x / width, 1 - (y + h) / height, w / width, h / height]

    figure.text(8 / width, 1 - 16 / height, f"{_drawable(name)}: {len(frame_indices)} frames "
                f"({int(frame_indices[0])}-{int(frame_indices[-1])}), {columns} shown",
                fontsize=11, weight="bold", va="center")
    figure.text(8 / width, 1 - 34 / height,
                "top: 2D detection, joint colour = confidence (red 0, yellow 0.5, green 1);  "
                "below: lifted 3D pose from the front and from the side (metres, floor at Z = 0);  "
                "person's left = blue, right = orange", fontsize=8.5, va="center", color="0.2")

    views = _views(joints)
    left_pad, bottom_pad, top_pad = 36, 20, 18
    aspect = (TILE_WIDTH - left_pad - 6) / (PANEL_HEIGHT - bottom_pad - top_pad)
    xlim, ylim = _limits(views, rows, aspect)
    for column, r in enumerate(rows):
        x = column * TILE_WIDTH
        ax = figure.add_axes(box(x, HEADER_HEIGHT, TILE_WIDTH, thumb_h))
        ax.imshow(tiles[r], interpolation="bilinear")
        ax.set_axis_off()
        label = f"frame {int(frame_indices[r])}" + ("" if found[r] else "  NO PERSON")
        ax.text(6, 6, label, color="white" if found[r] else "#ff6a6a", fontsize=10, weight="bold",
                va="top", bbox=dict(facecolor="black", alpha=0.55, pad=2, edgecolor="none"))
        for v, view in enumerate(("front", "side")):
            y = HEADER_HEIGHT + thumb_h + v * PANEL_HEIGHT
            ax = figure.add_axes(box(x + left_pad, y + top_pad, TILE_WIDTH - left_pad - 6,
                                     PANEL_HEIGHT - top_pad - bottom_pad))
            ax.axhline(0.0, color="0.6", lw=1, zorder=0)
            _draw_pose(ax, views[view][r], faded=not found[r])
            ax.set_xlim(*xlim)
            ax.set_ylim(*ylim)
            ax.set_aspect("equal", adjustable="datalim")
            ax.grid(True, color="0.9", lw=0.6)
            ax.tick_params(labelsize=7, length=2, pad=1)
            ax.set_title(f"{view}  (frame {int(frame_indices[r])})", fontsize=8.5, pad=3)
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba())
    if rgba.shape[:2] != (height, width):  # the figure size is exact at this dpi; be sure
        rgba = cv2.resize(rgba, (width, height), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGR)
