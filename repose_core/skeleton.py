"""The Human3.6M-17 joint set every part of RePOSE speaks.

Order and names follow the usual H36M-17 convention (VideoPose3D, MotionBERT). "l_" is the
person's own left. How each joint is obtained from MediaPipe and from mocap is written down in
docs/joint_definitions.md; both sides follow the same rules so that training 2D resembles
inference 2D.
"""
from __future__ import annotations

import numpy as np

JOINTS: tuple[str, ...] = (
    "pelvis",      # 0
    "r_hip",       # 1
    "r_knee",      # 2
    "r_ankle",     # 3
    "l_hip",       # 4
    "l_knee",      # 5
    "l_ankle",     # 6
    "spine",       # 7
    "thorax",      # 8
    "neck_nose",   # 9
    "head",        # 10
    "l_shoulder",  # 11
    "l_elbow",     # 12
    "l_wrist",     # 13
    "r_shoulder",  # 14
    "r_elbow",     # 15
    "r_wrist",     # 16
)
NUM_JOINTS: int = len(JOINTS)
JOINT_INDEX: dict[str, int] = {name: i for i, name in enumerate(JOINTS)}
ROOT: int = JOINT_INDEX["pelvis"]

# Parent of each joint (-1 for the root).
PARENTS: tuple[int, ...] = (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15)

# Bones as (parent, child) index pairs, one per non-root joint, in joint order.
BONES: tuple[tuple[int, int], ...] = tuple(
    (p, c) for c, p in enumerate(PARENTS) if p >= 0
)

LEFT_JOINTS: tuple[int, ...] = (4, 5, 6, 11, 12, 13)
RIGHT_JOINTS: tuple[int, ...] = (1, 2, 3, 14, 15, 16)
SYMMETRY_PAIRS: tuple[tuple[int, int], ...] = tuple(zip(LEFT_JOINTS, RIGHT_JOINTS))


def _flip_permutation() -> tuple[int, ...]:
    perm = list(range(NUM_JOINTS))
    for left, right in SYMMETRY_PAIRS:
        perm[left], perm[right] = right, left
    return tuple(perm)


# Index array that swaps left and right joints: mirrored[..., j, :] = pose[..., FLIP_PERMUTATION[j], :].
FLIP_PERMUTATION: tuple[int, ...] = _flip_permutation()

# Joint pairs for the spatial depth-order loss "neighbours" option: every bone, plus the pairs
# one joint apart along the skeleton (grandparent-grandchild) and the left/right counterparts,
# which are exactly the orderings that self-occlusion makes ambiguous (which knee is in front,
# is the hand in front of the hip).
def _neighbour_pairs() -> tuple[tuple[int, int], ...]:
    pairs = set()
    for p, c in BONES:
        pairs.add((min(p, c), max(p, c)))
        g = PARENTS[p]
        if g >= 0:
            pairs.add((min(g, c), max(g, c)))
    for a, b in SYMMETRY_PAIRS:
        pairs.add((min(a, b), max(a, b)))
    return tuple(sorted(pairs))


NEIGHBOUR_PAIRS: tuple[tuple[int, int], ...] = _neighbour_pairs()

# Bones whose direction error the metrics report (they drive an armature's rotations and are
# robust to skeleton families placing joints differently): thighs, shins, upper arms, forearms,
# torso, hip line, shoulder line.
DIRECTION_BONES: dict[str, tuple[int, int]] = {
    "r_thigh": (1, 2),
    "r_shin": (2, 3),
    "l_thigh": (4, 5),
    "l_shin": (5, 6),
    "l_upper_arm": (11, 12),
    "l_forearm": (12, 13),
    "r_upper_arm": (14, 15),
    "r_forearm": (15, 16),
    "torso": (0, 8),
    "hip_line": (1, 4),
    "shoulder_line": (14, 11),
}


# The 12 limb joints (hips, knees, ankles, shoulders, elbows, wrists): what every skeleton and
# detector places alike, unlike the pelvis, spine, neck and head points.
LIMB_JOINTS: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 11, 12, 13, 14, 15, 16)


def root_centred(pose):
    """Poses (..., 17, 3) with the pelvis moved to the origin: the frame every lifter's output,
    training target and error metric is in. Takes numpy arrays and torch tensors alike."""
    return pose - pose[..., ROOT : ROOT + 1, :]


_MIN_BONE_LENGTH = 1e-6   # metres; a shorter bone has no direction of its own


def bone_lengths(pose: np.ndarray) -> np.ndarray:
    """Length of the bone that ends at each joint, per pose: (..., 17, 3) -> (..., 17); the
    root's entry is 0."""
    return np.linalg.norm(pose - pose[..., [max(p, 0) for p in PARENTS], :], axis=-1)


def scale_bones(pose: np.ndarray, factor: np.ndarray) -> np.ndarray:
    """Poses (..., 17, 3) rebuilt from the pelvis out with every bone (parent -> joint ``j``)
    ``factor[..., j]`` times as long and pointing the same way; ``factor`` (..., 17) broadcasts
    against the pose's leading axes (the root's entry is unused)."""
    factor = np.asarray(factor, dtype=pose.dtype)
    out = pose.copy()
    for j, p in enumerate(PARENTS):   # parents come first
        if p >= 0:
            out[..., j, :] = out[..., p, :] + (pose[..., j, :] - pose[..., p, :]) * factor[..., j, None]
    return out


def apply_bone_lengths(joints: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Rebuild joints (T, 17, 3) with constant ``lengths`` (17,), keeping the root and directions.

    A bone of zero length in the input keeps the direction of the previous frame (or points up
    in the camera frame, -y, if it never had one) rather than producing NaNs.
    """
    joints = np.asarray(joints, dtype=np.float64)
    fitted = np.empty_like(joints)
    fitted[:, 0] = joints[:, 0]
    for child in range(1, NUM_JOINTS):  # PARENTS lists every parent before its children
        parent = PARENTS[child]
        offset = joints[:, child] - joints[:, parent]
        norm = np.linalg.norm(offset, axis=-1)
        direction = offset / np.maximum(norm, _MIN_BONE_LENGTH)[:, None]
        degenerate = norm < _MIN_BONE_LENGTH
        if degenerate.any():
            direction = _fill_degenerate(direction, degenerate)
        fitted[:, child] = fitted[:, parent] + lengths[child] * direction
    return fitted


def _fill_degenerate(direction: np.ndarray, degenerate: np.ndarray) -> np.ndarray:
    """Directions (T, 3) with each degenerate frame's taken from the frame before (or -y)."""
    direction = direction.copy()
    degenerate = degenerate.copy()
    fallback = np.array([0.0, -1.0, 0.0])
    for t in np.flatnonzero(degenerate):
        direction[t] = direction[t - 1] if t > 0 and not degenerate[t - 1] else fallback
        degenerate[t] = False
    return direction


def flip_direction(direction: np.ndarray) -> np.ndarray:
    """Mirror directions (..., 3) about x = 0, as :func:`flip_pose` mirrors a pose: the world's
    up seen in a mirrored video, for instance."""
    return direction * np.array([-1.0, 1.0, 1.0], dtype=direction.dtype)


def flip_pose(pose: np.ndarray) -> np.ndarray:
    """Mirror a pose (..., 17, D) about the x axis: negate x and swap left/right joints.

    Works for root-centred or screen-centred coordinates (mirroring about x = 0).
    """
    mirrored = pose[..., FLIP_PERMUTATION, :].copy()
    mirrored[..., 0] *= -1
    return mirrored
