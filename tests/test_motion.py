"""addon.motion on real mocap (CMU walk) seen through a virtual camera with lifter-like noise."""
from __future__ import annotations

import numpy as np
import pytest

from addon.motion import bone_rotations, fit, foot_lock, rig, root_motion, smoothing, world
from repose_core.rotations import axis_angle_matrix, make_continuous
from repose_core.camera import Intrinsics, look_at, project, world_to_camera
from repose_core.image_fit import DEFAULT_FOCAL_35MM
from repose_core import skeleton, temporal
from repose_core.skeleton import BONES

FPS = 60.0
IMAGE_SIZE = (1920, 1080)
CAMERA = Intrinsics.from_focal_35mm(*IMAGE_SIZE, DEFAULT_FOCAL_35MM)


def filmed_clip(shared_data, offset: np.ndarray, clip: str = "cmu/02_01.bvh") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A mocap clip (CMU 02_01, a walk, by default) filmed by a camera at ``offset`` from its mean
    pelvis, aimed there: camera-frame joints, pixels, and the world's up in the camera's frame."""
    from train.data.mocap import load_clip

    joints = load_clip(shared_data / "mocap" / clip, fps=FPS).joints.astype(np.float64)
    centre = joints[:, 0].mean(0)
    eye = centre + offset
    R = look_at(eye, centre, np.array([0.0, 1.0, 0.0]))
    camera = world_to_camera(joints, R, eye)
    return camera, project(camera, CAMERA.fx, CAMERA.fy, CAMERA.cx, CAMERA.cy), R @ np.array([0.0, 1.0, 0.0])


@pytest.fixture(scope="module")
def walk(shared_data):
    """The walk as seen by a level camera 6 m away: true camera-frame joints, pixels."""
    return filmed_clip(shared_data, np.array([0.5, 0.2, 6.0]))[:2]


@pytest.fixture(scope="module")
def lifted(walk):
    """Pelvis-relative camera-frame poses with smooth, lifter-like errors (seeded)."""
    camera, _ = walk
    rng = np.random.default_rng(0)
    noise = temporal.gaussian_smooth(rng.normal(scale=0.03, size=camera.shape), 2.0)
    pose = camera - camera[:, :1] + noise
    return pose - pose[:, :1]


def _bone_lengths_per_frame(joints):
    return np.stack([np.linalg.norm(joints[:, c] - joints[:, p], axis=-1) for p, c in BONES], -1)


def test_look_at_keeps_world_up_up_in_the_image():
    R = look_at(np.array([0.0, 1.0, 5.0]), np.array([0.0, 1.0, 0.0]), np.array([0.0, 1.0, 0.0]))
    above = world_to_camera(np.array([0.0, 2.0, 0.0]), R, np.array([0.0, 1.0, 5.0]))
    assert above[1] < 0  # camera y points down, so a point above the target has negative y


def test_fit_gives_constant_symmetric_bone_lengths(lifted):
    lengths = fit.bone_lengths(lifted)
    fitted = skeleton.apply_bone_lengths(lifted, lengths)
    per_frame = _bone_lengths_per_frame(fitted)
    assert per_frame.std(0).max() < 1e-9
    for left, right in [(4, 1), (5, 2), (6, 3), (11, 14), (12, 15), (13, 16)]:
        assert lengths[left] == lengths[right]
    # Directions are kept: every fitted bone is parallel to the lifted bone.
    for p, c in BONES:
        a = fitted[:, c] - fitted[:, p]
        b = lifted[:, c] - lifted[:, p]
        cos = (a * b).sum(-1) / np.linalg.norm(a, axis=-1) / np.linalg.norm(b, axis=-1)
        assert cos.min() > 1 - 1e-9
    # Median lengths of a real adult: thighs and shins 0.35-0.55 m.
    assert 0.35 < lengths[5] < 0.55 and 0.35 < lengths[6] < 0.55


def test_keyed_rotations_reproduce_fitted_joints(lifted):
    fitted = root_motion.place_in_world(skeleton.apply_bone_lengths(lifted, fit.bone_lengths(lifted)), FPS).joints
    rest = rig.build_rest_skeleton(fit.bone_lengths(fitted))
    quaternions, root_location = bone_rotations.pose_from_joints(fitted, rest)
    assert quaternions.shape == (len(fitted), len(rig.BONE_NAMES), 4)
    posed = bone_rotations.forward_kinematics(quaternions, root_location, rest)
    assert np.abs(posed - fitted).max() < 1e-3  # metres: < 1 mm
    assert (quaternions[1:] * quaternions[:-1]).sum(-1).min() >= 0.0


def test_rest_pose_keys_are_identity():
    rest = rig.build_rest_skeleton(np.array([0, .13, .45, .44, .13, .45, .44, .24, .25, .12, .12,
                                             .15, .28, .25, .15, .28, .25]))
    quaternions, root_location = bone_rotations.pose_from_joints(rest.joints[None], rest)
    np.testing.assert_allclose(quaternions[0], np.tile([1.0, 0, 0, 0], (len(rig.BONE_NAMES), 1)), atol=1e-6)
    np.testing.assert_allclose(root_location, 0.0, atol=1e-6)
    assert rest.joints[:, 2].min() == pytest.approx(rig.ANKLE_HEIGHT)


def test_knee_flexion_is_a_rotation_about_local_x(lifted):
    fitted = root_motion.place_in_world(skeleton.apply_bone_lengths(lifted, fit.bone_lengths(lifted)), FPS).joints
    rest = rig.build_rest_skeleton(fit.bone_lengths(fitted))
    quaternions, _ = bone_rotations.pose_from_joints(fitted, rest)
    for shin in ("shin.L", "shin.R"):
        q = quaternions[:, rig.BONE_INDEX[shin]]
        bent = np.abs(q[:, 0]) < np.cos(np.radians(30) / 2)  # knee bent more than 30 degrees
        assert bent.sum() > 10
        axis = q[bent, 1:] / np.linalg.norm(q[bent, 1:], axis=-1, keepdims=True)
        assert np.median(np.abs(axis[:, 0])) > 0.95


def test_make_continuous_removes_sign_flips():
    rng = np.random.default_rng(1)
    q = np.cumsum(rng.normal(scale=0.05, size=(200, 3, 4)), 0) + np.array([1.0, 0, 0, 0])
    q /= np.linalg.norm(q, axis=-1, keepdims=True)
    flipped = q * rng.choice([-1.0, 1.0], size=(200, 3, 1))
    continuous = make_continuous(flipped)
    assert (continuous[1:] * continuous[:-1]).sum(-1).min() >= 0
    np.testing.assert_allclose(np.abs((continuous * q).sum(-1)), 1.0, atol=1e-12)


def test_root_trajectory_recovers_the_walk(walk, lifted):
    camera, pixels = walk
    trajectory = root_motion.root_trajectory(lifted, pixels, np.ones(pixels.shape[:2]), CAMERA, FPS)
    error = np.linalg.norm(trajectory - camera[:, 0], axis=-1)
    travelled = np.linalg.norm(camera[-1, 0] - camera[0, 0])
    assert travelled > 2.5
    assert np.median(error) < 0.10 and error.max() < 0.25


def test_place_in_world_faces_minus_y_on_the_floor(walk, lifted):
    camera, pixels = walk
    trajectory = root_motion.root_trajectory(lifted, pixels, np.ones(pixels.shape[:2]), CAMERA, FPS)
    placed = root_motion.place_in_world(lifted, FPS, trajectory).joints
    facing = world.facing_direction(placed[: int(FPS * world.FACING_WINDOW_SECONDS)]).mean(0)
    assert facing @ np.array([0.0, -1.0, 0.0]) > 0.99
    np.testing.assert_allclose(placed[0, 0, :2], 0.0, atol=1e-9)
    assert 0.8 < placed[:, 0, 2].mean() < 1.1  # pelvis height of a walking adult
    # The walk's length survives the trip through the image (within the depth error).
    walked = np.linalg.norm(placed[-1, 0, :2] - placed[0, 0, :2])
    assert walked == pytest.approx(np.linalg.norm(camera[-1, 0, [0, 2]] - camera[0, 0, [0, 2]]), rel=0.1)
    in_place = root_motion.place_in_world(lifted, FPS).joints
    np.testing.assert_allclose(in_place[:, 0, :2], 0.0, atol=1e-9)


@pytest.fixture(scope="module")
def pitched_walk(shared_data):
    """The walk seen by a camera 1.7 m above the pelvis looking down at it (~19 degrees)."""
    return filmed_clip(shared_data, np.array([0.5, 1.7, 5.0]))


def _lean_deg(joints: np.ndarray, up: np.ndarray) -> float:
    """Angle between a clip's (T, 17, 3) mean pelvis -> thorax direction and ``up``."""
    torso = (joints[:, 8] - joints[:, 0]).mean(0)
    return float(np.degrees(np.arccos(torso @ up / np.linalg.norm(torso))))


def test_levelling_by_the_up_direction_stands_a_pitched_view_upright(shared_data, pitched_walk):
    """Placed as if the camera were level, a view from above leans the walker over; levelled by
    the world's up in the camera frame it walks as upright as it did in the mocap."""
    from train.data.mocap import load_clip

    camera, pixels, up = pitched_walk
    pose = camera - camera[:, :1]
    tilted = root_motion.place_in_world(pose, FPS).joints
    level = world.levelling_rotation(up)
    levelled = root_motion.place_in_world(pose, FPS, level=level).joints
    mocap = load_clip(shared_data / "mocap" / "cmu" / "02_01.bvh", fps=FPS).joints.astype(np.float64)
    true_lean = _lean_deg(mocap, np.array([0.0, 1.0, 0.0]))   # the mocap is Y up
    z_up = np.array([0.0, 0.0, 1.0])
    assert abs(_lean_deg(levelled, z_up) - true_lean) < 0.5
    levelled_torso = (levelled[:, 8] - levelled[:, 0]).mean(0)
    assert _lean_deg(tilted, levelled_torso / np.linalg.norm(levelled_torso)) > 15   # the ~19 deg pitch
    np.testing.assert_allclose(level @ up, world.LEVEL_UP, atol=1e-12)


def test_clip_up_is_robust_to_frames_that_fool_the_lifter():
    rng = np.random.default_rng(0)
    true_up = np.array([0.0, -0.94, -0.342])          # a camera pitched 20 degrees down
    up = true_up + rng.normal(scale=0.03, size=(300, 3))
    up[:40] = rng.normal(size=(40, 3))                  # a cartwheel: anything goes
    estimate = world.clip_up(up)
    assert np.degrees(np.arccos(estimate @ true_up / np.linalg.norm(true_up))) < 2.0
    weights = np.ones(300)
    weights[:40] = 0                                    # no person found there
    np.testing.assert_allclose(world.clip_up(up, weights), world.clip_up(up[40:]), atol=1e-9)


def test_centre_of_mass_of_a_person_standing_idle_is_over_the_feet_at_the_hips(shared_data):
    """ReActIdle 011 stands idle for a minute: the centre of mass sits between the hips and the
    thorax in height and, seen from above, over the feet: 2-10 cm ahead of the ankles' middle."""
    from train.data.mocap import load_clip

    joints = load_clip(shared_data / "mocap" / "reactidle" / "011_genuine.bvh", fps=FPS).joints.astype(np.float64)
    centre = world.centre_of_mass(joints)                        # Y up
    assert centre.shape == (len(joints), 3)
    assert np.median(centre[:, 1] - joints[:, [1, 4], 1].mean(1)) > 0.0
    assert np.median(joints[:, 8, 1] - centre[:, 1]) > 0.2
    ahead = centre - joints[:, [3, 6]].mean(1)
    forward = np.cross(world.body_left(joints), np.array([0.0, 1.0, 0.0]))
    forward /= np.linalg.norm(forward, axis=-1, keepdims=True)
    assert 0.02 < np.median((ahead * forward).sum(-1)) < 0.10
    sideways = ahead - (ahead * forward).sum(-1, keepdims=True) * forward
    assert np.median(np.linalg.norm(sideways[:, [0, 2]], axis=-1)) < 0.05


@pytest.mark.parametrize("clip", ["reactidle/011_genuine.bvh", "reactidle/003_acted.bvh"])
def test_balance_brings_a_stray_up_direction_back_over_a_person_standing(shared_data, clip):
    """Two people standing idle, filmed from above, with an up direction 8 degrees off (as a
    lifter's can be), toward the camera or sideways: the balance halves the error."""
    camera, _, true_up = filmed_clip(shared_data, np.array([0.5, 1.7, 4.0]), clip)
    pose = camera[:600] - camera[:600, :1]
    for axis in (np.array([1.0, 0.0, 0.0]), np.array([0.0, 0.0, 1.0])):
        stray = axis_angle_matrix(axis, np.asarray(np.radians(8.0))) @ true_up
        assert np.degrees(np.arccos(world.balanced_up(stray, pose) @ true_up)) < 5.0


@pytest.mark.parametrize("clip", ["deepmimic/humanoid3d_cartwheel.txt", "cmu/02_01.bvh"])
def test_balance_leaves_the_up_direction_alone_off_both_feet(shared_data, clip):
    """A cartwheel and a walk spend most frames off one foot or both: the given up is kept."""
    camera, _, true_up = filmed_clip(shared_data, np.array([0.5, 1.7, 4.0]), clip)
    stray = axis_angle_matrix(np.array([1.0, 0.0, 0.0]), np.asarray(np.radians(8.0))) @ true_up
    np.testing.assert_allclose(world.balanced_up(stray, camera - camera[:, :1]), stray, atol=1e-12)


def test_feet_in_contact_stand_on_the_floor_when_the_height_drifts(walk):
    """A trajectory whose height drifts (a depth error seen by a slightly pitched camera) lifts
    or sinks the feet; stand_on_floor puts planted feet back on the floor, frame by frame."""
    camera, _ = walk
    placed = root_motion.place_in_world(camera - camera[:, :1], FPS, camera[:, 0]).joints
    truth_contacts = foot_lock.detect_contacts(placed, FPS)
    drift = np.linspace(0.0, 0.12, len(placed))[:, None]          # 12 cm over the walk
    drifted = placed + np.stack([0 * drift, 0 * drift, drift], -1)
    grounded = root_motion.stand_on_floor(drifted, FPS)
    ankles = grounded[:, foot_lock.LEGS[0][2]], grounded[:, foot_lock.LEGS[1][2]]
    planted = np.concatenate([a[truth_contacts[:, k], 2] for k, a in enumerate(ankles)])
    assert np.abs(np.median(planted) - rig.ANKLE_HEIGHT) < 0.01
    assert np.abs(planted - rig.ANKLE_HEIGHT).mean() < 0.02
    # The body keeps its shape: only heights move.
    np.testing.assert_allclose(grounded[..., :2], drifted[..., :2])
    np.testing.assert_allclose(np.ptp(grounded[..., 2] - drifted[..., 2], axis=1), 0.0, atol=1e-12)


def test_feet_planted_under_a_fast_height_drift_stand_on_the_floor_and_a_jump_keeps_its_arc(shared_data):
    """Seen from afar, a crouch reads as the body rising 40 cm and back within a second (the depth
    from apparent size swings); the lowest ankle over a step or two does not follow that fast,
    but the feet stand still in the image. CMU 02_04: a jump of ~0.5 m, then standing."""
    from train.data.mocap import load_clip

    fps = 30.0
    joints = load_clip(shared_data / "mocap" / "cmu" / "02_04.bvh", fps=fps).joints.astype(np.float64)
    centre = joints[:, 0].mean(0)
    eye = centre + np.array([1.0, 0.8, 8.0])
    camera = world_to_camera(joints, look_at(eye, centre, np.array([0.0, 1.0, 0.0])), eye)
    pixels = project(camera, CAMERA.fx, CAMERA.fy, CAMERA.cx, CAMERA.cy)
    placed = root_motion.place_in_world(camera - camera[:, :1], fps, camera[:, 0]).joints
    planted = foot_lock.detect_contacts(placed, fps)
    lower = placed[:, [leg[2] for leg in foot_lock.LEGS], 2].min(-1)
    airborne = lower > rig.ANKLE_HEIGHT + 0.3
    assert planted.any(-1).sum() > 60 and airborne.sum() >= 5
    landing = int(np.flatnonzero(airborne)[-1])
    frames = np.arange(len(placed))
    drift = 0.4 * np.exp(-0.5 * ((frames - (landing + 35)) / 10.0) ** 2)   # +0.4 m, ~1 s, standing
    drifted = placed.copy()
    drifted[..., 2] += drift[:, None]
    speed = root_motion.image_ankle_speed(pixels, np.ones(pixels.shape[:2]), camera[:, 0, 2], CAMERA.fx, fps)
    grounded = root_motion.stand_on_floor(drifted, fps, speed)
    ankles = grounded[:, [leg[2] for leg in foot_lock.LEGS], 2]
    assert np.abs(ankles[planted] - rig.ANKLE_HEIGHT).mean() < 0.02
    assert np.abs(np.median(ankles[planted]) - rig.ANKLE_HEIGHT) < 0.01
    # The jump is not flattened: the feet leave the floor as high as they did.
    np.testing.assert_allclose(ankles[airborne].min(-1).max(), lower[airborne].max(), atol=0.05)


def test_a_body_longer_in_the_air_than_a_jump_comes_down_and_the_jump_keeps_its_arc(shared_data):
    """CMU 02_04 (a jump of ~0.5 m, then standing) with its height drifted up 0.4 m for 1.5 s of
    the standing, and no contact to be found (the ankles' image speed unknown: NaN counts as
    moving): nobody stays in the air longer than a jump, so the standing comes back down to the
    floor; the jump itself, in the air for ~0.5 s, is not flattened."""
    from train.data.mocap import load_clip

    fps = 30.0
    joints = load_clip(shared_data / "mocap" / "cmu" / "02_04.bvh", fps=fps).joints.astype(np.float64)
    centre = joints[:, 0].mean(0)
    eye = centre + np.array([1.0, 0.8, 8.0])
    camera = world_to_camera(joints, look_at(eye, centre, np.array([0.0, 1.0, 0.0])), eye)
    placed = root_motion.place_in_world(camera - camera[:, :1], fps, camera[:, 0]).joints
    lower = placed[:, [leg[2] for leg in foot_lock.LEGS], 2].min(-1)
    airborne = lower > rig.ANKLE_HEIGHT + 0.3
    landing = int(np.flatnonzero(airborne)[-1])
    standing = np.arange(landing + 20, landing + 65)
    assert airborne.sum() >= 5 and standing[-1] < len(placed)
    drifted = placed.copy()
    drifted[standing, :, 2] += 0.4
    no_speed = np.full((len(placed), 2), np.nan)
    grounded = root_motion.stand_on_floor(drifted, fps, no_speed)
    surface = root_motion.lowest_surface(grounded)
    assert np.abs(surface[standing] - root_motion.lowest_surface(placed)[standing]).mean() < 0.02
    ankles = grounded[:, [leg[2] for leg in foot_lock.LEGS], 2]
    np.testing.assert_allclose(ankles[airborne].min(-1).max(), lower[airborne].max(), atol=0.05)


@pytest.mark.parametrize("motion", ["getup_facedown", "crawl"])
def test_a_body_resting_on_the_floor_lies_on_it_and_nothing_goes_through(shared_data, motion):
    """DeepMimic's get-up from lying face down and its crawl: the knees, hands and chest are
    lower than the feet and rest on the floor. With the trajectory's height drifting 0.3 m (a
    depth error), the lowest part of the body comes back to the floor, not the feet alone (which
    would leave the lying body hanging above it or the knees under it), and no frame goes through."""
    from train.data.mocap import load_clip

    fps = 30.0
    path = shared_data / "mocap" / "deepmimic" / f"humanoid3d_{motion}.txt"
    joints = load_clip(path, fps=fps).joints.astype(np.float64)
    centre = joints[:, 0].mean(0)
    eye = centre + np.array([1.0, 0.6, 5.0])
    camera = world_to_camera(joints, look_at(eye, centre, np.array([0.0, 1.0, 0.0])), eye)
    placed = root_motion.place_in_world(camera - camera[:, :1], fps, camera[:, 0]).joints
    surface = root_motion.lowest_surface(placed)
    feet = placed[:, [leg[2] for leg in foot_lock.LEGS], 2].min(-1) - rig.ANKLE_HEIGHT
    resting = (root_motion.lowest_surface(placed, exclude_ankles=True) < feet) & (surface < 0.05)
    assert resting.sum() > 0.4 * len(placed)
    drifted = placed.copy()
    drifted[..., 2] += np.linspace(0.0, 0.3, len(placed))[:, None]
    grounded = root_motion.lowest_surface(root_motion.stand_on_floor(drifted, fps))
    assert np.abs(grounded - surface)[resting].mean() < 0.03
    assert grounded.min() >= -1e-9


def test_planted_feet_are_found_in_the_image_when_the_depth_jitters(walk):
    """Root motion's depth from one camera jitters by tens of centimetres; in the world that
    reads as a moving foot, in the image a planted foot stands still."""
    camera, pixels = walk
    k = Intrinsics.from_focal_35mm(*IMAGE_SIZE, DEFAULT_FOCAL_35MM)
    truth = root_motion.place_in_world(camera - camera[:, :1], FPS, camera[:, 0]).joints
    planted = foot_lock.detect_contacts(truth, FPS)
    jittered = camera[:, 0] + np.random.default_rng(3).normal(scale=0.15, size=len(camera))[:, None] * [0, 0, 1]
    placed = root_motion.place_in_world(camera - camera[:, :1], FPS, jittered).joints
    speed = root_motion.image_ankle_speed(pixels, np.ones(pixels.shape[:2]), jittered[:, 2], k.fx, FPS)
    from_image = foot_lock.detect_contacts(placed, FPS, speed=speed)
    from_world = foot_lock.detect_contacts(placed, FPS)
    agree = lambda found: (found == planted).mean()  # noqa: E731
    assert agree(from_image) > 0.85 and agree(from_image) > agree(from_world) + 0.1, (agree(from_image), agree(from_world))
    unseen = root_motion.image_ankle_speed(pixels, np.zeros(pixels.shape[:2]), jittered[:, 2], k.fx, FPS)
    assert not foot_lock.detect_contacts(placed, FPS, speed=unseen).any()


def test_foot_lock_reduces_skate_and_keeps_lengths(walk, lifted):
    camera, pixels = walk
    lengths = fit.bone_lengths(lifted)
    fitted = skeleton.apply_bone_lengths(smoothing.smooth_joints(lifted, 0.5, FPS), lengths)
    trajectory = root_motion.root_trajectory(fitted, pixels, np.ones(pixels.shape[:2]), CAMERA, FPS)
    placed = root_motion.place_in_world(fitted, FPS, trajectory).joints
    contacts = foot_lock.detect_contacts(placed, FPS)
    assert contacts.any(0).all()  # both feet step during a walk
    before = foot_lock.foot_skate(placed, contacts)
    locked = foot_lock.lock_feet(placed, contacts, FPS)
    after = foot_lock.foot_skate(locked, contacts)
    assert after < 0.25 * before
    per_frame = _bone_lengths_per_frame(locked)
    assert np.abs(per_frame - per_frame[0]).max() < 1e-6
    # Hips and upper body are untouched.
    np.testing.assert_array_equal(locked[:, [0, 1, 4, 7, 8]], placed[:, [0, 1, 4, 7, 8]])


def test_two_bone_ik_reaches_and_clamps():
    hip = np.zeros((2, 3))
    knee = np.array([[0.0, -0.1, -0.4], [0.0, -0.1, -0.4]])
    target = np.array([[0.1, -0.2, -0.7], [0.0, 0.0, -2.0]])  # reachable, out of reach
    new_knee, new_ankle = foot_lock.two_bone_ik(hip, knee, target, 0.45, 0.44)
    np.testing.assert_allclose(new_ankle[0], target[0], atol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(new_knee, axis=-1), 0.45, atol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(new_ankle - new_knee, axis=-1), 0.44, atol=1e-6)
    assert new_ankle[1, 2] == pytest.approx(-0.89, abs=1e-5)


def test_smoothing_and_gap_filling():
    rng = np.random.default_rng(2)
    signal = np.sin(np.linspace(0, 4 * np.pi, 300))[:, None]
    noisy = signal + rng.normal(scale=0.1, size=signal.shape)
    smoothed = smoothing.smooth_joints(noisy[:, :, None].repeat(3, -1), 1.0, FPS)[:, :, 0]
    assert np.abs(smoothed - signal).mean() < 0.5 * np.abs(noisy - signal).mean()
    np.testing.assert_array_equal(smoothing.smooth_joints(noisy[:, :, None], 0.0, FPS)[:, :, 0], noisy)
    valid = np.ones(300, bool)
    valid[100:120] = False
    valid[:5] = False
    filled = temporal.fill_gaps(np.where(valid[:, None], signal, np.nan), valid)
    assert np.isfinite(filled).all()
    np.testing.assert_allclose(filled[:5], np.repeat(signal[5:6], 5, axis=0))
    with pytest.raises(ValueError, match="strength"):
        smoothing.smooth_joints(noisy[:, :, None], 2.0, FPS)
    with pytest.raises(ValueError, match="no valid frame"):
        temporal.fill_gaps(signal, np.zeros(300, bool))


@pytest.mark.slow  # a long clip (seconds)
def test_long_clip_keys_are_compact_and_continuous():
    """100,000 frames (about 28 minutes at 60 fps) through fit and rotations."""
    standing = rig.build_rest_skeleton(np.array([0, .13, .45, .44, .13, .45, .44, .24, .25, .12, .12,
                                                 .15, .28, .25, .15, .28, .25])).joints
    rng = np.random.default_rng(3)
    count = 100_000
    joints = standing[None] + temporal.gaussian_smooth(rng.normal(scale=0.05, size=(count, 17, 3)), 3.0)
    lengths = fit.bone_lengths(joints)
    fitted = skeleton.apply_bone_lengths(joints, lengths)
    quaternions, _ = bone_rotations.pose_from_joints(fitted, rig.build_rest_skeleton(lengths))
    assert quaternions.dtype == np.float32 and quaternions.nbytes == count * 17 * 4 * 4
    assert (quaternions[1:] * quaternions[:-1]).sum(-1).min() >= 0
