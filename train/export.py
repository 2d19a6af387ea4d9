"""``python -m train export``: a trained run as the ONNX the runtime and the add-on load, and
the weights fine-tuning starts from (``train.init_from``)."""
from __future__ import annotations

from pathlib import Path

from repose_core.models import model_from_metadata
from repose_core.models.export import export_onnx

from .checkpoint import FINETUNE_DIR, load_checkpoint, resolve_checkpoint, save_checkpoint


def export_checkpoint(path: str | Path, out: str | Path, finetune_out: str | Path | None = None
                      ) -> tuple[Path, Path]:
    """ONNX export (the runtime's contract) of a checkpoint, and the weights-only checkpoint
    fine-tuning starts from (default ``train/weights/<onnx stem>.pt``: an ONNX model has its
    BatchNorm folded and cannot be trained on). Returns both paths."""
    source = resolve_checkpoint(path)
    state = load_checkpoint(source)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx_path = export_onnx(model_from_metadata(state["metadata"], state["model"]), state["metadata"], out)
    finetune = FINETUNE_DIR / f"{out.stem}.pt" if finetune_out is None else Path(finetune_out)
    finetune.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(finetune, {"metadata": state["metadata"], "model": state["model"],
                               "epoch": state["epoch"], "exported_from": str(source)})
    return onnx_path, finetune
