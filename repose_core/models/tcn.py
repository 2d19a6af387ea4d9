"""Temporal convolutional lifter in the VideoPose3D manner (Pavllo et al., CVPR 2019).

A stack of dilated 1-D convolutions over time with residual blocks. The filter widths fix the
receptive field: ``[3, 3, 3]`` sees 27 frames, ``[3, 3, 3, 3]`` 81, ``[3, 3, 3, 3, 3]`` 243.

One set of weights runs in two forms:
- :meth:`TemporalConvLifter.forward` -- the *sequence* form: dilated convolutions with "valid"
  padding, ``T_out = T_in - receptive_field + 1``. It is what the runtime and the ONNX export
  use, and it trains well: every output frame of a long window is supervised in one pass,
  sharing the convolutions between neighbouring frames (the cheap way to train on a CPU).
- :meth:`TemporalConvLifter.forward_strided` -- the *single-frame* training form: the same
  convolutions with stride equal to the filter width and no dilation, so a window of exactly
  ``receptive_field`` frames costs only the work for its one centre (or, causal, last) frame.
  Useful when training on many independent windows with a frame-level random sampler.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..features import INPUT_CHANNELS
from ..skeleton import NUM_JOINTS, ROOT


class TemporalConvLifter(nn.Module):
    """2D keypoint features (B, T, J, C) -> pelvis-relative 3D pose (B, T_out, J, 3) in metres."""

    output_mode = "valid"
    window = None

    def __init__(
        self,
        filter_widths: Sequence[int] = (3, 3, 3, 3),
        channels: int = 128,
        dropout: float = 0.25,
        causal: bool = False,
        num_joints: int = NUM_JOINTS,
        in_channels: int = INPUT_CHANNELS,
    ) -> None:
        super().__init__()
        filter_widths = [int(w) for w in filter_widths]
        if not filter_widths or any(w < 1 or w % 2 == 0 for w in filter_widths):
            # Even widths have no centre frame, so the residual crop would be off by half a frame.
            raise ValueError(f"filter_widths must be odd positive integers, got {filter_widths}")
        if channels < 1:
            raise ValueError(f"channels must be positive, got {channels}")
        self.config = {
            "filter_widths": filter_widths,
            "channels": int(channels),
            "dropout": float(dropout),
            "causal": bool(causal),
            "num_joints": int(num_joints),
            "in_channels": int(in_channels),
        }
        self.filter_widths = filter_widths
        self.causal = bool(causal)
        self.num_joints = int(num_joints)
        self.in_channels = int(in_channels)

        # Dilation of each temporal convolution in the sequence form: the product of the
        # widths before it, so that layer i sees frames spaced exactly one previous window apart.
        self.dilations: list[int] = []
        dilation = 1
        for width in filter_widths:
            self.dilations.append(dilation)
            dilation *= width
        self.receptive_field: int = dilation

        self.expand_conv = nn.Conv1d(num_joints * in_channels, channels, filter_widths[0], bias=False)
        self.expand_bn = nn.BatchNorm1d(channels)
        self.temporal_convs = nn.ModuleList()
        self.temporal_bns = nn.ModuleList()
        self.pointwise_convs = nn.ModuleList()
        self.pointwise_bns = nn.ModuleList()
        for width in filter_widths[1:]:
            self.temporal_convs.append(nn.Conv1d(channels, channels, width, bias=False))
            self.temporal_bns.append(nn.BatchNorm1d(channels))
            self.pointwise_convs.append(nn.Conv1d(channels, channels, 1, bias=False))
            self.pointwise_bns.append(nn.BatchNorm1d(channels))
        self.shrink = nn.Conv1d(channels, num_joints * 3, 1)
        self.drop = nn.Dropout(dropout)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Sequence form: (B, T, J, C) -> (B, T - receptive_field + 1, J, 3)."""
        return self._run(features, strided=False)

    def forward_strided(self, features: torch.Tensor) -> torch.Tensor:
        """Single-frame form: (B, receptive_field, J, C) -> (B, 1, J, 3), same weights."""
        if features.shape[1] != self.receptive_field:
            raise ValueError(
                f"forward_strided needs windows of exactly receptive_field={self.receptive_field} "
                f"frames, got {features.shape[1]}"
            )
        return self._run(features, strided=True)

    def _run(self, features: torch.Tensor, strided: bool) -> torch.Tensor:
        batch, frames, joints, channels = features.shape
        if (joints, channels) != (self.num_joints, self.in_channels):
            raise ValueError(
                f"features must be (B, T, {self.num_joints}, {self.in_channels}), got {tuple(features.shape)}"
            )
        x = features.reshape(batch, frames, joints * channels).transpose(1, 2)
        x = self._conv(x, self.expand_conv, 0, strided)
        x = self.drop(F.relu(self.expand_bn(x)))
        for i, (tconv, tbn, pconv, pbn) in enumerate(
            zip(self.temporal_convs, self.temporal_bns, self.pointwise_convs, self.pointwise_bns), start=1
        ):
            residual = self._crop_residual(x, i, strided)
            x = self.drop(F.relu(tbn(self._conv(x, tconv, i, strided))))
            x = self.drop(F.relu(pbn(pconv(x))))
            x = residual + x
        pose = self.shrink(x).transpose(1, 2).reshape(batch, -1, self.num_joints, 3)
        return pose - pose[:, :, ROOT : ROOT + 1]

    def _conv(self, x: torch.Tensor, conv: nn.Conv1d, layer: int, strided: bool) -> torch.Tensor:
        width = self.filter_widths[layer]
        if strided:
            return F.conv1d(x, conv.weight, conv.bias, stride=width)
        return F.conv1d(x, conv.weight, conv.bias, dilation=self.dilations[layer])

    def _crop_residual(self, x: torch.Tensor, layer: int, strided: bool) -> torch.Tensor:
        """The input frames a temporal convolution's outputs line up with.

        Non-causal outputs sit at the centre of their window, causal ones at its last frame.
        """
        width = self.filter_widths[layer]
        if strided:
            offset = width - 1 if self.causal else width // 2
            return x[:, :, offset::width]
        span = (width - 1) * self.dilations[layer]
        offset = span if self.causal else span // 2
        return x[:, :, offset : x.shape[2] - span + offset]
