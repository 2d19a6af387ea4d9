"""Where a trained lifter's bone-direction error comes from: per bone, per set, and how much of it
is a systematic lean (the same wrong direction on every pose) rather than scatter.

For each set (validation people, and with ``--train`` the training people; clean and occluded
2D, test-time flip as ``load_lifter`` runs it) it prints the mean angle per bone of
``repose_core.skeleton.DIRECTION_BONES``, then for the validation clean set the mean of
(predicted - true) unit bone vectors in the person's torso frame (x = the person's left,
y = up, z = forward), overall and per group of takes (the part of the take name before its
number: salsa, indian, 13, ...). A lean that is the same in every group points at a joint
definition that differs between skeleton families; one that changes with the group, at motion
the training people never made.

    python bench/bench_bone_directions.py [RUN_OR_CHECKPOINT] [--train]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as `python bench/<script>.py`

from repose_core.metrics import bone_direction_errors_deg
from repose_core.rotations import frame_from_axes, normalize
from repose_core.skeleton import DIRECTION_BONES, JOINT_INDEX as J
from train.evaluate import load_for_evaluation
from train.config import read_saved_config
from train.dataset import load_libraries
from train.evaluate import predict_windows
from train.synth.sampler import validation_window_clips


def lean_in_torso_frame(pred: np.ndarray, target: np.ndarray) -> dict[str, np.ndarray]:
    """Per bone: mean (predicted - true) unit bone vector in the true torso frame (x = the
    person's left along the hip line, y = up from pelvis to thorax, z = forward), (3,)."""
    torso = frame_from_axes(target[..., J["thorax"], :] - target[..., J["pelvis"], :],
                            target[..., J["l_hip"], :] - target[..., J["r_hip"], :])
    out = {}
    for name, (parent, child) in DIRECTION_BONES.items():
        unit = [normalize(x[..., child, :] - x[..., parent, :]) for x in (pred, target)]
        # The frame's columns are its axes, so its transpose takes world vectors into it.
        out[name] = np.einsum("...ji,...j->...i", torso, unit[0] - unit[1]).reshape(-1, 3).mean(0)
    return out


def take_groups(checkpoint: Path, window: int) -> np.ndarray:
    """Group name of each validation window: its take's name up to the last "_"."""
    cfg = read_saved_config(checkpoint.parent)
    names = validation_window_clips(load_libraries(cfg)[1], window, cfg["data"]["val_windows"])
    return np.array([name.rsplit("_", 1)[0] for name in names])


def degrees_of(lean: np.ndarray) -> float:
    """Angle of the mean unit-vector difference (a chord of the unit sphere)."""
    return float(np.degrees(2 * np.arcsin(min(np.linalg.norm(lean) / 2, 1.0))))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", nargs="?", default="runs/default_cpu_cycle3/last.pt",
                        help="run directory or checkpoint (default: the shipped model's run)")
    parser.add_argument("--train", action="store_true", help="also score the training people")
    args = parser.parse_args(argv)

    columns: dict[str, np.ndarray] = {}
    for subjects in ("val", "train") if args.train else ("val",):
        model, windows, device, path = load_for_evaluation(args.run, subjects)
        for name, batch in windows.items():
            pred, target, _ = predict_windows(model, batch, device, flip=True)
            columns[f"{subjects} {name}"] = bone_direction_errors_deg(pred, target).reshape(
                -1, len(DIRECTION_BONES)).mean(0)
            if (subjects, name) == ("val", "clean"):
                val_clean = pred, target
                groups = take_groups(path, batch["inputs"].shape[1])
    print(f"{path}: bone-direction error (degrees, with flip)\n")
    print("| bone | " + " | ".join(columns) + " |")
    print("|---|" + "---:|" * len(columns))
    for i, bone in enumerate(DIRECTION_BONES):
        print(f"| {bone} | " + " | ".join(f"{c[i]:.1f}" for c in columns.values()) + " |")
    print("| **mean** | " + " | ".join(f"**{c.mean():.1f}**" for c in columns.values()) + " |")
    print("\nvalidation clean: mean (predicted - true) unit bone vector in the torso frame\n")
    print("| bone | left | up | forward | lean (deg) |")
    print("|---|---:|---:|---:|---:|")
    for bone, d in lean_in_torso_frame(*val_clean).items():
        print(f"| {bone} | {d[0]:+.3f} | {d[1]:+.3f} | {d[2]:+.3f} | {degrees_of(d):.1f} |")
    print("\nvalidation clean, by group of takes: error and upper-arm lean (left arm's left is out)\n")
    print("| group | windows | bone error (deg) | upper-arm error (deg) | l_upper_arm lean (left, up, fwd) | r_upper_arm lean |")
    print("|---|---:|---:|---:|---|---|")
    arms = [list(DIRECTION_BONES).index(b) for b in ("l_upper_arm", "r_upper_arm")]
    for group in sorted(set(groups)):
        pred, target = (x[groups == group] for x in val_clean)
        errors = bone_direction_errors_deg(pred, target)
        lean = lean_in_torso_frame(pred, target)
        cells = [f"{np.array2string(lean[b], precision=2, sign='+')} {degrees_of(lean[b]):.1f}°"
                 for b in ("l_upper_arm", "r_upper_arm")]
        print(f"| {group} | {int((groups == group).sum())} | {errors.mean():.1f} | "
              f"{errors[..., arms].mean():.1f} | {cells[0]} | {cells[1]} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
