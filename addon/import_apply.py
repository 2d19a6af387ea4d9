"""Put a finished analysis into the scene, all in one go (main thread, bpy).

This is the end of "Import Motion from Video": everything the import changes in the file happens
here, after the worker thread is done, so that a cancelled import changes nothing and a finished
one is a single undo step. If any part fails, what this call created is removed again and the
scene timing restored, so a failed import also leaves the file as it was.
"""
from __future__ import annotations

from dataclasses import dataclass

import bpy

from .bonemap import BoneMap
from .pipeline import MotionResult, build_armature
from .retarget import retarget

# ID collections an import may add to; a failed import removes what it added to each.
_TRACKED = ("objects", "armatures", "actions", "cameras", "movieclips")
# Scene settings an import may change (timing, the matching camera); a failed import restores them.
_SCENE_SETTINGS = ("render.fps", "render.fps_base", "frame_start", "frame_end", "frame_current", "camera",
                   "render.resolution_x", "render.resolution_y", "render.resolution_percentage",
                   "render.pixel_aspect_x", "render.pixel_aspect_y")


@dataclass(frozen=True)
class ImportPlan:
    """Main-thread decisions taken before the analysis starts (so mistakes show up front)."""

    armature_name: str = "RePOSE"
    # Retarget onto this armature (by name: the user may delete it while the worker runs), or None.
    target_name: str | None = None
    bone_map: BoneMap | None = None
    add_camera: bool = False


@dataclass(frozen=True)
class ImportOutcome:
    armature: bpy.types.Object           # the generated armature
    target_action: bpy.types.Action | None
    camera: bpy.types.Object | None

    def summary(self, result: MotionResult) -> str:
        text = (f"{result.num_frames} frames at {result.fps:g} fps, person found in "
                f"{100 * result.detection_rate:.0f}% of them")
        if result.foot_skate_before == result.foot_skate_before:  # not NaN: there were contacts
            text += (f"; foot skate {result.foot_skate_before:.1f} -> "
                     f"{result.foot_skate_after:.1f} mm/frame")
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
    matching camera, and optionally retarget onto ``plan.target_name`` as a new action."""
    before = _snapshot()
    settings = _scene_settings(scene)
    view_layer = bpy.context.view_layer
    selection = ({o.name for o in view_layer.objects if o.select_get()}, view_layer.objects.active)
    target = None
    if plan.target_name is not None:
        target = bpy.data.objects.get(plan.target_name)
        if target is None or target.type != "ARMATURE":
            raise ValueError(f"armature {plan.target_name!r} was removed or replaced during the import")
    target_state = _target_state(target) if target is not None else None
    try:
        armature = build_armature(result, scene, name=plan.armature_name)
        camera = _add_camera(scene, result) if plan.add_camera else None
        action = None
        if target is not None:
            if plan.bone_map is None:
                raise ValueError("retargeting needs a bone map")
            action = retarget(armature, target, plan.bone_map)
            armature.hide_set(True)  # the user's character now carries the motion
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
    return ImportOutcome(armature=armature, target_action=action, camera=camera)


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


def _add_camera(scene: bpy.types.Scene, result: MotionResult) -> bpy.types.Object:
    from .camera_match import add_matching_camera

    if result.camera is None:
        raise ValueError("a matching camera needs root motion (the camera is fixed only then)")
    return add_matching_camera(scene, "RePOSE Camera", result.camera, result.image_size, result.video,
                               video_start=int(result.frame_indices[0]), frame_start=1)
