"""The lifted pose against the image it came from (numpy): where the camera sees it.

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

# Phone main cameras are 24-28 mm equivalent; action cameras wider, camcorders longer.
DEFAULT_FOCAL_35MM: float = 26.0
# A frame needs this many joints with some confidence for its translation to be trusted.
MIN_JOINTS: int = 6
MIN_CONFIDENCE: float = 0.2


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
