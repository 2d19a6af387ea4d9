"""Bone maps and retargeting onto real rigs: the CC0 Quaternius glTF character and Rigify's metarig.

The source is a generated RePOSE armature keyed (by the add-on's own armature code) with real
motion: a CMU walk, so the limbs, the hands and the feet all move.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

import bpy  # required: the add-on tests must never be skipped silently

from addon import armature as armature_module  # noqa: E402
from addon.bonemap import (  # noqa: E402
    REQUIRED_BONES, BoneMapError, detect_preset, load_bone_map, load_preset, preset_ids, resolve_bone_map,
)
from addon.motion import bone_rotations, fit, rig  # noqa: E402
from addon.motion.hand_rig import ALL_BONE_NAMES  # noqa: E402
from addon.retarget import RetargetError, retarget  # noqa: E402
from repose_core import skeleton  # noqa: E402
from rig_checks import QUATERNIUS_SEGMENTS, segment_angles, world_point  # noqa: E402

QUATERNIUS = "characters/quaternius_modular_men_Casual.glb"
# The women's rig hangs its legs from "Root", beside "Hips" rather than under it.
QUATERNIUS_LEGS_FROM_ROOT = "characters/quaternius_modular_women_Casual.glb"
WALK = "mocap/cmu/02_01.bvh"

# As rig_checks.QUATERNIUS_SEGMENTS, for Rigify's metarig.
RIGIFY_SEGMENTS = [
    (("upper_arm.R", "forearm.R"), ("upper_arm.R", "forearm.R")),
    (("forearm.L", None), ("forearm.L", "hand.L")),
    (("thigh.R", "shin.R"), ("thigh.R", "shin.R")),
    (("shin.L", None), ("shin.L", "foot.L")),
    (("spine", "chest"), ("spine.001", "spine.003")),
]


@pytest.fixture(scope="module")
def walk(shared_data):
    """A real CMU walk (2.9 s at 30 fps) as the generated armature's rest pose and keys."""
    from train.data.mocap import load_clip

    y_up = load_clip(shared_data / WALK, fps=30).joints.astype(np.float64)
    joints = np.stack([y_up[..., 0], -y_up[..., 2], y_up[..., 1]], -1)  # Y up -> Blender Z up
    lengths = fit.bone_lengths(joints)
    joints = skeleton.apply_bone_lengths(joints, lengths)
    rest = rig.build_rest_skeleton(lengths)
    return (rest, *bone_rotations.pose_from_joints(joints, rest))


@pytest.fixture
def source(walk):
    """A RePOSE armature keyed with the walk, in a fresh scene."""
    rest, quats, root_location = walk
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    obj = armature_module.create_armature(scene, "RePOSE", rest)
    armature_module.write_bone_keys(
        obj, bpy.data.actions.new("RePOSEAction"),
        {name: quats[:, b] for b, name in enumerate(rig.BONE_NAMES)}, {rig.ROOT_BONE: root_location},
    )
    armature_module.set_scene_timing(scene, 30.0, 1, len(quats))
    return obj


def import_quaternius(shared_data, character: str = QUATERNIUS) -> bpy.types.Object:
    before = set(bpy.data.objects)
    bpy.ops.import_scene.gltf(filepath=str(shared_data / character))
    (arm,) = [o for o in set(bpy.data.objects) - before if o.type == "ARMATURE"]
    return arm


def add_rigify_metarig() -> bpy.types.Object:
    bpy.ops.preferences.addon_enable(module="rigify")
    bpy.ops.object.armature_human_metarig_add()
    return bpy.context.object


def sample(source, target, segments, frames):
    """Per frame: segment angles, source wrist/ankle, target hand/foot heads."""
    scene = bpy.context.scene
    out = {"src_ends": [], "tgt_ends": []}
    for frame in frames:
        scene.frame_set(int(frame))
        out["src_ends"].append([world_point(source, s0, "tail") for (s0, s1), _ in segments if s1 is None])
        out["tgt_ends"].append([world_point(target, t1) for (s0, s1), (t0, t1) in segments if s1 is None])
    return {"angles": segment_angles(source, target, segments, frames), **{k: np.array(v) for k, v in out.items()}}


def fcurve_key_counts(obj, action) -> dict[tuple[str, int], int]:
    return {(fc.data_path, fc.array_index): len(fc.keyframe_points)
            for fc in armature_module.action_fcurves(action, obj)}


def check_retarget(source, target, bone_map, segments):
    frame_count = int(source.animation_data.action.frame_range[1])
    action = retarget(source, target, bone_map)

    assert target.animation_data.action == action
    counts = fcurve_key_counts(target, action)
    for source_bone, target_bone in bone_map.bones.items():
        if source_bone not in source.data.bones:  # the hands, on a body-only armature
            continue
        for i in range(4):
            assert counts[(f'pose.bones["{target_bone}"].rotation_quaternion', i)] == frame_count
    root = bone_map.bones["pelvis"]
    assert all(counts[(f'pose.bones["{root}"].location', i)] == frame_count for i in range(3))

    got = sample(source, target, segments, np.arange(1, frame_count + 1, 3))
    # Rest-pose differences handled: every limb segment points where the source's does.
    assert got["angles"].max() < 1.0, got["angles"].max(0)
    # Hands and feet travel with the source's wrists and ankles (a walk: every axis moves).
    for k in range(got["src_ends"].shape[1]):
        for axis in range(3):
            r = np.corrcoef(got["src_ends"][:, k, axis], got["tgt_ends"][:, k, axis])[0, 1]
            assert r > 0.9, (k, axis, r)
    return action


def test_presets_load_and_cover_the_required_bones():
    assert set(preset_ids()) >= {"rigify_metarig", "mixamo", "quaternius"}
    for preset_id in preset_ids():
        bone_map = load_preset(preset_id)
        assert set(REQUIRED_BONES) <= set(bone_map.bones)
        assert set(bone_map.bones) <= set(ALL_BONE_NAMES)


def test_retarget_onto_quaternius(source, shared_data):
    target = import_quaternius(shared_data)
    bone_map = detect_preset(target.data.bones.keys())
    assert bone_map.name == "Quaternius"
    check_retarget(source, target, bone_map, QUATERNIUS_SEGMENTS)


def test_retarget_onto_a_rig_whose_legs_hang_from_a_root_bone(source, shared_data):
    """Root motion on "Hips" alone would leave such legs behind while the body walks away."""
    target = import_quaternius(shared_data, QUATERNIUS_LEGS_FROM_ROOT)
    assert target.data.bones["UpperLeg.L"].parent.name == "Root"
    check_retarget(source, target, load_preset("quaternius"), QUATERNIUS_SEGMENTS)
    hip_gap = []
    for frame in range(1, int(source.animation_data.action.frame_range[1]) + 1, 10):
        bpy.context.scene.frame_set(frame)
        hip_gap.append(np.linalg.norm(world_point(target, "UpperLeg.L") - world_point(target, "Hips")))
    assert np.ptp(hip_gap) < 1e-3   # the thigh stays on the pelvis as it travels


def test_retarget_onto_rigify_metarig(source):
    target = add_rigify_metarig()
    bone_map = resolve_bone_map("AUTO", target.data.bones.keys(), target.name)
    assert bone_map.name == "Rigify metarig"
    check_retarget(source, target, bone_map, RIGIFY_SEGMENTS)


def test_the_computed_rotations_retarget_as_the_keys_do(source, walk, shared_data):
    """An import hands retargeting the rotations it computed (retarget_motion); the operator
    reads them back from the source's keys (retarget): the character gets the same motion."""
    from addon.retarget import retarget_motion

    by_keys = import_quaternius(shared_data)
    by_rotations = import_quaternius(shared_data)
    bone_map = load_preset("quaternius")
    keyed = retarget(source, by_keys, bone_map)
    _, quats, root_location = walk
    computed = retarget_motion(source, quats, root_location, by_rotations, bone_map, frame_start=1)
    frames = np.arange(1, len(quats) + 1, 9)
    assert segment_angles(source, by_rotations, QUATERNIUS_SEGMENTS, frames).max() < 1.0
    values = [{(fc.data_path, fc.array_index): [fc.evaluate(f) for f in frames]
               for fc in armature_module.action_fcurves(action, obj)}
              for action, obj in ((keyed, by_keys), (computed, by_rotations))]
    assert values[0].keys() == values[1].keys() and len(values[0]) > 60
    for key in values[0]:
        np.testing.assert_allclose(values[1][key], values[0][key], atol=1e-5, err_msg=str(key))


def test_root_motion_is_scaled_by_leg_length(source, shared_data):
    target = import_quaternius(shared_data)
    retarget(source, target, load_preset("quaternius"))
    frames = np.arange(1, int(source.animation_data.action.frame_range[1]) + 1, 5)
    src, tgt = [], []
    for frame in frames:
        bpy.context.scene.frame_set(int(frame))
        src.append(world_point(source, "pelvis"))
        tgt.append(world_point(target, "Hips"))
    src_path = np.linalg.norm(np.diff(np.array(src), axis=0), axis=-1).sum()
    tgt_path = np.linalg.norm(np.diff(np.array(tgt), axis=0), axis=-1).sum()

    def leg(obj, thigh, shin, foot):
        return (np.linalg.norm(np.array(obj.matrix_world @ obj.data.bones[shin].head_local)
                               - np.array(obj.matrix_world @ obj.data.bones[thigh].head_local))
                + np.linalg.norm(np.array(obj.matrix_world @ foot)
                                 - np.array(obj.matrix_world @ obj.data.bones[shin].head_local)))

    ratio = leg(target, "UpperLeg.L", "LowerLeg.L", target.data.bones["Foot.L"].head_local) / leg(
        source, "thigh.L", "shin.L", source.data.bones["shin.L"].tail_local)
    assert src_path > 1.0  # metres walked: the test has something to measure
    assert tgt_path / src_path == pytest.approx(ratio, rel=0.02)


def test_users_existing_action_is_kept_untouched(source, shared_data):
    target = import_quaternius(shared_data)
    bone = target.pose.bones["UpperArm.L"]
    bone.rotation_mode = "QUATERNION"
    for frame, angle in ((1, 0.0), (10, 0.8)):
        bone.rotation_quaternion = (np.cos(angle / 2), 0.0, 0.0, np.sin(angle / 2))
        bone.keyframe_insert("rotation_quaternion", frame=frame)
    users_action = target.animation_data.action
    name = users_action.name
    before = {k: [tuple(p.co) for p in fc.keyframe_points]
              for fc in armature_module.action_fcurves(users_action, target)
              for k in [(fc.data_path, fc.array_index)]}

    new_action = retarget(source, target, load_preset("quaternius"))

    assert new_action != users_action and target.animation_data.action == new_action
    assert bpy.data.actions.get(name) == users_action and users_action.use_fake_user
    after = {(fc.data_path, fc.array_index): [tuple(p.co) for p in fc.keyframe_points]
             for fc in armature_module.action_fcurves(users_action, target)}
    assert after == before


def test_wrong_objects_and_missing_bones_give_clear_errors(source, shared_data, tmp_path):
    target = import_quaternius(shared_data)
    mesh = next(o for o in bpy.data.objects if o.type == "MESH")

    with pytest.raises(RetargetError, match="not an armature"):
        retarget(source, mesh, load_preset("quaternius"))
    with pytest.raises(RetargetError, match="not a RePOSE armature"):
        retarget(target, source, load_preset("rigify_metarig"))
    with pytest.raises(BoneMapError, match=r"lacks bones .*mixamorig:Hips"):
        retarget(source, target, load_preset("mixamo"))
    with pytest.raises(BoneMapError, match=r"lacks bones .*mixamorig:LeftArm"):
        resolve_bone_map("mixamo", target.data.bones.keys(), target.name)
    with pytest.raises(BoneMapError, match="no bone-map preset fits"):
        detect_preset(["Bone", "Bone.001"])

    incomplete = tmp_path / "incomplete.json"
    incomplete.write_text(json.dumps({"bones": {"pelvis": "Hips", "chest": "Chest"}}))
    with pytest.raises(BoneMapError, match=r"incomplete.json: the map lacks required bones \['head'"):
        load_bone_map(incomplete)
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps({"bones": {**load_preset("quaternius").bones, "tail": "Tail"}}))
    with pytest.raises(BoneMapError, match=r"unknown RePOSE bones \['tail'\]"):
        load_bone_map(unknown)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(BoneMapError, match="broken.json: not a readable JSON"):
        load_bone_map(broken)


def test_user_json_map_retargets(source, shared_data, tmp_path):
    """A user's own map (the Quaternius bones without the optional neck and shoulders)."""
    target = import_quaternius(shared_data)
    bones = {k: v for k, v in load_preset("quaternius").bones.items()
             if k not in ("neck", "shoulder.L", "shoulder.R")}
    path = tmp_path / "my_rig.json"
    path.write_text(json.dumps({"name": "My rig", "bones": bones}))
    bone_map = resolve_bone_map(str(path), target.data.bones.keys(), target.name)
    assert bone_map.name == "My rig"
    check_retarget(source, target, bone_map, QUATERNIUS_SEGMENTS)


def test_long_actions_are_solved_in_chunks_with_the_same_result(source, shared_data, monkeypatch):
    import addon.retarget as retarget_module

    target = import_quaternius(shared_data)
    bone_map = load_preset("quaternius")
    rotations, root_location, _ = retarget_module.sample_source_motion(source)
    whole = retarget_module.retarget_rotations(source, target, bone_map, rotations, root_location)
    monkeypatch.setattr(retarget_module, "CHUNK_FRAMES", 7)
    chunked = retarget_module.retarget_rotations(source, target, bone_map, rotations, root_location)
    for a, b in zip(whole, chunked):
        assert a.keys() == b.keys()
        for name in a:
            np.testing.assert_allclose(a[name], b[name], atol=1e-12)
    for q in whole[0].values():  # continuous: no sign flips between adjacent keys
        assert ((q[1:] * q[:-1]).sum(-1) >= 0).all()


def test_mixamo_maps_follow_the_rigs_namespace():
    """Mixamo names a second character's bones mixamorig1:*; the preset adapts, others do not."""
    preset = load_preset("mixamo")
    second = [t.replace("mixamorig:", "mixamorig1:") for t in preset.bones.values()] + ["mixamorig1:LeftHand"]
    assert detect_preset(second).bones["pelvis"] == "mixamorig1:Hips"
    assert resolve_bone_map("mixamo", second, "Armature").bones["forearm.R"] == "mixamorig1:RightForeArm"
    partial = [b for b in second if not b.endswith("LeftForeArm")]
    with pytest.raises(BoneMapError, match="mixamorig:LeftForeArm"):
        resolve_bone_map("mixamo", partial, "Armature")
    assert load_preset("quaternius").in_namespace_of(second) == load_preset("quaternius")


# --- hands: the fingers of a RePOSE armature with hands ------------------------------------------
# (source bone, None: its tail), (target bones along the same finger segment) on each rig.
QUATERNIUS_FINGER_SEGMENTS = [
    ((f"{ours}.0{k}.{side}", None), (f"{theirs}{k + 1}.{side}", f"{theirs}{k + 2}.{side}"))
    for side in "LR" for ours, theirs in (("f_index", "Index"), ("f_middle", "Middle"), ("f_pinky", "Pinky"))
    for k in (1, 2)
]
RIGIFY_FINGER_SEGMENTS = [
    ((f"{finger}.0{k}.{side}", None), (f"{finger}.0{k}.{side}", f"{finger}.0{k + 1}.{side}"))
    for side in "LR" for finger in ("f_index", "f_middle", "f_pinky") for k in (1, 2)
]


@pytest.fixture
def source_with_hands(walk):
    """The walk on a RePOSE armature with hands, its fingers curling into a fist and opening
    again, the thumb too."""
    from addon.motion.hand_rig import HAND_BONE_NAMES, build_hand_rest

    rest, quats, root_location = walk
    count = len(quats)
    curl = np.radians(80.0) * np.sin(np.linspace(0.0, np.pi, count)) ** 2  # 0 -> 80 deg -> 0
    finger = np.stack([np.cos(curl / 2), np.sin(curl / 2), 0 * curl, 0 * curl], -1)
    hands = {name: (finger if name[:1] in "ft" and not name.startswith("thumb.01") else
                    np.tile([1.0, 0.0, 0.0, 0.0], (count, 1))) for name in HAND_BONE_NAMES}
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    obj = armature_module.create_armature(scene, "RePOSE", rest, build_hand_rest(rest))
    armature_module.write_bone_keys(
        obj, bpy.data.actions.new("RePOSEAction"),
        {**{name: quats[:, b] for b, name in enumerate(rig.BONE_NAMES)}, **hands},
        {rig.ROOT_BONE: root_location},
    )
    armature_module.set_scene_timing(scene, 30.0, 1, count)
    return obj


@pytest.mark.parametrize("rig_name", ["quaternius", "rigify"])
def test_fingers_retarget_onto_rigs_with_fingers(source_with_hands, shared_data, rig_name):
    """The presets and the auto-detection map the fingers; each target finger segment points
    where the source's does, through a fist and back (a palm facing otherwise at rest, as the
    metarig's does, must not curl the fingers sideways)."""
    if rig_name == "quaternius":
        target, segments = import_quaternius(shared_data), QUATERNIUS_FINGER_SEGMENTS
    else:
        target, segments = add_rigify_metarig(), RIGIFY_FINGER_SEGMENTS
    bone_map = detect_preset(target.data.bones.keys())
    assert {"hand.L", "f_index.03.L", "f_pinky.02.R"} <= set(bone_map.bones)
    check_retarget(source_with_hands, target, bone_map, QUATERNIUS_SEGMENTS if rig_name == "quaternius"
                   else RIGIFY_SEGMENTS)
    frames = np.arange(1, int(source_with_hands.animation_data.action.frame_range[1]) + 1, 5)
    angles = segment_angles(source_with_hands, target, segments, frames)
    assert angles.max() < 3.0, angles.max(0)


def test_a_preset_fits_a_rig_without_fingers_by_leaving_the_hands_out(tmp_path):
    bones = [b for b in load_preset("mixamo").bones.values() if "Hand" not in b or b.endswith("Hand")]
    bone_map = detect_preset(bones)
    assert bone_map.name == "Mixamo" and "f_index.01.L" not in bone_map.bones
    assert resolve_bone_map("mixamo", bones, "Armature").bones == bone_map.bones
    # A map of one's own that names a finger the rig lacks is reported, not skipped.
    own = tmp_path / "own.json"
    own.write_text(json.dumps({"name": "own", "bones": {**bone_map.bones, "f_index.01.L": "Nope"}}))
    with pytest.raises(BoneMapError, match="Nope"):
        resolve_bone_map(str(own), bones, "Armature")
