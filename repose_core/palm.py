"""The palm MediaPipe's 21 hand landmarks span, in one place for every user: hand detection
(which way a found hand faces), the add-on's finger rotations (the hand's own frame) and
retargeting (which way a rig's rest palm faces). numpy only."""
from __future__ import annotations

import numpy as np

from .rotations import frame_from_axes

# MediaPipe hand landmarks: the wrist, and the index and little fingers' bases (MCP).
WRIST, INDEX_BASE, PINKY_BASE = 0, 5, 17


def palm_axes(wrist: np.ndarray, index_base: np.ndarray, pinky_base: np.ndarray,
              left: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Along the hand (wrist to the middle of the index and little-finger bases), across it
    (towards the thumb) and the normal out of the palm, (..., 3) each, unnormalised, for a left
    hand or (mirrored) a right one."""
    along = 0.5 * (index_base + pinky_base) - wrist
    across = index_base - pinky_base
    normal = np.cross(along, across) * (1.0 if left else -1.0)
    return along, across, normal


def palm_frame(points: np.ndarray, left: bool) -> np.ndarray:
    """The hand's own frame (..., 3, 3) from its landmarks (..., 21, 3): Y from the wrist to
    the middle of the index and little-finger bases, Z out of the palm (the plane of the wrist
    and those two bases), X = Y x Z, the axis the fingers curl about."""
    along, _, normal = palm_axes(points[..., WRIST, :], points[..., INDEX_BASE, :],
                                 points[..., PINKY_BASE, :], left)
    return frame_from_axes(along, np.cross(along, normal))
