"""Training batches and fixed validation sets from mocap clips (numpy, vectorised per batch).

A batch is built whole: gather B windows of world joints, optionally vary the body (size and
bone lengths), put one virtual camera in front of each window, mirror half of them, project,
corrupt the 2D like a detector would (``train.synth.occlusion``), and make the lifter features
with ``repose_core.features.lifter_features``. The only Python loops are over joints, bones and
the handful of image sizes, never over samples.

Augmentation: left/right flip (mirrored 2D and 3D together) and body variation (overall size,
bone lengths, where shoulders and hips sit, random limb turns: :class:`BodyConfig`). 2D scale
and translation are covered by the cameras (distance 2.5-7 m, many focal lengths, the person
off-centre); on top of that they would be a no-op, because the features are pelvis-centred and
RMS-scaled per frame.

Batch dict (docs/architecture.md):
    "inputs"     (B, T, 17, 3) float32  lifter features of the (corrupted) 2D
    "target"     (B, T, 17, 3) float32  camera frame, pelvis-relative, metres
    "occluded"   (B, T, 17)    bool     joints the simulated detector could not see
    "confidence" (B, T, 17)    float32  simulated detector confidence
    "up"         (B, T, 3)     float32  the world's up direction in the camera frame (unit)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from repose_core.camera import project, world_to_camera
from repose_core.features import lifter_features
from repose_core.rotations import axis_angle_matrix, frame_from_axes, normalize
from repose_core.skeleton import JOINT_INDEX, NUM_JOINTS, ROOT, flip_direction, flip_pose, root_centred, scale_bones

from ..data.mocap import Clip, MotionLibrary
from .cameras import WORLD_UP, CameraBatch, CameraConfig, sample_cameras
from .occlusion import OcclusionConfig, simulate_detector

# Per-bone length factors are tied left/right (and along the spine, whose midpoint is
# synthesised) so the synthesised joints keep their definitions.
_BONE_GROUPS: tuple[tuple[str, ...], ...] = (
    ("r_hip", "l_hip"), ("r_knee", "l_knee"), ("r_ankle", "l_ankle"), ("spine", "thorax"),
    ("neck_nose",), ("head",), ("r_shoulder", "l_shoulder"), ("r_elbow", "l_elbow"),
    ("r_wrist", "l_wrist"),
)

# Limbs that body variation turns as a whole: root joint first, then the joints it carries.
_LIMB_CHAINS: dict[str, tuple[str, ...]] = {"arm": ("shoulder", "elbow", "wrist"),
                                            "leg": ("hip", "knee", "ankle")}


@dataclass(frozen=True)
class BodyConfig:
    """Body variation of training windows (``synth.augment``); validation never varies bodies.

    ``scale_range``: overall size factor. ``bone_jitter``: per-bone length factor in
    1 +- jitter; it moves a joint and everything below it, so no bone changes direction.
    ``shoulder_shift_m`` / ``hip_shift_m``: move both shoulder (hip) points by up to this many
    metres, in or out along their line, leaving elbows (knees) where they are, as skeleton
    families place these joints differently (the MotionBuilder conversion's shoulder joints are
    0.37 m apart, the Daz one's 0.23 m). For libraries of other skeletons: on the shipped data it
    changed nothing (docs/model_card.md).
    ``arm_rotation_deg``: turn each whole arm (elbow and wrist about the shoulder; the elbow
    angle is kept) by up to this angle about a random axis, fixed in the torso frame for the
    window: arm carriages the training people never had, so the lifter reads arm depth from the
    2D instead of from their habits. Unseen people lean their upper arms ~8 degrees off the
    lifter's guess otherwise (bench/bench_bone_directions.py).
    ``leg_rotation_deg``: the same for each whole leg (knee and ankle about the hip).
    A value of 0 draws no random number, so earlier runs keep their batches.
    """

    scale_range: tuple[float, float] = (0.88, 1.12)
    bone_jitter: float = 0.06
    shoulder_shift_m: float = 0.0
    hip_shift_m: float = 0.0
    arm_rotation_deg: float = 0.0
    leg_rotation_deg: float = 0.0


def _as_clips(clips: MotionLibrary | Sequence[Clip]) -> list[Clip]:
    return list(clips.clips if isinstance(clips, MotionLibrary) else clips)


def padded_to(clip: Clip, frames: int) -> Clip:
    """``clip`` held at its first and last frames to ``frames`` frames (centred), as the runtime
    pads a video's ends; longer clips are returned as they are."""
    short = frames - clip.num_frames
    if short <= 0:
        return clip
    joints = np.pad(clip.joints, ((short // 2, short - short // 2), (0, 0), (0, 0)), mode="edge")
    return Clip(clip.name, clip.subject, clip.family, clip.fps, joints)


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
        self.start_clip = np.concatenate(
            [np.full(c.num_frames - window + 1, i) for i, c in enumerate(usable)])
        self.clip_names = [c.name for c in usable]
        self.window = window

    def evenly_spaced(self, count: int) -> np.ndarray:
        """Indices into ``starts`` of ``count`` windows spread evenly over all frames."""
        return np.linspace(0, len(self.starts) - 1, count).round().astype(np.int64)

    def gather(self, starts: np.ndarray) -> np.ndarray:
        """(B, window, 17, 3) float64 world joints."""
        return self.frames[starts[:, None] + np.arange(self.window)].astype(np.float64)


def _shift_pair(world: np.ndarray, left: int, right: int, max_shift: float,
                rng: np.random.Generator) -> None:
    """Move a left/right joint pair apart or together by up to ``max_shift`` each, in place.

    Symmetric about the pair's midpoint, so the joints synthesised from it (pelvis, thorax,
    spine) stay where they are; one shift per window, as a skeleton's definition is constant.
    """
    shift = rng.uniform(-max_shift, max_shift, world.shape[0])[:, None, None]
    line = normalize(world[:, :, left] - world[:, :, right])
    world[:, :, left] += shift * line
    world[:, :, right] -= shift * line


def _turn_limbs(world: np.ndarray, limb: str, max_degrees: float, rng: np.random.Generator) -> None:
    """Turn each ``limb`` ("arm" or "leg") about its root joint by a random rotation fixed in the
    torso frame, in place."""
    b = world.shape[0]
    torso = frame_from_axes(world[:, :, JOINT_INDEX["thorax"]] - world[:, :, JOINT_INDEX["pelvis"]],
                            world[:, :, JOINT_INDEX["l_hip"]] - world[:, :, JOINT_INDEX["r_hip"]])
    for side in ("l", "r"):
        root, *moved = (JOINT_INDEX[f"{side}_{j}"] for j in _LIMB_CHAINS[limb])
        pivot = world[:, :, root]
        axis = normalize(rng.normal(size=(b, 3)))
        turn = axis_angle_matrix(axis, np.radians(max_degrees) * rng.uniform(0.0, 1.0, b))
        # The same turn in every frame's torso axes: it moves with the body, not the world.
        turn_world = torso @ turn[:, None] @ np.swapaxes(torso, -1, -2)
        for j in moved:
            world[:, :, j] = pivot + np.einsum("btij,btj->bti", turn_world, world[:, :, j] - pivot)


def vary_body(world: np.ndarray, rng: np.random.Generator, body: BodyConfig = BodyConfig()) -> np.ndarray:
    """Random joint placement, arm carriage, bone lengths and overall size (about the window's
    mean pelvis), (B, T, 17, 3)."""
    b = world.shape[0]
    world = world.copy()
    if body.shoulder_shift_m:
        _shift_pair(world, JOINT_INDEX["l_shoulder"], JOINT_INDEX["r_shoulder"], body.shoulder_shift_m, rng)
    if body.hip_shift_m:
        _shift_pair(world, JOINT_INDEX["l_hip"], JOINT_INDEX["r_hip"], body.hip_shift_m, rng)
    if body.arm_rotation_deg:
        _turn_limbs(world, "arm", body.arm_rotation_deg, rng)
    if body.leg_rotation_deg:
        _turn_limbs(world, "leg", body.leg_rotation_deg, rng)
    factor = np.ones((b, NUM_JOINTS))
    for group in _BONE_GROUPS:
        k = rng.uniform(1 - body.bone_jitter, 1 + body.bone_jitter, b)
        for name in group:
            factor[:, JOINT_INDEX[name]] = k
    out = scale_bones(world, factor[:, None])
    centre = out[:, :, ROOT].mean(1)[:, None, None]
    scale = rng.uniform(*body.scale_range, b)[:, None, None, None]
    return centre + (out - centre) * scale


def synthesise(
    world: np.ndarray,
    rng: np.random.Generator,
    occlusion: OcclusionConfig | None = None,
    flip: bool = False,
    body: BodyConfig | None = None,
    cameras: CameraConfig = CameraConfig(),
) -> dict[str, np.ndarray]:
    """Batch dict from world joint windows (B, T, 17, 3), metres, Y up; ``body``: vary bodies."""
    if body is not None:
        world = vary_body(world, rng, body)
    b, t = world.shape[:2]
    cams = sample_cameras(rng, world[:, t // 2, ROOT], cameras)
    cam = world_to_camera(world, cams.R[:, None, None], cams.C[:, None, None])
    up = np.repeat((cams.R @ WORLD_UP)[:, None], t, axis=1)
    if flip:
        # Mirroring the camera-frame skeleton is mirroring the image (x -> -x about the
        # principal point) with left and right swapped: one consistent 2D/3D pair.
        mirrored = rng.random(b) < 0.5
        cam[mirrored] = flip_pose(cam[mirrored])
        up[mirrored] = flip_direction(up[mirrored])
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
        "target": root_centred(cam).astype(np.float32),
        "occluded": occluded,
        "confidence": confidence.astype(np.float32),
        "up": up.astype(np.float32),
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
    all frames of all clips (or, with ``clip_weights``, each clip's windows in proportion to its
    weight per window), a random camera per window, and (with ``occlusion``) simulated detector
    errors. Clips shorter than a window are skipped, or with ``pad_short_clips`` held at their
    ends to one window (short acrobatics, as a video of them would be padded). Same seed, same
    sequence of batches.
    """

    def __init__(
        self,
        clips: MotionLibrary | Sequence[Clip],
        window: int,
        batch_size: int,
        occlusion: OcclusionConfig | None = None,
        seed: int = 0,
        flip: bool = True,
        body: BodyConfig | None = BodyConfig(),
        cameras: CameraConfig = CameraConfig(),
        clip_weights: Sequence[float] | None = None,
        pad_short_clips: bool = False,
    ):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        clips = _as_clips(clips)
        if pad_short_clips:
            clips = [padded_to(c, window) for c in clips]
        self.index = _WindowIndex(clips, window)
        self.p = None
        if clip_weights is not None:
            usable = [w for c, w in zip(clips, clip_weights) if c.num_frames >= window]
            per_window = np.asarray(usable, dtype=np.float64)[self.index.start_clip]
            self.p = per_window / per_window.sum()
        self.window, self.batch_size = window, batch_size
        self.occlusion, self.flip, self.body, self.cameras = occlusion, flip, body, cameras
        self.rng = np.random.default_rng(seed)

    def sample(self) -> dict[str, np.ndarray]:
        starts = self.rng.choice(self.index.starts, self.batch_size, p=self.p)
        return synthesise(self.index.gather(starts), self.rng, self.occlusion,
                          self.flip, self.body, self.cameras)


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
    world = index.gather(index.starts[index.evenly_spaced(num_windows)])
    occlusion = OcclusionConfig() if occlusion is None else occlusion
    clean = synthesise(world, np.random.default_rng(seed), None, cameras=cameras)
    occl = synthesise(world, np.random.default_rng(seed), occlusion, cameras=cameras)
    return {"clean": clean, "occluded": occl}


def validation_window_clips(clips: MotionLibrary | Sequence[Clip], window: int, num_windows: int) -> list[str]:
    """Name of the clip each window of :func:`build_validation_set` comes from, in its order."""
    index = _WindowIndex(_as_clips(clips), window)
    return [index.clip_names[i] for i in index.start_clip[index.evenly_spaced(num_windows)]]
