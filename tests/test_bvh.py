"""BVH parser and forward kinematics on files the tests write, with known joint positions."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from train.data.bvh import euler_to_matrix, forward_kinematics, read_bvh, with_position_meaning

HIERARCHY = """HIERARCHY
ROOT Hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation
  JOINT Spine
  {
    OFFSET 0 10 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    End Site
    {
      OFFSET 0 5 0
    }
  }
  JOINT Arm
  {
    OFFSET 3 0 0
    CHANNELS 3 Zrotation Yrotation Xrotation
  }
}
MOTION
"""
# Columns: Hips x y z rz ry rx | Spine rz rx ry | Arm rz ry rx
FRAMES = [
    [1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0],     # rest pose, translated
    [1, 2, 3, 90, 0, 0, 0, 0, 0, 0, 0, 0],    # root turned 90 deg about Z: +Y -> -X
    [1, 2, 3, 0, 0, 0, 0, 90, 0, 0, 0, 0],    # spine bent 90 deg about X: +Y -> +Z
    [1, 2, 3, 90, 90, 0, 0, 0, 0, 0, 0, 0],   # Z then Y: R = Rz @ Ry
]
# Expected world positions of Hips, Spine, Spine_end, Arm per frame.
EXPECTED = np.array([
    [[1, 2, 3], [1, 12, 3], [1, 17, 3], [4, 2, 3]],
    [[1, 2, 3], [-9, 2, 3], [-14, 2, 3], [1, 5, 3]],
    [[1, 2, 3], [1, 12, 3], [1, 12, 8], [4, 2, 3]],
    # Rz(90) @ Ry(90): Ry takes (3,0,0) to (0,0,-3), Rz keeps it; (0,10,0) -> (-10,0,0).
    [[1, 2, 3], [-9, 2, 3], [-14, 2, 3], [1, 2, 0]],
], dtype=float)


def write_bvh(path: Path, frames=FRAMES, frame_time=1 / 120) -> Path:
    rows = "\n".join(" ".join(str(v) for v in f) for f in frames)
    path.write_text(HIERARCHY + f"Frames: {len(frames)}\nFrame Time: {frame_time}\n{rows}\n")
    return path


def test_hierarchy_is_parsed(tmp_path):
    bvh = read_bvh(write_bvh(tmp_path / "a.bvh"))
    skel = bvh.skeleton
    assert skel.names == ("Hips", "Spine", "Spine_end", "Arm")
    assert skel.parents == (-1, 0, 1, 0)
    np.testing.assert_allclose(skel.offsets[1], [0, 10, 0])
    assert skel.channels[1] == ("Zrotation", "Xrotation", "Yrotation")
    assert skel.channels[2] == ()
    assert skel.channel_start == (0, 6, 9, 9)
    assert bvh.motion.shape == (4, 12)
    assert bvh.fps == pytest.approx(120)


def test_forward_kinematics_matches_known_positions(tmp_path):
    bvh = read_bvh(write_bvh(tmp_path / "a.bvh"))
    pos, rot = forward_kinematics(bvh)
    np.testing.assert_allclose(pos, EXPECTED, atol=1e-9)
    # Rotations are proper: orthonormal with determinant 1.
    np.testing.assert_allclose(rot @ np.swapaxes(rot, -1, -2), np.broadcast_to(np.eye(3), rot.shape), atol=1e-12)


def test_forward_kinematics_subset_frames_and_rest_pose(tmp_path):
    bvh = read_bvh(write_bvh(tmp_path / "a.bvh"))
    pos, _ = forward_kinematics(bvh, ["Arm", "Spine_end"], frames=np.array([3, 1]))
    np.testing.assert_allclose(pos, EXPECTED[[3, 1]][:, [3, 2]], atol=1e-9)
    rest, _ = forward_kinematics(bvh, rest_pose=True)
    np.testing.assert_allclose(rest[0], [[0, 0, 0], [0, 10, 0], [0, 15, 0], [3, 0, 0]])


def test_euler_order_composes_left_to_right():
    a = euler_to_matrix(np.array([30.0, 50.0, -20.0]), "ZYX")
    rz = euler_to_matrix(np.array([30.0]), "Z")
    ry = euler_to_matrix(np.array([50.0]), "Y")
    rx = euler_to_matrix(np.array([-20.0]), "X")
    np.testing.assert_allclose(a, rz @ ry @ rx, atol=1e-12)
    # A positive rotation about Z takes +X to +Y (right-handed).
    np.testing.assert_allclose(euler_to_matrix(np.array([90.0]), "Z") @ [1, 0, 0], [0, 1, 0], atol=1e-12)


def test_malformed_files_name_the_file(tmp_path):
    bad = tmp_path / "short.bvh"
    text = write_bvh(tmp_path / "a.bvh").read_text().rsplit("\n", 2)[0]  # drop the last frame
    bad.write_text(text)
    with pytest.raises(ValueError, match="short.bvh.*4 frames"):
        read_bvh(bad)
    nomotion = tmp_path / "nomotion.bvh"
    nomotion.write_text(HIERARCHY.split("MOTION")[0])
    with pytest.raises(ValueError, match="nomotion.bvh: no MOTION"):
        read_bvh(nomotion)


def test_reads_real_cmu_file(shared_data):
    bvh = read_bvh(shared_data / "mocap" / "cmu" / "01_01.bvh")
    assert bvh.skeleton.names[0] == "Hips"
    assert bvh.num_frames == 2752
    assert bvh.fps == pytest.approx(120, rel=1e-3)


# Position channels holding the joint's whole local translation (Blender-style exporters), and
# a root whose channels are its displacement: both must come out as the skeleton says.
SIX_CHANNELS = """HIERARCHY
ROOT Hips
{
  OFFSET 0 90 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation
  JOINT Knee
  {
    OFFSET 0 -45 0
    CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation
    JOINT Ankle
    {
      OFFSET 0 -42 0
      CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation
    }
  }
}
MOTION
Frames: 3
Frame Time: 0.0416667
"""


def test_position_channels_holding_the_whole_translation_are_not_added_to_offset(tmp_path):
    rows = [[dx, 0, 0, 0, 0, 0, 0, -45, 0, 0, 0, 0, 0, -42, 0, 0, 0, 0] for dx in (0.0, 1.0, 2.0)]
    path = tmp_path / "six.bvh"
    path.write_text(SIX_CHANNELS + "\n".join(" ".join(map(str, r)) for r in rows) + "\n")
    bvh = read_bvh(path)
    assert bvh.translation_channels == (False, True, True)  # the root moves by displacements
    pos, _ = forward_kinematics(bvh)
    np.testing.assert_allclose(pos[2], [[2, 90, 0], [2, 45, 0], [2, 3, 0]], atol=1e-9)
    # Read the format's original way, every bone would double (what the issue saw).
    added, _ = forward_kinematics(with_position_meaning(bvh, "offset"))
    np.testing.assert_allclose(added[2, 2], [2, 90 - 90 - 84, 0], atol=1e-9)
    rest, _ = forward_kinematics(bvh, rest_pose=True)
    np.testing.assert_allclose(rest[0], [[0, 90, 0], [0, 45, 0], [0, 3, 0]], atol=1e-9)


@pytest.mark.parametrize("bad, shown", [("nan", "nan"), ("1e30", "1e+30"), ("inf", "inf")])
def test_non_finite_and_absurd_values_name_the_file_frame_and_channel(tmp_path, bad, shown):
    frames = [list(f) for f in FRAMES]
    frames[2][7] = bad                                    # Spine Xrotation of the third frame
    path = write_bvh(tmp_path / "bad.bvh", frames)
    with pytest.raises(ValueError, match=re.escape(f"bad.bvh: frame 3 of 4, channel 'Spine Xrotation' is {shown}")):
        read_bvh(path)
