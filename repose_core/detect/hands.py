"""The followed person's hands, found in the same pass over the video as their body.

Each hand is looked for in a square crop around the body's wrist, sized from the arm and the
torso: MediaPipe's palm detector sees its input at 192 px, where a whole 1080p frame leaves a
hand a few pixels wide, while around the wrist the hand fills the crop. One VIDEO-mode
HandLandmarker per side follows its hand from crop to crop (the crop moves with the wrist, so
the hand stays where the landmarker last saw it), so the palm detector runs only while that
hand is lost, and then only every RETRY_EVERY frames. Hands are looked at up to MAX_RATE times
a second (every other frame of 60 fps footage): the frames between are interpolated
(:func:`fill_skipped`), which fingers, smoothed over time anyway, do not show, and which halves
the cost on high-frame-rate footage.

A hand is kept only if its wrist lands near the body's wrist: it then belongs to the followed
person and to that side, whatever MediaPipe's handedness head says (on blurred or back-of-hand
views it is unsure or wrong). Index 0 is always the person's left hand, 1 the right.

MediaPipe's 3D for a hand seen from the back is often the mirror image (a right hand's shape
for a left hand: the same picture with depth reversed), and on blurred hands it flips between
the two. :func:`consistent_chirality` puts the depth the right way round for the side the hand
is known to be, keeping the palm's turn from frame to frame small (:func:`depth_senses`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..palm import INDEX_BASE, PINKY_BASE, WRIST, palm_axes, palm_frame
from ..rotations import normalize
from .hand_landmarker import NUM_HAND_LANDMARKS, HandLandmarker
from .mapping import L_ELBOW, L_HIP, L_SHOULDER, L_WRIST, R_ELBOW, R_HIP, R_SHOULDER, R_WRIST

LEFT, RIGHT = 0, 1
SIDES = ("left", "right")
# MediaPipe pose landmarks per side: wrist, elbow, pinky knuckle, index knuckle.
_POSE_HAND = ((L_WRIST, L_ELBOW, 17, 19), (R_WRIST, R_ELBOW, 18, 20))
# MediaPipe hand landmarks: wrist, the four finger bases (MCP) and tips, the thumb's tip.
THUMB_TIP = 4
FINGER_BASES, FINGER_TIPS = (5, 9, 13, 17), (8, 12, 16, 20)

# The body's wrist must be at least this confident (MediaPipe visibility x presence) for its
# hand to be looked for: a hidden wrist has a hidden hand.
MIN_WRIST_CONFIDENCE = 0.3
# Hands shorter than this (pixels, wrist to fingertips) are too small for finger landmarks.
MIN_HAND_PIXELS = 16.0
# Crop: a square CROP_SCALE hand lengths wide, centred CENTRE_AHEAD hand lengths beyond the
# wrist towards the knuckles (any hand pose fits: fingers spread or curled, bent wrist).
CROP_SCALE = 2.0
CENTRE_AHEAD = 0.45
# A hand counts as the body's when its wrist is within GATE hand lengths of the body's wrist
# (the two models put the wrist within ~0.1 of each other; the other hand is further).
GATE = 0.35
# While a hand is lost, its palm detector (the costlier model) runs on every n-th look only.
RETRY_EVERY = 3
# Hands are looked at up to this many times a second; frames closer than 3/4 of that interval
# to the last look are skipped (and interpolated).
MAX_RATE = 30.0
# Hand length from the body (MediaPipe pose landmarks, pixels): the largest of these estimates,
# as each is foreshortened differently: forearm x 0.8, torso x 0.4, wrist-to-knuckles x 2.2.
_FROM_FOREARM, _FROM_TORSO, _FROM_KNUCKLES = 0.8, 0.4, 2.2
# A hand whose chirality is below minus this is not a plausible hand of its side.
CLEAR_CHIRALITY = 0.25
# drop_outliers: a frame's palm must lie within OUTLIER_TURN of the palm in at least half (by
# confidence) of the frames with the hand within OUTLIER_SECONDS either side. Hands turn far
# less than that in that time; MediaPipe's palm-for-back confusions on blurred hands turn it
# by 150-180 degrees for a few frames.
OUTLIER_TURN_DEG = 90.0
OUTLIER_SECONDS = 0.2


@dataclass(frozen=True)
class Crop:
    """A square region of a frame (pixels of the frame it is cut from; may extend past it)."""

    x0: int
    y0: int
    side: int
    hand_length: float  # estimated, pixels


def hand_crop(points: np.ndarray, confidence: np.ndarray, side: int) -> Crop | None:
    """Where to look for the hand of ``side`` given the body's pose landmarks ``points`` (33, 2)
    pixels with ``confidence`` (33,); None when the wrist is hidden or the hand too small."""
    wrist_i, elbow_i, pinky_i, index_i = _POSE_HAND[side]
    if confidence[wrist_i] < MIN_WRIST_CONFIDENCE or not np.isfinite(points).all():
        return None
    wrist = points[wrist_i]
    knuckles = 0.5 * (points[pinky_i] + points[index_i])
    shoulders = 0.5 * (points[L_SHOULDER] + points[R_SHOULDER])
    hips = 0.5 * (points[L_HIP] + points[R_HIP])
    length = max(_FROM_FOREARM * np.linalg.norm(wrist - points[elbow_i]),
                 _FROM_TORSO * np.linalg.norm(shoulders - hips),
                 _FROM_KNUCKLES * np.linalg.norm(knuckles - wrist))
    if length < MIN_HAND_PIXELS:
        return None
    ahead = knuckles - wrist
    if np.linalg.norm(ahead) < 1e-6:
        ahead = wrist - points[elbow_i]
    ahead = ahead / max(np.linalg.norm(ahead), 1e-6)
    centre = wrist + CENTRE_AHEAD * length * ahead
    side_px = int(round(CROP_SCALE * length))
    return Crop(int(round(centre[0] - side_px / 2)), int(round(centre[1] - side_px / 2)), side_px,
                float(length))


def cut(rgb: np.ndarray, crop: Crop) -> np.ndarray | None:
    """The crop's pixels (side, side, 3), black where it extends past the frame; None if it
    lies wholly outside."""
    height, width = rgb.shape[:2]
    xs, ys = max(crop.x0, 0), max(crop.y0, 0)
    xe, ye = min(crop.x0 + crop.side, width), min(crop.y0 + crop.side, height)
    if xe <= xs or ye <= ys:
        return None
    if (xs, ys, xe, ye) == (crop.x0, crop.y0, crop.x0 + crop.side, crop.y0 + crop.side):
        return rgb[ys:ye, xs:xe]
    out = np.zeros((crop.side, crop.side, 3), np.uint8)
    out[ys - crop.y0:ye - crop.y0, xs - crop.x0:xe - crop.x0] = rgb[ys:ye, xs:xe]
    return out


@dataclass(frozen=True)
class HandsInFrame:
    """The followed person's two hands in one frame (index 0 left, 1 right).

    image: (2, 21, 3) pixels of the full-size frame (x, y; z depth from the wrist on the x
    scale), NaN where not found. world: (2, 21, 3) metres (MediaPipe's hand world landmarks,
    the camera's axes, origin near the hand's centre), NaN where not found. confidence: (2,)
    the body's confidence in that wrist times how well the hand's wrist agrees with it
    (1 - distance / gate), 0 where not found.
    """

    image: np.ndarray
    world: np.ndarray
    confidence: np.ndarray

    @classmethod
    def none(cls) -> "HandsInFrame":
        return cls(np.full((2, NUM_HAND_LANDMARKS, 3), np.nan, np.float32),
                   np.full((2, NUM_HAND_LANDMARKS, 3), np.nan, np.float32), np.zeros(2, np.float32))


class HandFinder:
    """Finds the followed person's hands frame by frame. Use as a context manager."""

    def __init__(self, task_path: str | Path | None = None):
        self.task_path = task_path
        self._landmarkers = [HandLandmarker(task_path, num_hands=1, video=True) for _ in SIDES]
        self._lost = [0, 0]  # looks since each hand was last found
        self._last_look: float | None = None  # time of the last frame looked at

    def __enter__(self) -> "HandFinder":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for landmarker in self._landmarkers:
            landmarker.close()

    def find(self, rgb: np.ndarray, time_s: float, points: np.ndarray, confidence: np.ndarray,
             scale: float = 1.0) -> HandsInFrame | None:
        """The hands of the person whose pose landmarks are ``points`` (33, 2) pixels of the
        full-size frame, confidence (33,), in ``rgb``: that frame downscaled by ``scale``.
        None when the frame is skipped (less than 3/4 of 1 / MAX_RATE after the last look)."""
        if self._last_look is not None and time_s - self._last_look < 0.75 / MAX_RATE:
            return None
        self._last_look = time_s
        found = HandsInFrame.none()
        for side in (LEFT, RIGHT):
            crop = hand_crop(np.asarray(points, np.float64) * scale, confidence, side)
            lost = self._lost[side]
            self._lost[side] += 1
            if crop is None or (lost and (lost - 1) % RETRY_EVERY):
                continue
            pixels = cut(rgb, crop)
            if pixels is None:
                continue
            hands = self._landmarkers[side].detect(pixels, time_s)
            if not len(hands):
                continue
            image = hands.image[0] * crop.side + np.array([crop.x0, crop.y0, 0.0])
            wrist = np.asarray(points[_POSE_HAND[side][0]], np.float64) * scale
            distance = float(np.linalg.norm(image[WRIST, :2] - wrist)) / crop.hand_length
            if distance > GATE:
                # Not this wrist's hand (the other hand, someone else's): start afresh, or the
                # landmarker would keep following it.
                self._landmarkers[side].close()
                self._landmarkers[side] = HandLandmarker(self.task_path, num_hands=1, video=True)
                continue
            found.image[side] = image / scale
            found.world[side] = hands.world[0]
            found.confidence[side] = confidence[_POSE_HAND[side][0]] * (1.0 - distance / GATE)
            self._lost[side] = 0
        return found


def fill_skipped(image: np.ndarray, world: np.ndarray, confidence: np.ndarray,
                 looked: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hand tracks (T, 2, ...) with the frames that were not ``looked`` (T,) at interpolated
    linearly between the looks before and after, where both found that hand; elsewhere those
    frames stay without it."""
    image, world, confidence = image.copy(), world.copy(), confidence.copy()
    looks = np.flatnonzero(looked)
    for before, after in zip(looks[:-1], looks[1:]):
        if after - before < 2:
            continue
        w = (np.arange(before + 1, after) - before) / (after - before)
        both = (confidence[before] > 0) & (confidence[after] > 0)
        for side in np.flatnonzero(both):
            for track in (image, world, confidence):
                shape = (-1,) + (1,) * (track.ndim - 2)
                track[before + 1:after, side] = ((1 - w).reshape(shape) * track[before, side]
                                                 + w.reshape(shape) * track[after, side])
    return image, world, confidence


def chirality(world: np.ndarray, side: int) -> np.ndarray:
    """How much hands (..., 21, 3) look like a ``side`` hand in 3D: positive when the fingers
    curl and the thumb sits towards the palm that the side's palm normal says, negative for the
    mirror image (the same picture with the depth reversed); near 0 for a flat hand. Reversing
    the depth negates it."""
    along, _, normal = palm_axes(world[..., WRIST, :], world[..., INDEX_BASE, :],
                                 world[..., PINKY_BASE, :], side == LEFT)
    normal = normalize(normal)
    fingers = normalize(world[..., FINGER_TIPS, :] - world[..., FINGER_BASES, :])
    curl = (fingers * normal[..., None, :]).sum(-1).mean(-1)
    thumb = ((world[..., THUMB_TIP, :] - world[..., WRIST, :]) * normal).sum(-1)
    return curl + thumb / np.maximum(np.linalg.norm(along, axis=-1), 1e-9)


def _turn(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angles (radians) of the rotations between frames ``a`` and ``b`` (..., 3, 3)."""
    cosine = (np.einsum("...ij,...ij->...", a, b) - 1.0) / 2.0
    return np.arccos(np.clip(cosine, -1.0, 1.0))


def depth_senses(world: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray]:
    """Which frames of one hand's track (T, 21, 3) (NaN where not found) to reverse in depth
    (T,) bool, and each frame's chirality once that is done (T,) (0 where not found).

    One view does not tell a hand from its depth-mirror, and on blurred or edge-on hands
    MediaPipe's 3D flips between the two. The senses are chosen, over each run of consecutive
    found frames, to make the hand a ``side`` hand (cost: how negative its :func:`chirality`
    is) and its palm turn little from frame to frame (cost: the turn in radians), the least
    total cost (dynamic programming over the two senses per frame)."""
    found = np.isfinite(world).all((-1, -2))
    flips = np.zeros(len(world), bool)
    safe = np.nan_to_num(world)
    mirrored = safe * np.array([1.0, 1.0, -1.0])
    score = np.where(found, chirality(safe, side), 0.0)
    frames = np.stack([palm_frame(safe, side == LEFT), palm_frame(mirrored, side == LEFT)], 1)  # (T, 2, 3, 3)
    node = np.stack([np.maximum(-score, 0.0), np.maximum(score, 0.0)], 1)            # (T, 2)
    starts = np.flatnonzero(found & ~np.r_[False, found[:-1]])
    ends = np.flatnonzero(found & ~np.r_[found[1:], False]) + 1
    for start, end in zip(starts, ends):
        total = node[start].copy()
        back = np.zeros((end - start, 2), int)
        for t in range(start + 1, end):
            step = total[:, None] + _turn(frames[t - 1][:, None], frames[t][None, :])  # (from, to)
            back[t - start] = step.argmin(0)
            total = step.min(0) + node[t]
        k = int(total.argmin())
        for t in range(end - 1, start - 1, -1):
            flips[t] = k == 1
            k = back[t - start, k]
    return flips, np.where(flips, -score, score)


def consistent_chirality(image: np.ndarray, world: np.ndarray, confidence: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hand tracks (T, 2, 21, 3) (image and world, NaN where not found) and their confidence
    (T, 2), with the depth reversed where :func:`depth_senses` says, and the confidence 0
    where even so the hand is clearly not a hand of its side (below -CLEAR_CHIRALITY: fingers
    bent backwards, which no hand does; kept for the record, used by no one)."""
    image, world, confidence = image.copy(), world.copy(), confidence.copy()
    for side in (LEFT, RIGHT):
        flips, score = depth_senses(world[:, side], side)
        world[flips, side, :, 2] *= -1.0
        image[flips, side, :, 2] *= -1.0
        confidence[score < -CLEAR_CHIRALITY, side] = 0.0
    return image, world, confidence


def drop_outliers(world: np.ndarray, confidence: np.ndarray, fps: float) -> np.ndarray:
    """Confidence (T, 2) set to 0 in frames whose palm faces otherwise than in most frames
    around them (OUTLIER_TURN_DEG, OUTLIER_SECONDS), for hand tracks (T, 2, 21, 3)."""
    confidence = confidence.copy()
    window = max(1, int(round(OUTLIER_SECONDS * fps)))
    for side in (LEFT, RIGHT):
        seen = np.flatnonzero(confidence[:, side] > 0)
        frames = palm_frame(np.nan_to_num(world[seen, side]), side == LEFT)
        weight = confidence[seen, side]
        drop = []
        for i, t in enumerate(seen):
            near = np.flatnonzero((np.abs(seen - t) <= window) & (seen != t))
            if not len(near):
                continue
            agree = np.degrees(_turn(frames[i], frames[near])) <= OUTLIER_TURN_DEG
            if weight[near][agree].sum() < weight[near][~agree].sum():
                drop.append(t)
        confidence[drop, side] = 0.0
    return confidence
