"""The body's proportions a lifter gives real people: what the rendered benchmark cannot see.

    python bench/bench_real_proportions.py [--model a.onnx b.pt ...] [VIDEO ...]

The rendered benchmark films two stylised characters, so a lifter that learns their proportions
(upper arms two thirds of a person's, shorter than the forearms) scores better there while real
arms come out wrong. Real
footage has no 3D truth, but a person's left and right bones are the same length and an upper
arm is longer than a forearm. Printed per clip and model, over the frames with a person found:
the median length ratio of each left bone to its right twin, and of upper arm to forearm (both
sides); MediaPipe's own 3D (world landmarks) beside them. ``tests/test_acceptance.py`` bounds
these for the shipped model on the bundled clip.
Default videos: the bundled example and the shared two-person clip.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from repose_core import load_lifter  # noqa: E402
from repose_core.detect import detect_video  # noqa: E402
from repose_core.skeleton import JOINT_INDEX as J  # noqa: E402

DEFAULT_VIDEOS = (ROOT / "examples" / "pose2sim_balancing_cam01.mp4",
                  ROOT.parent / "shared" / "data" / "videos" / "sports2d_jump_walk.mp4")
# (name, parent joint, child joint) without the side prefix.
BONES: tuple[tuple[str, str, str], ...] = (
    ("upper arm", "shoulder", "elbow"), ("forearm", "elbow", "wrist"),
    ("thigh", "hip", "knee"), ("shin", "knee", "ankle"),
)


def bone_length(pose: np.ndarray, side: str, parent: str, child: str) -> float:
    """Median length (m) of one side's bone over the frames of ``pose`` (T, 17, 3)."""
    return float(np.median(np.linalg.norm(pose[:, J[f"{side}_{child}"]] - pose[:, J[f"{side}_{parent}"]], axis=-1)))


def proportions(pose: np.ndarray) -> dict[str, float]:
    """Left/right ratio per bone and the upper-arm/forearm ratio of poses (T, 17, 3)."""
    lengths = {name: {side: bone_length(pose, side, parent, child) for side in "lr"}
               for name, parent, child in BONES}
    ratios = {f"{name} L/R": lengths[name]["l"] / lengths[name]["r"] for name, _, _ in BONES}
    ratios["upper arm/forearm"] = (sum(lengths["upper arm"].values()) / sum(lengths["forearm"].values()))
    return ratios


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("videos", type=Path, nargs="*", default=list(DEFAULT_VIDEOS))
    parser.add_argument("--model", type=Path, nargs="*", default=[None],
                        help="lifters to compare (.onnx or .pt); default: the shipped one")
    args = parser.parse_args()
    lifters = {str(m or "shipped model"): load_lifter(m) for m in args.model}
    columns = [f"{name} L/R" for name, _, _ in BONES] + ["upper arm/forearm"]
    print("| clip | model | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 2) + "|")
    for video in args.videos:
        detection = detect_video(video, cache_dir=ROOT / ".cache" / "detect")
        poses = {label: lifter.lift(detection.keypoints, image_size=detection.image_size,
                                    confidence=detection.confidence, world=detection.world_joints).pose
                 for label, lifter in lifters.items()}
        poses["MediaPipe world landmarks"] = detection.world_joints
        for label, pose in poses.items():
            ratios = proportions(pose[detection.found].astype(np.float64))
            print(f"| {video.name} | {label} | " + " | ".join(f"{ratios[c]:.2f}" for c in columns) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
