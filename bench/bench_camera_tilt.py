"""Could the camera's tilt be read off the body? How far a take's mean body axis strays from
true vertical, on real mocap (the CMU takes of both skeleton families).

The add-on takes the camera's up as the world's up (docs/addon.md, "Footage that works best").
A tilted camera tilts the lifted person by the same angle, and the obvious fix is to level the
clip's mean body axis. That fix is only as good as the axis is vertical on level ground, which
this measures in the mocap's own world frame (no camera, no lifter: the best case). Axes:
``joints over ankles`` (the centre of the 17 joints minus the mid-ankle point: the body's mass
stands over its feet), ``head over ankles``, ``torso`` (pelvis to thorax). Each frame's axis is
made a unit vector and averaged over the take.

    python bench/bench_camera_tilt.py
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as `python bench/<script>.py`

from repose_core.rotations import normalize
from repose_core.skeleton import JOINT_INDEX as J
from train.config import CONFIG_DIR, load_config
from train.dataset import load_libraries

MIN_SECONDS = 2.0  # shorter takes are left out: a mean over a few steps says little


def body_axes(joints: np.ndarray) -> dict[str, np.ndarray]:
    """Per-frame unit body axes (T, 3) of world joints (T, 17, 3), Y up."""
    ankles = joints[:, [J["l_ankle"], J["r_ankle"]]].mean(1)
    return {
        "joints over ankles": normalize(joints.mean(1) - ankles),
        "head over ankles": normalize(joints[:, J["head"]] - ankles),
        "torso": normalize(joints[:, J["thorax"]] - joints[:, J["pelvis"]]),
    }


def main() -> int:
    cfg = load_config(CONFIG_DIR / "default_cpu.yaml")
    clips = [c for library in load_libraries(cfg) for c in library.clips
             if c.num_frames >= MIN_SECONDS * cfg["data"]["fps"]]
    up = np.array([0.0, 1.0, 0.0])
    angles: dict[str, list[float]] = {}
    for clip in clips:
        for name, axis in body_axes(clip.joints.astype(np.float64)).items():
            mean_axis = normalize(axis.mean(0))
            angles.setdefault(name, []).append(float(np.degrees(np.arccos(np.clip(mean_axis @ up, -1, 1)))))
    print(f"{len(clips)} CMU takes of {MIN_SECONDS:g} s or more: angle (degrees) between the take's "
          "mean body axis and true vertical\n")
    print("| body axis | median | mean | worst tenth from | worst |")
    print("|---|---:|---:|---:|---:|")
    for name, values in angles.items():
        a = np.array(values)
        print(f"| {name} | {np.median(a):.1f} | {a.mean():.1f} | {np.percentile(a, 90):.1f} | {a.max():.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
