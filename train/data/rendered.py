"""Rendered footage as training data: what MediaPipe really makes of a person on video.

``python -m train.render train`` films the training people's mocap on characters; here MediaPipe
runs on those videos through the product's own ``repose_core.detect`` (cached, so only once), and
each shot becomes a :class:`DetectedShot`: the lifter features of the real detections (the
runtime's ``clip_features``: confidences, gaps and all), the rendered truth in the camera frame,
the world's up direction there, and the joints the body hides. :class:`RenderedSampler` draws
training windows from them in the synthetic sampler's batch format, so the two mix in a batch.

Everything the simulated detector cannot know is in these windows: MediaPipe's landmark
definitions on a real body surface, its left/right swaps, its confident guesses at hidden limbs.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from repose_core.features import FEATURES_VERSION, mirror_features
from repose_core.runtime import clip_features
from repose_core.skeleton import FLIP_PERMUTATION, flip_direction, flip_pose, root_centred

from ..synth.occlusion import self_occlusion



@dataclass(frozen=True)
class DetectedShot:
    """One rendered shot with its detections, T frames; arrays float32 unless stated."""

    name: str
    subject: str
    features: np.ndarray     # (T, 17, 3) lifter features of MediaPipe's 2D
    target: np.ndarray       # (T, 17, 3) truth, camera frame, pelvis at the origin, metres
    up: np.ndarray           # (T, 3) the world's up direction in the camera frame
    occluded: np.ndarray     # (T, 17) bool, hidden by the body (capsule model)
    confidence: np.ndarray   # (T, 17) MediaPipe's, 0 where the person was not found

    def __len__(self) -> int:
        return len(self.features)


def detected_shot(name: str, truth_path: Path, video: Path, detect_cache: Path,
                  features_version: str = FEATURES_VERSION) -> DetectedShot:
    """Run (or read the cached) detection of one rendered shot and pair it with its truth;
    its features are of ``features_version`` (with MediaPipe's 3D for the world feature set)."""
    from repose_core.detect import detect_video

    from ..render.footage import RenderTruth

    truth = RenderTruth.load(truth_path)
    detection = detect_video(video, cache_dir=detect_cache)
    cam = truth.joints_camera[detection.frame_indices]
    confidence = np.where(detection.found[:, None], detection.confidence, 0.0)
    return DetectedShot(
        name=name, subject=truth.subject,
        features=clip_features(detection.keypoints, detection.image_size, confidence,
                               detection.world_joints, features_version),
        target=root_centred(cam).astype(np.float32),
        up=truth.shot.up_in_camera[detection.frame_indices].astype(np.float32),
        occluded=self_occlusion(cam),
        confidence=confidence.astype(np.float32),
    )


def load_detected_shots(folder: str | Path, detect_cache: str | Path,
                        exclude_subjects: frozenset[str] = frozenset(),
                        features_version: str = FEATURES_VERSION,
                        log: Callable[[str], None] = print) -> list[DetectedShot]:
    """Every rendered shot in ``folder`` (``*.truth.npz`` beside its ``.mp4``), detected.

    ``exclude_subjects``: people to leave out (the held-out ones). Shots not yet detected are
    run through MediaPipe first (tens of frames a second), with a progress line.
    """
    from ..render.footage import RenderTruth

    folder, detect_cache = Path(folder), Path(detect_cache)
    truths = sorted(folder.glob("*.truth.npz"))
    if not truths:
        raise FileNotFoundError(f"{folder}: no rendered shots (python -m train.render train)")
    shots = []
    for k, truth_path in enumerate(truths):
        name = truth_path.name.removesuffix(".truth.npz")
        if RenderTruth.load(truth_path).subject in exclude_subjects:
            continue
        shots.append(detected_shot(name, truth_path, folder / f"{name}.mp4", detect_cache, features_version))
        if (k + 1) % 50 == 0:
            print(f"  detected {k + 1}/{len(truths)} rendered shots", file=sys.stderr, flush=True)
    log(f"rendered footage: {len(shots)} shots / {sum(len(s) for s in shots)} frames of "
        f"{len({s.subject for s in shots})} people from {folder}")
    return shots


class RenderedSampler:
    """Random windows of ``window`` frames from detected shots, as training batches.

    A shot shorter than the window is padded with its first and last frames, as the runtime pads
    a clip's ends. With ``flip`` half the windows are mirrored (image and 3D together). Same
    seed, same batches.
    """

    def __init__(self, shots: list[DetectedShot], window: int, seed: int, flip: bool = True):
        if not shots:
            raise ValueError("no rendered shots to sample from")
        self.shots, self.window, self.flip = shots, window, flip
        self.rng = np.random.default_rng(seed)
        weights = np.array([max(len(s) - window + 1, 1) for s in shots], dtype=np.float64)
        self.p = weights / weights.sum()   # every window start equally likely

    def sample(self, count: int) -> dict[str, np.ndarray]:
        picks = self.rng.choice(len(self.shots), size=count, p=self.p)
        windows = [self._window(self.shots[i]) for i in picks]
        batch = {key: np.stack([w[key] for w in windows]) for key in windows[0]}
        if self.flip:
            # Mirroring the image mirrors the features and the 3D alike (x -> -x, left <-> right).
            mirrored = self.rng.random(count) < 0.5
            batch["inputs"][mirrored] = mirror_features(batch["inputs"][mirrored])
            batch["target"][mirrored] = flip_pose(batch["target"][mirrored])
            for key in ("occluded", "confidence"):
                batch[key][mirrored] = batch[key][mirrored][..., FLIP_PERMUTATION]
            batch["up"][mirrored] = flip_direction(batch["up"][mirrored])
        return batch

    def _window(self, shot: DetectedShot) -> dict[str, np.ndarray]:
        start = int(self.rng.integers(0, max(len(shot) - self.window, 0) + 1))
        frames = np.clip(np.arange(start, start + self.window) - max(self.window - len(shot), 0) // 2,
                         0, len(shot) - 1)
        return {"inputs": shot.features[frames], "target": shot.target[frames],
                "occluded": shot.occluded[frames], "confidence": shot.confidence[frames],
                "up": shot.up[frames]}

