"""MediaPipe PoseLandmarker (Tasks API only) behind a small numpy interface.

Only ``mediapipe.tasks`` is used, never ``mp.solutions``: the Tasks API is what mediapipe
0.10.30+ and 1.x still have. The model is a ``.task`` bundle: by default the one this package
ships (see :mod:`.task_bundle`), or any PoseLandmarker bundle the user points to (e.g. Google's
heavy model).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from mediapipe.tasks.python import BaseOptions, vision

from .vision_task import VisionTask, resolve_bundle

# Built by ``python -m repose_core.detect.task_bundle`` (which this module must not import: the
# metadata tools it uses are only needed to build, and may move in later mediapipe versions).
DEFAULT_TASK_PATH = Path(__file__).resolve().parents[1] / "assets" / "pose_landmarker.task"
NUM_LANDMARKS = 33
_TASK_ENTRIES = {"pose_detector.tflite", "pose_landmarks_detector.tflite"}


@dataclass(frozen=True)
class PosesInFrame:
    """Every person MediaPipe found in one frame, ``n`` of them (possibly 0).

    image: (n, 33, 5) x, y normalised to [0, 1] of width/height, z on the x scale,
    visibility, presence. world: (n, 33, 3) metres, origin between the hips.
    """

    image: np.ndarray
    world: np.ndarray

    def __len__(self) -> int:
        return len(self.image)


def resolve_task_path(task_path: str | Path | None) -> Path:
    """The ``.task`` bundle to use, checked to be a PoseLandmarker bundle."""
    return resolve_bundle(task_path, DEFAULT_TASK_PATH, _TASK_ENTRIES, "PoseLandmarker", "task_path")


class PoseLandmarker(VisionTask):
    """A PoseLandmarker in VIDEO mode (tracking between frames) or IMAGE mode (each frame alone).
    Use as a context manager."""

    def __init__(self, task_path: str | Path | None = None, num_poses: int = 1,
                 video: bool = True, min_detection_confidence: float = 0.5,
                 min_presence_confidence: float = 0.5, min_tracking_confidence: float = 0.5):
        if num_poses < 1:
            raise ValueError(f"num_poses must be >= 1, got {num_poses}")
        path = resolve_task_path(task_path)
        options = vision.PoseLandmarkerOptions(
            # The bundle is read into memory: MediaPipe's own file loader rejects some paths
            # (non-ASCII on Windows) that Python opens fine.
            base_options=BaseOptions(model_asset_buffer=path.read_bytes()),
            running_mode=vision.RunningMode.VIDEO if video else vision.RunningMode.IMAGE,
            num_poses=num_poses,
            min_pose_detection_confidence=min_detection_confidence,
            min_pose_presence_confidence=min_presence_confidence,
            min_tracking_confidence=min_tracking_confidence,
            output_segmentation_masks=False,
        )
        super().__init__(vision.PoseLandmarker.create_from_options, options, path, "task_path", video)

    def detect(self, rgb: np.ndarray, time_s: float = 0.0) -> PosesInFrame:
        """Poses in one RGB uint8 frame (H, W, 3) shown at ``time_s`` seconds."""
        result = self.run(rgb, time_s)
        n = len(result.pose_landmarks)
        landmarks = np.empty((n, NUM_LANDMARKS, 5), np.float32)
        world = np.empty((n, NUM_LANDMARKS, 3), np.float32)
        for p in range(n):
            landmarks[p] = [(l.x, l.y, l.z, l.visibility, l.presence)
                            for l in result.pose_landmarks[p]]
            world[p] = [(l.x, l.y, l.z) for l in result.pose_world_landmarks[p]]
        return PosesInFrame(landmarks, world)
