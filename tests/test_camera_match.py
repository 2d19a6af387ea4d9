"""The matching camera projects world points where repose_core's pinhole camera does."""
from __future__ import annotations

import numpy as np
import pytest

import bpy  # required: the add-on tests must never be skipped silently

from addon.camera_match import FootageCamera, add_matching_camera  # noqa: E402
from repose_core.camera import Intrinsics, look_at, project  # noqa: E402


@pytest.mark.parametrize("image_size", [(1080, 1920), (1768, 994)])
def test_camera_projects_like_the_pinhole_model(example_video, image_size):
    from bpy_extras.object_utils import world_to_camera_view
    from mathutils import Vector

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    width, height = image_size
    intrinsics = Intrinsics.from_focal_35mm(width, height, 26.0)
    eye = np.array([0.5, -4.0, 1.2])
    world_to_cam = look_at(eye, np.array([0.0, 0.0, 1.0]), np.array([0.0, 0.0, 1.0]))

    footage = FootageCamera(rotation=world_to_cam.T, location=eye, focal_px=intrinsics.fx)
    camera = add_matching_camera(scene, "Footage", footage, image_size, example_video,
                                 video_start=10, frame_start=1)

    points = np.array([[0.0, 0.0, 1.0], [0.3, 0.2, 1.7], [-0.4, 0.5, 0.1], [0.2, 1.5, 0.0]])
    expected = project((points - eye) @ world_to_cam.T, intrinsics.fx, intrinsics.fy,
                       intrinsics.cx, intrinsics.cy)
    for point, pixel in zip(points, expected):
        ndc = world_to_camera_view(scene, camera, Vector(point))
        got = np.array([ndc.x * width, (1.0 - ndc.y) * height])
        np.testing.assert_allclose(got, pixel, atol=0.05)  # pixels

    assert scene.camera == camera
    assert (scene.render.resolution_x, scene.render.resolution_y) == image_size
    background = camera.data.background_images[0]
    assert background.source == "MOVIE_CLIP"
    clip = background.clip
    assert tuple(clip.size) == (1080, 1920)  # the real example clip was read
    assert clip.frame_duration == 100
    assert clip.frame_offset == 10 and clip.frame_start == 1


def test_the_import_places_its_camera_where_the_footage_was_filmed_from(shared_data):
    """The pipeline keeps the rigid map that put the camera frame into the world: its camera,
    looking at the placed (levelled, turned, shifted) joints, sees them where the video did."""
    from addon.motion import root_motion, world
    from repose_core.camera import world_to_camera
    from train.data.mocap import load_clip

    joints = load_clip(shared_data / "mocap" / "cmu" / "02_01.bvh", fps=30).joints.astype(np.float64)
    eye = joints[:, 0].mean(0) + np.array([1.0, 1.5, 5.0])            # a camera looking down
    R = look_at(eye, joints[:, 0].mean(0), np.array([0.0, 1.0, 0.0]))
    camera_frame = world_to_camera(joints, R, eye)
    k = Intrinsics.from_focal_35mm(1920, 1080, 26.0)
    pixels = project(camera_frame, k.fx, k.fy, k.cx, k.cy)
    pose = camera_frame - camera_frame[:, :1]
    trajectory = root_motion.root_trajectory(pose, pixels, np.ones(pixels.shape[:2]), k, 30.0)
    level = world.levelling_rotation(R @ np.array([0.0, 1.0, 0.0]))
    placed = root_motion.place_in_world(pose, 30.0, trajectory, level)
    camera = FootageCamera(placed.camera_rotation, placed.camera_location, k.fx)
    seen = (placed.joints - camera.location) @ camera.rotation       # world -> camera frame
    reprojected = project(seen, k.fx, k.fy, k.cx, k.cy)
    assert np.median(np.linalg.norm(reprojected - pixels, axis=-1)) < 2.0   # pixels
    # Levelled: the camera looks down at the walker as the real one did (about 15 degrees).
    forward = camera.rotation[:, 2]
    assert np.degrees(np.arcsin(-forward[2])) == pytest.approx(np.degrees(np.arcsin(-R[2, 1])), abs=0.5)
