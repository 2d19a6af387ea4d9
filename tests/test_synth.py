"""Virtual cameras, the occlusion/detector simulation on constructed scenes, and the sampler."""
from __future__ import annotations

import numpy as np
import pytest

from repose_core.features import lifter_features
from repose_core.skeleton import JOINT_INDEX as J, NUM_JOINTS
from train.synth.cameras import CameraConfig, sample_cameras
from train.synth.occlusion import OcclusionConfig, self_occlusion, simulate_detector, smooth_noise
from train.synth.sampler import (
    BodyConfig, SyntheticSampler, build_validation_set, validation_window_clips, vary_body,
)

# A person standing 4 m in front of the camera, facing it (camera frame: x right, y down, z
# forward). Facing the camera, the person's left is on the image's right.
STANDING = {
    "pelvis": (0, 0, 4), "r_hip": (-0.1, 0, 4), "l_hip": (0.1, 0, 4),
    "r_knee": (-0.1, 0.45, 4), "l_knee": (0.1, 0.45, 4),
    "r_ankle": (-0.1, 0.9, 4), "l_ankle": (0.1, 0.9, 4),
    "spine": (0, -0.25, 4), "thorax": (0, -0.5, 4), "neck_nose": (0, -0.68, 3.9),
    "head": (0, -0.8, 4),
    "l_shoulder": (0.18, -0.5, 4), "l_elbow": (0.26, -0.22, 4), "l_wrist": (0.28, 0.05, 4),
    "r_shoulder": (-0.18, -0.5, 4), "r_elbow": (-0.26, -0.22, 4), "r_wrist": (-0.28, 0.05, 4),
}


def scene(**moved) -> np.ndarray:
    pose = dict(STANDING, **moved)
    return np.array([pose[name] for name in J], dtype=np.float64)


def turned(pose: np.ndarray, degrees: float) -> np.ndarray:
    """Turn the person about the vertical through the pelvis (positive: left side forward)."""
    a = np.radians(degrees)
    rel = pose - pose[J["pelvis"]]
    out = rel.copy()
    out[:, 0] = rel[:, 0] * np.cos(a) + rel[:, 2] * np.sin(a)
    out[:, 2] = -rel[:, 0] * np.sin(a) + rel[:, 2] * np.cos(a)
    return out + pose[J["pelvis"]]


def hidden_names(pose: np.ndarray) -> set[str]:
    return {name for name, h in zip(J, self_occlusion(pose)) if h}


def test_standing_person_facing_the_camera_is_fully_visible():
    assert hidden_names(scene()) == set()


def test_hand_behind_the_torso_is_occluded_in_front_is_not():
    behind = scene(r_elbow=(-0.15, -0.25, 4.2), r_wrist=(0.0, -0.25, 4.3))
    front = scene(r_elbow=(-0.15, -0.25, 3.8), r_wrist=(0.0, -0.25, 3.7))
    assert "r_wrist" in hidden_names(behind)
    assert hidden_names(front) == set()


def test_side_view_hides_the_far_side_and_back_view_the_nose():
    # Arms raised, so that in profile the near arm does not hang in front of the near hip.
    arms_up = scene(l_elbow=(0.2, -0.8, 4), l_wrist=(0.2, -1.1, 4),
                    r_elbow=(-0.2, -0.8, 4), r_wrist=(-0.2, -1.1, 4))
    assert hidden_names(arms_up) == set()
    side = hidden_names(turned(arms_up, 90))      # left side towards the camera
    assert {"r_hip", "r_knee", "r_shoulder"} <= side
    assert not {"l_hip", "l_knee", "l_ankle", "l_shoulder", "l_elbow", "l_wrist"} & side
    # With the arms hanging, the near arm hides the near hip in profile, as it does on video.
    assert "l_hip" in hidden_names(turned(scene(), 90))
    back = hidden_names(turned(scene(), 180))
    assert "neck_nose" in back
    assert "neck_nose" not in hidden_names(scene())


def test_self_occlusion_is_vectorised_over_batches():
    poses = np.stack([scene(), turned(scene(), 90), turned(scene(), 180)])
    batch = self_occlusion(np.broadcast_to(poses[:, None], (3, 5, NUM_JOINTS, 3)))
    assert batch.shape == (3, 5, NUM_JOINTS)
    for k in range(3):
        assert (batch[k] == self_occlusion(poses[k])).all()


def test_smooth_noise_has_unit_variance_and_is_smooth():
    rng = np.random.default_rng(0)
    noise = smooth_noise(rng, (400, 64, 3), sigma=6.0)
    assert noise.std() == pytest.approx(1.0, abs=0.05)
    lag1 = (noise[:, 1:] * noise[:, :-1]).mean() / noise.var()
    assert lag1 > 0.95
    assert smooth_noise(rng, (2, 10), sigma=0).shape == (2, 10)


def test_cameras_cover_the_requested_ranges():
    rng = np.random.default_rng(1)
    targets = rng.normal(0, 1, (2000, 3))
    cams = sample_cameras(rng, targets, CameraConfig())
    offset = cams.C - targets
    dist = np.linalg.norm(offset, axis=-1)
    assert dist.min() >= 2.5 and dist.max() <= 7.0 and dist.max() > 6.5 and dist.min() < 3.0
    elevation = np.degrees(np.arcsin(offset[:, 1] / dist))
    assert elevation.min() >= -10.0 - 1e-6 and elevation.max() <= 30.0 + 1e-6
    azimuth = np.degrees(np.arctan2(offset[:, 0], offset[:, 2]))
    assert np.histogram(azimuth, bins=8, range=(-180, 180))[0].min() > 150    # all around
    portrait = cams.size[:, 1] > cams.size[:, 0]
    assert 0.2 < portrait.mean() < 0.8
    # The target is in front of every camera, and a 2 m tall person fits in the image height.
    assert (np.einsum("bij,bj->bi", cams.R, targets - cams.C)[:, 2] > 0).all()
    assert (cams.focal * 2.0 / (dist - 0.5) <= cams.size[:, 1] + 1e-6).all()
    np.testing.assert_allclose(np.einsum("bij,bkj->bik", cams.R, cams.R),
                               np.broadcast_to(np.eye(3), cams.R.shape), atol=1e-9)


def test_sampler_batch_contract(small_mocap):
    sampler = SyntheticSampler(small_mocap, window=81, batch_size=16, occlusion=None, seed=3)
    batch = sampler.sample()
    assert set(batch) >= {"inputs", "target", "occluded", "confidence"}
    assert batch["inputs"].shape == (16, 81, 17, 3) and batch["inputs"].dtype == np.float32
    assert batch["target"].shape == (16, 81, 17, 3) and batch["target"].dtype == np.float32
    assert batch["occluded"].shape == (16, 81, 17) and batch["occluded"].dtype == bool
    assert batch["confidence"].shape == (16, 81, 17) and batch["confidence"].dtype == np.float32
    assert np.isfinite(batch["inputs"]).all() and np.isfinite(batch["target"]).all()
    assert (batch["target"][:, :, J["pelvis"]] == 0).all()
    assert not batch["occluded"].any() and (batch["confidence"] == 1).all()
    # Clean 2D is the projection of the target: pelvis-centred features point the same way as
    # the pelvis-relative camera-frame x/y (weak perspective at 2.5-7 m), flipped or not.
    x2d = batch["inputs"][..., :2].reshape(16, -1)
    x3d = batch["target"][..., :2].reshape(16, -1)
    corr = [np.corrcoef(a, b)[0, 1] for a, b in zip(x2d, x3d)]
    assert min(corr) > 0.97
    # Person-sized targets (metres).
    assert 0.3 < np.abs(batch["target"]).max(axis=(1, 2, 3)).min()
    assert np.abs(batch["target"]).max() < 2.5


def test_up_direction_is_the_worlds_up_seen_by_each_camera(small_mocap):
    """``up`` is one unit vector per window (a static camera), and mirrored windows mirror it
    with their 3D: the people walk and dance upright, so their torsos point along it."""
    batch = SyntheticSampler(small_mocap, window=27, batch_size=64, occlusion=None, seed=5).sample()
    up = batch["up"]
    assert up.shape == (64, 27, 3) and up.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(up, axis=-1), 1.0, atol=1e-6)
    np.testing.assert_array_equal(up, np.repeat(up[:, :1], 27, axis=1))
    torso = batch["target"][:, :, J["thorax"]] - batch["target"][:, :, J["pelvis"]]
    cos = (torso * up).sum(-1) / np.linalg.norm(torso, axis=-1)
    assert np.median(cos) > np.cos(np.radians(15))
    # Up points up the image (camera y is down) for the mostly level cameras.
    assert (up[..., 1] < 0).all()


def test_families_get_their_share_of_windows_and_short_clips_can_be_padded(small_mocap):
    """``clip_weights`` from ``data.family_weights``: the Daz take (13_11, 102 frames against the
    CMU takes' hundreds) gets the share asked for. A window longer than a clip skips it, unless
    ``pad_short_clips`` holds it at its ends."""
    from train.dataset import family_clip_weights

    weights = family_clip_weights(small_mocap, {"cmu_motionbuilder": 1.0, "cmu_daz": 1.0})
    sampler = SyntheticSampler(small_mocap, window=27, batch_size=4000, occlusion=None, seed=0,
                               clip_weights=weights)
    starts = sampler.rng.choice(sampler.index.starts, 4000, p=sampler.p)
    daz = np.isin(starts, sampler.index.starts[sampler.index.start_clip == 3]).mean()
    assert daz == pytest.approx(0.5, abs=0.03)
    with pytest.raises(ValueError, match="also holds"):
        family_clip_weights(small_mocap, {"cmu_motionbuilder": 1.0})
    long_window = small_mocap.clips[3].num_frames + 10
    skipping = SyntheticSampler(small_mocap, window=long_window, batch_size=2, seed=0)
    padding = SyntheticSampler(small_mocap, window=long_window, batch_size=2, seed=0, pad_short_clips=True)
    assert "13_11" not in skipping.index.clip_names and "13_11" in padding.index.clip_names
    assert padding.sample()["inputs"].shape[1] == long_window


def test_joint_placement_moves_shoulders_and_hips_along_their_lines_only():
    """Shoulder/hip shifts act like another skeleton family's joint definitions: both points of a
    pair move apart or together by the same amount along their line, the joints synthesised from
    them (pelvis, spine, thorax) and every other joint stay put, so upper arms and thighs turn."""
    world = np.broadcast_to(scene(), (256, 5, NUM_JOINTS, 3)).copy()
    body = BodyConfig(scale_range=(1.0, 1.0), bone_jitter=0.0, shoulder_shift_m=0.05, hip_shift_m=0.03)
    out = vary_body(world, np.random.default_rng(0), body)
    moved = [J[n] for n in ("l_shoulder", "r_shoulder", "l_hip", "r_hip")]
    still = [j for j in range(NUM_JOINTS) if j not in moved]
    np.testing.assert_allclose(out[:, :, still], world[:, :, still], atol=1e-12)
    for (left, right), limit in ((("l_shoulder", "r_shoulder"), 0.05), (("l_hip", "r_hip"), 0.03)):
        np.testing.assert_allclose(out[:, :, [J[left], J[right]]].mean(2),
                                   world[:, :, [J[left], J[right]]].mean(2), atol=1e-12)
        half_width = 0.5 * np.linalg.norm(out[:, :, J[left]] - out[:, :, J[right]], axis=-1)
        shift = half_width - 0.5 * np.linalg.norm(world[0, 0, J[left]] - world[0, 0, J[right]])
        assert np.abs(shift).max() <= limit + 1e-12
        assert shift.min() < -0.6 * limit and shift.max() > 0.6 * limit  # in and out, widely
        np.testing.assert_allclose(shift, np.repeat(shift[:, :1], 5, axis=1))  # one per window
        line = out[:, :, J[left]] - out[:, :, J[right]]  # along the line: no turn of it
        np.testing.assert_allclose(np.cross(line, world[:, :, J[left]] - world[:, :, J[right]]), 0, atol=1e-12)
    # The default (no shifts) leaves shoulders on their bones: upper arms keep their direction.
    varied = vary_body(world, np.random.default_rng(0), BodyConfig())
    arm = lambda x: x[:, :, J["l_elbow"]] - x[:, :, J["l_shoulder"]]
    np.testing.assert_allclose(np.cross(arm(varied), arm(world)), 0, atol=1e-12)


@pytest.mark.parametrize("limb, chain", [("arm", ("shoulder", "elbow", "wrist")),
                                         ("leg", ("hip", "knee", "ankle"))])
def test_limb_rotation_turns_whole_limbs_with_the_body(limb, chain):
    """Each arm (leg) turns rigidly about its shoulder (hip): lengths and elbow (knee) angle kept,
    by at most the configured angle, and by the same turn in the torso's axes while the person
    turns round; no other joint moves."""
    world = np.stack([turned(scene(), deg) for deg in (0, 30, 60, 90, 120)])[None]  # (1, 5, 17, 3)
    world = np.repeat(world, 128, axis=0)
    body = BodyConfig(scale_range=(1.0, 1.0), bone_jitter=0.0, **{f"{limb}_rotation_deg": 30.0})
    out = vary_body(world, np.random.default_rng(0), body)
    moved = [J[f"{s}_{j}"] for s in "lr" for j in chain[1:]]
    np.testing.assert_allclose(np.delete(out, moved, axis=2), np.delete(world, moved, axis=2), atol=1e-12)
    for side in "lr":
        root, middle, end = (J[f"{side}_{j}"] for j in chain)
        upper = [x[:, :, middle] - x[:, :, root] for x in (world, out)]
        lower = [x[:, :, end] - x[:, :, middle] for x in (world, out)]
        np.testing.assert_allclose(np.linalg.norm(upper[1], axis=-1), np.linalg.norm(upper[0], axis=-1))
        np.testing.assert_allclose(np.linalg.norm(lower[1], axis=-1), np.linalg.norm(lower[0], axis=-1))
        bend = [(u * f).sum(-1) for u, f in zip(upper, lower)]
        np.testing.assert_allclose(bend[1], bend[0], atol=1e-12)
        cos = (upper[0] * upper[1]).sum(-1) / np.linalg.norm(upper[0], axis=-1) ** 2
        turn = np.degrees(np.arccos(np.clip(cos, -1, 1)))
        assert turn.max() <= 30 + 1e-6 and turn.max() > 20 and np.median(turn) > 5
        np.testing.assert_allclose(turn, np.repeat(turn[:, :1], 5, axis=1), atol=1e-6)  # body-fixed
    assert not np.allclose(out[:, 0, moved[0]], out[0, 0, moved[0]])  # a turn per window


def test_sampler_is_deterministic_per_seed(small_mocap):
    a = SyntheticSampler(small_mocap, 27, 8, OcclusionConfig(), seed=5).sample()
    b = SyntheticSampler(small_mocap, 27, 8, OcclusionConfig(), seed=5).sample()
    c = SyntheticSampler(small_mocap, 27, 8, OcclusionConfig(), seed=6).sample()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    assert not np.array_equal(a["target"], c["target"])


def projected_windows(clips, count: int, rng: np.random.Generator):
    """``count`` random 64-frame windows seen by random cameras: camera-frame joints, their
    pixels and the cameras, as ``synthesise`` has them before the detector simulation."""
    from repose_core.camera import project, world_to_camera
    sampler = SyntheticSampler(clips, 64, count, occlusion=None, seed=2, body=None, flip=False)
    world = sampler.index.gather(rng.choice(sampler.index.starts, count))
    cams = sample_cameras(rng, world[:, 32, J["pelvis"]])
    cam = world_to_camera(world, cams.R[:, None, None], cams.C[:, None, None])
    c = cams.principal
    pixels = project(cam, cams.focal[:, None, None], cams.focal[:, None, None],
                     c[:, None, None, 0], c[:, None, None, 1])
    return cam, pixels, cams


def test_simulated_detector_follows_the_occlusion_mask(small_mocap):
    config = OcclusionConfig(drop_probability=0.5)
    rng = np.random.default_rng(0)
    cam, pixels, cams = projected_windows(small_mocap, 128, rng)
    noisy, confidence, occluded = simulate_detector(cam, pixels, cams, rng, config)
    assert 0.05 < occluded.mean() < 0.5
    # Errors relative to the person's 2D size: large on occluded joints, small on visible ones.
    size = np.linalg.norm(pixels.max(axis=(1, 2)) - pixels.min(axis=(1, 2)), axis=-1)
    err = np.linalg.norm(noisy - pixels, axis=-1) / size[:, None, None]
    direct = [j for j in range(NUM_JOINTS) if j not in (J["pelvis"], J["spine"], J["thorax"])]
    vis, occ = ~occluded[..., direct], occluded[..., direct]
    assert np.median(err[..., direct][vis]) < 0.01
    assert np.median(err[..., direct][occ]) > 3 * np.median(err[..., direct][vis])
    # Confidence like MediaPipe visibility: high when seen, low when not.
    assert np.median(confidence[vis.nonzero()[:2] + (np.array(direct)[vis.nonzero()[2]],)]) > 0.9
    assert confidence.min() >= 0 and confidence.max() <= 1
    assert confidence[occluded].mean() < 0.5
    # Dropped frames: every joint occluded, confidence 0, keypoints still finite (filled).
    dropped = (confidence == 0).all(-1)
    assert dropped.any() and occluded[dropped].all() and np.isfinite(noisy).all()
    # The synthesised joints are built from the corrupted sources, as the MediaPipe mapping does.
    np.testing.assert_allclose(noisy[..., J["pelvis"], :],
                               noisy[..., [J["l_hip"], J["r_hip"]], :].mean(-2), atol=1e-6)
    np.testing.assert_allclose(confidence[..., J["thorax"]],
                               confidence[..., [J["l_shoulder"], J["r_shoulder"]]].min(-1))


def test_clean_windows_flag_nothing_and_keep_only_jitter(small_mocap):
    """clean_probability: that share of windows is clean 2D (all visible, confident, jittered
    only); the rest go through the full detector simulation."""
    cam, pixels, cams = projected_windows(small_mocap, 256, np.random.default_rng(0))
    size = np.linalg.norm(pixels.max(axis=(1, 2)) - pixels.min(axis=(1, 2)), axis=-1)

    noisy, confidence, occluded = simulate_detector(
        cam, pixels, cams, np.random.default_rng(1), OcclusionConfig(clean_probability=1.0))
    assert not occluded.any() and confidence.min() > 0.85 and confidence.mean() > 0.97
    err = np.linalg.norm(noisy - pixels, axis=-1) / size[:, None, None]
    assert np.percentile(err, 99) < 0.02

    _, _, occluded = simulate_detector(
        cam, pixels, cams, np.random.default_rng(1), OcclusionConfig(clean_probability=0.5))
    _, _, always = simulate_detector(cam, pixels, cams, np.random.default_rng(1), OcclusionConfig())
    flagged = occluded.any(axis=(1, 2))
    assert always.any(axis=(1, 2)).mean() > 0.9      # nearly every window has some occlusion
    assert 0.3 < flagged.mean() < 0.7


def test_occluded_error_drifts_smoothly_visible_jitter_does_not():
    rng = np.random.default_rng(4)
    b, t = 64, 60
    cam = np.broadcast_to(scene(), (b, t, NUM_JOINTS, 3)).copy()
    pixels = 1000 * cam[..., :2] / cam[..., 2:] + 500
    from train.synth.cameras import CameraBatch
    cams = CameraBatch(np.broadcast_to(np.eye(3), (b, 3, 3)), np.zeros((b, 3)),
                       np.full(b, 1000.0), np.tile([1000, 1000], (b, 1)))
    config = OcclusionConfig(occluder_probability=0, drop_probability=0)
    hand_behind = scene(r_elbow=(-0.15, -0.25, 4.2), r_wrist=(0.0, -0.25, 4.3))
    cam[:, :, J["r_wrist"]] = hand_behind[J["r_wrist"]]
    cam[:, :, J["r_elbow"]] = hand_behind[J["r_elbow"]]
    pixels = 1000 * cam[..., :2] / cam[..., 2:] + 500
    noisy, confidence, occluded = simulate_detector(cam, pixels, cams, rng, config)
    assert occluded[..., J["r_wrist"]].all() and not occluded[..., J["l_wrist"]].any()
    err = noisy - pixels

    def lag1(e):
        e = e - e.mean(axis=1, keepdims=True)
        return (e[:, 1:] * e[:, :-1]).sum() / (e * e).sum()

    assert lag1(err[:, :, J["r_wrist"]]) > 0.8
    assert abs(lag1(err[:, :, J["l_wrist"]])) < 0.2
    assert confidence[..., J["r_wrist"]].mean() < 0.5
    assert np.percentile(confidence[..., J["r_wrist"]], 95) < 0.7
    assert confidence[..., J["l_wrist"]].mean() > 0.9


def test_validation_set_is_fixed_and_variants_share_windows(small_mocap):
    a = build_validation_set(small_mocap, window=27, num_windows=40, seed=0)
    b = build_validation_set(small_mocap, window=27, num_windows=40, seed=0)
    assert set(a) == {"clean", "occluded"}
    for variant in a:
        for key in a[variant]:
            np.testing.assert_array_equal(a[variant][key], b[variant][key])
    np.testing.assert_array_equal(a["clean"]["target"], a["occluded"]["target"])
    assert not a["clean"]["occluded"].any() and a["occluded"]["occluded"].any()
    assert a["clean"]["inputs"].shape == (40, 27, 17, 3)
    assert not np.array_equal(a["clean"]["inputs"], a["occluded"]["inputs"])
    # Each window is named after its take: BVH bones are rigid, so a window's bone lengths are
    # its take's, and no other take of these four people is as close; every take is sampled.
    names = validation_window_clips(small_mocap, window=27, num_windows=40)
    takes = {clip.name: clip.joints for clip in small_mocap.clips}
    bones = [(J["l_hip"], J["l_knee"]), (J["l_knee"], J["l_ankle"]), (J["l_shoulder"], J["l_elbow"])]
    lengths = lambda x: np.array([np.linalg.norm(x[..., c, :] - x[..., p, :], axis=-1).mean() for p, c in bones])
    assert len(names) == 40 and set(names) == set(takes)
    for target, name in zip(a["clean"]["target"], names):
        nearest = min(takes, key=lambda take: np.abs(lengths(target) - lengths(takes[take])).max())
        assert nearest == name


def test_window_longer_than_every_clip_is_an_error(small_mocap):
    with pytest.raises(ValueError, match="no clip has 100000 frames"):
        SyntheticSampler(small_mocap, window=100_000, batch_size=2)


def test_features_are_the_shared_definition(small_mocap):
    """The sampler's inputs are exactly lifter_features of its 2D (scale-free: one image size)."""
    batch = SyntheticSampler(small_mocap, 9, 4, None, seed=0).sample()
    # Re-applying the features to features (as pixels in any image) is the identity on x/y:
    # they are already pelvis-centred with unit RMS radius.
    again = lifter_features(batch["inputs"][..., :2] * 100 + 500, batch["confidence"], (1000, 1000))
    np.testing.assert_allclose(again, batch["inputs"], atol=1e-4)


def test_rolling_the_features_is_filming_with_the_camera_rolled(small_mocap):
    """``roll_features`` and ``rolled_xy`` (the rendered windows' roll augmentation) give what a
    camera rolled about its optical axis really films: the features of its projection, and the
    3D and the world's up in its frame."""
    from repose_core.camera import project
    from repose_core.features import roll_features, rolled_xy

    rng = np.random.default_rng(5)
    cam, pixels, cams = projected_windows(small_mocap, 6, rng)
    angle = np.radians(rng.uniform(-20, 20, len(cam)))
    c, s = np.cos(angle), np.sin(angle)
    roll = np.zeros((len(cam), 3, 3))
    roll[:, 0, 0], roll[:, 0, 1], roll[:, 1, 0], roll[:, 1, 1], roll[:, 2, 2] = c, s, -s, c, 1.0
    rolled_cam = np.einsum("bij,btkj->btki", roll, cam)
    p = cams.principal
    rolled_pixels = project(rolled_cam, cams.focal[:, None, None], cams.focal[:, None, None],
                            p[:, None, None, 0], p[:, None, None, 1])
    confidence = np.ones(cam.shape[:-1])
    for b, (width, height) in enumerate(cams.size):
        size = (int(width), int(height))
        filmed = lifter_features(rolled_pixels[b], confidence[b], size)
        np.testing.assert_allclose(roll_features(lifter_features(pixels[b], confidence[b], size), angle[b]),
                                   filmed, atol=1e-5)
    np.testing.assert_allclose(rolled_xy(cam, angle[:, None, None]), rolled_cam, atol=1e-9)
    up = cams.R[:, :, 1]   # the world's up (Y) in each camera's frame
    np.testing.assert_allclose(rolled_xy(up, angle), np.einsum("bij,bj->bi", roll, up), atol=1e-12)
    # MediaPipe's 3D (channels 3-5 of the world feature set) turns with the image; ``present`` stays.
    from repose_core.features import with_world
    world_features = with_world(lifter_features(pixels[0], confidence[0], tuple(int(v) for v in cams.size[0])),
                                cam[0] - cam[0, :, :1])
    rolled_world = roll_features(world_features, angle[0])
    np.testing.assert_allclose(rolled_world[..., 3:6], rolled_xy(world_features[..., 3:6], angle[0]), atol=1e-6)
    np.testing.assert_array_equal(rolled_world[..., 6], world_features[..., 6])


def test_windows_lying_or_upside_down_are_turned_upright_as_the_runtime_lifts_them(shared_data, small_mocap):
    """``synth.upright_turn``: DeepMimic's cartwheel and roll pass through lying and upside-down
    bodies; their windows come out turned about the optical axis until the centre frame stands
    up (``runtime.upright_turns``), 2D, 3D and up direction by the same angle, as a camera rolled
    so would film them. CMU's walks and dances are left as they were."""
    from repose_core.features import roll_features, rolled_xy
    from repose_core.runtime import upright_turns
    from train.data.mocap import load_library
    from train.dataset import turned_upright

    acrobatics = load_library([shared_data / "mocap" / "deepmimic" / f"humanoid3d_{m}.txt" for m in ("cartwheel", "roll")])
    for library, some_turned in ((acrobatics, True), (small_mocap, False)):
        batch = SyntheticSampler(library, window=27, batch_size=64, occlusion=None, seed=1).sample()
        original = {key: value.copy() for key, value in batch.items()}
        turns = np.array([upright_turns(window)[13] for window in batch["inputs"]])
        turned_upright(batch)
        assert turns.any() == some_turned
        for k, turn in enumerate(turns):
            angle = np.radians(turn)
            np.testing.assert_allclose(batch["inputs"][k], roll_features(original["inputs"][k], angle), atol=1e-5)
            np.testing.assert_allclose(batch["target"][k], rolled_xy(original["target"][k], angle), atol=1e-6)
            np.testing.assert_allclose(batch["up"][k], rolled_xy(original["up"][k], angle), atol=1e-6)
            assert upright_turns(batch["inputs"][k])[13] == 0
