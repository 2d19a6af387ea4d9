"""Mocap libraries as H36M-17 world joints: ``(T, 17, 3)`` float32, metres, Y up.

One mocap file (BVH, or a DeepMimic motion: train.data.deepmimic) becomes one :class:`Clip`;
a folder of them a :class:`MotionLibrary`.

- Joints are mapped **by name** through a table per skeleton family (``tables/*.toml``,
  train.data.skeleton_table); the family is detected from the joint names. Pelvis, spine and
  thorax are synthesised by the rules of docs/joint_definitions.md, exactly as the MediaPipe
  side does, so training 2D resembles inference 2D. Adding a family: docs/adding_a_bvh_skeleton.md.
- Units are inferred from the figure's size (CMU units ~0.0564 m, cm, inches, mm, m) and the up
  and facing axes from the rest pose (ankles -> shoulders, right -> left shoulder), unless the
  table states them, so any exporter's files come out alike: metres, Y up, facing +Z at rest.
  BVH position channels are read as their exporter means them (train.data.bvh).
- Every clip is checked to be a plausible person (train.data.plausible): a wrong unit, axis or
  channel reading fails at load, naming the file and the check, not during training.
- The converters' lead-in frames (an added T-pose) are dropped; clips are resampled to a target
  frame rate (30 fps by default: mocap at 120 fps is 4x redundant for a lifter and 4x slower to
  prepare). Some files lie about their rate (CMU salsa is 60 fps, its header says 120):
  ``fps_overrides`` fixes them by file-name pattern.
- The subject (person) of a clip comes from a rule (the caller's ``subject_pattern``, else the
  table's) or is guessed from its file name, and libraries split **by subject** so that
  validation is on unseen people.

Recommended split for the shared CMU data (what the bundled trainer does): train on ``cmu/``
(MotionBuilder skeleton, subjects 01 02 03 05 06 07 08 09), validate on ``cmu_daz/`` (other
people AND another skeleton family), because the product's accuracy targets are stated for
unseen people with a different skeleton: see :func:`cmu_train_val`.
"""
from __future__ import annotations

import fnmatch
import hashlib
import json
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np

from repose_core.detect.atomic import atomic_output
from repose_core.skeleton import JOINT_INDEX, NUM_JOINTS

from . import deepmimic
from .bvh import forward_kinematics, read_bvh, with_position_meaning
from .errors import DataError
from .plausible import check_person
from .skeleton_table import (UNIT_CANDIDATES, SkeletonTable, builtin_tables, detect_table,
                             subject_by_pattern)

DEFAULT_FPS = 30.0
# Files whose header frame time is wrong (pattern on the file name -> real frames per second).
DEFAULT_FPS_OVERRIDES: dict[str, float] = {"salsa_*.bvh": 60.0}
# Rest-pose ankle-to-shoulder distance of a typical adult (about 0.72 of stature), used only to
# pick the most plausible unit of UNIT_CANDIDATES; they differ by factors >= 2.2, so it is robust.
_TYPICAL_ANKLE_TO_SHOULDER_M = 1.25
# 2: position channels read as their exporter means them (train.data.bvh); plausibility checks.
_CACHE_VERSION = 2
# Poses of a source skeleton: (source joint names) -> world positions (F, J, 3) and rotations
# (F, J, 3, 3) in the source's units and axes. A BVH file and a DeepMimic motion both give one.
PoseFunction = Callable[[list[str]], tuple[np.ndarray, np.ndarray]]


class SubjectWarning(UserWarning):
    """Every file of a library became its own subject: the person split may be false."""


@dataclass(frozen=True)
class Clip:
    """One take: H36M-17 world joints (T, 17, 3) float32, metres, Y up, at ``fps``."""

    name: str
    subject: str
    family: str
    fps: float
    joints: np.ndarray = field(repr=False)

    @property
    def num_frames(self) -> int:
        return self.joints.shape[0]


def subject_of(path: str | Path) -> str:
    """Person id from a file name: CMU ``SS_TT.bvh`` -> ``cmu_SS``; else the name without its
    trailing take number (``salsa_07`` -> ``salsa``). Over-merging people (a salsa couple) only
    makes the split stricter, never leaky."""
    stem = Path(path).stem
    m = re.fullmatch(r"(\d+)_\d+", stem)
    if m:
        return f"cmu_{int(m.group(1)):02d}"
    return re.sub(r"[_\-]?\d+$", "", stem) or stem


def clip_subject(path: Path, table: SkeletonTable, subject_pattern: str | None = None) -> tuple[str, bool]:
    """(person of a file, whether a rule said so): by ``subject_pattern`` (the caller's, e.g.
    ``--subject-pattern``), else the table's ``subject_pattern``, else guessed from the file
    name by :func:`subject_of` (False: the guess may make every file its own person)."""
    if subject_pattern is not None:
        return subject_by_pattern(path, subject_pattern, f"{table.family}_", "data.subject_pattern"), True
    by_table = table.subject(path)
    return (by_table, True) if by_table is not None else (subject_of(path), False)


def _axis(v: np.ndarray) -> np.ndarray:
    """The signed coordinate axis closest to ``v``."""
    out = np.zeros(3)
    k = int(np.argmax(np.abs(v)))
    out[k] = np.sign(v[k])
    return out


@dataclass(frozen=True)
class SourceFrame:
    """How a source's numbers become metres in the person frame (x = the person's left, y = up,
    z = forward). Each axis is snapped to the nearest file axis: exact permutations, no tilt."""

    scale: float              # metres per file unit
    rest: np.ndarray          # (3, 3) rows: the rest pose's left, up, forward in file axes
    world: np.ndarray         # (3, 3) rows: the take's left, up, forward in file axes


def source_frame(rest: np.ndarray, table: SkeletonTable, source: Path) -> SourceFrame:
    """The :class:`SourceFrame` of a source from its rest pose ``rest`` = positions (4, 3) of
    the table's l_ankle, r_ankle, l_shoulder, r_shoulder source joints.

    The rest frame (ankles -> shoulders is up, right -> left shoulder is left) is what table
    offsets are given in. The world frame is the same unless the table states ``up`` or
    ``forward``: a rest pose that is no standing figure (lying, bent) says nothing about the
    take's up axis. ``units`` likewise replaces the size guess.
    """
    body = rest[2:].mean(0) - rest[:2].mean(0)          # ankles -> shoulders
    size = float(np.linalg.norm(body))
    if size <= 0:
        raise DataError(f"{source}: ankles and shoulders coincide in the rest pose")
    rest_frame = _axes_frame(_axis(body), rest[2] - rest[3], None, table, source)
    if table.up is None and table.forward is None:
        world = rest_frame
    else:
        up = table.up if table.up is not None else rest_frame[1]
        world = _axes_frame(up, rest[2] - rest[3], table.forward, table, source)
    scale = table.units if table.units is not None else min(
        UNIT_CANDIDATES.values(), key=lambda u: abs(np.log(size * u / _TYPICAL_ANKLE_TO_SHOULDER_M)))
    return SourceFrame(scale, rest_frame, world)


def _axes_frame(up: np.ndarray, shoulders: np.ndarray, forward: np.ndarray | None,
                table: SkeletonTable, source: Path) -> np.ndarray:
    """Rows left, up, forward: left = up x forward when forward is given, else the shoulder
    line (right -> left) snapped to an axis across ``up``."""
    if forward is not None:
        left = np.cross(up, forward)
    else:
        left = shoulders - (shoulders @ up) * up
        if np.linalg.norm(left) <= 0:
            raise DataError(f"{source}: the shoulders are not side by side in the rest pose; "
                             f"state up and forward in the table ({table.path})")
        left = _axis(left)
    return np.stack([left, up, np.cross(left, up)])


def _rest_landmarks(pose: PoseFunction, table: SkeletonTable) -> np.ndarray:
    names = [table.source_joint(n) for n in ("l_ankle", "r_ankle", "l_shoulder", "r_shoulder")]
    return pose(names)[0][0]


def table_to_h36m(pose: PoseFunction, table: SkeletonTable, frame: SourceFrame) -> np.ndarray:
    """H36M-17 world joints (F, 17, 3) float64, metres, Y up, from a source's poses."""
    direct = list(table.joints.items())
    offsets = list(table.offsets.items())
    names = [b for _, b in direct] + [o.joint for _, o in offsets] + [o.frame for _, o in offsets]
    pos, rot = pose(names)
    out = np.zeros((pos.shape[0], NUM_JOINTS, 3))
    for k, (h36m, _) in enumerate(direct):
        out[:, JOINT_INDEX[h36m]] = pos[:, k]
    for k, (h36m, off) in enumerate(offsets):
        # Table offsets are metres in the person frame at rest; joints' rest frames are the
        # file's axes, so turn the offset into file axes and units first.
        a, f = len(direct) + k, len(direct) + len(offsets) + k
        out[:, JOINT_INDEX[h36m]] = pos[:, a] + rot[:, f] @ (frame.rest.T @ off.offset_m / frame.scale)
    J = JOINT_INDEX
    out[:, J["pelvis"]] = 0.5 * (out[:, J["l_hip"]] + out[:, J["r_hip"]])
    out[:, J["thorax"]] = 0.5 * (out[:, J["l_shoulder"]] + out[:, J["r_shoulder"]])
    out[:, J["spine"]] = out[:, J["pelvis"]] + 0.5 * (out[:, J["thorax"]] - out[:, J["pelvis"]])
    return (out * frame.scale) @ frame.world.T


def source_fps(path: Path, header_fps: float, fps_overrides: Mapping[str, float]) -> float:
    for pattern, fps in fps_overrides.items():
        if fnmatch.fnmatch(path.name, pattern):
            return float(fps)
    return header_fps


def resample_indices(num_frames: int, src_fps: float, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """Source frame pairs and blend weights for frames at ``fps``: frame k of the output is
    ``(1 - w[k]) * src[i[k]] + w[k] * src[i[k] + 1]`` (i clipped at the end)."""
    count = int(np.floor((num_frames - 1) * fps / src_fps + 1e-9)) + 1
    t = np.arange(count) * (src_fps / fps)
    i = np.minimum(np.floor(t + 1e-9).astype(np.int64), num_frames - 1)
    w = np.where(i < num_frames - 1, t - i, 0.0)
    return i, np.clip(w, 0.0, 1.0)


def resample(joints: np.ndarray, src_fps: float, fps: float) -> np.ndarray:
    """Linear-interpolate (T, ...) frames from ``src_fps`` to ``fps``."""
    i, w = resample_indices(joints.shape[0], src_fps, fps)
    nxt = np.minimum(i + 1, joints.shape[0] - 1)
    w = w.reshape((-1,) + (1,) * (joints.ndim - 1))
    return (1 - w) * joints[i] + w * joints[nxt]


def _bvh_joints(path: Path, fps: float, tables: Sequence[SkeletonTable] | None,
                fps_overrides: Mapping[str, float]) -> tuple[np.ndarray, SkeletonTable]:
    """A BVH file's H36M-17 joints at ``fps`` (lead-in dropped), and its table."""
    bvh = read_bvh(path)
    table = detect_table(bvh.skeleton.names, path, tables)
    bvh = with_position_meaning(bvh, table.position_channels)
    src_fps = source_fps(path, bvh.fps, fps_overrides)
    first = table.lead_in_frames
    if bvh.num_frames - first < 2:
        raise DataError(f"{path}: only {bvh.num_frames} frames, {first} of them lead-in")
    i, w = resample_indices(bvh.num_frames - first, src_fps, fps)
    nxt = np.minimum(i + 1, bvh.num_frames - first - 1)
    # Forward kinematics only on the source frames the resampling touches.
    needed, inverse = np.unique(np.concatenate([i, nxt]), return_inverse=True)
    frame = source_frame(
        _rest_landmarks(lambda names: forward_kinematics(bvh, names, rest_pose=True), table), table, path)
    world = table_to_h36m(lambda names: forward_kinematics(bvh, names, frames=needed + first), table, frame)
    a, b = world[inverse[: len(i)]], world[inverse[len(i):]]
    return (1 - w)[:, None, None] * a + w[:, None, None] * b, table


def _deepmimic_joints(path: Path, fps: float, tables: Sequence[SkeletonTable] | None
                      ) -> tuple[np.ndarray, SkeletonTable]:
    """A DeepMimic motion's H36M-17 joints at ``fps``, and its table. Its frames are posed at
    the output times directly (rotations interpolated, train.data.deepmimic): its durations
    may differ from row to row, and its acrobatics at 16 fps would shorten bones if joint
    positions were blended instead."""
    motion = deepmimic.read_motion(path)
    table = detect_table(motion.character.names, path, tables)
    first = table.lead_in_frames
    if motion.num_frames - first < 2:
        raise DataError(f"{path}: only {motion.num_frames} frames, {first} of them lead-in")
    start, end = motion.times[first], motion.times[-1]
    times = start + np.arange(int(np.floor((end - start) * fps + 1e-9)) + 1) / fps
    frame = source_frame(
        _rest_landmarks(lambda names: deepmimic.forward_kinematics(motion, names, rest_pose=True), table),
        table, path)
    world = table_to_h36m(lambda names: deepmimic.forward_kinematics(motion, names, times), table, frame)
    return world, table


def load_clip(
    path: str | Path,
    fps: float = DEFAULT_FPS,
    tables: Sequence[SkeletonTable] | None = None,
    fps_overrides: Mapping[str, float] | None = None,
    subject_pattern: str | None = None,
) -> Clip:
    """One mocap file (BVH, or a DeepMimic motion) as a :class:`Clip` at ``fps`` (lead-in
    dropped, metres, Y up), checked to be a plausible person (:func:`check_person`)."""
    path = Path(path)
    if path.suffix.lower() == ".bvh":
        overrides = DEFAULT_FPS_OVERRIDES if fps_overrides is None else fps_overrides
        joints, table = _bvh_joints(path, fps, tables, overrides)
    else:
        joints, table = _deepmimic_joints(path, fps, tables)
    check_person(joints, str(path), f"A skeleton table states units, up and forward axes and "
                                    f"position_channels: {table.path}")
    subject, _ = clip_subject(path, table, subject_pattern)
    return Clip(path.stem, subject, table.family, float(fps), joints.astype(np.float32))


@dataclass
class MotionLibrary:
    """A set of clips, with a split by subject."""

    clips: list[Clip]

    @property
    def subjects(self) -> list[str]:
        return sorted({c.subject for c in self.clips})

    @property
    def num_frames(self) -> int:
        return sum(c.num_frames for c in self.clips)

    def __len__(self) -> int:
        return len(self.clips)

    def select_subjects(self, subjects: Iterable[str]) -> "MotionLibrary":
        wanted = set(subjects)
        unknown = wanted - set(self.subjects)
        if unknown:
            raise ValueError(f"unknown subjects {sorted(unknown)}; library has {self.subjects}")
        return MotionLibrary([c for c in self.clips if c.subject in wanted])

    def split_by_subject(self, val_subjects: Iterable[str]) -> tuple["MotionLibrary", "MotionLibrary"]:
        """(train, validation): validation holds every clip of ``val_subjects``, train the rest."""
        val = self.select_subjects(val_subjects)
        names = set(val.subjects)
        return MotionLibrary([c for c in self.clips if c.subject not in names]), val


def find_mocap_files(sources: str | Path | Sequence[str | Path]) -> list[Path]:
    """Mocap files under folders (recursively: BVH files and DeepMimic motions) or given
    directly, sorted, no duplicates."""
    if isinstance(sources, (str, Path)):
        sources = [sources]
    files: set[Path] = set()
    for src in sources:
        src = Path(src)
        if src.is_dir():
            files.update(p.resolve() for p in src.rglob("*") if p.is_file() and _is_mocap_file(p))
        elif src.is_file() and _is_mocap_file(src):
            files.add(src.resolve())
        else:
            raise FileNotFoundError(f"mocap source {src} is neither a folder nor a mocap file "
                                    f"(.bvh, a DeepMimic motion, a prepared .npz)")
    if not files:
        raise FileNotFoundError(f"no mocap files (.bvh, DeepMimic motions) in {[str(s) for s in sources]}")
    return sorted(files)


def _is_mocap_file(path: Path) -> bool:
    return path.suffix.lower() == ".bvh" or deepmimic.is_motion_file(path)


def _cache_key(files: list[Path], fps: float, tables: Sequence[SkeletonTable],
               overrides: Mapping[str, float], subject_pattern: str | None) -> str:
    desc = {
        "version": _CACHE_VERSION,
        "files": [(str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files],
        "fps": fps,
        "tables": [t.text for t in tables],
        "overrides": sorted(overrides.items()),
    }
    if subject_pattern is not None:
        desc["subject_pattern"] = subject_pattern
    return hashlib.sha1(json.dumps(desc).encode()).hexdigest()[:16]


def save_library(path: str | Path, library: MotionLibrary) -> Path:
    """Write ``library`` as one ``.npz`` (the cache's format; ``load_library`` takes it as a source)."""
    path = Path(path)
    # A temporary file of its own: a killed run never leaves a half-written cache, and two runs
    # building the same cache at once do not trip over each other's.
    with atomic_output(path) as tmp:
        np.savez(
            tmp,
            joints=np.concatenate([c.joints for c in library.clips]),
            lengths=np.array([c.num_frames for c in library.clips]),
            names=np.array([c.name for c in library.clips]),
            subjects=np.array([c.subject for c in library.clips]),
            families=np.array([c.family for c in library.clips]),
            fps=np.array([c.fps for c in library.clips]),
        )
    return path


def load_prepared_library(path: str | Path) -> MotionLibrary:
    """A library written by ``save_library``, each clip checked to be a plausible person."""
    keys = ("joints", "lengths", "names", "subjects", "families", "fps")
    try:
        with np.load(path) as z:
            missing = [k for k in keys if k not in z.files]
            if missing:
                raise DataError(f"{path}: not a prepared mocap library (no {missing}); write one with "
                                f"python -m train prepare")
            joints, lengths = z["joints"], z["lengths"]
            columns = [z[k] for k in keys[2:]]
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(f"{path}: not a readable .npz file ({exc})") from None
    bounds = np.cumsum(np.concatenate([[0], lengths]))
    if joints.ndim != 3 or joints.shape[1:] != (NUM_JOINTS, 3) or bounds[-1] != len(joints) \
            or any(len(c) != len(lengths) for c in columns):
        raise DataError(f"{path}: joints of shape {joints.shape} and {len(lengths)} clips of "
                        f"{int(bounds[-1])} frames in all do not fit together; prepare it again")
    clips = [Clip(str(n), str(s), str(f), float(r), joints[a:b])
             for n, s, f, r, a, b in zip(*columns, bounds[:-1], bounds[1:])]
    for clip in clips:
        check_person(clip.joints, f"{path} (clip {clip.name})", "Prepare it again: python -m train prepare")
    return MotionLibrary(clips)


def load_library(
    sources: str | Path | Sequence[str | Path],
    fps: float = DEFAULT_FPS,
    tables: Sequence[SkeletonTable] | None = None,
    fps_overrides: Mapping[str, float] | None = None,
    cache_dir: str | Path | None = None,
    subject_pattern: str | None = None,
) -> MotionLibrary:
    """Every mocap file under ``sources`` (BVH, DeepMimic motions) as clips at ``fps``.

    ``subject_pattern`` (a regular expression whose group 1 is the person, searched in each
    file's path) overrides the tables' rule for finding the person of a file. When no rule
    says it and every file becomes its own subject, a :class:`SubjectWarning` says so.

    With ``cache_dir``, the prepared library is stored as one ``.npz`` keyed by the file list
    (paths, sizes, mtimes), the frame rate, the tables, the overrides and the subject pattern,
    so a second call with the same inputs loads in well under a second instead of parsing
    every file again.

    A source may also be such an ``.npz`` (``python -m train prepare``), for machines that have
    the prepared library but not the mocap files; its clips follow the others, in the order saved.
    """
    if isinstance(sources, (str, Path)):
        sources = [sources]
    prepared = [Path(s) for s in sources if Path(s).suffix.lower() == ".npz"]
    file_sources = [s for s in sources if Path(s).suffix.lower() != ".npz"]
    clips = list(_load_files(file_sources, fps, tables, fps_overrides, cache_dir, subject_pattern).clips) \
        if file_sources else []
    for path in prepared:
        library = load_prepared_library(path)
        rates = {c.fps for c in library.clips}
        if rates != {fps}:
            raise DataError(f"{path} was prepared at {sorted(rates)} fps, not the {fps} fps asked for")
        clips.extend(library.clips)
    return MotionLibrary(clips)


def _load_files(sources: Sequence[str | Path], fps: float,
                tables: Sequence[SkeletonTable] | None,
                fps_overrides: Mapping[str, float] | None,
                cache_dir: str | Path | None,
                subject_pattern: str | None) -> MotionLibrary:
    files = find_mocap_files(sources)
    tables = builtin_tables() if tables is None else tuple(tables)
    overrides = DEFAULT_FPS_OVERRIDES if fps_overrides is None else dict(fps_overrides)
    cache = None
    if cache_dir is not None:
        key = _cache_key(files, fps, tables, overrides, subject_pattern)
        cache = Path(cache_dir) / f"mocap-{key}.npz"
    library = load_prepared_library(cache) if cache is not None and cache.is_file() else \
        MotionLibrary([load_clip(f, fps, tables, overrides, subject_pattern) for f in files])
    if cache is not None and not cache.is_file():
        save_library(cache, library)
    _warn_if_every_file_is_a_subject(library, files, tables, subject_pattern)
    return library


def _warn_if_every_file_is_a_subject(library: MotionLibrary, files: list[Path],
                                     tables: Sequence[SkeletonTable], subject_pattern: str | None) -> None:
    """Warn when the file-name guess (no rule from a table or the caller) made each of several
    files its own person: a library that does not name its people in file names would then
    split one person between training and validation."""
    by_family = {t.family: t for t in tables}
    guessed = [(f, c) for f, c in zip(files, library.clips)
               if subject_pattern is None and by_family[c.family].subject_pattern is None]
    if len(guessed) > 1 and len({c.subject for _, c in guessed}) == len(guessed):
        families = sorted({c.family for _, c in guessed})
        warnings.warn(
            f"every one of {len(guessed)} files ({guessed[0][0].parent}, ...; families "
            f"{', '.join(families)}) is its own subject, guessed from file names: if one person "
            f"made several, training and validation may share a person. Say how to find the "
            f"person: subject_pattern in the table ({', '.join(str(by_family[f].path) for f in families)}), "
            f"data.subject_pattern, or prepare --subject-pattern (docs/adding_a_bvh_skeleton.md)",
            SubjectWarning, stacklevel=4)


def cmu_train_val(
    mocap_root: str | Path,
    fps: float = DEFAULT_FPS,
    cache_dir: str | Path | None = None,
) -> tuple[MotionLibrary, MotionLibrary]:
    """The recommended split of the shared CMU data: train on ``cmu/`` (MotionBuilder skeleton),
    validate on ``cmu_daz/`` (unseen people, Daz skeleton). The two share no subject."""
    root = Path(mocap_root)
    train = load_library(root / "cmu", fps=fps, cache_dir=cache_dir)
    val = load_library(root / "cmu_daz", fps=fps, cache_dir=cache_dir)
    shared = set(train.subjects) & set(val.subjects)
    if shared:
        raise ValueError(f"{root}: subjects {sorted(shared)} are in both cmu/ and cmu_daz/")
    return train, val
