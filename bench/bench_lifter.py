"""Lifter throughput on CPU: frames per second of ``load_lifter(...).predict`` on one sequence.

For each backbone configuration a randomly initialised model (speed does not depend on the
weights) is saved as ``.onnx`` (onnxruntime) and as a ``.pt`` checkpoint (torch), and the full
runtime path is timed: NaN filling, features, padding, chunking, test-time flip, the model.
Goal for the default model: >= 20,000 frames/s with flip through onnxruntime on a 2-core CPU.

    python bench/bench_lifter.py [--frames 10000] [--repeats 3] [--threads N] [--configs tcn-128-81 ...]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as `python bench/<script>.py`

from repose_core.models import build_model
from repose_core.models.export import export_onnx, lifter_metadata
from repose_core.runtime import load_lifter

CONFIGS: dict[str, dict] = {
    # train/configs/default_world_rolled.yaml, the shipped model: reads MediaPipe's 3D too, says where up is
    "tcn-384-27-world": {"backbone": "tcn", "filter_widths": [3, 3, 3], "channels": 384, "in_channels": 7,
                         "predict_up": True},
    "tcn-384-27": {"backbone": "tcn", "filter_widths": [3, 3, 3], "channels": 384},  # train/configs/default_cpu.yaml
    "tcn-256-27": {"backbone": "tcn", "filter_widths": [3, 3, 3], "channels": 256},  # the first default model
    "tcn-64-81": {"backbone": "tcn", "filter_widths": [3, 3, 3, 3], "channels": 64},
    "tcn-128-81": {"backbone": "tcn", "filter_widths": [3, 3, 3, 3], "channels": 128},
    "tcn-128-243": {"backbone": "tcn", "filter_widths": [3, 3, 3, 3, 3], "channels": 128},
    "tcn-256-81": {"backbone": "tcn", "filter_widths": [3, 3, 3, 3], "channels": 256},
    "tcn-256-243": {"backbone": "tcn", "filter_widths": [3, 3, 3, 3, 3], "channels": 256},
    "transformer-64x4-81": {"backbone": "transformer", "window": 81, "dim": 64, "depth": 4, "heads": 4},
}


def frames_per_second(lifter, keypoints: np.ndarray, image_size, repeats: int) -> tuple[float, float]:
    """Best-of-``repeats`` frames per wall-clock second, and frames per CPU second of this process.

    The second figure is less sensitive to other processes competing for the cores (the wall
    clock counts time spent waiting for them; CPU time does not).
    """
    lifter.predict(keypoints[:500], image_size)  # warm-up: session allocations, thread pool
    best_wall = best_cpu = float("inf")
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        lifter.predict(keypoints, image_size)
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    return len(keypoints) / best_wall, len(keypoints) / best_cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="onnxruntime/torch threads (default: all cores)")
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    rng = np.random.default_rng(0)
    image_size = (1920, 1080)
    # A person-sized random walk of keypoints; the values do not change the cost.
    keypoints = (np.array([960.0, 540.0]) + rng.normal(0, 120, (17, 2))
                 + np.cumsum(rng.normal(0, 2, (args.frames, 1, 2)), axis=0))
    print(f"{args.frames} frames, torch threads {torch.get_num_threads()}, best of {args.repeats}")
    print(f"{'config':<22}{'RF':>5}{'params':>11}{'ort flip':>11}{'ort no-flip':>13}{'torch flip':>12}"
          f"{'ort flip /cpu-s':>17}")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.configs:
            torch.manual_seed(0)
            model = build_model(CONFIGS[name]).eval()
            onnx_path = export_onnx(model, None, Path(tmp) / f"{name}.onnx")
            pt_path = Path(tmp) / f"{name}.pt"
            torch.save({"metadata": lifter_metadata(model), "model": model.state_dict()}, pt_path)
            ort_lifter = load_lifter(onnx_path, num_threads=args.threads)
            ort_flip, ort_flip_cpu = frames_per_second(ort_lifter, keypoints, image_size, args.repeats)
            ort_lifter.flip = False
            ort_plain, _ = frames_per_second(ort_lifter, keypoints, image_size, args.repeats)
            torch_flip, _ = frames_per_second(load_lifter(pt_path), keypoints, image_size, args.repeats)
            params = sum(p.numel() for p in model.parameters())
            print(f"{name:<22}{model.receptive_field:>5}{params:>11,}{ort_flip:>11,.0f}{ort_plain:>13,.0f}"
                  f"{torch_flip:>12,.0f}{ort_flip_cpu:>17,.0f}", flush=True)
    print("frames/s (wall clock) of the whole predict() path: features, padding, chunking, model;")
    print("'/cpu-s': frames per CPU-second of this process (all threads), for a loaded machine")


if __name__ == "__main__":
    main()
