"""Camera frame <-> Blender world, levelling by gravity, and turning the person to face -Y.

Camera frame (repose_core.camera): x right, y down, z forward, metres. Blender world: Z up.
With a level camera the mapping is a fixed rotation: camera x -> X, camera z (away from the
camera) -> +Y, camera y (down) -> -Z. A person facing the camera then faces -Y, which is also
what the generated armature's rest pose does.

A camera that looks down or up (or is rolled) is levelled first: a lifter with a gravity head
says where the world's up is in the camera frame (``Lifter.lift(...).up``); :func:`clip_up`
makes one direction of the clip's frames (the camera is assumed to stand still),
:func:`balanced_up` corrects it by where the body's weight falls (a person on their feet keeps
the centre of mass over them), and :func:`levelling_rotation` turns the camera frame so that
this direction is the level camera's up, -y.
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

# Body segments for the centre of mass: (joint, joint, where the segment's centre lies from the
# first towards the second, share of the body's mass); Dempster's shares as Winter tabulates
# them, the trunk taken pelvis -> thorax and the head neck -> crown, feet and hands at their joint.
MASS_SEGMENTS: tuple[tuple[str, str, float, float], ...] = (
    ("pelvis", "thorax", 0.5, 0.497), ("neck_nose", "head", 0.5, 0.081),
    ("r_hip", "r_knee", 0.433, 0.100), ("l_hip", "l_knee", 0.433, 0.100),
    ("r_knee", "r_ankle", 0.433, 0.0465), ("l_knee", "l_ankle", 0.433, 0.0465),
    ("r_ankle", "r_ankle", 0.0, 0.0145), ("l_ankle", "l_ankle", 0.0, 0.0145),
    ("r_shoulder", "r_elbow", 0.436, 0.028), ("l_shoulder", "l_elbow", 0.436, 0.028),
    ("r_elbow", "r_wrist", 0.430, 0.016), ("l_elbow", "l_wrist", 0.430, 0.016),
    ("r_wrist", "r_wrist", 0.0, 0.006), ("l_wrist", "l_wrist", 0.0, 0.006),
)
# Where a standing body's weight meets the floor: ahead of the ankles (quiet standing's centre of
# pressure lies some 5 cm in front of the ankle joint), metres.
BALANCE_FORWARD_M: float = 0.05
# Ankles closer in height than this (metres, along the up direction): both feet on the floor.
BALANCE_BOTH_FEET_M: float = 0.05
# Frames whose centre of mass leans further than this from the lifter's up are not standing
# (a lunge, a bow, lying down) and say nothing of where up is.
BALANCE_GATE_DEG: float = 25.0
# With fewer such frames than this share of the clip, the lifter's up is kept as it is.
BALANCE_MIN_SHARE: float = 0.3


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


def body_left(joints: np.ndarray) -> np.ndarray:
    """The person's own left (..., 3), not normalised, of poses (..., 17, 3) in any frame: the hip
    line and the shoulder line summed, each from right to left. Forward is left x up."""
    return (joints[..., JOINT_INDEX["l_hip"], :] - joints[..., JOINT_INDEX["r_hip"], :]) + (
        joints[..., JOINT_INDEX["l_shoulder"], :] - joints[..., JOINT_INDEX["r_shoulder"], :])


def centre_of_mass(joints: np.ndarray) -> np.ndarray:
    """The body's centre of mass (..., 3) from its joints (..., 17, 3), by MASS_SEGMENTS."""
    total = sum(share for *_, share in MASS_SEGMENTS)
    centre = np.zeros(joints.shape[:-2] + (3,))
    for first, second, along, share in MASS_SEGMENTS:
        a, b = joints[..., JOINT_INDEX[first], :], joints[..., JOINT_INDEX[second], :]
        centre = centre + share * (a + along * (b - a))
    return centre / total


def balanced_up(up: np.ndarray, joints: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """The clip's up direction (3,) corrected by balance: half the lifter's ``up`` (3,), half the
    mean direction from where the weight meets the floor to the centre of mass, over the frames
    where the person stands on both feet.

    Someone standing on both feet keeps the centre of mass over them; the lifter's pose and its
    up direction err together (a body leant toward the camera, and up tilted with it), so the
    pose's own balance is a second say on where up is. Frames count where the ankles are level
    (within BALANCE_BOTH_FEET_M along ``up``) and the centre of mass within BALANCE_GATE_DEG of
    ``up``; with fewer than BALANCE_MIN_SHARE of them (a dance on one leg, a balance pose, a
    flip) ``up`` is kept. ``joints`` (T, 17, 3): camera-frame poses; ``weights`` (T,): the
    frames to use (e.g. where a person was found), all by default.
    """
    up = normalize(np.asarray(up, dtype=np.float64))
    joints = np.asarray(joints, dtype=np.float64)
    used = np.ones(len(joints), bool) if weights is None else np.asarray(weights) > 0
    left_ankle, right_ankle = joints[:, JOINT_INDEX["l_ankle"]], joints[:, JOINT_INDEX["r_ankle"]]
    both_feet = np.abs((left_ankle - right_ankle) @ up) < BALANCE_BOTH_FEET_M
    support = (left_ankle + right_ankle) / 2 + BALANCE_FORWARD_M * normalize(np.cross(body_left(joints), up))
    balance = normalize(centre_of_mass(joints) - support)
    standing = used & both_feet & (balance @ up > np.cos(np.radians(BALANCE_GATE_DEG)))
    if standing.sum() < BALANCE_MIN_SHARE * max(1, used.sum()):
        return up
    return normalize(up + normalize(balance[standing].mean(0)))


def levelling_rotation(up: np.ndarray) -> np.ndarray:
    """The smallest rotation (3, 3) of the camera frame that takes ``up`` (3,) to LEVEL_UP."""
    return minimal_rotation(normalize(np.asarray(up, dtype=np.float64)), LEVEL_UP)


def facing_direction(joints: np.ndarray) -> np.ndarray:
    """Horizontal unit facing directions (..., 3) of Blender-world poses (..., 17, 3).

    Forward = left x up, with "left" the mean of the hip line and the shoulder line (the person's
    own left): facing -Y with the left at +X gives (+X) x (+Z) = -Y.
    """
    forward = np.cross(body_left(joints), np.array([0.0, 0.0, 1.0]))
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
