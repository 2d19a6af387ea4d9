"""Lifted 3D against a real, measured truth: the bundled clip's person as Pose2Sim triangulated
them from four calibrated cameras (``train.data.triangulated``), MediaPipe's own 3D beside.

    python bench/bench_triangulated.py [--model a.onnx b.pt ...] [--no-image-pull]

The rendered benchmark's truth is exact but its people are two stylised characters; this one is
a real person on real footage, measured with some error of its own (Pose2Sim's markers are
another detector's joints, triangulated: hips and shoulders sit a few centimetres from
MediaPipe's and from the mocap's, which both lifter and MediaPipe pay alike). Over the 34 frames
with a truth (every third of 100), camera frame, pelvis-centred: P-MPJPE over the 12 limb joints,
MPJPE over the 15 joints the truth has (no spine, no nose), bone directions (limbs, torso, hip and
shoulder lines), depth order of joint pairs more than 10 cm apart.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from repose_core import load_lifter, metrics  # noqa: E402
from repose_core.detect import detect_video  # noqa: E402
from repose_core.skeleton import LIMB_JOINTS  # noqa: E402
from train.data.triangulated import TriangulatedClip  # noqa: E402

VIDEO = ROOT / "examples" / "pose2sim_balancing_cam01.mp4"
TRUTH = ROOT / "examples" / "pose2sim_balancing_cam01_truth.json"


def scores(estimate: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """The module docstring's figures for (F, 17, 3) poses, truth NaN where it has no joint
    (each metric centres or aligns the poses itself)."""
    return {"p_mpjpe_limbs": metrics.p_mpjpe(estimate, truth, joints=LIMB_JOINTS),
            "mpjpe": float(np.nanmean(metrics.per_joint_mpjpe(estimate, truth)[1:])),
            "bone_direction_deg": metrics.bone_direction_error_deg(estimate, truth),
            "depth_order": metrics.depth_order_accuracy(estimate, truth)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, nargs="*", default=[None],
                        help="lifters to score (.onnx or .pt); default: the shipped one")
    parser.add_argument("--no-image-pull", action="store_true",
                        help="leave the limbs' ends where the lifter put them (image_fit.pulled_to_image)")
    args = parser.parse_args()
    truth = TriangulatedClip.load(TRUTH)
    detection = detect_video(VIDEO, cache_dir=ROOT / ".cache" / "detect")
    frames = truth.frames[detection.found[truth.frames]]
    keep = np.isin(truth.frames, frames)
    print(f"{VIDEO.name}: {len(frames)} frames with a truth and a person found\n")
    print("| | P-MPJPE limbs (mm) | MPJPE (mm) | bone directions (deg) | depth order |")
    print("|---|---|---|---|---|")
    rows = {}
    for model in args.model:
        lifter = load_lifter(model, image_pull=not args.no_image_pull)
        lifted = lifter.lift(detection.keypoints, image_size=detection.image_size,
                             confidence=detection.confidence, world=detection.world_joints)
        rows[str(model or "shipped model")] = scores(lifted.pose[frames], truth.joints_camera[keep])
    rows["MediaPipe world landmarks"] = scores(detection.world_joints[frames].astype(np.float64),
                                               truth.joints_camera[keep])
    for label, row in rows.items():
        print(f"| {label} | {row['p_mpjpe_limbs']:.1f} | {row['mpjpe']:.1f} | {row['bone_direction_deg']:.1f} | "
              f"{row['depth_order']:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
