"""Key writing speed: the add-on's fast path against keyframe_insert on the same motion.

    python bench/bench_keys.py [--frames 10000] [--insert-frames 10000]

Writes FRAMES frames x 17 bones (quaternion on every bone + root location: 71 F-curves) of
real-looking motion (CMU 02_05, punching, looped) onto the generated armature, once with
``addon.armature.write_bone_keys`` (channelbag + keyframe_points.add + foreach_set) and once with
the classic per-frame ``pose_bone.keyframe_insert``. Goal: the fast path under 1 s at 10,000 frames.
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
import numpy as np  # noqa: E402

from addon import armature  # noqa: E402
from addon.motion import bone_rotations, fit, rig, root_motion  # noqa: E402
from repose_core import skeleton  # noqa: E402
from repose_core.camera import look_at, world_to_camera  # noqa: E402
from train.data.mocap import load_clip  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"


def motion(frames: int) -> tuple[rig.RestSkeleton, np.ndarray, np.ndarray]:
    """Keys for ``frames`` frames from real mocap, looped forth and back to the length asked."""
    joints = load_clip(SHARED / "mocap" / "cmu" / "02_05.bvh", fps=60.0).joints.astype(np.float64)
    joints = np.concatenate([joints, joints[::-1]])
    joints = np.resize(joints, (frames,) + joints.shape[1:])
    eye = joints[:, 0].mean(0) + np.array([0.0, 0.0, 5.0])
    camera = world_to_camera(joints, look_at(eye, joints[:, 0].mean(0), np.array([0.0, 1.0, 0.0])), eye)
    pose = camera - camera[:, :1]
    lengths = fit.bone_lengths(pose)
    world = root_motion.place_in_world(skeleton.apply_bone_lengths(pose, lengths), 60.0).joints
    rest = rig.build_rest_skeleton(lengths)
    quaternions, root_location = bone_rotations.pose_from_joints(world, rest)
    return rest, quaternions, root_location


def fresh_armature(rest: rig.RestSkeleton) -> bpy.types.Object:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    return armature.create_armature(bpy.context.scene, "Bench", rest)


def fast_path(rest, quaternions, root_location) -> float:
    obj = fresh_armature(rest)
    rotations_by_bone = {name: quaternions[:, b] for b, name in enumerate(rig.BONE_NAMES)}
    start = time.perf_counter()
    armature.write_bone_keys(obj, bpy.data.actions.new("Fast"), rotations_by_bone,
                             {rig.ROOT_BONE: root_location}, frame_start=1)
    return time.perf_counter() - start


def keyframe_insert_path(rest, quaternions, root_location) -> float:
    obj = fresh_armature(rest)
    obj.animation_data_create().action = bpy.data.actions.new("Insert")
    bones = [obj.pose.bones[name] for name in rig.BONE_NAMES]
    root = obj.pose.bones[rig.ROOT_BONE]
    start = time.perf_counter()
    for f in range(len(quaternions)):
        for b, bone in enumerate(bones):
            bone.rotation_quaternion = quaternions[f, b]
            bone.keyframe_insert("rotation_quaternion", frame=f + 1)
        root.location = root_location[f]
        root.keyframe_insert("location", frame=f + 1)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=10_000)
    parser.add_argument("--insert-frames", type=int, default=None,
                        help="frames for the keyframe_insert run (default: --frames)")
    args = parser.parse_args()
    rest, quaternions, root_location = motion(args.frames)
    channels = 4 * len(rig.BONE_NAMES) + 3
    fast = min(fast_path(rest, quaternions, root_location) for _ in range(3))
    print(f"Blender {bpy.app.version_string}, {args.frames} frames x {len(rig.BONE_NAMES)} bones "
          f"({channels} F-curves, {args.frames * channels:,} keys)")
    print(f"fast path (channelbag + foreach_set): {fast:.3f} s  (best of 3; goal < 1 s)")
    insert_frames = args.insert_frames or args.frames
    slow = keyframe_insert_path(rest, quaternions[:insert_frames], root_location[:insert_frames])
    scaled = slow * args.frames / insert_frames
    note = "" if insert_frames == args.frames else f" (measured on {insert_frames} frames, scaled)"
    print(f"keyframe_insert per frame:            {scaled:.3f} s{note}")
    print(f"speed-up: {scaled / fast:.0f}x")


if __name__ == "__main__":
    main()
