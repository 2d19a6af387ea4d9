"""Camera frame <-> Blender world, and turning the person to face -Y at the start.

Camera frame (repose_core.camera): x right, y down, z forward, metres. Blender world: Z up.
With a level camera the mapping is a fixed rotation: camera x -> X, camera z (away from the
camera) -> +Y, camera y (down) -> -Z. A person facing the camera then faces -Y, which is also
what the generated armature's rest pose does.
"""
from __future__ import annotations

import numpy as np

from repose_core.rotations import axis_angle_matrix, normalize
from repose_core.skeleton import JOINT_INDEX

from .rig import FORWARD

# Rows: Blender X, Y, Z expressed in camera coordinates.
CAMERA_TO_BLENDER: np.ndarray = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])

# How much of the clip's start decides which way the person faces.
FACING_WINDOW_SECONDS: float = 0.5


def camera_to_blender(points: np.ndarray) -> np.ndarray:
    """Camera-frame points (..., 3) -> Blender world (..., 3)."""
    return np.asarray(points, dtype=np.float64) @ CAMERA_TO_BLENDER.T


def blender_to_camera(points: np.ndarray) -> np.ndarray:
    """Inverse of :func:`camera_to_blender`."""
    return np.asarray(points, dtype=np.float64) @ CAMERA_TO_BLENDER


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
