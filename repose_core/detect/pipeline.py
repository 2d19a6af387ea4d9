"""detect_video: a video file in, one person's 2D pose per frame out (see docs/architecture.md)."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import numpy as np

from .cache import cache_key, cache_path, content_hash, load_cached
from .errors import DetectionCancelled, VideoError
from .landmarker import NUM_LANDMARKS, PoseLandmarker, resolve_task_path
from .mapping import landmarks_to_h36m
from .result import Detection2D
from .tracking import PersonTracker, fill_short_gaps
from .video import FrameStream, VideoInfo, frame_range, probe_video

# Frames larger than this (longer side) are downscaled before MediaPipe: its models see 224-256
# px crops, so a 4K frame only costs copying; coordinates come back in full-size pixels anyway.
DETECT_MAX_SIDE = 1920
# Gaps up to this long (after stride) are interpolated; longer ones stay NaN.
MAX_GAP_SECONDS = 0.25
# MediaPipe is asked for at most this many people per frame (see num_poses in detect_video).
MAX_PEOPLE = 4
# Frame times further than this fraction from 1/fps (times stride) mean variable frame rate.
_VFR_TOLERANCE = 0.25

ProgressCallback = Callable[[int, int, float], None]


def detect_video(
    path: str | Path,
    start: int = 0,
    end: int | None = None,
    stride: int = 1,
    task_path: str | Path | None = None,
    cache_dir: str | Path | None = None,
    person: int | None = None,
    progress: ProgressCallback | None = None,
    cancel: Callable[[], bool] | None = None,
    num_poses: int = 1,
) -> Detection2D:
    """Detect one person's 2D pose in frames ``start:end:stride`` of the video at ``path``.

    task_path: a PoseLandmarker ``.task`` bundle (default: the one shipped in assets/).
    cache_dir: if given, results are cached there keyed by video content and settings.
    person: None follows the most prominent person at the start; k the k-th from the left.
    progress(done, total, fps) is called after every frame; cancel() is checked before every
    frame and raises :class:`DetectionCancelled` when it returns True.
    num_poses: how many people MediaPipe looks for at first. Each time it finds that many and
    none is the followed person, it is asked for one more (up to MAX_PEOPLE), so one person per
    frame (fastest: MediaPipe then tracks instead of re-detecting) is right for most clips.
    Raises :class:`VideoError` for an unusable video, ValueError for bad arguments.
    """
    path = Path(path)
    info = probe_video(path)
    frames = frame_range(info, start, end, stride)
    if not 1 <= num_poses <= MAX_PEOPLE:
        raise ValueError(f"num_poses must be 1..{MAX_PEOPLE}, got {num_poses}")
    tracker = PersonTracker(person)  # validates person
    if person is not None and person >= MAX_PEOPLE:
        raise ValueError(f"person must be < {MAX_PEOPLE} (people MediaPipe can follow), "
                         f"got {person}")
    task = resolve_task_path(task_path)

    cached_at = None
    if cache_dir is not None:
        settings = {"start": frames.start, "stop": frames.stop, "stride": frames.step,
                    "person": person, "num_poses": num_poses, "task": content_hash(task)}
        cached_at = cache_path(cache_dir, path, cache_key(path, settings))
        cached = load_cached(cached_at)
        if cached is not None:
            if progress is not None:
                progress(len(cached), len(cached), 0.0)
            return cached

    num_poses = max(num_poses, 0 if person is None else person + 1)
    result = _run(info, frames, task, num_poses, tracker, progress, cancel)
    if person is not None and not tracker.started:
        found = "1 person was" if tracker.most_people == 1 else f"{tracker.most_people} people were"
        raise ValueError(f"{path}: person={person} (the {_ordinal(person + 1)} from the left) was "
                         f"asked for, but at most {found} found in one frame")
    if cached_at is not None:
        result.save(cached_at)
    return result


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _run(info: VideoInfo, frames: range, task: Path, num_poses: int, tracker: PersonTracker,
         progress: ProgressCallback | None, cancel: Callable[[], bool] | None) -> Detection2D:
    total = len(frames)
    landmarks = np.full((total, NUM_LANDMARKS, 4), np.nan, np.float32)
    landmark_conf = np.zeros((total, NUM_LANDMARKS), np.float32)
    world = np.full((total, NUM_LANDMARKS, 3), np.nan, np.float32)
    found = np.zeros(total, bool)
    indices = np.zeros(total, np.int64)
    times = np.zeros(total, np.float64)
    to_pixels = np.array([info.width, info.height, info.width], np.float32)

    done = 0
    started = time.perf_counter()
    landmarker = PoseLandmarker(task, num_poses=num_poses, video=True)
    try:
        with FrameStream(info, frames, max_side=DETECT_MAX_SIDE) as stream:
            for frame in stream:
                if cancel is not None and cancel():
                    raise DetectionCancelled(
                        f"{info.path}: cancelled after {done} of {total} frames")
                poses = landmarker.detect(frame.rgb, frame.time)
                xyz = poses.image[..., :3] * to_pixels
                conf = poses.image[..., 3] * poses.image[..., 4]  # visibility x presence
                choice = tracker.select(xyz[..., :2], conf, frame.time)
                indices[done], times[done] = frame.index, frame.time
                if choice is not None:
                    found[done] = True
                    landmarks[done, :, :3] = xyz[choice]
                    landmarks[done, :, 3] = poses.image[choice, :, 3]
                    landmark_conf[done] = conf[choice]
                    world[done] = poses.world[choice]
                elif tracker.rejected and len(poses) >= num_poses < MAX_PEOPLE:
                    # MediaPipe found as many people as it was asked for, and the followed person
                    # is not among them: look for one more from now on, so that they are picked
                    # up again as soon as they are detectable.
                    num_poses += 1
                    replacement = PoseLandmarker(task, num_poses=num_poses, video=True)
                    landmarker.close()
                    landmarker = replacement
                done += 1
                if progress is not None:
                    progress(done, total, done / max(time.perf_counter() - started, 1e-9))
    finally:
        landmarker.close()

    # A stream may end a frame or two before the container's (estimated) count.
    landmarks, landmark_conf, world = landmarks[:done], landmark_conf[:done], world[:done]
    found, indices, times = found[:done], indices[:done], times[:done]
    if done == 0:
        raise VideoError(f"{info.path}: no frame could be decoded in frames "
                         f"{frames.start}:{frames.stop}:{frames.step}")

    keypoints, confidence = landmarks_to_h36m(landmarks[..., :2], landmark_conf)
    max_gap = max(1, int(MAX_GAP_SECONDS * info.fps / frames.step))
    keypoints = fill_short_gaps(keypoints, found, max_gap)
    expected_step = frames.step / info.fps
    steps = np.diff(times)
    variable = bool(len(steps) and np.any(np.abs(steps - expected_step)
                                          > _VFR_TOLERANCE * expected_step))
    return Detection2D(
        keypoints=keypoints,
        confidence=confidence,
        landmarks=landmarks,
        world_landmarks=world,
        found=found,
        frame_indices=indices,
        times=times,
        image_size=info.image_size,
        fps=info.fps,
        variable_frame_rate=variable,
        people_seen=tracker.most_people,
        video=str(info.path),
    )
