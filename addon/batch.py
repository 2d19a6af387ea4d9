"""Headless batch: videos in, animated armatures out (.blend / .bvh / .fbx) plus a summary JSON.

    python -m addon.batch VIDEO [VIDEO ...] -o OUT_DIR [--rig RIG.blend|.glb|.fbx]
                          [--formats blend,bvh,fbx] [--model PATH] [--person K]
                          [--focal-35mm MM] [--no-preview]
    blender -b -P addon/batch.py -- VIDEO ... -o OUT_DIR            (Blender's own Python)
    blender -b --python-expr "import sys; from addon.batch import main; sys.exit(main())" -- VIDEO ... -o OUT_DIR

Each video becomes ``OUT_DIR/<video name>.<format>``, plus ``OUT_DIR/<video name>_preview.png``
(a few frames with the 2D skeleton over the video and the 3D pose from the front and the side;
``--no-preview`` skips it); ``OUT_DIR/summary.json`` lists, per video, frames, detection rate,
foot skate, seconds per stage, the files written, any warnings and any error. A preview that
cannot be drawn is a warning, not a failure. A video that fails is reported and skipped; the
exit status is 1 if any video failed, 0 otherwise (2 for bad arguments). Nothing is written
outside OUT_DIR.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
import traceback
from pathlib import Path

if __name__ == "__main__" and not __package__:
    # ``blender -b -P addon/batch.py``: run as a plain script, so import it as the package module.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from addon.batch import main as _main

    sys.exit(_main())

from .export import FORMATS, ExportError, export_files, output_path, parse_formats
from .motion.root_motion import DEFAULT_FOCAL_35MM
from .pipeline import ImportOptions, MotionResult, analyse, build_armature

SUMMARY_NAME = "summary.json"
RIG_SUFFIXES = (".blend", ".glb", ".gltf", ".fbx")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse ``argv``; by default the command line, or what follows ``--`` under Blender."""
    if argv is None:
        argv = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else sys.argv[1:]
    parser = argparse.ArgumentParser(prog="python -m addon.batch", description=__doc__.split("\n")[0])
    parser.add_argument("videos", nargs="+", type=Path, metavar="VIDEO")
    parser.add_argument("-o", "--out", required=True, type=Path, metavar="OUT_DIR",
                        help="output folder (created); nothing is written outside it")
    parser.add_argument("--rig", type=Path, help="put the motion on this rig (.blend, .glb/.gltf, .fbx)")
    parser.add_argument("--bone-map", default="AUTO",
                        help="bone map for --rig: AUTO, a preset id or a JSON file (default AUTO)")
    parser.add_argument("--formats", default="blend,bvh",
                        help=f"comma-separated, from {','.join(FORMATS)} (default blend,bvh)")
    parser.add_argument("--model", type=Path, help="lifter .onnx/.pt (default: the shipped model)")
    parser.add_argument("--start", type=int, default=0, help="first video frame (default 0)")
    parser.add_argument("--end", type=int, help="frame to stop before (default: the end)")
    parser.add_argument("--stride", type=int, default=1, help="use every n-th frame (default 1)")
    parser.add_argument("--smoothing", type=float, default=0.5, help="0..1 (default 0.5)")
    parser.add_argument("--no-root-motion", action="store_true", help="keep the person in place")
    parser.add_argument("--no-foot-lock", action="store_true", help="leave foot sliding as lifted")
    parser.add_argument("--person", type=int, metavar="K",
                        help="with several people in view, follow the K-th from the left, 0 = the "
                             "leftmost (default: the most prominent at the start)")
    parser.add_argument("--focal-35mm", type=float, default=DEFAULT_FOCAL_35MM, metavar="MM",
                        help="the camera's 35 mm-equivalent focal length, for root motion "
                             f"(default {DEFAULT_FOCAL_35MM:g}, a phone's main camera)")
    parser.add_argument("--cache-dir", type=Path, help="cache 2D detections here")
    parser.add_argument("--no-preview", action="store_true",
                        help="do not write <video name>_preview.png")
    args = parser.parse_args(argv)
    try:
        args.formats = parse_formats(args.formats)
    except ExportError as error:
        parser.error(str(error))
    if args.rig is not None and args.rig.suffix.lower() not in RIG_SUFFIXES:
        parser.error(f"--rig {args.rig}: expected one of {', '.join(RIG_SUFFIXES)}")
    if args.rig is not None and not args.rig.is_file():
        parser.error(f"--rig {args.rig}: no such file")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out_dir = args.out.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    entries, used_stems = [], set()
    for number, video in enumerate(args.videos, 1):
        stem = _unique_stem(video.stem, used_stems)
        label = f"[{number}/{len(args.videos)}] {video.name}"
        print(f"{label}: start", flush=True)
        entry = process_video(video, stem, out_dir, args, _Progress(label))
        entries.append(entry)
        for warning in entry["warnings"]:
            print(f"{label}: warning: {warning}", file=sys.stderr, flush=True)
        if entry["status"] == "ok":
            print(f"{label}: done, {entry['frames']} frames, {sum(entry['timings'].values()):.1f} s", flush=True)
        else:
            print(f"{label}: FAILED: {entry['error']}", file=sys.stderr, flush=True)
    failed = sum(entry["status"] != "ok" for entry in entries)
    summary = {"videos": entries, "succeeded": len(entries) - failed, "failed": failed,
               "formats": list(args.formats), "rig": None if args.rig is None else str(args.rig)}
    summary_path = output_path(out_dir, Path(SUMMARY_NAME).stem, "json")
    summary_path.write_text(json.dumps(summary, indent=2, allow_nan=False) + "\n")
    print(f"{len(entries) - failed}/{len(entries)} videos done; summary: {summary_path}", flush=True)
    return 1 if failed else 0


def import_options(video: Path, args: argparse.Namespace) -> ImportOptions:
    """The import settings of one video of the batch (raises ValueError for bad values)."""
    return ImportOptions(video=video, start=args.start, end=args.end, stride=args.stride,
                         model_path=args.model, smoothing=args.smoothing,
                         root_motion=not args.no_root_motion, foot_lock=not args.no_foot_lock,
                         cache_dir=args.cache_dir, focal_35mm=args.focal_35mm, person=args.person)


def process_video(video: Path, stem: str, out_dir: Path, args: argparse.Namespace, progress) -> dict:
    """Import one video and write its files; never raises: errors go into the returned entry."""
    entry: dict = {"video": str(video), "status": "ok", "frames": 0, "fps": None, "detection_rate": None,
                   "foot_skate_before_mm": None, "foot_skate_after_mm": None, "timings": {},
                   "outputs": {}, "warnings": [], "error": None}
    try:
        result = analyse(import_options(video, args), progress=progress)
        entry.update(_result_fields(result))
        entry["outputs"] = _animate_and_save(result, stem, out_dir, args, entry["timings"])
        if not args.no_preview:
            _write_preview(result, stem, out_dir, entry)
    except Exception as error:  # noqa: BLE001 - one bad video must not stop the batch
        entry["status"] = "error"
        entry["error"] = f"{type(error).__name__}: {error}"
        if not isinstance(error, (ValueError, OSError)):  # unexpected: keep the trace for a bug report
            entry["traceback"] = traceback.format_exc()
    return entry


def _animate_and_save(result: MotionResult, stem: str, out_dir: Path, args, timings: dict) -> dict:
    import bpy

    start = time.perf_counter()
    bpy.ops.wm.read_factory_settings(use_empty=True)  # each output holds only this video's motion
    scene = bpy.context.scene
    obj = build_armature(result, scene, name=stem)
    timings["armature"] = round(time.perf_counter() - start, 3)
    exported = obj
    if args.rig is not None:
        start = time.perf_counter()
        exported = _retarget_onto_rig(obj, args.rig, args.bone_map, scene)
        timings["retarget"] = round(time.perf_counter() - start, 3)
    start = time.perf_counter()
    written = export_files(exported, out_dir, stem, args.formats)
    timings["save"] = round(time.perf_counter() - start, 3)
    return {name: str(path) for name, path in written.items()}


def _write_preview(result: MotionResult, stem: str, out_dir: Path, entry: dict) -> None:
    """Write ``<stem>_preview.png``; a failure only adds a warning to ``entry``."""
    start = time.perf_counter()
    try:
        from .preview import write_preview

        path = write_preview(result, output_path(out_dir, f"{stem}_preview", "png"))
    except Exception as error:  # noqa: BLE001 - the motion files are written; the picture is extra
        entry["warnings"].append(f"preview not written: {type(error).__name__}: {error}")
    else:
        entry["outputs"]["preview"] = str(path)
    entry["timings"]["preview"] = round(time.perf_counter() - start, 3)


def _retarget_onto_rig(source, rig_path: Path, bone_map_choice: str, scene):
    """Load the user's rig into ``scene``, put ``source``'s motion on it, return its armature."""
    import bpy

    try:
        from .bonemap import resolve_bone_map
        from .retarget import retarget
    except ImportError as error:
        raise RuntimeError(f"--rig is not available in this build: {error}") from error
    before = set(bpy.data.objects)
    suffix = rig_path.suffix.lower()
    if suffix == ".blend":
        with bpy.data.libraries.load(str(rig_path), link=False) as (data_from, data_to):
            data_to.objects = list(data_from.objects)
        for obj in data_to.objects:
            if obj is not None:
                scene.collection.objects.link(obj)
    elif suffix in (".glb", ".gltf"):
        bpy.ops.import_scene.gltf(filepath=str(rig_path))
    else:
        bpy.ops.import_scene.fbx(filepath=str(rig_path))
    armatures = [o for o in set(bpy.data.objects) - before if o.type == "ARMATURE"]
    if len(armatures) != 1:
        raise ValueError(f"--rig {rig_path}: expected one armature, found {len(armatures)}")
    target = armatures[0]
    bone_map = resolve_bone_map(bone_map_choice, target.data.bones.keys(), target.name)
    retarget(source, target, bone_map)
    return target


def _result_fields(result: MotionResult) -> dict:
    def finite(value: float) -> float | None:
        return None if value is None or not math.isfinite(value) else round(float(value), 3)

    return {"frames": result.num_frames, "fps": result.fps, "detection_rate": round(result.detection_rate, 4),
            "foot_skate_before_mm": finite(result.foot_skate_before),
            "foot_skate_after_mm": finite(result.foot_skate_after),
            "timings": {stage: round(seconds, 3) for stage, seconds in result.timings.items()}}


def _unique_stem(stem: str, used: set[str]) -> str:
    """Two videos with the same name (from different folders) get ``name``, ``name_2``..."""
    candidate, n = stem, 1
    while candidate.lower() in used:
        n += 1
        candidate = f"{stem}_{n}"
    used.add(candidate.lower())
    return candidate


class _Progress:
    """Prints ``label: stage done/total`` when a stage starts, every 10 %, and at least every 2 s."""

    def __init__(self, label: str):
        self.label = label
        self.shown: tuple[str, int] = ("", -1)
        self.time = 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        step = (stage, 10 * done // max(total, 1))
        if step != self.shown or now - self.time > 2.0:
            print(f"{self.label}: {stage} {done}/{total}", flush=True)
            self.shown, self.time = step, now

if __name__ == "__main__":
    sys.exit(main())
