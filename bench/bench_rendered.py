"""The end-to-end rendered benchmark: real MediaPipe on rendered characters, held-out people.

Footage first (cached; ~1 h on 2 cores for both sets, needs bpy):
    python -m train.render bench --set select --jobs 2
    python -m train.render bench --set report --jobs 2
Then, for any lifters (default: the shipped one), MediaPipe's world landmarks scored beside:
    python bench/bench_rendered.py --set report [--model a.onnx b.pt ...] [--by-subject] [--by-shot] [--true-up]
                                                [--roll DEG] [--no-upright-turn] [--no-image-pull]

The two characters are stylised (upper arms shorter than forearms, legs twice the torso), so
the sets can also be rendered and scored with them in human limb proportions, the same takes
and people (``--human-bodies`` to both commands; .cache/render/bench-human): what a lifter
makes of people's bodies, with exact truth.

"select" people are the ones recipes are chosen on; "report" people are never used for a
choice (train/data/people.py). Metrics: train/render/score.py. Detections are cached in
.cache/detect, so a second run only lifts and scores.

A second table follows the add-on's whole import (levelling, root motion, feet on the floor,
foot lock) into the world: the torso's lean against the truth, the ankles' height while the true
foot is planted (the add-on's standing ankle height is 80 mm; the truth's own ankles are shown
beside it: a character's ankle is not the add-on's rig's, and on tiptoe, kneeling or lying a
planted foot's ankle is higher), how far the lowest part of the
body (``root_motion.lowest_surface``: a foot, or a knee, the hands, the back) is from where the
truth's is, every frame (floating or sunk), and foot skate, with the default lens assumed and
with the shot's true lens given (the Lens setting); MediaPipe's world landmarks are placed as a
level camera would put them, as other add-ons do.
``--true-up`` levels the import by the shot's true camera instead of the lifter's up direction:
what the lean would be with a perfect up estimate and this lifter's poses. ``--roll DEG`` films
every shot with its camera rolled about the optical axis by DEG degrees, one way on even shots and
the other on odd ones (the footage is rendered with little roll, a camera on a stand or in a hand
often has more): MediaPipe's 2D and 3D are turned with the image, which takes MediaPipe to see a
rolled image as it saw the level one, turned.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from repose_core import load_lifter  # noqa: E402
from repose_core.detect import Detection2D, detect_video  # noqa: E402
from repose_core.features import roll_matrix, rolled_xy  # noqa: E402
from train.render.footage import RenderTruth, shot_paths  # noqa: E402
from train.render.plans import BENCH_DIR, SHOTS_PER_TAKE, bench_dir, plan  # noqa: E402
from train.render.shots import Y_UP_TO_BLENDER  # noqa: E402
from train.render.score import (METRICS, ScoredShot, contact_heights, scored_shot, summarise,  # noqa: E402
                                lean_error_deg)

DETECT_CACHE = BENCH_DIR.parents[1] / "detect"
_HEADERS = {"p_mpjpe_limbs": "P-MPJPE limbs", "mpjpe": "MPJPE", "bone_direction_deg": "bone dir.",
            "depth_order": "depth order", "occluded_mpjpe": "occluded MPJPE"}


def rendered_shots(group: str, human_bodies: bool = False) -> list[tuple[str, Path, Path]]:
    """(name, video, truth) of the set's shots that are rendered (``human_bodies``: those with the
    characters in human limb proportions)."""
    shots = []
    for take in plan("bench", group, human_bodies=human_bodies):
        for k in range(SHOTS_PER_TAKE["bench"]):
            video, truth = shot_paths(bench_dir(human_bodies), take.name, k)
            if video.is_file() and truth.is_file():
                shots.append((f"{take.name}_s{k}", video, truth))
    return shots


# What kind of motion a held-out person did, for the upright/grounded figures: levelling and
# the floor are about people on their feet; a cartwheel's torso "lean" is its pose.
MOTION_KINDS: dict[str, str] = {"cmu_": "standing, walking", "reactidle_": "standing, walking",
                                "indian": "dance", "deepmimic_dance": "dance"}
ACROBATICS = "kicks, get-ups, acrobatics"


def motion_kind(subject: str) -> str:
    return next((kind for prefix, kind in MOTION_KINDS.items() if subject.startswith(prefix)), ACROBATICS)


def rolled(truth: RenderTruth, detection: Detection2D, degrees: float) -> tuple[RenderTruth, Detection2D]:
    """The shot as its camera, rolled by ``degrees`` about the optical axis, films it: the
    truth's camera turned, MediaPipe's image points turned about the principal point (the image
    centre) and its world landmarks about the camera's axis."""
    angle = np.radians(degrees)
    centre = np.asarray(detection.image_size, dtype=np.float64) / 2.0
    landmarks = detection.landmarks.copy()
    landmarks[..., :2] = rolled_xy(landmarks[..., :2] - centre, angle) + centre
    return replace(truth, R=roll_matrix(angle) @ truth.R), replace(
        detection, keypoints=(rolled_xy(detection.keypoints - centre, angle) + centre).astype(np.float32),
        landmarks=landmarks, world_landmarks=rolled_xy(detection.world_landmarks, angle))


class ShotImport(NamedTuple):
    """One shot's import into the world with one lens setting: :func:`import_figures`."""

    name: str
    camera: str     # "still" or "following"
    lens: str       # "default lens" or "true lens"
    kind: str       # :func:`motion_kind`
    figures: dict[str, np.ndarray]


def score_model(model: Path | None, shots: list[tuple[str, Path, Path]], true_up: bool = False, roll_deg: float = 0.0,
                upright_turn: bool = True, image_pull: bool = True) -> tuple[list[ScoredShot], list[ShotImport]]:
    """Pose scores per shot, and the import's upright/grounded figures per shot and lens.
    ``true_up``: the import is levelled by the shot's true camera; ``roll_deg``: each shot filmed
    with its camera rolled that much, one way or the other (:func:`rolled`); ``upright_turn``,
    ``image_pull``: the runtime's (``runtime.upright_turns``, ``image_fit.pulled_to_image``)."""
    lifter = load_lifter(model, upright_turn=upright_turn, image_pull=image_pull)
    scored = []
    imports = []
    for k, (name, video, truth_path) in enumerate(shots):
        detection = detect_video(video, cache_dir=DETECT_CACHE)
        truth = RenderTruth.load(truth_path)
        if roll_deg:
            truth, detection = rolled(truth, detection, roll_deg if k % 2 == 0 else -roll_deg)
        lifted = lifter.lift(detection.keypoints, image_size=detection.image_size,
                             confidence=detection.confidence, world=detection.world_joints)
        scored.append(scored_shot(name, truth, detection, lifted.pose))
        camera = "following" if truth.follow else "still"
        up = truth.shot.up_in_camera[detection.frame_indices] if true_up else lifted.up
        for lens in ("default lens", "true lens"):
            imports.append(ShotImport(name, camera, lens, motion_kind(truth.subject),
                                      import_figures(truth, detection, lifted.pose, up, lens == "true lens")))
    return scored, imports


def import_figures(truth: RenderTruth, detection, pose: np.ndarray, up: np.ndarray | None,
                   true_lens: bool) -> dict[str, np.ndarray]:
    """The add-on's import of one shot's lifted ``pose``, levelled by ``up`` (camera frame, per
    frame), against the truth in the world: lean errors (degrees) of the pipeline and of
    MediaPipe's world landmarks placed level, ankle heights (m) in the true contact frames (the
    import's, and the truth's own: the characters' feet are not the add-on's rig's), the
    lowest body part's height less the truth's (m) per frame, foot skate (mm/frame).
    ``true_lens``: the import is told the shot's lens (the Lens setting), else it assumes the
    default phone lens."""
    from addon.motion import foot_lock, root_motion
    from addon.pipeline import ImportOptions, animate

    found = detection.found
    options = ImportOptions(video=Path(detection.video))
    if true_lens:
        options = ImportOptions(video=Path(detection.video),
                                focal_35mm=truth.shot.intrinsics.focal_35mm)
    result = animate(pose, detection.keypoints, detection.confidence, found, detection.image_size,
                     detection.fps, options, up=up)
    world = truth.joints[detection.frame_indices]
    truth_z_up = world @ Y_UP_TO_BLENDER.T
    contacts = foot_lock.detect_contacts(truth_z_up, detection.fps)
    mediapipe_placed = root_motion.place_in_world(np.nan_to_num(detection.world_joints), detection.fps).joints
    return {
        "pipeline_lean": lean_error_deg(world[found], result.joints[found]),
        "mediapipe_lean": lean_error_deg(world[found], mediapipe_placed[found]),
        "heights": contact_heights(contacts[found], result.joints[found]),
        "truth_heights": contact_heights(contacts[found], truth_z_up[found]),
        "body_height": (root_motion.lowest_surface(result.joints[found])
                        - root_motion.lowest_surface(truth_z_up[found])),
        "skate": np.array([result.foot_skate_after]),
    }


def _row(label: str, values: dict[str, float]) -> str:
    cells = [f"{values[m]:.3f}" if m == "depth_order" else f"{values[m]:.1f}" for m in METRICS]
    return f"| {label} | " + " | ".join(cells) + " |"


def print_table(title: str, results: dict[str, dict]) -> None:
    print(f"\n{title}\n")
    print("| | " + " | ".join(_HEADERS[m] for m in METRICS) + " |")
    print("|---" * (len(METRICS) + 1) + "|")
    mediapipe = None
    for label, summary in results.items():
        print(_row(label, summary["pipeline"]))
        mediapipe = summary["mediapipe"]
    print(_row("MediaPipe world landmarks", mediapipe))


def print_upright_table(figures: dict[str, list[ShotImport]]) -> None:
    """Per model (its shots' imports): by kind of motion on still cameras with the true lens (what
    the method does), then everything pooled per camera (a following one breaks the import's
    still-camera assumption) and lens (the default one is what an import without the Lens setting
    gets)."""
    from addon.motion.rig import ANKLE_HEIGHT

    def row(label: str, parts: list[dict[str, np.ndarray]], key: str = "pipeline_lean") -> str:
        if key == "truth_heights":
            heights = np.concatenate([f[key] for f in parts])
            return (f"| {label} | | {np.median(heights) * 1000:.0f} | "
                    f"{np.abs(heights - ANKLE_HEIGHT).mean() * 1000:.0f} | | |")
        lean = np.concatenate([f[key] for f in parts])
        if key == "mediapipe_lean":
            return f"| {label} | {lean.mean():.1f} | | | | |"
        heights = np.concatenate([f["heights"] for f in parts])
        body = np.concatenate([f["body_height"] for f in parts])
        skate = np.concatenate([f["skate"] for f in parts])
        return (f"| {label} | {lean.mean():.1f} | {np.median(heights) * 1000:.0f} | "
                f"{np.abs(heights - ANKLE_HEIGHT).mean() * 1000:.0f} | {np.abs(body).mean() * 1000:.0f} | "
                f"{np.nanmean(skate):.2f} |")

    header = ("| | torso lean error (deg) | ankle height in contact, median (mm) | its error, mean (mm) "
              "| lowest body part's height error, mean (mm) | foot skate (mm/frame) |\n|---|---|---|---|---|---|")
    def pooled(imports: list[ShotImport], camera: str, lens: str, kind: str | None = None) -> list[dict[str, np.ndarray]]:
        return [s.figures for s in imports if (s.camera, s.lens) == (camera, lens) and kind in (None, s.kind)]

    kinds = sorted({s.kind for imports in figures.values() for s in imports})
    print("\nThe import in the world (root motion, foot lock): still cameras, true lens, by motion\n")
    print(header)
    for label, imports in figures.items():
        for kind in kinds:
            parts = pooled(imports, "still", "true lens", kind)
            if parts:
                print(row(f"{label}: {kind}", parts))
    first = next(iter(figures.values()))
    for kind in kinds:
        parts = pooled(first, "still", "true lens", kind)
        if parts:
            print(row(f"MediaPipe world landmarks placed level: {kind}", parts, "mediapipe_lean"))
            print(row(f"the truth's own ankles: {kind}", parts, "truth_heights"))
    print("\nThe same, all motions pooled, by camera and lens\n")
    print(header)
    for label, imports in figures.items():
        for camera in ("still", "following"):
            for lens in ("default lens", "true lens"):
                parts = pooled(imports, camera, lens)
                if parts:
                    print(row(f"{label}: {camera} camera, {lens}", parts))
    for camera in ("still", "following"):
        parts = pooled(first, camera, "default lens")
        if parts:
            print(row(f"MediaPipe world landmarks placed level: {camera} camera", parts, "mediapipe_lean"))
            print(row(f"the truth's own ankles: {camera} camera", parts, "truth_heights"))


def print_shot_table(label: str, imports: list[ShotImport]) -> None:
    """The import's figures shot by shot (true lens), the shots that put the most error into the
    pooled ankle height in contact first: where the pooled figures' error sits."""
    from addon.motion.rig import ANKLE_HEIGHT

    per_shot = [(s.name, s.camera, s.figures) for s in imports if s.lens == "true lens"]
    errors = {name: np.abs(f["heights"] - ANKLE_HEIGHT).sum() for name, _, f in per_shot}
    total = max(sum(errors.values()), 1e-9)
    print(f"\n{label}: the import shot by shot (true lens)\n")
    print("| shot | camera | torso lean error (deg) | contact frames | ankle height in contact, median (mm) "
          "| its error, mean (mm) | share of all shots' error | foot skate (mm/frame) |\n|---|---|---|---|---|---|---|---|")
    for name, camera, f in sorted(per_shot, key=lambda shot: -errors[shot[0]]):
        heights = f["heights"]
        median, error = ((np.median(heights) * 1000, errors[name] / len(heights) * 1000) if len(heights)
                         else (np.nan, np.nan))
        print(f"| {name} | {camera} | {f['pipeline_lean'].mean():.1f} | {len(heights)} | {median:.0f} | "
              f"{error:.0f} | {errors[name] / total:.2f} | {np.nanmean(f['skate']):.2f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", choices=("select", "report"), default="select")
    parser.add_argument("--model", type=Path, nargs="*", default=[None],
                        help="lifters to score (.onnx or .pt); default: the shipped one")
    parser.add_argument("--by-subject", action="store_true", help="a table per held-out person too")
    parser.add_argument("--by-shot", action="store_true",
                        help="the import's figures shot by shot too, the shots with most floor error first")
    parser.add_argument("--true-up", action="store_true",
                        help="level the import by the shot's true camera, not the lifter's up direction")
    parser.add_argument("--roll", type=float, default=0.0, metavar="DEG",
                        help="film every shot with its camera rolled by DEG degrees, alternately each way")
    parser.add_argument("--no-upright-turn", action="store_true",
                        help="lift bodies lying or upside down in the image as filmed (runtime.upright_turns)")
    parser.add_argument("--human-bodies", action="store_true",
                        help="the set's takes on the characters in human limb proportions "
                             "(`python -m train.render bench --set SET --human-bodies`)")
    parser.add_argument("--no-image-pull", action="store_true",
                        help="leave the limbs' ends where the lifter put them (image_fit.pulled_to_image)")
    args = parser.parse_args()
    shots = rendered_shots(args.set, args.human_bodies)
    expected = len(plan("bench", args.set)) * SHOTS_PER_TAKE["bench"]
    bodies = " --human-bodies" if args.human_bodies else ""
    if not shots:
        print(f"no rendered shots: run `python -m train.render bench --set {args.set}{bodies}` first")
        return 1
    print(f"{args.set} set{bodies and ', human bodies'}: {len(shots)} of {expected} shots rendered")
    scored_models = {str(m or "shipped model"): score_model(m, shots, args.true_up, args.roll, not args.no_upright_turn,
                                                        not args.no_image_pull) for m in args.model}
    per_model = {label: scored for label, (scored, _) in scored_models.items()}
    results = {label: summarise(scored) for label, scored in per_model.items()}
    frames = next(iter(results.values()))["frames"]
    print(f"frames scored (person found): {frames['scored']:.0f} of {frames['total']:.0f}")
    print_table(f"All {args.set} people", results)
    print_upright_table({label: imports for label, (_, imports) in scored_models.items()})
    if args.by_shot:
        for label, (_, imports) in scored_models.items():
            print_shot_table(label, imports)
    if args.by_subject:
        for subject in sorted({s.subject for s in next(iter(per_model.values()))}):
            print_table(subject, {label: summarise([s for s in scored if s.subject == subject])
                                  for label, scored in per_model.items()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
