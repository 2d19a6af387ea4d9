"""Virtual cameras around a person, sampled for whole batches at once (numpy).

What real footage of one person looks like, and what these cameras draw from:
- all around the person (azimuth 0-360°), from slightly below to well above (elevation
  -10°...+30° seen from the pelvis), 2.5-7 m away;
- the lenses of phones (ultra-wide 13-16 mm, main 24-28 mm, tele 48-77 mm, 35 mm equivalent)
  and camcorders (29-40 mm at the wide end), zoomed out when the person would not fit: whoever
  films a person keeps them in the frame;
- portrait and landscape image sizes, a little roll (hand-held) and the person off-centre.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from repose_core.camera import Intrinsics, look_at
from repose_core.features import roll_matrix

FOCALS_35MM: tuple[float, ...] = (13, 16, 24, 26, 28, 29.8, 35, 40, 48, 52, 77)
# Main phone lenses dominate real footage; tele and ultra-wide are rarer.
FOCAL_WEIGHTS: tuple[float, ...] = (0.5, 0.5, 2.0, 2.0, 1.5, 1.0, 1.0, 0.5, 0.5, 0.3, 0.3)
IMAGE_SIZES: tuple[tuple[int, int], ...] = (
    (1920, 1080), (1280, 720), (3840, 2160), (1440, 1080),  # landscape
    (1080, 1920), (720, 1280), (2160, 3840),                # portrait (phones)
)
WORLD_UP = np.array([0.0, 1.0, 0.0])
_BODY_EXTENT_M = 2.0      # a standing person with raised arms, for the framing limit
_FILL = 0.85              # at most this fraction of the image height


@dataclass(frozen=True)
class CameraConfig:
    distance_m: tuple[float, float] = (2.5, 7.0)
    elevation_deg: tuple[float, float] = (-10.0, 30.0)
    roll_deg: float = 3.0            # standard deviation
    aim_jitter_m: float = 0.3        # standard deviation of the aim point around the pelvis


@dataclass(frozen=True)
class CameraBatch:
    """B static pinhole cameras: ``X_cam = R @ (X_world - C)``."""

    R: np.ndarray        # (B, 3, 3) world -> camera
    C: np.ndarray        # (B, 3) camera centres, world
    focal: np.ndarray    # (B,) pixels (square pixels)
    size: np.ndarray     # (B, 2) int (width, height)

    @property
    def principal(self) -> np.ndarray:
        return self.size / 2.0

    def __len__(self) -> int:
        return self.R.shape[0]


def sample_cameras(
    rng: np.random.Generator,
    targets: np.ndarray,
    config: CameraConfig = CameraConfig(),
) -> CameraBatch:
    """One camera per target point (B, 3) (world, Y up), aimed near it."""
    n = targets.shape[0]
    az = rng.uniform(0, 2 * np.pi, n)
    el = np.radians(rng.uniform(*config.elevation_deg, n))
    dist = rng.uniform(*config.distance_m, n)
    direction = np.stack([np.cos(el) * np.sin(az), np.sin(el), np.cos(el) * np.cos(az)], -1)
    eye = targets + dist[:, None] * direction
    aim = targets + rng.normal(0, config.aim_jitter_m, (n, 3))
    R = look_at(eye, aim, WORLD_UP)
    R = roll_matrix(np.radians(rng.normal(0, config.roll_deg, n))) @ R

    size = np.asarray(IMAGE_SIZES)[rng.integers(len(IMAGE_SIZES), size=n)]
    p = np.asarray(FOCAL_WEIGHTS) / np.sum(FOCAL_WEIGHTS)
    f35 = np.asarray(FOCALS_35MM)[rng.choice(len(FOCALS_35MM), size=n, p=p)]
    focal = Intrinsics.from_focal_35mm(size[:, 0], size[:, 1], f35).fx  # vectorised over B
    fits = _FILL * size[:, 1] * (dist - 0.5) / _BODY_EXTENT_M
    return CameraBatch(R, eye, np.minimum(focal, fits), size)
