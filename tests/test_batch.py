"""python -m addon.batch end to end on the bundled clip (headless bpy), plus its bad-input paths.

The end-to-end run uses the shipped lifter on the whole clip: its files, opened or imported
again, must put every joint where the import computed it."""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import bpy  # required: the add-on tests must never be skipped silently
from mathutils import Matrix  # noqa: E402

from addon import batch, export  # noqa: E402
from addon.armature import build_armature  # noqa: E402
from addon.motion.rig import BONE_HEAD_JOINT, BONE_NAMES, BONE_TAIL_JOINT  # noqa: E402
from rig_checks import QUATERNIUS_SEGMENTS, segment_angles  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
FRAMES = 100  # the whole clip, detected once a session into the shared cache


def _write_blank_video(path: Path, frames: int = 12) -> Path:
    """A readable video with nobody in it (grey frames)."""
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (160, 120))
    for _ in range(frames):
        writer.write(np.full((120, 160, 3), 128, np.uint8))
    writer.release()
    return path


@pytest.fixture(scope="module")
def batch_run(tmp_path_factory, example_video, detection_cache):
    """One CLI run with the shipped lifter: the example clip, a file that is not a video, and a
    video with nobody in it, written as .blend, .bvh and .fbx."""
    work = tmp_path_factory.mktemp("batch_work")
    inputs = tmp_path_factory.mktemp("batch_inputs")
    not_video = inputs / "notes.mp4"
    not_video.write_text("this is not a video\n")
    blank = _write_blank_video(inputs / "empty_room.mp4")
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO_ROOT),
               BLENDER_USER_RESOURCES=str(tmp_path_factory.mktemp("blender_user")))
    command = [sys.executable, "-m", "addon.batch", str(example_video), str(not_video), str(blank),
               "-o", "out", "--formats", "blend,bvh,fbx", "--cache-dir", str(detection_cache)]
    process = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, timeout=600)
    return work, process


@pytest.mark.slow
def test_batch_continues_past_bad_files_and_fails_overall(batch_run, example_video):
    from repose_core.runtime import DEFAULT_LIFTER_PATH

    work, process = batch_run
    assert process.returncode == 1, process.stderr[-2000:]
    summary = json.loads((work / "out" / "summary.json").read_text())
    assert (summary["succeeded"], summary["failed"]) == (1, 2)
    good, not_video, blank = summary["videos"]
    assert good["status"] == "ok" and good["frames"] == FRAMES and good["detection_rate"] == 1.0
    assert set(good["timings"]) >= {"detect", "lift", "animate", "armature", "save"}
    assert good["fps"] == 60.0 and good["warnings"] == []
    assert good["foot_skate_before_mm"] is None or good["foot_skate_after_mm"] <= good["foot_skate_before_mm"]
    assert not_video["status"] == "error" and "notes.mp4" in not_video["error"]
    assert blank["status"] == "error" and "no person found" in blank["error"]
    # Progress per file, then the failures by name on stderr.
    assert f"[1/3] {example_video.name}: detect" in process.stdout
    assert "[2/3] notes.mp4: FAILED" in process.stderr
    # The model each video was imported with (issue 15 item 10).
    model = good["settings"]["model"]
    assert model["path"] == str(DEFAULT_LIFTER_PATH)
    assert model["sha256"] == hashlib.sha256(DEFAULT_LIFTER_PATH.read_bytes()).hexdigest()


@pytest.mark.slow
def test_terminal_shows_only_the_products_own_messages(batch_run):
    """What MediaPipe, TensorFlow Lite, absl, FFmpeg and Blender's exporters print goes to
    OUT_DIR/batch.log; the terminal keeps progress, warnings, failures and the final line."""
    work, process = batch_run
    ours = re.compile(r"\[\d+/3\] [\w.]+: (start|(detect|lift|animate) \d+/\d+|done, .*|FAILED: .*"
                      r"|warning: .*)|\d+/3 videos done; summary: .*; log: .*")
    for line in (process.stdout + process.stderr).splitlines():
        assert ours.fullmatch(line), line
    log = (work / "out" / "batch.log").read_text(errors="replace")
    for theirs in ("Feedback manager", "BVH Exported", "export finished"):
        assert theirs in log


@pytest.mark.slow
def test_batch_writes_only_inside_the_output_folder(batch_run, example_video):
    work, _ = batch_run
    written = sorted(p.relative_to(work).as_posix() for p in work.rglob("*") if p.is_file())
    stem = example_video.stem
    assert written == sorted([f"out/{stem}.blend", f"out/{stem}.bvh", f"out/{stem}.fbx",
                              f"out/{stem}_preview.png", "out/summary.json", "out/batch.log"])


def _posed_joints(obj, rest, frames) -> np.ndarray:
    """(frames, 17, 3) world joints of a generated armature as Blender poses it: each bone's
    head, and its tail along the bone's own Y axis at the rest length (files that do not keep
    bone lengths, as FBX, still say where each bone points)."""
    scene = bpy.context.scene
    joints = np.zeros((len(frames), 17, 3))
    for k, frame in enumerate(frames):
        scene.frame_set(frame)
        for b, name in enumerate(BONE_NAMES):
            matrix = np.array(obj.matrix_world @ obj.pose.bones[name].matrix)
            head, y_axis = matrix[:3, 3], matrix[:3, 1] / np.linalg.norm(matrix[:3, 1])
            joints[k, BONE_HEAD_JOINT[b]] = head
            if BONE_TAIL_JOINT[b] >= 0:
                joints[k, BONE_TAIL_JOINT[b]] = head + y_axis * rest.bone_lengths[b]
    return joints


@pytest.mark.slow
def test_every_file_reimports_with_the_joints_the_import_computed(batch_run, example_video, detection_cache):
    """The .blend (opened), the .bvh (Blender's importer, its defaults: Y up in) and the .fbx,
    at every 7th frame: each joint within a millimetre of the motion the import computed. Not
    frame counts: a file of rest poses or zero rotations fails here."""
    from addon.pipeline import ImportOptions, analyse

    work, _ = batch_run
    motion = analyse(ImportOptions(video=example_video, cache_dir=detection_cache)).motion
    frames = list(range(1, FRAMES + 1, 7))
    expected = motion.joints[[f - 1 for f in frames]]
    assert np.linalg.norm(expected - motion.rest.joints, axis=-1).max() > 0.2  # it moves off its rest pose
    out = work / "out" / example_video.stem
    load = {"blend": lambda: bpy.ops.wm.open_mainfile(filepath=f"{out}.blend"),
            "bvh": lambda: bpy.ops.import_anim.bvh(filepath=f"{out}.bvh"),
            "fbx": lambda: bpy.ops.import_scene.fbx(filepath=f"{out}.fbx")}
    for fmt, reads in load.items():
        bpy.ops.wm.read_factory_settings(use_empty=True)
        reads()
        (armature,) = [o for o in bpy.data.objects if o.type == "ARMATURE"]
        assert set(BONE_NAMES) <= set(armature.data.bones.keys()), fmt
        assert bpy.context.scene.frame_start == 1 or fmt == "bvh", fmt
        error = np.linalg.norm(_posed_joints(armature, motion.rest, frames) - expected, axis=-1)
        assert error.max() < 1e-3, (fmt, error.max())  # metres
    bpy.ops.wm.read_factory_settings(use_empty=True)


@pytest.fixture(scope="module")
def character_rigs(tmp_path_factory, shared_data) -> dict[str, Path]:
    """The Quaternius character as shipped (.glb) and saved as a .blend, the two ways a rig comes."""
    glb = shared_data / "characters" / "quaternius_modular_men_Casual.glb"
    blend = tmp_path_factory.mktemp("rig") / "character.blend"
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.import_scene.gltf(filepath=str(glb))
    bpy.ops.wm.save_as_mainfile(filepath=str(blend), copy=True)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    return {"glb": glb, "blend": blend}


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["glb", "blend"])
def test_batch_puts_the_motion_on_a_rig(tmp_path, example_video, tiny_lifter_onnx, detection_cache,
                                        character_rigs, kind):
    code = batch.main([str(example_video), "-o", str(tmp_path / "out"), "--formats", "blend",
                       "--model", str(tiny_lifter_onnx), "--cache-dir", str(detection_cache),
                       "--rig", str(character_rigs[kind])])
    assert code == 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert {"rig", "armature", "retarget"} <= set(summary["videos"][0]["timings"])
    bpy.ops.wm.open_mainfile(filepath=str(tmp_path / "out" / f"{example_video.stem}.blend"))
    armatures = {o.name: o for o in bpy.data.objects if o.type == "ARMATURE"}
    assert len(armatures) == 2  # the generated performer and the character
    character = next(o for o in armatures.values() if "Hips" in o.data.bones)
    performer = next(o for o in armatures.values() if o is not character)
    assert character.animation_data.action is not None
    # As after the panel's import: the character carries the motion, its source is hidden.
    assert character.visible_get() and not performer.visible_get()
    assert segment_angles(performer, character, QUATERNIUS_SEGMENTS, range(1, FRAMES + 1, 9)).max() < 1.0
    bpy.ops.wm.read_factory_settings(use_empty=True)


def test_bad_arguments_exit_with_status_2(tmp_path, example_video):
    with pytest.raises(SystemExit) as exit_info:
        batch.main([str(example_video), "-o", str(tmp_path), "--formats", "obj"])
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit) as exit_info:
        batch.main([str(example_video), "-o", str(tmp_path), "--rig", str(tmp_path / "missing.glb")])
    assert exit_info.value.code == 2
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("arguments, message", [
    (["--smoothing", "3"], "smoothing must be in"),
    (["--start", "10", "--end", "5"], "end frame 5 must be after start frame 10"),
    (["--stride", "0"], "stride must be >= 1"),
    (["--start", "-1"], "start frame must be >= 0"),
    (["--person", "4"], r"--person: must be 0\.\.3 \(0 = the leftmost\), got 4"),
    (["--focal-35mm", "0"], "focal_35mm must be positive"),
    (["--model", "missing.onnx"], "missing.onnx"),
    (["--model", "broken.onnx"], "broken.onnx"),
    (["--bone-map", "mixamo"], "--bone-map needs --rig"),
    (["--overwrite", "--skip-existing"], "not allowed with argument"),
])
def test_bad_settings_stop_the_batch_before_any_video(tmp_path, example_video, capsys, monkeypatch,
                                                      arguments, message):
    """Every setting is checked before the first video is touched: status 2, nothing written
    (not one failed video per input, status 1)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "broken.onnx").write_bytes(b"not a model")
    with pytest.raises(SystemExit) as exit_info:
        batch.main([str(example_video), str(example_video), "-o", "out", *arguments])
    assert exit_info.value.code == 2
    assert re.search(message, capsys.readouterr().err)
    assert not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def named_run(tmp_path_factory, example_video, tiny_lifter_onnx, detection_cache):
    """python -m addon.batch on copies of the example clip with the names a first batch got
    wrong: two in CJK only, one mixing scripts and spaces, one named as another from another
    folder. .bvh and the preview of each (one detection: they are the same clip)."""
    work = tmp_path_factory.mktemp("names")
    names = ["in/中国.mp4", "in/日本.mp4", "in/mein Video ü 日本.mp4", "other/中国.mp4"]
    for name in names:
        (work / name).parent.mkdir(exist_ok=True)
        shutil.copy(example_video, work / name)
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO_ROOT),
               BLENDER_USER_RESOURCES=str(tmp_path_factory.mktemp("blender_user")))
    common = ["--formats", "bvh", "--model", str(tiny_lifter_onnx), "--cache-dir", str(detection_cache)]
    process = subprocess.run([sys.executable, "-m", "addon.batch", *names, "-o", "out", *common],
                             cwd=work, env=env, capture_output=True, text=True, timeout=600)
    return work, process, common


@pytest.mark.slow
def test_output_names_keep_the_videos_names_and_never_collide(named_run):
    work, process, _ = named_run
    assert process.returncode == 0, process.stderr[-2000:]
    out = work / "out"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["中国.bvh", "中国_preview.png", "日本.bvh", "日本_preview.png", "mein Video ü 日本.bvh",
         "mein Video ü 日本_preview.png", "中国_2.bvh", "中国_2_preview.png", "summary.json",
         "batch.log"])
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert (summary["succeeded"], summary["failed"]) == (4, 0)
    outputs = [entry["outputs"]["bvh"] for entry in summary["videos"]]
    assert len(set(outputs)) == 4
    assert [Path(entry["video"]).relative_to(work).as_posix() for entry in summary["videos"]] == [
        "in/中国.mp4", "in/日本.mp4", "in/mein Video ü 日本.mp4", "other/中国.mp4"]
    # Names in any script print as they are, in the summary and on the terminal, and the
    # preview's font lacking CJK glyphs warns nowhere.
    assert "中国" in (out / "summary.json").read_text(encoding="utf-8")
    assert "[3/4] mein Video ü 日本.mp4: done" in process.stdout
    assert "Glyph" not in process.stderr + (out / "batch.log").read_text(errors="replace")


@pytest.mark.slow
def test_a_second_run_into_the_folder_replaces_nothing_unless_asked(named_run, monkeypatch, capfd):
    work, _, common = named_run
    monkeypatch.chdir(work)
    out = work / "out"
    files = {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.suffix != ".log"}
    first = ["in/中国.mp4", "in/日本.mp4", "in/mein Video ü 日本.mp4", "other/中国.mp4"]
    again = [*first, "-o", "out", *common]
    assert batch.main(again) == 2  # before touching anything
    assert "add --overwrite to replace them, or --skip-existing" in capfd.readouterr().err
    assert batch.main([*again, "--skip-existing"]) == 0
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.name in files} == {
        **files, "summary.json": (out / "summary.json").stat().st_mtime_ns}
    assert capfd.readouterr().out.count("skipped, its files are already in") == 4

    # An interrupted batch: 日本's files were not all written. A new video joins the run.
    (out / "日本.bvh").unlink()
    shutil.copy(work / "in" / "日本.mp4", work / "in" / "new.mp4")
    assert batch.main([*first, "in/new.mp4", "-o", "out", *common, "--skip-existing"]) == 0
    printed = capfd.readouterr().out
    assert printed.count("skipped, its files are already in") == 3
    assert "[2/5] 日本.mp4: done" in printed and "[5/5] new.mp4: done" in printed
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert (summary["succeeded"], summary["failed"], len(summary["videos"])) == (5, 0, 5)
    assert (out / "日本.bvh").is_file() and (out / "new.bvh").is_file()

    before = (out / "中国.bvh").stat().st_mtime_ns
    untouched = (out / "中国_2.bvh").stat().st_mtime_ns
    assert batch.main(["in/中国.mp4", "-o", "out", *common, "--overwrite"]) == 0
    assert (out / "中国.bvh").stat().st_mtime_ns > before
    assert (out / "中国_2.bvh").stat().st_mtime_ns == untouched
    assert len(json.loads((out / "summary.json").read_text(encoding="utf-8"))["videos"]) == 5


def test_names_keep_every_script_and_drop_only_what_file_systems_forbid():
    assert export.safe_name("mein Video ü 日本") == "mein Video ü 日本"
    assert export.safe_name("中国") == "中国"
    assert export.safe_name('a<b>c:d"e|f?g*h\\i') == "a_b_c_d_e_f_g_h_i"
    assert export.safe_name(" .hidden. ") == "hidden"
    assert export.safe_name("CON") == "_CON" and export.safe_name("lpt1.take") == "_lpt1.take"
    assert export.safe_name("..") == "motion"
    long = export.safe_name("日本" * 100)
    assert len(long.encode()) <= 200 and set(long) == {"日", "本"}
    assert batch._unique_name("Clip", {"clip"}) == "Clip_2"  # case-insensitive file systems


@pytest.mark.slow
@pytest.mark.parametrize("up, axes", [("Y", {}), ("Z", {"axis_forward": "Y", "axis_up": "Z"})])
def test_bvh_reimports_onto_the_blend_pose(tmp_path, example_motion, up, axes):
    """Y up by default: Blender's own importer with its defaults (Y up in, Z up in Blender) puts
    every joint where the .blend has it, also for an armature object that is turned, scaled and
    moved (as imported rigs are). --bvh-up Z writes Blender's axes, for an import that says so."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    rest = example_motion.motion.rest
    obj = build_armature(bpy.context.scene, example_motion.motion, name="clip")
    obj.rotation_euler, obj.scale, obj.location = (0.3, 0.0, 0.7), (0.5, 0.5, 0.5), (1.0, 2.0, 0.0)
    if up == "Z":
        obj.matrix_world = Matrix.Identity(4)  # Blender's axes: the armature's own space
    frames = [1, len(example_motion.frame_indices) // 2, len(example_motion.frame_indices)]
    expected = _posed_joints(obj, rest, frames)
    path = export.export_files(obj, tmp_path, "clip", "bvh", bvh_up=up)["bvh"]
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.import_anim.bvh(filepath=str(path), **axes)
    imported = bpy.context.object
    assert imported.animation_data.action.frame_range[0] == 1.0
    np.testing.assert_allclose(_posed_joints(imported, rest, frames), expected, atol=1e-4)


@pytest.mark.slow
def test_fbx_keys_start_at_the_first_frame_and_keep_the_videos_times(tmp_path, example_motion):
    """The FBX's first key is at time 0, so Blender's importer (time 0 = frame 1) puts it on the
    scene's first frame; key times are the video's, also at 23.976 fps."""
    from dataclasses import replace

    from io_scene_fbx import parse_fbx
    from io_scene_fbx.fbx_utils import FBX_KTIME_V7

    fps = 24000 / 1001
    bpy.ops.wm.read_factory_settings(use_empty=True)
    obj = build_armature(bpy.context.scene, replace(example_motion.motion, fps=fps), name="clip")
    path = export.export_files(obj, tmp_path, "clip", "fbx")["fbx"]
    assert bpy.context.scene.frame_start == 1  # the export leaves the scene as it was
    assert obj.animation_data.action.frame_range[0] == 1.0

    root, version = parse_fbx.parse(str(path))
    assert version < 8000  # FBX 7.x: FBX_KTIME_V7 ticks per second

    def elements(element):
        yield element
        for child in element.elems:
            yield from elements(child)

    times = [np.asarray(e.props[0]) for e in elements(root) if e.id == b"KeyTime"]
    seconds = np.arange(len(example_motion.frame_indices)) / fps  # the video's, from 0
    assert times and all(np.allclose(t / FBX_KTIME_V7, seconds, rtol=0, atol=1e-6) for t in times)

    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.import_scene.fbx(filepath=str(path))
    imported = next(o for o in bpy.context.scene.objects if o.type == "ARMATURE")
    assert imported.animation_data.action.frame_range[0] == bpy.context.scene.frame_start == 1
    assert bpy.context.scene.render.fps / bpy.context.scene.render.fps_base == pytest.approx(fps)


def test_variable_frame_rate_footage_is_keyed_at_the_frames_real_times(vfr_clip, tiny_lifter_onnx):
    """12 frames over 8/30 s, the first six 1/60 s apart: 11 keys 1/40 s apart (the clip's mean
    rate), each pose the detection at that key's time, not one key per frame."""
    from addon.pipeline import ImportOptions, analyse
    from repose_core.detect import detect_video

    result = analyse(ImportOptions(video=vfr_clip, model_path=tiny_lifter_onnx, root_motion=False))
    assert (result.num_frames, result.motion.fps) == (11, pytest.approx(40.0))
    raw = detect_video(vfr_clip)
    times = np.arange(11) / 40.0
    flat = raw.keypoints.reshape(len(raw), -1)
    expected = np.stack([np.interp(times, raw.times, flat[:, i]) for i in range(flat.shape[1])], -1)
    np.testing.assert_allclose(result.keypoints.reshape(11, -1), expected, atol=1e-3)
    assert "variable frame rate" in result.warnings[-1]
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    obj = build_armature(scene, result.motion)
    assert (scene.frame_start, scene.frame_end) == (1, 11)
    assert scene.render.fps / scene.render.fps_base == pytest.approx(40.0)
    assert obj.animation_data.action.frame_range[:] == pytest.approx((1.0, 11.0))


def test_plan_keeps_a_known_videos_name_and_gives_every_other_its_own(tmp_path):
    """A video the folder's summary lists keeps its files' name (a rerun replaces or skips its
    own files); another of the same name, in any case, gets the next free one; a video given
    twice is done once."""
    first, again, other = (tmp_path / folder / "clip.mp4" for folder in ("a", "b", "c"))
    upper = tmp_path / "d" / "CLIP.mp4"
    known = {str(again.resolve()): {"video": str(again.resolve()), "name": "clip", "status": "ok"}}
    out = tmp_path / "out"
    jobs = batch.plan_jobs([first, again, first, other, upper], out, ("bvh",), True, known)
    assert [(job.video, job.name) for job in jobs] == [
        (first, "clip_2"), (again, "clip"), (other, "clip_3"), (upper, "CLIP_4")]
    assert jobs[0].outputs == {"bvh": out.resolve() / "clip_2.bvh",
                               "preview": out.resolve() / "clip_2_preview.png"}


def test_shards_take_each_video_once_whatever_the_order_of_the_command_line(tmp_path):
    """--shard I/N: every video in exactly one shard, shards differing by one video at most,
    the same shares for any order of the videos and any spelling of the same path."""
    videos = [Path(f"takes/{name}.mp4") for name in ("walk", "run", "jump", "sit", "wave")]
    out = tmp_path / "out"

    def shares(order, count):
        jobs = batch.plan_jobs(order, out, ("bvh",), False, {})
        return [sorted(str(job.video) for job in batch.shard_jobs(jobs, i, count)) for i in range(1, count + 1)]

    two = shares(videos, 2)
    assert sorted(sum(two, [])) == sorted(map(str, videos)) and sorted(map(len, two)) == [2, 3]
    assert shares(videos[::-1], 2) == shares(videos[2:] + videos[:2], 2) == two
    assert sorted(sum(shares(videos, 7), [])) == sorted(map(str, videos))  # more shards than videos
    assert batch.shard_key(Path("./takes//walk.mp4")) == batch.shard_key(Path("takes/walk.mp4"))
    assert batch.shard_key(Path("takes\\walk.mp4")) == "takes/walk.mp4"
    for bad in ("0/2", "3/2", "1", "a/b", "1/0"):
        with pytest.raises(SystemExit) as exit_:
            batch.parse_args([str(videos[0]), "-o", str(out), "--shard", bad])
        assert exit_.value.code == 2


@pytest.mark.slow
def test_two_shards_over_five_videos_cover_each_once_and_merge(tmp_path, example_video, tiny_lifter_onnx,
                                                               detection_cache, monkeypatch, capfd):
    """Two shards of one command (the videos in another order for the second), two of the
    videos of the same name: each video is imported once, under the name one run would give it;
    a shard run again with --skip-existing redoes only what is missing; merge-summaries
    combines the shards' summaries into summary.json."""
    monkeypatch.chdir(tmp_path)
    names = ["a/walk.mp4", "a/run.mp4", "a/jump.mp4", "b/walk.mp4", "b/wave.mp4"]
    for name in names:
        Path(name).parent.mkdir(exist_ok=True)
        shutil.copy(example_video, name)
    common = ["-o", "out", "--formats", "bvh", "--no-preview", "--model", str(tiny_lifter_onnx),
              "--cache-dir", str(detection_cache)]
    assert batch.main([*names, *common, "--shard", "1/2"]) == 0
    assert batch.main([*names[::-1], *common, "--shard", "2/2"]) == 0
    out = tmp_path / "out"
    shards = [json.loads((out / f"summary-shard-{i}-of-2.json").read_text(encoding="utf-8")) for i in (1, 2)]
    done = sorted(Path(e["video"]).relative_to(tmp_path).as_posix() for s in shards for e in s["videos"])
    assert done == sorted(names) and {len(s["videos"]) for s in shards} == {2, 3}
    assert sorted(p.name for p in out.glob("*.bvh")) == ["jump.bvh", "run.bvh", "walk.bvh", "walk_2.bvh", "wave.bvh"]
    assert (out / "batch-shard-1-of-2.log").is_file() and not (out / "summary.json").exists()
    printed = capfd.readouterr().out
    assert "shard 1/2: " in printed and "shard 2/2: " in printed

    assert batch.main(["merge-summaries", "out"]) == 0
    merged = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert (merged["succeeded"], merged["failed"], len(merged["videos"])) == (5, 0, 5)
    named = {Path(e["video"]).relative_to(tmp_path).as_posix(): e["name"] for e in merged["videos"]}
    assert (named["a/walk.mp4"], named["b/walk.mp4"]) == ("walk", "walk_2")  # by path, in any shard
    assert "merged 2 shard summaries (1/2, 2/2)" in capfd.readouterr().out

    # A shard that died part way: its files are not all there. Run again, it does only those.
    lost = next(e for e in shards[0]["videos"])
    Path(lost["outputs"]["bvh"]).unlink()
    assert batch.main([*names, *common, "--shard", "1/2", "--skip-existing"]) == 0
    printed = capfd.readouterr().out
    assert printed.count(": done,") == 1 and printed.count("skipped, its files") == len(shards[0]["videos"]) - 1
    assert Path(lost["outputs"]["bvh"]).is_file()
    assert batch.main(["merge-summaries", "out"]) == 0
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["succeeded"] == 5
    # A shard that never ran is named, and the merge says so by its exit status.
    (out / "summary-shard-2-of-2.json").rename(out / "elsewhere.json")
    assert batch.main(["merge-summaries", "out"]) == 1
    assert "shard 2/2 has no summary" in capfd.readouterr().err


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


@pytest.mark.slow
def test_batch_follows_the_chosen_person_with_the_given_lens(tmp_path, shared_data, tiny_lifter_onnx,
                                                            detection_cache):
    """--person 1 on the two-person clip follows the woman (second from the left, walking in
    from frame ~40), not the man on the box; --focal-35mm reaches the root motion's camera."""
    from addon.pipeline import analyse
    from repose_core.camera import Intrinsics

    video = shared_data / "videos" / "sports2d_jump_walk.mp4"
    args = batch.parse_args([str(video), "-o", str(tmp_path), "--end", "126", "--stride", "6",
                             "--model", str(tiny_lifter_onnx), "--person", "1", "--focal-35mm", "50",
                             "--cache-dir", str(detection_cache)])
    options = batch.import_options(video, args)
    assert (options.person, options.focal_35mm) == (1, 50.0)
    result = analyse(options)
    assert result.frame_indices[result.found][0] >= 35  # not before she walks in
    width, height = result.image_size
    assert result.motion.camera.focal_px == pytest.approx(Intrinsics.from_focal_35mm(width, height, 50.0).fx)
    defaults = batch.import_options(video, batch.parse_args([str(video), "-o", str(tmp_path)]))
    assert (defaults.person, defaults.focal_35mm) == (None, 26.0)
    with pytest.raises(SystemExit):  # found with the other arguments (-1 counts from nowhere)
        batch.parse_args([str(video), "-o", str(tmp_path), "--person", "-1"])


@pytest.mark.slow
def test_analyse_reports_progress_and_cancels(example_video, tiny_lifter_onnx, detection_cache, example_motion):
    """One progress protocol, (stage, done, total), from detection to the motion step."""
    from addon.pipeline import STAGES, ImportCancelled, ImportOptions, analyse

    options = ImportOptions(video=example_video, model_path=tiny_lifter_onnx, cache_dir=detection_cache)
    seen = []
    analyse(options, progress=lambda stage, done, total: seen.append((stage, done, total)))
    assert [stage for stage in STAGES if any(s == stage for s, _, _ in seen)] == list(STAGES)
    assert [s for s, _, _ in seen] == sorted((s for s, _, _ in seen), key=STAGES.index)  # in order
    assert all(done <= total for _, done, total in seen) and seen[-1] == ("animate", 5, 5)
    with pytest.raises(ImportCancelled):
        analyse(ImportOptions(video=example_video, end=5, model_path=tiny_lifter_onnx), cancel=lambda: True)


def test_bad_options_give_clear_errors(example_video):
    from addon.pipeline import ImportOptions

    with pytest.raises(ValueError, match="smoothing"):
        ImportOptions(video=example_video, smoothing=1.5)
    with pytest.raises(ValueError, match="end frame 10 must be after start frame 10"):
        ImportOptions(video=example_video, start=10, end=10)


@pytest.mark.slow
def test_a_model_that_does_not_load_is_named(example_video, detection_cache, tmp_path):
    from addon.pipeline import ImportOptions, analyse
    from repose_core.runtime import LifterLoadError

    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    with pytest.raises(LifterLoadError, match="broken.onnx"):
        analyse(ImportOptions(video=example_video, model_path=broken, cache_dir=detection_cache))
