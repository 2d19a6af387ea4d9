"""The matching camera projects world points where repose_core's pinhole camera does."""
from __future__ import annotations

import numpy as np
import pytest

import bpy  # required: the add-on tests must never be skipped silently

from addon.camera_match import FootageCamera, add_matching_camera, footage_camera  # noqa: E402
from repose_core.rotations import axis_angle_matrix  # noqa: E402
from addon.motion.world import CAMERA_TO_BLENDER  # noqa: E402
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


def test_footage_camera_recovers_the_placement_of_real_motion(shared_data):
    """place_in_world turns camera-frame points into the world by a rigid motion; recover it."""
    from train.data.mocap import load_clip

    joints = load_clip(shared_data / "mocap" / "cmu" / "02_01.bvh", fps=30).joints.astype(np.float64)
    camera_frame = joints * np.array([1.0, -1.0, 1.0]) + np.array([0.2, -0.1, 4.0])  # Y up -> y down
    turn = axis_angle_matrix(np.array([0.0, 0.0, 1.0]), np.asarray(0.7))
    rotation = turn @ CAMERA_TO_BLENDER
    shift = np.array([0.3, -1.2, 1.1])
    world = camera_frame @ rotation.T + shift

    camera = footage_camera(camera_frame, world, focal_px=1234.0)

    np.testing.assert_allclose(camera.rotation, rotation, atol=1e-9)
    np.testing.assert_allclose(camera.location, shift, atol=1e-9)  # the camera-frame origin
    assert camera.focal_px == 1234.0
