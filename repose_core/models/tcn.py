"""Temporal convolutional lifter in the VideoPose3D manner (Pavllo et al., CVPR 2019).

A stack of dilated 1-D convolutions over time with residual blocks. The filter widths fix the
receptive field: ``[3, 3, 3]`` sees 27 frames, ``[3, 3, 3, 3]`` 81, ``[3, 3, 3, 3, 3]`` 243.

Dilated convolutions with "valid" padding, ``T_out = T_in - receptive_field + 1``: every output
frame of a long window is supervised in one pass, sharing the convolutions between neighbouring
frames (the cheap way to train on a CPU), and the runtime runs whole clips the same way.

With ``predict_up`` a second head reads the world's up direction in the camera frame from the
same features, frame by frame (:meth:`TemporalConvLifter.forward_with_up`): the lifter knows how
the camera looks at the person, and a clip can be levelled by it (docs/architecture.md).
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..features import INPUT_CHANNELS
from ..skeleton import NUM_JOINTS, root_centred


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
        predict_up: bool = False,
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
        if predict_up:   # absent from older models' configs, which rebuild without it
            self.config["predict_up"] = True
        self.predict_up = bool(predict_up)
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
        # Where each layer's outputs sit in its window: the last frame (causal) or the centre.
        spans = [(width - 1) * d for width, d in zip(filter_widths, self.dilations)]
        self._crop_offsets = [span if self.causal else span // 2 for span in spans]
        # The input frame of a window that its first output frame belongs to.
        self.output_offset: int = sum(self._crop_offsets)

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
        self.up_head = nn.Conv1d(channels, 3, 1) if predict_up else None
        self.drop = nn.Dropout(dropout)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """(B, T, J, C) -> pose (B, T - receptive_field + 1, J, 3)."""
        return self.pose(self.trunk(features))

    def forward_with_up(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T, J, C) -> pose (B, T_out, J, 3) and the world's up direction (B, T_out, 3),
        unit vectors in the camera frame. Only for models built with ``predict_up``."""
        if self.up_head is None:
            raise ValueError("this model was built without predict_up")
        x = self.trunk(features)
        return self.pose(x), F.normalize(self.up_head(x).transpose(1, 2), dim=-1)

    def trunk(self, features: torch.Tensor) -> torch.Tensor:
        """The shared temporal features (B, channels, T_out)."""
        batch, frames, joints, channels = features.shape
        if (joints, channels) != (self.num_joints, self.in_channels):
            raise ValueError(
                f"features must be (B, T, {self.num_joints}, {self.in_channels}), got {tuple(features.shape)}"
            )
        x = features.reshape(batch, frames, joints * channels).transpose(1, 2)
        x = F.conv1d(x, self.expand_conv.weight, dilation=self.dilations[0])
        x = self.drop(F.relu(self.expand_bn(x)))
        for i, (tconv, tbn, pconv, pbn) in enumerate(
            zip(self.temporal_convs, self.temporal_bns, self.pointwise_convs, self.pointwise_bns), start=1
        ):
            residual = self._crop_residual(x, i)
            x = self.drop(F.relu(tbn(F.conv1d(x, tconv.weight, dilation=self.dilations[i]))))
            x = self.drop(F.relu(pbn(pconv(x))))
            x = residual + x
        return x

    def pose(self, x: torch.Tensor) -> torch.Tensor:
        """Pelvis-relative pose (B, T_out, J, 3) from trunk features."""
        return root_centred(self.shrink(x).transpose(1, 2).reshape(x.shape[0], -1, self.num_joints, 3))

    def _crop_residual(self, x: torch.Tensor, layer: int) -> torch.Tensor:
        """The input frames a temporal convolution's outputs line up with."""
        span = (self.filter_widths[layer] - 1) * self.dilations[layer]
        offset = self._crop_offsets[layer]
        return x[:, :, offset : x.shape[2] - span + offset]
