"""Save the animated armature as .blend, .bvh and .fbx, only inside the chosen output folder."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable

import bpy

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


def output_path(out_dir: str | Path, stem: str, extension: str) -> Path:
    """``out_dir / <safe stem>.<extension>``, guaranteed to lie directly inside ``out_dir``.

    The stem (usually the video's name) is reduced to letters, digits, ``-``, ``_`` and ``.``
    so that no name can climb out of the folder or hide as a dot-file.
    """
    folder = Path(out_dir).resolve()
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._") or "motion"
    path = (folder / f"{safe}.{extension}").resolve()
    if path.parent != folder:
        raise ExportError(f"refusing to write {path}: outside the output folder {folder}")
    return path


def export_files(
    obj: bpy.types.Object,
    out_dir: str | Path,
    stem: str,
    formats: str | Iterable[str] = ("blend",),
) -> dict[str, Path]:
    """Write ``obj`` (an animated armature) in each format; returns format -> written path.

    The .blend is a copy of the whole current file (the open file keeps its own path); .bvh holds
    the armature and its action over the scene's frame range, .fbx also the meshes it deforms
    (the character of a ``--rig``).
    """
    if obj is None or obj.type != "ARMATURE":
        raise ExportError(f"export needs an armature object, got {getattr(obj, 'type', obj)!r}")
    chosen = parse_formats(formats)
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    scene = obj.users_scene[0] if obj.users_scene else bpy.context.scene
    written: dict[str, Path] = {}
    for name in chosen:
        path = output_path(folder, stem, name)
        if name == "blend":
            bpy.ops.wm.save_as_mainfile(filepath=str(path), copy=True, check_existing=False,
                                        compress=True)
        else:
            with _only_selected(obj, scene):
                if name == "bvh":
                    bpy.ops.export_anim.bvh(filepath=str(path), check_existing=False,
                                            frame_start=scene.frame_start, frame_end=scene.frame_end,
                                            rotate_mode="NATIVE", root_transform_only=True)
                else:
                    bpy.ops.export_scene.fbx(filepath=str(path), check_existing=False, use_selection=True,
                                             object_types={"ARMATURE", "MESH"}, add_leaf_bones=False,
                                             bake_anim=True, bake_anim_use_all_actions=False,
                                             bake_anim_use_nla_strips=False, bake_anim_simplify_factor=0.0)
        written[name] = path
    return written


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
