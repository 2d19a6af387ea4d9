"""How upright real footage imports: the torso's lean from vertical on the standing frames, and
for the bundled clip the lean against the person's own, as Pose2Sim's four calibrated cameras
triangulated them.

    python bench/bench_upright.py [--model a.onnx] [VIDEO ...]

Default videos: the bundled example (a man balancing on one leg, filmed by a lab camera that
looks down and is rolled) and the shared two-person clip (its most prominent person). The import
is the add-on's own (``analyse``: levelling by the lifter's up direction when the model has one,
root motion, feet on the floor); a frame counts as standing when a foot is planted. Printed per
clip: the median lean of the pelvis -> thorax axis and of the mid-ankles -> head axis from the
world's vertical, and the camera pitch and roll the clip was levelled by. Then, for a clip with a
triangulated truth (``train.data.triangulated``): the true pitch and roll, and the median angle
between the import's and the person's torso and body axes on the standing frames, with the
default lens and with the calibrated one, and the same for MediaPipe's world landmarks placed as
a level camera would put them (what other add-ons animate).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from addon.motion.root_motion import place_in_world  # noqa: E402
from addon.pipeline import ImportOptions, analyse  # noqa: E402
from repose_core.detect import detect_video  # noqa: E402
from repose_core.image_fit import DEFAULT_FOCAL_35MM  # noqa: E402
from repose_core.skeleton import JOINT_INDEX as J  # noqa: E402
from train.data.triangulated import TriangulatedClip, camera_pitch_roll_deg  # noqa: E402

DEFAULT_VIDEOS = (ROOT / "examples" / "pose2sim_balancing_cam01.mp4",
                  ROOT.parent / "shared" / "data" / "videos" / "sports2d_jump_walk.mp4")
TRUTHS = {"pose2sim_balancing_cam01.mp4": ROOT / "examples" / "pose2sim_balancing_cam01_truth.json"}
CACHE = ROOT / ".cache" / "detect"


def lean_from_vertical_deg(vectors: np.ndarray) -> np.ndarray:
    """Angles (degrees) of vectors (..., 3), Blender world, from +Z."""
    return np.degrees(np.arccos(np.clip(vectors[..., 2] / np.linalg.norm(vectors, axis=-1), -1.0, 1.0)))


def pitch_roll(result) -> tuple[float, float]:
    return (float("nan"),) * 2 if result.motion.up is None else camera_pitch_roll_deg(result.motion.up)


def standing_leans(video: Path, model: Path | None) -> dict[str, float]:
    result = analyse(ImportOptions(video=video, model_path=model, cache_dir=CACHE))
    motion = result.motion
    standing = motion.contacts.any(-1) & result.found
    joints = motion.joints[standing]
    ankles = 0.5 * (joints[:, J["l_ankle"]] + joints[:, J["r_ankle"]])
    return {
        "frames": float(standing.sum()),
        "torso": float(np.median(lean_from_vertical_deg(joints[:, J["thorax"]] - joints[:, J["pelvis"]]))),
        "body": float(np.median(lean_from_vertical_deg(joints[:, J["head"]] - ankles))),
        "pitch_roll": pitch_roll(result),
    }


def against_truth(video: Path, truth: TriangulatedClip, model: Path | None, focal_35mm: float) -> dict:
    """Median lean errors on the standing frames that have a truth, and the camera levelled by."""
    result = analyse(ImportOptions(video=video, model_path=model, cache_dir=CACHE, focal_35mm=focal_35mm))
    standing = (result.motion.contacts.any(-1) & result.found)[truth.frames]
    errors = truth.lean_errors_deg(result.motion.joints)
    hips = 0.5 * (truth.marker("RHip") + truth.marker("LHip"))
    ankles = 0.5 * (truth.marker("RAnkle") + truth.marker("LAnkle"))
    own = {"own torso": lean_from_vertical_deg(truth.marker("Neck") - hips),
           "own body": lean_from_vertical_deg(truth.marker("Head") - ankles)}
    return {"frames": int(standing.sum()), "pitch_roll": pitch_roll(result), "standing": standing,
            **{axis: float(np.median(e[standing])) for axis, e in {**errors, **own}.items()}}


def mediapipe_against_truth(video: Path, truth: TriangulatedClip, standing: np.ndarray) -> dict[str, float]:
    """MediaPipe's world landmarks placed as a level camera would put them (what other add-ons
    animate), median lean errors on the same standing frames."""
    detection = detect_video(video, cache_dir=CACHE)
    placed = place_in_world(np.nan_to_num(detection.world_joints), detection.fps).joints
    return {axis: float(np.median(e[standing])) for axis, e in truth.lean_errors_deg(placed).items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("videos", type=Path, nargs="*", default=list(DEFAULT_VIDEOS))
    parser.add_argument("--model", type=Path, help="a lifter (.onnx/.pt); default: the shipped one")
    args = parser.parse_args()
    print("| clip | standing frames | torso lean (deg) | ankles -> head lean (deg) | camera pitch, roll levelled by (deg) |")
    print("|---|---|---|---|---|")
    for video in args.videos:
        leans = standing_leans(video, args.model)
        print(f"| {video.name} | {leans['frames']:.0f} | {leans['torso']:.1f} | {leans['body']:.1f} | "
              "{:.1f}, {:.1f} |".format(*leans["pitch_roll"]))
    with_truth = [v for v in args.videos if v.name in TRUTHS]
    if with_truth:
        print("\n| clip, lens | standing frames with a truth | the person's torso, body lean (deg) "
              "| torso lean error (deg) | ankles -> head lean error (deg) | camera pitch, roll: levelled by / true (deg) |")
        print("|---|---|---|---|---|---|")
    for video in with_truth:
        truth = TriangulatedClip.load(TRUTHS[video.name])
        lenses = {"default lens": DEFAULT_FOCAL_35MM, "calibrated lens": truth.focal_35mm}
        for lens, focal in lenses.items():
            got = against_truth(video, truth, args.model, focal)
            print(f"| {video.name}, {lens} | {got['frames']} | {got['own torso']:.1f}, {got['own body']:.1f} | "
                  f"{got['torso']:.1f} | {got['body']:.1f} | "
                  "{:.1f}, {:.1f} / {:.1f}, {:.1f} |".format(*got["pitch_roll"], *camera_pitch_roll_deg(truth.up_in_camera)))
        mediapipe = mediapipe_against_truth(video, truth, got["standing"])
        print(f"| {video.name}, MediaPipe's world landmarks placed level | {got['frames']} | | "
              f"{mediapipe['torso']:.1f} | {mediapipe['body']:.1f} | level assumed |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
