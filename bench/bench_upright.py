"""How upright real footage imports: the torso's lean from vertical on the standing frames.

    python bench/bench_upright.py [--model a.onnx] [VIDEO ...]

Default videos: the bundled example (a man balancing on one leg, level camera) and the shared
two-person clip (its most prominent person). The import is the add-on's own (``analyse``:
levelling by the lifter's up direction when the model has one, root motion, feet on the floor);
a frame counts as standing when a foot is planted. Printed per clip: the median lean of the
pelvis -> thorax axis and of the mid-ankles -> head axis from the world's vertical, and the
estimated camera pitch the clip was levelled by.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from addon.pipeline import ImportOptions, analyse  # noqa: E402
from repose_core.skeleton import JOINT_INDEX as J  # noqa: E402

DEFAULT_VIDEOS = (ROOT / "examples" / "pose2sim_balancing_cam01.mp4",
                  ROOT.parent / "shared" / "data" / "videos" / "sports2d_jump_walk.mp4")


def lean_from_vertical_deg(vectors: np.ndarray) -> np.ndarray:
    """Angles (degrees) of vectors (..., 3), Blender world, from +Z."""
    return np.degrees(np.arccos(np.clip(vectors[..., 2] / np.linalg.norm(vectors, axis=-1), -1.0, 1.0)))


def standing_leans(video: Path, model: Path | None) -> dict[str, float]:
    result = analyse(ImportOptions(video=video, model_path=model, cache_dir=ROOT / ".cache" / "detect"))
    motion = result.motion
    standing = motion.contacts.any(-1) & result.found
    joints = motion.joints[standing]
    ankles = 0.5 * (joints[:, J["l_ankle"]] + joints[:, J["r_ankle"]])
    pitch = float("nan") if motion.up is None else float(np.degrees(np.arcsin(-motion.up[2])))
    return {
        "frames": float(standing.sum()),
        "torso": float(np.median(lean_from_vertical_deg(joints[:, J["thorax"]] - joints[:, J["pelvis"]]))),
        "body": float(np.median(lean_from_vertical_deg(joints[:, J["head"]] - ankles))),
        "pitch": pitch,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("videos", type=Path, nargs="*", default=list(DEFAULT_VIDEOS))
    parser.add_argument("--model", type=Path, help="a lifter (.onnx/.pt); default: the shipped one")
    args = parser.parse_args()
    print("| clip | standing frames | torso lean (deg) | ankles -> head lean (deg) | camera pitch levelled by (deg) |")
    print("|---|---|---|---|---|")
    for video in args.videos:
        leans = standing_leans(video, args.model)
        print(f"| {video.name} | {leans['frames']:.0f} | {leans['torso']:.1f} | {leans['body']:.1f} | "
              f"{leans['pitch']:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
