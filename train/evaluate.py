"""Validation of a lifter on fixed windows of clean and occluded 2D (all figures in mm / degrees).

The validation windows come from ``train.synth`` (unseen subjects, fixed cameras and occlusion,
the same every run), so numbers are comparable across runs, epochs and the ablation.
:func:`evaluate_checkpoint` scores a finished run (``python -m train eval``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np
import torch

from repose_core import metrics
from repose_core.models import model_from_metadata
from repose_core.runtime import flip_averaged

from .checkpoint import load_checkpoint, resolve_checkpoint
from .config import read_saved_config
from .dataset import load_libraries, load_validation_sets
from .device import evaluation_device

# Order of the columns in tables and logs.
METRIC_NAMES: tuple[str, ...] = (
    "mpjpe",
    "p_mpjpe",
    "occluded_mpjpe",
    "visible_mpjpe",
    "depth_order_acc",
    "bone_dir_deg",
    "accel_err",
)
METRIC_LABELS: dict[str, str] = {
    "mpjpe": "MPJPE (mm)",
    "p_mpjpe": "P-MPJPE (mm)",
    "occluded_mpjpe": "occluded-joint MPJPE (mm)",
    "visible_mpjpe": "visible-joint MPJPE (mm)",
    "depth_order_acc": "depth-order accuracy",
    "bone_dir_deg": "bone-direction error (deg)",
    "accel_err": "acceleration error (mm/frame^2)",
}


def frames_in_for(model: torch.nn.Module, frames_out: int) -> int:
    """Input window length that gives ``frames_out`` supervised output frames."""
    if model.output_mode == "window":
        return int(model.window)
    return frames_out + int(model.receptive_field) - 1


@torch.no_grad()
def predict(model: torch.nn.Module, inputs: np.ndarray, device: torch.device,
            batch_size: int = 64, flip: bool = False) -> np.ndarray:
    """Run ``model`` on feature windows (N, T_in, 17, C); returns (N, T_out, 17, 3) pelvis-relative.

    ``flip``: test-time flip augmentation as the runtime does it (``runtime.flip_averaged``).
    """
    was_training = model.training
    model.eval()

    def run(batch: np.ndarray) -> tuple[np.ndarray, None]:
        return model(torch.from_numpy(np.ascontiguousarray(batch)).to(device)).float().cpu().numpy(), None

    outputs = []
    for start in range(0, len(inputs), batch_size):
        chunk = inputs[start:start + batch_size]
        outputs.append((flip_averaged(run, chunk) if flip else run(chunk))[0])
    model.train(was_training)
    return np.concatenate(outputs, axis=0)


def window_metrics(pred: np.ndarray, target: np.ndarray, occluded: np.ndarray) -> dict[str, float]:
    """All validation figures for predictions and targets (N, T, 17, 3) metres, mask (N, T, 17)."""
    visible = ~occluded
    return {
        "mpjpe": float(metrics.mpjpe(pred, target)),
        "p_mpjpe": float(metrics.p_mpjpe(pred, target)),
        # NaN when a set has no occluded joint at all (the clean set): "not applicable", not 0.
        "occluded_mpjpe": float(metrics.masked_mpjpe(pred, target, occluded)),
        "visible_mpjpe": float(metrics.masked_mpjpe(pred, target, visible)),
        "depth_order_acc": float(metrics.depth_order_accuracy(pred, target)),
        "bone_dir_deg": float(metrics.bone_direction_error_deg(pred, target)),
        "accel_err": float(metrics.acceleration_error(pred, target)),
    }


def predict_windows(model: torch.nn.Module, batch: Mapping[str, np.ndarray], device: torch.device,
                    batch_size: int = 64, flip: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(prediction, target, occluded mask)`` of one set of windows, target and mask cut to the
    frames the model outputs."""
    pred = predict(model, batch["inputs"], device, batch_size, flip=flip)
    offset, t_out = model.output_offset, pred.shape[1]
    target = batch["target"][:, offset:offset + t_out]
    occluded = batch["occluded"][:, offset:offset + t_out].astype(bool)
    return pred, target, occluded


def evaluate(model: torch.nn.Module, val_sets: Mapping[str, Mapping[str, np.ndarray]],
             device: torch.device, batch_size: int = 64, flip: bool = False) -> dict[str, dict[str, float]]:
    """Metrics per validation set name (e.g. "clean", "occluded").

    Each set is a batch dict as ``train.synth`` makes it ("inputs", "target", "occluded", ...).
    A model with a gravity head also gets ``up_deg``, its mean up-direction error.
    """
    results = {}
    for name, batch in val_sets.items():
        results[name] = window_metrics(*predict_windows(model, batch, device, batch_size, flip))
        if getattr(model, "predict_up", False) and "up" in batch:
            results[name]["up_deg"] = up_error_deg(model, batch, device, batch_size)
    return results


@torch.no_grad()
def up_error_deg(model: torch.nn.Module, batch: Mapping[str, np.ndarray], device: torch.device,
                 batch_size: int = 64) -> float:
    """Mean angle (degrees) between the predicted and the true up direction over the output frames."""
    was_training = model.training
    model.eval()
    offset, errors = model.output_offset, []
    for start in range(0, len(batch["inputs"]), batch_size):
        x = torch.from_numpy(np.ascontiguousarray(batch["inputs"][start:start + batch_size])).to(device)
        up = model.forward_with_up(x)[1].float().cpu().numpy()
        true = batch["up"][start:start + batch_size, offset:offset + up.shape[1]]
        errors.append(np.degrees(np.arccos(np.clip((up * true).sum(-1), -1.0, 1.0))).ravel())
    model.train(was_training)
    return float(np.concatenate(errors).mean())


def load_for_evaluation(path: str | Path, subjects: str = "val") -> tuple[torch.nn.Module, dict, torch.device, Path]:
    """A checkpoint's model (on its run's device, or the CPU where this machine has no GPU for a
    run trained on one) and the fixed windows it is scored on.

    The windows are rebuilt from the run's ``config.yaml``: ``{"clean": batch, "occluded":
    batch}`` of the validation people, or with ``subjects="train"`` of the training people.
    Returns ``(model, windows, device, checkpoint path)``.
    """
    if subjects not in ("val", "train"):
        raise ValueError(f"subjects must be 'val' or 'train', got {subjects!r}")
    path = resolve_checkpoint(path)
    cfg = read_saved_config(path.parent)
    state = load_checkpoint(path)
    model = model_from_metadata(state["metadata"], state["model"])
    train, val = load_libraries(cfg)
    windows = load_validation_sets(cfg, frames_in_for(model, cfg["train"]["frames_out"]),
                                   train if subjects == "train" else val)
    device = evaluation_device(cfg["train"]["device"])
    return model.to(device), windows, device, path


def evaluate_checkpoint(path: str | Path, subjects: str = "val") -> tuple[dict[str, dict[str, float]], Path]:
    """Validation metrics of a checkpoint on its run's validation sets (rebuilt from config.yaml).

    Sets "clean" and "occluded" as in training (no flip), and "clean+flip" / "occluded+flip"
    with the runtime's test-time flip augmentation (what ``load_lifter`` users get).
    ``subjects="train"`` scores the same kind of fixed windows on the training people instead:
    next to the validation figures it tells fitting (both high) from generalising (only
    validation high).
    """
    model, windows, device, path = load_for_evaluation(path, subjects)
    results = evaluate(model, windows, device)
    results.update({f"{name}+flip": values
                    for name, values in evaluate(model, windows, device, flip=True).items()})
    return results, path


def format_table(results: Mapping[str, Mapping[str, float]]) -> str:
    """A markdown table: one row per validation set, one column per metric."""
    header = "| set | " + " | ".join(METRIC_LABELS[m] for m in METRIC_NAMES) + " |"
    rule = "|---|" + "---:|" * len(METRIC_NAMES)
    rows = [header, rule]
    for name, values in results.items():
        cells = [format_value(m, values.get(m, float("nan"))) for m in METRIC_NAMES]
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def format_value(metric: str, value: float) -> str:
    """A metric as tables print it: accuracy to 3 decimals, mm and degrees to 0.1, NaN as n/a."""
    if value != value:  # NaN
        return "n/a"
    return f"{value:.3f}" if metric == "depth_order_acc" else f"{value:.1f}"
