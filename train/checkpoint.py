"""Checkpoint files: atomic save, load, rebuild the model, and evaluate / export a trained run.

A checkpoint is ``{"metadata": lifter metadata, "model": state_dict, ...trainer state}``,
loadable with ``torch.load(weights_only=True)`` (docs/architecture.md), so the runtime can run
``best.pt`` directly and ``export`` turns it into the ONNX the add-on ships.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch

from repose_core.models import build_model
from repose_core.models.export import export_onnx

from .config import REPO_ROOT
from .data.errors import DataError

CHECKPOINT_LAST = "last.pt"
CHECKPOINT_BEST = "best.pt"
# Where export writes the weights a fine-tuning run starts from (train.init_from): <onnx stem>.pt.
# Not beside the ONNX: repose_core/assets ships inside the Blender extension, which has no use
# for training weights; a fresh clone has these and no runs/.
FINETUNE_DIR = REPO_ROOT / "train" / "weights"
FINETUNE_DEFAULT = FINETUNE_DIR / "default_lifter.pt"


def save_checkpoint(path: Path, state: dict) -> None:
    """Atomic write (temp file + rename) so a kill never leaves a half-written checkpoint."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


class CheckpointError(DataError):
    """A checkpoint file that cannot be used; the message names the file and the problem."""


def load_checkpoint(path: str | Path) -> dict:
    """A checkpoint dict (``metadata``, ``model``, ...), or :class:`CheckpointError` naming the
    file when it is truncated, empty, not a checkpoint, or an ONNX export."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    if path.suffix.lower() == ".onnx":
        raise CheckpointError(
            f"{path}: an ONNX export cannot be trained on (its BatchNorm is folded into the "
            f"convolutions); start from the checkpoint that export writes for fine-tuning "
            f"(the shipped model's: {FINETUNE_DEFAULT.relative_to(REPO_ROOT)})")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - truncated zip, empty file, pickle errors, ...
        first = (str(error).strip().splitlines() or [""])[0][:200]
        raise CheckpointError(f"{path}: not a readable checkpoint, truncated or not written by "
                              f"the trainer ({type(error).__name__}: {first})") from None
    if not isinstance(state, dict) or "metadata" not in state or "model" not in state:
        raise CheckpointError(f"{path}: not a RePOSE checkpoint (needs a dict with 'metadata' and 'model')")
    return state


def resolve_checkpoint(path: str | Path) -> Path:
    """A run directory means its best checkpoint; a file is taken as is."""
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_BEST
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path} (train with `python -m train fit` first)")
    return path


def model_from_checkpoint(state: dict) -> torch.nn.Module:
    """Rebuild the backbone from the checkpoint's metadata and load its weights (eval mode)."""
    metadata = state["metadata"]
    model = build_model({"backbone": metadata["backbone"], **metadata["model_config"]})
    model.load_state_dict(state["model"])
    return model.eval()


def load_for_evaluation(path: str | Path, subjects: str = "val") -> tuple[torch.nn.Module, dict, torch.device, Path]:
    """A checkpoint's model (on its run's device, or the CPU where this machine has no GPU for a
    run trained on one) and the fixed windows it is scored on.

    The windows are rebuilt from the run's ``config.yaml``: ``{"clean": batch, "occluded":
    batch}`` of the validation people, or with ``subjects="train"`` of the training people.
    Returns ``(model, windows, device, checkpoint path)``.
    """
    from .config import read_saved_config
    from .dataset import load_libraries, load_validation_sets
    from .evaluate import frames_in_for
    from .loop import select_device

    if subjects not in ("val", "train"):
        raise ValueError(f"subjects must be 'val' or 'train', got {subjects!r}")
    path = resolve_checkpoint(path)
    cfg = read_saved_config(path.parent)
    model = model_from_checkpoint(load_checkpoint(path))
    train, val = load_libraries(cfg)
    windows = load_validation_sets(cfg, frames_in_for(model, cfg["train"]["frames_out"]),
                                   train if subjects == "train" else val)
    trained_on = cfg["train"]["device"]
    device = select_device("cpu" if trained_on == "cuda" and not torch.cuda.is_available() else trained_on)
    return model.to(device), windows, device, path


def evaluate_checkpoint(path: str | Path, subjects: str = "val") -> tuple[dict[str, dict[str, float]], Path]:
    """Validation metrics of a checkpoint on its run's validation sets (rebuilt from config.yaml).

    Sets "clean" and "occluded" as in training (no flip), and "clean+flip" / "occluded+flip"
    with the runtime's test-time flip augmentation (what ``load_lifter`` users get).
    ``subjects="train"`` scores the same kind of fixed windows on the training people instead:
    next to the validation figures it tells fitting (both high) from generalising (only
    validation high).
    """
    from .evaluate import evaluate

    model, windows, device, path = load_for_evaluation(path, subjects)
    results = evaluate(model, windows, device)
    results.update({f"{name}+flip": values
                    for name, values in evaluate(model, windows, device, flip=True).items()})
    return results, path


def export_checkpoint(path: str | Path, out: str | Path, finetune_out: str | Path | None = None
                      ) -> tuple[Path, Path]:
    """ONNX export (the runtime's contract) of a checkpoint, and the weights-only checkpoint
    fine-tuning starts from (default ``train/weights/<onnx stem>.pt``: an ONNX model has its
    BatchNorm folded and cannot be trained on). Returns both paths."""
    source = resolve_checkpoint(path)
    state = load_checkpoint(source)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx_path = export_onnx(model_from_checkpoint(state), state["metadata"], out)
    finetune = FINETUNE_DIR / f"{out.stem}.pt" if finetune_out is None else Path(finetune_out)
    finetune.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(finetune, {"metadata": state["metadata"], "model": state["model"],
                               "epoch": state["epoch"], "exported_from": str(source)})
    return onnx_path, finetune
