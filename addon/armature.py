"""Create the generated armature and write keys fast (bpy; main thread only).

Key writing is the add-on's hot path: a 10-minute clip is 36,000 frames x 71 channels. Inserting
keys one at a time (``keyframe_insert``) costs a Python call, an RNA lookup and a sorted insert
per key; instead each F-curve gets all its keys with ``keyframe_points.add(n)`` and one
``foreach_set("co", ...)``. Since Blender 4.4 actions are "slotted" and F-curves live in the
slot's channelbag (``bpy_extras.anim_utils.action_ensure_channelbag_for_slot``); 4.2 and 4.3
use ``action.fcurves``. Either way the result is a new action: a user's existing action is never
modified.
"""
from __future__ import annotations

from typing import Mapping

import bpy
import numpy as np
from mathutils import Matrix

from .motion.hand_rig import HAND_BONE_LAYOUT, HandRest
from .motion.rig import BONE_NAMES, BONE_PARENTS, RestSkeleton
from .pipeline import Motion

# Slotted actions (channelbags) arrived in Blender 4.4.
SLOTTED_ACTIONS = bpy.app.version >= (4, 4, 0)
# Keyframe.interpolation as the integer foreach_set takes (Blender's BEZT_IPO_LIN).
_INTERPOLATION_LINEAR = 1


def build_armature(scene: bpy.types.Scene, motion: Motion, name: str = "RePOSE") -> bpy.types.Object:
    """The generated armature keyed with ``motion`` in ``scene``, on frames 1.. (a new action;
    Blender picks a fresh name if ``name`` is taken); the scene's frame rate and frame range
    become the motion's. Returns the armature object."""
    obj = create_armature(scene, name, motion.rest, motion.hand_rest)
    write_bone_keys(obj, bpy.data.actions.new(f"{name}Action"), motion.bone_rotations(), motion.bone_locations(),
                    frame_start=1)
    set_scene_timing(scene, motion.fps, frame_start=1, frame_count=motion.num_frames)
    return obj


def create_armature(scene: bpy.types.Scene, name: str, rest: RestSkeleton,
                    hand_rest: HandRest | None = None) -> bpy.types.Object:
    """A new armature object in ``scene``'s collection with the generated bones in rest pose,
    and with ``hand_rest`` the hand and finger bones too (``motion.hand_rig``).

    Bone frames (head, direction and roll) are exactly ``rest``'s, so keys from
    ``motion.bone_rotations.pose_from_joints`` reproduce the joints. Leaves the object active,
    selected and in Object mode.
    """
    data = bpy.data.armatures.new(name)
    obj = bpy.data.objects.new(name, data)
    scene.collection.objects.link(obj)
    view_layer = bpy.context.view_layer if bpy.context.scene == scene else scene.view_layers[0]
    for other in view_layer.objects:
        other.select_set(False)
    obj.select_set(True)
    view_layer.objects.active = obj
    with bpy.context.temp_override(scene=scene, view_layer=view_layer, active_object=obj, object=obj):
        bpy.ops.object.mode_set(mode="EDIT")
        bones = [(name, None if p < 0 else BONE_NAMES[p], rest.heads[b], rest.frames[b], rest.bone_lengths[b])
                 for b, (name, p) in enumerate(zip(BONE_NAMES, BONE_PARENTS))]
        if hand_rest is not None:
            bones += [(name, parent, hand_rest.heads[b], hand_rest.frames[b], hand_rest.bone_lengths[b])
                      for b, (name, parent, *_) in enumerate(HAND_BONE_LAYOUT)]
        for bone_name, parent, head, frame, length in bones:
            bone = data.edit_bones.new(bone_name)
            bone.head = head
            bone.tail = head + frame[:, 1] * length
            matrix = Matrix.Identity(4)
            matrix.col[0][:3] = frame[:, 0]
            matrix.col[1][:3] = frame[:, 1]
            matrix.col[2][:3] = frame[:, 2]
            matrix.translation = head
            bone.matrix = matrix  # sets the roll; keeps the length
            if parent is not None:
                bone.parent = data.edit_bones[parent]
                bone.use_connect = bool(np.allclose(head, bone.parent.tail, atol=1e-6))
        bpy.ops.object.mode_set(mode="OBJECT")
    for pose_bone in obj.pose.bones:
        pose_bone.rotation_mode = "QUATERNION"
    return obj


def write_bone_keys(
    obj: bpy.types.Object,
    action: bpy.types.Action,
    rotations: Mapping[str, np.ndarray],
    locations: Mapping[str, np.ndarray] | None = None,
    frame_start: int = 1,
) -> bpy.types.Action:
    """Key pose bones of ``obj`` on consecutive frames from ``frame_start`` into ``action``.

    ``action`` should be new and empty (``bpy.data.actions.new``): it is assigned to ``obj``,
    whose previous action is only unassigned, never modified. rotations: bone name -> (T, 4)
    quaternions (w, x, y, z); locations: bone name -> (T, 3). Every bone gets a key on every
    frame (linear interpolation: the keys are dense). The keyed bones are switched to
    quaternion rotation. Returns ``action``. Raises ValueError naming the bone for unknown bones
    or mismatched frame counts.
    """
    locations = locations or {}
    channels: list[tuple[str, str, np.ndarray]] = []  # (bone, property, (T, C) values)
    counts = set()
    for prop, mapping, width in (("rotation_quaternion", rotations, 4), ("location", locations, 3)):
        for bone_name, values in mapping.items():
            if bone_name not in obj.pose.bones:
                raise ValueError(f"write_bone_keys: armature {obj.name!r} has no bone {bone_name!r}")
            values = np.asarray(values, dtype=np.float32)
            if values.ndim != 2 or values.shape[1] != width:
                raise ValueError(f"write_bone_keys: {prop} of {bone_name!r} must be (T, {width}), got {values.shape}")
            counts.add(len(values))
            channels.append((bone_name, prop, values))
    if len(counts) > 1:
        raise ValueError(f"write_bone_keys: all channels need the same number of frames, got {sorted(counts)}")
    if not channels:
        raise ValueError("write_bone_keys: nothing to key")
    count = counts.pop()

    animation = obj.animation_data or obj.animation_data_create()
    new_fcurve = _fcurve_factory(action, animation, obj)
    frames = np.arange(frame_start, frame_start + count, dtype=np.float32)
    co = np.empty((count, 2), dtype=np.float32)
    co[:, 0] = frames
    interpolation = np.full(count, _INTERPOLATION_LINEAR, dtype=np.int32)
    for bone_name, prop, values in channels:
        if prop == "rotation_quaternion":
            obj.pose.bones[bone_name].rotation_mode = "QUATERNION"
        data_path = f'pose.bones["{bpy.utils.escape_identifier(bone_name)}"].{prop}'
        for index in range(values.shape[1]):
            fcurve = new_fcurve(data_path, index, bone_name)
            co[:, 1] = values[:, index]
            fcurve.keyframe_points.add(count)
            fcurve.keyframe_points.foreach_set("co", co.ravel())
            fcurve.keyframe_points.foreach_set("interpolation", interpolation)
            fcurve.update()
    return action


def action_fcurves(action: bpy.types.Action, obj: bpy.types.Object) -> list[bpy.types.FCurve]:
    """The F-curves that animate ``obj`` in ``action`` (its slot's channelbag on 4.4+)."""
    if not SLOTTED_ACTIONS:
        return list(action.fcurves)
    from bpy_extras.anim_utils import action_get_channelbag_for_slot

    animation = obj.animation_data
    slot = animation.action_slot if animation is not None and animation.action == action else None
    if slot is None:
        slot = next((s for s in action.slots if s.target_id_type == "OBJECT"), None)
    channelbag = action_get_channelbag_for_slot(action, slot) if slot is not None else None
    return list(channelbag.fcurves) if channelbag is not None else []


def _ensure_channelbag(action: bpy.types.Action, slot) -> "bpy.types.ActionChannelbag":
    """The slot's channelbag in the action's first keyframe strip, created if missing.

    What ``bpy_extras.anim_utils.action_ensure_channelbag_for_slot`` does on 4.5+; 4.4 has the
    layer/strip API but not that helper, so it is spelled out here.
    """
    layer = action.layers[0] if len(action.layers) else action.layers.new("Layer")
    strip = layer.strips[0] if len(layer.strips) else layer.strips.new(type="KEYFRAME")
    return strip.channelbag(slot, ensure=True)


def _fcurve_factory(action: bpy.types.Action, animation, obj: bpy.types.Object):
    """Assign ``action`` to ``obj`` and return ``new(data_path, index, group_name) -> FCurve``."""
    if SLOTTED_ACTIONS:
        slot = action.slots.new(id_type="OBJECT", name=obj.name)
        animation.action = action
        animation.action_slot = slot
        channelbag = _ensure_channelbag(action, slot)
        groups: dict[str, bpy.types.ActionGroup] = {}

        def new(data_path: str, index: int, group_name: str):
            fcurve = channelbag.fcurves.new(data_path, index=index)
            if group_name not in groups:
                groups[group_name] = channelbag.groups.new(group_name)
            fcurve.group = groups[group_name]
            return fcurve
    else:
        animation.action = action

        def new(data_path: str, index: int, group_name: str):
            return action.fcurves.new(data_path, index=index, action_group=group_name)
    return new


def set_scene_timing(scene: bpy.types.Scene, fps: float, frame_start: int, frame_count: int) -> None:
    """Scene frame rate = ``fps`` (fractional rates via fps_base, e.g. 29.97) and the frame range."""
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    whole = max(1, int(round(fps)))
    scene.render.fps = whole
    scene.render.fps_base = whole / fps
    scene.frame_start = frame_start
    scene.frame_end = frame_start + max(frame_count, 1) - 1
    scene.frame_current = frame_start
