"""Checkpoint files: atomic save, load with errors that name the file, a run's checkpoint.

A checkpoint is ``{"metadata": lifter metadata, "model": state_dict, ...trainer state}``,
loadable with ``torch.load(weights_only=True)`` (docs/architecture.md), so the runtime can run
``best.pt`` directly and ``train.export`` turns it into the ONNX the add-on ships. The network
a checkpoint holds is ``repose_core.models.model_from_metadata(state["metadata"], state["model"])``.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch

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
