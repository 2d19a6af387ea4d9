"""Lifter input features: the one definition shared by the trainer and the runtime (numpy).

A lifter sees, per frame and joint, ``(x, y, confidence)`` where ``(x, y)`` are the 2D keypoints
centred on the 2D pelvis and divided by the frame's confidence-weighted RMS joint radius.

Why per-frame root-centring and scale: the output is pelvis-relative and in metres, so the
person's position in the image and their distance to the camera carry no information the
lifter needs, only nuisance (virtual cameras in training span 2.5-7 m and many focal lengths;
real footage anything). The RMS radius over all joints is far steadier under pose change than
a bounding box, and low-confidence joints barely move it. Everything is per frame, so the
features of a frame never depend on how a long clip is chunked.

A lifter may also read MediaPipe's own 3D (its world landmarks mapped to the 17 joints, metres,
pelvis-centred, in the camera's axes): it carries image cues no 2D keypoint has (shading,
occlusion, the detector's learnt body). :func:`with_world` appends it as four more channels per
joint, ``(x, y, z, present)``; where there is none (no person found, or training windows made
from mocap alone) the channels are 0 and ``present`` says so, so one model serves both.
"""
from __future__ import annotations

import numpy as np

from .camera import normalize_screen
from .skeleton import FLIP_PERMUTATION, NUM_JOINTS, ROOT

INPUT_CHANNELS: int = 3
FEATURES_VERSION: str = "root-rms-v1"
WORLD_FEATURES_VERSION: str = "root-rms-v1+world"
# Channels of each feature set a model may be trained on.
FEATURE_SETS: dict[str, int] = {FEATURES_VERSION: INPUT_CHANNELS, WORLD_FEATURES_VERSION: INPUT_CHANNELS + 4}
# Channels holding an x coordinate (mirroring negates them): the 2D x and, with world, the 3D x.
_X_CHANNELS = (0, INPUT_CHANNELS)
_MIN_SCALE = 1e-4


def lifter_features(
    keypoints: np.ndarray,
    confidence: np.ndarray,
    image_size: tuple[float, float],
) -> np.ndarray:
    """Build model inputs from pixel keypoints.

    keypoints: (..., 17, 2) pixels, finite (fill missing joints before calling).
    confidence: (..., 17) in [0, 1].
    image_size: (width, height) in pixels.
    Returns (..., 17, 3) float32.
    """
    if keypoints.shape[-2:] != (NUM_JOINTS, 2):
        raise ValueError(f"keypoints must have shape (..., {NUM_JOINTS}, 2), got {keypoints.shape}")
    if confidence.shape != keypoints.shape[:-1]:
        raise ValueError(
            f"confidence must have shape {keypoints.shape[:-1]}, got {confidence.shape}"
        )
    screen = normalize_screen(keypoints.astype(np.float64), image_size)
    centred = screen - screen[..., ROOT : ROOT + 1, :]
    weights = np.clip(confidence, 0.0, 1.0) + 1e-3  # never all-zero: a frame with no
    radius2 = (centred**2).sum(-1)                 # confident joint still gets a scale
    scale = np.sqrt((radius2 * weights).sum(-1) / weights.sum(-1))
    centred = centred / np.maximum(scale, _MIN_SCALE)[..., None, None]
    return np.concatenate([centred, confidence[..., None]], axis=-1).astype(np.float32)


def with_world(features: np.ndarray, world: np.ndarray | None) -> np.ndarray:
    """2D features (..., 17, 3) + MediaPipe's 3D (..., 17, 3) metres, pelvis-centred, NaN where
    absent, or None for none at all -> (..., 17, 7) float32: ``(x, y, conf, X, Y, Z, present)``."""
    shape = features.shape[:-1] + (3,)
    world = np.full(shape, np.nan) if world is None else np.asarray(world, dtype=np.float64)
    if world.shape != shape:
        raise ValueError(f"world must have shape {shape} like the keypoints, got {world.shape}")
    present = np.isfinite(world).all(-1, keepdims=True)
    return np.concatenate([features, np.where(present, world, 0.0), present], axis=-1).astype(np.float32)


def rolled_xy(vectors: np.ndarray, angle: np.ndarray | float) -> np.ndarray:
    """Vectors (..., D >= 2) of a camera frame (x right, y down) as seen by the camera rolled by
    ``angle`` (radians, broadcast against ``vectors[..., 0]``) about its optical axis: x and y
    turned, the rest kept. Image points centred on the principal point turn alike, since the
    projection divides x and y by the same depth."""
    c, s = np.cos(angle), np.sin(angle)
    out = np.array(vectors, copy=True)
    out[..., 0] = c * vectors[..., 0] + s * vectors[..., 1]
    out[..., 1] = -s * vectors[..., 0] + c * vectors[..., 1]
    return out


def roll_matrix(angle: np.ndarray | float) -> np.ndarray:
    """The rotations (..., 3, 3) that :func:`rolled_xy` applies, for ``angle`` (...,) radians:
    what a camera's world -> camera rotation is multiplied by on the left to roll it."""
    c, s = np.cos(angle), np.sin(angle)
    out = np.zeros(np.shape(angle) + (3, 3))
    out[..., 0, 0], out[..., 0, 1], out[..., 1, 0], out[..., 1, 1], out[..., 2, 2] = c, s, -s, c, 1.0
    return out


def roll_features(features: np.ndarray, angle: np.ndarray | float) -> np.ndarray:
    """The features (..., 17, C) of the image rolled by ``angle`` (radians, broadcast against
    ``features[..., 0]``) about the optical axis: the centred 2D turns (the RMS scale does not
    change) and so does MediaPipe's 3D where the feature set has it. Exact for a pinhole camera:
    features are centred on the pelvis, so turning about the principal point or the pelvis is
    the same."""
    rolled = rolled_xy(features, angle)
    if features.shape[-1] > INPUT_CHANNELS:
        rolled[..., INPUT_CHANNELS:] = rolled_xy(features[..., INPUT_CHANNELS:], angle)
    return rolled


def mirror_features(features: np.ndarray) -> np.ndarray:
    """The features of the mirrored image (..., 17, C): left and right joints swapped, every x
    channel negated (what ``skeleton.flip_pose`` does to a pose, for any feature set)."""
    mirrored = features[..., FLIP_PERMUTATION, :].copy()
    for channel in _X_CHANNELS:
        if channel < features.shape[-1]:
            mirrored[..., channel] *= -1
    return mirrored
