"""Training batches and fixed validation sets from mocap clips (numpy, vectorised per batch).

A batch is built whole: gather B windows of world joints, optionally vary the body (size and
bone lengths), put one virtual camera in front of each window, mirror half of them, project,
corrupt the 2D like a detector would (``train.synth.occlusion``), and make the lifter features
with ``repose_core.features.lifter_features``. The only Python loops are over joints, bones and
the handful of image sizes, never over samples.

Augmentation: left/right flip (mirrored 2D and 3D together) and body variation (overall size,
bone lengths). 2D scale and translation are covered by the cameras (distance 2.5-7 m, many
focal lengths, the person off-centre); on top of that they would be a no-op, because the
features are pelvis-centred and RMS-scaled per frame.

Batch dict (docs/architecture.md):
    "inputs"     (B, T, 17, 3) float32  lifter features of the (corrupted) 2D
    "target"     (B, T, 17, 3) float32  camera frame, pelvis-relative, metres
    "occluded"   (B, T, 17)    bool     joints the simulated detector could not see
    "confidence" (B, T, 17)    float32  simulated detector confidence
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from repose_core.camera import project, world_to_camera
from repose_core.features import lifter_features
from repose_core.skeleton import JOINT_INDEX, NUM_JOINTS, PARENTS, ROOT, flip_pose

from ..data.mocap import Clip, MotionLibrary
from .cameras import CameraBatch, CameraConfig, sample_cameras
from .occlusion import OcclusionConfig, simulate_detector

# Body variation: overall size, and per-bone length factors tied left/right (and along the
# spine, whose midpoint is synthesised) so the synthesised joints keep their definitions.
_SCALE_RANGE = (0.88, 1.12)
_BONE_JITTER = 0.06
_BONE_GROUPS: tuple[tuple[str, ...], ...] = (
    ("r_hip", "l_hip"), ("r_knee", "l_knee"), ("r_ankle", "l_ankle"), ("spine", "thorax"),
    ("neck_nose",), ("head",), ("r_shoulder", "l_shoulder"), ("r_elbow", "l_elbow"),
    ("r_wrist", "l_wrist"),
)


def _as_clips(clips: MotionLibrary | Sequence[Clip]) -> list[Clip]:
    return list(clips.clips if isinstance(clips, MotionLibrary) else clips)


class _WindowIndex:
    """All windows of ``window`` frames inside clips, as start rows of one concatenated array."""

    def __init__(self, clips: Sequence[Clip], window: int):
        if window < 1:
            raise ValueError(f"window must be >= 1, got {window}")
        usable = [c for c in clips if c.num_frames >= window]
        if not usable:
            longest = max((c.num_frames for c in clips), default=0)
            raise ValueError(f"no clip has {window} frames (window); the longest has {longest}")
        self.frames = np.ascontiguousarray(np.concatenate([c.joints for c in usable]), np.float32)
        offsets = np.cumsum([0] + [c.num_frames for c in usable])[:-1]
        self.starts = np.concatenate(
            [o + np.arange(c.num_frames - window + 1) for o, c in zip(offsets, usable)])
        self.window = window

    def gather(self, starts: np.ndarray) -> np.ndarray:
        """(B, window, 17, 3) float64 world joints."""
        return self.frames[starts[:, None] + np.arange(self.window)].astype(np.float64)


def vary_body(world: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random overall size (about the window's mean pelvis) and bone lengths, (B, T, 17, 3)."""
    b = world.shape[0]
    factor = np.ones((b, NUM_JOINTS))
    for group in _BONE_GROUPS:
        k = rng.uniform(1 - _BONE_JITTER, 1 + _BONE_JITTER, b)
        for name in group:
            factor[:, JOINT_INDEX[name]] = k
    out = world.copy()
    for j in range(NUM_JOINTS):  # PARENTS is in topological order
        p = PARENTS[j]
        if p >= 0:
            out[:, :, j] = out[:, :, p] + (world[:, :, j] - world[:, :, p]) * factor[:, None, j, None]
    centre = out[:, :, ROOT].mean(1)[:, None, None]
    scale = rng.uniform(*_SCALE_RANGE, b)[:, None, None, None]
    return centre + (out - centre) * scale


def synthesise(
    world: np.ndarray,
    rng: np.random.Generator,
    occlusion: OcclusionConfig | None = None,
    flip: bool = False,
    augment: bool = False,
    cameras: CameraConfig = CameraConfig(),
) -> dict[str, np.ndarray]:
    """Batch dict from world joint windows (B, T, 17, 3), metres, Y up."""
    if augment:
        world = vary_body(world, rng)
    b, t = world.shape[:2]
    cams = sample_cameras(rng, world[:, t // 2, ROOT], cameras)
    cam = world_to_camera(world, cams.R[:, None, None], cams.C[:, None, None])
    if flip:
        # Mirroring the camera-frame skeleton is mirroring the image (x -> -x about the
        # principal point) with left and right swapped: one consistent 2D/3D pair.
        mirrored = rng.random(b) < 0.5
        cam[mirrored] = flip_pose(cam[mirrored])
    c = cams.principal
    pixels = project(cam, cams.focal[:, None, None], cams.focal[:, None, None],
                     c[:, None, None, 0], c[:, None, None, 1])
    if occlusion is None:
        confidence = np.ones((b, t, NUM_JOINTS))
        occluded = np.zeros((b, t, NUM_JOINTS), dtype=bool)
    else:
        pixels, confidence, occluded = simulate_detector(cam, pixels, cams, rng, occlusion)
    return {
        "inputs": _features(pixels, confidence, cams),
        "target": (cam - cam[:, :, ROOT:ROOT + 1]).astype(np.float32),
        "occluded": occluded,
        "confidence": confidence.astype(np.float32),
    }


def _features(pixels: np.ndarray, confidence: np.ndarray, cams: CameraBatch) -> np.ndarray:
    """lifter_features per image size (it takes one size per call)."""
    out = np.empty(pixels.shape[:-1] + (3,), dtype=np.float32)
    sizes, group = np.unique(cams.size, axis=0, return_inverse=True)
    for g, (w, h) in enumerate(sizes):
        rows = group.reshape(-1) == g
        out[rows] = lifter_features(pixels[rows], confidence[rows], (int(w), int(h)))
    return out


class SyntheticSampler:
    """Endless random training batches from clips (a :class:`MotionLibrary` or a list).

    Each :meth:`sample` call draws ``batch_size`` windows of ``window`` frames uniformly over
    all frames of all clips, a random camera per window, and (with ``occlusion``) simulated
    detector errors. Same seed, same sequence of batches.
    """

    def __init__(
        self,
        clips: MotionLibrary | Sequence[Clip],
        window: int,
        batch_size: int,
        occlusion: OcclusionConfig | None = None,
        seed: int = 0,
        flip: bool = True,
        augment: bool = True,
        cameras: CameraConfig = CameraConfig(),
    ):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.index = _WindowIndex(_as_clips(clips), window)
        self.window, self.batch_size = window, batch_size
        self.occlusion, self.flip, self.augment, self.cameras = occlusion, flip, augment, cameras
        self.rng = np.random.default_rng(seed)

    def sample(self) -> dict[str, np.ndarray]:
        starts = self.rng.choice(self.index.starts, self.batch_size)
        return synthesise(self.index.gather(starts), self.rng, self.occlusion,
                          self.flip, self.augment, self.cameras)


def build_validation_set(
    clips: MotionLibrary | Sequence[Clip],
    window: int,
    num_windows: int,
    occlusion: OcclusionConfig | None = None,
    seed: int = 0,
    cameras: CameraConfig = CameraConfig(),
) -> dict[str, dict[str, np.ndarray]]:
    """Fixed validation batches: ``{"clean": batch, "occluded": batch}``.

    ``num_windows`` windows evenly spaced over all frames (every clip contributes in proportion
    to its length), one seeded camera each; both variants share windows and cameras, and differ
    only in the simulated detector (``occlusion``, default :class:`OcclusionConfig()`). No flip
    or body variation: validation measures the mocap as it is. Deterministic for a seed.
    """
    index = _WindowIndex(_as_clips(clips), window)
    pick = np.linspace(0, len(index.starts) - 1, num_windows).round().astype(np.int64)
    world = index.gather(index.starts[pick])
    occlusion = OcclusionConfig() if occlusion is None else occlusion
    clean = synthesise(world, np.random.default_rng(seed), None, cameras=cameras)
    occl = synthesise(world, np.random.default_rng(seed), occlusion, cameras=cameras)
    return {"clean": clean, "occluded": occl}
