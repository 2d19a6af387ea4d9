"""Headless batch: videos in, animated armatures out (.blend / .bvh / .fbx) plus a summary JSON.

    python -m addon.batch VIDEO [VIDEO ...] -o OUT_DIR [--rig RIG.blend|.glb|.fbx]
                          [--formats blend,bvh,fbx] [--model PATH] [--person K]
                          [--focal-35mm MM] [--no-hands] [--no-preview] [--bvh-up Y|Z]
                          [--overwrite | --skip-existing] [--shard I/N]
    python -m addon.batch merge-summaries OUT_DIR                   (after the shards of a farm)
    blender -b -P addon/batch.py -- VIDEO ... -o OUT_DIR            (Blender's own Python)
    blender -b --python-expr "import sys; from addon.batch import main; sys.exit(main())" -- VIDEO ... -o OUT_DIR

Each video becomes ``OUT_DIR/<video name>.<format>``, plus ``OUT_DIR/<video name>_preview.png``
(a few frames with the 2D skeleton over the video and the 3D pose from the front and the side;
``--no-preview`` skips it). Names keep the video's name (any script; only characters some file
system forbids become ``_``) and are unique within the folder: a second ``clip.mp4`` from
another folder becomes ``clip_2``. Files that exist are never replaced unless ``--overwrite`` is
given; ``--skip-existing`` skips the videos whose files are all there, so an interrupted batch
resumes where it stopped.

``OUT_DIR/summary.json`` lists, per video, frames, detection rate, foot skate, seconds per
stage, the files written, the settings and model used, any warnings and any error; it is
rewritten after every video and keeps the videos of earlier runs into the same folder. The
terminal shows only progress and the product's own messages; what the libraries print
(MediaPipe, FFmpeg, Blender's exporters) goes to ``OUT_DIR/batch.log``.

A video that fails is reported and skipped; the exit status is 1 if any video failed, 0
otherwise, and 2 for bad arguments, found before any video is touched. Nothing is written
outside OUT_DIR.

On a render farm N processes run the same command with ``--shard 1/N`` ... ``--shard N/N``:
each takes its share of the videos (``shard_jobs``: by a hash of each video's path as written,
so the order of the command line plays no part, dealt out evenly) and writes its own
``summary-shard-I-of-N.json`` and ``batch-shard-I-of-N.log``. Names are planned over all the
videos in the order of their paths, so every shard names a video alike (two ``walk.mp4``:
``a/walk.mp4`` is ``walk``, ``b/walk.mp4`` ``walk_2``) and no two write the same file. A shard
that failed is run again with ``--skip-existing``. ``merge-summaries OUT_DIR`` then combines
the shards' summaries (and an earlier ``summary.json``) into ``summary.json``.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import posixpath
import re
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

if __name__ == "__main__" and not __package__:
    # ``blender -b -P addon/batch.py``: run as a plain script, so import it as the package module.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from addon.batch import main as _main

    sys.exit(_main())

from repose_core.detect.atomic import atomic_output
from repose_core.detect.tracking import MAX_PEOPLE
from repose_core.image_fit import DEFAULT_FOCAL_35MM

from .console import OutputToLog
from .export import FORMATS, export_files, output_path, parse_formats, safe_name
from .pipeline import HANDS_DEFAULT, ImportOptions, MotionResult, analyse

SUMMARY_NAME = "summary.json"
LOG_NAME = "batch.log"
MERGE_COMMAND = "merge-summaries"
RIG_SUFFIXES = (".blend", ".glb", ".gltf", ".fbx")


def _person(text: str) -> int:
    value = int(text)
    if not 0 <= value < MAX_PEOPLE:
        raise argparse.ArgumentTypeError(
            f"must be 0..{MAX_PEOPLE - 1} (0 = the leftmost), got {value}")
    return value


def _command_line(argv: list[str] | None) -> list[str]:
    """``argv``, by default the command line, or what follows ``--`` under Blender."""
    if argv is None:
        argv = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else sys.argv[1:]
    return argv


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse and check ``argv`` (by default the command line, or what follows ``--`` under
    Blender); a bad value exits with status 2 before any video is touched."""
    argv = _command_line(argv)
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
    parser.add_argument("--hands", action=argparse.BooleanOptionalAction, default=HANDS_DEFAULT,
                        help="detect the hands and animate wrists and fingers (default: "
                             f"{'on' if HANDS_DEFAULT else 'off'}; --no-hands: body only, faster)")
    parser.add_argument("--person", type=_person, metavar="K",
                        help="with several people in view, follow the K-th from the left, 0 = the "
                             f"leftmost, up to {MAX_PEOPLE - 1} (default: the most prominent at the start)")
    parser.add_argument("--focal-35mm", type=float, default=DEFAULT_FOCAL_35MM, metavar="MM",
                        help="the camera's 35 mm-equivalent focal length, for root motion "
                             f"(default {DEFAULT_FOCAL_35MM:g}, a phone's main camera)")
    parser.add_argument("--cache-dir", type=Path, help="cache 2D detections here")
    parser.add_argument("--no-preview", action="store_true",
                        help="do not write <video name>_preview.png")
    parser.add_argument("--bvh-up", type=str.upper, choices=("Y", "Z"), default="Y",
                        help="the BVH's up axis: Y, what BVH readers expect (default), or Z, "
                             "Blender's own axes")
    existing = parser.add_mutually_exclusive_group()
    existing.add_argument("--overwrite", action="store_true",
                          help="replace files that are already in OUT_DIR")
    existing.add_argument("--skip-existing", action="store_true",
                          help="skip the videos whose files are all in OUT_DIR already")
    parser.add_argument("--shard", type=_shard, metavar="I/N",
                        help="do shard I of N (1..N) of the videos, for N machines running the same "
                             "command; writes summary-shard-I-of-N.json (then: python -m addon.batch "
                             f"{MERGE_COMMAND} OUT_DIR)")
    args = parser.parse_args(argv)
    try:
        args.formats = parse_formats(args.formats)
        import_options(Path("settings"), args)  # the checks every video's import makes
        _check_rig(args)
        _check_model(args.model)
    except ValueError as error:  # ExportError, BoneMapError, LifterLoadError too
        parser.error(str(error))
    return args


def _check_rig(args: argparse.Namespace) -> None:
    if args.rig is None:
        if args.bone_map != "AUTO":
            raise ValueError("--bone-map needs --rig")
        return
    if args.rig.suffix.lower() not in RIG_SUFFIXES:
        raise ValueError(f"--rig {args.rig}: expected one of {', '.join(RIG_SUFFIXES)}")
    if not args.rig.is_file():
        raise ValueError(f"--rig {args.rig}: no such file")
    if args.bone_map != "AUTO":
        from .bonemap import load_bone_map, preset_ids

        if args.bone_map not in preset_ids():
            load_bone_map(args.bone_map)  # a JSON file that is there and reads as a bone map


def _check_model(model: Path | None) -> None:
    """A ``--model`` that does not load raises LifterLoadError naming the file."""
    if model is not None:
        from repose_core import load_lifter

        load_lifter(model)


def import_options(video: Path, args: argparse.Namespace) -> ImportOptions:
    """The import settings of one video of the batch (raises ValueError for bad values)."""
    return ImportOptions(video=video, start=args.start, end=args.end, stride=args.stride,
                         model_path=args.model, smoothing=args.smoothing,
                         root_motion=not args.no_root_motion, foot_lock=not args.no_foot_lock,
                         cache_dir=args.cache_dir, focal_35mm=args.focal_35mm, person=args.person,
                         hands=args.hands)


@dataclass(frozen=True)
class Job:
    """One video of the batch and the files it writes (format, or "preview" -> path)."""

    video: Path
    name: str
    outputs: dict[str, Path]

    @property
    def key(self) -> str:
        return _video_key(self.video)

    def existing(self) -> list[Path]:
        return [path for path in self.outputs.values() if path.exists()]


def _video_key(video: Path) -> str:
    """How a video is known in the summary, from any working folder."""
    return str(video.resolve())


def plan_jobs(videos: list[Path], out_dir: Path, formats: tuple[str, ...], preview: bool,
              known: dict[str, dict]) -> list[Job]:
    """Each video's output name and files. A video the summary ``known`` already lists keeps
    its name (its files are the ones to replace or skip); any other gets its own name, unique
    within the folder, case ignored (Windows and macOS do). A video given twice is done once."""
    used = {entry["name"].casefold() for entry in known.values() if entry.get("name")}
    jobs: list[Job] = []
    for video in videos:
        if any(job.key == _video_key(video) for job in jobs):
            continue
        name = known.get(_video_key(video), {}).get("name")
        if not name:
            name = _unique_name(safe_name(video.stem), used)
        outputs = {fmt: output_path(out_dir, name, fmt) for fmt in formats}
        if preview:
            outputs["preview"] = output_path(out_dir, f"{name}_preview", "png")
        jobs.append(Job(video, name, outputs))
    return jobs


def _unique_name(name: str, used: set[str]) -> str:
    """``name``, or ``name_2``, ``name_3``... if taken; the result is marked as taken."""
    candidate, n = name, 1
    while candidate.casefold() in used:
        n += 1
        candidate = f"{name}_{n}"
    used.add(candidate.casefold())
    return candidate


class Summary:
    """``summary.json``: every video ever processed into the folder, by video; written whole
    (never half) after each video."""

    def __init__(self, path: Path):
        self.path = path
        self.entries: dict[str, dict] = {}
        self.latest_run: dict = {}  # the last run's formats and rig, as earlier versions wrote
        if path.is_file():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                self.entries = {entry["video"]: entry for entry in data["videos"]}
                self.latest_run = {key: data[key] for key in ("formats", "rig") if key in data}
            except (ValueError, KeyError, TypeError) as error:
                raise ValueError(f"{path} is not a RePOSE batch summary ({error}); move it away "
                                 "or choose another output folder") from None

    def record(self, entry: dict) -> None:
        self.entries[entry["video"]] = entry

    def write(self) -> None:
        entries = list(self.entries.values())
        counts = {status: sum(e["status"] == status for e in entries)
                  for status in ("ok", "error", "skipped")}
        summary = {"videos": entries, "succeeded": counts["ok"], "failed": counts["error"],
                   "skipped": counts["skipped"], **self.latest_run}
        with atomic_output(self.path) as temp:
            temp.write_text(json.dumps(summary, indent=2, ensure_ascii=False, allow_nan=False) + "\n",
                            encoding="utf-8")


# ----------------------------------------------------------------------------- render farms
SHARD_SUMMARY = re.compile(r"summary-shard-(\d+)-of-(\d+)\.json")


def _shard(text: str) -> tuple[int, int]:
    """``--shard I/N``: shard I (1..N) of N."""
    match = re.fullmatch(r"(\d+)/(\d+)", text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"must be I/N, e.g. 1/4 for the first of 4 shards, got {text!r}")
    index, count = int(match[1]), int(match[2])
    if not 1 <= index <= count:
        raise argparse.ArgumentTypeError(f"I must be 1..N, got {text!r}")
    return index, count


def summary_name(shard: tuple[int, int] | None) -> str:
    return SUMMARY_NAME if shard is None else f"summary-shard-{shard[0]}-of-{shard[1]}.json"


def log_name(shard: tuple[int, int] | None) -> str:
    return LOG_NAME if shard is None else f"batch-shard-{shard[0]}-of-{shard[1]}.log"


def shard_key(video: Path) -> str:
    """What decides a video's shard: its path as written (``./`` and ``\\`` normalised), the
    same on every machine that runs the same command, whatever the folder is mounted as."""
    return posixpath.normpath(str(video).replace("\\", "/"))


def shard_jobs(jobs: list[Job], index: int, count: int) -> list[Job]:
    """Shard ``index`` (1..count) of ``jobs``: the jobs ranked by a hash of ``shard_key`` are
    dealt out in turn, so the shards differ by at most one video, each video is in exactly one,
    and the order of the command line changes nothing. The shard's jobs keep that order."""
    keys = [shard_key(job.video) for job in jobs]
    ranked = sorted(range(len(jobs)), key=lambda k: (hashlib.sha256(keys[k].encode()).digest(), keys[k]))
    mine = set(ranked[index - 1::count])
    return [job for k, job in enumerate(jobs) if k in mine]


def shard_known(out_dir: Path, own: Summary) -> dict[str, dict]:
    """The videos a shard knows the names of: the folder's ``summary.json`` (a merged earlier
    run, the same for every shard) and the shard's own summary."""
    return {**Summary(out_dir / SUMMARY_NAME).entries, **own.entries}


def merge_summaries(out_dir: Path) -> tuple[Summary, list[tuple[int, int]], list[str]]:
    """``OUT_DIR/summary.json`` from every ``summary-shard-I-of-N.json`` there and the
    ``summary.json`` already there: for each video the entry of the file written last (a shard
    run again replaces its earlier result), except that "skipped" never replaces an entry (it
    says only that the files were there). Returns the summary (not yet written), the shards
    found, and a line for each shard missing from a set of N."""
    shards = sorted((int(m[1]), int(m[2]), path) for path in out_dir.glob("summary-shard-*-of-*.json")
                    if (m := SHARD_SUMMARY.fullmatch(path.name)))
    if not shards:
        raise ValueError(f"no shard summaries (summary-shard-I-of-N.json) in {out_dir}")
    files = [path for _, _, path in shards] + [p for p in [out_dir / SUMMARY_NAME] if p.is_file()]
    files.sort(key=lambda path: (path.stat().st_mtime_ns, path.name))
    merged = Summary(out_dir / SUMMARY_NAME)
    merged.entries = {}
    for path in files:
        part = Summary(path)
        merged.latest_run = part.latest_run or merged.latest_run
        for key, entry in part.entries.items():
            if entry["status"] != "skipped" or key not in merged.entries:
                merged.entries[key] = entry
    counts = {count for _, count, _ in shards}
    missing = [f"shard {i}/{n} has no summary in {out_dir}" for n in sorted(counts)
               for i in range(1, n + 1) if not any((i, n) == (a, b) for a, b, _ in shards)]
    return merged, [(i, n) for i, n, _ in shards], missing


def merge_main(argv: list[str]) -> int:
    """``python -m addon.batch merge-summaries OUT_DIR``: exit status 0 when every shard's
    summary is there and no video failed, 1 otherwise, 2 when there is nothing to merge."""
    parser = argparse.ArgumentParser(prog=f"python -m addon.batch {MERGE_COMMAND}",
                                     description="combine the shards' summaries of OUT_DIR into its summary.json")
    parser.add_argument("out", type=Path, metavar="OUT_DIR")
    args = parser.parse_args(argv)
    try:
        merged, shards, missing = merge_summaries(args.out.resolve())
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    merged.write()
    entries = list(merged.entries.values())
    failed = sum(entry["status"] == "error" for entry in entries)
    for line in missing:
        print(f"warning: {line}", file=sys.stderr)
    print(f"merged {len(shards)} shard summaries ({', '.join(f'{i}/{n}' for i, n in shards)}) into "
          f"{merged.path}: {len(entries)} videos, {sum(e['status'] == 'ok' for e in entries)} done, "
          f"{failed} failed, {sum(e['status'] == 'skipped' for e in entries)} skipped")
    return 1 if missing or failed else 0


def main(argv: list[str] | None = None) -> int:
    argv = _command_line(argv)
    if argv[:1] == [MERGE_COMMAND]:
        return merge_main(argv[1:])
    args = parse_args(argv)
    out_dir = args.out.resolve()
    try:
        summary = Summary(out_dir / summary_name(args.shard))
        known = shard_known(out_dir, summary) if args.shard else summary.entries
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    # Every shard plans every video, in one order whatever the command line's (so all give a
    # video the same name), then does its own share.
    videos = sorted(args.videos, key=shard_key) if args.shard else args.videos
    jobs = plan_jobs(videos, out_dir, args.formats, not args.no_preview, known)
    if args.shard:
        jobs = shard_jobs(jobs, *args.shard)
    clashes = [path for job in jobs for path in job.existing()]
    if clashes and not (args.overwrite or args.skip_existing):
        more = f" and {len(clashes) - 3} more" if len(clashes) > 3 else ""
        print(f"error: {', '.join(p.name for p in clashes[:3])}{more} already in {out_dir}; "
              "add --overwrite to replace them, or --skip-existing to skip the videos whose "
              "files are all there", file=sys.stderr)
        return 2
    out_dir.mkdir(parents=True, exist_ok=True)
    settings = _settings(args)
    summary.latest_run = {"formats": list(args.formats), "rig": settings["rig"]}
    with OutputToLog(out_dir / log_name(args.shard)) as log:
        failed = done = skipped = 0
        for number, job in enumerate(jobs, 1):
            label = f"[{number}/{len(jobs)}] {job.video.name}"
            if args.skip_existing and len(job.existing()) == len(job.outputs):
                print(f"{label}: skipped, its files are already in {out_dir}", file=log.console, flush=True)
                if job.key not in summary.entries:
                    summary.record({"video": job.key, "name": job.name, "status": "skipped",
                                    "outputs": {k: str(p) for k, p in job.outputs.items()}})
                skipped += 1
                continue
            print(f"{label}: start", file=log.console, flush=True)
            entry = process_video(job, out_dir, args, settings, _Progress(label, log.console))
            summary.record(entry)
            summary.write()
            for warning in entry["warnings"]:
                print(f"{label}: warning: {warning}", file=log.console_errors, flush=True)
            if entry["status"] == "ok":
                done += 1
                print(f"{label}: done, {entry['frames']} frames, {sum(entry['timings'].values()):.1f} s",
                      file=log.console, flush=True)
            else:
                failed += 1
                print(f"{label}: FAILED: {entry['error']}", file=log.console_errors, flush=True)
        summary.write()
        skipped_text = f", {skipped} skipped" if skipped else ""
        shard_text = f"shard {args.shard[0]}/{args.shard[1]}: " if args.shard else ""
        print(f"{shard_text}{done}/{len(jobs)} videos done{skipped_text}; summary: {summary.path}; "
              f"log: {log.path}", file=log.console, flush=True)
    return 1 if failed else 0


def _settings(args: argparse.Namespace) -> dict:
    """What a video's result depends on besides the video, for the summary."""
    from repose_core.runtime import DEFAULT_LIFTER_PATH

    model = (args.model or DEFAULT_LIFTER_PATH).resolve()
    with open(model, "rb") as f:
        digest = hashlib.file_digest(f, "sha256").hexdigest()
    return {"model": {"path": str(model), "sha256": digest},
            "rig": None if args.rig is None else str(args.rig.resolve()),
            "bone_map": args.bone_map if args.rig is not None else None,
            "start": args.start, "end": args.end, "stride": args.stride, "person": args.person,
            "smoothing": args.smoothing, "root_motion": not args.no_root_motion,
            "foot_lock": not args.no_foot_lock, "focal_35mm": args.focal_35mm, "bvh_up": args.bvh_up,
            "hands": args.hands}


def process_video(job: Job, out_dir: Path, args: argparse.Namespace, settings: dict, progress) -> dict:
    """Import one video and write its files; never raises: errors go into the returned entry."""
    entry: dict = {"video": job.key, "name": job.name, "status": "ok", "frames": 0, "fps": None,
                   "detection_rate": None, "foot_skate_before_mm": None, "foot_skate_after_mm": None,
                   "timings": {}, "outputs": {}, "warnings": [], "error": None, "settings": settings}
    try:
        result = analyse(import_options(job.video, args), progress=progress)
        entry.update(_result_fields(result))
        entry["warnings"].extend(result.warnings)
        entry["outputs"] = _apply_and_save(result, job.name, out_dir, args, entry["timings"])
        if not args.no_preview:
            _write_preview(result, job.name, out_dir, entry)
    except Exception as error:  # noqa: BLE001 - one bad video must not stop the batch
        entry["status"] = "error"
        entry["error"] = f"{type(error).__name__}: {error}"
        if not isinstance(error, (ValueError, OSError)):  # unexpected: keep the trace for a bug report
            entry["traceback"] = traceback.format_exc()
    return entry


def _apply_and_save(result: MotionResult, name: str, out_dir: Path, args, timings: dict) -> dict:
    """The panel's apply step (``import_apply.apply_import``) in an empty file, onto ``--rig``
    when given, then the files."""
    import bpy

    from .import_apply import apply_import
    from .import_plan import ImportPlan

    bpy.ops.wm.read_factory_settings(use_empty=True)  # each output holds only this video's motion
    scene = bpy.context.scene
    plan, target = ImportPlan(armature_name=name), None
    if args.rig is not None:
        start = time.perf_counter()
        target, bone_map = _load_rig(args.rig, args.bone_map, scene)
        plan = ImportPlan(armature_name=name, target_name=target.name, bone_map=bone_map)
        timings["rig"] = round(time.perf_counter() - start, 3)
    outcome = apply_import(scene, result, plan)
    timings.update({step: round(seconds, 3) for step, seconds in outcome.timings.items()})
    start = time.perf_counter()
    written = export_files(target or outcome.armature, out_dir, name, args.formats, bvh_up=args.bvh_up)
    timings["save"] = round(time.perf_counter() - start, 3)
    return {fmt: str(path) for fmt, path in written.items()}


def _write_preview(result: MotionResult, name: str, out_dir: Path, entry: dict) -> None:
    """Write ``<name>_preview.png``; a failure only adds a warning to ``entry``."""
    start = time.perf_counter()
    try:
        from .preview import write_preview

        path = write_preview(result, output_path(out_dir, f"{name}_preview", "png"))
    except Exception as error:  # noqa: BLE001 - the motion files are written; the picture is extra
        entry["warnings"].append(f"preview not written: {type(error).__name__}: {error}")
    else:
        entry["outputs"]["preview"] = str(path)
    entry["timings"]["preview"] = round(time.perf_counter() - start, 3)


def _load_rig(rig_path: Path, bone_map_choice: str, scene):
    """Load the user's rig into ``scene``: its armature, and the bone map that fits it."""
    import bpy

    from .bonemap import resolve_bone_map

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
    return target, resolve_bone_map(bone_map_choice, target.data.bones.keys(), target.name)


def _result_fields(result: MotionResult) -> dict:
    def finite(value: float) -> float | None:
        return None if value is None or not math.isfinite(value) else round(float(value), 3)

    motion = result.motion
    return {"frames": result.num_frames, "fps": motion.fps, "detection_rate": round(result.detection_rate, 4),
            "foot_skate_before_mm": finite(motion.foot_skate_before),
            "foot_skate_after_mm": finite(motion.foot_skate_after),
            "timings": {stage: round(seconds, 3) for stage, seconds in result.timings.items()}}


class _Progress:
    """Prints ``label: stage done/total`` when a stage starts, every 10 %, and at least every 2 s."""

    def __init__(self, label: str, stream):
        self.label = label
        self.stream = stream
        self.shown: tuple[str, int] = ("", -1)
        self.time = 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        step = (stage, 10 * done // max(total, 1))
        if step != self.shown or now - self.time > 2.0:
            print(f"{self.label}: {stage} {done}/{total}", file=self.stream, flush=True)
            self.shown, self.time = step, now

if __name__ == "__main__":
    sys.exit(main())
