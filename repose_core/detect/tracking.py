"""Follow one person through a clip in which MediaPipe may find several.

The person chosen at the start (the most prominent, or the user's pick) is followed by
matching each frame's candidates against their last accepted pose. A candidate too far from
it is never taken: the frame is reported as missing instead, so the track can drop out but
never jump to someone else.
"""
from __future__ import annotations

import numpy as np

# The most people told apart in one frame (MediaPipe's num_poses at most), so persons are
# numbered 0 (the leftmost) to MAX_PEOPLE - 1.
MAX_PEOPLE = 4
# A landmark counts for matching when MediaPipe is at least this sure it is visible.
_MATCH_CONFIDENCE = 0.3
# Body size is smoothed over frames (weight of the newest frame): one frame's landmarks can
# collapse or spread out, which would shrink or widen the gate for the next frame.
_SIZE_SMOOTHING = 0.2
# Two candidates whose torso centres are this close (in body sizes) are the same person.
_SAME_PERSON = 0.25
_TORSO = [11, 12, 23, 24]  # MediaPipe shoulders and hips
# Accept a candidate whose median landmark displacement from the last accepted pose is at most
# GATE_BASE + GATE_PER_SECOND * (seconds since then) body sizes, capped at GATE_MAX. Between
# consecutive frames people move a small fraction of their size, but MediaPipe's landmarks of a
# fast or crouching person can jump by half of it; after a dropout (a jump, a pass behind
# someone) the gate widens about as fast as a person can move, so the person is picked up again
# where they reappear while someone else two body sizes away never is.
GATE_BASE = 0.6
GATE_PER_SECOND = 2.0
GATE_MAX = 2.0


def _body_size(points: np.ndarray, confident: np.ndarray) -> float:
    """Diagonal of the bounding box of the confident landmarks (all if none is)."""
    pts = points[confident] if confident.sum() >= 2 else points
    return float(np.hypot(*(pts.max(0) - pts.min(0))))


def distinct_people(points: np.ndarray, confidence: np.ndarray) -> list[int]:
    """Indices of the candidates that are different people. Asked for several poses, MediaPipe
    sometimes returns one person twice, often once mirrored (left and right swapped); copies
    are told apart by the torso centre, which mirroring leaves in place. The more confident
    copy is kept."""
    order = np.argsort(-confidence.mean(-1), kind="stable")
    torso = points[:, _TORSO].mean(1)
    kept: list[int] = []
    for i in order:
        size = max(_body_size(points[i], confidence[i] >= _MATCH_CONFIDENCE), 1e-6)
        if all(np.linalg.norm(torso[i] - torso[k]) > _SAME_PERSON * size for k in kept):
            kept.append(int(i))
    return sorted(kept)


def prominence(points: np.ndarray, confidence: np.ndarray) -> float:
    """How prominent a person is: bounding-box area of confident landmarks x mean confidence."""
    confident = confidence >= _MATCH_CONFIDENCE
    pts = points[confident] if confident.sum() >= 2 else points
    width, height = pts.max(0) - pts.min(0)
    return float(width * height * confidence.mean())


class PersonTracker:
    """Chooses, frame by frame, which candidate is the followed person.

    person: None follows the most prominent person of the first frame with anyone in it;
    an integer k follows the k-th person from the left (0 = leftmost, by hip midpoint) in the
    first frame where more than k people are visible.
    """

    def __init__(self, person: int | None = None):
        if person is not None and (not isinstance(person, (int, np.integer))
                                   or not 0 <= person < MAX_PEOPLE):
            raise ValueError(f"person must be None (the most prominent) or 0..{MAX_PEOPLE - 1} "
                             f"(0 = the leftmost), got {person!r}")
        self.person = person
        self._last: np.ndarray | None = None  # (33, 2) last accepted landmarks, pixels
        self._last_confident = np.ones(33, bool)  # which of them were confidently seen
        self._last_time = 0.0
        self._size = 1.0  # body size of the followed person, pixels (smoothed)
        self.most_people = 0  # the most distinct people seen in one frame
        self.in_view = 0  # distinct people in the last frame
        self.rejected = False  # the last frame had candidates, none of them the followed person

    @property
    def started(self) -> bool:
        return self._last is not None

    def select(self, points: np.ndarray, confidence: np.ndarray, time_s: float) -> int | None:
        """Index of the followed person among ``points`` (n, 33, 2) pixels with ``confidence``
        (n, 33), or None if they are not among them."""
        people = distinct_people(points, confidence)
        self.in_view = len(people)
        self.most_people = max(self.most_people, len(people))
        self.rejected = False
        if not people:
            return None
        if self._last is None:
            choice = self._first_choice(points[people], confidence[people])
        else:
            choice = self._match(points[people], confidence[people], time_s)
            self.rejected = choice is None
        choice = None if choice is None else people[choice]
        if choice is not None:
            confident = confidence[choice] >= _MATCH_CONFIDENCE
            size = max(_body_size(points[choice], confident), 1e-6)
            self._size = size if self._last is None else (
                (1 - _SIZE_SMOOTHING) * self._size + _SIZE_SMOOTHING * size)
            self._last = points[choice]
            self._last_confident = confident
            self._last_time = time_s
        return choice

    def _first_choice(self, points: np.ndarray, confidence: np.ndarray) -> int | None:
        if self.person is None:
            return int(np.argmax([prominence(p, c) for p, c in zip(points, confidence)]))
        if len(points) <= self.person:
            return None
        hip_x = points[:, [23, 24], 0].mean(-1)
        return int(np.argsort(hip_x, kind="stable")[self.person])

    def _match(self, points: np.ndarray, confidence: np.ndarray, time_s: float) -> int | None:
        costs = []
        for p, c in zip(points, confidence):
            both = self._last_confident & (c >= _MATCH_CONFIDENCE)
            if both.sum() < 3:  # too little seen to compare: compare every landmark
                both = np.ones_like(both)
            distance = np.linalg.norm(p[both] - self._last[both], axis=-1)
            costs.append(float(np.median(distance)) / self._size)
        best = int(np.argmin(costs))
        gate = min(GATE_BASE + GATE_PER_SECOND * max(time_s - self._last_time, 0.0), GATE_MAX)
        return best if costs[best] <= gate else None


def fill_short_gaps(points: np.ndarray, found: np.ndarray, max_gap: int) -> np.ndarray:
    """Linearly interpolate ``points`` (T, ...) across runs of at most ``max_gap`` frames
    where ``found`` is False and which have a found frame on both sides. Longer gaps and gaps
    at either end stay as they are (NaN)."""
    filled = points.copy()
    found_at = np.flatnonzero(found)
    for before, after in zip(found_at[:-1], found_at[1:]):
        gap = after - before - 1
        if 0 < gap <= max_gap:
            w = (np.arange(1, gap + 1) / (gap + 1)).reshape(-1, *([1] * (points.ndim - 1)))
            filled[before + 1:after] = (1 - w) * points[before] + w * points[after]
    return filled
