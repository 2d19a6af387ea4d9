"""The generated armature's hands: bone names, the rest hand and its forward kinematics (numpy).

Per side (``.L`` is the person's own left) a ``hand`` bone (child of ``forearm``, from the wrist
to the knuckles) and three bones for each finger and the thumb, named as Rigify's metarig names
them: ``thumb.01`` (the thumb's metacarpal) to ``thumb.03``, ``f_index.01`` (the first phalanx,
from the knuckle) to ``f_index.03``, and likewise ``f_middle``, ``f_ring``, ``f_pinky``. Each
bone spans two of MediaPipe's 21 hand landmarks (:data:`BONE_LANDMARKS`).

The rest hand is a flat open hand (a fixed template, scaled with the forearm), palm down at the
end of the T-pose arm, thumb forward. Every hand bone's frame has Y along the bone and Z out of
the palm (for the thumb: towards the palm and the little finger, the way it curls), so X is the
axis fingers curl about: a positive rotation about local X curls a finger, about local Z (the
knuckles only) spreads it. Blender world: Z up, the person faces -Y.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from repose_core.palm import INDEX_BASE, PINKY_BASE, WRIST, palm_frame
from repose_core.rotations import frame_from_axes, normalize, quaternion_to_matrix

from .rig import BONE_INDEX, BONE_NAMES, RestSkeleton

SIDES: tuple[str, ...] = ("L", "R")          # the order of Detection2D's hands: left, right
FINGERS: tuple[str, ...] = ("thumb", "f_index", "f_middle", "f_ring", "f_pinky")
# MediaPipe hand landmarks along each finger, base first (4 points, 3 bones).
FINGER_LANDMARKS: dict[str, tuple[int, int, int, int]] = {
    "thumb": (1, 2, 3, 4), "f_index": (5, 6, 7, 8), "f_middle": (9, 10, 11, 12),
    "f_ring": (13, 14, 15, 16), "f_pinky": (17, 18, 19, 20),
}
NUM_HAND_LANDMARKS = 21


def _layout() -> tuple[tuple[str, str, str, str | None, int], ...]:
    bones = []
    for side in SIDES:
        bones.append((f"hand.{side}", f"forearm.{side}", side, None, 0))
        for finger in FINGERS:
            for k in range(3):
                parent = f"hand.{side}" if k == 0 else f"{finger}.{k:02d}.{side}"
                bones.append((f"{finger}.{k + 1:02d}.{side}", parent, side, finger, k))
    return tuple(bones)


# (bone, parent, side, finger or None for the hand bone, segment 0..2 along the finger).
HAND_BONE_LAYOUT: tuple[tuple[str, str, str, str | None, int], ...] = _layout()
HAND_BONE_NAMES: tuple[str, ...] = tuple(b[0] for b in HAND_BONE_LAYOUT)
HAND_BONE_INDEX: dict[str, int] = {name: i for i, name in enumerate(HAND_BONE_NAMES)}
BONES_PER_HAND: int = len(HAND_BONE_NAMES) // 2
# The generated armature with hands: the body's bones, then the hands'.
ALL_BONE_NAMES: tuple[str, ...] = BONE_NAMES + HAND_BONE_NAMES
# (head, tail) hand landmarks of each bone.
BONE_LANDMARKS: tuple[tuple[int, int], ...] = tuple(
    (WRIST, -1) if finger is None else FINGER_LANDMARKS[finger][k:k + 2]
    for _, _, _, finger, k in HAND_BONE_LAYOUT)


def side_bones(side: str) -> tuple[str, ...]:
    """The hand bones of ``side`` ("L" or "R"), hand first, in HAND_BONE_NAMES order."""
    return tuple(name for name, _, s, _, _ in HAND_BONE_LAYOUT if s == side)


# A flat open hand (metres, for a forearm of TEMPLATE_FOREARM), MediaPipe's 21 landmarks in
# palm coordinates: along the fingers, towards the thumb, out of the palm.
TEMPLATE_FOREARM: float = 0.25
HAND_TEMPLATE: np.ndarray = np.array([
    (0.000, 0.000, 0.000),                                                            # wrist
    (0.026, 0.026, 0.012), (0.052, 0.048, 0.018), (0.074, 0.062, 0.020), (0.094, 0.072, 0.020),  # thumb
    (0.090, 0.024, 0.0), (0.132, 0.028, 0.0), (0.157, 0.030, 0.0), (0.177, 0.031, 0.0),  # index
    (0.093, 0.003, 0.0), (0.139, 0.003, 0.0), (0.167, 0.003, 0.0), (0.189, 0.003, 0.0),  # middle
    (0.088, -0.016, 0.0), (0.130, -0.019, 0.0), (0.157, -0.021, 0.0), (0.178, -0.022, 0.0),  # ring
    (0.079, -0.033, 0.0), (0.111, -0.038, 0.0), (0.131, -0.041, 0.0), (0.148, -0.043, 0.0),  # pinky
])
# How much the thumb's curl leans towards the little finger, besides into the palm.
_THUMB_CURL_ACROSS = 0.8


def side_sign(side: str) -> float:
    """+1 for the left hand, -1 for the right: the palm normal's sign (mirror images)."""
    return 1.0 if side == "L" else -1.0


def template_in_world(side: str, wrist: np.ndarray, scale: float) -> np.ndarray:
    """The template's 21 points (21, 3) of a rest hand of ``side`` at ``wrist``: along the T-pose
    arm (the left's +X, the right's -X), thumb forward (-Y), palm down (-Z)."""
    axes = np.array([[side_sign(side), 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]]).T
    return np.asarray(wrist, np.float64) + scale * HAND_TEMPLATE @ axes.T


@dataclass(frozen=True)
class HandRest:
    """The hands of the generated armature at rest (Blender world, metres), HAND_BONE_NAMES
    order."""

    heads: np.ndarray         # (32, 3)
    frames: np.ndarray        # (32, 3, 3) columns = local X, Y, Z axes
    bone_lengths: np.ndarray  # (32,)

    @property
    def tails(self) -> np.ndarray:
        return self.heads + self.frames[:, :, 1] * self.bone_lengths[:, None]

    def parent_frame(self, bone: int, body: RestSkeleton) -> np.ndarray:
        """Rest frame (3, 3) of a hand bone's parent (a body bone for the hand bones)."""
        parent = HAND_BONE_LAYOUT[bone][1]
        if parent in HAND_BONE_INDEX:
            return self.frames[HAND_BONE_INDEX[parent]]
        return body.frames[BONE_INDEX[parent]]

    def relative(self, bone: int, body: RestSkeleton) -> np.ndarray:
        """The bone's rest frame in its parent's (3, 3): Blender's rest offset between them."""
        return self.parent_frame(bone, body).T @ self.frames[bone]


def build_hand_rest(body: RestSkeleton) -> HandRest:
    """Flat open hands at the wrists of ``body``'s T-pose, sized by its forearms."""
    heads = np.zeros((len(HAND_BONE_NAMES), 3))
    frames = np.zeros((len(HAND_BONE_NAMES), 3, 3))
    lengths = np.zeros(len(HAND_BONE_NAMES))
    tails = body.tails
    for side in SIDES:
        forearm = BONE_INDEX[f"forearm.{side}"]
        points = template_in_world(side, tails[forearm],
                                   body.bone_lengths[forearm] / TEMPLATE_FOREARM)
        palm = palm_frame(points, side == "L")
        normal = palm[:, 2]
        for name in side_bones(side):
            b = HAND_BONE_INDEX[name]
            finger, k = HAND_BONE_LAYOUT[b][3], HAND_BONE_LAYOUT[b][4]
            if finger is None:
                heads[b], frames[b] = points[WRIST], palm
                knuckles = 0.5 * (points[INDEX_BASE] + points[PINKY_BASE])
                lengths[b] = float(np.linalg.norm(knuckles - points[WRIST]))
                continue
            chain = points[list(FINGER_LANDMARKS[finger])]
            segment_lengths = np.linalg.norm(np.diff(chain, axis=0), axis=-1)
            direction = normalize(chain[-1] - chain[0])  # straight fingers: one direction
            curl = normal
            if finger == "thumb":  # the thumb curls into the palm and across it
                towards_thumb = normalize(points[INDEX_BASE] - points[PINKY_BASE])
                curl = normalize(normal - _THUMB_CURL_ACROSS * towards_thumb)
            heads[b] = chain[0] + direction * segment_lengths[:k].sum()
            frames[b] = frame_from_axes(direction, np.cross(direction, curl))
            lengths[b] = segment_lengths[k]
    return HandRest(heads=heads, frames=frames, bone_lengths=lengths)


def hand_points(quaternions: np.ndarray, hand_rest: HandRest, body: RestSkeleton,
                forearm_frames: np.ndarray, wrists: np.ndarray) -> np.ndarray:
    """The 21 landmark points per hand (T, 2, 21, 3) of the generated armature posed with hand
    keys ``quaternions`` (T, 32, 4), given the forearms' world frames (T, 2, 3, 3) and the wrists
    (T, 2, 3) (left, right). The same composition as Blender's (and ``rotations``')."""
    rotations = quaternion_to_matrix(quaternions)
    count = len(quaternions)
    frames = np.empty((count, len(HAND_BONE_NAMES), 3, 3))
    heads = np.empty((count, len(HAND_BONE_NAMES), 3))
    points = np.empty((count, 2, NUM_HAND_LANDMARKS, 3))
    for b, (name, parent, side, finger, k) in enumerate(HAND_BONE_LAYOUT):
        s = SIDES.index(side)
        relative = hand_rest.relative(b, body)
        if finger is None:
            parent_frames, parent_rest = forearm_frames[:, s], body.frames[BONE_INDEX[parent]]
            heads[:, b] = wrists[:, s]
        else:
            p = HAND_BONE_INDEX[parent]
            parent_frames, parent_rest = frames[:, p], hand_rest.frames[p]
            offset = parent_rest.T @ (hand_rest.heads[b] - hand_rest.heads[p])
            heads[:, b] = heads[:, p] + parent_frames @ offset
        frames[:, b] = parent_frames @ relative @ rotations[:, b]
        head, tail = BONE_LANDMARKS[b]
        points[:, s, head] = heads[:, b]
        if tail >= 0:
            points[:, s, tail] = heads[:, b] + frames[:, b, :, 1] * hand_rest.bone_lengths[b]
    return points
