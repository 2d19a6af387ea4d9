"""Rotation helpers (numpy, vectorised over leading axes), shared by the add-on's motion modules
and the trainer's pose augmentation.

Quaternions are ``(w, x, y, z)``, Blender's order. Rotation matrices act on column vectors;
a "frame" is a rotation matrix whose columns are a bone's local X, Y, Z axes.
"""
from __future__ import annotations

import numpy as np

_EPS = 1e-9


def normalize(v: np.ndarray) -> np.ndarray:
    """Unit vectors along the last axis (zero vectors stay zero)."""
    norm = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(norm, _EPS)


def frame_from_axes(y_dir: np.ndarray, x_ref: np.ndarray) -> np.ndarray:
    """Right-handed frame (..., 3, 3) with Y along ``y_dir`` and X towards ``x_ref``.

    ``x_ref`` must not be parallel to ``y_dir``; its component along Y is discarded.
    """
    y = normalize(np.asarray(y_dir, dtype=np.float64))
    x_ref = np.asarray(x_ref, dtype=np.float64)
    x = normalize(x_ref - (x_ref * y).sum(-1, keepdims=True) * y)
    z = np.cross(x, y)
    return np.stack([x, y, z], axis=-1)


def skew(v: np.ndarray) -> np.ndarray:
    """Cross-product matrices (..., 3, 3) of vectors (..., 3)."""
    zero = np.zeros_like(v[..., 0])
    x, y, z = v[..., 0], v[..., 1], v[..., 2]
    return np.stack(
        [np.stack([zero, -z, y], -1), np.stack([z, zero, -x], -1), np.stack([-y, x, zero], -1)], -2
    )


def minimal_rotation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The smallest rotation (..., 3, 3) taking unit vectors ``a`` onto unit vectors ``b``.

    Rodrigues' formula; undefined only for exactly opposite vectors (a 180-degree swing, which
    no joint of the body makes relative to the parent-following direction).
    """
    v = np.cross(a, b)
    c = (a * b).sum(-1)
    k = skew(v)
    scale = 1.0 / np.maximum(1.0 + c, 1e-6)
    return np.eye(3) + k + (k @ k) * scale[..., None, None]


def axis_angle_matrix(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rotations (..., 3, 3) by ``angle`` (radians) about unit ``axis`` (..., 3)."""
    k = skew(axis)
    s = np.sin(angle)[..., None, None]
    c = np.cos(angle)[..., None, None]
    return np.eye(3) + s * k + (1.0 - c) * (k @ k)


def matrix_to_quaternion(m: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) -> unit quaternions (..., 4) ``(w, x, y, z)``.

    Shepperd's method: pick the largest of w, x, y, z to divide by, so it is stable for every
    rotation (including 180 degrees).
    """
    m = np.asarray(m, dtype=np.float64)
    m00, m11, m22 = m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]
    trace = m00 + m11 + m22
    candidates = np.stack([trace, m00, m11, m22], axis=-1)
    choice = candidates.argmax(-1)
    q = np.empty(m.shape[:-2] + (4,))
    # w largest
    s = np.sqrt(np.maximum(1.0 + trace, _EPS)) * 2.0
    qw = np.stack([0.25 * s, (m[..., 2, 1] - m[..., 1, 2]) / s,
                   (m[..., 0, 2] - m[..., 2, 0]) / s, (m[..., 1, 0] - m[..., 0, 1]) / s], -1)
    # x largest
    s = np.sqrt(np.maximum(1.0 + m00 - m11 - m22, _EPS)) * 2.0
    qx = np.stack([(m[..., 2, 1] - m[..., 1, 2]) / s, 0.25 * s,
                   (m[..., 0, 1] + m[..., 1, 0]) / s, (m[..., 0, 2] + m[..., 2, 0]) / s], -1)
    # y largest
    s = np.sqrt(np.maximum(1.0 - m00 + m11 - m22, _EPS)) * 2.0
    qy = np.stack([(m[..., 0, 2] - m[..., 2, 0]) / s, (m[..., 0, 1] + m[..., 1, 0]) / s,
                   0.25 * s, (m[..., 1, 2] + m[..., 2, 1]) / s], -1)
    # z largest
    s = np.sqrt(np.maximum(1.0 - m00 - m11 + m22, _EPS)) * 2.0
    qz = np.stack([(m[..., 1, 0] - m[..., 0, 1]) / s, (m[..., 0, 2] + m[..., 2, 0]) / s,
                   (m[..., 1, 2] + m[..., 2, 1]) / s, 0.25 * s], -1)
    for index, candidate in enumerate((qw, qx, qy, qz)):
        q[choice == index] = candidate[choice == index]
    return normalize(q)


def quaternion_to_matrix(q: np.ndarray) -> np.ndarray:
    """Unit quaternions (..., 4) ``(w, x, y, z)`` -> rotation matrices (..., 3, 3)."""
    q = normalize(np.asarray(q, dtype=np.float64))
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
            np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
            np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
        ],
        -2,
    )


def make_continuous(q: np.ndarray) -> np.ndarray:
    """Flip signs along axis 0 so adjacent quaternions (T, ..., 4) have a non-negative dot.

    ``q`` and ``-q`` are the same rotation, but Blender interpolates the four channels
    independently, so a sign flip between two keys would spin the bone the long way round.
    """
    q = np.array(q, copy=True)
    if len(q) < 2:
        return q
    dots = (q[1:] * q[:-1]).sum(-1)
    # Each frame's sign relative to the first is the product of the flips before it.
    signs = np.cumprod(np.where(dots < 0, -1.0, 1.0), axis=0)
    q[1:] *= signs[..., None]
    return q
