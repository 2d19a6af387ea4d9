"""The lifted pose against the image it came from (numpy): where the camera sees it, and the
limbs' ends pulled toward the joints the detector saw.

The lifter gives a pelvis-relative pose in metres; the detector gives where those joints are in
the image. Under a pinhole camera the only unknown left is the pose's translation, and it is
linear: for each joint ``u - cx = fx (X + tx) / (Z + tz)`` rearranges to
``fx tx - (u - cx) tz = (u - cx) Z - fx X`` (and the same for v), so a confidence-weighted least
squares over the 17 joints gives the translation of every frame at once. The body's size in the
image fixes the depth; its position fixes x and y.

The focal length is assumed (a 35 mm-equivalent focal, phone-like by default) because one view
of a moving person does not pin it down: a wrong focal scales the translation's depth but keeps
the pose where the footage has it.
"""
from __future__ import annotations

import numpy as np

from .camera import Intrinsics
from .skeleton import JOINT_INDEX, PARENTS, ROOT
from .temporal import gaussian_smooth

# Phone main cameras are 24-28 mm equivalent; action cameras wider, camcorders longer.
DEFAULT_FOCAL_35MM: float = 26.0
# A frame needs this many joints with some confidence for its translation to be trusted.
MIN_JOINTS: int = 6
MIN_CONFIDENCE: float = 0.2

# The joints at the limbs' ends, parents before children. Seen in the image, the lifted forearms
# point further from the truth than the detector's 2D does (16.7 degrees against 12.2 on the
# rendered benchmark's select people), so the limbs' ends are moved toward it. Hips and shoulders
# stay as lifted: the detector places them by rules of its own (pulling them too cost 1-2 mm).
PULLED_JOINTS: tuple[int, ...] = tuple(JOINT_INDEX[name] for name in (
    "r_knee", "r_ankle", "l_knee", "l_ankle", "l_elbow", "l_wrist", "r_elbow", "r_wrist"))
# How far toward their keypoints: halfway, chosen on the rendered benchmark's select people
# (0.35-0.7 scored alike; all the way lets the detector's own errors through).
IMAGE_PULL: float = 0.5
# The pull is smoothed over time like the lift: the detector jitters, bodies do not.
PULL_SMOOTHING_FRAMES: float = 1.5


def solve_root_translation(
    pose: np.ndarray, keypoints: np.ndarray, confidence: np.ndarray, intrinsics: Intrinsics
) -> np.ndarray:
    """Camera-frame pelvis positions (T, 3) that project ``pose`` onto ``keypoints``.

    pose: (T, 17, 3) pelvis-relative camera-frame metres. keypoints: (T, 17, 2) pixels (NaN
    allowed). confidence: (T, 17). Frames with fewer than MIN_JOINTS usable joints are NaN.
    """
    u = keypoints[..., 0] - intrinsics.cx
    v = keypoints[..., 1] - intrinsics.cy
    usable = np.isfinite(u) & np.isfinite(v) & (confidence >= MIN_CONFIDENCE)
    w = np.where(usable, confidence, 0.0)
    u, v = np.where(usable, u, 0.0), np.where(usable, v, 0.0)
    X, Y, Z = pose[..., 0], pose[..., 1], pose[..., 2]
    fx, fy = intrinsics.fx, intrinsics.fy
    zeros = np.zeros_like(u)
    # Rows of the two equations per joint: unknowns (tx, ty, tz).
    a_u = np.stack([np.full_like(u, fx), zeros, -u], -1)
    a_v = np.stack([zeros, np.full_like(v, fy), -v], -1)
    b_u = u * Z - fx * X
    b_v = v * Z - fy * Y
    ata = np.einsum("tj,tja,tjb->tab", w, a_u, a_u) + np.einsum("tj,tja,tjb->tab", w, a_v, a_v)
    atb = np.einsum("tj,tja,tj->ta", w, a_u, b_u) + np.einsum("tj,tja,tj->ta", w, a_v, b_v)
    enough = usable.sum(-1) >= MIN_JOINTS
    ata[~enough] = np.eye(3)  # keep the batch solvable; those frames are discarded below
    translation = np.linalg.solve(ata, atb[..., None])[..., 0]
    translation[~enough] = np.nan
    return translation


def pulled_to_image(
    pose: np.ndarray,
    keypoints: np.ndarray,
    confidence: np.ndarray,
    image_size: tuple[float, float],
    pull: float = IMAGE_PULL,
    focal_35mm: float = DEFAULT_FOCAL_35MM,
) -> np.ndarray:
    """``pose`` (T, 17, 3), lifted from ``keypoints`` (T, 17, 2) pixels (NaN: missing) with
    ``confidence`` (T, 17), with the knees, ankles, elbows and wrists moved ``pull`` of the way
    toward the rays of their keypoints at their lifted depth, bone lengths kept.

    The pose is put where the camera (``focal_35mm``, centred) sees it by
    :func:`solve_root_translation`, each limb end's offset to the point of its ray at its own
    depth is smoothed over time and a ``pull`` of it taken; each bone is then turned to point at
    its end's new place and keeps its length. Frames whose translation cannot be solved and
    joints the detector did not see (or saw below MIN_CONFIDENCE) stay as lifted; the pelvis
    stays at the origin.
    """
    pose = np.asarray(pose, dtype=np.float64)
    keypoints = np.asarray(keypoints, dtype=np.float64)
    confidence = np.asarray(confidence, dtype=np.float64)
    intrinsics = Intrinsics.from_focal_35mm(int(image_size[0]), int(image_size[1]), focal_35mm)
    translation = solve_root_translation(pose, keypoints, confidence, intrinsics)
    placed = pose + np.nan_to_num(translation)[:, None]
    centre = np.array([intrinsics.cx, intrinsics.cy])
    focal = np.array([intrinsics.fx, intrinsics.fy])
    limbs = list(PULLED_JOINTS)
    on_ray = (keypoints[:, limbs] - centre) / focal * placed[:, limbs, 2:3]
    seen = (np.isfinite(translation).all(-1)[:, None] & np.isfinite(keypoints[:, limbs]).all(-1)
            & (np.nan_to_num(confidence[:, limbs]) >= MIN_CONFIDENCE))
    offset = np.zeros((len(pose), len(limbs), 3))
    offset[..., :2] = np.where(seen[..., None], on_ray - placed[:, limbs, :2], 0.0)
    # Smoothing fades the pull in and out next to unseen stretches, never into them.
    offset = np.where(seen[..., None], gaussian_smooth(offset, PULL_SMOOTHING_FRAMES), 0.0)
    pulled = pose.copy()
    for k, joint in enumerate(limbs):
        parent = PARENTS[joint]
        length = np.linalg.norm(pose[:, joint] - pose[:, parent], axis=-1, keepdims=True)
        bone = pose[:, joint] + pull * offset[:, k] - pulled[:, parent]
        pulled[:, joint] = pulled[:, parent] + bone / np.maximum(
            np.linalg.norm(bone, axis=-1, keepdims=True), 1e-9) * length
    return pulled - pulled[:, ROOT : ROOT + 1]
