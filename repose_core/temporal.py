"""Signals over time (numpy): Gaussian smoothing and gap filling, for any (T, ...) array.

Shared by the add-on's motion steps and the trainer's renderer, which both smooth tracks of
points over frames.
"""
from __future__ import annotations

import numpy as np


def gaussian_smooth(x: np.ndarray, sigma_frames: float) -> np.ndarray:
    """Smooth ``x`` (T, ...) along axis 0 with a Gaussian of ``sigma_frames``; edges reflect."""
    if sigma_frames < 0:
        raise ValueError(f"sigma_frames must be >= 0, got {sigma_frames}")
    x = np.asarray(x)
    if sigma_frames < 1e-3 or len(x) < 2:
        return x.copy()
    radius = min(int(np.ceil(3.0 * sigma_frames)), len(x) - 1)
    offsets = np.arange(-radius, radius + 1)
    weights = np.exp(-0.5 * (offsets / sigma_frames) ** 2)
    weights /= weights.sum()
    padded = np.pad(x.astype(np.float64), [(radius, radius)] + [(0, 0)] * (x.ndim - 1), mode="reflect")
    out = np.zeros(x.shape, dtype=np.float64)
    for k, weight in enumerate(weights):
        out += weight * padded[k : k + len(x)]
    return out.astype(x.dtype, copy=False)


def fill_gaps(x: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Linearly interpolate ``x`` (T, ...) over frames where ``valid`` (T,) is False.

    Frames before the first / after the last valid frame hold the nearest valid value.
    Raises ValueError when no frame is valid.
    """
    valid = np.asarray(valid, dtype=bool)
    if valid.shape != (len(x),):
        raise ValueError(f"valid must have shape ({len(x)},), got {valid.shape}")
    if not valid.any():
        raise ValueError("no valid frame to interpolate from")
    if valid.all():
        return np.array(x, copy=True)
    frames = np.arange(len(x))
    known = np.flatnonzero(valid)
    flat = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    filled = np.empty_like(flat)
    for column in range(flat.shape[1]):
        filled[:, column] = np.interp(frames, known, flat[known, column])
    return filled.reshape(np.shape(x)).astype(np.asarray(x).dtype, copy=False)
