"""Training-data throughput: mocap preparation and synthetic batches per second (CPU, numpy).

    python bench/bench_data.py [--repeats 5] [--mocap ../shared/data/mocap]

Figures:
- mocap preparation of the shared CMU data (cmu/ + cmu_daz/, ~224k frames at 120 fps -> 30 fps):
  cold (parse, forward kinematics, resample) and from the .npz cache;
- SyntheticSampler batches at the trainer's sizes: ``default_cpu.yaml`` (64 windows of 58
  frames = TCN receptive field 27 + 32 output frames - 1) and two larger ones, clean 2D and with
  the occlusion/detector simulation. "samples/s" counts supervised frames (windows x 32 output
  frames), the unit of the trainer's throughput; "frames/s" counts every synthesised frame.

Each batch figure is the fastest of ``--repeats`` runs in CPU time of this process
(``time.process_time``): on the shared 2-core machine, wall time mostly measures the other
processes. numpy runs these on one core.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from train.data.mocap import cmu_train_val  # noqa: E402
from train.synth.occlusion import OcclusionConfig  # noqa: E402
from train.synth.sampler import SyntheticSampler, build_validation_set  # noqa: E402

FRAMES_OUT = 32
CASES = (  # (label, batch, window)
    ("default_cpu.yaml: TCN rf 27", 64, 27 + FRAMES_OUT - 1),
    ("TCN rf 81", 64, 81 + FRAMES_OUT - 1),
    ("TCN rf 243, GPU batch", 256, 243 + FRAMES_OUT - 1),
)


def cpu_seconds(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--mocap", type=Path,
                        default=Path(__file__).resolve().parents[2] / "shared" / "data" / "mocap")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as cache:
        start, cpu = time.perf_counter(), time.process_time()
        train, val = cmu_train_val(args.mocap, fps=30, cache_dir=cache)
        cold_wall, cold_cpu = time.perf_counter() - start, time.process_time() - cpu
        start = time.perf_counter()
        cmu_train_val(args.mocap, fps=30, cache_dir=cache)
        warm = time.perf_counter() - start
    print("Mocap preparation (cmu/ + cmu_daz/ at 30 fps)")
    print(f"  train {len(train)} clips / {train.num_frames} frames, "
          f"validation {len(val)} clips / {val.num_frames} frames")
    print(f"  cold: {cold_cpu:.1f} s CPU ({cold_wall:.1f} s wall); from cache: {warm:.2f} s wall")
    print()
    print(f"{'batch shape':38s} {'occlusion':>9s} {'ms/batch':>9s} {'windows/s':>10s} "
          f"{'frames/s':>10s} {'samples/s':>10s}")
    for label, batch, window in CASES:
        for occlusion in (None, OcclusionConfig()):
            sampler = SyntheticSampler(train, window, batch, occlusion=occlusion, seed=0)
            sampler.sample()
            t = cpu_seconds(sampler.sample, args.repeats)
            print(f"{label + f' ({batch}x{window})':38s} {'on' if occlusion else 'off':>9s} "
                  f"{1000 * t:9.1f} {batch / t:10.0f} {batch * window / t:10.0f} "
                  f"{batch * FRAMES_OUT / t:10.0f}")
    start = time.process_time()
    build_validation_set(val, 27 + FRAMES_OUT - 1, 512, seed=0)
    print(f"\nvalidation sets (512 windows x 58 frames, clean + occluded): "
          f"{time.process_time() - start:.2f} s CPU")


if __name__ == "__main__":
    main()
