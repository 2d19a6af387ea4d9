"""Fit one skeleton to the lifted motion: constant bone lengths, each bone's direction kept.

A lifter predicts every frame on its own, so its bones stretch and shrink by a few centimetres
from frame to frame; an armature cannot. We take each bone's median length over the clip (robust
to the frames where a joint was occluded or mis-detected), average left and right so the
armature is symmetric, then rebuild the joints outward from the pelvis along the lifted bone
directions with those lengths (``repose_core.skeleton.apply_bone_lengths``).
"""
from __future__ import annotations

import numpy as np

from repose_core import skeleton
from repose_core.skeleton import NUM_JOINTS, SYMMETRY_PAIRS


def bone_lengths(joints: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Per-joint bone lengths (17,): entry ``j`` is the length of the bone ending at joint ``j``.

    joints: (T, 17, 3). weights: optional (T,) bool/float, frames to use (e.g. frames where a
    person was detected); all frames when None. Entry 0 (the root) is 0. Left and right bones get
    the mean of their two medians.
    """
    joints = np.asarray(joints, dtype=np.float64)
    if joints.ndim != 3 or joints.shape[1:] != (NUM_JOINTS, 3):
        raise ValueError(f"joints must have shape (T, {NUM_JOINTS}, 3), got {joints.shape}")
    if weights is not None:
        selected = joints[np.asarray(weights) > 0]
        joints = selected if len(selected) else joints
    lengths = np.median(skeleton.bone_lengths(joints), axis=0)   # the root's: 0
    for left, right in SYMMETRY_PAIRS:
        lengths[left] = lengths[right] = 0.5 * (lengths[left] + lengths[right])
    return lengths
