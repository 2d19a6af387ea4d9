"""Real footage imports upright and on the floor with the shipped lifter (issue: a level or a
downward-looking camera must not lean the person, and planted feet must not float)."""
from __future__ import annotations

import numpy as np
import pytest

from addon.motion.rig import ANKLE_HEIGHT
from addon.pipeline import ImportOptions, analyse
from repose_core.skeleton import JOINT_INDEX as J

pytestmark = pytest.mark.slow


def standing_body_lean_deg(result) -> np.ndarray:
    """The body axis's angle (mid-ankles -> head) from the world's vertical on the frames with a
    planted foot."""
    standing = result.motion.contacts.any(-1) & result.found
    joints = result.motion.joints[standing]
    axis = joints[:, J["head"]] - 0.5 * (joints[:, J["l_ankle"]] + joints[:, J["r_ankle"]])
    return np.degrees(np.arccos(axis[:, 2] / np.linalg.norm(axis, axis=-1)))


def test_the_bundled_clip_is_levelled_and_on_the_floor(example_video, detection_cache):
    """The bundled clip's camera hangs high in a lab and looks down: the door frames' vertical
    vanishing point (OpenCV's line segments, the import's default lens) puts its pitch at 18.6
    degrees. The shipped lifter's up direction finds it, and the planted feet stand on the floor."""
    result = analyse(ImportOptions(video=example_video, cache_dir=detection_cache))
    assert result.motion.up is not None
    pitch = np.degrees(np.arcsin(-result.motion.up[2]))
    assert abs(pitch - 18.6) < 4.0, pitch
    planted = np.concatenate([result.motion.joints[result.motion.contacts[:, k], ankle, 2]
                              for k, ankle in enumerate((J["l_ankle"], J["r_ankle"]))])
    assert len(planted) > 30
    assert np.abs(np.median(planted) - ANKLE_HEIGHT) < 0.02, np.median(planted)


def test_the_two_person_clip_imports_upright(shared_data, detection_cache):
    """The shared two-person clip (a level camera): the followed person's standing frames come out
    with the body axis near vertical (the previous, level-assuming lifter: 9.2 degrees)."""
    result = analyse(ImportOptions(video=shared_data / "videos" / "sports2d_jump_walk.mp4",
                                   cache_dir=detection_cache))
    leans = standing_body_lean_deg(result)
    assert len(leans) > 10 and np.median(leans) < 8.0, np.median(leans)
