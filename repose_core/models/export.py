"""Export a lifter to ONNX with its RePOSE metadata, for the torch-free runtime.

Uses the torch.export-based ("dynamo") ONNX exporter, the default in torch 2.13 (with onnx 1.22 /
onnxscript 0.7.2 it writes opset 20). The time axis is exported as a dynamic dimension (and so is
the batch, which the runtime uses to run the flipped input alongside the original). Every export
is checked against torch on a sequence of a different length from the example, so a shape that
was baked in by tracing is caught here and not in a user's Blender.
"""
from __future__ import annotations

import copy
import json
import os
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

from ..features import FEATURE_SETS
from ..runtime import (METADATA_FORMAT, METADATA_VERSION, ONNX_METADATA_KEY, POSE_OUTPUT, UP_OUTPUT,
                       validate_metadata)
from ..skeleton import JOINTS
from . import backbone_name

INPUT_NAME = "features"
_TOLERANCE = 1e-4


def output_names(model: nn.Module) -> list[str]:
    """The ONNX outputs of ``model``: the pose, and the up direction when it predicts one."""
    return [POSE_OUTPUT, UP_OUTPUT] if getattr(model, "predict_up", False) else [POSE_OUTPUT]


class _PoseAndUp(nn.Module):
    """Exports a model's two outputs (``forward_with_up``) as the ONNX graph's outputs."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model.forward_with_up(features)


def lifter_metadata(model: nn.Module) -> dict:
    """The metadata dict (docs/architecture.md, "Model files") that describes ``model``."""
    return {
        "format": METADATA_FORMAT,
        "version": METADATA_VERSION,
        "backbone": backbone_name(model),
        "model_config": dict(model.config),
        "receptive_field": int(model.receptive_field),
        "output_mode": model.output_mode,
        "window": model.window,
        "output_offset": int(model.output_offset),
        "input_channels": int(model.in_channels),
        "features_version": features_version(model.in_channels),
        "joints": list(JOINTS[: model.num_joints]),
        "outputs": output_names(model),
    }


def features_version(in_channels: int) -> str:
    """The feature set (``repose_core.features``) a model with ``in_channels`` input channels reads."""
    for version, channels in FEATURE_SETS.items():
        if channels == in_channels:
            return version
    raise ValueError(f"no feature set has {in_channels} channels (known: {FEATURE_SETS})")


def export_onnx(model: nn.Module, metadata: dict | None, path: str | os.PathLike) -> Path:
    """Write ``model`` (any registered backbone) to ``path`` as ONNX with ``metadata`` embedded.

    metadata: the dict from :func:`lifter_metadata` (the trainer may add keys of its own; one
    from before ``output_offset`` was written gets it); None means ``lifter_metadata(model)``.
    The model is copied to the CPU in eval mode; the caller's model is left as it was. Raises
    RuntimeError if the ONNX model disagrees with torch.
    """
    path = Path(path)
    metadata = validate_metadata(lifter_metadata(model) if metadata is None else metadata,
                                 "export_onnx(metadata=...)")
    expected = {"receptive_field": model.receptive_field, "output_mode": model.output_mode, "window": model.window,
                "output_offset": model.output_offset}
    for key, value in expected.items():
        if metadata[key] != value:
            raise ValueError(f"export_onnx: metadata[{key!r}] = {metadata[key]!r} but the model has {value!r}")
    model = copy.deepcopy(model).cpu().eval()
    names = output_names(model)
    graph = _PoseAndUp(model).eval() if len(names) == 2 else model

    example_frames, check_frames = _example_lengths(model)
    generator = torch.Generator().manual_seed(0)
    example = torch.randn(2, example_frames, model.num_joints, model.in_channels, generator=generator)
    if model.output_mode == "valid":
        time = torch.export.Dim("time", min=model.receptive_field)
    else:
        time = torch.export.Dim("time", min=2, max=model.window)
    with warnings.catch_warnings():
        # torch 2.13's exporter trips over its own pytree deprecation; nothing for callers to fix.
        warnings.filterwarnings("ignore", message=".*LeafSpec.*", category=FutureWarning)
        program = torch.onnx.export(
            graph,
            (example,),
            dynamo=True,
            input_names=[INPUT_NAME],
            output_names=names,
            dynamic_shapes=({0: torch.export.Dim("batch"), 1: time},),
            external_data=False,
            verbose=False,
        )
    proto = program.model_proto
    entry = proto.metadata_props.add()
    entry.key, entry.value = ONNX_METADATA_KEY, json.dumps(metadata)
    onnx.checker.check_model(proto)

    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    onnx.save(proto, partial)
    try:
        _check_against_torch(graph, model, partial, check_frames)
    except Exception:
        partial.unlink()
        raise
    os.replace(partial, path)  # never leave a half-written model under the final name
    return path


def _example_lengths(model: nn.Module) -> tuple[int, int]:
    """A length to trace with and a different one to check the dynamic time axis with."""
    if model.output_mode == "valid":
        return model.receptive_field + 8, model.receptive_field + 21
    return model.window, max(2, model.window // 2)


def _check_against_torch(graph: nn.Module, model: nn.Module, onnx_path: Path, frames: int) -> None:
    import onnxruntime as ort

    generator = torch.Generator().manual_seed(1)
    inputs = torch.randn(3, frames, model.num_joints, model.in_channels, generator=generator)
    with torch.inference_mode():
        expected = graph(inputs)
    expected = [t.numpy() for t in (expected if isinstance(expected, tuple) else (expected,))]
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    for name, want, got in zip(output_names(model), expected,
                               session.run(output_names(model), {INPUT_NAME: inputs.numpy()})):
        error = float(np.abs(got - want).max()) if got.shape == want.shape else float("inf")
        if error > _TOLERANCE:
            raise RuntimeError(
                f"ONNX export of {type(model).__name__} disagrees with torch on {frames} frames "
                f"({name}: shape {got.shape} vs {want.shape}, max error {error:.2e})"
            )
