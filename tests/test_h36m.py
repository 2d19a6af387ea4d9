"""Human3.6M loader on small files written in VideoPose3D's exact layout."""
from __future__ import annotations

import numpy as np
import pytest

from train.data.h36m import (
    H36M_32_TO_17, TEST_SUBJECTS, TRAIN_SUBJECTS, h36m_library, h36m_protocol_split,
    load_h36m_2d, load_h36m_3d,
)

SUBJECTS = ("S1", "S5", "S6", "S7", "S8", "S9", "S11")


def write_3d(path, frames=100):
    """positions_3d {subject: {action: (T, 32, 3)}}, Z up; joint k of frame t at (k, t, 100k + 1)
    metres, so every value says where it came from."""
    data = {}
    for s in SUBJECTS:
        data[s] = {}
        for action in ("Walking", "Sitting 1"):
            t = np.arange(frames, dtype=np.float32)[:, None]
            k = np.arange(32, dtype=np.float32)[None]
            pos = np.stack([np.broadcast_to(k, (frames, 32)), np.broadcast_to(t, (frames, 32)),
                            np.broadcast_to(100 * k + 1, (frames, 32))], -1)
            data[s][action] = pos
    np.savez_compressed(path, positions_3d=data)
    return data


def write_2d(path, layout="h36m", joints=17):
    data = {s: {"Walking": [np.full((50, joints, 2), cam, np.float32) for cam in range(4)]}
            for s in SUBJECTS}
    metadata = {"layout_name": layout, "num_joints": joints,
                "keypoints_symmetry": [[4, 5, 6, 11, 12, 13], [1, 2, 3, 14, 15, 16]]}
    np.savez_compressed(path, positions_2d=data, metadata=metadata)


def test_3d_reduces_32_to_17_and_turns_z_up_to_y_up(tmp_path):
    write_3d(tmp_path / "data_3d_h36m.npz")
    data = load_h36m_3d(tmp_path / "data_3d_h36m.npz")
    assert sorted(data) == sorted(SUBJECTS)
    walk = data["S9"]["Walking"]
    assert walk.shape == (100, 17, 3) and walk.dtype == np.float32
    k = np.array(H36M_32_TO_17, dtype=np.float32)
    # (x, y, z) Z up -> (x, z, -y) Y up.
    np.testing.assert_array_equal(walk[7, :, 0], k)
    np.testing.assert_array_equal(walk[7, :, 1], 100 * k + 1)
    np.testing.assert_array_equal(walk[7, :, 2], -7)
    assert H36M_32_TO_17 == (0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27)


# A standing person in H36M-17 order, metres, Y up (x = the person's left, z = forward).
STANDING_Y_UP = np.array([
    [0, 0.95, 0], [-0.1, 0.95, 0], [-0.1, 0.5, 0], [-0.1, 0.08, 0], [0.1, 0.95, 0], [0.1, 0.5, 0],
    [0.1, 0.08, 0], [0, 1.2, 0], [0, 1.45, 0], [0, 1.6, 0.08], [0, 1.75, 0], [0.18, 1.45, 0],
    [0.2, 1.17, 0], [0.2, 0.92, 0], [-0.18, 1.45, 0], [-0.2, 1.17, 0], [-0.2, 0.92, 0]])


def write_people_3d(path, frames=100, scale=1.0, z_up=True):
    """positions_3d of a standing person per subject/action, moving 1 m per frame along the
    dataset's -y (the mocap world's z), so a frame's index is in its position."""
    pose = STANDING_Y_UP[:, [0, 2, 1]] * [1, -1, 1] if z_up else STANDING_Y_UP   # Y up -> Z up
    t = np.arange(frames, dtype=np.float64)[:, None, None]
    move = np.array([0, 1.0, 0]) if z_up else np.array([0, 0, -1.0])
    full = np.zeros((frames, 32, 3))
    full[:, list(H36M_32_TO_17)] = pose + t * move
    data = {s: {a: (scale * full).astype(np.float32) for a in ("Walking", "Sitting 1")} for s in SUBJECTS}
    np.savez_compressed(path, positions_3d=data)


def test_protocol_split_and_resampling(tmp_path):
    write_people_3d(tmp_path / "d.npz")
    train, test = h36m_protocol_split(tmp_path / "d.npz", fps=25)
    assert TRAIN_SUBJECTS == ("S1", "S5", "S6", "S7", "S8") and TEST_SUBJECTS == ("S9", "S11")
    assert train.subjects == sorted(TRAIN_SUBJECTS) and test.subjects == sorted(TEST_SUBJECTS)
    clip = test.clips[0]
    assert clip.name == "S9/Sitting 1" and clip.fps == 25      # subjects in protocol order
    # 50 -> 25 fps keeps every other frame: the (negated) source frame index is in z.
    assert clip.num_frames == 50
    np.testing.assert_allclose(clip.joints[:, 0, 2], -2 * np.arange(50))
    with pytest.raises(ValueError, match="S2"):
        h36m_library(tmp_path / "d.npz", ["S2"])


def test_2d_detections_and_metadata(tmp_path):
    write_2d(tmp_path / "data_2d_h36m_cpn_ft_h36m_dbb.npz")
    kps, meta = load_h36m_2d(tmp_path / "data_2d_h36m_cpn_ft_h36m_dbb.npz")
    assert meta["layout_name"] == "h36m"
    assert len(kps["S1"]["Walking"]) == 4
    assert kps["S1"]["Walking"][3].shape == (50, 17, 2) and kps["S1"]["Walking"][3][0, 0, 0] == 3


def test_bad_files_say_what_is_wrong(tmp_path):
    write_2d(tmp_path / "coco.npz", layout="coco", joints=17)
    with pytest.raises(ValueError, match="coco.npz: keypoint layout 'coco'"):
        load_h36m_2d(tmp_path / "coco.npz")
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(ValueError, match="other.npz: no 'positions_3d'"):
        load_h36m_3d(tmp_path / "other.npz")
    np.savez_compressed(tmp_path / "bad.npz", positions_3d={"S1": {"A": np.zeros((5, 17, 3))}})
    with pytest.raises(ValueError, match=r"S1/A has shape \(5, 17, 3\), expected \(T, 32, 3\)"):
        load_h36m_3d(tmp_path / "bad.npz")
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        load_h36m_3d(tmp_path / "missing.npz")


@pytest.mark.parametrize("variant, message", [
    ({"scale": 1000.0}, r"d.npz S1/Sitting 1: check 'height': the figure is 16\d\d.\d\d m tall"),
    ({"z_up": False}, r"d.npz S1/Sitting 1: check 'up axis'"),
])
def test_millimetres_and_y_up_files_are_refused_naming_the_file(tmp_path, variant, message):
    """Both trained silently before (validation MPJPE 370,510 mm for millimetres)."""
    write_people_3d(tmp_path / "d.npz", frames=20, **variant)
    with pytest.raises(ValueError, match=message + r".*metres, Z up"):
        h36m_library(tmp_path / "d.npz", ["S1"])


def test_a_plain_array_instead_of_the_dict_is_refused_naming_the_file(tmp_path):
    np.savez(tmp_path / "plain.npz", positions_3d=np.zeros((10, 32, 3)))
    with pytest.raises(ValueError, match=r"plain.npz: 'positions_3d' is a float64 array of shape "
                                         r"\(10, 32, 3\), not a dict of subjects"):
        h36m_library(tmp_path / "plain.npz")
