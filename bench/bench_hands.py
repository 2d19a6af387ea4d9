"""Hands (issue 18): what finding them costs, and how well the fingers come out.

    python bench/bench_hands.py speed [--repeats 3]
    python bench/bench_hands.py fingers                              # needs bpy; renders first

speed: the detect step (decode, MediaPipe, tracking; no cache) on the two real clips of the
shared data, body only and with hands, interleaved and the best of ``--repeats`` rounds (the
machine is shared; best-of is the least disturbed), as wall time and as CPU time of the process
(every thread: MediaPipe's and the decoder's). The goal: hands <= 1.5x body only.

fingers: footage rendered with the Quaternius characters' four fingers closing and opening at
random (``train.render.footage.render_take(..., pose_fingers=True)``; TAKES, portrait shots,
each take once from a still camera (a walk then leaves the person a quarter of the frame high)
and once from a camera following the person closely (nine tenths of the frame high); cached in
.cache/render/hands), imported with hands and the default lifter. Per finger joint (the four
fingers' knuckle, middle and end joints; the thumb is not posed), the error of its bend from
rest (the import's curl about the bone's X; the character's keyed bend towards the palm),
against the same figure for fingers left straight (the rest pose) and for the import's relaxed
hand (what a hand that is never found gets). Every frame counts, found or not; the frames where
the hand was found are also given apart.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

REPO = Path(__file__).resolve().parents[1]
VIDEOS = REPO.parent / "shared" / "data" / "videos"
CLIPS = ("pose2sim_balancing_cam01.mp4", "sports2d_jump_walk.mp4")
RENDER_DIR = REPO / ".cache" / "render" / "hands"
# (mocap file under shared/data/mocap, first frame at 30 fps, frames, character): a walk and a
# standing idle, one on each character; 2 s each.
TAKES = (("cmu/02_01.bvh", 0, 60, "men"), ("reactidle/001_acted.bvh", 60, 60, "women"))
JOINTS = ("knuckle", "middle", "end")
FOUR_FINGERS = ("f_index", "f_middle", "f_ring", "f_pinky")
FRAMINGS = ("still", "following")


def speed(repeats: int) -> None:
    from repose_core.detect import detect_video

    for clip in CLIPS:
        best = {False: [np.inf, np.inf], True: [np.inf, np.inf]}
        found = None
        for _ in range(repeats):
            for hands in (False, True):
                wall, cpu = time.perf_counter(), time.process_time()
                det = detect_video(VIDEOS / clip, hands=hands)
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                best[hands] = [min(best[hands][0], wall), min(best[hands][1], cpu)]
                if hands:
                    found = (det.hand_confidence > 0).mean(0)
        frames = len(det)
        print(f"{clip} ({frames} frames, {det.image_size[0]}x{det.image_size[1]}, "
              f"{det.fps:g} fps): hands found in {found[0]:.0%} (left) / {found[1]:.0%} (right) "
              "of the frames")
        for what, index in (("wall", 0), ("cpu", 1)):
            body, both = best[False][index], best[True][index]
            print(f"  {what}: body only {body:6.2f} s ({1000 * body / frames:5.1f} ms/frame), "
                  f"with hands {both:6.2f} s ({1000 * both / frames:5.1f} ms/frame): "
                  f"{both / body:.2f}x")


def _render(framing: str) -> list[Path]:
    """The takes' truth files for one of FRAMINGS, rendered first where missing."""
    from train.data.mocap import load_clip
    from train.render.footage import Take, render_take
    from train.render.shots import ShotConfig

    shots = {"still": ShotConfig(sizes=((540, 960),), fill=(0.8, 0.9), follow_probability=0.0),
             "following": ShotConfig(sizes=((540, 960),), fill=(0.85, 0.95), min_distance_m=1.2,
                                     follow_probability=1.0)}[framing]
    truths = []
    for path, start, frames, character in TAKES:
        clip = load_clip(VIDEOS.parent / "mocap" / path, fps=30)
        take = Take(f"{Path(path).stem}_{start}_{character}_fingers_{framing}", clip.name, clip.subject,
                    start, clip.joints[start:start + frames], clip.fps, character)
        truths += render_take(take, 1, RENDER_DIR, VIDEOS.parent, shots, pose_fingers=True)
    return truths


def _import_bends(video: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The import's finger bends from rest (T, 2, 4, 3) degrees (its keys' curls), the relaxed
    hand's (4, 3), and whether each hand was found (T, 2), for a rendered video."""
    from addon.motion import fingers as finger_rotations
    from addon.pipeline import ImportOptions, analyse
    from repose_core.detect import detect_video

    cache = RENDER_DIR / "detections"
    motion = analyse(ImportOptions(video=video, hands=True, cache_dir=cache)).motion
    curls = [finger_rotations.ANGLE_NAMES.index(f"{finger}_curl{k}")
             for finger in FOUR_FINGERS for k in (1, 2, 3)]
    angles = np.degrees(finger_rotations.finger_angles(motion.hand_rotations)[..., curls])
    relaxed = np.degrees(finger_rotations.ANGLE_RELAXED[curls])
    found = detect_video(video, hands=True, cache_dir=cache).hand_confidence > 0  # a cache hit
    return angles.reshape(angles.shape[:2] + (4, 3)), relaxed.reshape(4, 3), found


def fingers() -> None:
    for framing in FRAMINGS:
        print(f"-- {framing} camera")
        _score(_render(framing))


def _score(truths: list[Path]) -> None:
    from train.render.footage import RenderTruth

    rows = {"import": [], "rest (straight)": [], "relaxed": []}
    found_all, import_found = [], []
    for truth_path in truths:
        truth = RenderTruth.load(truth_path).finger_bends
        video = truth_path.with_name(truth_path.name.replace(".truth.npz", ".mp4"))
        got, relaxed, found = _import_bends(video)
        count = min(len(truth), len(got))
        truth, got, found = truth[:count], got[:count], found[:count]
        errors = {"import": np.abs(got - truth), "rest (straight)": np.abs(truth),
                  "relaxed": np.abs(relaxed - truth)}  # relaxed (4, 3) broadcasts
        for name, error in errors.items():
            rows[name].append(error)
        found_all.append(found)
        import_found.append(errors["import"][found])
        print(f"{video.name}: {count} frames, hands found in {found[:, 0].mean():.0%} (left) / "
              f"{found[:, 1].mean():.0%} (right); mean finger bend {truth.mean():.0f} deg "
              f"(max {truth.max():.0f}); mean error: import {errors['import'].mean():.1f}, "
              f"straight {errors['rest (straight)'].mean():.1f}, relaxed {errors['relaxed'].mean():.1f} deg")
    print("finger-joint bend error from rest, degrees, mean (median) over every frame, both hands, "
          "four fingers:")
    print(f"  {'':18s}" + "".join(f"{joint:>16s}" for joint in JOINTS + ("all",)))
    for name, errors in rows.items():
        error = np.concatenate(errors)
        cells = [error[..., j] for j in range(3)] + [error]
        print(f"  {name:18s}" + "".join(f"{c.mean():9.1f} ({np.median(c):4.1f})" for c in cells))
    seen = np.concatenate(import_found)
    if len(seen):
        cells = [seen[..., j] for j in range(3)] + [seen]
        print(f"  {'import, hand found':18s}" + "".join(f"{c.mean():9.1f} ({np.median(c):4.1f})" for c in cells)
              + f"   ({np.concatenate(found_all).mean():.0%} of the hand-frames)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    speed_args = sub.add_parser("speed")
    speed_args.add_argument("--repeats", type=int, default=3)
    sub.add_parser("fingers")
    args = parser.parse_args()
    if args.what == "speed":
        speed(args.repeats)
    else:
        fingers()


if __name__ == "__main__":
    main()
