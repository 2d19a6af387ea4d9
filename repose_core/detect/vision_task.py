"""What the pose and hand landmarkers share: a checked ``.task`` bundle, and a MediaPipe Tasks
landmarker made from it that runs in VIDEO mode (tracking between frames) or IMAGE mode (each
image alone)."""
from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any, Callable

import mediapipe as mp
import numpy as np


def resolve_bundle(task_path: str | Path | None, default: Path, entries: set[str], kind: str,
                   argument: str) -> Path:
    """The ``.task`` bundle to use (``default`` when ``task_path`` is None), checked to hold the
    models of a ``kind`` ("PoseLandmarker", "HandLandmarker"). ``argument`` names the caller's
    parameter in the errors, so a user knows which path is wrong."""
    path = default if task_path is None else Path(task_path)
    if not path.is_file():
        hint = (" (rebuild it with: python -m repose_core.detect.task_bundle)"
                if task_path is None else "")
        raise FileNotFoundError(f"{path}: {kind} .task bundle not found{hint}")
    try:
        with zipfile.ZipFile(path) as bundle:
            names = set(bundle.namelist())
    except zipfile.BadZipFile:
        raise ValueError(f"{argument}={path}: not a MediaPipe .task bundle (not a zip file)"
                         ) from None
    if not entries <= names:
        raise ValueError(f"{argument}={path}: not a {kind} bundle; it holds "
                         f"{sorted(names)}, expected {sorted(entries)}")
    return path


class VisionTask:
    """A MediaPipe Tasks landmarker, made by ``create(options)``. Use as a context manager.

    In VIDEO mode timestamps must increase; :meth:`run` makes them strictly increasing itself,
    as containers can repeat a timestamp.
    """

    def __init__(self, create: Callable[[Any], Any], options: Any, task_path: Path, argument: str,
                 video: bool):
        self.task_path = task_path
        self.video = video
        try:
            self._landmarker = create(options)
        except (RuntimeError, ValueError) as error:
            raise ValueError(f"{argument}={task_path}: MediaPipe cannot load this bundle: "
                             f"{error}") from error
        self._last_ms = -1

    def __enter__(self) -> "VisionTask":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._landmarker.close()

    def run(self, rgb: np.ndarray, time_s: float) -> Any:
        """MediaPipe's result for one RGB uint8 image (H, W, 3) shown at ``time_s`` seconds."""
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        if not self.video:
            return self._landmarker.detect(image)
        ms = max(int(round(time_s * 1000.0)), self._last_ms + 1)
        self._last_ms = ms
        return self._landmarker.detect_for_video(image, ms)
