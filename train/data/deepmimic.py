"""DeepMimic reference motions (JSON) and their forward kinematics (numpy).

DeepMimic (Peng et al. 2018) stores a character and its motions apart, both JSON:
- the character (``humanoid3d.txt`` / ``humanoid3d_character.txt``): ``Skeleton.Joints``, each
  with ``Name``, ``Type`` (``none`` for the root, ``spherical``, ``revolute``, ``fixed``),
  ``Parent`` and its offset from the parent ``AttachX/Y/Z`` (metres, Y up);
- a motion: ``{"Loop": "wrap"|"none", "Frames": [[...], ...]}``, one row per frame =
  ``[duration s, root position xyz, root quaternion wxyz, then per non-root joint in the
  character's order a quaternion wxyz (spherical), one angle in radians about the joint's Z
  axis (revolute) or nothing (fixed)]``. The last row's duration is 0 (the end), and durations
  may differ between rows.

Joint rotations are local: a joint's world rotation is its parent's times its own. Frames are
read as written: a looping clip ("wrap") is not repeated, as that would invent motion.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from repose_core.rotations import make_continuous, normalize, quaternion_to_matrix

from .errors import DataError

_WIDTH = {"none": 0, "spherical": 4, "revolute": 1, "fixed": 0}
# DeepMimic normalises quaternions when it reads them, and the shared files rely on it (lengths
# 0.58 to 1.12 occur, hand-edited keys); a length outside this range is not a rotation.
_QUATERNION_NORM_RANGE = (0.25, 4.0)
# Root positions beyond a kilometre, or frame durations beyond a minute, are corruption.
_MAX_ROOT_POSITION_M = 1000.0
_MAX_DURATION_S = 60.0


@dataclass(frozen=True)
class DeepMimicCharacter:
    path: Path
    names: tuple[str, ...]            # root first, parents before children
    parents: tuple[int, ...]          # -1 for the root
    types: tuple[str, ...]
    offsets: np.ndarray               # (J, 3) metres, in the parent's frame


@dataclass(frozen=True)
class DeepMimicMotion:
    path: Path
    character: DeepMimicCharacter
    times: np.ndarray                 # (F,) seconds from the first frame, increasing
    root_position: np.ndarray         # (F, 3) metres
    rotations: np.ndarray             # (F, J, 4) local quaternions wxyz, sign-continuous in time

    @property
    def num_frames(self) -> int:
        return self.times.shape[0]


def _load_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: not a DeepMimic JSON file: {exc}") from None


def _json_object(path: Path) -> dict | None:
    """The JSON object in ``path``, or None for a file that is not one; only ``.txt``/``.json``
    files whose text starts with ``{`` are parsed, so a folder's other files cost nothing."""
    if path.suffix.lower() not in (".txt", ".json"):
        return None
    with open(path, "rb") as f:
        if f.read(64).lstrip()[:1] != b"{":
            return None
    data = _load_json(path)
    return data if isinstance(data, dict) else None


def is_motion_file(path: Path) -> bool:
    """Whether ``path`` is a DeepMimic motion (a JSON object with ``Frames``)."""
    data = _json_object(path)
    return data is not None and "Frames" in data


def is_character_file(path: Path) -> bool:
    """Whether ``path`` is a DeepMimic character (a JSON object with a ``Skeleton``)."""
    data = _json_object(path)
    return data is not None and isinstance(data.get("Skeleton"), dict)


def find_character(motion_path: Path) -> Path:
    """The character file beside a motion (its folder, or DeepMimic's ``../characters``): the
    one JSON file there with a ``Skeleton``."""
    folders = [motion_path.parent, motion_path.parent.parent / "characters"]
    found = sorted({p for d in folders if d.is_dir() for p in d.iterdir()
                    if p.is_file() and is_character_file(p)})
    if len(found) != 1:
        raise DataError(
            f"{motion_path}: a DeepMimic motion needs exactly one character file (JSON with a "
            f"'Skeleton') in {folders[0]} or {folders[1]}; found {[str(p) for p in found] or 'none'}")
    return found[0]


def read_character(path: str | Path) -> DeepMimicCharacter:
    path = Path(path)
    data = _load_json(path)
    try:
        joints = data["Skeleton"]["Joints"]
        names = tuple(str(j["Name"]) for j in joints)
        parents = tuple(int(j["Parent"]) for j in joints)
        types = tuple(str(j["Type"]).lower() for j in joints)
        offsets = np.array([[float(j["AttachX"]), float(j["AttachY"]), float(j["AttachZ"])]
                            for j in joints])
        turned = [n for n, j in zip(names, joints)
                  if any(float(j.get(f"AttachTheta{a}", 0.0)) for a in "XYZ")]
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"{path}: not a DeepMimic character: {exc!r}") from None
    if not names or parents[0] != -1 or any(not 0 <= p < j for j, p in enumerate(parents) if j):
        raise DataError(f"{path}: joints must list the root first and every parent before its children")
    unknown = sorted({t for t in types[1:] if t not in _WIDTH} | ({types[0]} - {"none"}))
    if unknown:
        raise DataError(f"{path}: joint types {unknown} are not read (root 'none'; then "
                         f"spherical, revolute, fixed)")
    if turned:  # joint frames turned against their parent's: not written by the shared character
        raise DataError(f"{path}: joints {turned} have an AttachTheta rotation, which is not supported")
    if not np.isfinite(offsets).all():
        raise DataError(f"{path}: joint offsets must be finite numbers")
    return DeepMimicCharacter(path, names, parents, types, offsets)


def read_motion(path: str | Path, character: DeepMimicCharacter | None = None) -> DeepMimicMotion:
    """A motion file and its character (default: :func:`find_character`). Errors name the file,
    and the frame for bad values."""
    path = Path(path)
    character = read_character(find_character(path)) if character is None else character
    data = _load_json(path)
    frames = data.get("Frames") if isinstance(data, dict) else None
    width = 8 + sum(_WIDTH[t] for t in character.types[1:])
    try:
        rows = np.array(frames, dtype=np.float64)
    except (TypeError, ValueError):
        rows = None
    if rows is None or rows.ndim != 2 or rows.shape[1] != width or rows.shape[0] < 2:
        shape = None if rows is None else rows.shape
        raise DataError(f"{path}: 'Frames' must be at least 2 rows of {width} numbers (duration, "
                         f"root position and quaternion, then the joints of {character.path}); got {shape}")
    _check_rows(path, rows)
    durations = rows[:-1, 0]
    if (durations <= 0).any():
        raise DataError(f"{path}: frame {int(np.argmax(durations <= 0)) + 1}: durations before the "
                         f"last frame must be positive")
    rotations = np.tile(np.array([1.0, 0.0, 0.0, 0.0]), (rows.shape[0], len(character.names), 1))
    rotations[:, 0] = rows[:, 4:8]
    column = 8
    for j, kind in enumerate(character.types[1:], start=1):
        if kind == "spherical":
            rotations[:, j] = rows[:, column:column + 4]
        elif kind == "revolute":  # about the joint's Z axis
            half = 0.5 * rows[:, column]
            rotations[:, j] = np.stack([np.cos(half), 0 * half, 0 * half, np.sin(half)], -1)
        column += _WIDTH[kind]
    norms = np.linalg.norm(rotations, axis=-1)
    bad = (norms < _QUATERNION_NORM_RANGE[0]) | (norms > _QUATERNION_NORM_RANGE[1])
    if bad.any():
        frame, joint = np.argwhere(bad)[0]
        raise DataError(f"{path}: frame {frame + 1}, joint {character.names[joint]!r}: quaternion "
                         f"of length {norms[frame, joint]:.3g}, not a rotation")
    times = np.concatenate([[0.0], np.cumsum(durations)])
    return DeepMimicMotion(path, character, times, rows[:, 1:4].copy(),
                           make_continuous(normalize(rotations)))


def _check_rows(path: Path, rows: np.ndarray) -> None:
    bad = ~np.isfinite(rows)
    bad[:, 0] |= np.abs(rows[:, 0]) > _MAX_DURATION_S
    bad[:, 1:4] |= np.abs(rows[:, 1:4]) > _MAX_ROOT_POSITION_M
    if bad.any():
        frame, column = np.argwhere(bad)[0]
        raise DataError(f"{path}: frame {frame + 1} of {rows.shape[0]}, number {column + 1} is "
                         f"{rows[frame, column]!r} (not finite or absurd)")


def forward_kinematics(
    motion: DeepMimicMotion,
    joints: Sequence[str],
    times: np.ndarray | None = None,
    rest_pose: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """World positions (F, J, 3) and rotations (F, J, 3, 3) of ``joints`` at ``times`` (seconds;
    default: the frames' own). Between frames, local rotations are interpolated (normalised
    linear interpolation of sign-continuous quaternions) and the root position linearly, so
    bones keep their lengths even in a flip captured at 16 fps. ``rest_pose=True``: one frame,
    every rotation identity, the root at the origin."""
    char = motion.character
    try:
        wanted = [char.names.index(n) for n in joints]
    except ValueError:
        missing = sorted(set(joints) - set(char.names))
        raise KeyError(f"{motion.path}: joints {missing} not in the character {char.path}") from None
    if rest_pose:
        local = np.broadcast_to(np.eye(3), (1, len(char.names), 3, 3))
        root = np.zeros((1, 3))
    else:
        quats, root = _interpolate(motion, motion.times if times is None else np.asarray(times))
        local = quaternion_to_matrix(quats)
    pos: list[np.ndarray] = []
    rot: list[np.ndarray] = []
    for j, parent in enumerate(char.parents):  # parents come first
        if parent < 0:
            pos.append(root)
            rot.append(local[:, j])
        else:
            pos.append(pos[parent] + rot[parent] @ char.offsets[j])
            rot.append(rot[parent] @ local[:, j])
    return np.stack([pos[j] for j in wanted], 1), np.stack([rot[j] for j in wanted], 1)


def _interpolate(motion: DeepMimicMotion, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Local quaternions (F, J, 4) and root positions (F, 3) at ``times``."""
    src = motion.times
    i = np.clip(np.searchsorted(src, times, side="right") - 1, 0, len(src) - 2)
    w = np.clip((times - src[i]) / (src[i + 1] - src[i]), 0.0, 1.0)
    quats = normalize((1 - w)[:, None, None] * motion.rotations[i]
                      + w[:, None, None] * motion.rotations[i + 1])
    root = (1 - w)[:, None] * motion.root_position[i] + w[:, None] * motion.root_position[i + 1]
    return quats, root

