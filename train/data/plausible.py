"""Is a loaded clip a plausible person? Checks of H36M-17 world joints (metres, Y up).

A mocap file read with the wrong unit, up axis or channel meaning still gives 17 finite joints
per frame, and training on it fails late or not at all (a 10 m figure lying on its side only
makes the lifter worse). Every reader calls :func:`check_person` on what it loaded, so such a
file fails at load, naming the file and the check. The bounds are wide (children to tall
adults, any motion: lying, crawling, flipping) and measured on the shared libraries
(tests/test_mocap.py shows each family's figures inside them).
"""
from __future__ import annotations

import numpy as np

from repose_core import skeleton
from repose_core.skeleton import BONES, JOINT_INDEX as J, JOINTS

from .errors import DataError

# Median length (m) of each H36M bone over a take, by the child joint: [lowest, highest] of a
# person (hip and shoulder points vary with how a family places them; see the tables).
BONE_LENGTH_M: dict[str, tuple[float, float]] = {
    "r_hip": (0.03, 0.25), "l_hip": (0.03, 0.25),                 # pelvis -> hip
    "r_knee": (0.20, 0.65), "l_knee": (0.20, 0.65),               # thigh
    "r_ankle": (0.20, 0.65), "l_ankle": (0.20, 0.65),             # shin
    "spine": (0.08, 0.45), "thorax": (0.08, 0.45),                # pelvis -> spine -> thorax
    "neck_nose": (0.05, 0.40), "head": (0.05, 0.45),
    "l_shoulder": (0.05, 0.30), "r_shoulder": (0.05, 0.30),       # thorax -> shoulder
    "l_elbow": (0.15, 0.45), "r_elbow": (0.15, 0.45),             # upper arm
    "l_wrist": (0.10, 0.40), "r_wrist": (0.10, 0.40),             # forearm
}
# Standing height without the feet: shin + thigh + pelvis->thorax + thorax->head (medians).
STATURE_M = (1.0, 2.3)
# Y up: in at least this share of frames the head is HEAD_RISE_M above the pelvis. Measured:
# standing and walking takes 100%, getting up, rolling, flips 56-83%, DeepMimic's crawl 35%;
# a standing take read with the wrong up axis (on its side) at most 11%, upside down 0%, and
# rolls or get-ups upside down at most 20%.
MIN_HEAD_UP_SHARE = 0.25
HEAD_RISE_M = 0.1


class ImplausiblePerson(DataError):
    """Loaded joints are not a plausible person; the message names the source and the check."""


def bone_lengths(joints: np.ndarray) -> np.ndarray:
    """Median length of each bone of ``BONES`` over the frames: (16,)."""
    return np.median(skeleton.bone_lengths(joints)[:, [c for _, c in BONES]], axis=0)


def stature(joints: np.ndarray) -> float:
    """Standing height without the feet, from median bone lengths (independent of the pose)."""
    lengths = dict(zip((JOINTS[c] for _, c in BONES), bone_lengths(joints)))
    legs = 0.5 * (lengths["r_knee"] + lengths["r_ankle"] + lengths["l_knee"] + lengths["l_ankle"])
    torso = np.median(np.linalg.norm(joints[:, J["thorax"]] - joints[:, J["pelvis"]], axis=-1))
    head = np.median(np.linalg.norm(joints[:, J["head"]] - joints[:, J["thorax"]], axis=-1))
    return float(legs + torso + head)


def head_up_share(joints: np.ndarray) -> float:
    """Share of frames whose head is ``HEAD_RISE_M`` above the pelvis (along +Y)."""
    return float(np.mean(joints[:, J["head"], 1] - joints[:, J["pelvis"], 1] > HEAD_RISE_M))


def check_person(joints: np.ndarray, source: str, remedy: str = "") -> None:
    """Raise :class:`ImplausiblePerson` naming ``source`` and the failed check unless ``joints``
    (T, 17, 3) are a person in metres, Y up: finite, human size and bone lengths, head up at times.
    ``remedy`` ends the message: what the reader's user can state or fix."""
    joints = np.asarray(joints)
    if joints.ndim != 3 or joints.shape[1:] != (len(JOINTS), 3) or joints.shape[0] < 1:
        raise ImplausiblePerson(f"{source}: check 'shape': joints have shape {joints.shape}, "
                                f"expected (frames, {len(JOINTS)}, 3)")
    finite = np.isfinite(joints).all(axis=(1, 2))
    if not finite.all():
        frame = int(np.argmin(finite))
        raise ImplausiblePerson(f"{source}: check 'finite': frame {frame + 1} has non-finite joints")
    size = stature(joints)
    if not STATURE_M[0] <= size <= STATURE_M[1]:
        raise ImplausiblePerson(
            f"{source}: check 'height': the figure is {size:.2f} m tall (shin + thigh + torso + "
            f"head), a person {STATURE_M[0]}-{STATURE_M[1]} m: wrong units? {remedy}".rstrip())
    share = head_up_share(joints)
    if share < MIN_HEAD_UP_SHARE:
        raise ImplausiblePerson(
            f"{source}: check 'up axis': the head is above the pelvis (+Y) in {100 * share:.1f}% "
            f"of the frames, a person's in at least {100 * MIN_HEAD_UP_SHARE:.0f}%: wrong up axis? "
            f"{remedy}".rstrip())
    for (parent, child), length in zip(BONES, bone_lengths(joints)):
        low, high = BONE_LENGTH_M[JOINTS[child]]
        if not low <= length <= high:
            raise ImplausiblePerson(
                f"{source}: check 'bone lengths': {JOINTS[parent]} -> {JOINTS[child]} is "
                f"{length:.2f} m, a person's {low}-{high} m: a joint mapped wrongly, or position "
                f"channels read wrongly? {remedy}".rstrip())
