"""BVH reading and forward kinematics (numpy).

Why our own parser instead of a library: a BVH file is a small recursive header plus a plain
matrix of numbers, and the libraries on PyPI either parse the motion line by line in Python
(minutes for the ~220k frames of the shared CMU data) or pull in a scene graph we don't need.
Here the header is walked once, the motion block is read with one ``np.fromstring`` call, and
forward kinematics runs joint by joint vectorised over all frames, only for the joints a caller
asks for (and their ancestors).

Conventions of the format (as written by MotionBuilder, Daz, Mixamo, Rokoko, ...):
- ``CHANNELS`` lists rotations in the order they compose: ``Zrotation Yrotation Xrotation``
  means ``R = Rz @ Ry @ Rx`` (angles in degrees), applied to points in the joint's frame.
- A joint's position in its parent's frame is ``OFFSET`` plus its position channels, in the
  format's original meaning. Blender-style exporters instead write the joint's *whole* local
  translation into them (equal to OFFSET for a rigid bone), so adding the two doubles every
  bone; :func:`detect_translation_channels` tells the two apart per joint from the motion.
- ``End Site`` blocks have an offset but no channels; they are named ``<parent>_end`` here so
  that tables can refer to them (e.g. the top of the head).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

import numpy as np

from .errors import DataError

END_SITE_SUFFIX = "_end"
_AXES = {"X": 0, "Y": 1, "Z": 2}
# Values no capture writes: they are corruption, and FK would turn them into inf/NaN joints
# that only fail much later (an SVD in validation). Rotations may be unwrapped over many turns.
MAX_ABS_ROTATION_DEG = 1e5
# Positions in file units, relative to the skeleton's size (its longest OFFSET): 10^4 bones.
MAX_POSITION_IN_BONES = 1e4


@dataclass(frozen=True)
class BvhSkeleton:
    """The hierarchy of a BVH file: joints in file order (parents before children)."""

    names: tuple[str, ...]
    parents: tuple[int, ...]          # -1 for the root
    offsets: np.ndarray               # (J, 3) in the file's units, in the parent's frame
    channels: tuple[tuple[str, ...], ...]  # per joint, e.g. ("Xposition", ..., "Xrotation")
    channel_start: tuple[int, ...]    # column of each joint's first channel in the motion matrix

    def index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(f"joint {name!r} not in this BVH skeleton") from None


@dataclass(frozen=True)
class BvhFile:
    path: Path
    skeleton: BvhSkeleton
    motion: np.ndarray   # (F, C) float64, one row per frame
    frame_time: float    # seconds per frame, as the header says
    # Per joint: True where its position channels hold the whole local translation (they
    # replace OFFSET), False where they are added to OFFSET (or the joint has none).
    translation_channels: tuple[bool, ...] = ()

    @property
    def num_frames(self) -> int:
        return self.motion.shape[0]

    @property
    def fps(self) -> float:
        """Frames per second, to 0.01: headers round the frame time (".0083333" is 120 fps)."""
        return round(1.0 / self.frame_time, 2)


def read_bvh(path: str | Path) -> BvhFile:
    """Parse a BVH file. Raises ``ValueError`` naming the file when it is malformed."""
    path = Path(path)
    text = path.read_text(encoding="utf-8", errors="replace")
    head, sep, motion_text = text.partition("MOTION")
    if not sep:
        raise DataError(f"{path}: no MOTION section; not a BVH file")
    try:
        skeleton = _parse_hierarchy(head.split())
    except (IndexError, ValueError) as exc:
        raise DataError(f"{path}: malformed HIERARCHY: {exc}") from None

    lines = motion_text.lstrip().split("\n", 2)
    if len(lines) < 2 or not lines[0].startswith("Frames:") or not lines[1].startswith("Frame Time:"):
        raise DataError(f"{path}: MOTION must start with 'Frames:' and 'Frame Time:' lines")
    num_frames = int(lines[0].split(":")[1])
    frame_time = float(lines[1].split(":")[1])
    if frame_time <= 0:
        raise DataError(f"{path}: Frame Time must be positive, got {frame_time}")
    num_channels = sum(len(c) for c in skeleton.channels)
    values = np.fromstring(lines[2] if len(lines) > 2 else "", sep=" ")
    if values.size < num_frames * num_channels:
        raise DataError(
            f"{path}: header says {num_frames} frames x {num_channels} channels but the motion "
            f"block holds {values.size} numbers"
        )
    motion = values[: num_frames * num_channels].reshape(num_frames, num_channels)
    _check_values(path, skeleton, motion)
    return BvhFile(path, skeleton, motion, frame_time,
                   detect_translation_channels(skeleton, motion))


def _column_names(skeleton: BvhSkeleton) -> list[str]:
    return [f"{name} {chan}" for name, chans in zip(skeleton.names, skeleton.channels) for chan in chans]


def _check_values(path: Path, skeleton: BvhSkeleton, motion: np.ndarray) -> None:
    """Reject non-finite and absurd channel values, naming the frame and the channel."""
    columns = _column_names(skeleton)
    rotation = np.array([c.endswith("rotation") for c in columns])
    size = max(float(np.abs(skeleton.offsets).max(initial=0.0)), 1e-6)
    limit = np.where(rotation, MAX_ABS_ROTATION_DEG, MAX_POSITION_IN_BONES * size)
    bad = ~np.isfinite(motion) | (np.abs(motion) > limit)
    if bad.any():
        frame, column = np.argwhere(bad)[0]
        what = "not a number" if not np.isfinite(motion[frame, column]) else "absurd"
        raise DataError(
            f"{path}: frame {frame + 1} of {motion.shape[0]}, channel '{columns[column]}' is "
            f"{motion[frame, column]!r} ({what}; {int(bad.any(axis=1).sum())} frames have such values)")


def detect_translation_channels(skeleton: BvhSkeleton, motion: np.ndarray) -> tuple[bool, ...]:
    """Per joint: do its position channels hold its whole local translation?

    A joint's channels are taken as its translation when, along the axis of its longest OFFSET
    component, their median over the take is nearer OFFSET than zero: an exporter that writes
    translations writes OFFSET there for a rigid bone, one that writes displacements writes
    about zero. A root that walks away stays decidable, as its OFFSET is its height (or zero).
    Joints with a zero OFFSET come out the same either way (False).
    """
    out = []
    for j, chans in enumerate(skeleton.channels):
        offset = skeleton.offsets[j]
        axis = int(np.argmax(np.abs(offset)))
        name = "XYZ"[axis] + "position"
        if abs(offset[axis]) <= 0 or name not in chans or motion.shape[0] == 0:
            out.append(False)
            continue
        median = float(np.median(motion[:, skeleton.channel_start[j] + chans.index(name)]))
        out.append(bool(abs(median - offset[axis]) < abs(median)))
    return tuple(out)


def with_position_meaning(bvh: BvhFile, meaning: str) -> BvhFile:
    """``bvh`` with its position channels read as ``meaning``: "auto" (as detected),
    "offset" (added to OFFSET) or "translation" (the whole local translation)."""
    if meaning == "auto":
        return bvh
    if meaning not in ("offset", "translation"):
        raise ValueError(f"position channel meaning must be auto, offset or translation, got {meaning!r}")
    flags = tuple(meaning == "translation" and any(c.endswith("position") for c in chans)
                  for chans in bvh.skeleton.channels)
    return replace(bvh, translation_channels=flags)


def _parse_hierarchy(tokens: list[str]) -> BvhSkeleton:
    names: list[str] = []
    parents: list[int] = []
    offsets: list[list[float]] = []
    channels: list[tuple[str, ...]] = []
    stack: list[int] = []
    i = tokens.index("ROOT")
    while i < len(tokens):
        tok = tokens[i]
        if tok in ("ROOT", "JOINT"):
            names.append(tokens[i + 1])
            parents.append(stack[-1] if stack else -1)
            offsets.append([0.0, 0.0, 0.0])
            channels.append(())
            i += 2
        elif tok == "End":  # "End Site"
            parent = stack[-1]
            names.append(names[parent] + END_SITE_SUFFIX)
            parents.append(parent)
            offsets.append([0.0, 0.0, 0.0])
            channels.append(())
            i += 2
        elif tok == "{":
            stack.append(len(names) - 1)
            i += 1
        elif tok == "}":
            stack.pop()
            i += 1
        elif tok == "OFFSET":
            offsets[stack[-1]] = [float(v) for v in tokens[i + 1 : i + 4]]
            i += 4
        elif tok == "CHANNELS":
            n = int(tokens[i + 1])
            channels[stack[-1]] = tuple(tokens[i + 2 : i + 2 + n])
            i += 2 + n
        else:
            raise ValueError(f"unexpected token {tok!r}")
    if stack:
        raise ValueError("unbalanced braces")
    starts = np.cumsum([0] + [len(c) for c in channels])[:-1]
    return BvhSkeleton(tuple(names), tuple(parents), np.asarray(offsets, dtype=np.float64),
                       tuple(channels), tuple(int(s) for s in starts))


def euler_to_matrix(angles_deg: np.ndarray, axes: str) -> np.ndarray:
    """Rotation matrices (..., 3, 3) for angles (..., k) about ``axes`` (e.g. "ZYX"), composed
    left to right: ``R = R_axes[0] @ R_axes[1] @ ...`` (BVH order)."""
    angles = np.radians(angles_deg)
    result = None
    for k, axis in enumerate(axes):
        c, s = np.cos(angles[..., k]), np.sin(angles[..., k])
        m = np.zeros(angles.shape[:-1] + (3, 3))
        a = _AXES[axis]
        b, d = (a + 1) % 3, (a + 2) % 3
        m[..., a, a] = 1.0
        m[..., b, b] = c
        m[..., d, d] = c
        m[..., b, d] = -s
        m[..., d, b] = s
        result = m if result is None else result @ m
    if result is None:
        return np.broadcast_to(np.eye(3), angles.shape[:-1] + (3, 3)).copy()
    return result


def forward_kinematics(
    bvh: BvhFile,
    joints: Sequence[str] | None = None,
    frames: np.ndarray | None = None,
    rest_pose: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """World positions and rotations of ``joints`` (default: all) at ``frames`` (default: all).

    Returns ``positions`` (F, J, 3) in the file's units and axes, and ``rotations`` (F, J, 3, 3)
    (each joint's frame in world coordinates). ``rest_pose=True`` ignores the motion (one frame,
    no rotation, every joint at its OFFSET): the skeleton as the header defines it.
    Position channels are read per ``bvh.translation_channels``.
    """
    skel = bvh.skeleton
    wanted = list(range(len(skel.names))) if joints is None else [skel.index(n) for n in joints]
    needed = set()
    for j in wanted:
        while j >= 0 and j not in needed:
            needed.add(j)
            j = skel.parents[j]
    if rest_pose:
        motion = np.zeros((1, 0))
    else:
        motion = bvh.motion if frames is None else bvh.motion[np.asarray(frames)]
    num_frames = motion.shape[0]
    replaces = bvh.translation_channels or (False,) * len(skel.names)

    pos: dict[int, np.ndarray] = {}
    rot: dict[int, np.ndarray] = {}
    for j in sorted(needed):  # file order: parents come first
        chans = () if rest_pose else skel.channels[j]
        cols = motion[:, skel.channel_start[j] : skel.channel_start[j] + len(chans)]
        local_t = np.broadcast_to(skel.offsets[j], (num_frames, 3)).copy()
        rot_axes, rot_cols = "", []
        for k, name in enumerate(chans):
            kind = name[1:].lower()
            if kind == "position" and replaces[j]:
                local_t[:, _AXES[name[0].upper()]] = cols[:, k]
            elif kind == "position":
                local_t[:, _AXES[name[0].upper()]] += cols[:, k]
            elif kind == "rotation":
                rot_axes += name[0].upper()
                rot_cols.append(k)
            else:
                raise DataError(f"{bvh.path}: unknown channel {name!r} on joint {skel.names[j]!r}")
        local_r = euler_to_matrix(cols[:, rot_cols], rot_axes) if rot_axes else None
        p = skel.parents[j]
        if p < 0:
            pos[j] = local_t
            rot[j] = local_r if local_r is not None else np.broadcast_to(np.eye(3), (num_frames, 3, 3))
        else:
            pos[j] = pos[p] + np.einsum("fij,fj->fi", rot[p], local_t)
            rot[j] = rot[p] @ local_r if local_r is not None else rot[p]
    positions = np.stack([pos[j] for j in wanted], axis=1)
    rotations = np.stack([rot[j] for j in wanted], axis=1)
    return positions, rotations
