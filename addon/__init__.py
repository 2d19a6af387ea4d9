"""RePOSE for Blender: the extension's UI (settings, the View3D > Sidebar > RePOSE panel, File > Import >
Motion from Video, operators).

Only UI lives here. The work is in submodules, in the order an import runs them:
``import_setup`` (settings -> checked ``ImportOptions`` and ``ImportPlan``), ``pipeline`` (video
-> detect -> lift -> motion, no bpy), ``import_job`` (that analysis in a worker thread),
``import_apply`` (the one-go scene change: ``armature``, ``camera_match``, ``retarget``).
"""
import traceback

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, IntProperty, PointerProperty, StringProperty

from repose_core.detect.tracking import MAX_PEOPLE
from repose_core.image_fit import DEFAULT_FOCAL_35MM

from . import bonemap
from .import_apply import apply_import
from .import_job import ImportJob, analyse_logged
from .import_setup import (bone_map_for, import_options, import_plan, is_repose_armature, log_path,
                           retarget_target)
from .pipeline import HANDS_DEFAULT, ImportCancelled
from .retarget import retarget as retarget_onto  # keep addon.retarget the module

# How often the modal operator polls the worker (seconds): smooth progress, negligible cost.
POLL_INTERVAL: float = 0.1
# What File > Import's file browser shows: the usual video containers (OpenCV reads more).
VIDEO_GLOB = "*.mp4;*.mov;*.m4v;*.avi;*.mkv;*.webm;*.mts;*.mpg;*.mpeg;*.wmv"


def _bone_map_items() -> list[tuple[str, str, str]]:
    items = [("AUTO", "Auto-detect", "Pick the preset whose bone names the armature has")]
    for preset_id in bonemap.preset_ids():
        preset = bonemap.load_preset(preset_id)
        items.append((preset_id, preset.name, f"Bone names of: {preset.name}"))
    items.append(("CUSTOM", "JSON file", "Your own bone map (see docs/addon.md for the format)"))
    return items


class RePoseSettings(bpy.types.PropertyGroup):
    video_path: StringProperty(name="Video", subtype="FILE_PATH", description="Video of one person to import")
    frame_start: IntProperty(name="Start", min=0, description="First video frame to import (0 = the first frame)")
    frame_end: IntProperty(name="End", min=0, description="Video frame to stop before; 0 = to the end of the video")
    model: EnumProperty(name="Model", items=[
        ("DEFAULT", "Default", "The 2D-to-3D lifter shipped with RePOSE"),
        ("CUSTOM", "Custom", "A lifter you trained (.onnx exported by 'python -m train export')"),
    ])
    model_path: StringProperty(name="Model File", subtype="FILE_PATH", description="Custom lifter (.onnx)")
    target: EnumProperty(name="Target", items=[
        ("NEW", "New Armature", "Create an armature sized from the video's person"),
        ("SELECTED", "Selected Armature", "Put the motion on the active armature, as a new action"),
    ])
    bone_map: EnumProperty(name="Bone Map", items=_bone_map_items(),
                           description="Which of your rig's bones follow which RePOSE bones")
    bone_map_path: StringProperty(name="Bone Map File", subtype="FILE_PATH", description="Bone map (.json)")
    smoothing: FloatProperty(name="Smoothing", min=0.0, max=1.0, default=0.5, subtype="FACTOR",
                             description="Temporal smoothing of the motion (0 = raw, 1 = strongest)")
    root_motion: BoolProperty(name="Root Motion", default=True,
                              description="Move through the scene as the person moves through the video")
    foot_lock: BoolProperty(name="Foot Lock", default=True,
                            description="Keep feet still while they touch the ground (no sliding)")
    hands: BoolProperty(name="Hands", default=HANDS_DEFAULT,
                        description="Also detect the hands and animate the wrists and fingers "
                                    "(detection takes up to half as long again)")
    choose_person: BoolProperty(name="Choose Person", default=False,
                                description="With several people in view, follow the one numbered in Person; "
                                            "off: the most prominent at the start")
    person: IntProperty(name="Person", min=0, max=MAX_PEOPLE - 1, default=0,
                        description="Whom to follow, counted from the left in the first frame with more "
                                    "people in view: 0 = the leftmost, 1 = the second from the left, ...")
    lens_35mm: FloatProperty(name="Lens (35 mm equiv.)", min=4.0, max=600.0, default=DEFAULT_FOCAL_35MM,
                             description="The camera's 35 mm-equivalent focal length (phones: about 26); "
                                         "a wrong value scales the depth of the root motion")
    add_camera: BoolProperty(name="Matching Camera", default=False,
                             description="Add a camera matching the footage, with the video as its background")
    last_report: StringProperty(name="Last Import", description="Summary of the last import")


class REPOSE_OT_import_video(bpy.types.Operator):
    """Detect the person in the video, lift the pose to 3D and key an armature (Esc cancels)"""

    bl_idname = "repose.import_video"
    bl_label = "Import Motion from Video"
    bl_options = {"REGISTER", "UNDO"}

    # File > Import > Motion from Video: the video is chosen in a file browser, then the import
    # runs with the panel's settings, as from the panel. A script may name it in filepath too.
    filepath: StringProperty(name="Video", subtype="FILE_PATH", options={"SKIP_SAVE"})
    filter_glob: StringProperty(default=VIDEO_GLOB, options={"HIDDEN"})
    browse: BoolProperty(name="Choose the Video", default=False, options={"HIDDEN", "SKIP_SAVE"})

    _job = None  # the running ImportJob, if any (one import at a time)

    @classmethod
    def poll(cls, context):
        return REPOSE_OT_import_video._job is None and context.scene is not None

    def _prepare(self, context) -> bool:
        settings = context.scene.repose
        try:
            self._options = import_options(settings)
            self._plan = import_plan(context, settings)
        except ValueError as error:  # SetupError, BoneMapError, ImportOptions' own checks
            self.report({"ERROR"}, str(error))
            return False
        return True

    def execute(self, context):
        """Blocking import (scripts, background mode): the same steps the modal runs, here on the
        main thread. Also where File > Import's file browser returns, with the chosen video: that
        import runs modal."""
        if self.filepath:
            context.scene.repose.video_path = self.filepath
        if self.browse:
            return self._run_modal(context)
        if not self._prepare(context):
            return {"CANCELLED"}
        return self._finish(context, lambda: analyse_logged(self._options, log_path()))

    def invoke(self, context, event):
        if self.browse:
            context.window_manager.fileselect_add(self)  # execute() follows with the choice
            return {"RUNNING_MODAL"}
        return self._run_modal(context)

    def _run_modal(self, context):
        if not self._prepare(context):
            return {"CANCELLED"}
        self._start(context)
        context.window_manager.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def _start(self, context) -> None:
        """Start the worker, the polling timer, the progress bar and the status text."""
        REPOSE_OT_import_video._job = ImportJob(self._options, log_path=log_path()).start()
        wm = context.window_manager
        self._timer = wm.event_timer_add(POLL_INTERVAL, window=context.window)
        wm.progress_begin(0, 100)
        self._set_status(context, "RePOSE: starting...")

    def modal(self, context, event):
        job = REPOSE_OT_import_video._job
        if event.type == "ESC" and event.value == "PRESS" and not job.cancelled:
            # The worker stops at its next check (every video frame); the timer sees it end, so
            # the UI never blocks waiting for it.
            job.cancel()
            self._set_status(context, "RePOSE: cancelling...")
            return {"RUNNING_MODAL"}
        if event.type != "TIMER":
            return {"PASS_THROUGH"}  # Blender stays fully usable while the worker runs
        if not job.finished:
            if not job.cancelled:
                progress = job.progress()
                context.window_manager.progress_update(100.0 * progress.fraction)
                self._set_status(context, f"RePOSE: {progress.describe()} (Esc to cancel)")
                _redraw_sidebars(context)  # the panel's own progress bar
            return {"PASS_THROUGH"}
        self._end_modal(context)
        if job.cancelled:
            self.report({"INFO"}, "RePOSE import cancelled; nothing was changed")
            return {"CANCELLED"}
        return self._finish(context, job.result)

    def _finish(self, context, analysis):
        """Apply what ``analysis()`` returns (the analysis itself, or the worker's result)."""
        # The operator is where errors reach the user: report every failure as a message (with
        # the file and the problem) rather than a traceback; the console keeps the traceback.
        try:
            result = analysis()
        except ImportCancelled:
            self.report({"INFO"}, "RePOSE import cancelled; nothing was changed")
            return {"CANCELLED"}
        except Exception as error:  # bad video, no person, model that does not load, ...
            self.report({"ERROR"}, f"RePOSE import failed: {error}{_log_traceback(error)}")
            return {"CANCELLED"}
        try:
            outcome = apply_import(context.scene, result, self._plan)
        except Exception as error:  # apply_import has already undone its changes
            self.report({"ERROR"}, f"RePOSE import failed, the scene is unchanged: {error}"
                                   f"{_log_traceback(error)}")
            return {"CANCELLED"}
        for warning in result.warnings:
            self.report({"WARNING"}, f"RePOSE: {warning}")
        summary = outcome.summary(result)
        context.scene.repose.last_report = summary
        self.report({"INFO"}, f"RePOSE: {summary}")
        return {"FINISHED"}

    def _set_status(self, context, text):
        if context.workspace is not None:
            context.workspace.status_text_set(text)

    def _end_modal(self, context) -> None:
        wm = context.window_manager
        wm.event_timer_remove(self._timer)
        wm.progress_end()
        self._set_status(context, None)
        REPOSE_OT_import_video._job = None

    def cancel(self, context):  # Blender closing the window or the file while running
        if REPOSE_OT_import_video._job is not None:
            REPOSE_OT_import_video._job.cancel()
            self._end_modal(context)


class REPOSE_OT_retarget(bpy.types.Operator):
    """Put the motion of the selected RePOSE armature on the active armature, as a new action"""

    bl_idname = "repose.retarget"
    bl_label = "Retarget to Active Armature"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        sources = [o for o in context.selected_objects if is_repose_armature(o) and o != context.active_object]
        if len(sources) != 1:
            self.report({"ERROR"}, "select one RePOSE armature, then your character's armature last (active)")
            return {"CANCELLED"}
        try:
            target = retarget_target(context)
            action = retarget_onto(sources[0], target, bone_map_for(context.scene.repose, target))
        except ValueError as error:  # SetupError, RetargetError, BoneMapError
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        self.report({"INFO"}, f"RePOSE: new action {action.name!r} on {target.name!r}")
        return {"FINISHED"}


class REPOSE_PT_import(bpy.types.Panel):
    bl_label = "RePOSE"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "RePOSE"

    def draw(self, context):
        layout = self.layout
        settings = context.scene.repose
        layout.use_property_split = True
        layout.use_property_decorate = False

        col = layout.column()
        col.prop(settings, "video_path")
        row = col.row(align=True, heading="Frames")
        row.prop(settings, "frame_start")
        row.prop(settings, "frame_end")
        row = col.row(heading="Person")
        row.prop(settings, "choose_person", text="")
        sub = row.row()
        sub.active = settings.choose_person
        sub.prop(settings, "person", text="")
        col.prop(settings, "model")
        if settings.model == "CUSTOM":
            col.prop(settings, "model_path")

        col = layout.column()
        col.prop(settings, "target")
        if settings.target == "SELECTED":
            col.prop(settings, "bone_map")
            if settings.bone_map == "CUSTOM":
                col.prop(settings, "bone_map_path")
            active = context.active_object
            if active is None or active.type != "ARMATURE" or is_repose_armature(active):
                col.label(text="Select your character's armature", icon="ERROR")
            else:
                col.label(text=active.name, icon="ARMATURE_DATA")

        col = layout.column()
        col.prop(settings, "smoothing", slider=True)
        col.prop(settings, "root_motion")
        col.prop(settings, "foot_lock")
        col.prop(settings, "hands")
        sub = col.column()
        sub.active = settings.root_motion
        sub.prop(settings, "lens_35mm")
        sub.prop(settings, "add_camera")

        layout.operator(REPOSE_OT_import_video.bl_idname, icon="ARMATURE_DATA")
        job = REPOSE_OT_import_video._job
        if job is not None:
            progress = job.progress()
            text = "Cancelling..." if job.cancelled else f"{progress.describe()} (Esc cancels)"
            layout.progress(factor=progress.fraction, type="BAR", text=text)
        elif settings.last_report:
            layout.label(text=settings.last_report, icon="INFO")
        layout.operator(REPOSE_OT_retarget.bl_idname, icon="CON_ARMATURE")


def _log_traceback(error: BaseException) -> str:
    """Keep ``error``'s traceback for a bug report: in the import log when there is one (then
    say where), else on the terminal."""
    path = log_path()
    if path is None:
        traceback.print_exception(error)
        return ""
    with open(path, "a", encoding="utf-8") as log:
        traceback.print_exception(error, file=log)
    return f" (details in {path})"


def _menu_import(self, context) -> None:
    """File > Import > Motion from Video: the same operator as the panel's, with a file browser."""
    self.layout.operator(REPOSE_OT_import_video.bl_idname, text="Motion from Video",
                         icon="ARMATURE_DATA").browse = True


def _redraw_sidebars(context) -> None:
    for area in context.screen.areas if context.screen else ():
        if area.type == "VIEW_3D":
            area.tag_redraw()


_CLASSES = (RePoseSettings, REPOSE_OT_import_video, REPOSE_OT_retarget, REPOSE_PT_import)


def register() -> None:
    for cls in _CLASSES:
        bpy.utils.register_class(cls)
    bpy.types.Scene.repose = PointerProperty(type=RePoseSettings)
    bpy.types.TOPBAR_MT_file_import.append(_menu_import)


def unregister() -> None:
    job = REPOSE_OT_import_video._job
    if job is not None:
        job.cancel()
        job.wait()
        REPOSE_OT_import_video._job = None
    bpy.types.TOPBAR_MT_file_import.remove(_menu_import)
    del bpy.types.Scene.repose
    for cls in reversed(_CLASSES):
        bpy.utils.unregister_class(cls)
