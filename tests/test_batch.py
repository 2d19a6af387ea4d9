"""python -m addon.batch end to end on the bundled clip (headless bpy), plus its bad-input paths."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import bpy  # required: the add-on tests must never be skipped silently

from addon import batch, export  # noqa: E402
from addon.motion.rig import BONE_NAMES  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
FRAMES = 30


def _write_blank_video(path: Path, frames: int = 12) -> Path:
    """A readable video with nobody in it (grey frames)."""
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (160, 120))
    for _ in range(frames):
        writer.write(np.full((120, 160, 3), 128, np.uint8))
    writer.release()
    return path


@pytest.fixture(scope="module")
def batch_run(tmp_path_factory, example_video, tiny_lifter_onnx):
    """One CLI run: the example clip, a file that is not a video, and a video with nobody in it."""
    work = tmp_path_factory.mktemp("batch_work")
    inputs = tmp_path_factory.mktemp("batch_inputs")
    not_video = inputs / "notes.mp4"
    not_video.write_text("this is not a video\n")
    blank = _write_blank_video(inputs / "empty_room.mp4")
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO_ROOT),
               BLENDER_USER_RESOURCES=str(tmp_path_factory.mktemp("blender_user")))
    command = [sys.executable, "-m", "addon.batch", str(example_video), str(not_video), str(blank),
               "-o", "out", "--formats", "blend,bvh,fbx", "--model", str(tiny_lifter_onnx),
               "--end", str(FRAMES)]
    process = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, timeout=600)
    return work, process


@pytest.mark.slow
def test_batch_continues_past_bad_files_and_fails_overall(batch_run, example_video):
    work, process = batch_run
    assert process.returncode == 1, process.stderr[-2000:]
    summary = json.loads((work / "out" / "summary.json").read_text())
    assert (summary["succeeded"], summary["failed"]) == (1, 2)
    good, not_video, blank = summary["videos"]
    assert good["status"] == "ok" and good["frames"] == FRAMES and good["detection_rate"] == 1.0
    assert set(good["timings"]) >= {"detect", "lift", "animate", "armature", "save"}
    assert good["foot_skate_before_mm"] is None or good["foot_skate_after_mm"] <= good["foot_skate_before_mm"]
    assert not_video["status"] == "error" and "notes.mp4" in not_video["error"]
    assert blank["status"] == "error" and "no person found" in blank["error"]
    # Progress per file, then the failures by name on stderr.
    assert f"[1/3] {example_video.name}: detect" in process.stdout
    assert "[2/3] notes.mp4: FAILED" in process.stderr


@pytest.mark.slow
def test_batch_writes_only_inside_the_output_folder(batch_run, example_video):
    work, _ = batch_run
    written = sorted(p.relative_to(work).as_posix() for p in work.rglob("*") if p.is_file())
    stem = example_video.stem
    assert written == sorted([f"out/{stem}.blend", f"out/{stem}.bvh", f"out/{stem}.fbx",
                              f"out/{stem}_preview.png", "out/summary.json"])


@pytest.mark.slow
def test_exports_reimport_with_the_same_frame_count(batch_run, example_video):
    work, _ = batch_run
    out = work / "out"
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.import_anim.bvh(filepath=str(out / f"{example_video.stem}.bvh"))
    bvh_armature = bpy.context.object
    start, end = bvh_armature.animation_data.action.frame_range
    assert int(round(end - start)) + 1 == FRAMES
    assert {b.name for b in bvh_armature.data.bones} == set(BONE_NAMES)

    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.import_scene.fbx(filepath=str(out / f"{example_video.stem}.fbx"))
    fbx_armature = next(o for o in bpy.context.scene.objects if o.type == "ARMATURE")
    start, end = fbx_armature.animation_data.action.frame_range
    assert int(round(end - start)) + 1 == FRAMES
    assert set(BONE_NAMES) <= {b.name for b in fbx_armature.data.bones}


@pytest.mark.slow
def test_blend_output_holds_the_keyed_armature(batch_run, example_video):
    work, _ = batch_run
    bpy.ops.wm.open_mainfile(filepath=str(work / "out" / f"{example_video.stem}.blend"))
    armatures = [o for o in bpy.data.objects if o.type == "ARMATURE"]
    assert len(armatures) == 1 and len(armatures[0].data.bones) == len(BONE_NAMES)
    scene = bpy.context.scene
    assert (scene.frame_start, scene.frame_end) == (1, FRAMES)
    assert armatures[0].animation_data.action is not None
    bpy.ops.wm.read_factory_settings(use_empty=True)


@pytest.mark.slow
def test_batch_puts_the_motion_on_a_rig(tmp_path, example_video, tiny_lifter_onnx, detection_cache, shared_data):
    rig = shared_data / "characters" / "quaternius_modular_men_Casual.glb"
    code = batch.main([str(example_video), "-o", str(tmp_path / "out"), "--formats", "blend",
                       "--model", str(tiny_lifter_onnx), "--end", "40", "--cache-dir", str(detection_cache),
                       "--rig", str(rig)])
    assert code == 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert "retarget" in summary["videos"][0]["timings"]
    bpy.ops.wm.open_mainfile(filepath=str(tmp_path / "out" / f"{example_video.stem}.blend"))
    armatures = {o.name: o for o in bpy.data.objects if o.type == "ARMATURE"}
    assert len(armatures) == 2  # the generated performer and the character
    character = next(o for o in armatures.values() if "Hips" in o.data.bones)
    assert character.animation_data.action is not None
    bpy.ops.wm.read_factory_settings(use_empty=True)


def test_bad_arguments_exit_with_status_2(tmp_path, example_video):
    with pytest.raises(SystemExit) as exit_info:
        batch.main([str(example_video), "-o", str(tmp_path), "--formats", "obj"])
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit) as exit_info:
        batch.main([str(example_video), "-o", str(tmp_path), "--rig", str(tmp_path / "missing.glb")])
    assert exit_info.value.code == 2
    assert not any(tmp_path.iterdir())


def test_output_paths_cannot_leave_the_folder(tmp_path):
    for stem in ("../../etc/passwd", "/abs/path", "..", "a/../../b", ".hidden"):
        path = export.output_path(tmp_path, stem, "bvh")
        assert path.parent == tmp_path.resolve(), stem
    assert export.parse_formats("BVH, .fbx,bvh") == ("bvh", "fbx")
    with pytest.raises(export.ExportError, match="unknown export format 'obj'"):
        export.parse_formats("blend,obj")


def test_argv_after_double_dash_is_used_under_blender(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "argv", ["blender", "-b", "--python-expr", "...", "--", "clip.mp4", "-o", str(tmp_path)])
    args = batch.parse_args()
    assert args.videos == [Path("clip.mp4")] and args.out == tmp_path and args.formats == ("blend", "bvh")


def test_batch_follows_the_chosen_person_with_the_given_lens(tmp_path, shared_data, tiny_lifter_onnx):
    """--person 1 on the two-person clip follows the woman (second from the left, walking in
    from frame ~40), not the man on the box; --focal-35mm reaches the root motion's camera."""
    from addon.pipeline import analyse
    from repose_core.camera import Intrinsics

    video = shared_data / "videos" / "sports2d_jump_walk.mp4"
    args = batch.parse_args([str(video), "-o", str(tmp_path), "--end", "126", "--stride", "6",
                             "--model", str(tiny_lifter_onnx), "--person", "1", "--focal-35mm", "50"])
    options = batch.import_options(video, args)
    assert (options.person, options.focal_35mm) == (1, 50.0)
    result = analyse(options)
    assert result.frame_indices[result.found][0] >= 35  # not before she walks in
    width, height = result.image_size
    assert result.camera.focal_px == pytest.approx(Intrinsics.from_focal_35mm(width, height, 50.0).fx)
    defaults = batch.import_options(video, batch.parse_args([str(video), "-o", str(tmp_path)]))
    assert (defaults.person, defaults.focal_35mm) == (None, 26.0)
    with pytest.raises(ValueError, match="person must be >= 0"):
        batch.import_options(video, batch.parse_args([str(video), "-o", str(tmp_path), "--person", "-1"]))


def test_analyse_reports_progress_and_cancels(example_video, tiny_lifter_onnx, detection_cache, example_motion):
    from addon.pipeline import STAGES, ImportCancelled, ImportOptions, analyse

    options = ImportOptions(video=example_video, end=len(example_motion.frame_indices),
                            model_path=tiny_lifter_onnx, cache_dir=detection_cache)
    seen = []
    analyse(options, progress=lambda stage, done, total: seen.append((stage, done, total)))
    assert [stage for stage in STAGES if any(s == stage for s, _, _ in seen)] == list(STAGES)
    assert all(done <= total for _, done, total in seen)
    with pytest.raises(ImportCancelled):
        analyse(ImportOptions(video=example_video, end=5, model_path=tiny_lifter_onnx), cancel=lambda: True)


def test_bad_options_and_models_give_clear_errors(example_video, detection_cache, example_motion, tmp_path):
    from addon.pipeline import ImportOptions, analyse
    from repose_core.runtime import LifterLoadError

    with pytest.raises(ValueError, match="smoothing"):
        ImportOptions(video=example_video, smoothing=1.5)
    with pytest.raises(ValueError, match="end frame"):
        ImportOptions(video=example_video, start=10, end=10)
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    with pytest.raises(LifterLoadError, match="broken.onnx"):
        analyse(ImportOptions(video=example_video, end=len(example_motion.frame_indices), model_path=broken,
                              cache_dir=detection_cache))
