"""Evaluation metrics for 3D poses (numpy only, no torch).

Inputs are ``(..., 17, 3)`` arrays in metres (any leading shape: a frame, a clip ``(T, 17, 3)``
or a batch ``(B, T, 17, 3)``); the temporal metrics read the time axis as the one just before
the joints (axis ``-3``). Distances come back in millimetres. Every metric is a mean over all
frames (and joints) it is given; :func:`per_joint_mpjpe` keeps the joint axis.

Definitions follow the usual protocols (VideoPose3D, MotionBERT): MPJPE is "protocol #1" after
aligning the roots, P-MPJPE "protocol #2" (per-frame similarity Procrustes), N-MPJPE aligns the
per-frame scale only.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .skeleton import DIRECTION_BONES, NUM_JOINTS, root_centred

_MM_PER_M = 1000.0


def _as_pose_pair(pred, target, min_frames: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Validate and convert a (pred, target) pair of (..., 17, 3) arrays to float64."""
    pred = np.asarray(pred, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    if pred.shape != target.shape:
        raise ValueError(f"pred and target must have the same shape, got {pred.shape} and {target.shape}")
    if pred.ndim < 2 or pred.shape[-2:] != (NUM_JOINTS, 3):
        raise ValueError(f"pred and target must have shape (..., {NUM_JOINTS}, 3), got {pred.shape}")
    if min_frames and (pred.ndim < 3 or pred.shape[-3] < min_frames):
        raise ValueError(
            f"pred and target need a time axis (-3) with at least {min_frames} frames, got {pred.shape}"
        )
    return pred, target


def _joint_errors(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Euclidean distance per joint, (..., 17), in millimetres."""
    return np.linalg.norm(pred - target, axis=-1) * _MM_PER_M


def mpjpe(pred, target) -> float:
    """Mean per-joint position error after aligning the roots (pelvis), in mm."""
    pred, target = _as_pose_pair(pred, target)
    return float(_joint_errors(root_centred(pred), root_centred(target)).mean())


def per_joint_mpjpe(pred, target) -> np.ndarray:
    """Root-aligned MPJPE of each joint, (17,) in mm (the root's entry is 0 by construction)."""
    pred, target = _as_pose_pair(pred, target)
    errors = _joint_errors(root_centred(pred), root_centred(target))
    return errors.reshape(-1, NUM_JOINTS).mean(axis=0)


def masked_mpjpe(pred, target, mask) -> float:
    """Root-aligned MPJPE over the joints where ``mask`` (..., 17) is True, in mm.

    For example the occluded joints (``mask=occluded``) or the visible ones (``~occluded``).
    Returns NaN when the mask selects no joint: the error of an empty set is undefined, and NaN
    keeps a caller from averaging a fake 0 into its results.
    """
    pred, target = _as_pose_pair(pred, target)
    mask = np.asarray(mask)
    if mask.dtype != np.bool_:
        raise ValueError(f"mask must be a boolean array, got dtype {mask.dtype}")
    if mask.shape != pred.shape[:-1]:
        raise ValueError(f"mask must have shape {pred.shape[:-1]}, got {mask.shape}")
    if not mask.any():
        return float("nan")
    errors = _joint_errors(root_centred(pred), root_centred(target))
    return float(errors[mask].mean())


def p_mpjpe(pred, target, joints: Sequence[int] | None = None) -> float:
    """MPJPE after a per-frame similarity (rotation, uniform scale, translation) Procrustes
    alignment of ``pred`` onto ``target``, in mm ("protocol #2").

    ``joints``: align and score only these joints (e.g. ``skeleton.LIMB_JOINTS``); all 17 by
    default. Reflections are excluded: the rotation is forced to det = +1, so a mirrored pose
    still counts as an error.
    """
    pred, target = _as_pose_pair(pred, target)
    if joints is not None:
        pred, target = pred[..., list(joints), :], target[..., list(joints), :]
    mu_pred = pred.mean(axis=-2, keepdims=True)
    mu_target = target.mean(axis=-2, keepdims=True)
    p0 = pred - mu_pred
    t0 = target - mu_target
    # Optimal rotation from the SVD of the 3x3 cross-covariance (Kabsch/Umeyama).
    u, s, vt = np.linalg.svd(np.swapaxes(p0, -1, -2) @ t0)
    det = np.linalg.det(u @ vt)
    flip = np.ones_like(s)
    flip[..., -1] = np.sign(det)  # sign(0) only for degenerate poses, whose error is then p0's
    rotation = (u * flip[..., None, :]) @ vt  # maps p0 rows onto t0 rows: p0 @ rotation ~ t0
    p_norm2 = (p0**2).sum(axis=(-2, -1))
    scale = (s * flip).sum(axis=-1) / np.maximum(p_norm2, np.finfo(np.float64).tiny)
    aligned = scale[..., None, None] * (p0 @ rotation) + mu_target
    return float(_joint_errors(aligned, target).mean())


def n_mpjpe(pred, target) -> float:
    """Root-aligned MPJPE after the per-frame least-squares scale of ``pred``, in mm.

    Scores the pose up to its size: monocular lifting cannot know a person's height.
    """
    pred, target = _as_pose_pair(pred, target)
    pred, target = root_centred(pred), root_centred(target)
    num = (pred * target).sum(axis=(-2, -1), keepdims=True)
    den = (pred * pred).sum(axis=(-2, -1), keepdims=True)
    scale = num / np.maximum(den, np.finfo(np.float64).tiny)
    return float(_joint_errors(scale * pred, target).mean())


def mpjve(pred, target) -> float:
    """Mean per-joint velocity error: root-aligned first differences along time, in mm/frame.

    Multiply by the frame rate for mm/s. Needs at least 2 frames on axis -3.
    """
    pred, target = _as_pose_pair(pred, target, min_frames=2)
    velocity_pred = np.diff(root_centred(pred), n=1, axis=-3)
    velocity_target = np.diff(root_centred(target), n=1, axis=-3)
    return float(_joint_errors(velocity_pred, velocity_target).mean())


def acceleration_error(pred, target) -> float:
    """Mean per-joint acceleration error: root-aligned second differences, in mm/frame².

    Multiply by the frame rate squared for mm/s². Needs at least 3 frames on axis -3; measures
    jitter, which MPJPE barely sees.
    """
    pred, target = _as_pose_pair(pred, target, min_frames=3)
    accel_pred = np.diff(root_centred(pred), n=2, axis=-3)
    accel_target = np.diff(root_centred(target), n=2, axis=-3)
    return float(_joint_errors(accel_pred, accel_target).mean())


_PAIR_I, _PAIR_J = np.triu_indices(NUM_JOINTS, k=1)


def depth_order_accuracy(pred, target, threshold: float = 0.1) -> float:
    """Fraction of joint pairs whose depth order ``pred`` gets right, in [0, 1].

    Counts, in each frame, the pairs (i < j) whose ground-truth depth gap ``|z_i - z_j|``
    (z = axis 2, camera frame, metres) exceeds ``threshold``; a pair is correct when the
    predicted gap has the same sign. Pairs closer than the threshold have no reliable order
    and are left out. Returns NaN when no pair qualifies.
    """
    if threshold < 0:
        raise ValueError(f"threshold must be >= 0 metres, got {threshold}")
    pred, target = _as_pose_pair(pred, target)
    gap_pred = pred[..., _PAIR_I, 2] - pred[..., _PAIR_J, 2]
    gap_target = target[..., _PAIR_I, 2] - target[..., _PAIR_J, 2]
    counted = np.abs(gap_target) > threshold
    if not counted.any():
        return float("nan")
    correct = np.sign(gap_pred) == np.sign(gap_target)
    return float(correct[counted].mean())


_DIRECTION_PARENT = np.array([p for p, _ in DIRECTION_BONES.values()])
_DIRECTION_CHILD = np.array([c for _, c in DIRECTION_BONES.values()])


def bone_direction_errors_deg(pred, target) -> np.ndarray:
    """Angle, in degrees, between predicted and true bone vectors, per pose and per bone of
    :data:`repose_core.skeleton.DIRECTION_BONES` (in its order): shape (..., len(DIRECTION_BONES))."""
    pred, target = _as_pose_pair(pred, target)
    bones_pred = pred[..., _DIRECTION_CHILD, :] - pred[..., _DIRECTION_PARENT, :]
    bones_target = target[..., _DIRECTION_CHILD, :] - target[..., _DIRECTION_PARENT, :]
    # atan2(|a x b|, a . b) is accurate at small angles, where arccos of a clipped cosine is not.
    cross = np.linalg.norm(np.cross(bones_pred, bones_target), axis=-1)
    dot = (bones_pred * bones_target).sum(axis=-1)
    return np.degrees(np.arctan2(cross, dot))


def bone_direction_error_deg(pred, target) -> float:
    """Mean angle, in degrees, between predicted and true bone vectors over
    :data:`repose_core.skeleton.DIRECTION_BONES` (limbs, torso, hip and shoulder lines).

    Independent of bone lengths, so it is fair to skeletons whose bones differ in length, and
    it is what drives an armature's rotations. It is not independent of where a skeleton puts
    a joint: moving the shoulder points turns the upper arms (docs/model_card.md).
    """
    return float(bone_direction_errors_deg(pred, target).mean())
