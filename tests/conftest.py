"""Shared pytest fixtures. Engineers append their own fixtures below, one block each."""
from __future__ import annotations

import os
import struct
import tempfile
from pathlib import Path

import pytest

# bpy reads BLENDER_USER_RESOURCES when it is first imported: point it at a throwaway folder so
# tests never touch (or depend on) a real user's Blender configuration.
os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="repose-blender-user-"))

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
# The bundled clip (the same file as shared/data/videos/pose2sim_balancing_cam01.mp4): every
# test of the single-person clip uses this one, whole, so that it is detected once a session.
EXAMPLE_VIDEO = REPO_ROOT / "examples" / "pose2sim_balancing_cam01.mp4"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """/work/shared/data (CI clones the repo with shared/ beside it)."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"shared data not found at {SHARED_DATA}; clone the repo next to shared/")
    return SHARED_DATA


@pytest.fixture(scope="session")
def example_video() -> Path:
    return EXAMPLE_VIDEO


@pytest.fixture(scope="session")
def detection_cache(tmp_path_factory) -> Path:
    """The one detection cache of a session: each clip and setting is detected once, whichever
    test (or batch subprocess given --cache-dir) asks first."""
    return tmp_path_factory.mktemp("detections")


@pytest.fixture(scope="session")
def example_detection(example_video, detection_cache):
    """The whole bundled clip (a man balancing on one leg, 100 frames, 1080x1920 portrait)."""
    from repose_core.detect import detect_video

    return detect_video(example_video, cache_dir=detection_cache)


# --- lifter models (repose_core.models / runtime) ------------------------------------------------
@pytest.fixture(scope="session")
def tiny_lifter_onnx(tmp_path_factory) -> Path:
    """A small randomly-initialised TCN (receptive field 9) exported to ONNX with full metadata.

    Stands in for the trained default model in tests of code that only needs *a* lifter; its
    outputs are meaningless poses of the right shape.
    """
    import torch

    from repose_core.models import build_model
    from repose_core.models.export import export_onnx

    torch.manual_seed(0)
    model = build_model({"backbone": "tcn", "filter_widths": [3, 3], "channels": 32, "dropout": 0.0})
    return export_onnx(model, None, tmp_path_factory.mktemp("lifter") / "tiny_lifter.onnx")


# --- foundation: skeleton / camera / metrics / losses ------------------------------------------
@pytest.fixture(scope="session")
def cmu_dance_camera(shared_data) -> "np.ndarray":
    """Real motion in the camera frame: CMU 05_02 (expressive dance, arms and turns) at 30 fps,
    seen by a camera 4 m away at chest height. (T, 17, 3) float64 metres, x right, y down,
    z forward; not root-centred."""
    import numpy as np

    from repose_core.camera import look_at, world_to_camera
    from train.data.mocap import load_clip

    joints = load_clip(shared_data / "mocap" / "cmu" / "05_02.bvh", fps=30).joints.astype(np.float64)
    centre = joints[:, 0].mean(axis=0)
    eye = centre + np.array([0.0, 0.3, 4.0])  # mocap world is Y up
    rotation = look_at(eye, centre, np.array([0.0, 1.0, 0.0]))
    return world_to_camera(joints, rotation, eye)


# ---- add-on engine (pipeline, armature, batch) -------------------------------------------------
@pytest.fixture(scope="session")
def example_motion(example_video, tiny_lifter_onnx, detection_cache):
    """addon.pipeline.analyse on the bundled clip (tiny lifter): a MotionResult of 100 frames."""
    from addon.pipeline import ImportOptions, analyse

    return analyse(ImportOptions(video=example_video, model_path=tiny_lifter_onnx, cache_dir=detection_cache))


# ---- training data (train.data / train.synth) ---------------------------------------------------
@pytest.fixture(scope="session")
def small_mocap(shared_data):
    """A few real CMU takes at 30 fps: three training subjects (MotionBuilder skeleton) and one
    unseen subject (Daz skeleton), enough for sampler tests without loading the library."""
    from train.data.mocap import load_library

    mocap = shared_data / "mocap"
    return load_library([mocap / "cmu" / "02_01.bvh", mocap / "cmu" / "05_02.bvh",
                         mocap / "cmu" / "09_05.bvh",
                         mocap / "cmu_daz" / "cmu_daz_przestr" / "13_11.bvh"])


# ---- detection (repose_core.detect) --------------------------------------------------------------
@pytest.fixture(scope="session")
def jump_walk_detection(shared_data, detection_cache):
    """The two-person Sports2D clip, every other frame: a man on a box jumps down while a woman
    walks past below him."""
    from repose_core.detect import detect_video

    return detect_video(shared_data / "videos" / "sports2d_jump_walk.mp4", stride=2, cache_dir=detection_cache)


# ---- two people in view from the first frame (repose_core.detect, addon person choice) ---------
@pytest.fixture(scope="session")
def pair_clip(shared_data, tmp_path_factory) -> Path:
    """The Sports2D clip from frame 60, when both people are in view, to frame 150, every 3rd
    frame, cropped to the 1100x900 around them and written at 10 fps: 31 frames. The man stands
    on the box on the left; the woman walks from the right to the left below him, passing under
    him at about frame 22. (In the full 1768x994 frame MediaPipe's person detector does not find
    the small, backlit man from a cold start; in this crop it finds both on every frame.)"""
    import cv2
    import numpy as np

    capture = cv2.VideoCapture(str(shared_data / "videos" / "sports2d_jump_walk.mp4"))
    frames = []
    for index in range(151):
        ok, frame = capture.read()
        assert ok, f"sports2d_jump_walk.mp4: frame {index} does not decode"
        if index >= 60 and index % 3 == 0:
            frames.append(np.ascontiguousarray(frame[80:980, 440:1540]))
    capture.release()
    path = tmp_path_factory.mktemp("pair") / "pair.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (1100, 900))
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


# ---- variable frame rate (repose_core.detect.resample, addon import) ----------------------------
def _make_variable_rate(path: Path) -> None:
    """Rewrite an OpenCV-written mp4 so that its first half plays at twice the frame rate: the
    one time-to-sample entry (n, delta) becomes two, (n/2, delta/2) and (n - n/2, delta). The
    clip gets shorter, so its edit list still covers every frame. The sample table grows by 8
    bytes, and so does every box that holds it; moov is the last box, so no media offset
    moves."""
    data = bytearray(path.read_bytes())
    chain, pos = [], 0
    for kind in (b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stts"):
        pos = data.find(kind, pos)
        chain.append(pos - 4)
    stts = chain[-1]
    entries, count, delta = struct.unpack(">III", data[stts + 12:stts + 24])
    assert entries == 1 and delta % 2 == 0
    data[stts + 12:stts + 24] = struct.pack(">IIIII", 2, count // 2, delta // 2,
                                            count - count // 2, delta)
    for box in chain:
        data[box:box + 4] = struct.pack(">I", struct.unpack(">I", data[box:box + 4])[0] + 8)
    path.write_bytes(bytes(data))


@pytest.fixture(scope="session")
def vfr_clip(shared_data, tmp_path_factory) -> Path:
    """The first 12 frames of the Pose2Sim clip at 270x480, the first 6 shown 1/60 s apart and
    the other 6 1/30 s apart, as a phone records when the light changes."""
    import cv2

    capture = cv2.VideoCapture(str(shared_data / "videos" / "pose2sim_balancing_cam01.mp4"))
    path = tmp_path_factory.mktemp("vfr") / "vfr.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (270, 480))
    for _ in range(12):
        ok, frame = capture.read()
        assert ok
        writer.write(cv2.resize(frame, (270, 480), interpolation=cv2.INTER_AREA))
    writer.release()
    capture.release()
    _make_variable_rate(path)
    return path


# ---- hands (repose_core.detect.hands) ------------------------------------------------------------
@pytest.fixture(scope="session")
def example_hands(example_video, detection_cache):
    """The bundled clip detected with hands: the settings an import uses by default, so imports
    of the clip in the same session reuse it from the cache."""
    from repose_core.detect import detect_video

    return detect_video(example_video, cache_dir=detection_cache, hands=True)
