"""MediaPipe HandLandmarker (Tasks API only) behind a small numpy interface.

The model is a ``.task`` bundle: by default ``assets/hand_landmarker.task``, which this package
builds from the hand models inside mediapipe 0.10.21 (see :mod:`.task_bundle`), or any
HandLandmarker bundle the user points to.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from mediapipe.tasks.python import BaseOptions, vision

from .vision_task import VisionTask, resolve_bundle

DEFAULT_HAND_TASK_PATH = Path(__file__).resolve().parents[1] / "assets" / "hand_landmarker.task"
NUM_HAND_LANDMARKS = 21
_TASK_ENTRIES = {"hand_detector.tflite", "hand_landmarks_detector.tflite"}


@dataclass(frozen=True)
class HandsInImage:
    """Every hand MediaPipe found in one image, ``n`` of them (possibly 0).

    image: (n, 21, 3) x, y normalised to [0, 1] of the image's width/height, z (depth from the
    wrist) on the x scale. world: (n, 21, 3) metres, origin near the hand's centre, the image's
    axes. right: (n,) MediaPipe's probability that the hand is a right hand (its handedness
    head, which is often unsure or wrong on blurred hands, so only a hint).
    """

    image: np.ndarray
    world: np.ndarray
    right: np.ndarray

    def __len__(self) -> int:
        return len(self.image)


def resolve_hand_task_path(task_path: str | Path | None) -> Path:
    """The hand ``.task`` bundle to use, checked to be a HandLandmarker bundle."""
    return resolve_bundle(task_path, DEFAULT_HAND_TASK_PATH, _TASK_ENTRIES, "HandLandmarker",
                          "hand_task_path")


class HandLandmarker(VisionTask):
    """A HandLandmarker in VIDEO mode (a found hand is tracked: the palm detector runs only
    while none is) or IMAGE mode (palm detector on every image). Use as a context manager."""

    def __init__(self, task_path: str | Path | None = None, num_hands: int = 1, video: bool = True,
                 min_detection_confidence: float = 0.5, min_presence_confidence: float = 0.5,
                 min_tracking_confidence: float = 0.5):
        if num_hands < 1:
            raise ValueError(f"num_hands must be >= 1, got {num_hands}")
        path = resolve_hand_task_path(task_path)
        options = vision.HandLandmarkerOptions(
            base_options=BaseOptions(model_asset_buffer=path.read_bytes()),
            running_mode=vision.RunningMode.VIDEO if video else vision.RunningMode.IMAGE,
            num_hands=num_hands,
            min_hand_detection_confidence=min_detection_confidence,
            min_hand_presence_confidence=min_presence_confidence,
            min_tracking_confidence=min_tracking_confidence,
        )
        super().__init__(vision.HandLandmarker.create_from_options, options, path, "hand_task_path", video)

    def detect(self, rgb: np.ndarray, time_s: float = 0.0) -> HandsInImage:
        """Hands in one RGB uint8 image (H, W, 3) shown at ``time_s`` seconds (VIDEO mode:
        times are made strictly increasing here)."""
        result = self.run(rgb, time_s)
        n = len(result.hand_landmarks)
        landmarks = np.empty((n, NUM_HAND_LANDMARKS, 3), np.float32)
        world = np.empty((n, NUM_HAND_LANDMARKS, 3), np.float32)
        right = np.empty(n, np.float32)
        for h in range(n):
            landmarks[h] = [(l.x, l.y, l.z) for l in result.hand_landmarks[h]]
            world[h] = [(l.x, l.y, l.z) for l in result.hand_world_landmarks[h]]
            best = result.handedness[h][0]
            right[h] = best.score if best.category_name == "Right" else 1.0 - best.score
        return HandsInImage(landmarks, world, right)
