"""Pinhole cameras and the screen normalisation the lifters use (numpy, no torch).

Conventions (fixed across the product):
- Camera frame: x right, y down, z forward (away from the camera), metres.
- A camera's extrinsics are a rotation ``R`` (3, 3) world->camera and the camera centre ``C``
  (3,) in world coordinates: ``X_cam = R @ (X_world - C)``.
- Intrinsics: focal lengths ``(fx, fy)`` and principal point ``(cx, cy)`` in pixels.
- Pixel coordinates: origin at the top-left image corner, x right, y down.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


# The diagonal of a full-frame (35 mm) sensor: what a "35 mm-equivalent" focal length refers to.
FULL_FRAME_DIAGONAL_MM: float = 43.27


@dataclass(frozen=True)
class Intrinsics:
    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    @classmethod
    def from_fov(cls, width: int, height: int, horizontal_fov_deg: float) -> "Intrinsics":
        """Square pixels, principal point at the image centre."""
        f = 0.5 * width / np.tan(np.radians(horizontal_fov_deg) / 2)
        return cls(f, f, width / 2, height / 2, width, height)

    @classmethod
    def from_focal_35mm(cls, width: int, height: int, focal_35mm: float) -> "Intrinsics":
        """From a 35 mm-equivalent focal length (what phone spec sheets quote).

        The 35 mm equivalent refers to the 43.27 mm diagonal of a full-frame sensor.
        """
        f = focal_35mm * np.hypot(width, height) / FULL_FRAME_DIAGONAL_MM
        return cls(f, f, width / 2, height / 2, width, height)

    @property
    def focal_35mm(self) -> float:
        """The 35 mm-equivalent focal length of ``fx`` (the inverse of :meth:`from_focal_35mm`)."""
        return float(self.fx * FULL_FRAME_DIAGONAL_MM / np.hypot(self.width, self.height))


def world_to_camera(points: np.ndarray, R: np.ndarray, C: np.ndarray) -> np.ndarray:
    """(..., 3) world points -> camera frame. ``R``: (..., 3, 3), ``C``: (..., 3), broadcast."""
    return np.einsum("...ij,...j->...i", R, points - C)


def camera_to_world(points: np.ndarray, R: np.ndarray, C: np.ndarray) -> np.ndarray:
    """Inverse of :func:`world_to_camera`."""
    return np.einsum("...ji,...j->...i", R, points) + C


def project(points_cam: np.ndarray, fx, fy, cx, cy) -> np.ndarray:
    """Pinhole projection of camera-frame points (..., 3) to pixels (..., 2).

    Intrinsics may be scalars or arrays broadcastable to ``points_cam[..., 0]``.
    """
    z = points_cam[..., 2]
    u = fx * points_cam[..., 0] / z + cx
    v = fy * points_cam[..., 1] / z + cy
    return np.stack([u, v], axis=-1)


def unproject(pixels: np.ndarray, depth: np.ndarray, fx, fy, cx, cy) -> np.ndarray:
    """Pixels (..., 2) at camera-frame depth ``z`` (...) -> camera-frame points (..., 3)."""
    x = (pixels[..., 0] - cx) / fx * depth
    y = (pixels[..., 1] - cy) / fy * depth
    return np.stack([x, y, depth], axis=-1)


def look_at(eye: np.ndarray, target: np.ndarray, world_up: np.ndarray) -> np.ndarray:
    """World->camera rotation(s) for cameras at ``eye`` looking at ``target``.

    Shapes (..., 3). ``world_up`` is the world's up direction; the camera's y axis (down in the
    image) points along ``-world_up`` projected onto the image plane. Returns (..., 3, 3) whose
    rows are the camera's x, y, z axes in world coordinates.
    """
    forward = target - eye
    forward = forward / np.linalg.norm(forward, axis=-1, keepdims=True)
    right = np.cross(forward, np.broadcast_to(world_up, forward.shape))
    right = right / np.linalg.norm(right, axis=-1, keepdims=True)
    down = np.cross(forward, right)
    return np.stack([right, down, forward], axis=-2)


def screen_scale(image_size: tuple[float, float]) -> float:
    """Pixels per normalised unit: half the longer image side."""
    width, height = image_size
    return max(width, height) / 2.0


def normalize_screen(pixels: np.ndarray, image_size: tuple[float, float]) -> np.ndarray:
    """Pixels -> normalised screen coordinates.

    Centred on the image centre and divided by half the longer side, so the longer axis spans
    [-1, 1] and the shorter one keeps the aspect ratio. Portrait and landscape footage are
    treated alike, and mirroring the image is ``x -> -x``.
    """
    width, height = image_size
    centre = np.array([width / 2.0, height / 2.0], dtype=np.float64)
    return ((pixels - centre) / screen_scale(image_size)).astype(pixels.dtype, copy=False)


def unnormalize_screen(coords: np.ndarray, image_size: tuple[float, float]) -> np.ndarray:
    """Inverse of :func:`normalize_screen`."""
    width, height = image_size
    centre = np.array([width / 2.0, height / 2.0], dtype=np.float64)
    return (coords * screen_scale(image_size) + centre).astype(coords.dtype, copy=False)
