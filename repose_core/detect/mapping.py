"""MediaPipe's 33 pose landmarks -> the H36M-17 joints, by the rules of docs/joint_definitions.md.

Every H36M joint is a weighted sum of landmarks (or of other H36M joints), so one table below is
the whole definition; its confidence is the minimum of the confidences it is built from.
"""
from __future__ import annotations

import numpy as np

from ..skeleton import JOINT_INDEX, NUM_JOINTS

# MediaPipe landmark indices (the person's own left/right).
NOSE, L_EAR, R_EAR = 0, 7, 8
L_SHOULDER, R_SHOULDER, L_ELBOW, R_ELBOW, L_WRIST, R_WRIST = 11, 12, 13, 14, 15, 16
L_HIP, R_HIP, L_KNEE, R_KNEE, L_ANKLE, R_ANKLE = 23, 24, 25, 26, 27, 28

# How far the head joint sits above the mid-ears, as a fraction of the thorax -> mid-ears
# vector. The silhouette's crown measures ~0.8 (bench/bench_head_crown.py); 0.5 is what the
# mocap tables are calibrated to (docs/joint_definitions.md), and both sides must agree.
HEAD_CROWN_RATIO = 0.5

# joint -> {landmark index: weight}; weights sum to 1.
_DIRECT = {
    "r_hip": {R_HIP: 1.0}, "r_knee": {R_KNEE: 1.0}, "r_ankle": {R_ANKLE: 1.0},
    "l_hip": {L_HIP: 1.0}, "l_knee": {L_KNEE: 1.0}, "l_ankle": {L_ANKLE: 1.0},
    "pelvis": {L_HIP: 0.5, R_HIP: 0.5},
    "thorax": {L_SHOULDER: 0.5, R_SHOULDER: 0.5},
    "neck_nose": {NOSE: 1.0},
    "l_shoulder": {L_SHOULDER: 1.0}, "l_elbow": {L_ELBOW: 1.0}, "l_wrist": {L_WRIST: 1.0},
    "r_shoulder": {R_SHOULDER: 1.0}, "r_elbow": {R_ELBOW: 1.0}, "r_wrist": {R_WRIST: 1.0},
    # spine = pelvis + 0.5 (thorax - pelvis): the mean of the four torso corners.
    "spine": {L_HIP: 0.25, R_HIP: 0.25, L_SHOULDER: 0.25, R_SHOULDER: 0.25},
    # head = mid-ears + r (mid-ears - thorax) = (1 + r) mid-ears - r thorax.
    "head": {L_EAR: 0.5 * (1 + HEAD_CROWN_RATIO), R_EAR: 0.5 * (1 + HEAD_CROWN_RATIO),
             L_SHOULDER: -0.5 * HEAD_CROWN_RATIO, R_SHOULDER: -0.5 * HEAD_CROWN_RATIO},
}


def _tables() -> tuple[np.ndarray, list[list[int]]]:
    weights = np.zeros((NUM_JOINTS, 33), np.float64)
    sources: list[list[int]] = [[] for _ in range(NUM_JOINTS)]
    for name, table in _DIRECT.items():
        j = JOINT_INDEX[name]
        for landmark, weight in table.items():
            weights[j, landmark] = weight
            sources[j].append(landmark)
    assert all(sources), "every H36M joint needs a rule"
    return weights, sources


# (17, 33) linear map from landmarks to joints, and the landmarks each joint depends on.
LANDMARK_WEIGHTS, JOINT_SOURCES = _tables()


def landmarks_to_h36m(points: np.ndarray, confidence: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Map landmarks to H36M-17.

    points: (..., 33, D) any coordinates (pixels, normalised, metres); NaN propagates.
    confidence: (..., 33) per-landmark confidence (visibility x presence).
    Returns (..., 17, D) float32 joints and (..., 17) float32 confidence.
    """
    if points.shape[-2] != 33 or confidence.shape != points.shape[:-1]:
        raise ValueError(f"expected points (..., 33, D) and confidence (..., 33), got "
                         f"{points.shape} and {confidence.shape}")
    joints = np.einsum("jl,...ld->...jd", LANDMARK_WEIGHTS, points.astype(np.float64))
    joint_conf = np.stack([confidence[..., src].min(-1) for src in JOINT_SOURCES], axis=-1)
    return joints.astype(np.float32), joint_conf.astype(np.float32)
