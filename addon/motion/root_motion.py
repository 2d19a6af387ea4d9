"""Global root motion: where the pelvis is in the world, from the 2D track and the lifted pose.

Each frame's translation comes from projecting the pelvis-relative pose onto the detector's
joints (``repose_core.image_fit.solve_root_translation``, with an assumed focal: one view of a
moving person does not pin it down, and a wrong focal scales the trajectory's depth but keeps it
smooth and aligned with the footage); this module smooths it into a trajectory and puts the
motion in Blender's world, on the floor.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from repose_core.camera import Intrinsics
from repose_core.image_fit import MIN_CONFIDENCE, MIN_JOINTS, solve_root_translation
from repose_core.skeleton import JOINT_INDEX

from .foot_lock import CONTACT_SMOOTHING_SECONDS, ContactSettings, detect_contacts, without_short_runs
from .rig import ANKLE_HEIGHT
from repose_core.temporal import fill_gaps, gaussian_smooth
from .world import CAMERA_TO_BLENDER, start_yaw_rotation

# Depth from apparent size is the noisiest part of the trajectory: smooth it over ~0.1 s.
DEPTH_SMOOTHING_SECONDS: float = 0.1
# The floor is this percentile of the lower ankle's height (robust to a few jumps and glitches).
GROUND_PERCENTILE: float = 5.0
# stand_on_floor smooths its height correction over this long: steps, not single frames.
CONTACT_FLOOR_SECONDS: float = 0.25
# ... and finds contacts against the lowest ankle within this long a stretch (a step or two).
FLOOR_WINDOW_SECONDS: float = 1.5
# A foot held still this long, no higher than the other, is planted however far the height has
# drifted; a jump's apex is still for about 0.1 s only.
HELD_SECONDS: float = 0.25
# Another part of the body (a knee, the hands, the back) lower than the feet for this long rests
# on the floor: kneeling, sitting, lying, a cartwheel's hands. A flip's head passes in ~0.2 s.
RESTING_SECONDS: float = 0.3
# Nobody stays in the air longer than this (a jump of 0.8 m; people's jumps rise 0.3-0.5 m, in the
# air 0.5-0.65 s): a body held above the floor for longer is brought down to it.
MAX_FLIGHT_SECONDS: float = 0.8

_ANKLES = (JOINT_INDEX["l_ankle"], JOINT_INDEX["r_ankle"])


def _floor_clearance() -> np.ndarray:
    """How high each joint sits above the floor when that part of the body rests on it (m)."""
    clearance = np.full(len(JOINT_INDEX), 0.10)   # pelvis, hips, spine, neck, head lying down
    for name, metres in {"l_ankle": ANKLE_HEIGHT, "r_ankle": ANKLE_HEIGHT, "l_knee": 0.05,
                         "r_knee": 0.05, "l_shoulder": 0.06, "r_shoulder": 0.06, "l_elbow": 0.04,
                         "r_elbow": 0.04, "l_wrist": 0.03, "r_wrist": 0.03}.items():
        clearance[JOINT_INDEX[name]] = metres
    return clearance


# The floor is under the body's lowest part, whichever it is: for a person on their feet that is
# a foot (the ankle ANKLE_HEIGHT above it), for one kneeling or lying down it is not.
FLOOR_CLEARANCE: np.ndarray = _floor_clearance()
_NOT_ANKLES = np.array([j for j in range(len(JOINT_INDEX)) if j not in _ANKLES])


def lowest_surface(joints: np.ndarray, exclude_ankles: bool = False) -> np.ndarray:
    """Per frame, the height (Z) of the body's lowest surface: min over joints (T, 17, 3) of
    their height less :data:`FLOOR_CLEARANCE`, which is 0 for a body resting on a floor at Z = 0
    (a standing person: the lower ankle at ANKLE_HEIGHT). ``exclude_ankles``: the rest of the body."""
    joints = np.asarray(joints, dtype=np.float64)
    surfaces = joints[..., 2] - FLOOR_CLEARANCE
    return (surfaces[:, _NOT_ANKLES] if exclude_ankles else surfaces).min(-1)


def root_trajectory(
    pose: np.ndarray,
    keypoints: np.ndarray,
    confidence: np.ndarray,
    intrinsics: Intrinsics,
    fps: float,
) -> np.ndarray:
    """Smooth camera-frame pelvis trajectory (T, 3) for a pelvis-relative pose sequence seen
    by a camera of ``intrinsics`` (``Intrinsics.from_focal_35mm`` with an assumed focal).

    The depth is smoothed over DEPTH_SMOOTHING_SECONDS, then x and y are solved again at that
    depth, so the pelvis stays on its 2D track while the depth noise is gone.
    Raises ValueError when no frame has enough visible joints.
    """
    translation = solve_root_translation(pose, keypoints, confidence, intrinsics)
    valid = np.isfinite(translation).all(-1)
    if not valid.any():
        raise ValueError(f"root motion: no frame has {MIN_JOINTS} or more visible joints")
    depth = gaussian_smooth(fill_gaps(translation[:, 2], valid), DEPTH_SMOOTHING_SECONDS * fps)
    # At a known depth each joint gives tx = (u - cx)(Z + tz) / fx - X directly: average them.
    u = keypoints[..., 0] - intrinsics.cx
    v = keypoints[..., 1] - intrinsics.cy
    usable = np.isfinite(u) & np.isfinite(v) & (confidence >= MIN_CONFIDENCE)
    w = np.where(usable, confidence, 0.0)
    z = pose[..., 2] + depth[:, None]
    tx = np.where(usable, u * z / intrinsics.fx - pose[..., 0], 0.0)
    ty = np.where(usable, v * z / intrinsics.fy - pose[..., 1], 0.0)
    total = np.maximum(w.sum(-1), 1e-9)
    xy = np.stack([(w * tx).sum(-1) / total, (w * ty).sum(-1) / total], -1)
    xy = fill_gaps(xy, valid)
    return np.concatenate([xy, depth[:, None]], -1)


@dataclass(frozen=True)
class Placed:
    """Motion put in Blender's world, and the rigid map that put it there."""

    joints: np.ndarray                   # (T, 17, 3) Blender world, metres, floor at Z = 0
    camera_rotation: np.ndarray          # (3, 3) camera frame -> world
    camera_location: np.ndarray | None   # (3,) the camera centre; None without root motion


def place_in_world(pose: np.ndarray, fps: float, trajectory: np.ndarray | None = None,
                   level: np.ndarray | None = None) -> Placed:
    """Blender-world joints from camera-frame pelvis-relative ``pose`` (T, 17, 3).

    ``level`` (3, 3): the camera frame's levelling rotation (``world.levelling_rotation``);
    None assumes a level camera. With a camera-frame ``trajectory`` (T, 3) the person moves
    through the world as in the video and the camera stands still at ``camera_location``;
    without one they stay in place (pelvis over the origin) with the body's lowest part on the
    floor in every frame (:func:`lowest_surface`; the lower foot for a person on their feet).
    Either way the person faces -Y at the start, the pelvis starts over the origin and the floor
    is Z = 0 (ankles at ANKLE_HEIGHT when standing).
    """
    to_world = CAMERA_TO_BLENDER @ (np.eye(3) if level is None else level)
    relative = np.asarray(pose, dtype=np.float64) @ to_world.T
    yaw = start_yaw_rotation(relative, fps)
    rotation = yaw @ to_world
    relative = relative @ yaw.T
    if trajectory is None:
        height = gaussian_smooth(-lowest_surface(relative), DEPTH_SMOOTHING_SECONDS * fps)
        root = np.zeros((len(pose), 3))
        root[:, 2] = height
        return Placed(relative + root[:, None], rotation, None)
    root = np.asarray(trajectory, dtype=np.float64) @ rotation.T
    world = relative + root[:, None]
    ground = np.percentile(lowest_surface(world), GROUND_PERCENTILE)
    offset = np.array([-root[0, 0], -root[0, 1], -ground])
    return Placed(world + offset, rotation, offset)


def image_ankle_speed(keypoints: np.ndarray, confidence: np.ndarray, depth: np.ndarray,
                      focal_px: float, fps: float) -> np.ndarray:
    """The ankles' speed (T, 2), m/s, left then right, as the still camera sees it: their pixel
    speed at the person's distance ``depth`` (T,) m. From one camera the depth of a moving root
    is noisy, and its frame-to-frame jitter would read as a moving foot; in the image a planted
    foot stands still. Speeds the camera cannot see (towards it) are missed; the contact test's
    height limit keeps swinging feet out. NaN where an ankle was not seen."""
    ankles = np.asarray(keypoints, dtype=np.float64)[:, _ANKLES]
    seen = (np.asarray(confidence)[:, _ANKLES] >= MIN_CONFIDENCE) & np.isfinite(ankles).all(-1)
    smoothed = gaussian_smooth(np.where(seen[..., None], ankles, np.nan), CONTACT_SMOOTHING_SECONDS * fps)
    speed = np.full(seen.shape, np.nan)
    speed[1:] = np.linalg.norm(np.diff(smoothed, axis=0), axis=-1) * fps
    speed[0] = speed[1] if len(speed) > 1 else np.nan
    return speed * (np.asarray(depth, dtype=np.float64) / focal_px)[:, None]


def stand_on_floor(joints: np.ndarray, fps: float, speed: np.ndarray | None = None) -> np.ndarray:
    """Joints (T, 17, 3) moved up or down, frame by frame, so that the body stands or rests on
    the floor where it touches it: feet in contact with their ankles at ANKLE_HEIGHT, and a knee,
    the hands or the back that stay lower than the feet (:data:`RESTING_SECONDS`) at their
    :data:`FLOOR_CLEARANCE`.

    A trajectory's height drifts with the depth error (an assumed focal, a slightly wrong camera
    pitch): the floor the body touches is what counts. Contacts are found against the local floor
    (the body's lowest surface within FLOOR_WINDOW_SECONDS, so a drift does not hide them), with
    the ankles' ``speed`` (T, 2) m/s when given (``image_ankle_speed``). A drift faster than that
    window (a crouch before a jump seen from afar) would hide the feet planted under it, so a foot
    held still for HELD_SECONDS and no higher than the other also counts. The correction is
    measured in contact frames, interpolated between them and smoothed over CONTACT_FLOOR_SECONDS,
    so a jump keeps its arc. Last, no frame is left with a part of the body below the floor.
    """
    joints = np.asarray(joints, dtype=np.float64)
    half = max(1, int(round(FLOOR_WINDOW_SECONDS * fps / 2)))
    local_floor = _windows(lowest_surface(joints), 2 * half).min(-1)
    contacts = detect_contacts(joints, fps, floor=gaussian_smooth(local_floor, half), speed=speed)
    foot_surfaces = joints[:, _ANKLES, 2] - ANKLE_HEIGHT
    lower_foot = foot_surfaces.min(-1)
    contacts |= detect_contacts(joints, fps, ContactSettings(min_duration=HELD_SECONDS),
                                floor=lower_foot, speed=speed)
    body = lowest_surface(joints, exclude_ankles=True)
    resting = without_short_runs(body < lower_foot, int(round(RESTING_SECONDS * fps)))
    touching = contacts.any(-1) | resting
    out = joints.copy()
    if touching.any():
        feet = np.where(contacts, foot_surfaces, np.inf).min(-1)
        heights = np.minimum(feet, np.where(resting, body, np.inf))
        correction = fill_gaps(np.where(touching, -heights, 0.0), touching)
        out[..., 2] += gaussian_smooth(correction, CONTACT_FLOOR_SECONDS * fps)[:, None]
    # Nobody stays in the air longer than a jump: the floor's "opening" (the lowest surface's
    # minimum over MAX_FLIGHT_SECONDS, then the maximum of that) keeps every jump's rise and is the
    # height of any stretch held up for longer, which comes down by it.
    flight = MAX_FLIGHT_SECONDS * fps
    held_up = _windows(_windows(lowest_surface(out), flight).min(-1), flight).max(-1)
    out[..., 2] -= np.maximum(0.0, held_up)[:, None]
    # Never through the floor. Lifting exactly what a frame needs is continuous in time (the
    # lowest surface is); easing the lift in and out over 0.1-0.5 s left bodies floating more.
    out[..., 2] += np.maximum(0.0, -lowest_surface(out))[:, None]
    return out


def _windows(x: np.ndarray, frames: float) -> np.ndarray:
    """Per frame of ``x`` (T,), the window of about ``frames`` centred on it (T, W); the ends padded
    with the edge values."""
    half = max(1, int(round(frames / 2)))
    return np.lib.stride_tricks.sliding_window_view(np.pad(x, half, mode="edge"), 2 * half + 1)

