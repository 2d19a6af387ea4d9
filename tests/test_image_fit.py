"""The lifted pose against the image it came from: the limbs' ends pulled toward the detector's
joints (repose_core.image_fit), on real motion seen by a known camera and on the bundled clip
against its triangulated truth."""
from __future__ import annotations

import numpy as np
import pytest

from repose_core import load_lifter, metrics
from repose_core.camera import Intrinsics, project
from repose_core.image_fit import (DEFAULT_FOCAL_35MM, PULLED_JOINTS, pulled_to_image,
                                   solve_root_translation)
from repose_core.skeleton import JOINT_INDEX as J
from repose_core.skeleton import LIMB_JOINTS, PARENTS, ROOT
from train.data.triangulated import TriangulatedClip

IMAGE_SIZE = (1920, 1080)
CAMERA = Intrinsics.from_focal_35mm(*IMAGE_SIZE, DEFAULT_FOCAL_35MM)
STILL = [j for j in range(17) if j not in PULLED_JOINTS]


@pytest.fixture(scope="module")
def seen(cmu_dance_camera):
    """A real dance (CMU 05_02) in the camera frame, pelvis-centred, and its joints in the image
    of a camera with the pull's default lens: what a perfect lifter and detector would give."""
    pixels = project(cmu_dance_camera, CAMERA.fx, CAMERA.fy, CAMERA.cx, CAMERA.cy)
    return cmu_dance_camera - cmu_dance_camera[:, ROOT:ROOT + 1], pixels, np.ones(pixels.shape[:2])


def turned_limbs(pose: np.ndarray, degrees: float) -> np.ndarray:
    """``pose`` with every forearm and shin turned by ``degrees`` about the camera's x axis at
    its elbow or knee: a lift that misjudges how far the limbs point out of the image."""
    angle = np.radians(degrees)
    turn = np.array([[1, 0, 0], [0, np.cos(angle), -np.sin(angle)], [0, np.sin(angle), np.cos(angle)]])
    out = pose.copy()
    for end in ("l_wrist", "r_wrist", "l_ankle", "r_ankle"):
        joint = J[end]
        out[:, joint] = pose[:, PARENTS[joint]] + (pose[:, joint] - pose[:, PARENTS[joint]]) @ turn.T
    return out


def bone_lengths(pose: np.ndarray) -> np.ndarray:
    return np.stack([np.linalg.norm(pose[:, j] - pose[:, PARENTS[j]], axis=-1) for j in range(1, 17)], -1)


def image_error(pose: np.ndarray, keypoints: np.ndarray, joints: list[int]) -> float:
    """Mean pixel distance of ``joints`` from their keypoints, the pose placed where it projects best."""
    placed = pose + solve_root_translation(pose, keypoints, np.ones(keypoints.shape[:2]), CAMERA)[:, None]
    pixels = project(placed, CAMERA.fx, CAMERA.fy, CAMERA.cx, CAMERA.cy)
    return float(np.linalg.norm(pixels[:, joints] - keypoints[:, joints], axis=-1).mean())


def test_a_pose_on_its_keypoints_stays_as_it_is(seen):
    pose, pixels, confidence = seen
    np.testing.assert_allclose(pulled_to_image(pose, pixels, confidence, IMAGE_SIZE), pose, atol=1e-9)


def test_limb_ends_turn_toward_their_keypoints_at_their_length(seen):
    """Forearms and shins lifted 25 degrees off: pulled halfway, the hands and feet land nearer
    their keypoints and their truth, no bone changes length, nothing but the limbs' ends moves,
    and all the way (pull 1) lands nearer still."""
    pose, pixels, confidence = seen
    lifted = turned_limbs(pose, 25.0)
    half = pulled_to_image(lifted, pixels, confidence, IMAGE_SIZE)
    full = pulled_to_image(lifted, pixels, confidence, IMAGE_SIZE, pull=1.0)
    ends = [J["l_wrist"], J["r_wrist"], J["l_ankle"], J["r_ankle"]]
    before, after_half, after_full = (image_error(p, pixels, ends) for p in (lifted, half, full))
    assert after_full < after_half < 0.8 * before, (before, after_half, after_full)
    error_3d = [np.linalg.norm(p[:, ends] - pose[:, ends], axis=-1).mean() for p in (lifted, half, full)]
    assert error_3d[2] < error_3d[1] < error_3d[0], error_3d
    np.testing.assert_allclose(bone_lengths(half), bone_lengths(lifted), atol=1e-9)
    np.testing.assert_allclose(half[:, STILL], lifted[:, STILL], atol=1e-9)


def test_joints_the_detector_did_not_see_stay_as_lifted(seen):
    """A limb whose joints were missed (NaN) or seen below MIN_CONFIDENCE is not pulled; frames
    with too few joints to place the pose are not pulled at all."""
    pose, pixels, confidence = seen
    lifted = turned_limbs(pose, 25.0)
    pixels, confidence = pixels.copy(), confidence.copy()
    pixels[:, [J["l_elbow"], J["l_wrist"]]] = np.nan
    confidence[:, [J["r_knee"], J["r_ankle"]]] = 0.1
    pixels[:10, :12] = np.nan     # 5 joints left in the first 10 frames: no translation
    pulled = pulled_to_image(lifted, pixels, confidence, IMAGE_SIZE)
    unseen = [J["l_elbow"], J["l_wrist"], J["r_knee"], J["r_ankle"]]
    np.testing.assert_allclose(pulled[:, unseen], lifted[:, unseen], atol=1e-9)
    np.testing.assert_allclose(pulled[:10], lifted[:10], atol=1e-9)
    assert np.abs(pulled[10:, J["r_wrist"]] - lifted[10:, J["r_wrist"]]).max() > 0.01


@pytest.mark.slow
def test_the_pull_brings_the_bundled_clip_nearer_its_triangulated_truth(example_video, example_detection):
    """The shipped model on the bundled clip against four calibrated cameras' triangulation
    (limb P-MPJPE / bone directions): 83.5 mm / 17.4 degrees as lifted, 79.2 / 16.2 pulled, for
    the model of 30 November 2026 (MediaPipe's own 3D: 82.5 / 17.3)."""
    truth = TriangulatedClip.load(example_video.with_name("pose2sim_balancing_cam01_truth.json"))
    det = example_detection
    frames = truth.frames[det.found[truth.frames]]
    target = truth.joints_camera[np.isin(truth.frames, frames)]
    lifter = load_lifter()
    scores = {}
    for pull in (False, True):
        lifter.image_pull = pull
        pose = lifter.predict(det.keypoints, det.image_size, det.confidence, det.world_joints)[frames]
        scores[pull] = (metrics.p_mpjpe(pose, target, joints=LIMB_JOINTS),
                        metrics.bone_direction_error_deg(pose, target))
    assert len(frames) > 30
    assert scores[True][0] < scores[False][0] - 2.0, scores
    assert scores[True][1] < scores[False][1] - 0.5, scores
