"""Save the animated armature as .blend, .bvh and .fbx, only inside the chosen output folder."""
from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Iterable

import bpy
import numpy as np

from repose_core.detect.atomic import atomic_output

from .armature import SLOTTED_ACTIONS
from .bvh_up import to_y_up

FORMATS: tuple[str, ...] = ("blend", "bvh", "fbx")


class ExportError(ValueError):
    """Bad export request (unknown format, a path that would leave the output folder)."""


def parse_formats(formats: str | Iterable[str]) -> tuple[str, ...]:
    """``"blend,bvh"`` or an iterable -> validated, de-duplicated tuple in the given order."""
    items = formats.split(",") if isinstance(formats, str) else list(formats)
    chosen: list[str] = []
    for item in items:
        name = item.strip().lower().lstrip(".")
        if name not in FORMATS:
            raise ExportError(f"unknown export format {item!r}; choose from {', '.join(FORMATS)}")
        if name not in chosen:
            chosen.append(name)
    if not chosen:
        raise ExportError(f"no export format given; choose from {', '.join(FORMATS)}")
    return tuple(chosen)


# Characters no file system takes in a name: Windows forbids these, everyone "/" and NUL.
_FORBIDDEN = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
# Names Windows reserves for devices, with or without an extension.
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"{p}{n}" for p in ("COM", "LPT") for n in range(1, 10))}
# Bytes a name may take: file systems allow 255; the rest is room for "_2", "_preview.png".
_NAME_BYTES = 200


def safe_name(stem: str) -> str:
    """``stem`` (a video's name) as a file name on every file system: characters that some file
    system forbids become ``_``, everything else (letters of any script, spaces) is kept; no
    leading or trailing dots or spaces (a hidden file; Windows drops them); "motion" if nothing
    is left."""
    name = _FORBIDDEN.sub("_", unicodedata.normalize("NFC", stem)).strip(" .")
    if name.split(".")[0].upper() in _RESERVED:
        name = f"_{name}"
    while len(name.encode("utf-8")) > _NAME_BYTES:
        name = name[:-1].rstrip(" .")
    return name or "motion"


def output_path(out_dir: str | Path, name: str, extension: str) -> Path:
    """``out_dir / <safe name>.<extension>``, guaranteed to lie directly inside ``out_dir``."""
    folder = Path(out_dir).resolve()
    path = (folder / f"{safe_name(name)}.{extension}").resolve()
    if path.parent != folder:
        raise ExportError(f"refusing to write {path}: outside the output folder {folder}")
    return path


def export_files(
    obj: bpy.types.Object,
    out_dir: str | Path,
    stem: str,
    formats: str | Iterable[str] = ("blend",),
    bvh_up: str = "Y",
) -> dict[str, Path]:
    """Write ``obj`` (an animated armature) in each format; returns format -> written path.

    The .blend is a copy of the whole current file (the open file keeps its own path); .bvh holds
    the armature and its action over the scene's frame range, .fbx also the meshes it deforms
    (the character of a ``--rig``). Each file appears whole or not at all (written beside its
    place, then renamed), and replaces a file of that name.

    bvh_up: "Y" (what BVH readers expect, Blender's importer included) writes the armature in
    the world, turned Y up; "Z" writes Blender's own frame (the armature's space, Z up).
    The FBX's first key is at time 0 (see :func:`_first_frame_at_zero`).
    """
    if obj is None or obj.type != "ARMATURE":
        raise ExportError(f"export needs an armature object, got {getattr(obj, 'type', obj)!r}")
    chosen = parse_formats(formats)
    if bvh_up not in ("Y", "Z"):
        raise ExportError(f"bvh_up must be 'Y' or 'Z', got {bvh_up!r}")
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    scene = obj.users_scene[0] if obj.users_scene else bpy.context.scene
    written: dict[str, Path] = {}
    for name in chosen:
        path = output_path(folder, stem, name)
        with atomic_output(path) as temp:
            if name == "blend":
                temp.unlink()  # else Blender keeps the empty placeholder as a .blend1 backup
                bpy.ops.wm.save_as_mainfile(filepath=str(temp), copy=True, check_existing=False,
                                            compress=True)
            elif name == "bvh":
                with _only_selected(obj, scene):
                    bpy.ops.export_anim.bvh(filepath=str(temp), check_existing=False,
                                            frame_start=scene.frame_start, frame_end=scene.frame_end,
                                            rotate_mode="NATIVE", root_transform_only=True)
                if bvh_up == "Y":
                    text = temp.read_text(encoding="utf-8")
                    temp.write_text(to_y_up(text, obj.matrix_world), encoding="utf-8")
            else:
                with _only_selected(obj, scene), _first_frame_at_zero(scene):
                    bpy.ops.export_scene.fbx(filepath=str(temp), check_existing=False, use_selection=True,
                                             object_types={"ARMATURE", "MESH"}, add_leaf_bones=False,
                                             bake_anim=True, bake_anim_use_all_actions=False,
                                             bake_anim_use_nla_strips=False, bake_anim_simplify_factor=0.0)
        written[name] = path
    return written


class _first_frame_at_zero:
    """Move every action's keys and the scene's frame range so that the scene starts at frame 0,
    and back afterwards.

    Blender's FBX exporter writes a key at scene frame ``f`` at time ``f / fps``, counting from
    frame 0, so a motion starting at frame 1 would start 1/fps late in every other program, and
    Blender's importer, which puts time 0 at frame 1, would shift it to frame 2. (Its importer
    also spaces keys by the whole-number frame rate, 24 for 23.976 fps: 0.1 % slower on a round
    trip through Blender, although the file holds the video's times.)
    """

    def __init__(self, scene: bpy.types.Scene):
        self.scene = scene
        self.shift = scene.frame_start

    def __enter__(self):
        self._move(-self.shift)
        return self

    def __exit__(self, *exc):
        self._move(self.shift)
        return False

    def _move(self, frames: int) -> None:
        for action in bpy.data.actions:
            for curve in _action_curves(action):
                count = len(curve.keyframe_points)
                for attribute in ("co", "handle_left", "handle_right"):
                    values = np.empty(2 * count, np.float32)
                    curve.keyframe_points.foreach_get(attribute, values)
                    values[0::2] += frames
                    curve.keyframe_points.foreach_set(attribute, values)
                curve.update()
        scene = self.scene
        ends = ("frame_start", "frame_end") if frames < 0 else ("frame_end", "frame_start")
        for end in ends:  # never start after the end on the way
            setattr(scene, end, getattr(scene, end) + frames)
        scene.frame_set(scene.frame_current + frames)


def _action_curves(action: bpy.types.Action):
    if not SLOTTED_ACTIONS:
        yield from action.fcurves
        return
    for layer in action.layers:
        for strip in layer.strips:
            for channelbag in strip.channelbags:
                yield from channelbag.fcurves


class _only_selected:
    """Select only ``obj`` and its child meshes, make ``obj`` active for an exporter, then restore."""

    def __init__(self, obj: bpy.types.Object, scene: bpy.types.Scene):
        self.obj = obj
        self.scene = scene
        self.view_layer = bpy.context.view_layer if bpy.context.scene == scene else scene.view_layers[0]

    def __enter__(self):
        objects = self.view_layer.objects
        self.selected = [o for o in objects if o.select_get(view_layer=self.view_layer)]
        self.active = objects.active
        for other in self.selected:
            other.select_set(False, view_layer=self.view_layer)
        self.chosen = [self.obj] + [c for c in self.obj.children_recursive if c.type == "MESH"]
        for chosen in self.chosen:
            chosen.select_set(True, view_layer=self.view_layer)
        objects.active = self.obj
        self.override = bpy.context.temp_override(scene=self.scene, view_layer=self.view_layer,
                                                  active_object=self.obj, object=self.obj,
                                                  selected_objects=self.chosen)
        self.override.__enter__()
        return self

    def __exit__(self, *exc):
        self.override.__exit__(*exc)
        for chosen in self.chosen:
            chosen.select_set(False, view_layer=self.view_layer)
        for other in self.selected:
            other.select_set(True, view_layer=self.view_layer)
        self.view_layer.objects.active = self.active
        return False
