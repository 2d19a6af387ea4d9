"""The generated armature: bone names, which joints each bone spans, and its rest pose.

One bone per H36M-17 edge plus a root bone ``pelvis`` (docs/architecture.md, "Generated
armature"). Everything here is in Blender's world frame: Z up, the person faces -Y, so the
person's left is +X.

Each bone's frame is a 3x3 matrix whose columns are the bone's local X, Y, Z axes in world
coordinates (Blender's convention: Y runs from head to tail). The rest pose is a T-pose built
from the fitted bone lengths; the rest X axes are chosen so that knee and elbow flexion is a
rotation about the bone's local X axis, which is what animators expect to key.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from repose_core.rotations import frame_from_axes
from repose_core.skeleton import JOINT_INDEX, NUM_JOINTS

# (bone name, parent bone name or None, head joint, tail joint). ``pelvis`` has no tail joint:
# it points up from the pelvis joint with a fixed length (it only carries the root transform).
BONE_LAYOUT: tuple[tuple[str, str | None, str, str | None], ...] = (
    ("pelvis", None, "pelvis", None),
    ("spine", "pelvis", "pelvis", "spine"),
    ("chest", "spine", "spine", "thorax"),
    ("neck", "chest", "thorax", "neck_nose"),
    ("head", "neck", "neck_nose", "head"),
    ("hip.L", "pelvis", "pelvis", "l_hip"),
    ("thigh.L", "hip.L", "l_hip", "l_knee"),
    ("shin.L", "thigh.L", "l_knee", "l_ankle"),
    ("hip.R", "pelvis", "pelvis", "r_hip"),
    ("thigh.R", "hip.R", "r_hip", "r_knee"),
    ("shin.R", "thigh.R", "r_knee", "r_ankle"),
    ("shoulder.L", "chest", "thorax", "l_shoulder"),
    ("upper_arm.L", "shoulder.L", "l_shoulder", "l_elbow"),
    ("forearm.L", "upper_arm.L", "l_elbow", "l_wrist"),
    ("shoulder.R", "chest", "thorax", "r_shoulder"),
    ("upper_arm.R", "shoulder.R", "r_shoulder", "r_elbow"),
    ("forearm.R", "upper_arm.R", "r_elbow", "r_wrist"),
)
BONE_NAMES: tuple[str, ...] = tuple(b[0] for b in BONE_LAYOUT)
BONE_INDEX: dict[str, int] = {name: i for i, name in enumerate(BONE_NAMES)}
BONE_PARENTS: tuple[int, ...] = tuple(-1 if p is None else BONE_INDEX[p] for _, p, _, _ in BONE_LAYOUT)
BONE_HEAD_JOINT: tuple[int, ...] = tuple(JOINT_INDEX[h] for _, _, h, _ in BONE_LAYOUT)
BONE_TAIL_JOINT: tuple[int, ...] = tuple(-1 if t is None else JOINT_INDEX[t] for _, _, _, t in BONE_LAYOUT)
ROOT_BONE: str = "pelvis"

# The root bone spans no joint pair; 10 cm keeps it visible and easy to click in the viewport.
PELVIS_BONE_LENGTH: float = 0.10
# The ankle joint sits above the floor (the foot is not part of H36M-17); the rest pose and the
# ground estimate both put it at this height.
ANKLE_HEIGHT: float = 0.08

_LEFT_X = np.array([1.0, 0.0, 0.0])
_UP_Z = np.array([0.0, 0.0, 1.0])
# The way the person faces at rest (and, after placing, at the clip's start).
FORWARD: np.ndarray = np.array([0.0, -1.0, 0.0])

# Rest-pose directions (head -> tail) and the reference for each bone's local X axis.
# Knees: flexion moves the ankle backward, so the hinge axis is the person's left (+X) for both
# legs. T-pose arms: flexion moves the hand forward, so the hinge axis is -Z for the left arm and
# +Z for the right; the lateral bones (hips, shoulders) take the same rule as their arm.
_NECK_DIR = np.array([0.0, -0.35, 1.0])
_HEAD_DIR = np.array([0.0, 0.35, 1.0])
_REST_DIRECTION_AND_X: dict[str, tuple[np.ndarray, np.ndarray]] = {
    "pelvis": (_UP_Z, _LEFT_X),
    "spine": (_UP_Z, _LEFT_X),
    "chest": (_UP_Z, _LEFT_X),
    "neck": (_NECK_DIR / np.linalg.norm(_NECK_DIR), _LEFT_X),
    "head": (_HEAD_DIR / np.linalg.norm(_HEAD_DIR), _LEFT_X),
    "hip.L": (_LEFT_X, -_UP_Z),
    "thigh.L": (-_UP_Z, _LEFT_X),
    "shin.L": (-_UP_Z, _LEFT_X),
    "hip.R": (-_LEFT_X, _UP_Z),
    "thigh.R": (-_UP_Z, _LEFT_X),
    "shin.R": (-_UP_Z, _LEFT_X),
    "shoulder.L": (_LEFT_X, -_UP_Z),
    "upper_arm.L": (_LEFT_X, -_UP_Z),
    "forearm.L": (_LEFT_X, -_UP_Z),
    "shoulder.R": (-_LEFT_X, _UP_Z),
    "upper_arm.R": (-_LEFT_X, _UP_Z),
    "forearm.R": (-_LEFT_X, _UP_Z),
}


@dataclass(frozen=True)
class RestSkeleton:
    """The generated armature's rest pose (Blender world, metres)."""

    bone_lengths: np.ndarray  # (17,) per bone in BONE_NAMES order (pelvis: PELVIS_BONE_LENGTH)
    heads: np.ndarray         # (17, 3) bone heads
    frames: np.ndarray        # (17, 3, 3) bone frames, columns = local X, Y, Z axes

    @property
    def tails(self) -> np.ndarray:
        return self.heads + self.frames[:, :, 1] * self.bone_lengths[:, None]

    @property
    def joints(self) -> np.ndarray:
        """(17, 3) H36M joints of the rest pose."""
        joints = np.zeros((NUM_JOINTS, 3))
        tails = self.tails
        for b, tail_joint in enumerate(BONE_TAIL_JOINT):
            if tail_joint >= 0:
                joints[tail_joint] = tails[b]
        joints[BONE_HEAD_JOINT[0]] = self.heads[0]
        return joints


def joint_bone_lengths(joint_lengths: np.ndarray) -> np.ndarray:
    """Per-bone lengths (17,) in BONE_NAMES order from per-joint bone lengths (17,).

    ``joint_lengths[j]`` is the length of the bone ending at joint ``j`` (repose_core order;
    ``joint_lengths[0]`` is unused), which is what ``fit.bone_lengths`` returns.
    """
    return np.array([PELVIS_BONE_LENGTH if t < 0 else joint_lengths[t] for t in BONE_TAIL_JOINT], dtype=np.float64)


def build_rest_skeleton(joint_lengths: np.ndarray) -> RestSkeleton:
    """T-pose rest skeleton standing on the floor (ankles at ANKLE_HEIGHT), facing -Y."""
    lengths = joint_bone_lengths(np.asarray(joint_lengths, dtype=np.float64))
    leg = lengths[BONE_INDEX["thigh.L"]] + lengths[BONE_INDEX["shin.L"]]
    heads = np.zeros((len(BONE_NAMES), 3))
    frames = np.zeros((len(BONE_NAMES), 3, 3))
    for b, name in enumerate(BONE_NAMES):
        direction, x_ref = _REST_DIRECTION_AND_X[name]
        frames[b] = frame_from_axes(direction, x_ref)
        parent = BONE_PARENTS[b]
        if parent < 0:
            heads[b] = (0.0, 0.0, ANKLE_HEIGHT + leg)
        elif BONE_HEAD_JOINT[b] == BONE_HEAD_JOINT[parent]:
            heads[b] = heads[parent]  # siblings of the root start at the pelvis joint too
        else:
            heads[b] = heads[parent] + frames[parent][:, 1] * lengths[parent]
    return RestSkeleton(bone_lengths=lengths, heads=heads, frames=frames)
