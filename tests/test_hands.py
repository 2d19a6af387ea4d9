"""Hand detection (repose_core.detect.hands): the shipped HandLandmarker bundle, and the followed
person's hands found on the bundled clip (a man balancing on one leg and swinging his arms)."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from repose_core.detect import detect_video, detector
from repose_core.detect.cache import cache_key
from repose_core.detect.hand_landmarker import DEFAULT_HAND_TASK_PATH
from repose_core.detect.hands import GATE, LEFT, RIGHT, chirality, consistent_chirality
from repose_core.detect.mapping import L_HIP, L_SHOULDER, L_WRIST, R_HIP, R_SHOULDER, R_WRIST
from repose_core.detect.result import Detection2D
from repose_core.detect.task_bundle import build_hand_task

# Detecting a real clip takes seconds: tests that do are slow (-m "not slow" skips them).
detects = pytest.mark.slow
BODY_WRIST = {LEFT: L_WRIST, RIGHT: R_WRIST}
WRIST, MIDDLE_BASE = 0, 9


def seen(det: Detection2D) -> np.ndarray:
    """(T, 2) whether each hand was found."""
    return det.hand_confidence > 0


@detects
def test_hand_task_bundle_rebuilds_identically_and_loads_offline(tmp_path, example_video, example_hands):
    built = build_hand_task(tmp_path / "hand_landmarker.task")
    assert built.read_bytes() == DEFAULT_HAND_TASK_PATH.read_bytes(), \
        "the shipped hand bundle is not what the build step produces; rebuild and commit it"
    # Detecting with the rebuilt bundle (no cache, the first 40 frames) finds the hands the
    # shipped one found. Frames near the end of the shorter run are left out: the clean-up
    # over time (depth sense, outliers) looks up to 0.2 s ahead; it never moves a hand in x, y.
    first = detect_video(example_video, end=40, hands=True, hand_task_path=built)
    rows = slice(0, 25)
    np.testing.assert_array_equal(seen(first)[rows], seen(example_hands)[rows])
    assert seen(first)[rows].any()
    np.testing.assert_allclose(first.hands[rows, :, :, :2], example_hands.hands[rows, :, :, :2], atol=0.5)


@detects
def test_both_hands_found_each_at_its_own_wrist(example_hands):
    det = example_hands
    assert det.has_hands
    assert det.hands.shape == det.hand_world.shape == (100, 2, 21, 3)
    assert det.hand_confidence.shape == (100, 2)
    found = seen(det)
    # He swings both arms: each hand is in view and sharp enough for much of the clip.
    assert found[:, LEFT].mean() > 0.35 and found[:, RIGHT].mean() > 0.5, found.mean(0)
    assert np.isfinite(det.hands[found]).all() and np.isfinite(det.hand_world[found]).all()
    assert (det.hand_confidence[found] <= 1.0).all()
    for side, other in ((LEFT, RIGHT), (RIGHT, LEFT)):
        rows = found[:, side]
        wrist = det.hands[rows, side, WRIST, :2]
        own = det.landmarks[rows, BODY_WRIST[side], :2]
        points = det.landmarks[rows, :, :2]
        torso = np.linalg.norm(points[:, [L_SHOULDER, R_SHOULDER]].mean(1)
                               - points[:, [L_HIP, R_HIP]].mean(1), axis=-1)
        # Left never becomes right: each hand's wrist is the body's wrist of its side (the
        # detection keeps a hand within GATE hand lengths of it, a hand about 0.4 torsos) ...
        assert (np.linalg.norm(wrist - own, axis=-1) < GATE * 0.5 * torso).all()
        # ... and nearer it than the other wrist, wherever the two wrists are apart.
        far = det.landmarks[rows, BODY_WRIST[other], :2]
        apart = np.linalg.norm(own - far, axis=-1) > 0.3 * torso
        assert (np.linalg.norm(wrist - own, axis=-1) < np.linalg.norm(wrist - far, axis=-1))[apart].all()
        # World landmarks are a hand in metres (wrist to the middle finger's base 6-12 cm) of its
        # own side in 3D (not the depth-mirrored hand MediaPipe often gives from behind).
        palm = np.linalg.norm(det.hand_world[rows, side, MIDDLE_BASE] - det.hand_world[rows, side, WRIST], axis=-1)
        assert ((palm > 0.06) & (palm < 0.12)).all(), (palm.min(), palm.max())
        assert np.median(chirality(det.hand_world[rows, side], side)) > 0


@detects
def test_hands_leave_the_body_detection_unchanged(example_detection, example_hands):
    assert not example_detection.has_hands and example_detection.hands is None
    for name in ("keypoints", "confidence", "landmarks", "world_landmarks", "found", "frame_indices"):
        np.testing.assert_array_equal(getattr(example_hands, name), getattr(example_detection, name))


@detects
def test_hands_are_cached_beside_the_body_only_detection(example_hands, example_video, detection_cache,
                                                        monkeypatch, tmp_path):
    def no_inference(*args, **kwargs):
        raise AssertionError("a cache hit must not run MediaPipe")

    monkeypatch.setattr(detector, "PoseLandmarker", no_inference)
    monkeypatch.setattr(detector, "HandFinder", no_inference)
    again = detect_video(example_video, cache_dir=detection_cache, hands=True)
    for name in ("hands", "hand_world", "hand_confidence"):
        np.testing.assert_array_equal(getattr(again, name), getattr(example_hands, name))
    assert cache_key(example_video, {"stride": 1}) != cache_key(example_video, {"stride": 1, "hands": True})
    # A file with hands round-trips; one without them is still the body-only format.
    path = example_hands.save(tmp_path / "with_hands.npz")
    loaded = Detection2D.load(path)
    np.testing.assert_array_equal(loaded.hand_world, example_hands.hand_world)
    body_only = replace(example_hands, hands=None, hand_world=None, hand_confidence=None)
    with np.load(body_only.save(tmp_path / "body.npz")) as data:
        assert int(data["format_version"]) == 2 and "hands" not in data
    with pytest.raises(ValueError, match="all or none"):
        replace(example_hands, hands=None)


@detects
def test_depth_mirrored_frames_are_turned_back(example_hands):
    # MediaPipe gives a hand seen from behind as its depth-mirror now and then; mirror some
    # frames of the real track on purpose: they come back as they were.
    image, world, confidence = (np.array(a) for a in (example_hands.hands, example_hands.hand_world,
                                                      example_hands.hand_confidence))
    rows = np.flatnonzero(seen(example_hands)[:, RIGHT])
    mirrored = rows[5:len(rows):7]
    assert len(mirrored) >= 5
    world[mirrored, RIGHT, :, 2] *= -1.0
    image[mirrored, RIGHT, :, 2] *= -1.0
    _, fixed, _ = consistent_chirality(image, world, confidence)
    np.testing.assert_allclose(fixed[rows, RIGHT], example_hands.hand_world[rows, RIGHT], atol=1e-6)


@detects
def test_cli_with_hands_writes_them_and_draws_them(tmp_path, example_video, example_hands, detection_cache,
                                                   capsys):
    from repose_core.detect.__main__ import main as cli_main
    from repose_core.detect.overlay import BONE_RIGHT_BGR, draw_hand

    out = tmp_path / "keypoints.npz"
    code = cli_main([str(example_video), "-o", str(out), "--hands", "--cache-dir", str(detection_cache)])
    assert code == 0
    np.testing.assert_array_equal(Detection2D.load(out).hand_world, example_hands.hand_world)
    left, right = seen(example_hands).mean(0)
    assert f"hands: left found in {left:.1%} of the frames, right in {right:.1%}" in capsys.readouterr().out
    # The overlay draws a found hand's 20 bones in its side's colour, and nothing for a lost one.
    image = np.zeros((1920, 1080, 3), np.uint8)
    frame = int(np.flatnonzero(seen(example_hands)[:, RIGHT])[0])
    draw_hand(image, example_hands.hands[frame, RIGHT, :, :2], BONE_RIGHT_BGR)
    drawn = (image == BONE_RIGHT_BGR).all(-1)
    xs, ys = np.flatnonzero(drawn.any(0)), np.flatnonzero(drawn.any(1))
    hand = example_hands.hands[frame, RIGHT, :, :2]
    assert abs(xs.min() - hand[:, 0].min()) <= 2 and abs(ys.max() - hand[:, 1].max()) <= 2
    untouched = np.zeros_like(image)
    draw_hand(untouched, np.full((21, 2), np.nan), BONE_RIGHT_BGR)
    assert not untouched.any()


@detects
def test_resampling_carries_the_hands(example_hands):
    from repose_core.detect import resample_constant_rate

    half = resample_constant_rate(example_hands, example_hands.fps / 2)  # every other frame
    assert half.has_hands and len(half) == 50
    for name in ("hands", "hand_world", "hand_confidence"):
        np.testing.assert_array_equal(getattr(half, name), getattr(example_hands, name)[::2])
    # Odd frames half a frame late: each odd new time falls 2/3 of the way from frame k - 1 to
    # frame k; a hand there is interpolated so, and seen only if seen in both.
    late = replace(example_hands, times=example_hands.times + 0.5 / example_hands.fps * (np.arange(100) % 2))
    between = resample_constant_rate(late, example_hands.fps)
    odd = np.arange(1, 99, 2)
    both = seen(example_hands)[odd - 1] & seen(example_hands)[odd]
    np.testing.assert_array_equal(seen(between)[odd], both)
    np.testing.assert_allclose(between.hand_world[odd][both], (
        example_hands.hand_world[odd - 1] / 3 + 2 * example_hands.hand_world[odd] / 3)[both], atol=1e-5)
