"""Score 3D poses against rendered truth, with MediaPipe's own 3D on the same frames (numpy).

For each shot: the truth in the camera frame, the pipeline's lifted pose, and MediaPipe's world
landmarks mapped to H36M-17 by the detector's own rules (``repose_core.detect.mapping``), all
pelvis-centred. Only frames where the detector found the person count, for both.

Metrics (millimetres, degrees):
- ``p_mpjpe_limbs``: per-frame Procrustes-aligned error over the 12 limb joints (hips, knees,
  ankles, shoulders, elbows, wrists) — fair to skeletons of other proportions and to a 3D that is
  not in the camera's axes;
- ``mpjpe``: pelvis-aligned error in the camera frame, all 17 joints;
- ``bone_direction_deg``: angle of each limb, torso and hip/shoulder line, camera frame;
- ``depth_order``: share of joint pairs more than 10 cm apart in depth whose order is right;
- ``occluded_mpjpe``: MPJPE over joints the body hides from the camera in the truth (capsule
  model of ``train.synth.occlusion``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from repose_core import metrics
from repose_core.detect import Detection2D
from repose_core.skeleton import JOINT_INDEX, LIMB_JOINTS, ROOT

from ..synth.occlusion import self_occlusion
from .footage import RenderTruth
from .shots import Y_UP_TO_BLENDER

METRICS: tuple[str, ...] = ("p_mpjpe_limbs", "mpjpe", "bone_direction_deg", "depth_order", "occluded_mpjpe")


@dataclass(frozen=True)
class ScoredShot:
    """One shot's frames where the person was found: truth and the two estimates, camera frame,
    pelvis-centred (F, 17, 3), and the joints the body hides (F, 17)."""

    name: str
    subject: str
    truth: np.ndarray
    pipeline: np.ndarray
    mediapipe: np.ndarray
    occluded: np.ndarray
    frames: int            # frames of the shot, found or not

    @property
    def detection_rate(self) -> float:
        return len(self.truth) / max(self.frames, 1)


def scored_shot(name: str, truth: RenderTruth, detection: Detection2D, pose: np.ndarray) -> ScoredShot:
    """Pair a shot's truth with the lifted ``pose`` (T, 17, 3) of its ``detection``."""
    cam = truth.joints_camera[detection.frame_indices]
    found = detection.found & np.isfinite(detection.world_landmarks).all(axis=(1, 2))
    centred = cam - cam[:, ROOT:ROOT + 1]
    return ScoredShot(name, truth.subject, centred[found], np.asarray(pose, np.float64)[found],
                      detection.world_joints.astype(np.float64)[found], self_occlusion(cam)[found], len(cam))


def score(truth: np.ndarray, estimate: np.ndarray, occluded: np.ndarray) -> dict[str, float]:
    """The metrics of the module docstring for (F, 17, 3) poses."""
    if len(truth) == 0:
        return {name: float("nan") for name in METRICS}
    return {
        "p_mpjpe_limbs": metrics.p_mpjpe(estimate, truth, joints=LIMB_JOINTS),
        "mpjpe": metrics.mpjpe(estimate, truth),
        "bone_direction_deg": metrics.bone_direction_error_deg(estimate, truth),
        "depth_order": metrics.depth_order_accuracy(estimate, truth),
        "occluded_mpjpe": metrics.masked_mpjpe(estimate, truth, occluded),
    }


def summarise(shots: list[ScoredShot]) -> dict[str, dict[str, float]]:
    """{"pipeline": metrics, "mediapipe": metrics} over all frames of ``shots`` together."""
    if not shots:
        raise ValueError("no shot to score")
    truth = np.concatenate([s.truth for s in shots])
    occluded = np.concatenate([s.occluded for s in shots])
    out = {}
    for method in ("pipeline", "mediapipe"):
        out[method] = score(truth, np.concatenate([getattr(s, method) for s in shots]), occluded)
    out["frames"] = {"scored": float(len(truth)), "total": float(sum(s.frames for s in shots))}
    return out


# ----------------------------------------------------------------------------- upright, grounded
ANKLES = [JOINT_INDEX["l_ankle"], JOINT_INDEX["r_ankle"]]   # the add-on's contact order


# An axis of the body as (lower joints, upper joints), each end the mean of its joints.
TORSO_AXIS: tuple[tuple[int, ...], tuple[int, ...]] = ((ROOT,), (JOINT_INDEX["thorax"],))
BODY_AXIS: tuple[tuple[int, ...], tuple[int, ...]] = (tuple(ANKLES), (JOINT_INDEX["head"],))


def lean_error_deg(truth_world: np.ndarray, placed: np.ndarray,
                   axis: tuple[tuple[int, ...], tuple[int, ...]] = TORSO_AXIS) -> np.ndarray:
    """Per frame, the angle between the true and the placed direction of a body ``axis`` (the
    torso, pelvis -> thorax, by default) in the world, after turning the placed clip about the
    vertical to face as the truth does (where an import faces a person is a choice, how upright
    it stands is not). The turn is the one that best lays the placed hip lines on the true ones,
    seen from above, so it cannot hide a lean.

    truth_world: (T, 17, 3) mocap world, Y up. placed: (T, 17, 3) Blender world, Z up.
    """
    left, right = JOINT_INDEX["l_hip"], JOINT_INDEX["r_hip"]
    truth = truth_world @ Y_UP_TO_BLENDER.T
    true_hips, got_hips = truth[:, left] - truth[:, right], placed[:, left] - placed[:, right]
    cross = (got_hips[:, 0] * true_hips[:, 1] - got_hips[:, 1] * true_hips[:, 0]).sum()
    angle = np.arctan2(cross, (got_hips[:, :2] * true_hips[:, :2]).sum())
    lower, upper = (list(joints) for joints in axis)
    true = truth[:, upper].mean(1) - truth[:, lower].mean(1)
    got = placed[:, upper].mean(1) - placed[:, lower].mean(1)
    c, s = np.cos(angle), np.sin(angle)
    got = got @ np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]).T
    cos = (got * true).sum(-1) / np.linalg.norm(got, axis=-1) / np.linalg.norm(true, axis=-1)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def contact_heights(truth_contacts: np.ndarray, placed: np.ndarray) -> np.ndarray:
    """Placed ankle heights (metres, Z up) in the frames where the true foot is planted:
    (T, 2) bool contacts of the truth (left, right), (T, 17, 3) placed joints."""
    ankles = placed[:, ANKLES, 2]
    return ankles[truth_contacts]


