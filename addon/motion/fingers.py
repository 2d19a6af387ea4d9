"""Wrist and finger rotations from MediaPipe's hand landmarks (numpy, no bpy).

Per hand and frame, the landmarks (MediaPipe's hand world landmarks, camera axes) are put in
the hand's own frame (``repose_core.palm.palm_frame``: from the wrist, the index and the little-finger
bases); then

- the ``hand`` bone takes that frame, turned into the world as the body was placed (the camera
  -> world rotation of ``root_motion.place_in_world``), relative to the forearm, its swing
  limited to WRIST_SWING_LIMIT;
- each finger's knuckle is a universal joint: a spread about the bone's Z, then a curl about its
  X; the two further joints are hinges: a curl about X. Spread and curls are clamped to a
  human hand's range (FINGER_LIMITS);
- the thumb's first bone swings to where its metacarpal points (at most THUMB_SWING_LIMIT) and
  twists so that its X is the axis the rest of the thumb curls about (at most
  THUMB_TWIST_LIMIT); its two further joints are hinges like the fingers'.

Over time: frames where a hand was not found are bridged (interpolated) when the gap is short;
a hand lost for longer eases into a relaxed pose (RELAXED) over RELAX_SECONDS and back out of it
when it is found again, so nothing ever jumps; then everything is smoothed. Left stays left:
the hands come from the detector already assigned to the body's wrists.
"""
from __future__ import annotations

import numpy as np

from repose_core.palm import INDEX_BASE, WRIST, palm_frame
from repose_core.rotations import (
    axis_angle_matrix, make_continuous, matrix_to_quaternion, minimal_rotation, normalize,
    quaternion_to_matrix,
)
from repose_core.temporal import gaussian_smooth

from .bone_rotations import CHUNK_FRAMES, world_frames
from .hand_rig import FINGER_LANDMARKS, FINGERS, HAND_BONE_INDEX, HAND_BONE_NAMES, SIDES, HandRest
from .rig import BONE_INDEX, RestSkeleton

# Limits, degrees: (min, max). Curl is positive towards the palm, spread about the palm normal.
FINGER_LIMITS: dict[str, tuple[float, float]] = {
    "spread": (-20.0, 20.0),   # at the knuckle, sideways
    "curl1": (-25.0, 95.0),    # knuckle (MCP)
    "curl2": (-5.0, 110.0),    # middle joint (PIP)
    "curl3": (-10.0, 90.0),    # end joint (DIP)
}
THUMB_LIMITS: dict[str, tuple[float, float]] = {
    "curl2": (-15.0, 70.0),    # thumb's MCP
    "curl3": (-20.0, 85.0),    # thumb's IP
}
THUMB_SWING_LIMIT: float = 60.0
THUMB_TWIST_LIMIT: float = 50.0
WRIST_SWING_LIMIT: float = 85.0
# A relaxed hand (degrees): fingers a little curled, thumb nearly straight; wrist straight.
RELAXED: dict[str, float] = {"spread": 0.0, "curl1": 15.0, "curl2": 20.0, "curl3": 10.0,
                             "thumb_curl2": 10.0, "thumb_curl3": 10.0}
# A hand whose detection confidence is below this counts as not found.
MIN_CONFIDENCE: float = 0.1
# Gaps up to this long are bridged between the frames around them; a hand lost for longer
# relaxes over RELAX_SECONDS from where it was last seen (and likewise back to where it is
# seen again).
BRIDGE_SECONDS: float = 0.25
RELAX_SECONDS: float = 0.3
# Gaussian smoothing of the hand's tracks: sigma = base + per_strength x the import's smoothing.
SMOOTHING_SECONDS: tuple[float, float] = (0.02, 0.05)
# Thumb twist: the curl plane decides it fully from this bend (sine of the angle) upwards,
# not at all below THUMB_BEND_MIN (a straight thumb has no curl plane).
THUMB_BEND_MIN, THUMB_BEND_FULL = 0.1, 0.4

_X, _Y, _Z = np.eye(3)
# Per hand, the angle track's columns: the thumb's two curls, then per finger spread and curls.
_FOUR = FINGERS[1:]
ANGLE_NAMES: tuple[str, ...] = ("thumb_curl2", "thumb_curl3") + tuple(
    f"{finger}_{part}" for finger in _FOUR for part in ("spread", "curl1", "curl2", "curl3"))


def _limits() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    low, high, relaxed = [], [], []
    for name in ANGLE_NAMES:
        if name.startswith("thumb_"):
            part = name.removeprefix("thumb_")
            limits, rest = THUMB_LIMITS[part], RELAXED[name]
        else:
            part = name.rsplit("_", 1)[1]
            limits, rest = FINGER_LIMITS[part], RELAXED[part]
        low.append(limits[0])
        high.append(limits[1])
        relaxed.append(rest)
    return tuple(np.radians(v) for v in (low, high, relaxed))


ANGLE_LOW, ANGLE_HIGH, ANGLE_RELAXED = _limits()


def _rx(angle: np.ndarray) -> np.ndarray:
    return axis_angle_matrix(np.broadcast_to(_X, np.shape(angle) + (3,)), angle)


def _rz(angle: np.ndarray) -> np.ndarray:
    return axis_angle_matrix(np.broadcast_to(_Z, np.shape(angle) + (3,)), angle)


def _hinge_curl(frame: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """Curl about the frame's X (T,) that points its Y closest to ``direction`` (T, 3)."""
    local = np.einsum("tji,tj->ti", frame, direction)
    return np.arctan2(local[:, 2], local[:, 1])


def _limit_swing(rotation: np.ndarray, limit_deg: float) -> np.ndarray:
    """Rotations (T, 3, 3) whose swing of the Y axis is at most ``limit_deg``; twist kept."""
    y = rotation[:, :, 1]
    angle = np.arccos(np.clip(y[:, 1], -1.0, 1.0))
    limit = np.radians(limit_deg)
    over = angle > limit
    if not over.any():
        return rotation
    swing = minimal_rotation(np.broadcast_to(_Y, y.shape), y)
    twist = np.swapaxes(swing, -1, -2) @ rotation
    axis = normalize(np.cross(np.broadcast_to(_Y, y.shape), y))
    limited = axis_angle_matrix(axis, np.full(len(y), limit)) @ twist
    return np.where(over[:, None, None], limited, rotation)


def _thumb(local: np.ndarray, rest_relative: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The thumb's first bone's rotation from rest (T, 3, 3) and its two curls (T, 2), from
    landmarks (T, 21, 3) in the hand's frame; ``rest_relative``: thumb.01's rest frame there."""
    cmc, mcp, ip, tip = FINGER_LANDMARKS["thumb"]
    d1 = normalize(local[:, mcp] - local[:, cmc])
    d2 = normalize(local[:, ip] - local[:, mcp])
    d3 = normalize(local[:, tip] - local[:, ip])
    rest_y = np.broadcast_to(rest_relative[:, 1], d1.shape)
    swing_angle = np.arccos(np.clip((rest_y * d1).sum(-1), -1.0, 1.0))
    axis = normalize(np.cross(rest_y, d1))
    swing = axis_angle_matrix(axis, np.minimum(swing_angle, np.radians(THUMB_SWING_LIMIT)))
    following = swing @ rest_relative
    x, y = following[:, :, 0], following[:, :, 1]
    hinge = np.cross(d1, d2) + np.cross(d2, d3)
    bend = np.linalg.norm(hinge, axis=-1) / 2.0
    hinge = hinge - (hinge * y).sum(-1, keepdims=True) * y
    hinge = np.where(((hinge * x).sum(-1) < 0)[:, None], -hinge, hinge)  # the sense nearest X
    twist = np.arctan2((np.cross(x, hinge) * y).sum(-1), (x * hinge).sum(-1))
    t = np.clip((bend - THUMB_BEND_MIN) / (THUMB_BEND_FULL - THUMB_BEND_MIN), 0.0, 1.0)
    limit = np.radians(THUMB_TWIST_LIMIT)
    twist = np.clip(t * t * (3 - 2 * t) * twist, -limit, limit)
    first = axis_angle_matrix(y, twist) @ following
    curl2 = _hinge_curl(first, d2)
    curl3 = _hinge_curl(first @ _rx(curl2), d3)
    return rest_relative.T @ first, np.stack([curl2, curl3], -1)


def _fingers(local: np.ndarray, hand_rest: HandRest, body: RestSkeleton, side: str) -> np.ndarray:
    """Spread and curls (T, 16) of the four fingers, ANGLE_NAMES order, from landmarks in the
    hand's frame."""
    out = []
    for finger in _FOUR:
        base, middle, end, tip = FINGER_LANDMARKS[finger]
        rest_relative = hand_rest.relative(HAND_BONE_INDEX[f"{finger}.01.{side}"], body)
        d1 = normalize(local[:, middle] - local[:, base])
        e = d1 @ rest_relative  # in the knuckle bone's rest frame
        curl1 = np.arcsin(np.clip(e[:, 2], -1.0, 1.0))
        # Spread is ill-defined for a knuckle curled to 90 degrees: fade it out from 60.
        spread = np.arctan2(-e[:, 0], e[:, 1]) * np.clip(np.cos(curl1) / 0.5, 0.0, 1.0)
        first = rest_relative @ _rz(spread) @ _rx(curl1)
        curl2 = _hinge_curl(first, normalize(local[:, end] - local[:, middle]))
        curl3 = _hinge_curl(first @ _rx(curl2), normalize(local[:, tip] - local[:, end]))
        out += [spread, curl1, curl2, curl3]
    return np.stack(out, -1)


def _bridge_weights(valid: np.ndarray, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """For each frame: how much of the seen pose it keeps (1 seen or bridged, easing to 0
    RELAX_SECONDS into a long gap), and the two seen frames (before, after) it interpolates
    between with the fraction between them."""
    frames = np.arange(len(valid))
    seen = np.flatnonzero(valid)
    after_i = np.clip(np.searchsorted(seen, frames), 0, len(seen) - 1)
    before_i = np.clip(after_i - (seen[after_i] > frames), 0, len(seen) - 1)
    before, after = seen[before_i], seen[after_i]
    span = np.maximum(after - before, 1)
    fraction = np.where(after > before, (frames - before) / span, 0.0)
    distance = np.minimum(np.abs(frames - before), np.abs(after - frames))
    gap = np.where((before < frames) & (frames < after), after - before - 1, np.inf)
    bridged = valid | (gap <= BRIDGE_SECONDS * fps)
    t = np.clip(1.0 - distance / max(RELAX_SECONDS * fps, 1.0), 0.0, 1.0)
    keep = np.where(bridged, 1.0, t * t * (3 - 2 * t))
    return keep, np.stack([before, after], -1), fraction


def relax_angles(angles: np.ndarray, valid: np.ndarray, relaxed: np.ndarray, fps: float) -> np.ndarray:
    """Angle tracks (T, D) filled where not ``valid``: bridged over short gaps, easing to
    ``relaxed`` (D,) in long ones and where no frame is valid."""
    if not valid.any():
        return np.broadcast_to(relaxed, angles.shape).copy()
    keep, (ends), fraction = _bridge_weights(valid, fps)
    seen = (1 - fraction)[:, None] * angles[ends[:, 0]] + fraction[:, None] * angles[ends[:, 1]]
    return relaxed + keep[:, None] * (seen - relaxed)


def relax_rotations(quaternions: np.ndarray, valid: np.ndarray, fps: float) -> np.ndarray:
    """Quaternion tracks (T, 4) filled likewise, easing to the identity (the rest pose)."""
    identity = np.array([1.0, 0.0, 0.0, 0.0])
    if not valid.any():
        return np.tile(identity, (len(quaternions), 1))
    q = np.array(quaternions, dtype=np.float64)
    q[valid] = make_continuous(q[valid])
    keep, ends, fraction = _bridge_weights(valid, fps)
    seen = normalize((1 - fraction)[:, None] * q[ends[:, 0]] + fraction[:, None] * q[ends[:, 1]])
    seen = np.where((seen[:, :1] < 0), -seen, seen)  # the same rotations, nearest the identity
    return normalize(identity + keep[:, None] * (seen - identity))


def _smooth_rotations(quaternions: np.ndarray, sigma: float) -> np.ndarray:
    return normalize(gaussian_smooth(make_continuous(quaternions), sigma))


def forearm_frames(joints: np.ndarray, rest: RestSkeleton) -> np.ndarray:
    """World frames (T, 2, 3, 3) of the left and right forearm bones of the posed body."""
    bones = [BONE_INDEX["forearm.L"], BONE_INDEX["forearm.R"]]
    return np.concatenate([world_frames(joints[start:start + CHUNK_FRAMES], rest)[:, bones]
                           for start in range(0, len(joints), CHUNK_FRAMES)])


def hand_rotations(hand_world: np.ndarray, hand_confidence: np.ndarray, camera_rotation: np.ndarray,
                   joints: np.ndarray, rest: RestSkeleton, hand_rest: HandRest, fps: float,
                   smoothing: float = 0.5) -> np.ndarray:
    """Local quaternions (T, 32, 4) ``(w, x, y, z)`` of the hand bones (HAND_BONE_NAMES order).

    hand_world: (T, 2, 21, 3) MediaPipe hand world landmarks, camera axes, left then right (NaN
    where not found); hand_confidence: (T, 2); camera_rotation: (3, 3) camera -> Blender world,
    as the body was placed; joints: (T, 17, 3) the body's final Blender-world joints, with
    ``rest``'s bone lengths; smoothing: the import's 0..1.
    """
    hand_world = np.asarray(hand_world, dtype=np.float64)
    count = len(hand_world)
    forearms = forearm_frames(np.asarray(joints, dtype=np.float64), rest)
    sigma = (SMOOTHING_SECONDS[0] + SMOOTHING_SECONDS[1] * smoothing) * fps
    out = np.zeros((count, len(HAND_BONE_NAMES), 4))
    for s, side in enumerate(SIDES):
        points = np.nan_to_num(hand_world[:, s])
        valid = (np.asarray(hand_confidence)[:, s] >= MIN_CONFIDENCE) & np.isfinite(
            hand_world[:, s]).all((-1, -2))
        palm = palm_frame(points, side == "L")
        valid &= np.linalg.norm(points[:, INDEX_BASE] - points[:, WRIST], axis=-1) > 1e-4
        local = np.einsum("tji,tkj->tki", palm, points - points[:, WRIST:WRIST + 1])
        hand = HAND_BONE_INDEX[f"hand.{side}"]
        world_hand = camera_rotation @ palm
        forearm_rest_relative = hand_rest.relative(hand, rest)
        wrist = forearm_rest_relative.T @ np.swapaxes(forearms[:, s], -1, -2) @ world_hand
        wrist = _limit_swing(wrist, WRIST_SWING_LIMIT)
        thumb_first, thumb_curls = _thumb(local, hand_rest.relative(
            HAND_BONE_INDEX[f"thumb.01.{side}"], rest))
        angles = np.concatenate([thumb_curls, _fingers(local, hand_rest, rest, side)], -1)
        angles = np.clip(angles, ANGLE_LOW, ANGLE_HIGH)

        angles = gaussian_smooth(relax_angles(angles, valid, ANGLE_RELAXED, fps), sigma)
        wrist_q = _smooth_rotations(relax_rotations(matrix_to_quaternion(wrist), valid, fps), sigma)
        thumb_q = _smooth_rotations(relax_rotations(matrix_to_quaternion(thumb_first), valid, fps),
                                    sigma)
        out[:, hand] = wrist_q
        out[:, HAND_BONE_INDEX[f"thumb.01.{side}"]] = thumb_q
        column = dict(zip(ANGLE_NAMES, angles.T))
        for k in (2, 3):
            out[:, HAND_BONE_INDEX[f"thumb.0{k}.{side}"]] = matrix_to_quaternion(
                _rx(column[f"thumb_curl{k}"]))
        for finger in _FOUR:
            first = _rz(column[f"{finger}_spread"]) @ _rx(column[f"{finger}_curl1"])
            out[:, HAND_BONE_INDEX[f"{finger}.01.{side}"]] = matrix_to_quaternion(first)
            for k in (2, 3):
                out[:, HAND_BONE_INDEX[f"{finger}.0{k}.{side}"]] = matrix_to_quaternion(
                    _rx(column[f"{finger}_curl{k}"]))
    return make_continuous(out).astype(np.float32)


def finger_angles(quaternions: np.ndarray) -> np.ndarray:
    """Spread and curls (T, 2, 18) in ANGLE_NAMES order (radians) back from hand keys
    (T, 32, 4) as :func:`hand_rotations` makes them (the thumb's first bone is left out)."""
    rotations = quaternion_to_matrix(quaternions)
    out = np.zeros(quaternions.shape[:1] + (2, len(ANGLE_NAMES)))
    for s, side in enumerate(SIDES):
        values = []
        for k in (2, 3):
            m = rotations[:, HAND_BONE_INDEX[f"thumb.0{k}.{side}"]]
            values.append(np.arctan2(m[:, 2, 1], m[:, 1, 1]))
        for finger in _FOUR:
            m = rotations[:, HAND_BONE_INDEX[f"{finger}.01.{side}"]]
            y = m[:, :, 1]
            values += [np.arctan2(-y[:, 0], y[:, 1]), np.arcsin(np.clip(y[:, 2], -1, 1))]
            for k in (2, 3):
                m = rotations[:, HAND_BONE_INDEX[f"{finger}.0{k}.{side}"]]
                values.append(np.arctan2(m[:, 2, 1], m[:, 1, 1]))
        out[:, s] = np.stack(values, -1)
    return out
