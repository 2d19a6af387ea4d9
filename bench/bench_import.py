"""Wall time of one whole import of a 10 s 720p clip, split into detect / lift / animate / save.

    python bench/bench_import.py [--model PATH] [--video PATH] [--seconds 10]

The clip is made from the bundled Sports2D footage (shared/data/videos/sports2d_jump_walk.mp4,
1768x994, 30 fps, 7.7 s): scaled to 1280x720 and played forth and back to the length asked, so
the person keeps moving. Stages: detect (MediaPipe, ``repose_core.detect``), lift (the lifter),
animate (smoothing, fit, root motion, foot lock, rotations, and creating + keying the armature in
Blender), save (.blend + .bvh + .fbx). Goal: everything but detection <= 20 % of the total.
``--model`` defaults to the shipped lifter (repose_core/assets/default_lifter.onnx).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="repose-bench-"))

import bpy  # noqa: E402
import cv2  # noqa: E402
import numpy as np  # noqa: E402

from addon.armature import build_armature  # noqa: E402
from addon.export import export_files  # noqa: E402
from addon.pipeline import ImportOptions, analyse  # noqa: E402

SOURCE = ROOT.parent / "shared" / "data" / "videos" / "sports2d_jump_walk.mp4"


def make_clip(source: Path, out: Path, seconds: float, size=(1280, 720)) -> tuple[Path, int]:
    """``seconds`` of ``source`` at ``size``, forth and back; returns the path and frame count."""
    capture = cv2.VideoCapture(str(source))
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(cv2.resize(frame, size, interpolation=cv2.INTER_AREA))
    capture.release()
    if not frames:
        raise SystemExit(f"{source}: no frames could be read")
    count = int(round(seconds * fps))
    looped = (frames + frames[-2:0:-1]) * (count // (2 * len(frames) - 2) + 1)
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    for frame in looped[:count]:
        writer.write(frame)
    writer.release()
    return out, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, help="lifter .onnx (default: the shipped model)")
    parser.add_argument("--video", type=Path, default=SOURCE, help="footage to build the clip from")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="repose-bench-import-") as folder:
        clip, count = make_clip(args.video, Path(folder) / "clip_720p.mp4", args.seconds)
        result = analyse(ImportOptions(video=clip, model_path=args.model))
        timings = dict(result.timings)

        bpy.ops.wm.read_factory_settings(use_empty=True)
        start = time.perf_counter()
        obj = build_armature(bpy.context.scene, result.motion, name="Bench")
        timings["animate"] += time.perf_counter() - start

        start = time.perf_counter()
        export_files(obj, Path(folder) / "out", "clip", ("blend", "bvh", "fbx"))
        timings["save"] = time.perf_counter() - start

    total = sum(timings.values())
    print(f"clip: {count} frames 1280x720 ({args.seconds:g} s), person found in "
          f"{100 * result.detection_rate:.0f}% of frames, model: {args.model or 'default'}")
    for stage in ("detect", "lift", "animate", "save"):
        print(f"  {stage:8s} {timings[stage]:7.2f} s  {100 * timings[stage] / total:5.1f} %")
    print(f"  total    {total:7.2f} s  ({count / total:.1f} frames/s)")
    print(f"everything but detection: {100 * (total - timings['detect']) / total:.1f} % of the total (goal <= 20 %)")


if __name__ == "__main__":
    main()
