"""The ReActIdle (BVH with 6-channel joints) and DeepMimic (JSON) readers on the shared files:
sizes, up axis, bone lengths, frame rate, subjects."""
from __future__ import annotations

import json

import numpy as np
import pytest

from repose_core.skeleton import JOINT_INDEX as J
from train.data import deepmimic
from train.data.bvh import read_bvh
from train.data.mocap import load_clip, load_library
from train.data.plausible import ImplausiblePerson, stature
from train.data.skeleton_table import builtin_tables, load_table


def _length(joints: np.ndarray, a: str, b: str) -> np.ndarray:
    return np.linalg.norm(joints[:, J[a]] - joints[:, J[b]], axis=-1)


def _head_height(joints: np.ndarray) -> float:
    """Median head height above the lower ankle (m)."""
    return float(np.median(joints[:, J["head"], 1] - joints[:, [J["l_ankle"], J["r_ankle"]], 1].min(1)))


@pytest.mark.slow  # parses the whole ReActIdle library (seconds)
def test_reactidle_library_is_14_people_of_human_size(shared_data):
    folder = shared_data / "mocap" / "reactidle"
    library = load_library(folder)
    assert len(library) == 22 and {c.family for c in library.clips} == {"reactidle"}
    # The clip number is the person: 002_acted and 002_genuine are one subject.
    assert len(library.subjects) == 14
    by_name = {c.name: c for c in library.clips}
    assert by_name["002_acted"].subject == by_name["002_genuine"].subject == "reactidle_002"
    for clip in library.clips:
        j = clip.joints
        assert clip.fps == 30 and j.dtype == np.float32 and j.shape[1:] == (17, 3)
        # Standing figures 1.3-1.8 m tall, Y up (the ReActIdle people differ in size), and not
        # the doubled bones of position channels added to OFFSET (thigh ~0.9 m, figure ~3 m).
        assert 1.2 < _head_height(j) < 1.85, clip.name
        assert 1.2 < stature(j) < 1.9, clip.name
        for a, b in (("l_hip", "l_knee"), ("l_knee", "l_ankle"), ("r_hip", "r_knee"), ("r_knee", "r_ankle")):
            assert 0.27 < np.median(_length(j, a, b)) < 0.47, (clip.name, a, b)
        for a, b in (("l_shoulder", "l_elbow"), ("l_elbow", "l_wrist")):
            assert 0.14 < np.median(_length(j, a, b)) < 0.34, (clip.name, a, b)
        # Idle standing: the pelvis stays at hip height and the head above it in every frame.
        assert (j[:, J["head"], 1] > j[:, J["pelvis"], 1] + 0.3).all(), clip.name


def test_reactidle_position_channels_are_read_as_written(shared_data):
    """Non-root joints' channels hold their whole local translation; the root's its displacement."""
    path = shared_data / "mocap" / "reactidle" / "000_genuine.bvh"
    bvh = read_bvh(path)
    meaning = dict(zip(bvh.skeleton.names, bvh.translation_channels))
    assert meaning["pelvis"] is False
    assert all(meaning[n] for n in ("thigh.L", "shin.L", "foot.L", "upper_arm.R", "forearm.R", "neck"))
    # 24 fps in the header; resampled to 30 fps: frame k is source frame 0.8 k.
    assert bvh.fps == pytest.approx(24)
    assert load_clip(path).num_frames == (bvh.num_frames - 1) * 30 // 24 + 1


def test_reactidle_read_with_added_position_channels_is_refused(shared_data, tmp_path):
    """What the issue saw (a figure twice its size) now fails at load, naming file and check."""
    source = next(t for t in builtin_tables() if t.family == "reactidle")
    table = tmp_path / "reactidle_added.toml"
    table.write_text(source.text.replace('position_channels = "auto"', 'position_channels = "offset"'))
    path = shared_data / "mocap" / "reactidle" / "000_genuine.bvh"
    with pytest.raises(ImplausiblePerson, match=r"000_genuine.bvh: check 'height': the figure is 2\.\d\d m"):
        load_clip(path, tables=[load_table(table)])


def test_deepmimic_library_is_one_subject_per_motion_at_30_fps(shared_data):
    folder = shared_data / "mocap" / "deepmimic"
    library = load_library(folder)          # the character file and LICENSE are not motions
    motions = sorted(p.stem.removeprefix("humanoid3d_") for p in folder.glob("humanoid3d_*.txt")
                     if p.stem != "humanoid3d_character")
    assert sorted(c.name.removeprefix("humanoid3d_") for c in library.clips) == motions
    assert library.subjects == [f"deepmimic_{m}" for m in motions]
    for clip in library.clips:
        j = clip.joints
        assert clip.fps == 30 and clip.family == "deepmimic"
        # Forward kinematics at the output times: bones keep their lengths exactly, even in
        # the 16 fps flips.
        for a, b, length in (("l_hip", "l_knee", 0.4215), ("r_knee", "r_ankle", 0.4099),
                             ("l_elbow", "l_wrist", 0.2589)):
            np.testing.assert_allclose(_length(j, a, b), length, atol=1e-4, err_msg=f"{clip.name} {a}-{b}")
        assert 1.5 < stature(j) < 1.7, clip.name   # one character, about 1.7 m with feet and crown


@pytest.mark.parametrize("motion", ["walk", "run", "backflip", "roll"])
def test_deepmimic_clip_spans_its_file_without_invented_frames(shared_data, motion):
    path = shared_data / "mocap" / "deepmimic" / f"humanoid3d_{motion}.txt"
    rows = np.array(json.loads(path.read_text())["Frames"])
    duration = rows[:-1, 0].sum()                      # the last row's duration is 0 (the end)
    clip = load_clip(path, fps=30)
    assert clip.num_frames == int(np.floor(duration * 30 + 1e-9)) + 1
    # Frame 0 is the file's first frame: the root at its position, turned into the person frame
    # (the character faces +X, so x -> z, z -> -x), Y up.
    motion_data = deepmimic.read_motion(path)
    pos, _ = deepmimic.forward_kinematics(motion_data, ["left_hip", "right_hip"], np.array([0.0]))
    pelvis = pos[0].mean(0)
    np.testing.assert_allclose(clip.joints[0, J["pelvis"]], [-pelvis[2], pelvis[1], pelvis[0]], atol=1e-5)


def test_deepmimic_figure_stands_up_facing_forward(shared_data):
    clip = load_clip(shared_data / "mocap" / "deepmimic" / "humanoid3d_walk.txt")
    j = clip.joints
    assert 1.45 < _head_height(j) < 1.7
    np.testing.assert_allclose(np.median(j[:, J["pelvis"], 1]), 0.85, atol=0.05)
    # The walker goes forward: the way the nose points.
    travel = j[-1, J["pelvis"]] - j[0, J["pelvis"]]
    facing = j[:, J["neck_nose"]] - j[:, J["thorax"]]
    assert np.linalg.norm(travel[[0, 2]]) > 1.0
    assert (facing[:, [0, 2]] @ travel[[0, 2]] > 0).all()


def test_deepmimic_bad_values_name_the_file_and_frame(shared_data, tmp_path):
    source = shared_data / "mocap" / "deepmimic"
    (tmp_path / "humanoid3d_character.txt").write_text((source / "humanoid3d_character.txt").read_text())
    data = json.loads((source / "humanoid3d_walk.txt").read_text())
    data["Frames"][5][10] = float("nan")
    (tmp_path / "humanoid3d_walk.txt").write_text(json.dumps(data).replace("NaN", "NaN"))
    with pytest.raises(ValueError, match=r"humanoid3d_walk.txt: frame 6 of 39, number 11 is nan"):
        load_clip(tmp_path / "humanoid3d_walk.txt")
    data["Frames"][5][10] = 0.5
    data["Frames"][7] = data["Frames"][7][:-1]
    (tmp_path / "humanoid3d_walk.txt").write_text(json.dumps(data))
    with pytest.raises(ValueError, match=r"humanoid3d_walk.txt: 'Frames' must be at least 2 rows of 44 numbers"):
        load_clip(tmp_path / "humanoid3d_walk.txt")


def test_prepare_writes_both_new_families(shared_data, tmp_path):
    from train.__main__ import main

    out = tmp_path / "lib.npz"
    sources = [shared_data / "mocap" / "deepmimic", shared_data / "mocap" / "reactidle" / "002_acted.bvh",
               shared_data / "mocap" / "reactidle" / "002_genuine.bvh"]
    assert main(["prepare", *map(str, sources), "--out", str(out)]) == 0
    library = load_library(out)
    assert {c.family for c in library.clips} == {"deepmimic", "reactidle"}
    assert "reactidle_002" in library.subjects and len(library) == 22
