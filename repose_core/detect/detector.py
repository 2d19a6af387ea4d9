"""detect_video: a video file in, one person's 2D pose per frame out (see docs/architecture.md)."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from ..progress import Progress
from .cache import cache_key, cache_path, content_hash, load_cached
from .errors import DetectionCancelled, VideoError
from .hand_landmarker import NUM_HAND_LANDMARKS, resolve_hand_task_path
from .hands import HandFinder, consistent_chirality, drop_outliers, fill_skipped
from .landmarker import NUM_LANDMARKS, PoseLandmarker, resolve_task_path
from .mapping import landmarks_to_h36m
from .result import Detection2D
from .tracking import MAX_PEOPLE, PersonTracker, fill_short_gaps
from .video import FrameStream, VideoInfo, frame_range, probe_video

# Frames larger than this (longer side) are downscaled before MediaPipe: its models see 224-256
# px crops, so a 4K frame only costs copying; coordinates come back in full-size pixels anyway.
DETECT_MAX_SIDE = 1920
# Gaps up to this long (after stride) are interpolated; longer ones stay NaN.
MAX_GAP_SECONDS = 0.25
# Frame times further than this fraction from 1/fps (times stride) mean variable frame rate.
_VFR_TOLERANCE = 0.25


def detect_video(
    path: str | Path,
    start: int = 0,
    end: int | None = None,
    stride: int = 1,
    task_path: str | Path | None = None,
    cache_dir: str | Path | None = None,
    person: int | None = None,
    progress: Progress | None = None,
    cancel: Callable[[], bool] | None = None,
    num_poses: int = 1,
    hands: bool = False,
    hand_task_path: str | Path | None = None,
) -> Detection2D:
    """Detect one person's 2D pose in frames ``start:end:stride`` of the video at ``path``.

    task_path: a PoseLandmarker ``.task`` bundle (default: the one shipped in assets/).
    cache_dir: if given, results are cached there keyed by video content and settings.
    person: None follows the most prominent person at the start; k (0..MAX_PEOPLE - 1) the
    k-th from the left, 0 = the leftmost, in the first frame with more than k people in view.
    progress("detect", done, total) is called after every frame; cancel() is checked before every
    frame and raises :class:`DetectionCancelled` when it returns True.
    num_poses: MediaPipe looks for MAX_PEOPLE people until the followed person is chosen, so that
    everyone in view is ranked, and with a person k all through the clip, keeping track of
    everyone. With person None it then looks for ``num_poses`` (at least everyone in view at
    the choice), fastest when that is everyone: MediaPipe then tracks people from frame to
    frame instead of running its person detector on every frame. Each time it finds as many as
    asked for and none is the followed person, it is asked for one more (up to MAX_PEOPLE).
    A video that stops decoding before the frames its container lists gives the frames that
    decode, and a warning in ``.warnings`` that says where it stopped.
    hands: also find the followed person's hands in the same pass (``.hands``, ``.hand_world``,
    ``.hand_confidence``; see :mod:`.hands`), with the HandLandmarker bundle ``hand_task_path``
    (default: the one shipped in assets/). Off, the detection is exactly the body-only one.
    Raises :class:`VideoError` for an unusable video, ValueError for bad arguments.
    """
    path = Path(path)
    info = probe_video(path)
    frames = frame_range(info, start, end, stride)
    if not 1 <= num_poses <= MAX_PEOPLE:
        raise ValueError(f"num_poses must be 1..{MAX_PEOPLE}, got {num_poses}")
    tracker = PersonTracker(person)  # validates person
    task = resolve_task_path(task_path)
    hand_task = resolve_hand_task_path(hand_task_path) if hands else None

    cached_at = None
    if cache_dir is not None:
        settings = {"start": frames.start, "stop": frames.stop, "stride": frames.step,
                    "person": person, "num_poses": num_poses, "task": content_hash(task)}
        if hand_task is not None:  # body-only keys stay what they were before hands
            settings.update(hands=True, hand_task=content_hash(hand_task))
        cached_at = cache_path(cache_dir, path, cache_key(path, settings))
        cached = load_cached(cached_at)
        if cached is not None:
            if progress is not None:
                progress("detect", len(cached), len(cached))
            return cached

    result = _run(info, frames, task, num_poses, tracker, progress, cancel, hand_task)
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
         progress: Progress | None, cancel: Callable[[], bool] | None,
         hand_task: Path | None = None) -> Detection2D:
    total = len(frames)
    landmarks = np.full((total, NUM_LANDMARKS, 4), np.nan, np.float32)
    landmark_conf = np.zeros((total, NUM_LANDMARKS), np.float32)
    world = np.full((total, NUM_LANDMARKS, 3), np.nan, np.float32)
    found = np.zeros(total, bool)
    indices = np.zeros(total, np.int64)
    times = np.zeros(total, np.float64)
    to_pixels = np.array([info.width, info.height, info.width], np.float32)
    if hand_task is not None:
        hand_image = np.full((total, 2, NUM_HAND_LANDMARKS, 3), np.nan, np.float32)
        hand_world = np.full((total, 2, NUM_HAND_LANDMARKS, 3), np.nan, np.float32)
        hand_conf = np.zeros((total, 2), np.float32)
        looked = np.zeros(total, bool)  # frames whose hands were looked at (the rest are filled)

    done = 0
    # Everyone in view is looked for until the followed person is chosen: ranking people from
    # the left, or by prominence, needs all of them, not the one MediaPipe happens to find first.
    landmarker = _Landmarker(task, MAX_PEOPLE)
    finder = None if hand_task is None else HandFinder(hand_task)
    try:
        with FrameStream(info, frames, max_side=DETECT_MAX_SIDE) as stream:
            for frame in stream:
                if cancel is not None and cancel():
                    raise DetectionCancelled(
                        f"{info.path}: cancelled after {done} of {total} frames")
                poses = landmarker.detect(frame.rgb, frame.time)
                xyz = poses.image[..., :3] * to_pixels
                conf = poses.image[..., 3] * poses.image[..., 4]  # visibility x presence
                choosing = not tracker.started
                choice = tracker.select(xyz[..., :2], conf, frame.time)
                indices[done], times[done] = frame.index, frame.time
                if choice is not None:
                    found[done] = True
                    landmarks[done, :, :3] = xyz[choice]
                    landmarks[done, :, 3] = poses.image[choice, :, 3]
                    landmark_conf[done] = conf[choice]
                    world[done] = poses.world[choice]
                    if finder is not None:  # the hands of the person just found, in this frame
                        found_hands = finder.find(frame.rgb, frame.time, xyz[choice, :, :2],
                                                  conf[choice], frame.rgb.shape[1] / info.width)
                        if found_hands is not None:
                            looked[done] = True
                            hand_image[done] = found_hands.image
                            hand_world[done] = found_hands.world
                            hand_conf[done] = found_hands.confidence
                    if choosing and tracker.person is None:
                        # The first frame with anyone in it. Looking for no more people than
                        # are in view, MediaPipe tracks them instead of running its person
                        # detector on every frame (a third faster); shown this frame again, the
                        # new landmarker finds them as the first did, so tracking goes on.
                        landmarker.look_for(min(MAX_PEOPLE, max(num_poses, tracker.in_view)))
                        landmarker.detect(frame.rgb, frame.time)
                elif tracker.rejected and len(poses) >= landmarker.num_poses < MAX_PEOPLE:
                    # MediaPipe found as many people as it was asked for, and the followed person
                    # is not among them: look for one more from now on, so that they are picked
                    # up again as soon as they are detectable.
                    landmarker.look_for(landmarker.num_poses + 1)
                done += 1
                if progress is not None:
                    progress("detect", done, total)
    finally:
        landmarker.close()
        if finder is not None:
            finder.close()

    # A stream may end a frame or two before the container's (estimated) count, or much
    # earlier when the file is truncated or corrupt: what decoded is kept.
    landmarks, landmark_conf, world = landmarks[:done], landmark_conf[:done], world[:done]
    found, indices, times = found[:done], indices[:done], times[:done]
    if done == 0:
        where = ("" if stream.stopped_at is None
                 else f" (decoding stops at frame {stream.stopped_at})")
        raise VideoError(f"{info.path}: no frame could be decoded in frames "
                         f"{frames.start}:{frames.stop}:{frames.step}{where}")
    warnings = ()
    if stream.stopped_at is not None:
        warnings = (f"{info.path.name}: the video is truncated or corrupt: decoding stops at "
                    f"frame {stream.stopped_at} ({stream.stopped_at / info.fps:.1f} s) of the "
                    f"{info.frame_count} its container lists; "
                    f"frames {indices[0]}-{indices[-1]} are used",)

    keypoints, confidence = landmarks_to_h36m(landmarks[..., :2], landmark_conf)
    max_gap = max(1, int(MAX_GAP_SECONDS * info.fps / frames.step))
    keypoints = fill_short_gaps(keypoints, found, max_gap)
    expected_step = frames.step / info.fps
    steps = np.diff(times)
    variable = bool(len(steps) and np.any(np.abs(steps - expected_step)
                                          > _VFR_TOLERANCE * expected_step))
    hand_arrays = {}
    if hand_task is not None:
        hand_image, hand_world, hand_conf = fill_skipped(
            hand_image[:done], hand_world[:done], hand_conf[:done], looked[:done] | ~found)
        hand_image, hand_world, hand_conf = consistent_chirality(hand_image, hand_world, hand_conf)
        hand_conf = drop_outliers(hand_world, hand_conf, info.fps / frames.step)
        hand_arrays = {"hands": hand_image, "hand_world": hand_world,
                       "hand_confidence": hand_conf}
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
        warnings=warnings,
        **hand_arrays,
    )


class _Landmarker:
    """A VIDEO-mode :class:`PoseLandmarker` whose number of people looked for can change.
    MediaPipe fixes it when the landmarker is made, so a change makes a new one, which tracks no
    one yet: its next frame runs the person detector."""

    def __init__(self, task: Path, num_poses: int):
        self.task = task
        self.num_poses = num_poses
        self._landmarker = PoseLandmarker(task, num_poses=num_poses, video=True)

    def detect(self, rgb: np.ndarray, time_s: float):
        return self._landmarker.detect(rgb, time_s)

    def look_for(self, num_poses: int) -> None:
        if num_poses != self.num_poses:
            replacement = PoseLandmarker(self.task, num_poses=num_poses, video=True)
            self._landmarker.close()
            self._landmarker, self.num_poses = replacement, num_poses

    def close(self) -> None:
        self._landmarker.close()
