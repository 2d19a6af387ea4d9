"""BVH mocap libraries as H36M-17 world joints: ``(T, 17, 3)`` float32, metres, Y up.

One BVH file becomes one :class:`Clip`; a folder of them a :class:`MotionLibrary`.

- Joints are mapped **by name** through a table per skeleton family (``tables/*.toml``); the
  family is detected from the joint names. Pelvis, spine and thorax are synthesised by the rules
  of docs/joint_definitions.md, exactly as the MediaPipe side does, so training 2D resembles
  inference 2D. Adding a family: docs/adding_a_bvh_skeleton.md.
- Units are inferred from the figure's size (CMU units ~0.0564 m, cm, inches, mm, m) and the up
  and facing axes from the rest pose (ankles -> shoulders, right -> left shoulder), so any
  exporter's files come out alike: metres, Y up, facing +Z at rest.
- The converters' lead-in frames (an added T-pose) are dropped; clips are resampled to a target
  frame rate (30 fps by default: mocap at 120 fps is 4x redundant for a lifter and 4x slower to
  prepare). Some files lie about their rate (CMU salsa is 60 fps, its header says 120):
  ``fps_overrides`` fixes them by file-name pattern.
- The subject (person) of a clip comes from its file name, and libraries split **by subject** so
  that validation is on unseen people.

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
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

from repose_core.skeleton import JOINT_INDEX, JOINTS, NUM_JOINTS

from .bvh import BvhFile, forward_kinematics, read_bvh

TABLES_DIR = Path(__file__).resolve().parent / "tables"
DEFAULT_FPS = 30.0
# Files whose header frame time is wrong (pattern on the file name -> real frames per second).
DEFAULT_FPS_OVERRIDES: dict[str, float] = {"salsa_*.bvh": 60.0}
# Candidate units of BVH files (metres per file unit). "cmu" is the CMU MotionBuilder
# conversion's unit: 1/0.45 inch.
UNIT_CANDIDATES: dict[str, float] = {
    "mm": 0.001, "cm": 0.01, "inch": 0.0254, "cmu": 0.0254 / 0.45, "m": 1.0,
}
# Rest-pose ankle-to-shoulder distance of a typical adult (about 0.72 of stature), used only to
# pick the most plausible unit above; candidates differ by factors >= 2.2, so it is robust.
_TYPICAL_ANKLE_TO_SHOULDER_M = 1.25
_SYNTHESISED = ("pelvis", "spine", "thorax")
_CACHE_VERSION = 1


@dataclass(frozen=True)
class Offset:
    """A point at BVH ``joint`` plus ``offset_m`` (metres, in the person frame at rest: x = the
    person's left, y = up, z = forward) that turns with ``frame`` (a joint; default ``joint``)."""

    joint: str
    frame: str
    offset_m: np.ndarray


@dataclass(frozen=True)
class SkeletonTable:
    """How one skeleton family's BVH joints give the H36M-17 joints."""

    family: str
    root: str
    lead_in_frames: int
    joints: dict[str, str]                       # H36M name -> BVH joint name
    # H36M name -> Offset, for points no BVH joint marks (the nose, the crown) or that a
    # family places differently from the MediaPipe landmarks (see the tables' comments).
    offsets: dict[str, "Offset"]
    path: Path
    text: str                                    # raw file, part of the cache key

    def source_joint(self, name: str) -> str:
        """The BVH joint an H36M joint is read from (for offset points, their anchor)."""
        return self.joints[name] if name in self.joints else self.offsets[name].joint

    def bvh_names(self) -> set[str]:
        anchors = {o.joint for o in self.offsets.values()} | {o.frame for o in self.offsets.values()}
        return set(self.joints.values()) | anchors | {self.root}


def load_table(path: str | Path) -> SkeletonTable:
    """Read and validate one skeleton table (TOML)."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    try:
        raw = tomllib.loads(text)
        joints = dict(raw.get("joints", {}))
        offsets = {
            name: Offset(str(spec["joint"]), str(spec.get("frame", spec["joint"])),
                         np.asarray(spec["offset_m"], dtype=np.float64))
            for name, spec in raw.get("offsets", {}).items()
        }
        table = SkeletonTable(str(raw["family"]), str(raw["root"]), int(raw.get("lead_in_frames", 0)),
                              joints, offsets, path, text)
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path}: not a valid skeleton table: {exc}") from None
    mapped = set(joints) | set(offsets)
    expected = set(JOINTS) - set(_SYNTHESISED)
    if mapped != expected:
        raise ValueError(
            f"{path}: the table must map exactly {sorted(expected)} (pelvis/spine/thorax are "
            f"synthesised); missing {sorted(expected - mapped)}, unexpected {sorted(mapped - expected)}"
        )
    for name, off in offsets.items():
        if off.offset_m.shape != (3,):
            raise ValueError(f"{path}: offsets.{name}.offset_m must be 3 numbers")
    return table


@lru_cache(maxsize=None)
def builtin_tables() -> tuple[SkeletonTable, ...]:
    """The tables shipped in ``train/data/tables``."""
    return tuple(load_table(p) for p in sorted(TABLES_DIR.glob("*.toml")))


def detect_table(bvh: BvhFile, tables: Sequence[SkeletonTable] | None = None) -> SkeletonTable:
    """The one table whose joint names (and root) all occur in ``bvh``."""
    tables = builtin_tables() if tables is None else tables
    names = set(bvh.skeleton.names)
    fits = [t for t in tables if t.bvh_names() <= names and bvh.skeleton.names[0] == t.root]
    if len(fits) != 1:
        known = ", ".join(t.family for t in tables)
        what = "no" if not fits else "several (" + ", ".join(t.family for t in fits) + ")"
        raise ValueError(
            f"{bvh.path}: {what} skeleton table fits its joints (root {bvh.skeleton.names[0]!r}; "
            f"tables: {known}). Write a table: docs/adding_a_bvh_skeleton.md"
        )
    return fits[0]


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


def _axis(v: np.ndarray) -> np.ndarray:
    """The signed coordinate axis closest to ``v``."""
    out = np.zeros(3)
    k = int(np.argmax(np.abs(v)))
    out[k] = np.sign(v[k])
    return out


def detect_units_and_frame(bvh: BvhFile, table: SkeletonTable) -> tuple[float, np.ndarray]:
    """(metres per file unit, rotation from the file's axes to the person frame) from the rest
    pose. The person frame is x = the person's left, y = up, z = forward (where they face at
    rest); each is snapped to the nearest file axis, so the result is an exact axis permutation
    (a Z-up file becomes Y-up and nothing tilts)."""
    names = [table.source_joint(n) for n in ("l_ankle", "r_ankle", "l_shoulder", "r_shoulder")]
    rest, _ = forward_kinematics(bvh, names, rest_pose=True)
    rest = rest[0]
    body = rest[2:].mean(0) - rest[:2].mean(0)          # ankles -> shoulders
    size = float(np.linalg.norm(body))
    if size <= 0:
        raise ValueError(f"{bvh.path}: ankles and shoulders coincide in the rest pose")
    up = _axis(body)
    left = rest[2] - rest[3]
    left = left - (left @ up) * up
    if np.linalg.norm(left) <= 0:
        raise ValueError(f"{bvh.path}: the shoulders are not side by side in the rest pose")
    left = _axis(left)
    forward = np.cross(left, up)
    scale = min(UNIT_CANDIDATES.values(),
                key=lambda u: abs(np.log(size * u / _TYPICAL_ANKLE_TO_SHOULDER_M)))
    return scale, np.stack([left, up, forward])


def bvh_to_h36m(bvh: BvhFile, table: SkeletonTable, frames: np.ndarray | None = None) -> np.ndarray:
    """H36M-17 world joints (F, 17, 3) float64, metres, Y up, for ``frames`` (default: all)."""
    scale, to_person = detect_units_and_frame(bvh, table)
    direct = list(table.joints.items())
    offsets = list(table.offsets.items())
    names = [b for _, b in direct] + [o.joint for _, o in offsets] + [o.frame for _, o in offsets]
    pos, rot = forward_kinematics(bvh, names, frames=frames)
    out = np.zeros((pos.shape[0], NUM_JOINTS, 3))
    for k, (h36m, _) in enumerate(direct):
        out[:, JOINT_INDEX[h36m]] = pos[:, k]
    for k, (h36m, off) in enumerate(offsets):
        # Table offsets are metres in the person frame at rest; joints' rest frames are the
        # file's axes, so turn the offset into file axes and units first.
        a, f = len(direct) + k, len(direct) + len(offsets) + k
        out[:, JOINT_INDEX[h36m]] = pos[:, a] + rot[:, f] @ (to_person.T @ off.offset_m / scale)
    J = JOINT_INDEX
    out[:, J["pelvis"]] = 0.5 * (out[:, J["l_hip"]] + out[:, J["r_hip"]])
    out[:, J["thorax"]] = 0.5 * (out[:, J["l_shoulder"]] + out[:, J["r_shoulder"]])
    out[:, J["spine"]] = out[:, J["pelvis"]] + 0.5 * (out[:, J["thorax"]] - out[:, J["pelvis"]])
    return (out * scale) @ to_person.T


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


def load_clip(
    path: str | Path,
    fps: float = DEFAULT_FPS,
    tables: Sequence[SkeletonTable] | None = None,
    fps_overrides: Mapping[str, float] | None = None,
) -> Clip:
    """One BVH file as a :class:`Clip` at ``fps`` (lead-in dropped, metres, Y up)."""
    path = Path(path)
    bvh = read_bvh(path)
    table = detect_table(bvh, tables)
    overrides = DEFAULT_FPS_OVERRIDES if fps_overrides is None else fps_overrides
    src_fps = source_fps(path, bvh.fps, overrides)
    first = table.lead_in_frames
    if bvh.num_frames - first < 2:
        raise ValueError(f"{path}: only {bvh.num_frames} frames, {first} of them lead-in")
    i, w = resample_indices(bvh.num_frames - first, src_fps, fps)
    nxt = np.minimum(i + 1, bvh.num_frames - first - 1)
    # Forward kinematics only on the source frames the resampling touches.
    needed, inverse = np.unique(np.concatenate([i, nxt]), return_inverse=True)
    world = bvh_to_h36m(bvh, table, frames=needed + first)
    a, b = world[inverse[: len(i)]], world[inverse[len(i):]]
    joints = (1 - w)[:, None, None] * a + w[:, None, None] * b
    return Clip(path.stem, subject_of(path), table.family, float(fps), joints.astype(np.float32))


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


def find_bvh_files(sources: str | Path | Sequence[str | Path]) -> list[Path]:
    """BVH files under folders (recursively) or given directly, sorted, no duplicates."""
    if isinstance(sources, (str, Path)):
        sources = [sources]
    files: set[Path] = set()
    for src in sources:
        src = Path(src)
        if src.is_dir():
            files.update(p.resolve() for p in src.rglob("*.bvh"))
        elif src.is_file() and src.suffix.lower() == ".bvh":
            files.add(src.resolve())
        else:
            raise FileNotFoundError(f"mocap source {src} is neither a folder nor a .bvh file")
    if not files:
        raise FileNotFoundError(f"no .bvh files in {[str(s) for s in sources]}")
    return sorted(files)


def _cache_key(files: list[Path], fps: float, tables: Sequence[SkeletonTable],
               overrides: Mapping[str, float]) -> str:
    desc = {
        "version": _CACHE_VERSION,
        "files": [(str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files],
        "fps": fps,
        "tables": [t.text for t in tables],
        "overrides": sorted(overrides.items()),
    }
    return hashlib.sha1(json.dumps(desc).encode()).hexdigest()[:16]


def save_library(path: str | Path, library: MotionLibrary) -> Path:
    """Write ``library`` as one ``.npz`` (the cache's format; ``load_library`` takes it as a source)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(
        tmp,
        joints=np.concatenate([c.joints for c in library.clips]),
        lengths=np.array([c.num_frames for c in library.clips]),
        names=np.array([c.name for c in library.clips]),
        subjects=np.array([c.subject for c in library.clips]),
        families=np.array([c.family for c in library.clips]),
        fps=np.array([c.fps for c in library.clips]),
    )
    tmp.replace(path)  # atomic: a killed run never leaves a half-written cache
    return path


def load_prepared_library(path: str | Path) -> MotionLibrary:
    """A library written by ``save_library``."""
    with np.load(path) as z:
        bounds = np.cumsum(np.concatenate([[0], z["lengths"]]))
        joints = z["joints"]
        return MotionLibrary([
            Clip(str(n), str(s), str(f), float(r), joints[a:b])
            for n, s, f, r, a, b in zip(z["names"], z["subjects"], z["families"], z["fps"],
                                        bounds[:-1], bounds[1:])
        ])


def load_library(
    sources: str | Path | Sequence[str | Path],
    fps: float = DEFAULT_FPS,
    tables: Sequence[SkeletonTable] | None = None,
    fps_overrides: Mapping[str, float] | None = None,
    cache_dir: str | Path | None = None,
) -> MotionLibrary:
    """Every BVH under ``sources`` as clips at ``fps``.

    With ``cache_dir``, the prepared library is stored as one ``.npz`` keyed by the file list
    (paths, sizes, mtimes), the frame rate, the tables and the overrides, so a second call with
    the same inputs loads in well under a second instead of parsing every file again.

    A source may also be such an ``.npz`` (``python -m train prepare``), for machines that have
    the prepared library but not the BVH files; its clips follow the BVH ones, in the order saved.
    """
    if isinstance(sources, (str, Path)):
        sources = [sources]
    prepared = [Path(s) for s in sources if Path(s).suffix.lower() == ".npz"]
    bvh_sources = [s for s in sources if Path(s).suffix.lower() != ".npz"]
    clips = list(_load_bvh_library(bvh_sources, fps, tables, fps_overrides, cache_dir).clips) \
        if bvh_sources else []
    for path in prepared:
        library = load_prepared_library(path)
        rates = {c.fps for c in library.clips}
        if rates != {fps}:
            raise ValueError(f"{path} was prepared at {sorted(rates)} fps, not the {fps} fps asked for")
        clips.extend(library.clips)
    return MotionLibrary(clips)


def _load_bvh_library(sources: Sequence[str | Path], fps: float,
                      tables: Sequence[SkeletonTable] | None,
                      fps_overrides: Mapping[str, float] | None,
                      cache_dir: str | Path | None) -> MotionLibrary:
    files = find_bvh_files(sources)
    tables = builtin_tables() if tables is None else tuple(tables)
    overrides = DEFAULT_FPS_OVERRIDES if fps_overrides is None else dict(fps_overrides)
    cache = None
    if cache_dir is not None:
        cache = Path(cache_dir) / f"mocap-{_cache_key(files, fps, tables, overrides)}.npz"
        if cache.is_file():
            return load_prepared_library(cache)
    library = MotionLibrary([load_clip(f, fps, tables, overrides) for f in files])
    if cache is not None:
        save_library(cache, library)
    return library


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
