"""Turn the panel's settings into what an import needs, checking all that can be checked before
the long analysis starts (bpy): a missing video, a custom model that is not there, a wrong
armature or a bone map it does not fit all fail here, in a second, with a clear message."""
from __future__ import annotations

from pathlib import Path

import bpy

from .bonemap import BoneMap, BoneMapError, resolve_bone_map
from .import_plan import ImportPlan
from .motion.rig import BONE_NAMES
from .pipeline import ImportOptions


class SetupError(ValueError):
    """A setting that makes the import impossible; the message says which and why."""


def _file(path_setting: str, what: str, suffixes: tuple[str, ...] = ()) -> Path:
    if not path_setting.strip():
        raise SetupError(f"choose a {what} first")
    path = Path(bpy.path.abspath(path_setting))
    if path.is_dir():
        raise SetupError(f"{what} is a folder, not a file: {path}")
    if not path.is_file():
        raise SetupError(f"{what} not found: {path}")
    if suffixes and path.suffix.lower() not in suffixes:
        raise SetupError(f"{what} must be a {' or '.join(suffixes)} file, got {path.name}")
    return path


def _extension_folder(name: str) -> Path | None:
    """A folder in the extension's user folder; None when not running as an installed extension
    (tests, scripts)."""
    package = __package__.rsplit(".", 1)[0]
    try:
        return Path(bpy.utils.extension_path_user(package, path=name, create=True))
    except (ValueError, AttributeError):
        return None


def detection_cache_dir() -> Path | None:
    """Where detections are cached, so re-importing with other settings skips detection."""
    return _extension_folder("detections")


def log_path() -> Path | None:
    """The log of what the libraries print during imports (MediaPipe, FFmpeg): off the terminal."""
    folder = _extension_folder("logs")
    return None if folder is None else folder / "import.log"


def import_options(settings) -> ImportOptions:
    """``ImportOptions`` from the scene's RePOSE settings (``addon.RePoseSettings``); ValueError
    (a SetupError, or ImportOptions' own checks) for settings an import cannot run with."""
    video = _file(settings.video_path, "video file")
    model = _file(settings.model_path, "custom model", (".onnx",)) if settings.model == "CUSTOM" else None
    return ImportOptions(
        video=video, start=settings.frame_start, end=settings.frame_end or None, model_path=model,
        smoothing=settings.smoothing, root_motion=settings.root_motion,
        foot_lock=settings.foot_lock, cache_dir=detection_cache_dir(),
        focal_35mm=settings.lens_35mm, person=settings.person if settings.choose_person else None,
        hands=settings.hands,
    )


def is_repose_armature(obj: bpy.types.Object | None) -> bool:
    return obj is not None and obj.type == "ARMATURE" and all(b in obj.data.bones for b in BONE_NAMES)


def bone_map_for(settings, target: bpy.types.Object) -> BoneMap:
    choice = settings.bone_map
    if choice == "CUSTOM":
        choice = str(_file(settings.bone_map_path, "bone map", (".json",)))
    try:
        return resolve_bone_map(choice, target.data.bones.keys(), target.name)
    except BoneMapError as error:
        raise SetupError(str(error)) from None


def retarget_target(context: bpy.types.Context) -> bpy.types.Object:
    """The armature the user selected to receive the motion (the active object)."""
    target = context.active_object
    if target is None or target.type != "ARMATURE":
        name = "nothing" if target is None else f"{target.name!r} ({target.type.lower()})"
        raise SetupError(f"select your character's armature to retarget onto; the active object is {name}")
    if is_repose_armature(target):
        raise SetupError(f"{target.name!r} is a RePOSE armature; select your own character's armature")
    return target


def import_plan(context: bpy.types.Context, settings) -> ImportPlan:
    if settings.add_camera and not settings.root_motion:
        raise SetupError("the matching camera needs root motion: only then is the camera fixed in the world")
    if settings.target == "NEW":
        return ImportPlan(add_camera=settings.add_camera)
    target = retarget_target(context)
    return ImportPlan(target_name=target.name, bone_map=bone_map_for(settings, target),
                      add_camera=settings.add_camera)
