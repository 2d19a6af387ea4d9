"""The generated armature in headless Blender, keyed from the bundled clip (bpy module).

The keyed tests are slow: the clip is detected (once a session, shared with the other tests)."""
from __future__ import annotations

import numpy as np
import pytest

import bpy  # required: the add-on tests must never be skipped silently

from addon import armature  # noqa: E402
from addon.motion.rig import (BONE_HEAD_JOINT, BONE_INDEX, BONE_NAMES, BONE_TAIL_JOINT, ROOT_BONE,  # noqa: E402
                              build_rest_skeleton)

keyed = pytest.mark.slow


@pytest.fixture()
def built(example_motion):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    obj = armature.build_armature(scene, example_motion.motion, name="Performer")
    return scene, obj


def _posed_joints(scene, obj, frame: int) -> np.ndarray:
    """World joints of the evaluated pose at ``frame`` (Blender's own FK)."""
    scene.frame_set(frame)
    world = np.array(obj.matrix_world)
    joints = np.zeros((17, 3))
    for b, name in enumerate(BONE_NAMES):
        bone = obj.pose.bones[name]
        head = world @ np.append(np.array(bone.head), 1.0)
        tail = world @ np.append(np.array(bone.tail), 1.0)
        joints[BONE_HEAD_JOINT[b]] = head[:3]
        if BONE_TAIL_JOINT[b] >= 0:
            joints[BONE_TAIL_JOINT[b]] = tail[:3]
    return joints


def _curve_values(fcurve) -> np.ndarray:
    co = np.empty(2 * len(fcurve.keyframe_points), dtype=np.float32)
    fcurve.keyframe_points.foreach_get("co", co)
    return co.reshape(-1, 2)


@keyed
def test_keys_on_every_frame_and_every_bone(built, example_motion):
    scene, obj = built
    count = example_motion.num_frames
    curves = armature.action_fcurves(obj.animation_data.action, obj)
    by_path = {(fc.data_path, fc.array_index): fc for fc in curves}
    names = example_motion.motion.bone_names  # the body's bones, then the hands' (an import's default)
    assert names[:len(BONE_NAMES)] == BONE_NAMES and len(names) > len(BONE_NAMES)
    assert len(by_path) == 4 * len(names) + 3
    for name in names:
        assert obj.pose.bones[name].rotation_mode == "QUATERNION"
        for index in range(4):
            keys = _curve_values(by_path[(f'pose.bones["{name}"].rotation_quaternion', index)])
            np.testing.assert_array_equal(keys[:, 0], np.arange(1, count + 1))
    for index in range(3):
        assert len(by_path[(f'pose.bones["{ROOT_BONE}"].location', index)].keyframe_points) == count
    assert (scene.frame_start, scene.frame_end) == (1, count)
    assert scene.render.fps / scene.render.fps_base == pytest.approx(example_motion.motion.fps)


@keyed
def test_blender_fk_reproduces_the_fitted_joints(built, example_motion):
    scene, obj = built
    errors = [np.abs(_posed_joints(scene, obj, f + 1) - example_motion.motion.joints[f]).max()
              for f in range(example_motion.num_frames)]
    assert max(errors) < 1e-3  # metres


@keyed
def test_bone_lengths_constant_and_quaternions_continuous(built, example_motion):
    scene, obj = built
    rest_lengths = {bone.name: bone.length for bone in obj.data.bones}
    for frame in (1, example_motion.num_frames // 2, example_motion.num_frames):
        scene.frame_set(frame)
        for bone in obj.pose.bones:
            assert bone.length == pytest.approx(rest_lengths[bone.name], abs=1e-5)
    curves = {(fc.data_path, fc.array_index): fc for fc in armature.action_fcurves(obj.animation_data.action, obj)}
    for name in BONE_NAMES:
        q = np.stack([_curve_values(curves[(f'pose.bones["{name}"].rotation_quaternion', i)])[:, 1]
                      for i in range(4)], -1)
        assert (q[1:] * q[:-1]).sum(-1).min() >= 0.0, name


@keyed
def test_rest_pose_is_upright_and_matches_the_fit(built, example_motion):
    _, obj = built
    rest = example_motion.motion.rest
    for b, name in enumerate(BONE_NAMES):
        bone = obj.data.bones[name]
        matrix = np.array(bone.matrix_local)
        np.testing.assert_allclose(matrix[:3, :3], rest.frames[b], atol=1e-5)
        np.testing.assert_allclose(matrix[:3, 3], rest.heads[b], atol=1e-5)
        assert bone.length == pytest.approx(rest.bone_lengths[b], abs=1e-5)
    bones = obj.data.bones
    assert bones["head"].tail_local.z > bones["chest"].tail_local.z > bones[ROOT_BONE].head_local.z
    assert bones["shin.L"].tail_local.z < bones["thigh.L"].head_local.z
    assert bones["upper_arm.L"].tail_local.x > 0 > bones["upper_arm.R"].tail_local.x  # left is +X
    assert bones[ROOT_BONE].parent is None and bones["thigh.L"].parent.name == "hip.L"


@keyed
def test_new_action_leaves_the_existing_one_untouched(built, example_motion):
    _, obj = built
    first = obj.animation_data.action
    before = {(fc.data_path, fc.array_index): _curve_values(fc).copy() for fc in armature.action_fcurves(first, obj)}
    second = armature.write_bone_keys(obj, bpy.data.actions.new("Second"), {"head": example_motion.motion.rotations[:, BONE_INDEX["head"]]})
    assert obj.animation_data.action == second and second != first
    after = {(fc.data_path, fc.array_index): _curve_values(fc) for fc in armature.action_fcurves(first, obj)}
    assert before.keys() == after.keys()
    for key in before:
        np.testing.assert_array_equal(before[key], after[key])


def test_write_bone_keys_rejects_bad_input():
    bpy.ops.wm.read_factory_settings(use_empty=True)
    lengths = np.array([0, .13, .45, .44, .13, .45, .44, .24, .25, .12, .12, .15, .28, .25, .15, .28, .25])
    obj = armature.create_armature(bpy.context.scene, "Rest", build_rest_skeleton(lengths))
    with pytest.raises(ValueError, match="write_bone_keys: armature 'Rest' has no bone 'tail'"):
        armature.write_bone_keys(obj, bpy.data.actions.new("Bad"), {"tail": np.ones((3, 4))})
    with pytest.raises(ValueError, match="same number of frames"):
        armature.write_bone_keys(obj, bpy.data.actions.new("Bad"), {"head": np.ones((3, 4)), "neck": np.ones((4, 4))})
    with pytest.raises(ValueError, match=r"\(T, 4\)"):
        armature.write_bone_keys(obj, bpy.data.actions.new("Bad"), {"head": np.ones((3, 3))})


def test_scene_timing_handles_fractional_rates():
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    armature.set_scene_timing(scene, 29.97, frame_start=1, frame_count=300)
    assert scene.render.fps == 30 and scene.render.fps / scene.render.fps_base == pytest.approx(29.97)
    assert (scene.frame_start, scene.frame_end) == (1, 300)
