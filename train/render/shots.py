"""Where the camera stands for a rendered take: the footage people shoot of a person (numpy).

A shot is one camera over a take, static (a tripod, a phone on a shelf) or following the actor
(someone walking beside them with a phone). What varies, as it does in phone and camcorder
footage:

- height above the floor (waist-high phone to a camera raised overhead) and therefore pitch:
  the camera is aimed at the actor's middle, plus a little random tilt;
- direction around the actor, focal length (phone ultra-wide to tele, 35 mm equivalent),
  portrait or landscape, a touch of hand-held roll;
- distance: whoever films stands where the person fills a good part of the frame (40-85 % of
  its height), so a tele lens is used from further away than a wide one; and zooms out whenever
  the actor would leave the frame.

World frame: the mocap's (Y up, metres, floor at y = 0 after :func:`floor_height`). Cameras
follow ``repose_core.camera``: ``X_cam = R (X_world - C)``, x right, y down, z forward.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from repose_core.camera import Intrinsics, look_at, project, world_to_camera
from repose_core.rotations import axis_angle_matrix
from repose_core.skeleton import JOINT_INDEX, ROOT
from repose_core.temporal import gaussian_smooth

from ..synth.cameras import WORLD_UP

# Rows: Blender's X, Y, Z in mocap-world coordinates (Y up, the person faces +Z at rest).
Y_UP_TO_BLENDER = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
# Fraction of the image kept free at each border when zooming out to keep the actor in view.
_MARGIN = 0.06
_NEAREST_M = 0.5     # no joint may come closer to the lens than this
_ATTEMPTS = 20


@dataclass(frozen=True)
class ShotConfig:
    """What shots are drawn from. Heights are above the floor, lengths in metres."""

    height_m: tuple[float, float] = (0.5, 2.3)
    fill: tuple[float, float] = (0.4, 0.85)   # the standing actor's share of the image height
    min_distance_m: float = 1.8
    tilt_deg: float = 4.0              # std of the aim's random tilt off the actor's middle
    roll_deg: float = 2.0              # std of hand-held roll
    focal_35mm: tuple[float, ...] = (16.0, 24.0, 26.0, 28.0, 35.0, 50.0, 77.0)
    sizes: tuple[tuple[int, int], ...] = ((960, 540), (540, 960))
    follow_probability: float = 0.25   # shots whose camera follows the actor
    follow_lag_s: float = 0.5          # how far behind the actor a following camera trails


@dataclass(frozen=True)
class Shot:
    """One camera over a take of T frames (static cameras repeat one pose T times)."""

    R: np.ndarray          # (T, 3, 3) world -> camera
    C: np.ndarray          # (T, 3) camera centre, world
    focal_px: float
    size: tuple[int, int]  # (width, height)
    follow: bool

    @property
    def intrinsics(self) -> Intrinsics:
        w, h = self.size
        return Intrinsics(self.focal_px, self.focal_px, w / 2.0, h / 2.0, w, h)

    @property
    def up_in_camera(self) -> np.ndarray:
        """(T, 3) the world's up direction in each frame's camera frame (unit)."""
        return self.R @ WORLD_UP

    def to_camera(self, world: np.ndarray) -> np.ndarray:
        """World points (T, J, 3) -> camera frame (T, J, 3)."""
        return world_to_camera(world, self.R[:, None], self.C[:, None])

    def project(self, world: np.ndarray) -> np.ndarray:
        """World points (T, J, 3) -> pixels (T, J, 2)."""
        k = self.intrinsics
        return project(self.to_camera(world), k.fx, k.fy, k.cx, k.cy)


def floor_height(joints: np.ndarray, ankle_height: float) -> float:
    """The floor's y for world joints (T, 17, 3): the take's lowest ankles, less the ankle's
    height above the sole."""
    ankles = joints[:, [JOINT_INDEX["l_ankle"], JOINT_INDEX["r_ankle"]], 1].min(-1)
    return float(np.percentile(ankles, 2.0) - ankle_height)


def _fit_focal(cam_points: np.ndarray, focal: float, size: tuple[int, int]) -> float:
    """The largest focal <= ``focal`` that keeps every camera-frame point in the image."""
    z = np.maximum(cam_points[..., 2], 1e-3)
    half_w, half_h = (1 - 2 * _MARGIN) * size[0] / 2, (1 - 2 * _MARGIN) * size[1] / 2
    need_x = np.abs(cam_points[..., 0] / z).max()
    need_y = np.abs(cam_points[..., 1] / z).max()
    return float(min(focal, half_w / max(need_x, 1e-9), half_h / max(need_y, 1e-9)))


def sample_shot(rng: np.random.Generator, joints: np.ndarray, fps: float,
                config: ShotConfig = ShotConfig(), follow: bool | None = None) -> Shot:
    """A random shot of the world joints (T, 17, 3) (floor at y = 0).

    ``follow``: None draws it with ``config.follow_probability``. Raises ValueError when no
    camera position keeps the actor in front of the lens (a path that circles every spot).
    """
    if follow is None:
        follow = bool(rng.random() < config.follow_probability)
    for _ in range(_ATTEMPTS):
        shot = _try_shot(rng, joints, fps, config, follow)
        if shot is not None:
            return shot
    raise ValueError(f"no camera of {_ATTEMPTS} tried keeps the actor in front of it")


def _try_shot(rng: np.random.Generator, joints: np.ndarray, fps: float, config: ShotConfig,
              follow: bool) -> Shot | None:
    t = len(joints)
    pelvis = joints[:, ROOT]
    azimuth = rng.uniform(0, 2 * np.pi)
    height = rng.uniform(*config.height_m)
    size = tuple(int(v) for v in config.sizes[rng.integers(len(config.sizes))])
    focal_35 = float(config.focal_35mm[rng.integers(len(config.focal_35mm))])
    focal = Intrinsics.from_focal_35mm(size[0], size[1], focal_35).fx
    stature = np.median(joints[..., 1].max(-1))   # the highest joint above the floor (y = 0)
    distance = max(config.min_distance_m, focal * stature / (rng.uniform(*config.fill) * size[1]))
    tilt = np.radians(rng.normal(0, config.tilt_deg))
    roll = np.radians(rng.normal(0, config.roll_deg))

    if follow:
        centre = gaussian_smooth(pelvis, config.follow_lag_s * fps)
    else:
        lo, hi = pelvis.min(0), pelvis.max(0)
        centre = np.repeat((0.5 * (lo + hi))[None], t, 0)
        # A static camera stands back far enough for the whole path to be in front of it.
        distance += 0.5 * float(np.linalg.norm((hi - lo)[[0, 2]]))
    offset = distance * np.array([np.sin(azimuth), 0.0, np.cos(azimuth)])
    eye = centre + offset
    eye[:, 1] = height
    R = look_at(eye, centre, WORLD_UP)
    # Tilt about the camera's x axis, then roll about its z axis (both in the camera frame).
    turn = axis_angle_matrix(np.array([0.0, 0.0, 1.0]), np.asarray(roll)) @ \
        axis_angle_matrix(np.array([1.0, 0.0, 0.0]), np.asarray(tilt))
    R = turn @ R
    if not follow:
        R, eye = R[:1].repeat(t, 0), eye[:1].repeat(t, 0)
    cam = world_to_camera(joints, R[:, None], eye[:, None])
    if (cam[..., 2] < _NEAREST_M).any():   # the actor walks into the camera: draw again
        return None
    focal = _fit_focal(cam, focal, size)
    return Shot(R=R, C=eye, focal_px=focal, size=size, follow=follow)
