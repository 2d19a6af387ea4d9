"""Variable frame rate (most phone footage) -> a detection at a constant rate.

Everything after detection (the lifter's temporal window, smoothing, foot contacts, one key per
scene frame) assumes evenly spaced frames. A phone's frames are not: they come when the camera
delivers them, often with a longer gap wherever the light or the load changed. Resampling the
2D detection onto an even grid of times puts each key at the time its pose was really seen.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from .result import Detection2D


def resample_constant_rate(det: Detection2D, rate: float) -> Detection2D:
    """``det`` sampled every ``1 / rate`` seconds from its first frame's time to its last.

    Every array is interpolated linearly between the two frames around each new time (a new time
    on a frame takes that frame as it is). A new time between a frame with the person and one
    without has no person (and a hand, with hands, likewise); ``frame_indices`` gives the nearest
    video frame (for pictures of the result); ``variable_frame_rate`` becomes False and a note
    is added to ``warnings``.
    """
    if not rate > 0:
        raise ValueError(f"rate must be positive, got {rate}")
    times = np.asarray(det.times, np.float64)
    if len(times) < 2:
        return det
    count = int(np.floor((times[-1] - times[0]) * rate + 1e-6)) + 1
    grid = times[0] + np.arange(count) / rate
    after = np.clip(np.searchsorted(times, grid, side="right"), 1, len(times) - 1)
    before = after - 1
    span = np.maximum(times[after] - times[before], 1e-12)
    weight = np.clip((grid - times[before]) / span, 0.0, 1.0)
    on_before, on_after = weight < 1e-9, weight > 1 - 1e-9

    def interpolate(values: np.ndarray) -> np.ndarray:
        w = weight.reshape(-1, *([1] * (values.ndim - 1)))
        mixed = (1 - w) * values[before] + w * values[after]
        mixed = np.where(on_before.reshape(w.shape), values[before], mixed)
        return np.where(on_after.reshape(w.shape), values[after], mixed).astype(values.dtype)

    found = np.where(on_before, det.found[before],
                     np.where(on_after, det.found[after], det.found[before] & det.found[after]))
    confidence = np.where(found[:, None], interpolate(det.confidence), 0.0).astype(np.float32)
    steps = np.diff(times)
    note = (f"variable frame rate (frames {1000 * steps.min():.1f} to {1000 * steps.max():.1f} ms "
            f"apart): {len(times)} frames resampled to {count} at a constant {rate:g} fps, each "
            f"at its real time")
    hands = {}
    if det.has_hands:  # as the person: a hand between a frame with it and one without is not seen
        seen = det.hand_confidence > 0
        seen = np.where(on_before[:, None], seen[before],
                        np.where(on_after[:, None], seen[after], seen[before] & seen[after]))
        hands = {"hands": interpolate(det.hands), "hand_world": interpolate(det.hand_world),
                 "hand_confidence": np.where(seen, interpolate(det.hand_confidence), 0.0
                                             ).astype(np.float32)}
    return replace(
        det,
        **hands,
        keypoints=interpolate(det.keypoints),
        confidence=confidence,
        landmarks=interpolate(det.landmarks),
        world_landmarks=interpolate(det.world_landmarks),
        found=found,
        frame_indices=np.where(weight < 0.5, det.frame_indices[before], det.frame_indices[after]),
        times=grid,
        variable_frame_rate=False,
        warnings=(*det.warnings, note),
    )
