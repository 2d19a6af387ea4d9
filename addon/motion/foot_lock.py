"""Foot lock: find when a foot is planted and stop it from sliding while it is.

Contacts come from the ankle's speed and its height above the floor (the lifter's small
frame-to-frame errors make a planted foot drift and jitter, which animators call foot skate).
During a contact the ankle is pinned to one point (the median of its positions in that contact),
with a short blend in and out; the knee is re-solved with two-bone IK so the hip stays where it
was and the thigh and shin keep their fitted lengths.

The skate metric is the mean horizontal ankle displacement, in mm per frame, over consecutive
frames that are both in contact: 0 for perfectly planted feet.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from repose_core.rotations import normalize
from repose_core.skeleton import JOINT_INDEX

from .rig import ANKLE_HEIGHT
from repose_core.temporal import gaussian_smooth

# (hip, knee, ankle) joint indices of the two legs, left first.
LEGS: tuple[tuple[int, int, int], ...] = (
    (JOINT_INDEX["l_hip"], JOINT_INDEX["l_knee"], JOINT_INDEX["l_ankle"]),
    (JOINT_INDEX["r_hip"], JOINT_INDEX["r_knee"], JOINT_INDEX["r_ankle"]),
)


# The lifter's frame-to-frame jitter would read as foot speed; 30 ms of smoothing removes most.
CONTACT_SMOOTHING_SECONDS: float = 0.03


@dataclass(frozen=True)
class ContactSettings:
    """Thresholds for ground contact; defaults suit walking and standing footage."""

    max_speed: float = 0.6          # m/s of the (lightly smoothed) ankle; a swinging foot does 2-4
    max_height: float = 0.08        # m above the standing ankle height (floor + ANKLE_HEIGHT)
    min_duration: float = 0.06      # s: shorter "contacts" are noise, not steps
    blend: float = 0.08             # s to blend the lock in and out at each end of a contact


def detect_contacts(joints: np.ndarray, fps: float, settings: ContactSettings = ContactSettings(),
                    floor: np.ndarray | None = None, speed: np.ndarray | None = None) -> np.ndarray:
    """Ground contacts (T, 2) bool, left and right foot, of Blender-world joints (T, 17, 3).

    ``floor`` (T,): the floor's height under the person per frame; Z = 0 by default (where
    ``root_motion.place_in_world`` puts it). ``speed`` (T, 2): the ankles' speed in m/s where
    the joints' own is not to be trusted (root motion from one camera: its depth is noisy, see
    ``root_motion.image_ankle_speed``); NaN counts as moving. By default from the joints.
    """
    ankles = joints[:, [leg[2] for leg in LEGS]]
    smoothed = gaussian_smooth(ankles, CONTACT_SMOOTHING_SECONDS * fps)
    if speed is None:
        speed = np.zeros(ankles.shape[:2])
        speed[1:] = np.linalg.norm(np.diff(smoothed, axis=0), axis=-1) * fps
        speed[0] = speed[1] if len(speed) > 1 else 0.0
    speed = np.nan_to_num(np.asarray(speed, dtype=np.float64), nan=np.inf)
    height = smoothed[..., 2] - (0.0 if floor is None else np.asarray(floor)[:, None])
    contact = (speed < settings.max_speed) & (height < ANKLE_HEIGHT + settings.max_height)
    min_frames = max(1, int(round(settings.min_duration * fps)))
    for foot in range(contact.shape[1]):
        contact[:, foot] = without_short_runs(contact[:, foot], min_frames)
    return contact


def without_short_runs(mask: np.ndarray, frames: int) -> np.ndarray:
    """A 1-D bool array with its runs of True shorter than ``frames`` cleared."""
    kept = np.array(mask, dtype=bool, copy=True)
    for start, end in _segments(kept):
        if end - start < frames:
            kept[start:end] = False
    return kept


def lock_feet(
    joints: np.ndarray,
    contacts: np.ndarray,
    fps: float,
    settings: ContactSettings = ContactSettings(),
) -> np.ndarray:
    """Joints (T, 17, 3) with each ankle pinned during its contacts and the knees re-solved."""
    locked = np.array(joints, dtype=np.float64, copy=True)
    blend_frames = max(1, int(round(settings.blend * fps)))
    for foot, (hip, knee, ankle) in enumerate(LEGS):
        weight, anchor = _lock_targets(locked[:, ankle], contacts[:, foot], blend_frames)
        active = weight > 0
        if not active.any():
            continue
        current = locked[active, ankle]
        target = current + weight[active, None] * (anchor[active] - current)
        thigh = np.linalg.norm(joints[0, knee] - joints[0, hip])
        shin = np.linalg.norm(joints[0, ankle] - joints[0, knee])
        new_knee, new_ankle = two_bone_ik(
            locked[active, hip], locked[active, knee], target, thigh, shin
        )
        locked[active, knee] = new_knee
        locked[active, ankle] = new_ankle
    return locked


def two_bone_ik(
    hip: np.ndarray, knee: np.ndarray, target: np.ndarray, thigh: float, shin: float
) -> tuple[np.ndarray, np.ndarray]:
    """Knee and ankle (N, 3) reaching ``target`` from a fixed ``hip`` with fixed bone lengths.

    The knee stays in the plane of hip, target and the old knee (the leg does not twist). A
    target out of reach is approached along the hip-target line as far as the leg allows.
    """
    to_target = target - hip
    distance = np.linalg.norm(to_target, axis=-1)
    reach = np.clip(distance, abs(thigh - shin) + 1e-6, thigh + shin - 1e-6)
    axis = normalize(to_target)
    pole = knee - hip
    pole = pole - (pole * axis).sum(-1, keepdims=True) * axis
    # A perfectly straight old leg gives no pole: bend forward (-Y), as a knee does.
    straight = np.linalg.norm(pole, axis=-1) < 1e-6
    pole[straight] = np.array([0.0, -1.0, 0.0])
    pole = normalize(pole - (pole * axis).sum(-1, keepdims=True) * axis)
    cos_hip = np.clip((thigh**2 + reach**2 - shin**2) / (2 * thigh * reach), -1.0, 1.0)
    sin_hip = np.sqrt(1.0 - cos_hip**2)
    new_knee = hip + thigh * (cos_hip[:, None] * axis + sin_hip[:, None] * pole)
    new_ankle = hip + reach[:, None] * axis
    return new_knee, new_ankle


def foot_skate(joints: np.ndarray, contacts: np.ndarray) -> float:
    """Mean horizontal ankle motion in mm/frame over frame pairs in contact (NaN if none)."""
    total, count = 0.0, 0
    for foot, (_, _, ankle) in enumerate(LEGS):
        both = contacts[1:, foot] & contacts[:-1, foot]
        step = np.linalg.norm(np.diff(joints[:, ankle, :2], axis=0), axis=-1)
        total += float(step[both].sum())
        count += int(both.sum())
    return 1000.0 * total / count if count else float("nan")


def _segments(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) runs of True in a 1-D bool array."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def _lock_targets(ankle: np.ndarray, contact: np.ndarray, blend_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame lock weight (T,) and anchor point (T, 3) of one ankle.

    Weight 1 inside a contact, ramping to 0 over ``blend_frames`` on either side; where the ramps
    of two contacts meet, the nearer contact wins.
    """
    count = len(ankle)
    weight = np.zeros(count)
    anchor = np.zeros((count, 3))
    for start, end in _segments(contact):
        point = np.median(ankle[start:end], axis=0)
        lo, hi = max(0, start - blend_frames), min(count, end + blend_frames)
        frames = np.arange(lo, hi)
        distance = np.maximum(start - frames, frames - (end - 1)).clip(min=0)
        ramp = 1.0 - distance / (blend_frames + 1)
        ramp = ramp * ramp * (3 - 2 * ramp)  # smoothstep: no velocity jump at the ends
        better = ramp > weight[lo:hi]
        weight[lo:hi] = np.where(better, ramp, weight[lo:hi])
        anchor[lo:hi] = np.where(better[:, None], point, anchor[lo:hi])
    return weight, anchor
