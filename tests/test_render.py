"""Rendered footage with exact truth: shots, the Blender renderer, detection on it, scoring, and
training batches made from what MediaPipe saw."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import bpy  # noqa: F401  required: the renderer's tests must never be skipped silently

from repose_core.skeleton import JOINT_INDEX, LIMB_JOINTS, PARENTS
from train.data.mocap import load_clip
from train.data.rendered import LIMB_BONE_ENDS, RenderedSampler, load_detected_shots, median_bone_lengths
from train.render.footage import CHARACTER_FILES, Proportions, RenderTruth, Take, render_take, shot_paths
from train.render.score import BODY_AXIS, lean_error_deg, score, scored_shot, summarise
from train.render.shots import ShotConfig, floor_height, sample_shot
from train.render.takes import HUMAN_PROPORTIONS, plan_takes
from train.data.mocap import MotionLibrary

WALK = "mocap/cmu/02_01.bvh"
TINY_CONFIG = Path(__file__).resolve().parents[1] / "train" / "configs" / "tiny.yaml"
SMALL_SHOTS = ShotConfig(sizes=((480, 360),), focal_35mm=(28.0,), follow_probability=0.0, fill=(0.7, 0.8))


@pytest.fixture(scope="module")
def walk(shared_data) -> np.ndarray:
    joints = load_clip(shared_data / WALK, fps=30).joints.astype(np.float64)
    joints[..., 1] -= floor_height(joints, 0.08)
    return joints


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, shared_data, walk):
    """12 frames of a CMU walk on the women's character, one 480x360 shot, rendered once."""
    out = tmp_path_factory.mktemp("render")
    take = Take("walk", "02_01", "cmu_02", 30, walk[30:42], 30.0, "women", 1.0)
    truths = render_take(take, 1, out, shared_data, SMALL_SHOTS)
    return out, take, truths[0]


def test_shots_keep_the_actor_in_view_at_the_asked_height(walk):
    rng = np.random.default_rng(0)
    config = ShotConfig(height_m=(1.0, 1.2))
    for follow in (False, True):
        for _ in range(5):
            shot = sample_shot(rng, walk, 30.0, config, follow=follow)
            pixels = shot.project(walk)
            w, h = shot.size
            assert (pixels >= 0).all() and (pixels[..., 0] <= w).all() and (pixels[..., 1] <= h).all()
            assert (shot.to_camera(walk)[..., 2] > 0.5).all()
            assert (1.0 <= shot.C[:, 1]).all() and (shot.C[:, 1] <= 1.2).all()
            np.testing.assert_allclose(np.linalg.norm(shot.up_in_camera, axis=-1), 1.0)
            moves = np.ptp(shot.C, axis=0).max() > 0.1
            assert moves == follow   # a static camera stands still; a following one walks along


def test_takes_are_planned_per_person_and_repeatably(walk):
    from train.data.mocap import Clip

    library = MotionLibrary([Clip("a_1", "a", "x", 30.0, walk.astype(np.float32)),
                             Clip("b_1", "b", "x", 30.0, walk[:50].astype(np.float32))])
    takes = plan_takes(library, ["a", "b"], 40, 3, seed=1)
    assert [t.subject for t in takes] == ["a"] * 3 + ["b"] * 3
    assert all(len(t.joints) == 40 for t in takes) and len({t.name for t in takes}) == 6
    assert {t.character for t in takes} == set(CHARACTER_FILES)
    again = plan_takes(library, ["a"], 40, 3, seed=1)   # a person's takes do not depend on others
    assert [t.name for t in again] == [t.name for t in takes[:3]]
    with pytest.raises(ValueError, match="no clip of 'c'"):
        plan_takes(library, ["c"], 40, 1, seed=1)
    # A clip shorter than a take is one take per character, however many are asked for.
    short = plan_takes(library, ["b"], 60, 5, seed=1)
    assert sorted(t.character for t in short) == sorted(CHARACTER_FILES)


def test_training_footage_rounds_draw_new_takes_into_their_own_folders(walk, monkeypatch):
    """Round 2 of the training footage holds none of round 1's takes: new stretches of the long
    clips, and a clip shorter than a take (drawn whole every round) under the round's own name,
    since a take's shots are seeded by its name. Round 1 stays what it was, and a round may be
    rendered for some people first."""
    from train.data.mocap import Clip
    from train.render import plans

    library = MotionLibrary([Clip("a_1", "a", "x", 30.0, np.tile(walk, (4, 1, 1)).astype(np.float32)),
                             Clip("b_1", "b", "x", 30.0, walk[:50].astype(np.float32))])
    monkeypatch.setattr(plans, "shared_library", lambda: library)
    first, second = plans.plan("train"), plans.plan("train", round_=2)
    assert {t.subject for t in first} == {"a", "b"} == {t.subject for t in second}
    assert not {t.name for t in first} & {t.name for t in second}
    short = sorted(t.name for t in second if t.subject == "b")
    assert short == sorted(f"{t.name}_r2" for t in first if t.subject == "b")
    assert not {t.name for t in plans.plan("train", round_=3)} & {t.name for t in first + second}
    assert [t.name for t in plans.plan("train")] == [t.name for t in first]
    # Part of a round, by the people's names: the same takes as in the whole round.
    assert [t.name for t in plans.plan("train", round_=2, only="b")] == [t.name for t in second if t.subject == "b"]
    assert plans.train_dir(1) == plans.TRAIN_DIR and plans.train_dir(2).name == "train-2"
    with pytest.raises(ValueError):
        plans.train_dir(0)


def test_later_rounds_give_the_characters_human_proportions(walk, monkeypatch):
    """From HUMAN_PROPORTIONS_FROM_ROUND on, every training take carries limb proportions drawn
    from people's ranges, the same each time it is planned; earlier rounds and the benchmark keep
    the characters' own (the benchmark has them when asked), and a round's takes are otherwise
    what they would be without them."""
    from train.data.mocap import Clip
    from train.render import plans

    library = MotionLibrary([Clip("a_1", "a", "x", 30.0, np.tile(walk, (4, 1, 1)).astype(np.float32))])
    monkeypatch.setattr(plans, "shared_library", lambda: library)
    monkeypatch.setattr(plans, "HELD_OUT", frozenset())
    human = plans.HUMAN_PROPORTIONS_FROM_ROUND
    assert all(t.proportions is None for t in plans.plan("train", round_=human - 1))
    takes = plans.plan("train", round_=human)
    assert takes and all(t.proportions is not None for t in takes)
    for take in takes:
        for name, (low, high) in HUMAN_PROPORTIONS.items():
            assert low <= getattr(take.proportions, name) <= high
    assert len({t.proportions for t in takes}) == len(takes)     # each take its own body
    assert [t.proportions for t in plans.plan("train", round_=human)] == [t.proportions for t in takes]
    monkeypatch.setattr(plans, "HUMAN_PROPORTIONS_FROM_ROUND", human + 1)
    plain = plans.plan("train", round_=human)
    assert [(t.name, t.start, t.character, t.scale) for t in plain] == [(t.name, t.start, t.character, t.scale)
                                                                        for t in takes]
    assert all(np.array_equal(a.joints, b.joints) for a, b in zip(plain, takes))
    # The benchmark's takes keep the characters' build unless asked, then are the same takes.
    monkeypatch.setattr(plans, "GROUPS", {"select": frozenset({"a"})})
    bench, human_bench = plans.plan("bench", "select"), plans.plan("bench", "select", human_bodies=True)
    assert all(t.proportions is None for t in bench) and all(t.proportions is not None for t in human_bench)
    assert [t.name for t in bench] == [t.name for t in human_bench]
    assert plans.bench_dir(True) != plans.bench_dir(False) == plans.BENCH_DIR


def test_a_character_takes_human_proportions_with_its_skin_and_feet(shared_data):
    """``reproportion`` gives the men's character a person's upper arm/forearm (it has 0.77),
    thigh/shin, arm/torso and leg/torso ratios, keeps its torso and the ankles' height above the
    floor, and its skin goes with the bones: the hand's mesh stays around the hand bone."""
    from train.render import blender

    def hand_mesh_offset(character) -> np.ndarray:
        body = next(o for o in bpy.data.objects if o.type == "MESH" and o.name.endswith("Body"))
        group = body.vertex_groups["Hand.L"].index
        points = [body.matrix_world @ v.co for v in body.data.vertices
                  if any(g.group == group and g.weight > 0.9 for g in v.groups)]
        wrist = character.matrix_world @ character.pose.bones["Hand.L"].head
        return np.mean([np.array(p) for p in points], axis=0) - np.array(wrist)

    scene = blender.new_scene(0)
    scale = 1.05
    character = blender.load_character(scene, shared_data / CHARACTER_FILES["men"], scale)
    scene.frame_start = scene.frame_end = 1
    before, hand_before = blender.character_joints(scene, character, scale)[0], hand_mesh_offset(character)
    asked = Proportions(upper_arm_to_forearm=1.25, thigh_to_shin=1.05, arm_to_torso=1.1, leg_to_torso=1.7)
    blender.reproportion(character, asked, scale)
    after, hand_after = blender.character_joints(scene, character, scale)[0], hand_mesh_offset(character)

    def length(joints: np.ndarray, a: str, b: str) -> float:
        return float(np.linalg.norm(joints[JOINT_INDEX[a]] - joints[JOINT_INDEX[b]]))

    upper, fore = length(after, "l_shoulder", "l_elbow"), length(after, "l_elbow", "l_wrist")
    thigh, shin = length(after, "l_hip", "l_knee"), length(after, "l_knee", "l_ankle")
    torso = length(after, "pelvis", "thorax")
    assert length(before, "l_shoulder", "l_elbow") / length(before, "l_elbow", "l_wrist") < 0.8
    np.testing.assert_allclose([upper / fore, thigh / shin, (upper + fore) / torso, (thigh + shin) / torso],
                               [1.25, 1.05, 1.1, 1.7], rtol=0.01)
    assert abs(torso - length(before, "pelvis", "thorax")) < 1e-4
    ankles = [JOINT_INDEX["l_ankle"], JOINT_INDEX["r_ankle"]]
    np.testing.assert_allclose(after[ankles, 1], before[ankles, 1], atol=1e-4)
    assert np.linalg.norm(hand_after - hand_before) < 0.01


@pytest.mark.slow  # renders a take with Blender and detects it
def test_a_render_has_its_truth_where_mediapipe_sees_the_person(rendered):
    """The truth of every frame projects onto the drawn character: MediaPipe, run on the video
    through the product's detect, finds the person with every limb joint close to the truth."""
    from repose_core.detect import detect_video

    out, take, truth_path = rendered
    video, truth_file = shot_paths(out, take.name, 0)
    assert truth_file == truth_path and video.is_file()
    truth = RenderTruth.load(truth_path)
    assert truth.joints.shape == (12, 17, 3) and truth.subject == "cmu_02" and truth.size == (480, 360)
    # The character's thigh and shin keep their lengths as it walks (the legs follow the body).
    legs = np.linalg.norm(truth.joints[:, JOINT_INDEX["l_knee"]] - truth.joints[:, JOINT_INDEX["l_hip"]], axis=-1)
    assert np.ptp(legs) < 1e-3
    detection = detect_video(video, cache_dir=out / "detect")
    assert len(detection) == 12 and detection.found.all()
    error = np.linalg.norm(detection.keypoints - truth.shot.project(truth.joints), axis=-1)
    person_height = np.ptp(truth.shot.project(truth.joints)[..., 1], axis=1).mean()
    assert np.median(error[:, list(LIMB_JOINTS)]) < 0.06 * person_height
    # Rendering again keeps what is there.
    before = video.stat().st_mtime_ns
    render_take(take, 1, out, None, SMALL_SHOTS)
    assert video.stat().st_mtime_ns == before


@pytest.mark.slow  # renders a take with Blender and detects it
def test_scores_of_the_truth_itself_and_of_mediapipe(rendered):
    from repose_core.detect import detect_video

    out, take, truth_path = rendered
    truth = RenderTruth.load(truth_path)
    detection = detect_video(shot_paths(out, take.name, 0)[0], cache_dir=out / "detect")
    cam = truth.joints_camera
    perfect = scored_shot("walk", truth, detection, cam - cam[:, :1])
    exact = score(perfect.truth, perfect.pipeline, perfect.occluded)
    assert exact["p_mpjpe_limbs"] < 1e-6 and exact["mpjpe"] < 1e-6 and exact["bone_direction_deg"] < 1e-3
    assert exact["depth_order"] == 1.0
    summary = summarise([perfect])
    assert summary["frames"] == {"scored": 12.0, "total": 12.0}
    # MediaPipe's own 3D is a person of the right size in roughly the right pose.
    mp = summary["mediapipe"]
    assert 10 < mp["p_mpjpe_limbs"] < 200 and mp["bone_direction_deg"] < 45
    assert detection.world_joints.shape == (12, 17, 3)


@pytest.mark.slow  # renders a take with Blender and detects it
def test_lean_error_is_the_tilt_whatever_way_the_import_faces(walk):
    """The lean error ignores which way an import turned the person about the vertical, and is
    the angle by which it tilts them, for the torso and for the whole body alike."""
    from repose_core.rotations import axis_angle_matrix
    from train.render.shots import Y_UP_TO_BLENDER

    placed = walk @ Y_UP_TO_BLENDER.T
    turned = placed @ axis_angle_matrix(np.array([0.0, 0.0, 1.0]), np.asarray(1.2)).T
    assert lean_error_deg(walk, turned).max() < 1e-6
    tilted = turned @ axis_angle_matrix(np.array([1.0, 0.0, 0.0]), np.radians(np.asarray(10.0))).T
    np.testing.assert_allclose(np.median(lean_error_deg(walk, tilted)), 10.0, atol=1.0)
    np.testing.assert_allclose(np.median(lean_error_deg(walk, tilted, BODY_AXIS)), 10.0, atol=1.0)


def test_rendered_shots_make_training_batches(rendered):
    out, take, _ = rendered
    shots = load_detected_shots(out, out / "detect", log=lambda line: None)
    assert len(shots) == 1 and shots[0].subject == "cmu_02"
    assert load_detected_shots(out, out / "detect", exclude_subjects=frozenset({"cmu_02"}),
                               log=lambda line: None) == []
    sampler = RenderedSampler(shots, window=27, seed=0, flip=True)   # longer than the shot: padded
    batch = sampler.sample(8)
    assert batch["inputs"].shape == (8, 27, 17, 3) and batch["target"].shape == (8, 27, 17, 3)
    assert batch["up"].shape == (8, 27, 3) and batch["occluded"].dtype == bool
    assert (batch["target"][:, :, 0] == 0).all() and np.isfinite(batch["inputs"]).all()
    # Mirrored and plain windows both: the up direction's x changes sign between them.
    assert (batch["up"][:, 0, 0] > 0).any() and (batch["up"][:, 0, 0] < 0).any()
    # A plain window's features are the shot's own (the runtime's clip_features of MediaPipe).
    plain = np.flatnonzero(batch["up"][:, 0, 0] == shots[0].up[0, 0])[0]
    np.testing.assert_array_equal(batch["inputs"][plain, 7:19], shots[0].features)
    # data.rendered_roll_deg: the same windows, each seen by its camera rolled about the optical
    # axis by one angle, image, 3D and up together.
    from repose_core.features import roll_features, rolled_xy
    level = RenderedSampler(shots, window=27, seed=0, flip=False).sample(8)
    rolled = RenderedSampler(shots, window=27, seed=0, flip=False, roll_deg=10.0).sample(8)
    up, turned = level["up"][:, 0], rolled["up"][:, 0]
    angle = np.arctan2(up[:, 1], up[:, 0]) - np.arctan2(turned[:, 1], turned[:, 0])
    assert 2.0 < np.degrees(np.abs(angle)).max() < 45.0
    np.testing.assert_allclose(rolled["inputs"], roll_features(level["inputs"], angle[:, None, None]), atol=1e-5)
    np.testing.assert_allclose(rolled["target"], rolled_xy(level["target"], angle[:, None, None]), atol=1e-6)


def test_rendered_shots_carried_over_to_the_build_of_the_mocap_person(rendered, walk):
    """The characters are not built like people (the women's upper arm is shorter than her
    forearm): a shot carried over to the mocap person's bone lengths keeps every bone's direction
    and the character's size, and MediaPipe's input moves with it."""
    out, take, truth_path = rendered
    person = median_bone_lengths(walk)
    shot, = load_detected_shots(out, out / "detect", person_lengths={take.clip: person}, log=lambda line: None)
    carried = shot.as_person
    own, now = median_bone_lengths(shot.target)[1:], median_bone_lengths(carried.target)[1:]
    np.testing.assert_allclose(now / now.sum(), person[1:] / person[1:].sum(), rtol=1e-4)
    np.testing.assert_allclose(now.sum(), own.sum(), rtol=1e-4)
    upper_arm, forearm = JOINT_INDEX["l_elbow"] - 1, JOINT_INDEX["l_wrist"] - 1
    assert own[upper_arm] / own[forearm] < 0.9 < 1.2 < now[upper_arm] / now[forearm]
    for c, p in enumerate(PARENTS):
        if p >= 0:
            before, after = shot.target[:, c] - shot.target[:, p], carried.target[:, c] - carried.target[:, p]
            cosine = (before * after).sum(-1) / np.linalg.norm(before, axis=-1) / np.linalg.norm(after, axis=-1)
            assert cosine.min() > 1 - 1e-5
    assert np.abs(carried.features - shot.features).max() > 0.05   # its 2D and 3D moved
    np.testing.assert_array_equal(carried.up, shot.up)
    # Carried over to its own build, a shot is what it was (within the few millimetres that the
    # points between bones - spine, nose - move against their median over the take).
    same, = load_detected_shots(out, out / "detect", log=lambda line: None,
                                person_lengths={take.clip: median_bone_lengths(RenderTruth.load(truth_path).joints)})
    np.testing.assert_allclose(same.as_person.target, shot.target, atol=0.005)
    np.testing.assert_allclose(same.as_person.features, shot.features, atol=0.02)
    # NaN keeps the character's own bone: only the limbs carried over (data.rendered_person_bones).
    limbs = np.array([j in LIMB_BONE_ENDS for j in range(len(person))])
    limbs_only, = load_detected_shots(out, out / "detect", log=lambda line: None,
                                      person_lengths={take.clip: np.where(limbs, person, np.nan)})
    kept = median_bone_lengths(limbs_only.as_person.target)[1:]
    np.testing.assert_allclose(kept[~limbs[1:]], own[~limbs[1:]], rtol=0.02)
    np.testing.assert_allclose(kept[limbs[1:]] / kept[limbs[1:]].sum(), person[limbs] / person[limbs].sum(), rtol=1e-4)
    with pytest.raises(KeyError, match="not in the training library"):
        load_detected_shots(out, out / "detect", person_lengths={}, log=lambda line: None)
    # The sampler's share: all carried, or none; asked to carry shots that were not, it says so.
    batch = RenderedSampler([shot], window=12, seed=0, flip=False, person_share=1.0).sample(4)
    np.testing.assert_array_equal(batch["target"], np.broadcast_to(carried.target, batch["target"].shape))
    batch = RenderedSampler([shot], window=12, seed=0, flip=False).sample(4)
    np.testing.assert_array_equal(batch["target"], np.broadcast_to(shot.target, batch["target"].shape))
    with pytest.raises(ValueError, match="person_share"):
        RenderedSampler([replace(shot, as_person=None)], window=12, seed=0, person_share=0.5)


@pytest.mark.slow  # renders a take with Blender and detects it (the fixture, shared)
def test_training_takes_rendered_footage_from_every_folder_of_the_config(rendered, tmp_path):
    """data.rendered lists folders (rounds of footage): their shots are pooled."""
    from train.config import load_config
    from train.dataset import load_training_data

    out, _, _ = rendered
    again = tmp_path / "round-2"
    again.mkdir()
    for path in out.glob("*_s0.*"):
        (again / path.name).symlink_to(path)
    cfg = load_config(TINY_CONFIG, {"run_dir": str(tmp_path / "run"), "data.rendered": [str(out), str(again)],
                                    "data.rendered_fraction": 0.5, "data.detect_cache": str(out / "detect")})
    data = load_training_data(cfg, 27, log=lambda line: None)
    assert len(data.rendered) == 2 and {s.subject for s in data.rendered} == {"cmu_02"}
    assert data.rendered[0].as_person is None   # nothing to carry over unless asked
    # Asked, the shots are carried over to the training library's own take of the person.
    cfg = load_config(TINY_CONFIG, {"run_dir": str(tmp_path / "run"), "data.rendered": [str(out)],
                                    "data.rendered_fraction": 0.5, "data.detect_cache": str(out / "detect"),
                                    "data.rendered_person_share": 0.5, "data.rendered_person_bones": "limbs"})
    carried = load_training_data(cfg, 27, log=lambda line: None).rendered[0]
    shot = data.rendered[0]
    moved = np.linalg.norm(carried.as_person.target - shot.target, axis=-1).max(axis=0)   # (17,) metres
    assert moved[sorted(LIMB_BONE_ENDS)].min() > 0.01 and moved[JOINT_INDEX["head"]] < 0.005
    assert carried.as_person.features.shape == shot.features.shape
    with pytest.raises(ValueError, match="data.rendered"):
        load_config(TINY_CONFIG, {"data.rendered": ".cache/render/train"})   # a folder, not a list
