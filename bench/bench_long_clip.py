"""Time and peak memory of the add-on's motion + key stages on a long clip (default 100,000 frames).

    python bench/bench_long_clip.py [--frames 100000]

Input is real mocap (CMU 02_05, punching, looped forth and back) seen by a virtual camera: the
pelvis-relative pose a lifter would give and its 2D keypoints. Runs ``addon.pipeline.animate``
(smoothing, fit, root motion, foot lock, rotations) and ``build_armature`` (armature + keys in
Blender). Detection and lifting are not included (see bench_import.py, bench_lifter.py).
Peak memory is the process's maximum resident set size, before and after.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="repose-bench-"))

import bpy  # noqa: E402
import numpy as np  # noqa: E402

from addon.armature import build_armature  # noqa: E402
from addon.pipeline import ImportOptions, animate  # noqa: E402
from repose_core.camera import Intrinsics, look_at, project, world_to_camera  # noqa: E402
from train.data.mocap import load_clip  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
FPS = 60.0
IMAGE_SIZE = (1920, 1080)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: kilobytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=100_000)
    args = parser.parse_args()
    joints = load_clip(SHARED / "mocap" / "cmu" / "02_05.bvh", fps=FPS).joints.astype(np.float32)
    joints = np.resize(np.concatenate([joints, joints[::-1]]), (args.frames,) + joints.shape[1:])
    eye = joints[:, 0].mean(0) + np.array([0.0, 0.0, 5.0], np.float32)
    camera = world_to_camera(joints, look_at(eye, joints[:, 0].mean(0), np.array([0.0, 1.0, 0.0])), eye)
    K = Intrinsics.from_focal_35mm(*IMAGE_SIZE, 26.0)
    keypoints = project(camera, K.fx, K.fy, K.cx, K.cy).astype(np.float32)
    pose = (camera - camera[:, :1]).astype(np.float32)
    confidence = np.ones(keypoints.shape[:2], np.float32)
    found = np.ones(args.frames, bool)
    del joints, camera
    before = peak_mb()

    start = time.perf_counter()
    motion = animate(pose, keypoints, confidence, found, IMAGE_SIZE, FPS, ImportOptions(video=Path("bench.mp4")))
    motion_seconds = time.perf_counter() - start
    after_motion = peak_mb()
    bpy.ops.wm.read_factory_settings(use_empty=True)
    start = time.perf_counter()
    build_armature(bpy.context.scene, motion, name="Long")
    keys_seconds = time.perf_counter() - start
    after_keys = peak_mb()

    print(f"{args.frames:,} frames ({args.frames / FPS / 60:.1f} min at {FPS:g} fps)")
    print(f"motion (smooth, fit, root, foot lock, rotations): {motion_seconds:6.2f} s, "
          f"peak RSS {before:.0f} -> {after_motion:.0f} MB")
    print(f"armature + keys in Blender:                       {keys_seconds:6.2f} s, "
          f"peak RSS -> {after_keys:.0f} MB")


if __name__ == "__main__":
    main()
