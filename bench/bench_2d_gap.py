"""The gap between training 2D (mocap through the synthesiser) and inference 2D (MediaPipe).

    python bench/bench_2d_gap.py [--cache .cache/detect]

The lifter is trained on projected mocap and run on MediaPipe's landmarks mapped to H36M-17;
both follow docs/joint_definitions.md, and this script measures how alike the results are:
- 2D proportions, scale- and view-robust: each segment's 2D length over the 2D torso
  (pelvis -> thorax) length, its median and 90th percentile over frames (the 90th percentile
  approaches the segment's true length ratio, seen side-on). Mocap: the clean validation
  windows of each skeleton family (cmu = MotionBuilder, cmu_daz = Daz) under the virtual
  cameras; video: MediaPipe on the shared clips (first person).
- Confidence: percentiles of MediaPipe's per-joint confidence against the simulated
  detector's confidence on visible joints.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from repose_core.skeleton import JOINT_INDEX as J  # noqa: E402
from train.data.mocap import cmu_train_val  # noqa: E402
from train.synth.sampler import build_validation_set  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
SEGMENTS = {
    "shoulder width": ("l_shoulder", "r_shoulder"),
    "hip width": ("l_hip", "r_hip"),
    "thorax-nose": ("thorax", "neck_nose"),
    "thorax-head": ("thorax", "head"),
    "upper arm": ("l_shoulder", "l_elbow"),
    "forearm": ("l_elbow", "l_wrist"),
    "thigh": ("l_hip", "l_knee"),
    "shin": ("l_knee", "l_ankle"),
}


def proportions(xy: np.ndarray) -> dict[str, tuple[float, float]]:
    """{segment: (median, p90)} of 2D length / 2D torso length; xy (N, 17, 2)."""
    torso = np.linalg.norm(xy[:, J["thorax"]] - xy[:, J["pelvis"]], axis=-1)
    keep = torso > 1e-6
    out = {}
    for name, (a, b) in SEGMENTS.items():
        r = np.linalg.norm(xy[keep, J[a]] - xy[keep, J[b]], axis=-1) / torso[keep]
        out[name] = (float(np.median(r)), float(np.percentile(r, 90)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, default=Path(".cache/detect"))
    parser.add_argument("--mocap", type=Path, default=SHARED / "mocap")
    args = parser.parse_args()

    from repose_core.detect import detect_video

    columns: dict[str, dict] = {}
    confidences: dict[str, np.ndarray] = {}
    train, val = cmu_train_val(args.mocap, cache_dir=".cache/mocap")
    for family, lib in (("cmu (train)", train), ("cmu_daz (val)", val)):
        sets = build_validation_set(lib, 27, 512, seed=0)
        columns[family] = proportions(sets["clean"]["inputs"][..., :2].reshape(-1, 17, 2))
        occ = sets["occluded"]
        confidences[family + " sim. visible"] = occ["confidence"][~occ["occluded"]]
        confidences[family + " sim. occluded"] = occ["confidence"][occ["occluded"]]
    for video in sorted((SHARED / "videos").glob("*.mp4")):
        det = detect_video(video, cache_dir=args.cache)
        seen = np.isfinite(det.keypoints).all(axis=(1, 2))
        columns[video.stem[:18]] = proportions(det.keypoints[seen])
        confidences[video.stem[:18] + " MediaPipe"] = det.confidence[seen].reshape(-1)

    names = list(columns)
    print("2D segment length / 2D torso length: median | 90th percentile")
    print(f"{'segment':16s}" + "".join(f"{n:>22s}" for n in names))
    for seg in SEGMENTS:
        print(f"{seg:16s}" + "".join(
            f"{columns[n][seg][0]:>13.2f} | {columns[n][seg][1]:<6.2f}" for n in names))
    print("\nconfidence percentiles      5%    25%    50%    75%    95%")
    for name, c in confidences.items():
        p = np.percentile(c, [5, 25, 50, 75, 95])
        print(f"{name:26s}" + "".join(f"{v:7.3f}" for v in p))


if __name__ == "__main__":
    main()
