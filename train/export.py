"""``python -m train export``: a trained run as the ONNX the runtime and the add-on load, and
the weights fine-tuning starts from (``train.init_from``)."""
from __future__ import annotations

from pathlib import Path

from repose_core.models import model_from_metadata
from repose_core.models.export import export_onnx
from repose_core.runtime import DEFAULT_LIFTER_PATH

from .checkpoint import FINETUNE_DIR, load_checkpoint, resolve_checkpoint, save_checkpoint


def export_checkpoint(path: str | Path, out: str | Path, finetune_out: str | Path | None = None
                      ) -> tuple[Path, Path]:
    """ONNX export (the runtime's contract) of a checkpoint, and the weights-only checkpoint
    fine-tuning starts from (an ONNX model has its BatchNorm folded and cannot be trained on),
    by default at :func:`finetune_path`. Returns both paths."""
    source = resolve_checkpoint(path)
    state = load_checkpoint(source)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx_path = export_onnx(model_from_metadata(state["metadata"], state["model"]), state["metadata"], out)
    finetune = finetune_path(out) if finetune_out is None else Path(finetune_out)
    finetune.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(finetune, {"metadata": state["metadata"], "model": state["model"],
                               "epoch": state["epoch"], "exported_from": str(source)})
    return onnx_path, finetune


def finetune_path(onnx_path: Path) -> Path:
    """Where an export's fine-tuning weights go unless told: beside the ONNX (``x.onnx`` ->
    ``x.pt``), so exporting a model of one's own never overwrites the shipped model's weights;
    the shipped model's own twin (an ONNX in ``repose_core/assets``, which the extension
    packages) lives in ``train/weights``, outside the package."""
    if onnx_path.resolve().parent == DEFAULT_LIFTER_PATH.parent:
        return FINETUNE_DIR / f"{onnx_path.stem}.pt"
    return onnx_path.with_suffix(".pt")
