"""Human3.6M in VideoPose3D's preprocessed format, for users who hold the dataset.

Files (made by VideoPose3D's ``prepare_data_h36m.py``; they are not downloadable here):
- ``data_3d_h36m.npz``: ``positions_3d`` = {subject: {action: (T, 32, 3)}}, metres, the
  dataset's world frame (Z up), 50 fps;
- ``data_2d_h36m_<detector>.npz``: ``positions_2d`` = {subject: {action: [one (T, 17, 2) pixel
  array per camera]}} and ``metadata`` = {"layout_name", "num_joints", "keypoints_symmetry"}.

The 32 mocap joints reduce to H36M-17 by the standard index list below, already in
``repose_core.skeleton.JOINTS`` order. 3D comes out like BVH mocap (metres, Y up) so it feeds
the same virtual cameras and occlusion as any mocap library (each clip checked to be a
plausible person, so millimetres or a Y-up file fail at load); the paper's protocol trains on
S1, S5, S6, S7, S8 and tests on S9, S11 (:func:`h36m_protocol_split`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

import numpy as np

from repose_core.skeleton import NUM_JOINTS

from .errors import DataError
from .mocap import DEFAULT_FPS, Clip, MotionLibrary, resample
from .plausible import check_person

H36M_FPS = 50.0
TRAIN_SUBJECTS: tuple[str, ...] = ("S1", "S5", "S6", "S7", "S8")
TEST_SUBJECTS: tuple[str, ...] = ("S9", "S11")
# The 17 of the 32 Human3.6M mocap joints that the H36M-17 convention keeps, in JOINTS order.
H36M_32_TO_17: tuple[int, ...] = (0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27)
# Human3.6M world (Z up) -> RePOSE mocap world (Y up): (x, y, z) -> (x, z, -y).
_Z_UP_TO_Y_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])


def _load_dict(path: Path, key: str) -> dict:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    with np.load(path, allow_pickle=True) as z:
        if key not in z.files:
            raise DataError(f"{path}: no {key!r} entry (has {z.files}); not a VideoPose3D file")
        entry = z[key]
    # VideoPose3D saves a dict, which np.savez stores as a 0-d object array.
    value = entry.item() if entry.dtype == object and entry.shape == () else None
    if not isinstance(value, dict):
        what = f"a {entry.dtype} array of shape {entry.shape}" if value is None else type(value).__name__
        raise DataError(f"{path}: {key!r} is {what}, not a dict of subjects as VideoPose3D's "
                        f"prepare_data_h36m.py writes (np.savez({key}={{subject: {{action: array}}}}))")
    return value


def load_h36m_3d(path: str | Path) -> dict[str, dict[str, np.ndarray]]:
    """``data_3d_h36m.npz`` -> {subject: {action: (T, 17, 3) float32}}, metres, Y up, 50 fps."""
    path = Path(path)
    out: dict[str, dict[str, np.ndarray]] = {}
    for subject, actions in _load_dict(path, "positions_3d").items():
        out[subject] = {}
        for action, positions in actions.items():
            positions = np.asarray(positions)
            if positions.ndim != 3 or positions.shape[1:] != (32, 3):
                raise DataError(
                    f"{path}: {subject}/{action} has shape {positions.shape}, expected (T, 32, 3)")
            joints = positions[:, H36M_32_TO_17] @ _Z_UP_TO_Y_UP.T
            out[subject][action] = joints.astype(np.float32)
    return out


def load_h36m_2d(path: str | Path) -> tuple[dict[str, dict[str, list[np.ndarray]]], dict]:
    """``data_2d_h36m_<det>.npz`` -> ({subject: {action: [(T, 17, 2) float32 per camera]}},
    metadata). Only the H36M-17 layout is accepted (it is what the lifter reads)."""
    path = Path(path)
    metadata = _load_dict(path, "metadata")
    if metadata.get("num_joints") != NUM_JOINTS or metadata.get("layout_name") != "h36m":
        raise DataError(
            f"{path}: keypoint layout {metadata.get('layout_name')!r} with "
            f"{metadata.get('num_joints')} joints; only 'h36m' with {NUM_JOINTS} is supported")
    out: dict[str, dict[str, list[np.ndarray]]] = {}
    for subject, actions in _load_dict(path, "positions_2d").items():
        out[subject] = {}
        for action, cameras in actions.items():
            arrays = [np.asarray(k, dtype=np.float32)[..., :2] for k in cameras]
            for cam, k in enumerate(arrays):
                if k.ndim != 3 or k.shape[1] != NUM_JOINTS:
                    raise DataError(f"{path}: {subject}/{action} camera {cam} has shape "
                                     f"{k.shape}, expected (T, {NUM_JOINTS}, 2)")
            out[subject][action] = arrays
    return out, metadata


def h36m_library(
    path_3d: str | Path,
    subjects: Iterable[str] | None = None,
    fps: float = DEFAULT_FPS,
) -> MotionLibrary:
    """Human3.6M 3D as a :class:`MotionLibrary` (one clip per subject/action) at ``fps``."""
    data = load_h36m_3d(path_3d)
    wanted = sorted(data) if subjects is None else list(subjects)
    missing = [s for s in wanted if s not in data]
    if missing:
        raise DataError(f"{path_3d}: subjects {missing} not in the file (has {sorted(data)})")
    clips = [
        Clip(f"{s}/{action}", s, "h36m", float(fps), resample(joints, H36M_FPS, fps).astype(np.float32))
        for s in wanted
        for action, joints in sorted(data[s].items())
    ]
    for clip in clips:  # millimetres or a Y-up file read as Z-up fail here, not in training
        check_person(clip.joints, f"{path_3d} {clip.name}",
                     "positions_3d must be as VideoPose3D writes them: metres, Z up")
    return MotionLibrary(clips)


def h36m_protocol_split(path_3d: str | Path, fps: float = DEFAULT_FPS
                        ) -> tuple[MotionLibrary, MotionLibrary]:
    """(train S1 S5 S6 S7 S8, test S9 S11), the protocol of the paper and VideoPose3D."""
    return (h36m_library(path_3d, TRAIN_SUBJECTS, fps), h36m_library(path_3d, TEST_SUBJECTS, fps))
