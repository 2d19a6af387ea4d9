"""Metrics: hand-computed values, the alignments each protocol promises, on real mocap."""
from __future__ import annotations

import numpy as np
import pytest

from repose_core import metrics
from repose_core.skeleton import DIRECTION_BONES, NUM_JOINTS, PARENTS, SYMMETRY_PAIRS


def rotation_matrix(axis, angle_rad):
    axis = np.asarray(axis, dtype=np.float64)
    axis = axis / np.linalg.norm(axis)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle_rad) * k + (1 - np.cos(angle_rad)) * k @ k


@pytest.fixture(scope="module")
def poses(cmu_dance_camera):
    """(target, noisy prediction) from real motion."""
    rng = np.random.default_rng(0)
    target = cmu_dance_camera
    return target, target + rng.normal(scale=0.03, size=target.shape)


def test_perfect_prediction(poses):
    target, _ = poses
    assert metrics.mpjpe(target, target) == 0.0
    assert metrics.p_mpjpe(target, target) < 1e-9
    assert metrics.n_mpjpe(target, target) == 0.0
    assert metrics.mpjve(target, target) == 0.0
    assert metrics.acceleration_error(target, target) == 0.0
    assert metrics.depth_order_accuracy(target, target) == 1.0
    assert metrics.bone_direction_error_deg(target, target) == 0.0


def test_mpjpe_by_hand_and_root_alignment(poses):
    target, _ = poses
    pred = target.copy()
    pred[:, 13] += [0.03, 0.04, 0.0]  # the left wrist 5 cm off, nothing else
    assert metrics.mpjpe(pred, target) == pytest.approx(50.0 / NUM_JOINTS)
    per_joint = metrics.per_joint_mpjpe(pred, target)
    assert per_joint.shape == (NUM_JOINTS,)
    np.testing.assert_allclose(per_joint[13], 50.0)
    np.testing.assert_allclose(np.delete(per_joint, 13), 0.0, atol=1e-9)
    # Moving the whole pose (root included) is no error: MPJPE is root-aligned.
    assert metrics.mpjpe(target + [1.0, -2.0, 3.0], target) == pytest.approx(0.0, abs=1e-9)
    # A 2 cm error on the root alone shows up on every other joint after alignment.
    moved_root = target.copy()
    moved_root[:, 0] += [0.0, 0.02, 0.0]
    assert metrics.mpjpe(moved_root, target) == pytest.approx(20.0 * (NUM_JOINTS - 1) / NUM_JOINTS)


def test_metrics_accept_any_leading_shape(poses):
    target, pred = poses
    frames = (target.shape[0] // 4) * 4
    batched_pred = pred[:frames].reshape(4, -1, NUM_JOINTS, 3)
    batched_target = target[:frames].reshape(4, -1, NUM_JOINTS, 3)
    for metric in (metrics.mpjpe, metrics.p_mpjpe, metrics.n_mpjpe, metrics.depth_order_accuracy,
                   metrics.bone_direction_error_deg):
        assert metric(batched_pred, batched_target) == pytest.approx(metric(pred[:frames], target[:frames]))
    np.testing.assert_allclose(metrics.per_joint_mpjpe(batched_pred, batched_target),
                               metrics.per_joint_mpjpe(pred[:frames], target[:frames]))
    single = metrics.mpjpe(pred[0], target[0])  # one frame (17, 3)
    assert single == pytest.approx(metrics.per_joint_mpjpe(pred[:1], target[:1]).mean())


def test_p_mpjpe_removes_rotation_scale_and_translation(poses):
    target, noisy = poses
    rotation = rotation_matrix([0.3, 1.0, -0.2], np.radians(70))
    transformed = 1.3 * target @ rotation.T + [0.5, -0.2, 2.0]
    assert metrics.mpjpe(transformed, target) > 100
    assert metrics.p_mpjpe(transformed, target) < 1e-6
    # Invariant to a similarity transform of the prediction, and at most the error that the
    # true inverse transform leaves (Procrustes is optimal in least squares, checked as RMS).
    noisy_transformed = 0.7 * noisy @ rotation.T - [0.1, 0.0, 1.0]
    assert metrics.p_mpjpe(noisy_transformed, target) == pytest.approx(metrics.p_mpjpe(noisy, target))
    assert 0 < metrics.p_mpjpe(noisy, target) < metrics.mpjpe(noisy, target)
    # A mirror image is not a rotation: P-MPJPE keeps it as an error.
    mirrored = target * [-1.0, 1.0, 1.0]
    assert metrics.p_mpjpe(mirrored, target) > 10


def test_p_mpjpe_on_a_joint_subset_aligns_on_those_joints_only(poses):
    """``joints=LIMB_JOINTS``: a head put anywhere changes nothing, and the limbs' figure is the
    Procrustes error of the limbs alone (checked against aligning a copy of them)."""
    from repose_core.skeleton import JOINT_INDEX, LIMB_JOINTS

    target, noisy = poses
    moved_head = noisy.copy()
    moved_head[..., JOINT_INDEX["head"], :] += 0.5
    limbs = metrics.p_mpjpe(noisy, target, joints=LIMB_JOINTS)
    assert metrics.p_mpjpe(moved_head, target, joints=LIMB_JOINTS) == pytest.approx(limbs)
    assert metrics.p_mpjpe(moved_head, target) > metrics.p_mpjpe(noisy, target)
    rotation = rotation_matrix([0.1, 1.0, 0.4], np.radians(40))
    assert metrics.p_mpjpe(2.0 * noisy @ rotation.T, target, joints=LIMB_JOINTS) == pytest.approx(limbs)


def test_n_mpjpe_removes_scale_only(poses):
    target, _ = poses
    assert metrics.n_mpjpe(0.8 * target, target) == pytest.approx(0.0, abs=1e-9)
    assert metrics.mpjpe(0.8 * target, target) > 20
    rotated = target @ rotation_matrix([0, 1, 0], np.radians(30)).T
    assert metrics.n_mpjpe(rotated, target) > 20


def test_velocity_and_acceleration_errors_by_hand(poses):
    target, _ = poses
    frames = np.arange(target.shape[0])[:, None]
    drift = target.copy()
    drift[:, 5, :] += frames * [0.01, 0.0, 0.0]  # left knee drifts 1 cm per frame
    assert metrics.mpjve(drift, target) == pytest.approx(10.0 / NUM_JOINTS)
    assert metrics.acceleration_error(drift, target) == pytest.approx(0.0, abs=1e-9)
    accelerating = target.copy()
    accelerating[:, 5, :] += (frames**2) * [0.0, 0.0, 0.002]  # second difference 4 mm per frame^2
    assert metrics.acceleration_error(accelerating, target) == pytest.approx(4.0 / NUM_JOINTS)
    # Global motion of the whole body is no velocity error (root-aligned).
    assert metrics.mpjve(target + frames[..., None] * 0.05, target) == pytest.approx(0.0, abs=1e-9)
    # Jitter is what acceleration error is for.
    jitter = target.copy()
    jitter[1::2] += 0.01
    jitter[1::2, 0] -= 0.01  # keep the root still so the jitter survives root alignment
    assert metrics.acceleration_error(jitter, target) > metrics.mpjpe(jitter, target)
    with pytest.raises(ValueError, match="at least 3 frames"):
        metrics.acceleration_error(target[:2], target[:2])
    with pytest.raises(ValueError, match="time axis"):
        metrics.mpjve(target[0], target[0])


def test_masked_mpjpe(poses):
    target, pred = poses
    everything = np.ones(target.shape[:-1], dtype=bool)
    assert metrics.masked_mpjpe(pred, target, everything) == pytest.approx(metrics.mpjpe(pred, target))
    wrist_only = np.zeros_like(everything)
    wrist_only[:, 13] = True
    assert metrics.masked_mpjpe(pred, target, wrist_only) == pytest.approx(
        metrics.per_joint_mpjpe(pred, target)[13])
    assert np.isnan(metrics.masked_mpjpe(pred, target, np.zeros_like(everything)))
    with pytest.raises(ValueError, match="boolean"):
        metrics.masked_mpjpe(pred, target, everything.astype(np.float32))
    with pytest.raises(ValueError, match="mask must have shape"):
        metrics.masked_mpjpe(pred, target, everything[:, :5])


def test_depth_order_accuracy_by_hand():
    target = np.zeros((1, NUM_JOINTS, 3))
    target[..., 2] = 3.0 + 0.2 * np.arange(NUM_JOINTS)  # joint k at 3 m + 20 cm k
    pred = target.copy()
    pred[0, [3, 4], 2] = pred[0, [4, 3], 2]  # joints 3 and 4 (20 cm apart) swapped
    pairs = NUM_JOINTS * (NUM_JOINTS - 1) // 2
    assert metrics.depth_order_accuracy(pred, target) == pytest.approx((pairs - 1) / pairs)
    # With a 25 cm threshold the swapped pair no longer counts and every other pair is right.
    assert metrics.depth_order_accuracy(pred, target, threshold=0.25) == 1.0
    mirrored_depth = target.copy()
    mirrored_depth[..., 2] *= -1
    assert metrics.depth_order_accuracy(mirrored_depth, target) == 0.0
    assert np.isnan(metrics.depth_order_accuracy(pred, target, threshold=10.0))
    with pytest.raises(ValueError, match="threshold"):
        metrics.depth_order_accuracy(pred, target, threshold=-0.1)


def test_depth_order_accuracy_on_real_motion(poses):
    target, noisy = poses
    rng = np.random.default_rng(1)
    noisier = target + rng.normal(scale=0.15, size=target.shape)
    good = metrics.depth_order_accuracy(noisy, target)
    bad = metrics.depth_order_accuracy(noisier, target)
    assert 0.9 < good < 1.0 and 0.5 < bad < good


def test_bone_direction_error_by_hand(poses):
    target, _ = poses
    pred = target.copy()
    # Turn the left forearm by 90 degrees about an axis normal to it, at the elbow.
    forearm = target[:, 13] - target[:, 12]
    normal = np.cross(forearm, [0.0, 0.0, 1.0])
    normal /= np.linalg.norm(normal, axis=-1, keepdims=True)
    turned = np.cross(normal, forearm) + normal * (normal * forearm).sum(-1, keepdims=True)
    pred[:, 13] = target[:, 12] + turned
    assert metrics.bone_direction_error_deg(pred, target) == pytest.approx(90.0 / len(DIRECTION_BONES))
    per_bone = metrics.bone_direction_errors_deg(pred, target)
    assert per_bone.shape == (len(target), len(DIRECTION_BONES))
    forearm_column = list(DIRECTION_BONES).index("l_forearm")
    np.testing.assert_allclose(per_bone[:, forearm_column], 90.0)
    assert np.abs(np.delete(per_bone, forearm_column, axis=1)).max() < 1e-5


def test_bone_direction_error_ignores_bone_lengths(poses):
    """Another skeleton family: same directions, different (left/right symmetric) bone lengths."""
    target, _ = poses
    rng = np.random.default_rng(2)
    scale = rng.uniform(0.7, 1.4, NUM_JOINTS)
    for left, right in SYMMETRY_PAIRS:
        scale[right] = scale[left]
    scale[8] = scale[7]  # spine and chest alike, so the pelvis-to-thorax line keeps its direction
    other = target.copy()
    for child, parent in enumerate(PARENTS):  # parents come before children
        if parent >= 0:
            other[:, child] = other[:, parent] + scale[child] * (target[:, child] - target[:, parent])
    assert metrics.mpjpe(other, target) > 20
    assert metrics.bone_direction_error_deg(other, target) < 1e-5


def test_bad_inputs_name_the_problem(poses):
    target, pred = poses
    with pytest.raises(ValueError, match="same shape"):
        metrics.mpjpe(pred[:3], target[:4])
    with pytest.raises(ValueError, match=r"\(\.\.\., 17, 3\)"):
        metrics.mpjpe(pred[..., :2], target[..., :2])
