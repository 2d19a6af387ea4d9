"""Put a rigged character through a mocap take and film it with Blender (bpy).

The take's H36M-17 joints drive the add-on's own generated armature (the same rotations the
add-on would key), which the add-on's retargeting puts on the character; the character's
evaluated pose is then the ground truth, read back frame by frame from its bones (so the truth is
what is drawn, whatever retargeting did). Workbench renders it: flat studio light, a floor with
a shadow, anti-aliasing by FXAA, H.264 video like a phone's.

Two frames live side by side here: the mocap world (Y up, what ``shots`` and the trainer speak)
and Blender's (Z up). :data:`Y_UP_TO_BLENDER` converts between them at this module's edges.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import bpy
import numpy as np

from addon import armature as generated_armature
from addon.bonemap import load_preset
from addon.motion import bone_rotations, fit, rig
from addon.retarget import retarget
from repose_core import skeleton
from repose_core.skeleton import JOINT_INDEX, NUM_JOINTS

from .footage import Proportions
from .shots import Y_UP_TO_BLENDER, Shot

# Blender's camera looks down its -Z with Y up; repose_core's camera frame is x right, y down.
_CAMERA_AXES = np.diag([1.0, -1.0, -1.0])
_SENSOR_WIDTH_MM = 36.0


@dataclass(frozen=True)
class CharacterJoint:
    """An H36M joint on a character: a bone's head, plus ``offset`` metres in the bone's own
    frame at rest expressed as (left, up, forward) of the character's rest pose."""

    bone: str
    offset: tuple[float, float, float] = (0.0, 0.0, 0.0)


# The Quaternius characters (shared data, CC0). Their Foot bones start at the sole; the ankle
# is 6 cm above it, where it sits on a person and where a detector puts it (the feet are not
# retargeted, so the Foot bone turns with the shin). Nose and the "head" point follow
# docs/joint_definitions.md: the nose 8 cm above the Head bone's root (the top of the neck) and
# 12 cm in front; head = mid-ears + 0.5 (mid-ears - thorax), 22 cm above that root.
QUATERNIUS_JOINTS: dict[str, CharacterJoint] = {
    "r_hip": CharacterJoint("UpperLeg.R"), "r_knee": CharacterJoint("LowerLeg.R"),
    "r_ankle": CharacterJoint("Foot.R", (0.0, 0.06, 0.0)),
    "l_hip": CharacterJoint("UpperLeg.L"), "l_knee": CharacterJoint("LowerLeg.L"),
    "l_ankle": CharacterJoint("Foot.L", (0.0, 0.06, 0.0)),
    "neck_nose": CharacterJoint("Head", (0.0, 0.08, 0.12)),
    "head": CharacterJoint("Head", (0.0, 0.22, 0.0)),
    "l_shoulder": CharacterJoint("UpperArm.L"), "l_elbow": CharacterJoint("LowerArm.L"),
    "l_wrist": CharacterJoint("Hand.L"),
    "r_shoulder": CharacterJoint("UpperArm.R"), "r_elbow": CharacterJoint("LowerArm.R"),
    "r_wrist": CharacterJoint("Hand.R"),
}


def to_blender(points: np.ndarray) -> np.ndarray:
    return np.asarray(points, dtype=np.float64) @ Y_UP_TO_BLENDER.T


def from_blender(points: np.ndarray) -> np.ndarray:
    return np.asarray(points, dtype=np.float64) @ Y_UP_TO_BLENDER


def new_scene(seed: int = 0) -> bpy.types.Scene:
    """An empty scene with a floor (z = 0), Workbench studio light and shadows.

    ``seed`` varies the floor and background colours and the light a little per take."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    rng = np.random.default_rng(seed)
    scene = bpy.context.scene
    mesh = bpy.data.meshes.new("Floor")
    size = 60.0
    mesh.from_pydata([(-size, -size, 0), (size, -size, 0), (size, size, 0), (-size, size, 0)], [], [(0, 1, 2, 3)])
    floor = bpy.data.objects.new("Floor", mesh)
    material = bpy.data.materials.new("FloorMaterial")
    grey = rng.uniform(0.35, 0.75)
    material.diffuse_color = (*(grey * rng.uniform(0.85, 1.15, 3)).clip(0, 1), 1.0)
    mesh.materials.append(material)
    scene.collection.objects.link(floor)

    scene.render.engine = "BLENDER_WORKBENCH"
    scene.display.render_aa = "FXAA"      # 8-sample AA costs 3x for nothing a detector sees
    shading = scene.display.shading
    shading.light = "STUDIO"
    shading.color_type = "MATERIAL"
    shading.show_shadows = True
    world = bpy.data.worlds.new("Backdrop")
    world.color = tuple(rng.uniform(0.5, 0.95, 3))
    scene.world = world
    scene.display.light_direction = tuple(_unit(rng.normal(size=3) + np.array([0.0, 0.0, 1.5])))
    scene.render.resolution_percentage = 100
    return scene


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def load_character(scene: bpy.types.Scene, path: str | Path, scale: float = 1.0) -> bpy.types.Object:
    """Import a glTF character; returns its armature. Stray objects of the file that are not
    parented to the armature (the Quaternius files carry an icosphere) are removed."""
    before = set(bpy.data.objects)
    bpy.ops.import_scene.gltf(filepath=str(path))
    new = [o for o in bpy.data.objects if o not in before]
    armatures = [o for o in new if o.type == "ARMATURE"]
    if len(armatures) != 1:
        raise ValueError(f"{path}: expected one armature, found {len(armatures)}")
    character = armatures[0]
    for obj in new:
        if obj.type == "MESH" and not _descends_from(obj, character):
            bpy.data.objects.remove(obj)
    top = character
    while top.parent is not None:
        top = top.parent
    top.scale = (scale, scale, scale)
    bpy.context.view_layer.update()
    return character


# The bones whose length sets each limb segment of the Quaternius characters: the segment runs
# from the bone's head to the next bone's head (the shin to the Foot bone's, at the sole).
_LIMB_SEGMENTS: dict[str, tuple[str, str]] = {
    "upper_arm": ("UpperArm", "LowerArm"), "forearm": ("LowerArm", "Hand"),
    "thigh": ("UpperLeg", "LowerLeg"), "shin": ("LowerLeg", "Foot"),
}


def reproportion(character: bpy.types.Object, proportions: Proportions, scale: float = 1.0) -> None:
    """Stretch or shorten ``character``'s upper arms, forearms, thighs and shins (both sides
    alike, the mesh with them) to ``proportions``, the torso and its size kept; then lower or
    raise it so that its feet stand where they stood. The stylised characters' upper arms are
    shorter than their forearms and their legs twice their torso (a person's upper arm is ~1.2x
    the forearm, the legs ~1.7x the torso): a lifter trained on them alone learns their arms.

    Each bone is scaled along its length in pose mode with no scale passed to its children, and
    that pose becomes the rest pose with the skin in the shape it gives (:func:`_pose_as_rest`).
    ``scale``: the size the character was loaded at.
    """
    bones = character.data.bones
    head = {b.name: np.array(character.matrix_world @ b.head_local) for b in bones}
    ankle_height = scale * QUATERNIUS_JOINTS["l_ankle"].offset[1]

    def length(segment: str) -> float:
        start, end = _LIMB_SEGMENTS[segment]
        return float(np.mean([np.linalg.norm(head[f"{end}.{s}"] - head[f"{start}.{s}"]) for s in "LR"]))

    def mid(bone: str) -> np.ndarray:
        return 0.5 * (head[f"{bone}.L"] + head[f"{bone}.R"])

    torso = float(np.linalg.norm(mid("UpperArm") - mid("UpperLeg")))
    arm = proportions.arm_to_torso * torso
    leg = proportions.leg_to_torso * torso
    ratio_arm, ratio_leg = proportions.upper_arm_to_forearm, proportions.thigh_to_shin
    # The shin's bone ends at the sole, the ankle joint above it: the joint's length is asked.
    targets = {"upper_arm": arm * ratio_arm / (1 + ratio_arm), "forearm": arm / (1 + ratio_arm),
               "thigh": leg * ratio_leg / (1 + ratio_leg),
               "shin": leg / (1 + ratio_leg) + ankle_height}
    inherited = {b.name: b.inherit_scale for b in bones}
    for b in bones:
        b.inherit_scale = "NONE"
    for segment, (bone, _) in _LIMB_SEGMENTS.items():
        for side in "LR":
            character.pose.bones[f"{bone}.{side}"].scale = (1.0, targets[segment] / length(segment), 1.0)
    bpy.context.view_layer.update()
    sole_before = min(head[f"Foot.{s}"][2] for s in "LR")
    sole_after = min((character.matrix_world @ character.pose.bones[f"Foot.{s}"].head)[2] for s in "LR")
    _pose_as_rest(character)
    for b in bones:
        b.inherit_scale = inherited[b.name]
    top = character
    while top.parent is not None:
        top = top.parent
    top.location.z += sole_before - sole_after
    bpy.context.view_layer.update()


def _pose_as_rest(character: bpy.types.Object) -> None:
    """Make ``character``'s current pose its rest pose, its skinned meshes keeping the shape the
    pose gives them (each mesh's evaluated vertices become its own)."""
    depsgraph = bpy.context.evaluated_depsgraph_get()
    for obj in bpy.data.objects:
        if obj.type == "MESH" and any(m.type == "ARMATURE" and m.object == character for m in obj.modifiers):
            evaluated = obj.evaluated_get(depsgraph)
            mesh = evaluated.to_mesh()
            co = np.empty(3 * len(mesh.vertices), dtype=np.float32)
            mesh.vertices.foreach_get("co", co)
            evaluated.to_mesh_clear()
            obj.data.vertices.foreach_set("co", co)
            obj.data.update()
    bpy.context.view_layer.objects.active = character
    bpy.ops.object.mode_set(mode="POSE")
    bpy.ops.pose.armature_apply(selected=False)
    bpy.ops.object.mode_set(mode="OBJECT")


def _descends_from(obj: bpy.types.Object, ancestor: bpy.types.Object) -> bool:
    while obj is not None:
        if obj == ancestor:
            return True
        obj = obj.parent
    return False


def drive_character(scene: bpy.types.Scene, character: bpy.types.Object, joints: np.ndarray,
                    fps: float) -> None:
    """Key ``character`` with a take: world joints (T, 17, 3), Y up, floor at y = 0, at ``fps``.

    Frames 1..T of the scene; the generated armature used on the way is removed afterwards."""
    world = to_blender(joints)
    lengths = fit.bone_lengths(world)
    fitted = skeleton.apply_bone_lengths(world, lengths)
    rest = rig.build_rest_skeleton(lengths)
    quaternions, root_location = bone_rotations.pose_from_joints(fitted, rest)
    source = generated_armature.create_armature(scene, "MocapSource", rest)
    action = bpy.data.actions.new("MocapSourceAction")
    generated_armature.write_bone_keys(
        source, action, {name: quaternions[:, b] for b, name in enumerate(rig.BONE_NAMES)},
        {rig.ROOT_BONE: root_location}, frame_start=1)
    retarget(source, character, load_preset("quaternius"))
    bpy.data.objects.remove(source)
    generated_armature.set_scene_timing(scene, fps, frame_start=1, frame_count=len(joints))


def character_joints(scene: bpy.types.Scene, character: bpy.types.Object, scale: float = 1.0,
                     table: dict[str, CharacterJoint] = QUATERNIUS_JOINTS) -> np.ndarray:
    """The character's H36M-17 joints (T, 17, 3), mocap world (Y up), for every scene frame.

    ``scale``: the size the character was loaded at (its offsets grow with it). Pelvis, spine
    and thorax follow docs/joint_definitions.md (mid-hips, midway, mid-shoulders)."""
    frames = range(scene.frame_start, scene.frame_end + 1)
    rest_frame = _rest_person_frame(character)
    object_matrix = np.array(character.matrix_world)
    # glTF armatures carry a unit scale (x100 for these files): offsets are metres, so turn
    # them with the object's rotation only.
    object_rotation = object_matrix[:3, :3] / np.linalg.norm(object_matrix[:3, :3], axis=0)
    pose_bones = character.pose.bones
    offsets = {name: scale * np.array(pose_bones[spec.bone].bone.matrix_local)[:3, :3].T
               @ rest_frame @ np.asarray(spec.offset) for name, spec in table.items()}
    out = np.zeros((len(frames), NUM_JOINTS, 3))
    for k, frame in enumerate(frames):
        scene.frame_set(frame)
        for name, spec in table.items():
            pose = np.array(pose_bones[spec.bone].matrix)    # armature space, rigid
            head = object_matrix @ np.append(pose[:3, 3], 1.0)
            out[k, JOINT_INDEX[name]] = head[:3] + object_rotation @ pose[:3, :3] @ offsets[name]
    J = JOINT_INDEX
    out[:, J["pelvis"]] = 0.5 * (out[:, J["l_hip"]] + out[:, J["r_hip"]])
    out[:, J["thorax"]] = 0.5 * (out[:, J["l_shoulder"]] + out[:, J["r_shoulder"]])
    out[:, J["spine"]] = 0.5 * (out[:, J["pelvis"]] + out[:, J["thorax"]])
    return from_blender(out)


def _rest_person_frame(character: bpy.types.Object) -> np.ndarray:
    """(3, 3) columns = the character's rest left, up, forward in its armature space."""
    bones = character.data.bones
    left = np.array(bones["UpperLeg.L"].head_local) - np.array(bones["UpperLeg.R"].head_local)
    up = np.array(bones["Head"].head_local) - np.array(bones["Hips"].head_local)
    left /= np.linalg.norm(left)
    up -= (up @ left) * left
    up /= np.linalg.norm(up)
    return np.stack([left, up, np.cross(left, up)], -1)


def place_camera(scene: bpy.types.Scene, shot: Shot) -> bpy.types.Object:
    """The scene camera for ``shot`` (keyed per frame when it moves), replacing the last one."""
    if scene.camera is not None:
        bpy.data.objects.remove(scene.camera)
    data = bpy.data.cameras.new("ShotCamera")
    camera = bpy.data.objects.new("ShotCamera", data)
    scene.collection.objects.link(camera)
    scene.camera = camera
    width, height = shot.size
    data.sensor_fit = "HORIZONTAL"
    data.sensor_width = _SENSOR_WIDTH_MM
    data.lens = shot.focal_px * _SENSOR_WIDTH_MM / width
    data.clip_start, data.clip_end = 0.05, 200.0
    scene.render.resolution_x, scene.render.resolution_y = width, height
    camera.rotation_mode = "QUATERNION"
    frames = range(scene.frame_start, scene.frame_end + 1)
    for k, frame in enumerate(frames):
        i = k if shot.follow else 0
        # X_cam = R (X - C) in the mocap world; Blender's camera matrix is M R^T D.
        rotation = Y_UP_TO_BLENDER @ shot.R[i].T @ _CAMERA_AXES
        matrix = np.eye(4)
        matrix[:3, :3] = rotation
        matrix[:3, 3] = Y_UP_TO_BLENDER @ shot.C[i]
        camera.matrix_world = matrix.T.tolist()  # mathutils reads rows
        if not shot.follow:
            break
        camera.keyframe_insert("location", frame=frame)
        camera.keyframe_insert("rotation_quaternion", frame=frame)
    return camera


def render_video(scene: bpy.types.Scene, path: str | Path) -> Path:
    """Render the scene's frame range to an H.264 ``.mp4`` at the scene's frame rate."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    settings = scene.render.image_settings
    if hasattr(settings, "media_type"):   # Blender 5.0 moved video output here
        settings.media_type = "VIDEO"
    else:
        settings.file_format = "FFMPEG"
    scene.render.ffmpeg.format = "MPEG4"
    scene.render.ffmpeg.codec = "H264"
    scene.render.ffmpeg.constant_rate_factor = "HIGH"
    scene.render.filepath = str(path)
    bpy.ops.render.render(animation=True)
    # Blender appends the frame range to names without one; keep the name we were asked for.
    written = sorted(path.parent.glob(path.stem + "*" + path.suffix))
    if path.is_file():
        return path
    if len(written) != 1:
        raise RuntimeError(f"render of {path} wrote {[str(w) for w in written]}")
    written[0].replace(path)
    return path
