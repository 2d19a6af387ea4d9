"""Lifting backbones (torch). A config names its backbone; every backbone maps lifter features
(B, T, 17, 3) to pelvis-relative 3D poses (B, T_out, 17, 3) in metres, so losses and the
runtime treat them alike.

Every backbone class exposes ``receptive_field``, ``output_mode`` ("valid" or "window"),
``window`` (int or None), ``output_offset`` (the input frame of a window its first output frame
belongs to) and ``config`` (the keyword arguments that rebuild it).
"""
from __future__ import annotations

from typing import Any, Mapping

from torch import nn

from .tcn import TemporalConvLifter
from .transformer import SpatioTemporalTransformerLifter

BACKBONES: dict[str, type[nn.Module]] = {
    "tcn": TemporalConvLifter,
    "transformer": SpatioTemporalTransformerLifter,
}


def build_model(config: Mapping[str, Any]) -> nn.Module:
    """Build a backbone from ``{"backbone": name, **keyword arguments of its class}``."""
    options = dict(config)
    name = options.pop("backbone", None)
    if name not in BACKBONES:
        raise ValueError(f"model config: backbone must be one of {sorted(BACKBONES)}, got {name!r}")
    try:
        return BACKBONES[name](**options)
    except TypeError as error:  # unknown or missing keyword
        raise ValueError(f"model config for backbone {name!r}: {error}") from error


def model_from_metadata(metadata: Mapping[str, Any], state_dict: Mapping[str, Any]) -> nn.Module:
    """The network a lifter file or checkpoint describes (its metadata, docs/architecture.md
    "Model files"), with its weights, in eval mode. ValueError or RuntimeError when the weights
    do not fit it."""
    model = build_model({"backbone": metadata["backbone"], **metadata["model_config"]})
    model.load_state_dict(state_dict)
    return model.eval()


def backbone_name(model: nn.Module) -> str:
    """The registry name of a model's backbone."""
    for name, cls in BACKBONES.items():
        if type(model) is cls:
            return name
    raise ValueError(f"{type(model).__name__} is not a registered backbone ({sorted(BACKBONES)})")


__all__ = ["BACKBONES", "build_model", "model_from_metadata", "backbone_name", "TemporalConvLifter", "SpatioTemporalTransformerLifter"]
