"""Wrist and finger rotations from hand landmarks (addon.motion.fingers, addon.motion.hand_rig).

Landmarks are made by posing the generated armature's rest hand with known keys (hand_rig's
forward kinematics, the composition Blender uses), so what comes back can be compared with what
was put in; then the temporal side (a hand lost for a while relaxes and returns without a jump)
on the real tracks of the bundled clip.
"""
from __future__ import annotations

import numpy as np
import pytest

from addon.motion import fingers, fit, hand_rig, rig
from addon.motion.hand_rig import HAND_BONE_INDEX, HAND_BONE_NAMES, SIDES
from repose_core.rotations import axis_angle_matrix, matrix_to_quaternion, quaternion_to_matrix

FPS = 30.0
FRAMES = 12


@pytest.fixture(scope="module")
def body(shared_data) -> rig.RestSkeleton:
    """The rest skeleton of a real person (a CMU walk's bone lengths)."""
    from train.data.mocap import load_clip

    y_up = load_clip(shared_data / "mocap/cmu/02_01.bvh", fps=30).joints.astype(np.float64)
    joints = np.stack([y_up[..., 0], -y_up[..., 2], y_up[..., 1]], -1)  # Y up -> Blender Z up
    return rig.build_rest_skeleton(fit.bone_lengths(joints))


def _rotation(axis, degrees: float) -> np.ndarray:
    return axis_angle_matrix(np.asarray(axis, np.float64), np.asarray(np.radians(degrees)))


def hand_keys(curls: dict[str, tuple[float, float, float]], spreads: dict[str, float],
              thumb: tuple[float, float, float], wrist: np.ndarray) -> np.ndarray:
    """Hand keys (32, 4), the same for both hands: per finger (curl1, curl2, curl3) degrees and a
    spread; the thumb's first bone turned about its X by thumb[0], its joints curled by thumb[1:]."""
    keys = np.tile([1.0, 0.0, 0.0, 0.0], (len(HAND_BONE_NAMES), 1))
    for side in SIDES:
        keys[HAND_BONE_INDEX[f"hand.{side}"]] = matrix_to_quaternion(wrist)
        for finger, (c1, c2, c3) in curls.items():
            first = _rotation([0, 0, 1], spreads.get(finger, 0.0)) @ _rotation([1, 0, 0], c1)
            keys[HAND_BONE_INDEX[f"{finger}.01.{side}"]] = matrix_to_quaternion(first)
            for k, c in ((2, c2), (3, c3)):
                keys[HAND_BONE_INDEX[f"{finger}.0{k}.{side}"]] = matrix_to_quaternion(
                    _rotation([1, 0, 0], c))
        for k, c in enumerate(thumb, start=1):
            keys[HAND_BONE_INDEX[f"thumb.0{k}.{side}"]] = matrix_to_quaternion(_rotation([1, 0, 0], c))
    return keys


FOUR = ("f_index", "f_middle", "f_ring", "f_pinky")
FIST = {finger: (80.0, 95.0, 60.0) for finger in FOUR}
POSES = {
    "open": dict(curls={finger: (0.0, 0.0, 0.0) for finger in FOUR},
                 spreads={"f_index": -10.0, "f_ring": 5.0, "f_pinky": 12.0},
                 thumb=(0.0, 0.0, 0.0), wrist=np.eye(3)),
    "fist": dict(curls=FIST, spreads={}, thumb=(30.0, 45.0, 60.0),
                 wrist=_rotation([1, 0, 0], 30.0)),
    "point": dict(curls={**FIST, "f_index": (0.0, 5.0, 0.0)}, spreads={}, thumb=(25.0, 40.0, 50.0),
                  wrist=_rotation([0, 0, 1], -20.0)),
}


def landmarks_of(keys: np.ndarray, body: rig.RestSkeleton) -> np.ndarray:
    """(FRAMES, 2, 21, 3) hand landmarks of the T-posed body with these hand keys, world axes."""
    hand_rest = hand_rig.build_hand_rest(body)
    forearms = np.stack([body.frames[rig.BONE_INDEX[f"forearm.{side}"]] for side in SIDES])
    wrists = np.stack([body.tails[rig.BONE_INDEX[f"forearm.{side}"]] for side in SIDES])
    points = hand_rig.hand_points(keys[None], hand_rest, body, forearms[None], wrists[None])
    return np.repeat(points, FRAMES, axis=0)


def rotations_from(points: np.ndarray, body: rig.RestSkeleton, fps: float = FPS,
                   confidence: np.ndarray | None = None) -> np.ndarray:
    joints = np.repeat(body.joints[None], len(points), axis=0)
    if confidence is None:
        confidence = np.ones(points.shape[:2])
    return fingers.hand_rotations(points, confidence, np.eye(3), joints, body,
                                  hand_rig.build_hand_rest(body), fps)


def turn_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angles (degrees) between rotations given as quaternions (..., 4)."""
    dot = np.abs((np.asarray(a, np.float64) * np.asarray(b, np.float64)).sum(-1))
    return np.degrees(2 * np.arccos(np.clip(dot, -1.0, 1.0)))


@pytest.mark.parametrize("pose", sorted(POSES))
def test_constructed_hands_come_out_as_constructed(body, pose):
    keys = hand_keys(**POSES[pose])
    got = rotations_from(landmarks_of(keys, body), body)
    assert got.shape == (FRAMES, len(HAND_BONE_NAMES), 4)
    # Every bone of both hands, wrist and thumb included, within a degree of what was put in.
    error = turn_deg(got, keys[None])
    assert error.max() < 1.0, {HAND_BONE_NAMES[b]: round(float(e), 2)
                               for b, e in enumerate(error.max(0)) if e >= 1.0}
    angles = np.degrees(fingers.finger_angles(got)[0, 0])
    named = dict(zip(fingers.ANGLE_NAMES, angles))
    if pose == "open":
        assert all(abs(named[f"{f}_curl{k}"]) < 1.0 for f in FOUR for k in (1, 2, 3))
        assert named["f_pinky_spread"] == pytest.approx(12.0, abs=1.0)
    else:
        assert named["f_middle_curl1"] == pytest.approx(80.0, abs=1.0)
        assert named["f_middle_curl2"] == pytest.approx(95.0, abs=1.0)
        straight = pose == "point"
        assert (abs(named["f_index_curl1"]) < 1.0) == straight


def test_bend_limits_keep_fingers_human(body):
    # Landmarks of fingers bent backwards 60 degrees at every joint: no hand does that.
    keys = hand_keys(curls={finger: (-60.0, -60.0, -60.0) for finger in FOUR}, spreads={},
                     thumb=(0.0, -60.0, -60.0), wrist=_rotation([1, 0, 0], 150.0))
    angles = np.degrees(fingers.finger_angles(rotations_from(landmarks_of(keys, body), body)))
    low, high = np.degrees(fingers.ANGLE_LOW), np.degrees(fingers.ANGLE_HIGH)
    assert (angles >= low - 1e-3).all() and (angles <= high + 1e-3).all()
    named = dict(zip(fingers.ANGLE_NAMES, angles[0, 0]))
    assert named["f_index_curl2"] == pytest.approx(fingers.FINGER_LIMITS["curl2"][0], abs=0.5)


@pytest.mark.parametrize("fps", [30.0, 60.0])
def test_a_hand_lost_for_ten_frames_never_jumps(body, fps):
    # A fist seen throughout but for 10 frames: at 60 fps the gap is bridged (the fist holds),
    # at 30 fps it is long enough to relax towards the rest pose, and come back, smoothly.
    count = 60
    keys = hand_keys(**POSES["fist"])
    points = np.repeat(landmarks_of(keys, body)[:1], count, axis=0)
    confidence = np.ones((count, 2))
    confidence[25:35, 0] = 0.0
    points[25:35, 0] = np.nan
    got = fingers.finger_angles(rotations_from(points, body, fps, confidence))
    steps = np.degrees(np.abs(np.diff(got[:, 0], axis=0))).max(1)
    full_swing = np.degrees(np.abs(fingers.ANGLE_RELAXED - fingers.finger_angles(keys[None])[0, 0])).max()
    # No step larger than the relaxation spread over RELAX_SECONDS would make, and a margin.
    assert steps.max() < 1.5 * full_swing / (fingers.RELAX_SECONDS * fps), steps.max()
    middle = np.degrees(got[30, 0, fingers.ANGLE_NAMES.index("f_middle_curl2")])
    if 10 / fps <= fingers.BRIDGE_SECONDS:
        assert middle == pytest.approx(95.0, abs=1.0)
    else:
        assert middle < 95.0 - 10.0
    # The other hand is untouched.
    assert np.degrees(np.abs(got[:, 1] - got[:1, 1])).max() < 1e-3


def test_a_hand_never_seen_stays_relaxed(body):
    points = np.full((FRAMES, 2, 21, 3), np.nan)
    got = rotations_from(points, body, confidence=np.zeros((FRAMES, 2)))
    assert np.allclose(fingers.finger_angles(got), fingers.ANGLE_RELAXED, atol=1e-6)
    wrists = got[:, [HAND_BONE_INDEX["hand.L"], HAND_BONE_INDEX["hand.R"]]]
    assert turn_deg(wrists, [1.0, 0.0, 0.0, 0.0]).max() < 1e-3


def test_rest_hand_is_flat_and_palm_down_at_the_wrists(body):
    hand_rest = hand_rig.build_hand_rest(body)
    for side in SIDES:
        hand = HAND_BONE_INDEX[f"hand.{side}"]
        forearm = rig.BONE_INDEX[f"forearm.{side}"]
        assert np.allclose(hand_rest.heads[hand], body.tails[forearm])
        assert hand_rest.frames[hand][:, 2] @ [0, 0, -1] > 0.99  # palm (Z) down
        for finger in FOUR:  # straight fingers: each bone's head is its parent's tail
            for k in (2, 3):
                b, p = HAND_BONE_INDEX[f"{finger}.0{k}.{side}"], HAND_BONE_INDEX[f"{finger}.0{k - 1}.{side}"]
                assert np.allclose(hand_rest.heads[b], hand_rest.tails[p])
    # Frames are rotations.
    assert np.allclose(np.linalg.det(hand_rest.frames), 1.0)
    assert np.allclose(quaternion_to_matrix(matrix_to_quaternion(hand_rest.frames)), hand_rest.frames)


# --- a real clip, end to end (slow: detection and the default lifter) ----------------------------
@pytest.mark.slow
def test_real_clip_gets_finger_keys_that_move(example_motion, example_hands):
    motion = example_motion.motion
    assert motion.hand_rotations is not None and motion.hand_rotations.shape == (100, 32, 4)
    assert motion.bone_names[-len(HAND_BONE_NAMES):] == HAND_BONE_NAMES
    angles = np.degrees(fingers.finger_angles(motion.hand_rotations))
    found = example_hands.hand_confidence > 0
    curls = [i for i, name in enumerate(fingers.ANGLE_NAMES) if "curl" in name]
    for side in (0, 1):
        seen = angles[found[:, side], side][:, curls]
        # Fingers move while the hand is in view: the fingers' bend spans several degrees ...
        assert np.ptp(seen.mean(1)) > 5.0, np.ptp(seen.mean(1))
        # ... without a jump from one frame (1/60 s) to the next.
        assert np.abs(np.diff(angles[:, side], axis=0)).max() < 15.0
        wrist = motion.hand_rotations[:, HAND_BONE_INDEX[f"hand.{SIDES[side]}"]]
        assert turn_deg(wrist[found[:, side]], [1.0, 0.0, 0.0, 0.0]).max() > 10.0


@pytest.mark.slow
def test_armature_fingers_pose_as_the_keys_say_and_export_to_bvh_and_fbx(tmp_path, example_motion):
    """Blender's posed finger bones are where hand_rig's forward kinematics puts them (so the
    rest hand was built as the rotations assume), and the .bvh and .fbx carry every finger bone
    with its motion."""
    import bpy

    from addon import export
    from addon.armature import build_armature

    motion = example_motion.motion
    bpy.ops.wm.read_factory_settings(use_empty=True)
    obj = build_armature(bpy.context.scene, motion, name="clip")
    assert set(HAND_BONE_NAMES) <= set(obj.data.bones.keys())
    forearms = fingers.forearm_frames(motion.joints.astype(np.float64), motion.rest)
    wrists = motion.joints[:, [rig.JOINT_INDEX["l_wrist"], rig.JOINT_INDEX["r_wrist"]]]
    expected = hand_rig.hand_points(motion.hand_rotations, motion.hand_rest, motion.rest, forearms, wrists)
    tips = {f"{finger}.03.{side}": (s, hand_rig.FINGER_LANDMARKS[finger][3])
            for s, side in enumerate(SIDES) for finger in hand_rig.FINGERS}
    for frame in (1, 50, 100):
        bpy.context.scene.frame_set(frame)
        for bone, (s, landmark) in tips.items():
            got = np.array(obj.matrix_world @ obj.pose.bones[bone].tail)
            np.testing.assert_allclose(got, expected[frame - 1, s, landmark], atol=2e-3)

    paths = export.export_files(obj, tmp_path, "clip", "bvh,fbx")
    bvh = paths["bvh"].read_text()
    assert all(f"JOINT {name}\n" in bvh or f"JOINT {name}\r\n" in bvh for name in HAND_BONE_NAMES)
    for fmt, load in (("bvh", lambda: bpy.ops.import_anim.bvh(filepath=str(paths["bvh"]))),
                      ("fbx", lambda: bpy.ops.import_scene.fbx(filepath=str(paths["fbx"])))):
        bpy.ops.wm.read_factory_settings(use_empty=True)
        load()
        imported = next(o for o in bpy.context.scene.objects if o.type == "ARMATURE")
        assert set(HAND_BONE_NAMES) <= set(imported.data.bones.keys()), fmt
        poses = []
        for frame in (1, 50, 100):
            bpy.context.scene.frame_set(frame)
            poses.append(np.array(imported.pose.bones["f_index.02.R"].matrix_basis))
        assert max(np.abs(poses[0] - pose).max() for pose in poses[1:]) > 1e-3, fmt


def test_rendered_characters_fingers_close_towards_the_palm(shared_data):
    """train.render.footage's finger posing (the fingers benchmark's truth): both characters'
    fingers bend within a hand's range, and a finger that bends more brings its tip nearer the
    wrist (it curls into the palm, not back or sideways)."""
    import bpy

    from addon.bonemap import detect_preset
    from train.render import blender
    from train.render.footage import CHARACTER_FILES, FOUR_FINGERS, pose_character_fingers

    for character_name, path in CHARACTER_FILES.items():
        scene = blender.new_scene(0)
        character = blender.load_character(scene, shared_data / path)
        scene.frame_start, scene.frame_end = 1, 45
        bends = pose_character_fingers(scene, character, 30.0, np.random.default_rng(0))
        assert bends.shape == (45, 2, 4, 3)
        assert bends.min() >= 0.0 and bends.max() <= 100.0 and bends.max() > 40.0, character_name
        bone_map = detect_preset(character.data.bones.keys()).bones
        for s, side in enumerate(SIDES):
            for f, finger in enumerate(FOUR_FINGERS):
                wrist, tip = (character.pose.bones[bone_map[name]] for name in
                              (f"hand.{side}", f"{finger}.03.{side}"))
                reach = []
                for frame in range(1, 46, 4):
                    scene.frame_set(frame)
                    reach.append(np.linalg.norm(np.array(tip.tail) - np.array(wrist.head)))
                curl = bends[::4, s, f].sum(-1)
                assert np.corrcoef(curl, reach)[0, 1] < -0.9, (character_name, side, finger)
        bpy.ops.wm.read_factory_settings(use_empty=True)


def test_hands_are_on_by_default_and_can_be_left_out(example_video, tmp_path):
    from addon import batch
    from addon.pipeline import HANDS_DEFAULT, ImportOptions

    assert HANDS_DEFAULT and ImportOptions(video=example_video).hands
    on = batch.parse_args([str(example_video), "-o", str(tmp_path)])
    off = batch.parse_args([str(example_video), "-o", str(tmp_path), "--no-hands"])
    assert batch.import_options(example_video, on).hands
    assert not batch.import_options(example_video, off).hands
    assert batch._settings(off)["hands"] is False  # recorded in the summary
