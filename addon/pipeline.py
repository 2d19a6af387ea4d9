"""One import's analysis: video -> detect -> lift -> motion, in numpy (no bpy).

:func:`analyse` runs detection, lifting and :func:`animate`, the motion step, and returns a
:class:`MotionResult`: the :class:`Motion` an armature is keyed with (its rotations, and the
camera it was placed by) and what it came from (the video's frames, the 2D detection). The
add-on's operator runs it in a worker thread while Blender stays responsive; the scene is then
changed in one go by ``import_apply.apply_import``, which the batch tool (``python -m
addon.batch``) calls too.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from repose_core import skeleton
from repose_core.camera import Intrinsics
from repose_core.image_fit import DEFAULT_FOCAL_35MM
from repose_core.progress import Progress

from .camera_match import FootageCamera
from .motion import bone_rotations, fingers, fit, foot_lock, hand_rig, rig, root_motion, smoothing, world

# Whether an import animates the hands unless told otherwise: detecting them takes 1.4-1.5x
# the body-only detection time (docs/benchmarks.md, "Hands"), within the 1.5x we allow.
HANDS_DEFAULT: bool = True

# The stages an import reports progress for, in order.
STAGES: tuple[str, ...] = ("detect", "lift", "animate")


class ImportCancelled(Exception):
    """The user cancelled the import (``cancel()`` returned True)."""


class NoPersonError(ValueError):
    """The video is readable but nobody was detected in the chosen frames."""


@dataclass(frozen=True)
class ImportOptions:
    """What to import and how. Frame numbers are the video's, ``end`` exclusive (None = to the end)."""

    video: Path
    start: int = 0
    end: int | None = None
    stride: int = 1
    model_path: Path | None = None   # None: the lifter shipped with RePOSE
    smoothing: float = 0.5           # 0 (raw lifter output) .. 1 (strongest)
    root_motion: bool = True         # False: the person stays over the origin
    foot_lock: bool = True
    cache_dir: Path | None = None    # detection cache; None: no caching
    focal_35mm: float = DEFAULT_FOCAL_35MM  # assumed camera focal, for root motion
    person: int | None = None        # None: the most prominent person; k: the k-th from the left
    hands: bool = HANDS_DEFAULT      # also detect the hands and animate the fingers

    def __post_init__(self) -> None:
        object.__setattr__(self, "video", Path(self.video))
        if self.model_path is not None:
            object.__setattr__(self, "model_path", Path(self.model_path))
        if self.cache_dir is not None:
            object.__setattr__(self, "cache_dir", Path(self.cache_dir))
        if self.start < 0:
            raise ValueError(f"start frame must be >= 0, got {self.start}")
        if self.end is not None and self.end <= self.start:
            raise ValueError(f"end frame {self.end} must be after start frame {self.start}")
        if self.stride < 1:
            raise ValueError(f"stride must be >= 1, got {self.stride}")
        if not 0.0 <= self.smoothing <= 1.0:
            raise ValueError(f"smoothing must be in [0, 1], got {self.smoothing}")
        if self.focal_35mm <= 0:
            raise ValueError(f"focal_35mm must be positive, got {self.focal_35mm}")
        if self.person is not None and self.person < 0:
            raise ValueError(f"person must be >= 0 (0 = the leftmost), got {self.person}")


@dataclass(frozen=True)
class Motion:
    """The motion an armature is keyed with, in Blender's world frame (Z up, metres)."""

    fps: float                      # keys per second
    joints: np.ndarray              # (T, 17, 3) float32 final joints (fitted, placed, locked)
    rest: rig.RestSkeleton
    rotations: np.ndarray           # (T, 17, 4) float32 local quaternions, rig.BONE_NAMES order
    root_location: np.ndarray       # (T, 3) float32 pose location of the root bone
    contacts: np.ndarray            # (T, 2) bool, left and right foot on the ground
    foot_skate_before: float        # mm/frame during contacts, before foot lock (NaN: no contact)
    foot_skate_after: float         # the same after foot lock (equal to before when it is off)
    camera: FootageCamera | None    # the video's camera the motion was placed by (root motion only)
    up: np.ndarray | None           # (3,) the world's up in the camera frame, levelled by (None: assumed level)
    # The hands (an import with hands): local quaternions (T, 32, 4) of hand_rig.HAND_BONE_NAMES
    # and the rest hands they are relative to; None without hands.
    hand_rotations: np.ndarray | None = None
    hand_rest: hand_rig.HandRest | None = None

    @property
    def num_frames(self) -> int:
        return len(self.joints)

    @property
    def bone_names(self) -> tuple[str, ...]:
        """The armature's bones: the body's, then the hands' when the motion has them."""
        return rig.BONE_NAMES if self.hand_rotations is None else hand_rig.ALL_BONE_NAMES

    @property
    def all_rotations(self) -> np.ndarray:
        """(T, B, 4) local quaternions of every bone, ``bone_names`` order."""
        if self.hand_rotations is None:
            return self.rotations
        return np.concatenate([self.rotations, self.hand_rotations], axis=1)

    def bone_rotations(self) -> dict[str, np.ndarray]:
        """Bone name -> (T, 4) quaternions, the form ``armature.write_bone_keys`` takes."""
        rotations = self.all_rotations
        return {name: rotations[:, b] for b, name in enumerate(self.bone_names)}

    def bone_locations(self) -> dict[str, np.ndarray]:
        """Bone name -> (T, 3) locations: only the root bone moves."""
        return {rig.ROOT_BONE: self.root_location}


@dataclass(frozen=True)
class MotionResult:
    """An import's analysis: the motion and what it was made from."""

    video: str
    frame_indices: np.ndarray       # (T,) video frame of each keyed frame
    image_size: tuple[int, int]
    detection_rate: float
    motion: Motion
    # The 2D detection behind the motion (for previews): (T, 17, 2) pixels, (T, 17), (T,) bool.
    keypoints: np.ndarray
    confidence: np.ndarray
    found: np.ndarray
    warnings: tuple[str, ...] = ()  # what the user should know (a truncated video, resampling)
    # The hands' 2D landmarks (for previews): (T, 2, 21, 2) pixels, the person's left then right,
    # NaN where a hand was not found; None for an import without hands.
    hands: np.ndarray | None = None
    timings: dict[str, float] = field(default_factory=dict)  # seconds per STAGES entry

    @property
    def num_frames(self) -> int:
        return len(self.frame_indices)


def analyse(options: ImportOptions, progress: Progress | None = None,
            cancel: Callable[[], bool] | None = None) -> MotionResult:
    """Run detection, lifting and the motion step. Thread-safe: no bpy.

    Raises :class:`ImportCancelled` when ``cancel()`` turns True, ``repose_core.detect.VideoError``
    for an unusable video, :class:`NoPersonError` when nobody is found,
    ``repose_core.runtime.LifterLoadError`` for a model that does not load.
    """
    from repose_core import load_lifter
    from repose_core.detect import DetectionCancelled, detect_video, resample_constant_rate

    report = progress or (lambda stage, done, total: None)
    timings: dict[str, float] = {}

    def check_cancel() -> None:
        if cancel is not None and cancel():
            raise ImportCancelled(f"import of {options.video} cancelled")

    start_time = time.perf_counter()
    try:
        detection = detect_video(options.video, start=options.start, end=options.end, stride=options.stride,
                                 cache_dir=options.cache_dir, person=options.person, progress=report,
                                 cancel=cancel, hands=options.hands)
    except DetectionCancelled as error:
        raise ImportCancelled(f"import of {options.video} cancelled") from error
    timings["detect"] = time.perf_counter() - start_time
    if not detection.found.any():
        last = "the end" if options.end is None else f"frame {options.end}"
        raise NoPersonError(f"{options.video}: no person found between frame {options.start} and {last}")
    if detection.variable_frame_rate:  # phone footage: one key per scene frame, at its real time
        detection = resample_constant_rate(detection, detection.fps / options.stride)
    check_cancel()

    start_time = time.perf_counter()
    report("lift", 0, 1)
    lifted = load_lifter(options.model_path).lift(detection.keypoints, image_size=detection.image_size,
                                                  confidence=detection.confidence, world=detection.world_joints)
    report("lift", 1, 1)
    timings["lift"] = time.perf_counter() - start_time
    check_cancel()

    start_time = time.perf_counter()
    motion = animate(lifted.pose, detection.keypoints, detection.confidence, detection.found, detection.image_size,
                     detection.fps / options.stride, options, progress=report, up=lifted.up,
                     hand_world=detection.hand_world if options.hands else None,
                     hand_confidence=detection.hand_confidence if options.hands else None)
    timings["animate"] = time.perf_counter() - start_time
    return MotionResult(
        video=str(options.video), frame_indices=detection.frame_indices,
        image_size=tuple(detection.image_size), detection_rate=detection.detection_rate, motion=motion,
        keypoints=detection.keypoints, confidence=detection.confidence, found=detection.found,
        warnings=detection.warnings, timings=timings,
        hands=detection.hands[..., :2] if options.hands and detection.hands is not None else None,
    )


def animate(
    pose: np.ndarray,
    keypoints: np.ndarray,
    confidence: np.ndarray,
    found: np.ndarray,
    image_size: tuple[int, int],
    fps: float,
    options: ImportOptions,
    progress: Progress | None = None,
    up: np.ndarray | None = None,
    hand_world: np.ndarray | None = None,
    hand_confidence: np.ndarray | None = None,
) -> Motion:
    """The motion step: lifted camera-frame poses (T, 17, 3) -> the :class:`Motion` to key.

    smooth -> fit bone lengths -> level by ``up`` (the lifter's (T, 3) up directions, corrected
    by the pose's balance; None assumes a level camera) -> root motion -> feet on the floor ->
    foot lock -> rotations; with the hands' world landmarks (T, 2, 21, 3) and confidence (T, 2)
    (``Detection2D``'s) also the wrists and fingers (``fingers.hand_rotations``), turned into the
    world as the body was.
    """
    report = progress or (lambda stage, done, total: None)
    steps = 5
    smoothed = smoothing.smooth_joints(np.asarray(pose, dtype=np.float64), options.smoothing, fps)
    report("animate", 1, steps)
    lengths = fit.bone_lengths(smoothed, weights=found)
    fitted = skeleton.apply_bone_lengths(smoothed, lengths)
    report("animate", 2, steps)
    clip_up = None if up is None else world.balanced_up(world.clip_up(up, found), fitted, found)
    level = None if clip_up is None else world.levelling_rotation(clip_up)
    camera = speed = None
    if options.root_motion:
        intrinsics = Intrinsics.from_focal_35mm(int(image_size[0]), int(image_size[1]), options.focal_35mm)
        trajectory = root_motion.root_trajectory(fitted, keypoints, confidence, intrinsics, fps)
        placed = root_motion.place_in_world(fitted, fps, trajectory, level)
        camera = FootageCamera(placed.camera_rotation, placed.camera_location, intrinsics.fx)
        # Feet are still in the image when planted; the trajectory's depth jitters.
        speed = root_motion.image_ankle_speed(keypoints, confidence, trajectory[:, 2], intrinsics.fx, fps)
        joints = root_motion.stand_on_floor(placed.joints, fps, speed)
    else:
        placed = root_motion.place_in_world(fitted, fps, level=level)
        joints = placed.joints
    report("animate", 3, steps)
    contacts = foot_lock.detect_contacts(joints, fps, speed=speed)
    skate_before = foot_lock.foot_skate(joints, contacts)
    if options.foot_lock:
        joints = foot_lock.lock_feet(joints, contacts, fps)
    skate_after = foot_lock.foot_skate(joints, contacts)
    report("animate", 4, steps)
    rest = rig.build_rest_skeleton(lengths)
    quaternions, root_location = bone_rotations.pose_from_joints(joints, rest)
    hand_rest = hand_quaternions = None
    if hand_world is not None:
        hand_rest = hand_rig.build_hand_rest(rest)
        hand_quaternions = fingers.hand_rotations(hand_world, hand_confidence, placed.camera_rotation,
                                                  joints, rest, hand_rest, fps, options.smoothing)
    report("animate", 5, steps)
    return Motion(fps=fps, joints=joints.astype(np.float32), rest=rest, rotations=quaternions,
                  root_location=root_location, contacts=contacts, foot_skate_before=skate_before,
                  foot_skate_after=skate_after, camera=camera, up=clip_up,
                  hand_rotations=hand_quaternions, hand_rest=hand_rest)
