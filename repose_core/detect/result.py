"""Detection2D: what the detect step returns, and its ``.npz`` form."""
from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from ..skeleton import ROOT
from .atomic import atomic_output
from .mapping import landmarks_to_h36m

# Bumped whenever the arrays' meaning changes, so old cache files are not mistaken for new.
# Format 3 added the hands; a detection without them is written as format 2, which it is
# array for array, so body-only files (and caches) of format 2 stay valid.
FORMAT_VERSION = 3
BODY_FORMAT_VERSION = 2
# The optional hand arrays: all three or none.
HAND_FIELDS = ("hands", "hand_world", "hand_confidence")


def format_version(hands: bool) -> int:
    """The file format of a detection with or without hands."""
    return FORMAT_VERSION if hands else BODY_FORMAT_VERSION


@dataclass(frozen=True)
class Detection2D:
    """2D pose of one person through a clip, one row per processed frame (T of them).

    keypoints: (T, 17, 2) float32 pixels (H36M-17); NaN where no person and the gap was too
        long to interpolate. Short gaps are filled linearly but keep confidence 0.
    confidence: (T, 17) float32 in [0, 1]; 0 where no person was found.
    landmarks: (T, 33, 4) float32 MediaPipe image landmarks: x, y pixels, z (pixels, on the x
        scale, relative to the hips), visibility; NaN where no person.
    world_landmarks: (T, 33, 3) float32 MediaPipe world landmarks, metres; NaN where no person.
    found: (T,) bool, the person was detected in that frame.
    frame_indices: (T,) int64 frame numbers in the video; times: (T,) float64 seconds.
    image_size: (width, height) after the rotation metadata is applied.
    fps: the container's nominal rate; variable_frame_rate: frame times deviate from it.
    people_seen: the most people MediaPipe found in one frame.
    warnings: what the user should know about the result, one sentence each (e.g. a truncated
        video: where decoding stopped).
    hands: (T, 2, 21, 3) float32 the person's hands, 0 = their left, 1 = their right: MediaPipe's
        21 hand landmarks, x, y pixels, z (pixels, on the x scale, depth from the hand's wrist);
        NaN where that hand was not found. None when hands were not detected (``hands=False``).
    hand_world: (T, 2, 21, 3) float32 MediaPipe's hand world landmarks, metres, the camera's
        axes, origin near the hand's centre, with the depth the right way round for that side;
        NaN where not found; None without hands.
    hand_confidence: (T, 2) float32, 0 where that hand was not found, else the body's
        confidence in that wrist times how well the hand's wrist agrees with it (MediaPipe's
        Tasks API gives no score of its own per hand landmark); None without hands.
    """

    keypoints: np.ndarray
    confidence: np.ndarray
    landmarks: np.ndarray
    world_landmarks: np.ndarray
    found: np.ndarray
    frame_indices: np.ndarray
    times: np.ndarray
    image_size: tuple[int, int]
    fps: float
    variable_frame_rate: bool
    people_seen: int
    video: str
    warnings: tuple[str, ...] = ()
    hands: np.ndarray | None = None
    hand_world: np.ndarray | None = None
    hand_confidence: np.ndarray | None = None

    def __post_init__(self) -> None:
        present = [getattr(self, name) is not None for name in HAND_FIELDS]
        if any(present) and not all(present):
            raise ValueError(f"Detection2D: {', '.join(HAND_FIELDS)} come together (all or none)")

    @property
    def has_hands(self) -> bool:
        """Whether hands were detected (the arrays are there; a hand may still be unseen)."""
        return self.hands is not None

    @property
    def missing_frames(self) -> np.ndarray:
        """Frame numbers in which the followed person was not found."""
        return self.frame_indices[~self.found]

    @property
    def world_joints(self) -> np.ndarray:
        """MediaPipe's own 3D as H36M-17 (T, 17, 3) float32: its world landmarks mapped by the
        joint rules of ``mapping``, pelvis at the origin, metres; NaN where no person. What a
        lifter that reads the detector's 3D takes (``Lifter.predict(..., world=...)``)."""
        visibility = np.nan_to_num(self.landmarks[..., 3], nan=0.0)
        joints, _ = landmarks_to_h36m(self.world_landmarks, visibility)
        return (joints - joints[:, ROOT:ROOT + 1]).astype(np.float32)

    @property
    def detection_rate(self) -> float:
        """Fraction of processed frames in which the person was found."""
        return float(self.found.mean()) if len(self.found) else 0.0

    def __len__(self) -> int:
        return len(self.frame_indices)

    def save(self, path: str | Path) -> Path:
        """Write to ``path`` (.npz) via a temporary file and a rename: never half-written."""
        path = Path(path)
        arrays = {f.name: np.asarray(getattr(self, f.name)) for f in fields(self)
                  if getattr(self, f.name) is not None}
        arrays["warnings"] = np.asarray(self.warnings, dtype=str)  # () would be float64
        arrays["format_version"] = np.asarray(format_version(self.has_hands))
        with atomic_output(path) as temp, open(temp, "wb") as f:
            np.savez(f, **arrays)  # to a file object: np.savez(path) would append ".npz"
        return path

    @classmethod
    def load(cls, path: str | Path) -> "Detection2D":
        """Read a file written by :meth:`save`; ValueError if it is not one (of format 2,
        without hands, or 3, with them)."""
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {name: data[name] for name in data.files}
        except (OSError, ValueError) as error:
            raise ValueError(f"{path}: not a readable keypoints .npz: {error}") from error
        version = int(arrays.pop("format_version", -1))
        names = {f.name for f in fields(cls)}
        hands = version == FORMAT_VERSION
        if not hands:
            names -= set(HAND_FIELDS)
        if version not in (BODY_FORMAT_VERSION, FORMAT_VERSION) or set(arrays) != names:
            raise ValueError(f"{path}: not a RePOSE keypoints file of format "
                             f"{BODY_FORMAT_VERSION} or {FORMAT_VERSION}")
        return cls(
            **{k: arrays[k] for k in names - {"image_size", "fps", "variable_frame_rate",
                                                "people_seen", "video", "warnings"}},
            image_size=tuple(int(v) for v in arrays["image_size"]),
            fps=float(arrays["fps"]),
            variable_frame_rate=bool(arrays["variable_frame_rate"]),
            people_seen=int(arrays["people_seen"]),
            video=str(arrays["video"]),
            warnings=tuple(str(w) for w in arrays["warnings"]),
        )
