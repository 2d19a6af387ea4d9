"""repose_core.detect on the real shared videos: detection, tracking, cache, bad input, CLI."""
from __future__ import annotations

import re
import struct
from pathlib import Path

import cv2
import numpy as np
import pytest

from repose_core.detect import (Detection2D, DetectionCancelled, VideoError, detect_video,
                                 resample_constant_rate)
from repose_core.detect import detector
from repose_core.detect.__main__ import main as cli_main
from repose_core.detect.cache import cache_key
from repose_core.detect.landmarker import DEFAULT_TASK_PATH, PoseLandmarker
from repose_core.detect.mapping import L_EAR, L_HIP, L_SHOULDER, NOSE, R_EAR, R_HIP, R_SHOULDER
from repose_core.detect.task_bundle import build_task
from repose_core.detect.tracking import PersonTracker, fill_short_gaps
from repose_core.detect.video import FrameStream, probe_video
from repose_core.skeleton import JOINT_INDEX as J

JUMP_WALK = "sports2d_jump_walk.mp4"
# Detecting a real clip takes seconds: tests that do are slow (-m "not slow" skips them).
detects = pytest.mark.slow


# --- helpers that make real test videos from the shared footage ---------------------------------
def read_frames(path: Path, count: int) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    frames = []
    while len(frames) < count:
        ok, frame = capture.read()
        assert ok, f"{path}: could not read frame {len(frames)}"
        frames.append(frame)
    capture.release()
    return frames


def write_clip(path: Path, frames: list[np.ndarray], fps: float, fourcc: str = "mp4v") -> Path:
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (width, height))
    assert writer.isOpened(), f"OpenCV cannot write {path}"
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def set_mp4_rotation(path: Path, degrees: int) -> None:
    """Write a display rotation into the (first) track header's matrix, as phones do."""
    data = bytearray(path.read_bytes())
    box = data.find(b"tkhd")
    version = data[box + 4]
    matrix = box + 8 + (20 if version == 0 else 32) + 16  # after times/ids, layer..volume
    cos, sin = {90: (0, 1), 180: (-1, 0), 270: (0, -1)}[degrees]
    values = (cos << 16, sin << 16, 0, (-sin) << 16, cos << 16, 0, 0, 0, 1 << 30)
    data[matrix:matrix + 36] = struct.pack(">9i", *values)
    path.write_bytes(bytes(data))


def mp4_boxes(data: bytes) -> dict[bytes, tuple[int, int]]:
    boxes, i = {}, 0
    while i < len(data):
        size, kind = struct.unpack(">I4s", data[i:i + 8])
        boxes[kind] = (i, size)
        i += size
    return boxes


# --- the .task bundle ---------------------------------------------------------------------------
def test_task_bundle_rebuilds_identically_and_loads(tmp_path, example_video):
    built = build_task(tmp_path / "pose_landmarker.task")
    assert built.read_bytes() == DEFAULT_TASK_PATH.read_bytes(), \
        "the shipped bundle is not what the build step produces; rebuild and commit it"
    frame = cv2.cvtColor(read_frames(example_video, 1)[0], cv2.COLOR_BGR2RGB)
    with PoseLandmarker(built, video=False) as landmarker:
        poses = landmarker.detect(frame)
    assert len(poses) == 1
    assert poses.image.shape == (1, 33, 5) and poses.world.shape == (1, 33, 3)


def test_bad_task_path_is_named(tmp_path, example_video):
    with pytest.raises(FileNotFoundError, match="missing.task"):
        detect_video(example_video, task_path=tmp_path / "missing.task")
    not_zip = tmp_path / "model.task"
    not_zip.write_bytes(b"not a bundle")
    with pytest.raises(ValueError, match="model.task"):
        detect_video(example_video, task_path=not_zip)


# --- single person: the Pose2Sim clip -----------------------------------------------------------
@detects
def test_single_person_found_on_almost_every_frame(example_detection):
    det = example_detection
    assert len(det) == 100
    assert det.detection_rate >= 0.95
    assert det.image_size == (1080, 1920)  # portrait
    assert det.fps == pytest.approx(60.0)
    assert not det.variable_frame_rate
    np.testing.assert_array_equal(det.frame_indices, np.arange(100))
    np.testing.assert_allclose(det.times, np.arange(100) / 60.0, atol=1e-6)
    assert det.keypoints.shape == (100, 17, 2) and det.keypoints.dtype == np.float32
    assert det.confidence.shape == (100, 17) and det.confidence.dtype == np.float32
    assert det.landmarks.shape == (100, 33, 4) and det.world_landmarks.shape == (100, 33, 3)
    assert len(det.missing_frames) == int((~det.found).sum())


@detects
def test_joints_inside_frame_and_left_right_not_swapped(example_detection):
    det = example_detection
    width, height = det.image_size
    confident = det.confidence > 0.5
    x, y = det.keypoints[..., 0][confident], det.keypoints[..., 1][confident]
    assert ((x >= 0) & (x < width) & (y >= 0) & (y < height)).all()
    # The man faces the camera throughout (checked by eye on the footage): his own left side
    # is on the image's right.
    kp = det.keypoints[det.found]
    assert (kp[:, J["l_shoulder"], 0] > kp[:, J["r_shoulder"], 0]).all()
    assert (kp[:, J["l_hip"], 0] > kp[:, J["r_hip"], 0]).all()
    assert kp[0, J["l_wrist"], 0] > kp[0, J["r_wrist"], 0]  # arms hanging at frame 0


@detects
def test_h36m_joints_follow_the_documented_rules(example_detection):
    det = example_detection
    lm, kp = det.landmarks[det.found, :, :2], det.keypoints[det.found]
    mid_hips = (lm[:, L_HIP] + lm[:, R_HIP]) / 2
    mid_shoulders = (lm[:, L_SHOULDER] + lm[:, R_SHOULDER]) / 2
    mid_ears = (lm[:, L_EAR] + lm[:, R_EAR]) / 2
    np.testing.assert_allclose(kp[:, J["pelvis"]], mid_hips, atol=1e-2)
    np.testing.assert_allclose(kp[:, J["thorax"]], mid_shoulders, atol=1e-2)
    np.testing.assert_allclose(kp[:, J["spine"]], (mid_hips + mid_shoulders) / 2, atol=1e-2)
    np.testing.assert_allclose(kp[:, J["neck_nose"]], lm[:, NOSE], atol=1e-2)
    np.testing.assert_allclose(kp[:, J["head"]], mid_ears + 0.5 * (mid_ears - mid_shoulders),
                               atol=1e-2)
    # The crown is above the nose for an upright man (image y grows downwards).
    assert (kp[:, J["head"], 1] < kp[:, J["neck_nose"], 1]).mean() > 0.9
    # Confidence is visibility x presence, so never above the visibility kept in landmarks.
    assert (det.confidence[:, J["l_wrist"]] <= det.landmarks[:, 15, 3] + 1e-6).all()


@detects
def test_world_landmarks_are_metres_around_the_hips(example_detection):
    world = example_detection.world_landmarks[example_detection.found]
    hips = (world[:, L_HIP] + world[:, R_HIP]) / 2
    assert np.abs(hips).max() < 0.05
    shoulders = np.linalg.norm(world[:, L_SHOULDER] - world[:, R_SHOULDER], axis=-1)
    assert 0.2 < np.median(shoulders) < 0.5


@detects
def test_cache_hit_returns_identical_arrays(example_detection, detection_cache, example_video, monkeypatch):
    def no_inference(*args, **kwargs):
        raise AssertionError("a cache hit must not run MediaPipe")

    monkeypatch.setattr(detector, "PoseLandmarker", no_inference)
    calls = []
    again = detect_video(example_video, cache_dir=detection_cache,
                         progress=lambda *report: calls.append(report))
    for name in ("keypoints", "confidence", "landmarks", "world_landmarks", "found",
                 "frame_indices", "times"):
        np.testing.assert_array_equal(getattr(again, name), getattr(example_detection, name))
    assert again.image_size == example_detection.image_size
    assert calls == [("detect", 100, 100)]
    # One file per video and settings, written whole (no temp file left beside it).
    files = sorted(p.name for p in detection_cache.glob(f"{example_video.stem}.*"))
    assert files and all(name.endswith(".npz") for name in files)
    assert not any(p.name.startswith(".") for p in detection_cache.iterdir())
    assert cache_key(example_video, {"stride": 1}) != cache_key(example_video, {"stride": 2})


# --- two people: the Sports2D clip --------------------------------------------------------------
@detects
def test_two_person_clip_follows_the_same_person(jump_walk_detection):
    det = jump_walk_detection
    width, height = det.image_size
    assert det.people_seen >= 2
    pelvis = det.keypoints[:, J["pelvis"]]
    found = det.found
    # The man stands on the box (pelvis at 25-30% of the image height) until he jumps at about
    # frame 160, while the woman walks on the ground (pelvis at 70-75%) from frame ~40 on. He
    # lands at the right and walks right while she leaves on the left.
    on_box = found & (det.frame_indices < 160)
    assert on_box.sum() > 60
    assert (pelvis[on_box, 1] < 0.55 * height).all()
    landed = found & (det.frame_indices >= 200)
    assert landed.sum() > 5
    assert (pelvis[landed, 0] > 0.5 * width).all()
    # No jump between consecutive detections: he moves less than his torso length per 2 frames.
    torso = np.nanmedian(np.linalg.norm(det.keypoints[:, J["thorax"]] - pelvis, axis=-1))
    both = found[1:] & found[:-1]
    steps = np.linalg.norm(np.diff(pelvis, axis=0), axis=-1)[both]
    assert steps.max() < torso
    # While he is in the air MediaPipe loses him; those frames are reported, not filled with
    # the woman.
    assert 0 < len(det.missing_frames) < len(det) * 0.3


@detects
def test_chosen_person_is_followed(shared_data, detection_cache):
    # person=1: the second from the left once two people are visible, i.e. the woman.
    det = detect_video(shared_data / "videos" / JUMP_WALK, end=126, stride=6, person=1, cache_dir=detection_cache)
    width, height = det.image_size
    found = det.found
    assert found.sum() >= 10
    assert det.frame_indices[found][0] >= 35  # not before she walks in
    assert (det.keypoints[found, J["pelvis"], 1] > 0.55 * height).all()
    # person=0: the man on the box, the only one in view at first, left of her while both are.
    man = detect_video(shared_data / "videos" / JUMP_WALK, end=126, stride=6, person=0)
    assert man.found.sum() >= 15 and man.people_seen == 2
    assert (man.keypoints[man.found, J["pelvis"], 1] < 0.55 * height).all()
    both = man.found & found
    assert both.sum() >= 8
    assert (man.keypoints[both, J["pelvis"], 0] < det.keypoints[both, J["pelvis"], 0]).all()


@detects
def test_person_numbers_count_from_the_left_among_everyone_in_view(pair_clip, detection_cache):
    """Both people are in view from the first frame. Person 0 is the man on the left, person 1
    the woman on the right (MediaPipe is asked for everyone in view before they are ranked, not
    for person + 1), and each is kept through the clip, where she passes under him."""
    man = detect_video(pair_clip, person=0, cache_dir=detection_cache)
    woman = detect_video(pair_clip, person=1, cache_dir=detection_cache)
    height = man.image_size[1]
    assert man.detection_rate > 0.9 and woman.detection_rate > 0.9
    assert man.people_seen == woman.people_seen == 2
    his, hers = man.keypoints[:, J["pelvis"]], woman.keypoints[:, J["pelvis"]]
    assert his[0, 0] < hers[0, 0]  # the leftmost first
    assert (his[man.found, 1] < 0.4 * height).all()  # on the box all through
    assert (hers[woman.found, 1] > 0.6 * height).all()  # on the ground all through
    assert hers[-1, 0] < his[-1, 0]  # she has passed him
    # The default ranks everyone in view too (by prominence) and follows one of the two.
    default = detect_video(pair_clip, cache_dir=detection_cache)
    assert default.people_seen == 2
    pelvis = default.keypoints[:, J["pelvis"]]
    assert min(np.nanmedian(np.linalg.norm(pelvis - theirs, axis=-1))
               for theirs in (his, hers)) < 0.02 * height


@detects
def test_person_numbers_in_messages_are_the_ones_asked_for(pair_clip, detection_cache):
    with pytest.raises(ValueError, match=r"person=2 \(the 3rd from the left\).*at most 2 people"):
        detect_video(pair_clip, person=2, cache_dir=detection_cache)
    with pytest.raises(ValueError, match=r"person must be None \(the most prominent\) or 0\.\.3 "
                                         r"\(0 = the leftmost\), got 4"):
        detect_video(pair_clip, person=4)


def test_asking_for_a_person_who_is_not_there_says_so(example_video):
    with pytest.raises(ValueError, match=r"person=1 \(the 2nd from the left\).*at most 1 person was found"):
        detect_video(example_video, end=12, stride=6, person=1)


def test_tracker_reports_missing_instead_of_switching_people():
    rng = np.random.default_rng(0)
    person_a = rng.uniform(0, 100, (33, 2)) + [100, 100]
    person_b = person_a + [600, 0]
    confidence = np.ones((1, 33))
    tracker = PersonTracker()
    person_b[:, 1] *= 1.5  # B is larger, so the more prominent: the one followed
    assert tracker.select(np.stack([person_a, person_b]), np.ones((2, 33)), 0.0) == 1
    assert tracker.select(np.stack([person_b + 5, person_a]), np.ones((2, 33)), 0.03) == 0
    # B vanishes (behind something): A alone is reported as "not the followed person".
    assert tracker.select(person_a[None], confidence, 0.07) is None
    assert tracker.rejected
    assert tracker.select(person_a[None], confidence, 1.0) is None  # still A, a second later
    # B reappears a little further on, found again even though A is there too.
    assert tracker.select(np.stack([person_a, person_b + 60]), np.ones((2, 33)), 1.1) == 1


def test_short_gaps_are_interpolated_long_ones_left_nan():
    points = np.arange(12, dtype=np.float32)[:, None] * np.ones((1, 2), np.float32)
    found = np.array([1, 1, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0], bool)
    points[~found] = np.nan
    filled = fill_short_gaps(points, found, max_gap=3)
    np.testing.assert_allclose(filled[:5, 0], [0, 1, 2, 3, 4])
    assert np.isnan(filled[5:9]).all() and np.isnan(filled[10:]).all()


# --- frame ranges, rotation, resolution -----------------------------------------------------------
@detects
def test_frame_range_stride_and_progress(example_video, example_detection):
    calls = []
    # start=56 is far enough in for the reader to seek rather than decode its way there.
    det = detect_video(example_video, start=56, end=66, stride=3,
                       progress=lambda stage, done, total: calls.append((stage, done, total)))
    np.testing.assert_array_equal(det.frame_indices, [56, 59, 62, 65])
    np.testing.assert_allclose(det.times, det.frame_indices / 60.0, atol=1e-6)
    assert calls == [("detect", 1, 4), ("detect", 2, 4), ("detect", 3, 4), ("detect", 4, 4)]
    error = np.linalg.norm(det.keypoints - example_detection.keypoints[[56, 59, 62, 65]], axis=-1)
    assert np.median(error) < 15  # pixels, on a 1080x1920 frame


@pytest.mark.parametrize("clip", ["example", JUMP_WALK])  # H.264 and VP9
def test_frame_stream_delivers_exactly_the_asked_frames(shared_data, example_video, clip):
    path = example_video if clip == "example" else shared_data / "videos" / clip
    wanted = [3, 4, 60, 61]  # 60 is reached by seeking
    info = probe_video(path)
    reference = read_frames(path, max(wanted) + 1)
    with FrameStream(info, wanted) as stream:
        got = list(stream)
    assert [f.index for f in got] == wanted
    for frame in got:
        np.testing.assert_array_equal(frame.rgb, cv2.cvtColor(reference[frame.index],
                                                              cv2.COLOR_BGR2RGB))


@pytest.mark.parametrize("kwargs, error", [
    ({"stride": 0}, ValueError), ({"start": -1}, ValueError), ({"start": 100}, VideoError),
    ({"start": 10, "end": 10}, ValueError), ({"person": -1}, ValueError),
    ({"num_poses": 0}, ValueError),
])
def test_bad_arguments(example_video, kwargs, error):
    with pytest.raises(error):
        detect_video(example_video, **kwargs)


@detects
def test_rotation_metadata_is_honoured(tmp_path, example_video, example_detection):
    # The portrait clip stored as landscape frames plus a 90-degree display rotation, the way
    # phones record: detection must see (and report) the upright portrait footage.
    frames = read_frames(example_video, 10)
    stored = [cv2.rotate(f, cv2.ROTATE_90_COUNTERCLOCKWISE) for f in frames]
    clip = write_clip(tmp_path / "rotated.mp4", stored, 60)
    set_mp4_rotation(clip, 90)
    det = detect_video(clip)
    assert det.image_size == (1080, 1920)
    assert det.detection_rate == 1.0
    error = np.linalg.norm(det.keypoints - example_detection.keypoints[:10], axis=-1)
    assert np.median(error) < 15


def test_variable_frame_rate_is_reported(vfr_clip):
    det = detect_video(vfr_clip)
    steps = np.round(np.diff(det.times) * 30, 3)
    assert det.variable_frame_rate
    assert len(det) == 12
    assert set(steps) == {0.5, 1.0}  # frame times come from the container, not index / fps


def test_variable_frame_rate_is_resampled_at_the_frames_real_times(vfr_clip):
    det = detect_video(vfr_clip)
    assert det.fps == pytest.approx(40.0)  # the container's mean: 12 frames in 9/30 s
    even = resample_constant_rate(det, det.fps)
    # From the first frame's time to the last's (8/30 s) every 1/40 s: 11 poses.
    assert len(even) == 11 and not even.variable_frame_rate and even.found.all()
    np.testing.assert_allclose(even.times, np.arange(11) / 40.0, atol=1e-9)
    for array in ("keypoints", "landmarks", "world_landmarks", "confidence"):
        raw, resampled = getattr(det, array), getattr(even, array)
        flat = raw.reshape(len(raw), -1)
        expected = np.stack([np.interp(even.times, det.times, flat[:, i])
                             for i in range(flat.shape[1])], -1)
        np.testing.assert_allclose(resampled.reshape(len(even), -1), expected, atol=1e-3,
                                   err_msg=array)
    distance = np.abs(det.times[None] - even.times[:, None])  # (new time, frame)
    picked = distance[np.arange(11), np.searchsorted(det.frame_indices, even.frame_indices)]
    np.testing.assert_allclose(picked, distance.min(1), atol=1e-9)  # the nearest frame
    assert "resampled to 11 at a constant 40 fps" in even.warnings[-1]
    assert resample_constant_rate(even, 40.0).times.shape == (11,)  # already even: unchanged


@pytest.mark.slow
def test_4k_video_gives_full_resolution_pixels(tmp_path, example_video, example_detection):
    frames = read_frames(example_video, 4)
    big = [cv2.resize(f, (2160, 3840), interpolation=cv2.INTER_CUBIC) for f in frames]
    det = detect_video(write_clip(tmp_path / "uhd.mp4", big, 60))
    assert det.image_size == (2160, 3840)
    error = np.linalg.norm(det.keypoints / 2 - example_detection.keypoints[:4], axis=-1)
    assert np.median(error) < 15


# --- bad input ------------------------------------------------------------------------------------
def _missing(tmp_path, src):
    return tmp_path / "nowhere.mp4"


def _text(tmp_path, src):
    path = tmp_path / "notes.mp4"
    path.write_text("this is not a video\n" * 50)
    return path


def _empty_file(tmp_path, src):
    path = tmp_path / "zero_bytes.mp4"
    path.touch()
    return path


def _no_frames(tmp_path, src):
    path = tmp_path / "no_frames.mp4"
    cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30, (64, 64)).release()
    return path


def _still_image(tmp_path, src):
    path = tmp_path / "photo.png"
    cv2.imwrite(str(path), read_frames(src, 1)[0])
    return path


def _truncated(tmp_path, src):
    path = tmp_path / "truncated.mp4"
    data = src.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _folder(tmp_path, src):
    path = tmp_path / "clips.mp4"
    path.mkdir()
    return path


def _too_large(tmp_path, src):
    return write_clip(tmp_path / "huge.avi", [np.zeros((16, 8200, 3), np.uint8)] * 2, 25,
                      fourcc="MJPG")


def _corrupt_mid_stream(tmp_path, src):
    # Garbage over the middle of the media data: the file opens, decoding stops part way.
    data = bytearray(src.read_bytes())
    start, size = mp4_boxes(bytes(data))[b"mdat"]
    middle = start + size // 2
    data[middle:middle + 20000] = np.random.default_rng(0).bytes(20000)
    path = tmp_path / "corrupt.mp4"
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("make, message", [
    (_missing, "not found"),
    (_folder, "this is a folder, not a video file"),
    (_text, "not a video"),
    (_empty_file, "empty"),
    (_no_frames, "without decodable video frames"),
    (_still_image, "still image"),
    (_truncated, "without decodable video frames"),
    (_too_large, "larger than the supported"),
])
def test_bad_video_raises_video_error_naming_the_file(tmp_path, example_video, make, message):
    path = make(tmp_path, example_video)
    cache = tmp_path / "cache"
    with pytest.raises(VideoError, match=message) as caught:
        detect_video(path, stride=10, cache_dir=cache)
    assert path.name in str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert not cache.exists() or not any(cache.iterdir()), "no (half-written) cache file"


def _cut_short(tmp_path, shared_data, example_video):
    # The Sports2D file has its index (moov) before the media data, as phone videos and web
    # downloads do: cut after 40% of its bytes it still opens and lists all 230 frames, which is
    # what an interrupted copy or download leaves.
    data = (shared_data / "videos" / JUMP_WALK).read_bytes()
    path = tmp_path / "interrupted copy.mp4"
    path.write_bytes(data[: int(0.4 * len(data))])
    return path, 230


def _garbage_mid_stream(tmp_path, shared_data, example_video):
    return _corrupt_mid_stream(tmp_path, example_video), 100


@pytest.mark.parametrize("make", [_cut_short, _garbage_mid_stream])
def test_a_video_that_stops_early_gives_what_decodes_and_says_where(tmp_path, shared_data, example_video, make):
    path, listed = make(tmp_path, shared_data, example_video)
    det = detect_video(path, stride=10, cache_dir=tmp_path / "cache")
    assert probe_video(path).frame_count == listed
    (warning,) = det.warnings
    stopped = int(re.search(r"decoding stops at frame (\d+) ", warning).group(1))
    assert 10 < stopped < listed - 10
    assert path.name in warning and f"of the {listed} its container lists" in warning
    np.testing.assert_array_equal(det.frame_indices, np.arange(0, stopped, 10))
    assert det.found.any()
    again = detect_video(path, stride=10, cache_dir=tmp_path / "cache")  # cached, warning kept
    assert again.warnings == det.warnings


def test_cancel_stops_and_writes_nothing(tmp_path, example_video):
    checks = []

    def cancel() -> bool:
        checks.append(1)
        return len(checks) > 3

    with pytest.raises(DetectionCancelled):
        detect_video(example_video, end=20, cache_dir=tmp_path, cancel=cancel)
    assert len(checks) == 4  # checked before every frame, stopped at the first True
    assert not any(tmp_path.iterdir())


# --- files and CLI ------------------------------------------------------------------------------
@detects
def test_npz_round_trip_and_bad_file(tmp_path, example_detection):
    path = example_detection.save(tmp_path / "kp.npz")
    loaded = Detection2D.load(path)
    np.testing.assert_array_equal(loaded.keypoints, example_detection.keypoints)
    assert loaded.video == example_detection.video and loaded.fps == example_detection.fps
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kp.npz"]  # no temp file left
    other = tmp_path / "other.npz"
    np.savez(other, keypoints=np.zeros(3))
    with pytest.raises(ValueError, match="other.npz"):
        Detection2D.load(other)


@pytest.mark.slow
def test_cli_writes_keypoints_overlay_and_contact_sheet(tmp_path, example_video, capsys):
    out = tmp_path / "keypoints.npz"
    overlay = tmp_path / "overlay.mp4"
    code = cli_main([str(example_video), "-o", str(out), "--end", "8", "--overlay", str(overlay)])
    assert code == 0
    det = Detection2D.load(out)
    assert len(det) == 8 and det.found.all()
    capture = cv2.VideoCapture(str(overlay))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 8
    ok, frame = capture.read()
    capture.release()
    assert ok and frame.shape == (1920, 1080, 3)
    sheet = cv2.imread(str(overlay.with_suffix(".png")))
    assert sheet is not None and sheet.shape[1] == 4 * 360
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "keypoints.npz", "overlay.mp4", "overlay.png"]

    code = cli_main([str(tmp_path / "absent.mp4"), "-o", str(tmp_path / "x.npz")])
    assert code == 2
    assert "absent.mp4: file not found" in capsys.readouterr().err
    assert not (tmp_path / "x.npz").exists()
