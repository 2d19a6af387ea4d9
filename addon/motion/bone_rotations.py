"""Per-bone rotations for the generated armature from world joint positions.

Joint positions fix each bone's direction but not its twist about its own axis; the twist is
taken from the body frame:
- pelvis, spine, chest: the hip line and the shoulder line (the spine blends the two);
- thighs and upper arms: the knee / elbow plane when the limb is bent (its normal is the hinge
  axis, the bone's local X), blending to the swing-from-parent twist as the limb straightens,
  where the plane is undefined;
- every other bone: the smallest swing from where its parent carries it ("parent-following"),
  i.e. no twist of its own.
World frames are then turned into local quaternions relative to the parent and the rest pose,
exactly as Blender composes pose bones (pose = parent_pose @ rest_parent^-1 @ rest @ basis),
and made sign-continuous over time.
"""
from __future__ import annotations

import numpy as np

from repose_core.rotations import (
    axis_angle_matrix,
    frame_from_axes,
    make_continuous,
    matrix_to_quaternion,
    minimal_rotation,
    normalize,
    quaternion_to_matrix,
)
from repose_core.skeleton import JOINT_INDEX, NUM_JOINTS

from .rig import (
    BONE_HEAD_JOINT,
    BONE_INDEX,
    BONE_NAMES,
    BONE_PARENTS,
    BONE_TAIL_JOINT,
    RestSkeleton,
)

# Limb bones whose twist follows their hinge (knee / elbow), with the joint past the hinge.
HINGED_BONES: dict[str, int] = {
    "thigh.L": JOINT_INDEX["l_ankle"],
    "thigh.R": JOINT_INDEX["r_ankle"],
    "upper_arm.L": JOINT_INDEX["l_wrist"],
    "upper_arm.R": JOINT_INDEX["r_wrist"],
}
# Bend (sine of the hinge angle) below which the plane is too noisy to trust, and above which
# it fully decides the twist: about 6 and 24 degrees.
HINGE_SIN_MIN: float = 0.1
HINGE_SIN_FULL: float = 0.4
# Frames converted at once: the 3x3 frames of 17 bones take ~1.2 kB per frame in float64.
CHUNK_FRAMES: int = 8192


def world_frames(joints: np.ndarray, rest: RestSkeleton) -> np.ndarray:
    """Bone frames (T, 17, 3, 3) in the world for Blender-world joints (T, 17, 3)."""
    joints = np.asarray(joints, dtype=np.float64)
    if joints.ndim != 3 or joints.shape[1:] != (NUM_JOINTS, 3):
        raise ValueError(f"joints must have shape (T, {NUM_JOINTS}, 3), got {joints.shape}")
    J = JOINT_INDEX
    hip_line = joints[:, J["l_hip"]] - joints[:, J["r_hip"]]
    shoulder_line = joints[:, J["l_shoulder"]] - joints[:, J["r_shoulder"]]
    up = joints[:, J["spine"]] - joints[:, J["pelvis"]]
    frames = np.empty((len(joints), len(BONE_NAMES), 3, 3))
    frames[:, BONE_INDEX["pelvis"]] = frame_from_axes(up, hip_line)
    frames[:, BONE_INDEX["spine"]] = frame_from_axes(up, normalize(hip_line) + normalize(shoulder_line))
    frames[:, BONE_INDEX["chest"]] = frame_from_axes(joints[:, J["thorax"]] - joints[:, J["spine"]], shoulder_line)
    for b, name in enumerate(BONE_NAMES):
        if name in ("pelvis", "spine", "chest"):
            continue
        parent = BONE_PARENTS[b]
        direction = normalize(joints[:, BONE_TAIL_JOINT[b]] - joints[:, BONE_HEAD_JOINT[b]])
        following = frames[:, parent] @ (rest.frames[parent].T @ rest.frames[b])
        frames[:, b] = minimal_rotation(following[:, :, 1], direction) @ following
        if name in HINGED_BONES:
            frames[:, b] = _hinge_twist(frames[:, b], direction, joints[:, BONE_TAIL_JOINT[b]],
                                        joints[:, HINGED_BONES[name]])
    return frames


def _hinge_twist(frame: np.ndarray, direction: np.ndarray, hinge: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Twist ``frame`` about its Y axis so X becomes the hinge axis, by how bent the limb is."""
    normal = np.cross(direction, normalize(end - hinge))
    bend = np.linalg.norm(normal, axis=-1)
    axis_x = normal / np.maximum(bend, 1e-9)[:, None]
    current_x = frame[:, :, 0]
    angle = np.arctan2((np.cross(current_x, axis_x) * direction).sum(-1), (current_x * axis_x).sum(-1))
    t = np.clip((bend - HINGE_SIN_MIN) / (HINGE_SIN_FULL - HINGE_SIN_MIN), 0.0, 1.0)
    weight = t * t * (3 - 2 * t)
    return axis_angle_matrix(direction, weight * angle) @ frame


def local_rotations(frames: np.ndarray, rest: RestSkeleton) -> np.ndarray:
    """World bone frames (T, 17, 3, 3) -> pose-bone rotation matrices (T, 17, 3, 3).

    These are Blender's ``matrix_basis`` rotations: relative to the parent's pose and to the
    rest offset between parent and bone (for the root, relative to its rest frame).
    """
    local = np.empty_like(frames)
    for b, parent in enumerate(BONE_PARENTS):
        if parent < 0:
            local[:, b] = rest.frames[b].T @ frames[:, b]
        else:
            rest_relative = rest.frames[parent].T @ rest.frames[b]
            local[:, b] = rest_relative.T @ np.swapaxes(frames[:, parent], -1, -2) @ frames[:, b]
    return local


def pose_from_joints(joints: np.ndarray, rest: RestSkeleton) -> tuple[np.ndarray, np.ndarray]:
    """Keys for the generated armature from fitted Blender-world joints (T, 17, 3).

    Returns local quaternions (T, 17, 4) ``(w, x, y, z)`` in BONE_NAMES order, sign-continuous
    over time, and the root bone's location (T, 3) in its rest frame (Blender's pose location).
    ``joints`` must have the rest skeleton's bone lengths (``repose_core.skeleton.apply_bone_lengths``).
    """
    joints = np.asarray(joints, dtype=np.float64)
    quaternions = np.empty((len(joints), len(BONE_NAMES), 4), dtype=np.float32)
    for start in range(0, len(joints), CHUNK_FRAMES):  # frames are independent: bound the memory
        chunk = world_frames(joints[start : start + CHUNK_FRAMES], rest)
        quaternions[start : start + CHUNK_FRAMES] = matrix_to_quaternion(local_rotations(chunk, rest))
    quaternions = make_continuous(quaternions)
    root = BONE_INDEX["pelvis"]
    root_location = (joints[:, BONE_HEAD_JOINT[root]] - rest.heads[root]) @ rest.frames[root]
    return quaternions, root_location.astype(np.float32)


def forward_kinematics(quaternions: np.ndarray, root_location: np.ndarray, rest: RestSkeleton) -> np.ndarray:
    """World joints (T, 17, 3) of the armature posed by ``pose_from_joints``'s keys.

    The same composition Blender uses, so tests and benchmarks can check keys without Blender.
    """
    rotations = quaternion_to_matrix(quaternions)
    count = len(quaternions)
    frames = np.empty((count, len(BONE_NAMES), 3, 3))
    heads = np.empty((count, len(BONE_NAMES), 3))
    joints = np.empty((count, NUM_JOINTS, 3))
    for b, parent in enumerate(BONE_PARENTS):
        if parent < 0:
            frames[:, b] = rest.frames[b] @ rotations[:, b]
            heads[:, b] = rest.heads[b] + np.asarray(root_location, dtype=np.float64) @ rest.frames[b].T
            joints[:, BONE_HEAD_JOINT[b]] = heads[:, b]
        else:
            rest_relative = rest.frames[parent].T @ rest.frames[b]
            frames[:, b] = frames[:, parent] @ rest_relative @ rotations[:, b]
            offset = rest.frames[parent].T @ (rest.heads[b] - rest.heads[parent])
            heads[:, b] = heads[:, parent] + frames[:, parent] @ offset
        if BONE_TAIL_JOINT[b] >= 0:
            joints[:, BONE_TAIL_JOINT[b]] = heads[:, b] + frames[:, b, :, 1] * rest.bone_lengths[b]
    return joints
