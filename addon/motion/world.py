"""Camera frame <-> Blender world, levelling by gravity, and turning the person to face -Y.

Camera frame (repose_core.camera): x right, y down, z forward, metres. Blender world: Z up.
With a level camera the mapping is a fixed rotation: camera x -> X, camera z (away from the
camera) -> +Y, camera y (down) -> -Z. A person facing the camera then faces -Y, which is also
what the generated armature's rest pose does.

A camera that looks down or up (or is rolled) is levelled first: a lifter with a gravity head
says where the world's up is in the camera frame (``Lifter.lift(...).up``); :func:`clip_up`
makes one direction of the clip's frames (the camera is assumed to stand still) and
:func:`levelling_rotation` turns the camera frame so that this direction is the level camera's
up, -y.
"""
from __future__ import annotations

import numpy as np

from repose_core.rotations import axis_angle_matrix, minimal_rotation, normalize
from repose_core.skeleton import JOINT_INDEX

from .rig import FORWARD

# Rows: Blender X, Y, Z expressed in camera coordinates.
CAMERA_TO_BLENDER: np.ndarray = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])

# How much of the clip's start decides which way the person faces.
FACING_WINDOW_SECONDS: float = 0.5
# The level camera's up in its own frame (y points down the image).
LEVEL_UP: np.ndarray = np.array([0.0, -1.0, 0.0])
# clip_up drops the frames whose estimate strays furthest, this share of them.
UP_OUTLIER_SHARE: float = 0.2


def clip_up(up: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """One up direction (3,) for a clip from per-frame estimates (T, 3), camera frame.

    The weighted mean direction, taken again without the UP_OUTLIER_SHARE of frames furthest
    from it: a frame where the person lies down or flips may fool the lifter, a clip does not.
    ``weights`` (T,): e.g. the frames where a person was found; all frames by default.
    """
    up = normalize(np.asarray(up, dtype=np.float64))
    w = np.ones(len(up)) if weights is None else np.asarray(weights, dtype=np.float64)
    if not (w > 0).any():
        w = np.ones(len(up))
    first = normalize((w[:, None] * up).sum(0))
    stray = up @ first
    kept = w * (stray >= np.quantile(stray[w > 0], UP_OUTLIER_SHARE))
    return normalize((kept[:, None] * up).sum(0))


def levelling_rotation(up: np.ndarray) -> np.ndarray:
    """The smallest rotation (3, 3) of the camera frame that takes ``up`` (3,) to LEVEL_UP."""
    return minimal_rotation(normalize(np.asarray(up, dtype=np.float64)), LEVEL_UP)


def facing_direction(joints: np.ndarray) -> np.ndarray:
    """Horizontal unit facing directions (..., 3) of Blender-world poses (..., 17, 3).

    Forward = left x up, with "left" the mean of the hip line and the shoulder line (the person's
    own left): facing -Y with the left at +X gives (+X) x (+Z) = -Y.
    """
    left = (joints[..., JOINT_INDEX["l_hip"], :] - joints[..., JOINT_INDEX["r_hip"], :]) + (
        joints[..., JOINT_INDEX["l_shoulder"], :] - joints[..., JOINT_INDEX["r_shoulder"], :]
    )
    forward = np.cross(left, np.array([0.0, 0.0, 1.0]))
    forward[..., 2] = 0.0
    return normalize(forward)


def start_yaw_rotation(joints: np.ndarray, fps: float) -> np.ndarray:
    """Rotation (3, 3) about Z that turns the mean facing of the clip's start to -Y."""
    window = max(1, int(round(FACING_WINDOW_SECONDS * fps)))
    facing = normalize(facing_direction(joints[:window]).mean(0))
    if np.linalg.norm(facing) < 0.5:  # no consistent facing (turning fast): keep as is
        return np.eye(3)
    angle = np.arctan2(
        facing[0] * FORWARD[1] - facing[1] * FORWARD[0], facing[0] * FORWARD[0] + facing[1] * FORWARD[1]
    )
    return axis_angle_matrix(np.array([0.0, 0.0, 1.0]), np.asarray(angle))
