"""Retargeting speed: a long RePOSE action onto the Quaternius glTF character, split into steps.

    python bench/bench_retarget.py [--frames 10000]

The source is a real CMU walk, repeated to the requested length and keyed onto a generated
armature with the add-on's own key writer. Prints seconds for: reading the source action
(F-curve evaluation per frame), the retarget maths, writing the target keys, and the whole
``retarget`` call, plus the limb-direction error as a sanity figure.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import bpy  # noqa: E402
import numpy as np  # noqa: E402

from addon import armature  # noqa: E402
from addon.bonemap import load_preset  # noqa: E402
from addon.motion import bone_rotations, fit, rig  # noqa: E402
from addon.retarget import retarget, retarget_rotations, sample_source_motion  # noqa: E402
from repose_core import skeleton  # noqa: E402

SHARED = REPO_ROOT.parent / "shared" / "data"


def source_armature(frame_count: int) -> bpy.types.Object:
    from train.data.mocap import load_clip

    y_up = load_clip(SHARED / "mocap" / "cmu" / "02_01.bvh", fps=30).joints.astype(np.float64)
    joints = np.stack([y_up[..., 0], -y_up[..., 2], y_up[..., 1]], -1)
    repeats = -(-frame_count // len(joints))
    # Walk on: each repeat starts where the previous one ended, so the root keeps moving.
    step = joints[-1, 0] - joints[0, 0]
    step[2] = 0.0
    joints = np.concatenate([joints + k * step for k in range(repeats)])[:frame_count]
    lengths = fit.bone_lengths(joints)
    joints = skeleton.apply_bone_lengths(joints, lengths)
    rest = rig.build_rest_skeleton(lengths)
    quats, root = bone_rotations.pose_from_joints(joints, rest)
    obj = armature.create_armature(bpy.context.scene, "RePOSE", rest)
    armature.write_bone_keys(obj, bpy.data.actions.new("RePOSEAction"),
                             {n: quats[:, b] for b, n in enumerate(rig.BONE_NAMES)}, {rig.ROOT_BONE: root})
    return obj


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=10_000)
    args = parser.parse_args()

    bpy.ops.wm.read_factory_settings(use_empty=True)
    source = source_armature(args.frames)
    before = set(bpy.data.objects)
    bpy.ops.import_scene.gltf(filepath=str(SHARED / "characters" / "quaternius_modular_men_Casual.glb"))
    (target,) = [o for o in set(bpy.data.objects) - before if o.type == "ARMATURE"]
    bone_map = load_preset("quaternius")
    frames = np.arange(1, args.frames + 1, dtype=np.float64)

    t0 = time.perf_counter()
    sample_source_motion(source, source.animation_data.action, frames)
    t_sample = time.perf_counter() - t0
    t0 = time.perf_counter()
    quats, locations = retarget_rotations(source, target, bone_map, frames)
    t_solve = time.perf_counter() - t0 - t_sample  # retarget_rotations samples again
    t0 = time.perf_counter()
    armature.write_bone_keys(target, bpy.data.actions.new("scratch"), quats, locations)
    t_write = time.perf_counter() - t0
    t0 = time.perf_counter()
    retarget(source, target, bone_map)
    t_total = time.perf_counter() - t0

    worst = 0.0
    for frame in np.linspace(1, args.frames, 25).astype(int):
        bpy.context.scene.frame_set(int(frame))
        for s0, s1, t0_, t1_ in (("upper_arm.L", "forearm.L", "UpperArm.L", "LowerArm.L"),
                                 ("thigh.R", "shin.R", "UpperLeg.R", "LowerLeg.R")):
            d_s = np.array(source.matrix_world @ source.pose.bones[s1].head) - np.array(
                source.matrix_world @ source.pose.bones[s0].head)
            d_t = np.array(target.matrix_world @ target.pose.bones[t1_].head) - np.array(
                target.matrix_world @ target.pose.bones[t0_].head)
            cos = d_s @ d_t / np.linalg.norm(d_s) / np.linalg.norm(d_t)
            worst = max(worst, float(np.degrees(np.arccos(np.clip(cos, -1, 1)))))

    keyed = len(quats)
    print(f"retarget {args.frames} frames, {len(bone_map.bones)} mapped bones ({keyed} keyed) "
          f"onto Quaternius, Blender {bpy.app.version_string}")
    print(f"  read source action   {t_sample:7.3f} s")
    print(f"  retarget maths       {t_solve:7.3f} s")
    print(f"  write target keys    {t_write:7.3f} s")
    print(f"  retarget() total     {t_total:7.3f} s")
    print(f"  worst limb direction error (25 frames sampled): {worst:.3f} deg")


if __name__ == "__main__":
    main()
