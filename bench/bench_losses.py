"""Time the RePOSE loss terms against plain MPJPE, and their share of a training step.

    python bench/bench_losses.py [--threads 1] [--repeats 7]

The paper trains on B=1024 windows of 243 frames; on this CPU that is out of reach, so the
"paper window" case keeps T=243 and takes B=16 windows: every term's cost is linear in B, so
the overhead ratios carry over (the window mode is the one term quadratic in T, and T is kept).
The "trainer default" case is what ``train/configs/default_cpu.yaml`` feeds the loss (its
batch size and supervised frames per window), with that file's loss options.

Each figure is the fastest of ``--repeats`` runs of forward + backward, in CPU time of this
process (``time.process_time``): on a shared 2-core machine wall time mostly measures the other
processes, CPU time the work done. One torch thread by default, so CPU time is also the wall
time an idle core would take. The training-step figures time the
default model (``default_cpu.yaml``) forward, loss, backward and AdamW step, without and
with the RePOSE terms; the goal is that the terms add < 10 % to that step.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Callable

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from repose_core.losses import RePoseLoss, mpjpe  # noqa: E402
from repose_core.models import build_model  # noqa: E402
from repose_core.skeleton import NUM_JOINTS  # noqa: E402
from train.config import CONFIG_DIR, load_config  # noqa: E402

DEFAULT_CONFIG = load_config(CONFIG_DIR / "default_cpu.yaml")
DEFAULT_LOSS = "default_cpu.yaml loss options"

# name -> RePoseLoss options: the trainer's default, then each term alone (the other lambda 0)
# and both together.
VARIANTS: dict[str, dict] = {
    DEFAULT_LOSS: dict(DEFAULT_CONFIG["loss"]),
    "spatial hinge, all pairs (official)": dict(lambda_temporal=0.0),
    "spatial hinge, neighbour pairs": dict(lambda_temporal=0.0, pairs="neighbours"),
    "spatial hinge_margin": dict(lambda_temporal=0.0, spatial_variant="hinge_margin"),
    "spatial logistic": dict(lambda_temporal=0.0, spatial_variant="logistic"),
    "spatial hinge, ties pulled (5 cm)": dict(lambda_temporal=0.0, spatial_tie_threshold=0.05, spatial_ties="pull"),
    "temporal hinge, adjacent (paper)": dict(lambda_spatial=0.0),
    "temporal logistic, adjacent": dict(lambda_spatial=0.0, temporal_variant="logistic"),
    "temporal hinge, window (official)": dict(lambda_spatial=0.0, temporal_mode="window"),
    "spatial + temporal adjacent": dict(),
    "spatial + temporal window": dict(temporal_mode="window"),
}


def fastest_ms(fn: Callable[[], None], repeats: int) -> float:
    fn()  # warm-up: allocator, lazy initialisation
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best * 1e3


def loss_call(loss_fn: Callable, pred: torch.Tensor, target: torch.Tensor) -> Callable[[], None]:
    def run() -> None:
        pred.grad = None
        out = loss_fn(pred, target)
        (out[0] if isinstance(out, tuple) else out).backward()
    return run


def training_step(model: torch.nn.Module, loss_fn: RePoseLoss, inputs: torch.Tensor,
                  target: torch.Tensor, optimizer: torch.optim.Optimizer) -> Callable[[], None]:
    def run() -> None:
        pred = model(inputs)
        pred = pred - pred[:, :, :1]
        total, _ = loss_fn(pred, target)
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        optimizer.step()
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, CPU, {torch.get_num_threads()} threads, "
          f"fastest of {args.repeats} runs, forward + backward, CPU time")

    train_cfg = DEFAULT_CONFIG["train"]
    cases = {
        "paper window (B=16 of 1024, T=243)": (16, 243),
        f"trainer default (B={train_cfg['batch_size']}, T={train_cfg['frames_out']})":
            (train_cfg["batch_size"], train_cfg["frames_out"]),
    }
    print(f"default model: {DEFAULT_CONFIG['model']}; loss: {DEFAULT_CONFIG['loss']}")
    for case, (batch, frames) in cases.items():
        pred = (0.3 * torch.randn(batch, frames, NUM_JOINTS, 3)).requires_grad_(True)
        target = 0.3 * torch.randn(batch, frames, NUM_JOINTS, 3)
        print(f"\n## {case}: pred/target {tuple(pred.shape)}")
        base = fastest_ms(loss_call(mpjpe, pred, target), args.repeats)
        print(f"{'loss call':50s} {'ms':>9s} {'x MPJPE':>8s}")
        print(f"{'MPJPE alone':50s} {base:9.2f} {1.0:8.2f}")
        loss_ms = {}
        for name, options in VARIANTS.items():
            loss_ms[name] = ms = fastest_ms(loss_call(RePoseLoss(**options), pred, target), args.repeats)
            print(f"{name:50s} {ms:9.2f} {ms / base:8.2f}")

        model = build_model(DEFAULT_CONFIG["model"])
        inputs = torch.randn(batch, frames + model.receptive_field - 1, NUM_JOINTS, 3)
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
        plain = fastest_ms(training_step(model, RePoseLoss(0.0, 0.0), inputs, target, optimizer),
                           args.repeats)
        print(f"\ntraining step, default model (input {tuple(inputs.shape)}): {plain:.1f} ms with MPJPE only")
        # "added" compares two noisy step timings; "terms" divides the loss-call difference
        # measured above by the step, which is steadier on a busy machine.
        print(f"{'with':50s} {'ms':>9s} {'added':>8s} {'terms':>8s}")
        for name in (DEFAULT_LOSS, "spatial + temporal adjacent", "spatial logistic",
                     "temporal hinge, window (official)", "spatial + temporal window"):
            loss_fn = RePoseLoss(**VARIANTS[name])
            ms = fastest_ms(training_step(model, loss_fn, inputs, target, optimizer), args.repeats)
            terms = 100 * (loss_ms[name] - base) / plain
            print(f"{name:50s} {ms:9.1f} {100 * (ms - plain) / plain:7.1f}% {terms:7.1f}%")


if __name__ == "__main__":
    main()
