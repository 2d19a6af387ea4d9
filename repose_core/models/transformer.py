"""Spatio-temporal transformer lifter in the MixSTE manner (Zhang et al., CVPR 2022).

Every joint of every frame is a token. Blocks alternate between spatial attention (the 17
joints of one frame attend to each other: body structure) and temporal attention (one joint
attends to itself across the window's frames: its motion). The output is seq2seq: a 3D pose for
every input frame of the window (``output_mode = "window"``).
"""
from __future__ import annotations

import torch
from torch import nn

from ..features import INPUT_CHANNELS
from ..skeleton import NUM_JOINTS, root_centred


class Attention(nn.Module):
    """Multi-head self-attention written with plain matmuls (exports to any ONNX opset)."""

    def __init__(self, dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim ({dim}) must be divisible by heads ({heads})")
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, length, dim = x.shape
        qkv = self.qkv(x).reshape(n, length, 3, self.heads, dim // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        weights = self.drop(torch.softmax((q @ k.transpose(-2, -1)) * self.scale, dim=-1))
        out = (weights @ v).transpose(1, 2).reshape(n, length, dim)
        return self.drop(self.proj(out))


class TransformerBlock(nn.Module):
    """Pre-norm transformer block over the second axis of (N, L, dim)."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float, dropout: float) -> None:
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads, dropout)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(
            nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, dim), nn.Dropout(dropout)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class SpatioTemporalTransformerLifter(nn.Module):
    """2D keypoint features (B, T, J, C) -> pelvis-relative 3D pose (B, T, J, 3) in metres.

    ``T`` may be anything up to ``window`` (the length of the learnt temporal position
    embedding); the runtime always feeds whole windows.
    """

    output_mode = "window"
    output_offset = 0  # seq2seq: output frame t is input frame t

    def __init__(
        self,
        window: int = 81,
        dim: int = 64,
        depth: int = 4,
        heads: int = 4,
        mlp_ratio: float = 2.0,
        dropout: float = 0.1,
        num_joints: int = NUM_JOINTS,
        in_channels: int = INPUT_CHANNELS,
        predict_up: bool = False,
    ) -> None:
        super().__init__()
        if window < 1 or depth < 1:
            raise ValueError(f"window and depth must be positive, got window={window}, depth={depth}")
        self.config = {
            "window": int(window),
            "dim": int(dim),
            "depth": int(depth),
            "heads": int(heads),
            "mlp_ratio": float(mlp_ratio),
            "dropout": float(dropout),
            "num_joints": int(num_joints),
            "in_channels": int(in_channels),
        }
        if predict_up:   # absent from older models' configs, which rebuild without it
            self.config["predict_up"] = True
        self.predict_up = bool(predict_up)
        self.window = int(window)
        self.receptive_field = int(window)
        self.num_joints = int(num_joints)
        self.in_channels = int(in_channels)

        self.embed = nn.Linear(in_channels, dim)
        self.joint_embedding = nn.Parameter(torch.zeros(1, 1, num_joints, dim))
        self.frame_embedding = nn.Parameter(torch.zeros(1, window, 1, dim))
        nn.init.trunc_normal_(self.joint_embedding, std=0.02)
        nn.init.trunc_normal_(self.frame_embedding, std=0.02)
        self.embed_drop = nn.Dropout(dropout)
        self.spatial_blocks = nn.ModuleList(TransformerBlock(dim, heads, mlp_ratio, dropout) for _ in range(depth))
        self.temporal_blocks = nn.ModuleList(TransformerBlock(dim, heads, mlp_ratio, dropout) for _ in range(depth))
        self.head_norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, 3)
        # The world's up direction in the camera frame, per frame, from the joints' mean token.
        self.up_head = nn.Linear(dim, 3) if predict_up else None

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """(B, T, J, C) -> pose (B, T, J, 3)."""
        return self.pose(self.trunk(features))

    def forward_with_up(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T, J, C) -> pose (B, T, J, 3) and the world's up direction (B, T, 3), unit
        vectors in the camera frame. Only for models built with ``predict_up``."""
        if self.up_head is None:
            raise ValueError("this model was built without predict_up")
        x = self.trunk(features)
        up = self.up_head(self.head_norm(x).mean(dim=2))
        return self.pose(x), torch.nn.functional.normalize(up, dim=-1)

    def pose(self, x: torch.Tensor) -> torch.Tensor:
        """Pelvis-relative pose (B, T, J, 3) from trunk tokens."""
        return root_centred(self.head(self.head_norm(x)))

    def trunk(self, features: torch.Tensor) -> torch.Tensor:
        """Joint tokens (B, T, J, dim) after the spatial and temporal blocks."""
        batch, frames, joints, channels = features.shape
        if (joints, channels) != (self.num_joints, self.in_channels):
            raise ValueError(
                f"features must be (B, T, {self.num_joints}, {self.in_channels}), got {tuple(features.shape)}"
            )
        if frames > self.window:
            raise ValueError(f"at most window={self.window} frames per call, got {frames}")
        x = self.embed(features) + self.joint_embedding + self.frame_embedding[:, :frames]
        x = self.embed_drop(x)
        dim = x.shape[-1]
        for spatial, temporal in zip(self.spatial_blocks, self.temporal_blocks):
            x = spatial(x.reshape(batch * frames, joints, dim)).reshape(batch, frames, joints, dim)
            x = x.transpose(1, 2).reshape(batch * joints, frames, dim)
            x = temporal(x).reshape(batch, joints, frames, dim).transpose(1, 2)
        return x
