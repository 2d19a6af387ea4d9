"""The torch-free runtime: load_lifter(...).predict(...) on .onnx and .pt lifters."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from repose_core import load_lifter
from repose_core.camera import Intrinsics, look_at, project, world_to_camera
from repose_core.features import lifter_features, rolled_xy
from repose_core.models import build_model
from repose_core.models.export import export_onnx, lifter_metadata
from repose_core.runtime import (DEFAULT_LIFTER_PATH, Lifter, LifterLoadError, clip_features, fill_missing, upright_turns,
                                 validate_metadata)
from repose_core.skeleton import FLIP_PERMUTATION, flip_pose

REPO_ROOT = Path(__file__).resolve().parents[1]
IMAGE_SIZE = (1920, 1080)
# Tests that export a model of their own to ONNX (seconds each): -m "not slow" skips them.
exports = pytest.mark.slow


@pytest.fixture(scope="module")
def dance(cmu_dance_camera) -> np.ndarray:
    """Real motion (CMU 05_02 dance, 281 frames at 30 fps) as pixels in a 1920x1080 frame."""
    intrinsics = Intrinsics.from_fov(*IMAGE_SIZE, horizontal_fov_deg=60)
    return project(cmu_dance_camera, intrinsics.fx, intrinsics.fy, intrinsics.cx, intrinsics.cy)


def frames_of(pixels: np.ndarray, frames: int) -> np.ndarray:
    """``frames`` frames of a clip played forwards and backwards in turn (no jumps)."""
    cycle = np.concatenate([pixels, pixels[::-1]])
    return np.take(cycle, np.arange(frames) % len(cycle), axis=0)


@pytest.fixture(scope="module")
def tcn(tmp_path_factory):
    """A small TCN (receptive field 27) saved both as .onnx and as a .pt checkpoint."""
    torch.manual_seed(0)
    model = build_model({"backbone": "tcn", "filter_widths": [3, 3, 3], "channels": 32, "dropout": 0.0}).eval()
    folder = tmp_path_factory.mktemp("tcn")
    onnx_path = export_onnx(model, None, folder / "tcn.onnx")
    pt_path = folder / "tcn.pt"
    torch.save({"metadata": lifter_metadata(model), "model": model.state_dict(), "epoch": 3}, pt_path)
    return model, onnx_path, pt_path


@pytest.fixture(scope="module")
def transformer_onnx(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    model = build_model({"backbone": "transformer", "window": 9, "dim": 32, "depth": 2, "heads": 4})
    return export_onnx(model, None, tmp_path_factory.mktemp("transformer") / "transformer.onnx")


@pytest.mark.parametrize("frames", [1, 5, 27, 10_000])
def test_predict_gives_one_pelvis_centred_pose_per_frame(dance, tcn, frames):
    lifter = load_lifter(tcn[1])
    pose = lifter.predict(frames_of(dance, frames), image_size=IMAGE_SIZE)
    assert pose.shape == (frames, 17, 3) and pose.dtype == np.float32
    assert np.isfinite(pose).all()
    assert np.all(pose[:, 0] == 0)
    assert lifter.backend == "onnxruntime" and lifter.receptive_field == 27 and lifter.flip


@exports
@pytest.mark.parametrize("frames", [1, 5, 9, 50])
def test_window_model_predicts_any_length(dance, transformer_onnx, frames):
    lifter = load_lifter(transformer_onnx)
    pose = lifter.predict(frames_of(dance, frames), image_size=IMAGE_SIZE)
    assert pose.shape == (frames, 17, 3) and np.isfinite(pose).all()
    assert lifter.output_mode == "window" and lifter.window == 9


def test_window_model_blends_overlapping_windows_without_seams():
    """A stand-in model that answers each window with its first frame's value: back-to-back
    windows would jump by a whole window at each seam; blended half-overlapping windows move by
    at most a few frames' worth, and a sequence that does not move gives back exactly its value."""
    from repose_core.runtime import Lifter

    window = 9
    metadata = {"receptive_field": window, "output_mode": "window", "window": window, "output_offset": 0,
                "model_config": {}, "features_version": "root-rms-v1"}
    first_frame = lambda batch: (np.repeat(batch[:, :1], batch.shape[1], axis=1), None)  # noqa: E731
    lifter = Lifter(first_frame, metadata, Path("stand-in"), "test", flip=False)
    ramp = np.broadcast_to(np.arange(100, dtype=np.float32)[:, None, None], (100, 17, 3))
    pose, up = lifter._predict_windows(ramp)
    assert up is None
    assert np.abs(np.diff(pose[:, 0, 0])).max() <= window / 2
    assert np.all(np.diff(pose[:, 0, 0]) >= 0)  # follows the motion, never back
    still = np.full((100, 17, 3), 0.25, dtype=np.float32)
    np.testing.assert_allclose(lifter._predict_windows(still)[0], still, rtol=0, atol=1e-6)


def test_padding_replicates_the_edge_frames(dance, tcn):
    """Each frame's output is the model run on the window centred on it, edges replicated."""
    model, onnx_path, _ = tcn
    keypoints = frames_of(dance, 40)
    pose = load_lifter(onnx_path, flip=False, image_pull=False).predict(keypoints, IMAGE_SIZE)
    inputs = lifter_features(keypoints, np.ones((40, 17)), IMAGE_SIZE)
    padded = np.pad(inputs, ((13, 13), (0, 0), (0, 0)), mode="edge")
    with torch.inference_mode():
        expected = model(torch.from_numpy(padded)[None])[0].numpy()
    np.testing.assert_allclose(pose, expected, atol=1e-4, rtol=0)


@exports
def test_causal_model_pads_only_the_past(dance, tmp_path):
    torch.manual_seed(0)
    model = build_model({"backbone": "tcn", "filter_widths": [3, 3], "channels": 16, "causal": True}).eval()
    lifter = load_lifter(export_onnx(model, None, tmp_path / "causal.onnx"), flip=False)
    keypoints = frames_of(dance, 30)
    pose = lifter.predict(keypoints, IMAGE_SIZE)
    later_changed = keypoints.copy()
    later_changed[20:] += 50.0 * np.random.default_rng(1).normal(size=later_changed[20:].shape)
    changed = lifter.predict(later_changed, IMAGE_SIZE)
    np.testing.assert_array_equal(changed[:20], pose[:20])  # the past never sees the future
    assert np.abs(changed[20:] - pose[20:]).max() > 1e-3


@exports
@pytest.mark.parametrize("which", ["tcn", "transformer"])
def test_chunking_does_not_change_the_result(dance, tcn, transformer_onnx, which):
    path = tcn[1] if which == "tcn" else transformer_onnx
    keypoints = frames_of(dance, 200)
    whole = load_lifter(path).predict(keypoints, IMAGE_SIZE)
    chunked = load_lifter(path, chunk_frames=7).predict(keypoints, IMAGE_SIZE)
    np.testing.assert_allclose(chunked, whole, atol=1e-5, rtol=0)


@pytest.mark.slow
def test_hundred_thousand_frames_in_bounded_chunks(dance, tcn):
    calls = []
    lifter = load_lifter(tcn[1])
    run_model = lifter._run_model
    lifter._run_model = lambda batch: calls.append(batch.shape) or run_model(batch)
    pose = lifter.predict(frames_of(dance, 100_000), IMAGE_SIZE)
    assert pose.shape == (100_000, 17, 3) and np.isfinite(pose).all()
    assert max(shape[1] for shape in calls) == lifter.chunk_frames + lifter.receptive_field - 1
    assert len(calls) == -(-100_000 // lifter.chunk_frames)


def test_fill_missing_interpolates_over_time_and_holds_the_edges():
    keypoints = np.zeros((6, 17, 2))
    keypoints[:, :, 0] = np.arange(6)[:, None] * 10.0
    keypoints[:, :, 1] = 7.0
    missing = np.zeros((6, 17), dtype=bool)
    missing[2:4, 3] = True      # a gap: linear interpolation
    missing[:2, 5] = True       # before the first sighting: hold the first seen value
    missing[:, 9] = True        # never seen: the mean of the other (filled) joints
    filled = fill_missing(np.where(missing[..., None], np.nan, keypoints), missing)
    np.testing.assert_allclose(filled[:, 3], keypoints[:, 3])
    np.testing.assert_allclose(filled[:2, 5], [[20.0, 7.0], [20.0, 7.0]])
    np.testing.assert_allclose(filled[:, 9], np.delete(filled, 9, axis=1).mean(axis=1))
    assert np.isfinite(fill_missing(np.full((4, 17, 2), np.nan), np.ones((4, 17), bool))).all()


def test_nan_keypoints_are_missing_joints(dance, tcn):
    """NaN joints get confidence 0 and are filled before the model sees them."""
    lifter = load_lifter(tcn[1])
    keypoints = frames_of(dance, 60)
    holes = keypoints.copy()
    holes[10:20, 13] = np.nan        # a wrist lost for a while
    holes[30] = np.nan               # a frame with no person
    holes[:5, 3] = np.nan            # an ankle out of the picture at the start
    pose = lifter.predict(holes, IMAGE_SIZE)
    assert np.isfinite(pose).all()
    missing = ~np.isfinite(holes).all(-1)
    confidence = np.where(missing, 0.0, 1.0)
    expected = lifter.predict(fill_missing(holes, missing), IMAGE_SIZE, confidence=confidence)
    np.testing.assert_array_equal(pose, expected)
    # Confidence is an input: telling the model a joint is unreliable changes its answer.
    assert np.abs(lifter.predict(keypoints, IMAGE_SIZE, confidence=confidence) - lifter.predict(keypoints, IMAGE_SIZE)).max() > 1e-4


def test_flip_augmentation_is_mirror_equivariant(dance, tcn):
    """With test-time flip the lifter is a symmetric model: a mirrored video (x -> width - x,
    left and right swapped) gives the mirrored 3D poses. Without flip a random model is not."""
    keypoints = frames_of(dance, 50)
    confidence = np.random.default_rng(2).uniform(0.2, 1.0, (50, 17))
    mirrored = keypoints[:, FLIP_PERMUTATION].copy()
    mirrored[..., 0] = IMAGE_SIZE[0] - mirrored[..., 0]
    mirrored_confidence = confidence[:, FLIP_PERMUTATION]
    lifter = load_lifter(tcn[1], flip=True)
    pose = lifter.predict(keypoints, IMAGE_SIZE, confidence)
    pose_of_mirror = lifter.predict(mirrored, IMAGE_SIZE, mirrored_confidence)
    np.testing.assert_allclose(pose_of_mirror, flip_pose(pose), atol=1e-5, rtol=0)
    lifter.flip = False
    plain = lifter.predict(keypoints, IMAGE_SIZE, confidence)
    plain_of_mirror = lifter.predict(mirrored, IMAGE_SIZE, mirrored_confidence)
    assert np.abs(plain_of_mirror - flip_pose(plain)).max() > 1e-3
    # Flip averages two passes, so it is a different (smoother) answer, not the same one.
    assert np.abs(plain - pose).max() > 1e-4


def rolled_pixels(pixels: np.ndarray, degrees: float) -> np.ndarray:
    """Keypoints of the image turned about its centre, as a camera rolled by ``degrees`` sees them."""
    centre = np.array(IMAGE_SIZE, dtype=np.float64) / 2
    return rolled_xy(pixels - centre, np.radians(degrees)) + centre


def test_upright_turns_stand_the_torso_up(dance):
    """A person on their feet needs no turn; the same person filmed by a camera rolled 90 or 180
    degrees (past the 60-degree threshold) is turned back by that much, every frame; one rolled
    45 degrees (a person bending or leaning looks so) is left as it is."""
    features = clip_features(dance, IMAGE_SIZE)
    assert not upright_turns(features).any()
    for degrees, expected in [(180, 180), (90, 270), (-90, 90), (45, 0)]:
        turns = upright_turns(clip_features(rolled_pixels(dance, degrees), IMAGE_SIZE))
        np.testing.assert_array_equal(turns, expected)


@pytest.mark.parametrize("degrees", [90, 180])
def test_upright_turn_lifts_an_upside_down_camera_as_an_upright_one(dance, tcn, degrees):
    """Rolling the camera about its optical axis turns the true 3D about that axis too: with the
    upright turn the lifter gives exactly that, whatever its weights; a person on their feet is
    lifted in one pass, as without the turn."""
    keypoints = frames_of(dance, 60)
    lifter = load_lifter(tcn[1])
    pose = lifter.predict(keypoints, IMAGE_SIZE)
    turned = lifter.predict(rolled_pixels(keypoints, degrees), IMAGE_SIZE)
    np.testing.assert_allclose(turned, rolled_xy(pose, np.radians(degrees)), atol=1e-4, rtol=0)
    lifter.upright_turn = False
    np.testing.assert_array_equal(lifter.predict(keypoints, IMAGE_SIZE), pose)
    assert np.abs(lifter.predict(rolled_pixels(keypoints, degrees), IMAGE_SIZE) - turned).max() > 1e-2


def test_default_model_lifts_bodies_on_the_floor_better_turned_upright(shared_data):
    """DeepMimic's cartwheel, get-up from lying face up and forward roll (people no recipe trained
    on), filmed from the front and the side: the shipped model, which learnt from people filmed
    upright, lifts them closer to the truth with the upright turn (P-MPJPE 93 -> 78 mm)."""
    from repose_core import metrics
    from train.data.mocap import load_clip

    intrinsics = Intrinsics.from_fov(*IMAGE_SIZE, horizontal_fov_deg=60)
    errors = {True: [], False: []}
    for motion in ["cartwheel", "getup_faceup", "roll"]:
        joints = load_clip(shared_data / "mocap" / "deepmimic" / f"humanoid3d_{motion}.txt", fps=30).joints
        centre = joints[:, 0].mean(0)
        for offset in ([0.0, 0.3, 4.0], [4.0, 0.5, 0.0]):
            eye = centre + np.array(offset)
            camera = world_to_camera(joints.astype(np.float64), look_at(eye, centre, np.array([0.0, 1.0, 0.0])), eye)
            pixels = project(camera, intrinsics.fx, intrinsics.fy, intrinsics.cx, intrinsics.cy)
            for turn in errors:
                errors[turn].append(metrics.p_mpjpe(load_lifter(upright_turn=turn).predict(pixels, IMAGE_SIZE), camera))
    assert np.mean(errors[True]) < 0.9 * np.mean(errors[False])


@pytest.mark.parametrize("backbone", [{"backbone": "tcn", "filter_widths": [3, 3, 3], "channels": 32},
                                      {"backbone": "transformer", "window": 9, "dim": 32, "depth": 2}])
@exports
def test_up_direction_of_a_model_that_predicts_it(dance, tmp_path, backbone):
    """``lift`` returns one unit up vector per frame from .onnx and .pt alike; with flip a mirrored
    video gives the mirrored up (x negated); ``predict`` still returns the pose alone, and a
    model without the head gives ``up=None``."""
    torch.manual_seed(0)
    model = build_model({**backbone, "dropout": 0.0, "predict_up": True}).eval()
    onnx_path = export_onnx(model, None, tmp_path / "up.onnx")
    pt_path = tmp_path / "up.pt"
    torch.save({"metadata": lifter_metadata(model), "model": model.state_dict()}, pt_path)
    keypoints = frames_of(dance, 40)
    lifter = load_lifter(onnx_path)
    lifted = lifter.lift(keypoints, IMAGE_SIZE)
    assert lifted.up.shape == (40, 3)
    np.testing.assert_allclose(np.linalg.norm(lifted.up, axis=-1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(lifted.pose, lifter.predict(keypoints, IMAGE_SIZE))
    np.testing.assert_allclose(load_lifter(pt_path).lift(keypoints, IMAGE_SIZE).up, lifted.up, atol=1e-4)
    mirrored = keypoints[:, FLIP_PERMUTATION].copy()
    mirrored[..., 0] = IMAGE_SIZE[0] - mirrored[..., 0]
    np.testing.assert_allclose(lifter.lift(mirrored, IMAGE_SIZE).up, lifted.up * [-1, 1, 1], atol=1e-5)


@exports
def test_a_model_that_reads_the_detectors_3d(dance, cmu_dance_camera, tmp_path):
    """A model of the world feature set takes MediaPipe's 3D as an optional ``world`` argument:
    without it (or where it is NaN) the world channels say absent; with flip a mirrored video and
    mirrored 3D give the mirrored pose; plain 2D-only models ignore the argument."""
    from repose_core.features import WORLD_FEATURES_VERSION

    torch.manual_seed(0)
    model = build_model({"backbone": "tcn", "filter_widths": [3, 3], "channels": 32, "dropout": 0.0,
                         "in_channels": 7}).eval()
    lifter = load_lifter(export_onnx(model, None, tmp_path / "world.onnx"))
    assert lifter.reads_world and lifter.metadata["features_version"] == WORLD_FEATURES_VERSION
    keypoints = frames_of(dance, 30)
    world = frames_of(cmu_dance_camera - cmu_dance_camera[:, :1], 30)
    with_3d = lifter.predict(keypoints, IMAGE_SIZE, world=world)
    without = lifter.predict(keypoints, IMAGE_SIZE)
    assert np.abs(with_3d - without).max() > 1e-3
    np.testing.assert_array_equal(lifter.predict(keypoints, IMAGE_SIZE, world=np.full_like(world, np.nan)), without)
    mirrored = keypoints[:, FLIP_PERMUTATION].copy()
    mirrored[..., 0] = IMAGE_SIZE[0] - mirrored[..., 0]
    np.testing.assert_allclose(lifter.predict(mirrored, IMAGE_SIZE, world=flip_pose(world)), flip_pose(with_3d),
                               atol=1e-5)


def test_model_without_up_head_lifts_no_up(dance, tcn):
    lifter = load_lifter(tcn[1])
    assert lifter.lift(frames_of(dance, 30), IMAGE_SIZE).up is None
    # A 2D-only model ignores the detector's 3D.
    assert not lifter.reads_world
    np.testing.assert_array_equal(lifter.predict(frames_of(dance, 30), IMAGE_SIZE, world=np.zeros((30, 17, 3))),
                                  lifter.predict(frames_of(dance, 30), IMAGE_SIZE))


def test_any_image_size_and_aspect_ratio(dance, tcn):
    """Only the person's shape matters to the model: the same pose, scaled and placed anywhere in
    a portrait or landscape frame, lifts to the same 3D pose. (The image pull then sees the
    limbs through the camera's rays, which differ off the image's centre: test_image_fit.)"""
    lifter = load_lifter(tcn[1], image_pull=False)
    keypoints = frames_of(dance, 30)
    landscape = lifter.predict(keypoints, (1920, 1080))
    portrait = lifter.predict((keypoints - [960, 540]) * 0.4 + [540, 1200], (1080, 1920))
    np.testing.assert_allclose(portrait, landscape, atol=1e-4, rtol=0)


def test_model_files_from_before_the_output_offset_was_stated_lift_as_before(dance, tcn, tmp_path):
    """The metadata states which input frame an output frame belongs to; a file without the key
    gets it derived (the centre of the receptive field, the last frame when causal) and lifts
    exactly as the file that states it."""
    model, stated, _ = tcn
    metadata = lifter_metadata(model)
    assert metadata["output_offset"] == 13
    del metadata["output_offset"]
    older = _with_metadata(stated, tmp_path / "older.onnx", json.dumps(metadata))
    keypoints = frames_of(dance, 30)
    lifter = load_lifter(older)
    assert lifter.output_offset == 13
    np.testing.assert_array_equal(lifter.predict(keypoints, IMAGE_SIZE), load_lifter(stated).predict(keypoints, IMAGE_SIZE))
    causal = {**metadata, "model_config": {**metadata["model_config"], "causal": True}}
    assert validate_metadata(causal, "older causal")["output_offset"] == 26
    wrong = _with_metadata(stated, tmp_path / "wrong.onnx", json.dumps({**metadata, "output_offset": 27}))
    with pytest.raises(LifterLoadError, match=r"output_offset must be an integer in 0\.\.26"):
        load_lifter(wrong)


@pytest.mark.parametrize("flip", [False, True])
def test_the_trainers_validation_scores_what_the_runtime_lifts(dance, tcn, flip):
    """``train.evaluate.predict`` on a clip's feature window gives, frame for frame, what
    ``load_lifter(...).predict`` gives for the frames whose whole receptive field is in the clip:
    the same output offset and the same test-time flip (the image pull, after the model, is the
    runtime's own)."""
    from train.evaluate import predict

    model, _, pt_path = tcn
    keypoints = frames_of(dance, 60)
    runtime = load_lifter(pt_path, flip=flip, image_pull=False).predict(keypoints, IMAGE_SIZE)
    features = lifter_features(keypoints, np.ones((60, 17)), IMAGE_SIZE)
    scored = predict(model, features[None], torch.device("cpu"), flip=flip)[0]
    offset = model.output_offset
    np.testing.assert_allclose(scored, runtime[offset:offset + len(scored)], atol=1e-5, rtol=0)
    assert len(scored) == 60 - model.receptive_field + 1


def test_pt_checkpoint_gives_the_same_poses_as_onnx(dance, tcn):
    _, onnx_path, pt_path = tcn
    keypoints = frames_of(dance, 100)
    from_pt = load_lifter(pt_path)
    assert from_pt.backend == "torch" and from_pt.metadata == load_lifter(onnx_path).metadata
    np.testing.assert_allclose(
        from_pt.predict(keypoints, IMAGE_SIZE), load_lifter(onnx_path).predict(keypoints, IMAGE_SIZE), atol=1e-4, rtol=0
    )


def test_onnx_runtime_path_imports_no_torch(tiny_lifter_onnx):
    script = (
        "import sys, numpy as np\n"
        "from repose_core import load_lifter\n"
        f"lifter = load_lifter({str(tiny_lifter_onnx)!r})\n"
        "pose = lifter.predict(np.random.rand(40, 17, 2) * 500, image_size=(640, 480))\n"
        "assert pose.shape == (40, 17, 3), pose.shape\n"
        "print('torch' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_default_model_lifts_real_motion(dance, cmu_dance_camera):
    """load_lifter() is the shipped model, and it lifts: on real motion (a CMU dance, turns and
    arm work) seen by a camera, within 150 mm of the truth per joint (it scores ~40 mm; a model
    that answers zeros or a mean pose, hundreds)."""
    from repose_core import metrics

    lifter = load_lifter()
    assert lifter.path == DEFAULT_LIFTER_PATH
    pose = lifter.predict(dance, IMAGE_SIZE)
    assert metrics.mpjpe(pose, cmu_dance_camera) < 150
    assert metrics.bone_direction_error_deg(pose, cmu_dance_camera) < 30


# --- bad model files: a LifterLoadError (a ValueError) that names the file and the problem ------
def test_missing_file(tmp_path):
    path = tmp_path / "nope.onnx"
    with pytest.raises(LifterLoadError, match=f"{path}: no such model file"):
        load_lifter(path)
    assert issubclass(LifterLoadError, ValueError)


@pytest.mark.parametrize("kind", ["onnx", "pt"])
def test_truncated_file(tcn, tmp_path, kind):
    source = tcn[1] if kind == "onnx" else tcn[2]
    data = source.read_bytes()
    broken = tmp_path / f"broken.{kind}"
    broken.write_bytes(data[: len(data) // 2])
    what = "not a readable ONNX model" if kind == "onnx" else "not a readable PyTorch checkpoint"
    with pytest.raises(LifterLoadError, match=f"{broken}: {what}"):
        load_lifter(broken)


def test_unknown_file_type(tmp_path):
    path = tmp_path / "model.h5"
    path.write_bytes(b"\x89HDF")
    with pytest.raises(LifterLoadError, match="expected .onnx or .pt"):
        load_lifter(path)


def _with_metadata(source: Path, destination: Path, metadata: str | None) -> Path:
    model = onnx.load(source)
    del model.metadata_props[:]
    if metadata is not None:
        entry = model.metadata_props.add()
        entry.key, entry.value = "repose", metadata
    onnx.save(model, destination)
    return destination


def test_onnx_that_is_not_a_repose_model(tcn, tmp_path):
    path = _with_metadata(tcn[1], tmp_path / "foreign.onnx", None)
    with pytest.raises(LifterLoadError, match=f"{path}: not a RePOSE lifter"):
        load_lifter(path)


def test_wrong_joint_count(tcn, tmp_path):
    metadata = lifter_metadata(tcn[0])
    sixteen = json.dumps({**metadata, "joints": metadata["joints"][:16]})
    path = _with_metadata(tcn[1], tmp_path / "sixteen.onnx", sixteen)
    with pytest.raises(LifterLoadError, match=f"{path}: model has 16 joints"):
        load_lifter(path)
    checkpoint = tmp_path / "sixteen.pt"
    torch.save({"metadata": json.loads(sixteen), "model": tcn[0].state_dict()}, checkpoint)
    with pytest.raises(LifterLoadError, match=f"{checkpoint}: model has 16 joints"):
        load_lifter(checkpoint)


@exports
@pytest.mark.filterwarnings("ignore:.*LeafSpec:FutureWarning")  # torch 2.13 exporter internals
def test_onnx_graph_with_wrong_joint_count(tmp_path):
    """Metadata that claims 17 joints on a graph that takes 16 is caught from the graph."""
    torch.manual_seed(0)
    model = build_model({"backbone": "tcn", "filter_widths": [3], "channels": 8, "num_joints": 16}).eval()
    program = torch.onnx.export(
        model, (torch.randn(2, 5, 16, 3),), dynamo=True, verbose=False,
        dynamic_shapes=({0: torch.export.Dim("batch"), 1: torch.export.Dim("time", min=3)},),
    )
    metadata = lifter_metadata(build_model({"backbone": "tcn", "filter_widths": [3], "channels": 8}))
    proto = program.model_proto
    entry = proto.metadata_props.add()
    entry.key, entry.value = "repose", json.dumps(metadata)
    path = tmp_path / "graph16.onnx"
    onnx.save(proto, path)
    with pytest.raises(LifterLoadError, match=r"input shape .*16, 3\] is not \(batch, time, 17, 3\)"):
        load_lifter(path)


def test_checkpoint_problems(tcn, tmp_path):
    model, _, _ = tcn
    no_metadata = tmp_path / "weights_only.pt"
    torch.save(model.state_dict(), no_metadata)
    with pytest.raises(LifterLoadError, match=f"{no_metadata}: not a RePOSE checkpoint"):
        load_lifter(no_metadata)
    wider = tmp_path / "wider.pt"
    metadata = lifter_metadata(model)
    metadata["model_config"]["channels"] = 64
    torch.save({"metadata": metadata, "model": model.state_dict()}, wider)
    with pytest.raises(LifterLoadError, match=f"{wider}: weights do not fit"):
        load_lifter(wider)


# --- bad inputs to predict: ValueError naming the argument --------------------------------------
@pytest.mark.parametrize("shape", [(10, 17, 3), (17, 2), (0, 17, 2), (10, 16, 2), (2, 10, 17, 2)])
def test_keypoints_of_the_wrong_shape(tiny_lifter_onnx, shape):
    with pytest.raises(ValueError, match=r"keypoints must have shape \(T, 17, 2\)"):
        load_lifter(tiny_lifter_onnx).predict(np.zeros(shape), IMAGE_SIZE)


@pytest.mark.parametrize("size", [(0, 1080), (1920,), (1920, float("nan")), "1920x1080", "12", (-5, 3)])
def test_invalid_image_size(dance, tiny_lifter_onnx, size):
    with pytest.raises(ValueError, match="image_size"):
        load_lifter(tiny_lifter_onnx).predict(frames_of(dance, 5), size)


def test_confidence_of_the_wrong_shape(dance, tiny_lifter_onnx):
    with pytest.raises(ValueError, match=r"confidence must have shape \(5, 17\)"):
        load_lifter(tiny_lifter_onnx).predict(frames_of(dance, 5), IMAGE_SIZE, confidence=np.ones((5, 16)))


def test_lifter_is_what_load_lifter_returns(tiny_lifter_onnx):
    assert isinstance(load_lifter(tiny_lifter_onnx), Lifter)
