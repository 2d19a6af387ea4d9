"""Real footage imports upright and on the floor with the shipped lifter (issue: a level or a
downward-looking camera must not lean the person, and planted feet must not float). The bundled
clip has a measured truth: its camera's calibration and its person triangulated from four views
(examples/pose2sim_balancing_cam01_truth.json, train/data/triangulated.py)."""
from __future__ import annotations

import numpy as np
import pytest

from addon.motion.rig import ANKLE_HEIGHT
from addon.pipeline import ImportOptions, analyse
from repose_core.skeleton import JOINT_INDEX as J
from train.data.triangulated import TriangulatedClip, camera_pitch_roll_deg

pytestmark = pytest.mark.slow


def standing_body_lean_deg(result) -> np.ndarray:
    """The body axis's angle (mid-ankles -> head) from the world's vertical on the frames with a
    planted foot."""
    standing = result.motion.contacts.any(-1) & result.found
    joints = result.motion.joints[standing]
    axis = joints[:, J["head"]] - 0.5 * (joints[:, J["l_ankle"]] + joints[:, J["r_ankle"]])
    return np.degrees(np.arccos(axis[:, 2] / np.linalg.norm(axis, axis=-1)))


@pytest.fixture(scope="module")
def bundled_truth(example_video) -> TriangulatedClip:
    return TriangulatedClip.load(example_video.with_name("pose2sim_balancing_cam01_truth.json"))


@pytest.fixture(scope="module")
def bundled_import(example_video, detection_cache):
    return analyse(ImportOptions(video=example_video, cache_dir=detection_cache))


def test_the_bundled_clips_truth_is_its_person_seen_by_its_camera(bundled_truth, example_detection):
    """The triangulated markers, projected by the clip's calibrated camera, fall on MediaPipe's
    limb joints in the very frames they are for (within the two detectors' different joint
    definitions): the truth file, its camera and its frame numbers belong to this video."""
    pairs = {"RHip": "r_hip", "LHip": "l_hip", "RKnee": "r_knee", "LKnee": "l_knee",
             "RAnkle": "r_ankle", "LAnkle": "l_ankle", "RShoulder": "r_shoulder", "LShoulder": "l_shoulder",
             "RElbow": "r_elbow", "LElbow": "l_elbow", "RWrist": "r_wrist", "LWrist": "l_wrist"}
    error = np.concatenate([
        np.linalg.norm(bundled_truth.project(bundled_truth.marker(marker))
                       - example_detection.keypoints[bundled_truth.frames, J[joint]], axis=-1)
        for marker, joint in pairs.items()])
    assert len(error) == 12 * len(bundled_truth.frames) >= 12 * 30
    assert np.median(error) < 25, np.median(error)    # pixels of a 1080x1920 frame
    pitch, roll = camera_pitch_roll_deg(bundled_truth.up_in_camera)
    assert 20 < pitch < 25 and 10 < roll < 16   # a lab camera high on a wall, looking down, rolled


def test_the_bundled_clip_is_levelled_by_its_camera_and_on_the_floor(bundled_truth, bundled_import):
    """The bundled clip's camera looks down 22.5 degrees and is rolled 13.4 (Pose2Sim's
    calibration). The shipped lifter's up direction finds both (the previous default, trained
    with cameras rolled 2-3 degrees, found the pitch but a roll of 2.2), and the planted feet
    stand on the floor."""
    motion = bundled_import.motion
    assert motion.up is not None
    off = np.degrees(np.arccos(np.clip(motion.up @ bundled_truth.up_in_camera, -1.0, 1.0)))
    assert off < 6.0, off
    assert camera_pitch_roll_deg(motion.up)[1] > 8.0
    planted = np.concatenate([motion.joints[motion.contacts[:, k], ankle, 2]
                              for k, ankle in enumerate((J["l_ankle"], J["r_ankle"]))])
    assert len(planted) > 30
    assert np.abs(np.median(planted) - ANKLE_HEIGHT) < 0.02, np.median(planted)


def test_the_bundled_clip_stands_as_upright_as_its_person(bundled_truth, bundled_import):
    """On the frames where a foot is planted, the import's body axis (mid-ankles -> head) is
    within 5 degrees of the person's own as four calibrated cameras triangulated it, and the
    torso (pelvis -> thorax) within 9 (the previous default: 5.6 and 11.6). The man balances on
    one leg and leans, 17 degrees (body) and 23 (torso) at the median of those frames: "upright"
    is as upright as he stood, not vertical."""
    standing = (bundled_import.motion.contacts.any(-1) & bundled_import.found)[bundled_truth.frames]
    errors = bundled_truth.lean_errors_deg(bundled_import.motion.joints)
    assert standing.sum() > 20
    assert np.median(errors["body"][standing]) < 5.0, np.median(errors["body"][standing])
    assert np.median(errors["torso"][standing]) < 9.0, np.median(errors["torso"][standing])


def test_the_two_person_clip_imports_upright(shared_data, detection_cache):
    """The shared two-person clip (a level camera): the followed person's standing frames come out
    with the body axis near vertical (the previous, level-assuming lifter: 9.2 degrees)."""
    result = analyse(ImportOptions(video=shared_data / "videos" / "sports2d_jump_walk.mp4",
                                   cache_dir=detection_cache))
    leans = standing_body_lean_deg(result)
    assert len(leans) > 10 and np.median(leans) < 8.0, np.median(leans)
