"""Where a run computes, and in what precision: the device from ``train.device`` and the
mixed-precision type from ``train.amp``."""
from __future__ import annotations

import torch


def select_device(name: str) -> torch.device:
    """``train.device``: "auto" (a CUDA GPU when torch sees one, else the CPU), "cuda" or "cpu"."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("train.device is 'cuda' but torch sees no CUDA device")
    return torch.device(name)


def evaluation_device(trained_on: str) -> torch.device:
    """Where a finished run is scored: its own device, or the CPU for a run trained on a GPU
    that this machine lacks."""
    return select_device("cpu" if trained_on == "cuda" and not torch.cuda.is_available() else trained_on)


def autocast_dtype(device: torch.device, amp: bool) -> torch.dtype | None:
    """The mixed-precision type of a run, or None for float32.

    CUDA: float16 (with a GradScaler). CPU: bfloat16 where the CPU has native bf16 arithmetic
    (AVX512-BF16 or AMX), which halves a TCN step's time (docs/benchmarks.md); float32 elsewhere,
    where emulated bf16 would be slower than float32. Weights, loss and validation stay float32.
    """
    if not amp:
        return None
    if device.type == "cuda":
        return torch.float16
    if device.type == "cpu" and (torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()):
        return torch.bfloat16
    return None


def precision_name(amp_dtype: torch.dtype | None) -> str:
    """"float32", "bfloat16" or "float16": how a run's steps compute, for logs and benches."""
    return "float32" if amp_dtype is None else str(amp_dtype).removeprefix("torch.")
