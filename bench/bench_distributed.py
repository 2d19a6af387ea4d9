"""Distributed training throughput: the real trainer under torchrun with 1, 2, ... ranks.

For each ``--ranks`` value R it runs

    torchrun --standalone --nproc_per_node=R -m train fit --config CONFIG \\
        --run_dir <temporary> --train.epochs E --train.batches_per_epoch B [overrides]

(R = 1 is the single-process run: torchrun with one process sets no rank) and prints the
samples/s of the last epoch as ``history.jsonl`` records it (every rank's supervised frames over
the slowest rank's time: the run's throughput), per rank, against the first R, and the wall
time of the whole command (process start, data, validation and checkpoints included). B is the
whole epoch's batches, shared out between the ranks; the last epoch is reported as the first
also pays for warm-up.

    python bench/bench_distributed.py [--config train/configs/default_cpu.yaml] [--ranks 1 2]
                                      [--batches 40] [--epochs 2]
                                      [--dotted.key value ...  (config overrides, as python -m train fit)]

On a GPU machine: ``--ranks 1 2 4 8`` with ``--config train/configs/default_gpu.yaml`` (each
rank on its own GPU, nccl); ``train.workers`` is per rank there.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO_ROOT = Path(__file__).resolve().parents[1]


def run(ranks: int, config: str, batches: int, epochs: int, rest: list[str], run_dir: Path) -> tuple[dict, float]:
    """The last epoch's training record and the command's wall time for ``ranks`` processes."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={ranks}",
               "-m", "train", "fit", "--config", config, "--run_dir", str(run_dir),
               "--train.epochs", str(epochs), "--train.batches_per_epoch", str(batches), *rest]
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    start = time.perf_counter()
    done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    lines = (run_dir / "history.jsonl").read_text().splitlines()
    threads = next((line for line in done.stdout.splitlines() if line.startswith("torch threads")), "")
    return json.loads(lines[-1])["train"] | {"threads_line": threads}, wall


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Any other --dotted.key value pair overrides the config, as in python -m train fit.")
    parser.add_argument("--config", default="train/configs/default_cpu.yaml", help="experiment YAML")
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2], help="processes per run (default 1 2)")
    parser.add_argument("--batches", type=int, default=40,
                        help="batches of an epoch, all ranks together (a multiple of every --ranks)")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per run; the last is reported")
    args, rest = parser.parse_known_args()

    device = "cuda" if torch.cuda.is_available() else "cpu"
    gpus = f", {torch.cuda.device_count()} x {torch.cuda.get_device_name(0)}" if device == "cuda" else ""
    print(f"config {args.config} {' '.join(rest)}; {args.batches} batches an epoch (all ranks), "
          f"{args.epochs} epochs; torch {torch.__version__}, {os.cpu_count()} cores{gpus}, "
          f"load average {os.getloadavg()[0]:.1f}")
    first = None
    for ranks in args.ranks:
        with tempfile.TemporaryDirectory(prefix=f"bench_ddp_{ranks}_") as tmp:
            record, wall = run(ranks, args.config, args.batches, args.epochs, rest, Path(tmp) / "run")
        rate = record["samples_per_s"]
        first = first or (ranks, rate)
        print(f"{ranks} rank(s): {rate:9.0f} samples/s ({rate / ranks:.0f} per rank; "
              f"x{rate / first[1]:.2f} of {first[0]} rank(s)); last epoch {record['seconds']:.1f} s, "
              f"whole command {wall:.0f} s; {record['threads_line']}; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
