"""The "Import Motion from Video" operator on the bundled real clip, headless.

Background ``bpy`` has no event loop to deliver timer or Esc events to a modal operator, so the
operator's own ``modal`` code is run with synthetic events (:class:`DrivenImport`), and the
pieces it is made of are tested too: the worker (``ImportJob``: progress, ETA, cancel) and the
finishing code (``apply_import``). The blocking ``execute``, which scripts use, runs the same
two and is called through ``bpy.ops``. Undo cannot run headless; the import is one undo step by
construction (``UNDO`` operator, every scene change in the final ``apply_import``).
"""
from __future__ import annotations

import time
from types import SimpleNamespace

import numpy as np
import pytest

import bpy  # required: the add-on tests must never be skipped silently

import addon  # noqa: E402
from addon import armature as armature_module  # noqa: E402
from addon.bonemap import BoneMapError  # noqa: E402
from addon.import_apply import apply_import  # noqa: E402
from addon.import_job import ImportJob  # noqa: E402
from addon.import_plan import ImportPlan  # noqa: E402
from addon.motion.rig import BONE_NAMES, BONE_TAIL_JOINT  # noqa: E402
from addon.pipeline import ImportCancelled, ImportOptions  # noqa: E402
from rig_checks import QUATERNIUS_SEGMENTS, segment_angles  # noqa: E402

TIMER = SimpleNamespace(type="TIMER", value="NOTHING")
ESC = SimpleNamespace(type="ESC", value="PRESS")

FRAMES = 100  # the whole clip, as every test detects it: once a session, in the shared cache


@pytest.fixture
def registered():
    bpy.ops.wm.read_factory_settings(use_empty=True)
    addon.register()
    yield bpy.context.scene.repose
    addon.unregister()


@pytest.fixture
def cached(monkeypatch, detection_cache):
    """The panel's imports use the session's detection cache (as an installed extension uses its
    own), so only the tests that cancel detection wait for it."""
    monkeypatch.setattr("addon.import_setup.detection_cache_dir", lambda: detection_cache)


def scene_state() -> dict:
    """What an import may change: data-blocks by name, timing, selection, active object."""
    scene = bpy.context.scene
    return {
        **{name: sorted(i.name for i in getattr(bpy.data, name))
           for name in ("objects", "armatures", "actions", "cameras", "movieclips")},
        "timing": (scene.render.fps, scene.render.fps_base, scene.frame_start, scene.frame_end,
                   scene.frame_current),
        "selected": sorted(o.name for o in bpy.context.selected_objects),
        "active": getattr(bpy.context.view_layer.objects.active, "name", None),
        "camera": getattr(scene.camera, "name", None),
        "resolution": (scene.render.resolution_x, scene.render.resolution_y),
        "poses": {o.name: (getattr(o.animation_data, "action", None),
                           sorted(b.rotation_mode for b in o.pose.bones))
                  for o in bpy.data.objects if o.type == "ARMATURE"},
    }


class DrivenImport:
    """The import operator's own methods on a plain object, fed events by the test."""

    _prepare = addon.REPOSE_OT_import_video._prepare
    _start = addon.REPOSE_OT_import_video._start
    modal = addon.REPOSE_OT_import_video.modal
    _finish = addon.REPOSE_OT_import_video._finish
    _end_modal = addon.REPOSE_OT_import_video._end_modal

    def __init__(self):
        self.reports: list[tuple[str, str]] = []
        self.statuses: list[str | None] = []

    def report(self, kinds, message):
        self.reports.append((next(iter(kinds)), message))

    def _set_status(self, context, text):
        self.statuses.append(text)
        addon.REPOSE_OT_import_video._set_status(self, context, text)

    def run(self, context, esc_when=lambda op: False, timeout: float = 120.0) -> set[str]:
        """invoke's start, then timer events every 50 ms, and Esc once when ``esc_when(self)``."""
        assert self._prepare(context), self.reports
        self._start(context)
        pressed = False
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            time.sleep(0.05)
            event = TIMER
            if not pressed and esc_when(self):
                event, pressed = ESC, True
            result = self.modal(context, event)
            if result not in ({"PASS_THROUGH"}, {"RUNNING_MODAL"}):
                return result
        raise AssertionError(f"the modal import did not end within {timeout} s")


def use_clip(settings, example_video, model) -> None:
    settings.video_path = str(example_video)
    settings.model, settings.model_path = "CUSTOM", str(model)


def options(example_video, model, cache, **overrides) -> ImportOptions:
    return ImportOptions(video=example_video, model_path=model, cache_dir=cache, **overrides)


def follows(character, performer, frames=range(1, FRAMES + 1, 9)) -> None:
    """Every Quaternius limb segment of ``character`` points where the performer's does."""
    assert segment_angles(performer, character, QUATERNIUS_SEGMENTS, frames).max() < 1.0


@pytest.mark.slow
def test_worker_and_finish_build_a_keyed_armature(registered, example_video, tiny_lifter_onnx):
    """Uncached: the progress shows the frames being detected and the time left."""
    job = ImportJob(options(example_video, tiny_lifter_onnx, None)).start()
    seen = []
    while not job.finished:  # what the modal's timer does
        seen.append(job.progress())
        time.sleep(0.05)
    result = job.result()
    descriptions = [p.describe() for p in seen]
    fractions = [p.fraction for p in seen]
    assert fractions == sorted(fractions) and 0.0 <= fractions[0] <= fractions[-1] <= 1.0
    assert any(f"/{FRAMES} frames" in d for d in descriptions), descriptions[-5:]
    assert any("left" in d for d in descriptions), descriptions[-5:]

    outcome = apply_import(bpy.context.scene, result, ImportPlan(add_camera=True))

    obj = outcome.armature
    scene = bpy.context.scene
    assert (scene.frame_start, scene.frame_end) == (1, FRAMES)
    assert scene.render.fps / scene.render.fps_base == pytest.approx(60.0)
    curves = armature_module.action_fcurves(obj.animation_data.action, obj)
    keyed = {(fc.data_path, fc.array_index): len(fc.keyframe_points) for fc in curves}
    for name in BONE_NAMES:
        assert all(keyed[(f'pose.bones["{name}"].rotation_quaternion', i)] == FRAMES for i in range(4))
    # The keyed pose reproduces the analysed joints (world space, after Blender's own FK).
    errors = []
    for frame in (1, FRAMES // 2, FRAMES):
        scene.frame_set(frame)
        for b, name in enumerate(BONE_NAMES):
            if BONE_TAIL_JOINT[b] >= 0:
                tail = np.array(obj.matrix_world @ obj.pose.bones[name].tail)
                errors.append(np.linalg.norm(tail - result.motion.joints[frame - 1, BONE_TAIL_JOINT[b]]))
    assert max(errors) < 1e-3  # metres
    assert scene.camera == outcome.camera and outcome.camera.data.background_images[0].clip is not None
    assert bpy.context.view_layer.objects.active == obj


@pytest.mark.slow
def test_cancel_leaves_the_scene_unchanged(registered, example_video, tiny_lifter_onnx):
    before = scene_state()
    job = ImportJob(options(example_video, tiny_lifter_onnx, None)).start()
    while job.progress().done < 3 and not job.finished:  # cancel mid-detection, like Esc
        time.sleep(0.01)
    job.cancel()
    assert job.wait(timeout=30)
    with pytest.raises(ImportCancelled):
        job.result()
    assert scene_state() == before


@pytest.mark.slow
def test_failed_finish_rolls_back(registered, example_video, tiny_lifter_onnx, detection_cache, shared_data):
    """apply_import fails after it changed the file: everything it did is undone."""
    from addon.bonemap import load_preset

    bpy.ops.import_scene.gltf(filepath=str(shared_data / "characters" / "quaternius_modular_men_Casual.glb"))
    character = next(o for o in bpy.data.objects if o.type == "ARMATURE")
    job = ImportJob(options(example_video, tiny_lifter_onnx, detection_cache)).start()
    job.wait()
    result = job.result()
    before = scene_state()
    # After the armature and the camera exist, retargeting with a map the rig does not fit fails.
    plan = ImportPlan(add_camera=True, target_name=character.name, bone_map=load_preset("mixamo"))
    with pytest.raises(BoneMapError, match="lacks bones"):
        apply_import(bpy.context.scene, result, plan)
    assert scene_state() == before
    # Without root motion there is no fixed camera: refused before anything changes.
    job = ImportJob(options(example_video, tiny_lifter_onnx, detection_cache, root_motion=False)).start()
    job.wait()
    with pytest.raises(ValueError, match="needs root motion"):
        apply_import(bpy.context.scene, job.result(), ImportPlan(add_camera=True))
    assert scene_state() == before


@pytest.mark.slow
def test_operator_retargets_onto_the_selected_armature(registered, cached, example_video, tiny_lifter_onnx,
                                                       shared_data):
    bpy.ops.import_scene.gltf(filepath=str(shared_data / "characters" / "quaternius_modular_men_Casual.glb"))
    character = next(o for o in bpy.data.objects if o.type == "ARMATURE")
    bpy.context.view_layer.objects.active = character
    settings = registered
    use_clip(settings, example_video, tiny_lifter_onnx)
    settings.target, settings.bone_map = "SELECTED", "AUTO"

    assert bpy.ops.repose.import_video() == {"FINISHED"}

    action = character.animation_data.action
    assert action.name.startswith(character.name)
    curves = armature_module.action_fcurves(action, character)
    assert len({fc.data_path for fc in curves}) >= 15
    assert all(len(fc.keyframe_points) == FRAMES for fc in curves)
    assert f"{FRAMES} frames at 60 fps" in settings.last_report
    assert bpy.context.view_layer.objects.active == character
    performer = next(o for o in bpy.data.objects if o.type == "ARMATURE" and o != character)
    assert not performer.visible_get()  # hidden: the character carries the motion
    follows(character, performer)


def test_person_and_lens_settings_reach_the_import(registered, example_video):
    from addon.import_setup import import_options

    settings = registered
    settings.video_path = str(example_video)
    options = import_options(settings)
    assert (options.person, options.focal_35mm) == (None, 26.0)  # most prominent; a phone
    settings.choose_person, settings.person, settings.lens_35mm = True, 2, 35.0
    options = import_options(settings)
    assert (options.person, options.focal_35mm) == (2, 35.0)  # the detector's number, as shown
    settings.choose_person, settings.lens_35mm = False, 26.0


def test_person_field_numbers_as_the_detector_and_stops_at_its_limit(registered):
    """One numbering everywhere: Person 0 is the leftmost in the panel, in --person and in the
    detector's messages; the field cannot go past the people the detector tells apart."""
    from repose_core.detect.tracking import MAX_PEOPLE

    field = addon.RePoseSettings.bl_rna.properties["person"]
    assert (field.hard_min, field.hard_max) == (0, MAX_PEOPLE - 1)
    registered.person = 6
    assert registered.person == MAX_PEOPLE - 1
    assert "0 = the leftmost" in field.description


def test_bad_settings_are_refused_before_any_work(registered, example_video, tmp_path):
    settings = registered
    before = scene_state()
    with pytest.raises(RuntimeError, match="choose a video file first"):
        bpy.ops.repose.import_video()
    settings.video_path = str(tmp_path / "missing.mp4")
    with pytest.raises(RuntimeError, match="video file not found: .*missing.mp4"):
        bpy.ops.repose.import_video()
    settings.video_path = str(tmp_path)
    with pytest.raises(RuntimeError, match="video file is a folder, not a file: "):
        bpy.ops.repose.import_video()
    settings.video_path = str(example_video)
    settings.model, settings.model_path = "CUSTOM", str(tmp_path / "model.pt")
    (tmp_path / "model.pt").write_bytes(b"x")
    with pytest.raises(RuntimeError, match=r"custom model must be a \.onnx file"):
        bpy.ops.repose.import_video()
    settings.model = "DEFAULT"
    settings.frame_start, settings.frame_end = 50, 20
    with pytest.raises(RuntimeError, match="end frame 20 must be after start frame 50"):
        bpy.ops.repose.import_video()
    settings.frame_start, settings.frame_end = 0, 0
    settings.target = "SELECTED"
    with pytest.raises(RuntimeError, match="select your character's armature"):
        bpy.ops.repose.import_video()
    settings.target, settings.add_camera, settings.root_motion = "NEW", True, False
    with pytest.raises(RuntimeError, match="matching camera needs root motion"):
        bpy.ops.repose.import_video()
    assert scene_state() == before


@pytest.mark.slow
def test_unusable_inputs_fail_with_the_file_named(registered, cached, example_video, tmp_path):
    settings = registered
    not_a_video = tmp_path / "notes.mp4"
    not_a_video.write_text("not a video")
    settings.video_path = str(not_a_video)
    before = scene_state()
    with pytest.raises(RuntimeError, match="notes.mp4"):
        bpy.ops.repose.import_video()
    bad_model = tmp_path / "broken.onnx"
    bad_model.write_bytes(b"\x00 not an onnx model")
    settings.video_path = str(example_video)
    settings.model, settings.model_path = "CUSTOM", str(bad_model)
    with pytest.raises(RuntimeError, match="broken.onnx"):
        bpy.ops.repose.import_video()
    assert scene_state() == before


def test_import_is_an_undoable_operator():
    assert {"REGISTER", "UNDO"} <= addon.REPOSE_OT_import_video.bl_options


@pytest.mark.slow
def test_modal_import_reports_progress_and_finishes(registered, example_video, tiny_lifter_onnx):
    """Detection is not cached here: the status bar shows its frames and time left."""
    use_clip(registered, example_video, tiny_lifter_onnx)
    driven = DrivenImport()

    assert driven.run(bpy.context) == {"FINISHED"}

    texts = [t for t in driven.statuses if t]
    assert texts[0] == "RePOSE: starting..."
    assert any(f"/{FRAMES} frames" in t and "left" in t and "Esc to cancel" in t for t in texts), texts[-5:]
    assert driven.statuses[-1] is None  # status bar cleared
    assert addon.REPOSE_OT_import_video._job is None
    obj = bpy.context.view_layer.objects.active
    assert obj.name == "RePOSE" and bpy.context.scene.frame_end == FRAMES
    assert driven.reports[-1][0] == "INFO" and f"{FRAMES} frames" in driven.reports[-1][1]


@pytest.mark.slow
def test_modal_esc_cancels_and_leaves_the_scene_unchanged(registered, example_video, tiny_lifter_onnx):
    use_clip(registered, example_video, tiny_lifter_onnx)
    before = scene_state()
    driven = DrivenImport()
    def detecting(op) -> bool:  # Esc once detection is under way
        return any(t and t.startswith("RePOSE: Detecting") for t in op.statuses)

    assert driven.run(bpy.context, esc_when=detecting) == {"CANCELLED"}

    assert "RePOSE: cancelling..." in driven.statuses and driven.statuses[-1] is None
    assert driven.reports == [("INFO", "RePOSE import cancelled; nothing was changed")]
    assert addon.REPOSE_OT_import_video._job is None
    assert scene_state() == before


@pytest.mark.slow
def test_retarget_operator_moves_an_earlier_import_onto_a_character(registered, example_video, tiny_lifter_onnx,
                                                                     detection_cache, shared_data):
    job = ImportJob(options(example_video, tiny_lifter_onnx, detection_cache)).start()
    job.wait()
    generated = apply_import(bpy.context.scene, job.result(), ImportPlan()).armature
    bpy.ops.import_scene.gltf(filepath=str(shared_data / "characters" / "quaternius_modular_men_Casual.glb"))
    character = next(o for o in bpy.data.objects if o.type == "ARMATURE" and o != generated)

    bpy.context.view_layer.objects.active = character
    with pytest.raises(RuntimeError, match="select one RePOSE armature"):
        bpy.ops.repose.retarget()  # only the character is selected
    generated.select_set(True)
    character.select_set(True)
    assert bpy.ops.repose.retarget() == {"FINISHED"}

    action = character.animation_data.action
    curves = armature_module.action_fcurves(action, character)
    assert {len(fc.keyframe_points) for fc in curves} == {FRAMES}
    assert generated.animation_data.action != action
    follows(character, generated)


@pytest.mark.slow
def test_file_import_menu_runs_the_same_operator_with_a_file_browser(registered, cached, example_video,
                                                                     tiny_lifter_onnx):
    """File > Import > Motion from Video, where Blender users look for importers first: the
    panel's operator, asking for the video in a file browser (which hands it to execute)."""
    drawn = [draw for draw in bpy.types.TOPBAR_MT_file_import._dyn_ui_initialize()
             if draw is addon._menu_import]
    assert len(drawn) == 1
    entries = []

    class Layout:
        def operator(self, idname, text, icon):
            entries.append(SimpleNamespace(idname=idname, text=text))
            return entries[-1]

    addon._menu_import(SimpleNamespace(layout=Layout()), bpy.context)
    (entry,) = entries
    assert (entry.idname, entry.text, entry.browse) == ("repose.import_video", "Motion from Video", True)
    settings = registered
    settings.model, settings.model_path = "CUSTOM", str(tiny_lifter_onnx)
    assert bpy.ops.repose.import_video(filepath=str(example_video)) == {"FINISHED"}
    assert settings.video_path == str(example_video)  # the panel shows what was imported
    assert f"{FRAMES} frames" in settings.last_report
    addon.unregister()
    assert addon._menu_import not in bpy.types.TOPBAR_MT_file_import._dyn_ui_initialize()
    addon.register()
