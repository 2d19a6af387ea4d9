"""Motion processing for the add-on: lifted joints -> clean, keyable motion (numpy only, no bpy).

The steps, in the order ``addon.pipeline.animate`` runs them:
``smoothing`` (temporal filter on camera-frame joints) -> ``fit`` (constant bone lengths) ->
``world`` (levelling by the lifter's up direction) -> ``root_motion`` (global trajectory, camera
frame -> Blender world, feet on the floor) -> ``foot_lock`` (ground contacts, no sliding) ->
``rotations`` (per-bone local quaternions for the generated armature).
``rig`` describes that armature; the rotation helpers they share are ``repose_core.rotations``.
"""
