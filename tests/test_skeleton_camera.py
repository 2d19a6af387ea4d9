"""Skeleton invariants, camera round trips and lifter-feature invariances, on real motion."""
from __future__ import annotations

import numpy as np
import pytest

from repose_core import camera, features, skeleton
from repose_core.skeleton import JOINTS, NUM_JOINTS, PARENTS


# ----------------------------------------------------------------------------- skeleton
def test_joint_order_is_h36m_17():
    assert JOINTS == (
        "pelvis", "r_hip", "r_knee", "r_ankle", "l_hip", "l_knee", "l_ankle", "spine", "thorax",
        "neck_nose", "head", "l_shoulder", "l_elbow", "l_wrist", "r_shoulder", "r_elbow", "r_wrist",
    )
    assert NUM_JOINTS == 17 and skeleton.ROOT == 0
    assert all(skeleton.JOINT_INDEX[name] == i for i, name in enumerate(JOINTS))


def test_parents_form_a_tree_rooted_at_the_pelvis():
    assert PARENTS[skeleton.ROOT] == -1
    assert sum(p == -1 for p in PARENTS) == 1
    assert all(0 <= p < c for c, p in enumerate(PARENTS) if c != skeleton.ROOT)  # parents first
    assert len(skeleton.BONES) == NUM_JOINTS - 1
    assert {c for _, c in skeleton.BONES} == set(range(1, NUM_JOINTS))
    assert all(PARENTS[c] == p for p, c in skeleton.BONES)


def test_symmetry_pairs_and_flip_permutation():
    for left, right in skeleton.SYMMETRY_PAIRS:
        assert JOINTS[left].startswith("l_") and JOINTS[right] == "r_" + JOINTS[left][2:]
        # Counterparts hang from counterparts (or from the same joint on the midline).
        lp, rp = PARENTS[left], PARENTS[right]
        assert lp == rp or (lp, rp) in skeleton.SYMMETRY_PAIRS
    perm = np.array(skeleton.FLIP_PERMUTATION)
    assert sorted(perm) == list(range(NUM_JOINTS))
    np.testing.assert_array_equal(perm[perm], np.arange(NUM_JOINTS))  # an involution
    midline = [i for i, name in enumerate(JOINTS) if not name.startswith(("l_", "r_"))]
    assert all(perm[i] == i for i in midline)


def test_neighbour_and_direction_pairs_are_valid():
    pairs = skeleton.NEIGHBOUR_PAIRS
    assert len(set(pairs)) == len(pairs) and all(0 <= i < j < NUM_JOINTS for i, j in pairs)
    assert {(min(p, c), max(p, c)) for p, c in skeleton.BONES} <= set(pairs)
    assert {(min(a, b), max(a, b)) for a, b in skeleton.SYMMETRY_PAIRS} <= set(pairs)
    assert len(pairs) < NUM_JOINTS * (NUM_JOINTS - 1) // 2
    assert len(skeleton.DIRECTION_BONES) == 11
    for name, (a, b) in skeleton.DIRECTION_BONES.items():
        assert a != b and 0 <= a < NUM_JOINTS and 0 <= b < NUM_JOINTS, name


def test_flip_pose_mirrors_real_motion(cmu_dance_camera):
    pose = cmu_dance_camera - cmu_dance_camera[:, :1]
    flipped = skeleton.flip_pose(pose)
    np.testing.assert_allclose(skeleton.flip_pose(flipped), pose)
    np.testing.assert_allclose(flipped[:, 4, 0], -pose[:, 1, 0])  # l_hip is the mirrored r_hip
    np.testing.assert_allclose(flipped[:, 4, 1:], pose[:, 1, 1:])
    # Bone lengths survive mirroring with left and right exchanged.
    lengths = np.linalg.norm(pose[:, 13] - pose[:, 12], axis=-1)
    np.testing.assert_allclose(np.linalg.norm(flipped[:, 16] - flipped[:, 15], axis=-1), lengths)
    assert flipped is not pose and not np.shares_memory(flipped, pose)


def test_bone_lengths_and_scale_bones_keeping_directions(cmu_dance_camera):
    pose = cmu_dance_camera
    factor = np.linspace(0.6, 1.6, NUM_JOINTS)
    scaled = skeleton.scale_bones(pose, factor)
    np.testing.assert_allclose(scaled[:, skeleton.ROOT], pose[:, skeleton.ROOT])
    for p, c in skeleton.BONES:
        before, after = pose[:, c] - pose[:, p], scaled[:, c] - scaled[:, p]
        np.testing.assert_allclose(after, before * factor[c], atol=1e-9)
    np.testing.assert_allclose(skeleton.bone_lengths(scaled)[:, 1:], skeleton.bone_lengths(pose)[:, 1:] * factor[1:])
    assert (skeleton.bone_lengths(pose)[:, skeleton.ROOT] == 0).all()
    np.testing.assert_allclose(skeleton.scale_bones(pose, np.ones(NUM_JOINTS)), pose)
    # One factor set per frame broadcasts over the frames.
    per_frame = np.ones((len(pose), NUM_JOINTS))
    per_frame[1:, 13] = 2.0   # the left forearm, from the second frame on
    doubled = skeleton.scale_bones(pose, per_frame)
    np.testing.assert_allclose(doubled[0], pose[0])
    np.testing.assert_allclose(doubled[1:, 13] - doubled[1:, 12], 2 * (pose[1:, 13] - pose[1:, 12]))


def test_apply_bone_lengths_sets_lengths_keeps_directions(cmu_dance_camera):
    """Every frame gets the given lengths along the pose's own bone directions, the pelvis stays;
    a bone of zero length (a joint detected on top of its parent) takes the previous frame's
    direction, or points up (-y) with none before it, instead of turning NaN."""
    pose = cmu_dance_camera
    lengths = np.linspace(0.05, 0.5, NUM_JOINTS)
    fitted = skeleton.apply_bone_lengths(pose, lengths)
    np.testing.assert_allclose(fitted[:, skeleton.ROOT], pose[:, skeleton.ROOT])
    np.testing.assert_allclose(skeleton.bone_lengths(fitted)[:, 1:], np.broadcast_to(lengths[1:], (len(pose), NUM_JOINTS - 1)))
    for p, c in skeleton.BONES:
        before, after = pose[:, c] - pose[:, p], fitted[:, c] - fitted[:, p]
        cos = (before * after).sum(-1) / np.linalg.norm(before, axis=-1) / np.linalg.norm(after, axis=-1)
        np.testing.assert_allclose(cos, 1.0, atol=1e-9)
    wrist, elbow = skeleton.JOINT_INDEX["l_wrist"], skeleton.JOINT_INDEX["l_elbow"]
    collapsed = pose.copy()
    collapsed[[0, 5], wrist] = collapsed[[0, 5], elbow]
    mended = skeleton.apply_bone_lengths(collapsed, lengths)
    assert np.isfinite(mended).all()
    np.testing.assert_allclose(mended[0, wrist] - mended[0, elbow], [0.0, -lengths[wrist], 0.0])
    forearm = fitted[4, wrist] - fitted[4, elbow]
    np.testing.assert_allclose(mended[5, wrist] - mended[5, elbow], forearm)


# ----------------------------------------------------------------------------- camera
def test_world_camera_round_trip_and_look_at():
    rng = np.random.default_rng(0)
    eye = np.array([2.0, 1.6, 4.0])
    target = np.array([0.0, 1.0, 0.0])
    up = np.array([0.0, 1.0, 0.0])
    R = camera.look_at(eye, target, up)
    np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(R) == pytest.approx(1.0)
    # The target is straight ahead; world up points up in the image (negative camera y).
    ahead = camera.world_to_camera(target, R, eye)
    np.testing.assert_allclose(ahead[:2], 0.0, atol=1e-12)
    assert ahead[2] == pytest.approx(np.linalg.norm(target - eye))
    above = camera.world_to_camera(target + up, R, eye)
    assert above[1] < 0
    points = rng.normal(size=(5, 17, 3))
    back = camera.camera_to_world(camera.world_to_camera(points, R, eye), R, eye)
    np.testing.assert_allclose(back, points, atol=1e-12)
    # Batched cameras broadcast against batched points.
    eyes = rng.normal(size=(4, 3)) * 3 + [0, 0, 5]
    Rs = camera.look_at(eyes, np.zeros((4, 3)), up)
    batched = camera.world_to_camera(points[:4, 0], Rs, eyes)
    for i in range(4):
        np.testing.assert_allclose(batched[i], Rs[i] @ (points[i, 0] - eyes[i]), atol=1e-12)


def test_projection_round_trip_on_real_motion(cmu_dance_camera):
    intr = camera.Intrinsics.from_fov(1920, 1080, horizontal_fov_deg=60)
    assert (cmu_dance_camera[..., 2] > 1.0).all()  # the dancer stays in front of the camera
    pixels = camera.project(cmu_dance_camera, intr.fx, intr.fy, intr.cx, intr.cy)
    assert ((pixels >= 0) & (pixels <= [1920, 1080])).all()  # and in the picture
    back = camera.unproject(pixels, cmu_dance_camera[..., 2], intr.fx, intr.fy, intr.cx, intr.cy)
    np.testing.assert_allclose(back, cmu_dance_camera, atol=1e-9)


def test_intrinsics_from_fov_and_35mm_focal():
    intr = camera.Intrinsics.from_fov(1920, 1080, horizontal_fov_deg=90)
    # A point 45 degrees to the right lands on the right image edge.
    edge = camera.project(np.array([1.0, 0.0, 1.0]), intr.fx, intr.fy, intr.cx, intr.cy)
    np.testing.assert_allclose(edge, [1920, 540])
    # A 3:2 frame is a full-frame sensor (36 mm wide): f_px = focal_mm * width_px / 36.
    intr35 = camera.Intrinsics.from_focal_35mm(3600, 2400, focal_35mm=50)
    assert intr35.fx == pytest.approx(50 * 3600 / 36, rel=1e-3)
    assert (intr35.cx, intr35.cy) == (1800, 1200)


@pytest.mark.parametrize("image_size", [(1920, 1080), (1080, 1920), (640, 640)])
def test_screen_normalisation(image_size):
    width, height = image_size
    corners = np.array([[0.0, 0.0], [width, height], [width / 2, height / 2]])
    screen = camera.normalize_screen(corners, image_size)
    np.testing.assert_allclose(screen[2], 0.0)
    long_axis = int(height > width)
    np.testing.assert_allclose(np.abs(screen[:2, long_axis]), 1.0)  # the long side spans [-1, 1]
    np.testing.assert_allclose(np.abs(screen[:2, 1 - long_axis]), min(image_size) / max(image_size))
    rng = np.random.default_rng(1)
    pixels = rng.uniform(0, max(image_size), size=(10, 17, 2)).astype(np.float32)
    back = camera.unnormalize_screen(camera.normalize_screen(pixels, image_size), image_size)
    assert back.dtype == np.float32
    np.testing.assert_allclose(back, pixels, rtol=1e-5, atol=1e-3)
    # Mirroring the image is x -> -x.
    mirrored = pixels.copy()
    mirrored[..., 0] = width - pixels[..., 0]
    np.testing.assert_allclose(camera.normalize_screen(mirrored, image_size)[..., 0],
                               -camera.normalize_screen(pixels, image_size)[..., 0], atol=1e-6)


# ----------------------------------------------------------------------------- features
@pytest.fixture(scope="module")
def real_2d(cmu_dance_camera):
    """Pixels of the real dance in a portrait phone frame, with per-joint confidences."""
    image_size = (1080, 1920)
    intr = camera.Intrinsics.from_fov(*image_size, horizontal_fov_deg=50)
    pixels = camera.project(cmu_dance_camera, intr.fx, intr.fy, intr.cx, intr.cy)
    confidence = np.random.default_rng(2).uniform(0.2, 1.0, size=pixels.shape[:-1])
    return pixels, confidence, image_size


def test_features_shape_and_root_centring(real_2d):
    pixels, confidence, image_size = real_2d
    feats = features.lifter_features(pixels, confidence, image_size)
    assert feats.shape == pixels.shape[:-1] + (features.INPUT_CHANNELS,) and feats.dtype == np.float32
    np.testing.assert_allclose(feats[..., skeleton.ROOT, :2], 0.0, atol=1e-6)
    np.testing.assert_allclose(feats[..., 2], confidence, rtol=1e-6)
    # Per-frame, confidence-weighted RMS radius of 1 (up to the small floor on the weights).
    radius2 = (feats[..., :2] ** 2).sum(-1)
    weights = confidence + 1e-3
    np.testing.assert_allclose((radius2 * weights).sum(-1) / weights.sum(-1), 1.0, rtol=1e-4)


def test_features_ignore_where_and_how_big_the_person_is(real_2d):
    pixels, confidence, image_size = real_2d
    feats = features.lifter_features(pixels, confidence, image_size)
    # Per-frame shifts and zooms (the person walking around, closer or further away).
    rng = np.random.default_rng(3)
    shift = rng.uniform(-200, 200, size=(pixels.shape[0], 1, 2))
    zoom = rng.uniform(0.5, 2.0, size=(pixels.shape[0], 1, 1))
    moved = (pixels - [540, 960]) * zoom + [540, 960] + shift
    np.testing.assert_allclose(features.lifter_features(moved, confidence, image_size), feats, atol=1e-5)
    # The same picture in another resolution gives the same features.
    np.testing.assert_allclose(features.lifter_features(pixels * 2, confidence, (2160, 3840)), feats, atol=1e-5)


def test_features_of_a_mirrored_image_are_mirrored_features(real_2d):
    pixels, confidence, image_size = real_2d
    mirrored_pixels = pixels.copy()
    mirrored_pixels[..., 0] = image_size[0] - pixels[..., 0]
    # In the mirrored image the person's left limbs appear where the right ones were.
    mirrored_pixels = mirrored_pixels[:, skeleton.FLIP_PERMUTATION]
    mirrored_confidence = confidence[:, skeleton.FLIP_PERMUTATION]
    feats = features.lifter_features(pixels, confidence, image_size)
    mirrored = features.lifter_features(mirrored_pixels, mirrored_confidence, image_size)
    np.testing.assert_allclose(mirrored, skeleton.flip_pose(feats), atol=1e-5)


def test_features_reject_bad_shapes(real_2d):
    pixels, confidence, image_size = real_2d
    with pytest.raises(ValueError, match="keypoints must have shape"):
        features.lifter_features(pixels[..., :16, :], confidence, image_size)
    with pytest.raises(ValueError, match="confidence must have shape"):
        features.lifter_features(pixels, confidence[:, :16], image_size)
