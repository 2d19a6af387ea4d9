"""Skeleton tables: which joint of a mocap family is which H36M-17 joint (``tables/*.toml``).

A table names joints and may state what the files cannot show reliably: their units, their up
and forward axes, what their position channels mean, and how to find the person of a file.
Every key is checked, so a typo is an error naming the table rather than a setting silently
ignored. The format is documented in docs/adding_a_bvh_skeleton.md.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from repose_core.skeleton import JOINTS

from .errors import DataError

TABLES_DIR = Path(__file__).resolve().parent / "tables"
# Units of mocap files (metres per file unit), by the names a table may use. "cmu" is the CMU
# MotionBuilder conversion's unit: 1/0.45 inch.
UNIT_CANDIDATES: dict[str, float] = {
    "mm": 0.001, "cm": 0.01, "inch": 0.0254, "cmu": 0.0254 / 0.45, "m": 1.0,
}
# What a BVH joint's position channels hold: "auto" (detected per joint, train.data.bvh),
# "offset" (added to OFFSET, the format's original meaning) or "translation" (the joint's
# whole local translation, OFFSET being only the rest pose, as Blender-style exporters write).
POSITION_CHANNEL_MEANINGS = ("auto", "offset", "translation")
SYNTHESISED = ("pelvis", "spine", "thorax")
_TOP_KEYS = {"family", "root", "lead_in_frames", "units", "up", "forward", "position_channels",
             "subject_pattern", "joints", "offsets"}
_OFFSET_KEYS = {"joint", "frame", "offset_m"}
_AXIS = re.compile(r"([+-])([XYZ])")


@dataclass(frozen=True)
class Offset:
    """A point at ``joint`` plus ``offset_m`` (metres, in the person frame at rest: x = the
    person's left, y = up, z = forward) that turns with ``frame`` (a joint; default ``joint``)."""

    joint: str
    frame: str
    offset_m: np.ndarray


@dataclass(frozen=True)
class SkeletonTable:
    """How one skeleton family's joints give the H36M-17 joints."""

    family: str
    root: str
    lead_in_frames: int
    joints: dict[str, str]                       # H36M name -> source joint name
    # H36M name -> Offset, for points no source joint marks (the nose, the crown) or that a
    # family places differently from the MediaPipe landmarks (see the tables' comments).
    offsets: dict[str, Offset]
    path: Path
    text: str                                    # raw file, part of the cache key
    units: float | None = None                   # metres per file unit; None: detected
    up: np.ndarray | None = None                 # file axis pointing up; None: detected
    forward: np.ndarray | None = None            # file axis the figure faces at rest; None: detected
    position_channels: str = "auto"              # see POSITION_CHANNEL_MEANINGS
    subject_pattern: str | None = None           # regex on the file's path, group 1 = the person

    def source_joint(self, name: str) -> str:
        """The source joint an H36M joint is read from (for offset points, their anchor)."""
        return self.joints[name] if name in self.joints else self.offsets[name].joint

    def source_names(self) -> set[str]:
        """Every source joint the table names, root included."""
        anchors = {o.joint for o in self.offsets.values()} | {o.frame for o in self.offsets.values()}
        return set(self.joints.values()) | anchors | {self.root}

    def missing_joints(self, names: Sequence[str]) -> list[str]:
        """The joints this table names that ``names`` (a file's joints, root first) lacks; a
        different root counts as missing."""
        missing = sorted(self.source_names() - set(names))
        if names and names[0] != self.root and self.root not in missing:
            missing.insert(0, self.root)
        return missing

    def subject(self, path: Path) -> str | None:
        """The person of a file by ``subject_pattern`` (``<family>_<group 1>``), or None when the
        table has no pattern. A file the pattern does not match is an error."""
        if self.subject_pattern is None:
            return None
        return subject_by_pattern(path, self.subject_pattern, f"{self.family}_", f"table {self.path}")


def subject_by_pattern(path: Path, pattern: str, prefix: str, where: str) -> str:
    """``prefix`` + group 1 of ``pattern`` searched in the file's path (``/`` separators), so a
    pattern may take the person from the file name (``'/(\\d+)_\\w+\\.bvh$'``) or from a folder
    (``'/([^/]+)/[^/]+$'``)."""
    match = re.search(pattern, Path(path).as_posix())
    if match is None or not match.groups() or not match.group(1):
        raise DataError(f"{path}: the subject pattern '{pattern}' of {where} does not match "
                         f"this file (group 1 must be the person)")
    return prefix + match.group(1)


def parse_axis(text: str, where: str) -> np.ndarray:
    """``"+Y"`` -> (0, 1, 0); ``"-Z"`` -> (0, 0, -1)."""
    match = _AXIS.fullmatch(str(text).strip().upper())
    if match is None:
        raise ValueError(f"{where} must be an axis like \"+Y\" or \"-Z\", got {text!r}")
    axis = np.zeros(3)
    axis["XYZ".index(match.group(2))] = 1.0 if match.group(1) == "+" else -1.0
    return axis


def _units(value: object, where: str) -> float:
    if isinstance(value, str) and value in UNIT_CANDIDATES:
        return UNIT_CANDIDATES[value]
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return float(value)
    raise ValueError(f"{where} must be one of {sorted(UNIT_CANDIDATES)} or metres per unit "
                     f"(a positive number), got {value!r}")


def _reject_unknown(keys: Sequence[str], known: set[str], where: str) -> None:
    unknown = sorted(set(keys) - known)
    if unknown:
        raise ValueError(f"unknown key{'s' if len(unknown) > 1 else ''} {unknown} in {where} "
                         f"(known: {sorted(known)})")


def load_table(path: str | Path) -> SkeletonTable:
    """Read and validate one skeleton table (TOML); errors name the file."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    try:
        return _parse_table(path, text)
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
        raise DataError(f"{path}: not a valid skeleton table: {exc}") from None


def _parse_table(path: Path, text: str) -> SkeletonTable:
    raw = tomllib.loads(text)
    _reject_unknown(list(raw), _TOP_KEYS, "the table")
    for key in ("family", "root"):
        if key not in raw:
            raise ValueError(f"missing key {key!r}")
    joints = {str(k): str(v) for k, v in raw.get("joints", {}).items()}
    offsets = {}
    for name, spec in raw.get("offsets", {}).items():
        _reject_unknown(list(spec), _OFFSET_KEYS, f"[offsets.{name}]")
        offset = np.asarray(spec["offset_m"], dtype=np.float64)
        if offset.shape != (3,):
            raise ValueError(f"offsets.{name}.offset_m must be 3 numbers")
        offsets[name] = Offset(str(spec["joint"]), str(spec.get("frame", spec["joint"])), offset)
    mapped = set(joints) | set(offsets)
    expected = set(JOINTS) - set(SYNTHESISED)
    if mapped != expected:
        raise ValueError(
            f"the table must map exactly {sorted(expected)} (pelvis/spine/thorax are "
            f"synthesised); missing {sorted(expected - mapped)}, unexpected {sorted(mapped - expected)}"
        )
    meaning = str(raw.get("position_channels", "auto"))
    if meaning not in POSITION_CHANNEL_MEANINGS:
        raise ValueError(f"position_channels must be one of {POSITION_CHANNEL_MEANINGS}, got {meaning!r}")
    up = parse_axis(raw["up"], "up") if "up" in raw else None
    forward = parse_axis(raw["forward"], "forward") if "forward" in raw else None
    if up is not None and forward is not None and abs(up @ forward) > 0:
        raise ValueError(f"up {raw['up']!r} and forward {raw['forward']!r} must be different axes")
    pattern = raw.get("subject_pattern")
    if pattern is not None:
        try:
            if re.compile(str(pattern)).groups < 1:
                raise ValueError(f"subject_pattern {pattern!r} needs a group: (...) = the person")
        except re.error as exc:
            raise ValueError(f"subject_pattern {pattern!r}: {exc}") from None
    return SkeletonTable(
        family=str(raw["family"]), root=str(raw["root"]),
        lead_in_frames=int(raw.get("lead_in_frames", 0)), joints=joints, offsets=offsets,
        path=path, text=text,
        units=_units(raw["units"], "units") if "units" in raw else None, up=up, forward=forward,
        position_channels=meaning, subject_pattern=None if pattern is None else str(pattern),
    )


@lru_cache(maxsize=None)
def builtin_tables() -> tuple[SkeletonTable, ...]:
    """The tables shipped in ``train/data/tables``."""
    return tuple(load_table(p) for p in sorted(TABLES_DIR.glob("*.toml")))


def detect_table(names: Sequence[str], source: Path,
                 tables: Sequence[SkeletonTable] | None = None) -> SkeletonTable:
    """The one table whose root and joint names all occur in ``names`` (a file's joints, root
    first). When none fits, the error names each table and the joints of it the file lacks."""
    tables = builtin_tables() if tables is None else tables
    fits = [t for t in tables if not t.missing_joints(names)]
    if len(fits) == 1:
        return fits[0]
    if fits:
        raise DataError(
            f"{source}: several skeleton tables fit its joints ({', '.join(f'{t.family} ({t.path})' for t in fits)}); "
            f"a table must fit exactly one family: docs/adding_a_bvh_skeleton.md")
    near = sorted(tables, key=lambda t: len(t.missing_joints(names)))
    lacks = "; ".join(f"{_names(t.missing_joints(names))} of table {t.family} ({t.path})" for t in near[:3])
    root = repr(names[0]) if names else "none"
    raise DataError(
        f"{source}: no skeleton table fits its joints (root {root}): the file lacks "
        f"{lacks or 'a table (there are none)'}. Write or fix a table: docs/adding_a_bvh_skeleton.md")


def _names(names: list[str], shown: int = 4) -> str:
    return ", ".join(map(repr, names[:shown])) + (f" and {len(names) - shown} more" if len(names) > shown else "")
