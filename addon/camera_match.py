"""A Blender camera that sees the scene as the video's camera saw the person (bpy + numpy).

With the footage as the camera's background (a movie clip), the animator can look through the
camera and compare the armature with the person frame by frame.

Camera conventions: repose_core's camera frame is x right, y down, z forward; a Blender camera
looks down its local -Z with +Y up, so camera-frame axes map to Blender camera-local axes by
``diag(1, -1, -1)``.

The camera itself (:class:`FootageCamera`) is what ``motion.root_motion.place_in_world`` used to
put the footage's camera frame into the world; bpy is imported in :func:`add_matching_camera`,
which runs on the main thread.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

# Blender's default 36 mm sensor; with sensor_fit AUTO it spans the image's longer side.
SENSOR_WIDTH_MM: float = 36.0
_CAMERA_FRAME_TO_BLENDER_CAMERA = np.diag([1.0, -1.0, -1.0])


@dataclass(frozen=True)
class FootageCamera:
    """The video's camera in Blender's world (fixed: only root-motion imports have one)."""

    rotation: np.ndarray  # (3, 3) camera frame -> Blender world
    location: np.ndarray  # (3,) camera centre in the world, metres
    focal_px: float


def blender_lens_mm(focal_px: float, image_size: tuple[int, int]) -> float:
    """Blender focal length (mm) for a pinhole focal in pixels (sensor_fit AUTO, 36 mm sensor)."""
    return float(focal_px) * SENSOR_WIDTH_MM / max(image_size)


def camera_matrix_world(rotation: np.ndarray, location: np.ndarray) -> np.ndarray:
    """4x4 Blender camera matrix from a camera->world rotation (camera frame) and its centre."""
    matrix = np.eye(4)
    matrix[:3, :3] = np.asarray(rotation, dtype=np.float64) @ _CAMERA_FRAME_TO_BLENDER_CAMERA
    matrix[:3, 3] = location
    return matrix


def add_matching_camera(
    scene,
    name: str,
    camera: FootageCamera,
    image_size: tuple[int, int],
    video_path: str | Path,
    video_start: int,
    frame_start: int,
):
    """Add a camera matching the footage, with the video as its background, and make it active.

    video_start: index of the first imported video frame; it shows at scene frame ``frame_start``.
    Also sets the scene's render resolution to the video's. Returns the camera object.
    """
    import bpy
    from mathutils import Matrix

    camera_data = bpy.data.cameras.new(name)
    camera_data.sensor_fit = "AUTO"
    camera_data.sensor_width = SENSOR_WIDTH_MM
    camera_data.lens = blender_lens_mm(camera.focal_px, image_size)
    camera_object = bpy.data.objects.new(name, camera_data)
    camera_object.matrix_world = Matrix(camera_matrix_world(camera.rotation, camera.location).tolist())
    scene.collection.objects.link(camera_object)

    clip = bpy.data.movieclips.load(str(video_path), check_existing=True)
    clip.frame_start = frame_start
    clip.frame_offset = video_start
    background = camera_data.background_images.new()
    background.source = "MOVIE_CLIP"
    background.clip = clip
    background.alpha = 0.6
    camera_data.show_background_images = True

    scene.camera = camera_object
    scene.render.resolution_x, scene.render.resolution_y = (int(v) for v in image_size)
    scene.render.resolution_percentage = 100
    scene.render.pixel_aspect_x = scene.render.pixel_aspect_y = 1.0
    return camera_object
