"""Real footage with a measured truth: the person as a calibrated multi-camera system
triangulated them, and the clip's own calibrated camera.

``examples/pose2sim_balancing_cam01_truth.json`` holds it for the bundled clip (Pose2Sim's demo,
BSD-3-Clause; the file says how it was made): sixteen markers (hips, knees, ankles, heels,
shoulders, elbows, wrists, neck, top of the head) on every third frame, in the calibration's
world (metres, Z up), and the camera of that one view. It shows what no rendered benchmark can:
how upright an import of real footage stands against how upright the person stood, and where
the world's up really is in a real lab camera (this one looks down 22.5 degrees and is rolled
13.4).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from repose_core.camera import Intrinsics, project
from repose_core.rotations import axis_angle_matrix
from repose_core.skeleton import JOINT_INDEX, NUM_JOINTS

from ..render.score import BODY_AXIS, TORSO_AXIS, lean_error_deg
from ..render.shots import Y_UP_TO_BLENDER

# Our joints that a marker (or two, averaged) stands for.
JOINT_MARKERS: dict[str, tuple[str, ...]] = {
    "pelvis": ("RHip", "LHip"), "r_hip": ("RHip",), "l_hip": ("LHip",), "r_knee": ("RKnee",),
    "l_knee": ("LKnee",), "r_ankle": ("RAnkle",), "l_ankle": ("LAnkle",), "thorax": ("Neck",),
    "head": ("Head",), "r_shoulder": ("RShoulder",), "r_elbow": ("RElbow",), "r_wrist": ("RWrist",),
    "l_shoulder": ("LShoulder",), "l_elbow": ("LElbow",), "l_wrist": ("LWrist",),
}


@dataclass(frozen=True)
class TriangulatedClip:
    """One clip's truth: markers on some of its frames, and its camera."""

    frames: np.ndarray       # (F,) the video's frame indices that have a truth
    markers: tuple[str, ...]
    positions: np.ndarray    # (F, M, 3) metres, the calibration's world, Z up
    R: np.ndarray            # (3, 3) world -> camera, OpenCV axes (x right, y down, z forward)
    t: np.ndarray            # (3,)
    K: np.ndarray            # (3, 3) intrinsics at ``image_size``
    image_size: tuple[int, int]

    @classmethod
    def load(cls, path: str | Path) -> "TriangulatedClip":
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        camera = data["camera"]
        rotation = np.asarray(camera["rotation"], dtype=np.float64)
        angle = float(np.linalg.norm(rotation))
        R = axis_angle_matrix(rotation / angle, np.asarray(angle))  # OpenCV's Rodrigues vector
        return cls(np.asarray(data["frames"], dtype=int), tuple(data["markers"]),
                   np.asarray(data["positions"], dtype=np.float64), R,
                   np.asarray(camera["translation"], dtype=np.float64),
                   np.asarray(camera["matrix"], dtype=np.float64), tuple(camera["image_size"]))

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        """World points (..., 3) in the clip's camera frame (x right, y down, z forward)."""
        return np.asarray(points) @ self.R.T + self.t

    def project(self, points: np.ndarray) -> np.ndarray:
        """Pixels (..., 2) of world points (..., 3) in the clip's camera (lens distortion left
        out: under a pixel in the middle of the frame)."""
        return project(self.to_camera(points), self.K[0, 0], self.K[1, 1], self.K[0, 2], self.K[1, 2])

    def marker(self, name: str) -> np.ndarray:
        """(F, 3) one marker's positions."""
        return self.positions[:, self.markers.index(name)]

    @property
    def focal_35mm(self) -> float:
        """The calibrated lens as a 35 mm equivalent focal length (the import's Lens setting)."""
        width, height = self.image_size
        return Intrinsics(self.K[0, 0], self.K[1, 1], self.K[0, 2], self.K[1, 2], width, height).focal_35mm

    @property
    def up_in_camera(self) -> np.ndarray:
        """The world's up (3,) in the camera frame."""
        return self.R @ np.array([0.0, 0.0, 1.0])

    @property
    def joints_world(self) -> np.ndarray:
        """(F, 17, 3) the joints the markers stand for (``JOINT_MARKERS``; NaN for the spine and
        the nose), the calibration's world (Z up)."""
        out = np.full((len(self.frames), NUM_JOINTS, 3), np.nan)
        for joint, names in JOINT_MARKERS.items():
            out[:, JOINT_INDEX[joint]] = np.mean([self.marker(n) for n in names], axis=0)
        return out

    @property
    def joints(self) -> np.ndarray:
        """:attr:`joints_world` in the mocap convention the scoring takes (Y up, as
        ``train.render.score``)."""
        return self.joints_world @ Y_UP_TO_BLENDER   # the inverse of Y_UP_TO_BLENDER, a rotation

    @property
    def joints_camera(self) -> np.ndarray:
        """:attr:`joints_world` in the clip's camera frame."""
        return self.to_camera(self.joints_world)

    def lean_errors_deg(self, placed: np.ndarray) -> dict[str, np.ndarray]:
        """How far an import of the clip (T, 17, 3), Blender world, Z up, leans from the truth on
        the frames that have one: ``torso`` (pelvis -> thorax) and ``body`` (mid-ankles -> head)
        angles, (F,) degrees each (``train.render.score.lean_error_deg``)."""
        truth, placed = self.joints, np.asarray(placed)[self.frames]
        return {"torso": lean_error_deg(truth, placed, TORSO_AXIS), "body": lean_error_deg(truth, placed, BODY_AXIS)}


def camera_pitch_roll_deg(up_in_camera: np.ndarray) -> tuple[float, float]:
    """(pitch, roll) in degrees of a camera that sees the world's up as ``up_in_camera`` (3,):
    pitch > 0 looking down, roll > 0 when the world's vertical lines lean right at the top of
    the image."""
    up = np.asarray(up_in_camera, dtype=np.float64) / np.linalg.norm(up_in_camera)
    return float(np.degrees(np.arcsin(-up[2]))), float(np.degrees(np.arctan2(up[0], -up[1])))
