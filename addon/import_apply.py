"""Put a finished analysis into the scene, all in one go (main thread, bpy): the one apply step
of the panel's import and of the batch tool.

Everything an import changes in the file happens here, after the analysis is done, so that a
cancelled import changes nothing and a finished one is a single undo step. If any part fails,
what this call created is removed again and the scene timing restored, so a failed import also
leaves the file as it was.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import bpy

from .armature import build_armature
from .camera_match import add_matching_camera
from .import_plan import ImportPlan
from .pipeline import MotionResult
from .retarget import retarget_motion

# ID collections an import may add to; a failed import removes what it added to each.
_TRACKED = ("objects", "armatures", "actions", "cameras", "movieclips")
# Scene settings an import may change (timing, the matching camera); a failed import restores them.
_SCENE_SETTINGS = ("render.fps", "render.fps_base", "frame_start", "frame_end", "frame_current", "camera",
                   "render.resolution_x", "render.resolution_y", "render.resolution_percentage",
                   "render.pixel_aspect_x", "render.pixel_aspect_y")


@dataclass(frozen=True)
class ImportOutcome:
    armature: bpy.types.Object           # the generated armature
    camera: bpy.types.Object | None
    timings: dict[str, float] = field(default_factory=dict)  # seconds: "armature", "retarget"

    def summary(self, result: MotionResult) -> str:
        motion = result.motion
        text = (f"{result.num_frames} frames at {motion.fps:g} fps, person found in "
                f"{100 * result.detection_rate:.0f}% of them")
        if motion.foot_skate_before == motion.foot_skate_before:  # not NaN: there were contacts
            text += (f"; foot skate {motion.foot_skate_before:.1f} -> "
                     f"{motion.foot_skate_after:.1f} mm/frame")
        return text


def _snapshot() -> dict[str, set[int]]:
    return {name: {id_.as_pointer() for id_ in getattr(bpy.data, name)} for name in _TRACKED}


def _remove_added(before: dict[str, set[int]]) -> None:
    for name in _TRACKED:
        collection = getattr(bpy.data, name)
        for id_ in [i for i in collection if i.as_pointer() not in before[name]]:
            collection.remove(id_)


def _scene_settings(scene: bpy.types.Scene) -> dict[str, object]:
    return {path: scene.path_resolve(path) for path in _SCENE_SETTINGS}


def _restore_scene_settings(scene: bpy.types.Scene, settings: dict[str, object]) -> None:
    for path, value in settings.items():
        owner, _, name = path.rpartition(".")
        setattr(scene.path_resolve(owner) if owner else scene, name, value)


def apply_import(scene: bpy.types.Scene, result: MotionResult, plan: ImportPlan) -> ImportOutcome:
    """Create the keyed armature (scene frame rate and range follow the video), optionally the
    matching camera, and optionally put the motion on ``plan.target_name`` as a new action (the
    generated armature is hidden then: the user's character carries the motion)."""
    before = _snapshot()
    settings = _scene_settings(scene)
    view_layer = bpy.context.view_layer
    selection = ({o.name for o in view_layer.objects if o.select_get()}, view_layer.objects.active)
    target = None
    if plan.target_name is not None:
        target = bpy.data.objects.get(plan.target_name)
        if target is None or target.type != "ARMATURE":
            raise ValueError(f"armature {plan.target_name!r} was removed or replaced during the import")
        if plan.bone_map is None:
            raise ValueError("retargeting needs a bone map")
    if plan.add_camera and result.motion.camera is None:
        raise ValueError("a matching camera needs root motion (the camera is fixed only then)")
    target_state = _target_state(target) if target is not None else None
    timings = {}
    try:
        start = time.perf_counter()
        armature = build_armature(scene, result.motion, name=plan.armature_name)
        camera = None
        if plan.add_camera:
            camera = add_matching_camera(scene, "RePOSE Camera", result.motion.camera, result.image_size,
                                         result.video, video_start=int(result.frame_indices[0]), frame_start=1)
        timings["armature"] = time.perf_counter() - start
        if target is not None:
            start = time.perf_counter()
            retarget_motion(armature, result.motion.all_rotations, result.motion.root_location, target,
                            plan.bone_map, frame_start=1)
            armature.hide_set(True)
            timings["retarget"] = time.perf_counter() - start
    except BaseException:
        if target_state is not None:
            _restore_target(target, target_state)
        _remove_added(before)
        _restore_scene_settings(scene, settings)
        for obj in view_layer.objects:
            obj.select_set(obj.name in selection[0])
        view_layer.objects.active = selection[1]
        raise
    active = target if target is not None else armature
    for obj in view_layer.objects:
        obj.select_set(False)
    active.select_set(True)
    view_layer.objects.active = active
    return ImportOutcome(armature=armature, camera=camera, timings=timings)


def _target_state(target: bpy.types.Object) -> dict:
    """What retargeting may change on the user's armature, to put back if the import fails."""
    anim = target.animation_data
    action = anim.action if anim else None
    return {
        "had_animation_data": anim is not None,
        "action": action,
        "fake_user": action.use_fake_user if action else False,
        "rotation_modes": {pb.name: pb.rotation_mode for pb in target.pose.bones},
    }


def _restore_target(target: bpy.types.Object, state: dict) -> None:
    if not state["had_animation_data"]:
        target.animation_data_clear()
    elif target.animation_data is not None:
        target.animation_data.action = state["action"]
        if state["action"] is not None:
            state["action"].use_fake_user = state["fake_user"]
    for name, mode in state["rotation_modes"].items():
        target.pose.bones[name].rotation_mode = mode
