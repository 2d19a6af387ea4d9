"""Training throughput on CPU (GPU when there is one): supervised frames ("samples") per second.

Prints, for one experiment config (default: the shipped model's):
- data: batch synthesis alone (cameras, projection, occlusion, features) on one thread;
- step: forward + loss + backward + optimiser on pre-made batches, for the absolute-only loss
  and with the RePOSE terms (+spatial, +temporal, +both), and the overhead of each (best of
  --rounds interleaved rounds), in the trainer's precision (``train.amp``: bfloat16 autocast on
  CPUs with native bf16), and the config's loss in float32 for comparison;
- threads: the config's loss step once per ``--threads`` value (best of --rounds), with the
  machine's load: OpenMP threads that wait on each other on a busy machine cost far more than
  they give (train/threads.py picks the trainer's default from the free cores);
- end to end: the real epoch loop, batches made as ``train.workers`` says (0: the prefetch
  thread; N: N processes), once per ``--workers`` value;
- with --run RUN_DIR: that run's validation table (its best checkpoint).

    python bench/bench_train.py [--config train/configs/default_cpu.yaml] [--batches 20]
                                [--rounds 3] [--threads 1 2] [--workers 0 4 14] [--run runs/default_cpu]
                                [--dotted.key value ...  (config overrides, as python -m train fit)]
"""
from __future__ import annotations

import argparse
from pathlib import Path
import sys
import os
import time

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as `python bench/<script>.py`

from train.config import load_config, parse_overrides
from train.threads import choose_threads
from train.dataset import load_training_data
from train.device import autocast_dtype, precision_name, select_device
from train.evaluate import format_table, frames_in_for
from train.loop import build_loss, build_optimizer, build_scheduler, epoch_batches, train_one_epoch
from repose_core.models import build_model

LOSS_SETTINGS = {
    "absolute": (0.0, 0.0),
    "+spatial": (1.0, 0.0),
    "+temporal": (0.0, 1.0),
    "+both": (1.0, 1.0),
}


def time_steps(model, loss_fn, batches, device, offset, amp_dtype) -> float:
    """Seconds per training step, averaged over ``batches`` after one warm-up step."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def step(batch):
        with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            pred = model(batch["inputs"].to(device)).float()
        target = batch["target"][:, offset:offset + pred.shape[1]].to(device)
        total, _ = loss_fn(pred, target)
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        optimizer.step()

    step(batches[0])
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for batch in batches:
        step(batch)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / len(batches)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Any other --dotted.key value pair overrides the config, as in python -m train fit.")
    parser.add_argument("--config", default="train/configs/default_cpu.yaml", help="experiment YAML")
    parser.add_argument("--batches", type=int, default=20, help="batches per timing (default 20)")
    parser.add_argument("--rounds", type=int, default=3, help="timing rounds per setting (best kept)")
    parser.add_argument("--threads", type=int, nargs="+", default=None,
                        help="torch thread counts to time the step with (default: the trainer's "
                             "choice for the config's train.threads); the first one runs the rest")
    parser.add_argument("--workers", type=int, nargs="+", default=None,
                        help="end to end once per value of train.workers (default: the config's)")
    parser.add_argument("--run", default=None, help="also print this run's validation table")
    args, rest = parser.parse_known_args()

    cfg = load_config(args.config, parse_overrides(rest))
    train_cfg = cfg["train"]
    chosen, why = choose_threads(train_cfg["threads"], int(train_cfg["workers"]))
    thread_counts = args.threads or [chosen]
    torch.set_num_threads(thread_counts[0])
    device = select_device(train_cfg["device"])
    amp_dtype = autocast_dtype(device, train_cfg["amp"])
    precision = precision_name(amp_dtype)
    torch.manual_seed(0)
    model = build_model(cfg["model"]).to(device)
    frames_in = frames_in_for(model, train_cfg["frames_out"])
    offset = model.output_offset
    data = load_training_data(cfg, frames_in, log=lambda line: None)
    per_batch = train_cfg["batch_size"] * train_cfg["frames_out"]
    print(f"config {args.config}: {cfg['model']}, batch {train_cfg['batch_size']} windows x "
          f"{frames_in} frames -> {train_cfg['frames_out']} supervised; device {device} ({precision}), "
          f"torch threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f}; the "
          f"trainer would use {chosen} ({why})")

    sampler = data.train_sampler(0)
    start = time.perf_counter()
    raw = [sampler.sample() for _ in range(args.batches)]
    data_s = (time.perf_counter() - start) / args.batches
    print(f"data   synthesis (1 thread)        {per_batch / data_s:9.0f} samples/s  ({data_s * 1e3:.0f} ms/batch)")
    batches = [{k: torch.from_numpy(v) for k, v in b.items()} for b in raw]

    # Round-robin over the loss settings, best round each: a busy shared machine drifts by
    # more than the few per cent being measured, and interleaving spreads the drift evenly.
    losses = {name: build_loss(dict(cfg["loss"], lambda_spatial=s, lambda_temporal=t)).to(device)
              for name, (s, t) in LOSS_SETTINGS.items()}
    best = {name: float("inf") for name in losses}
    for _ in range(args.rounds):
        for name, loss_fn in losses.items():
            best[name] = min(best[name], time_steps(model, loss_fn, batches, device, offset, amp_dtype))
    for name, seconds in best.items():
        print(f"step   {name:<10} loss {precision:<11} {per_batch / seconds:9.0f} samples/s  "
              f"({seconds * 1e3:.0f} ms/step, overhead {100 * (seconds / best['absolute'] - 1):+.1f}%)")
    if amp_dtype is not None:
        config_loss = build_loss(cfg["loss"]).to(device)
        mixed, fp32 = float("inf"), float("inf")
        for _ in range(args.rounds):
            mixed = min(mixed, time_steps(model, config_loss, batches, device, offset, amp_dtype))
            fp32 = min(fp32, time_steps(model, config_loss, batches, device, offset, None))
        print(f"step   config loss float32     {per_batch / fp32:9.0f} samples/s  "
              f"({fp32 * 1e3:.0f} ms/step; {precision} {per_batch / mixed:.0f} samples/s, "
              f"{fp32 / mixed:.2f}x faster)")

    if len(thread_counts) > 1:
        config_loss = build_loss(cfg["loss"]).to(device)
        for threads in thread_counts:
            torch.set_num_threads(threads)
            seconds = min(time_steps(model, config_loss, batches, device, offset, amp_dtype)
                          for _ in range(args.rounds))
            print(f"step   {threads} torch thread(s), config loss {per_batch / seconds:9.0f} samples/s  "
                  f"({seconds * 1e3:.0f} ms/step; load average {os.getloadavg()[0]:.1f})")
        torch.set_num_threads(thread_counts[0])

    for workers in args.workers or [train_cfg["workers"]]:
        loop_cfg = dict(train_cfg, batches_per_epoch=args.batches, workers=workers)
        optimizer = build_optimizer(model, loop_cfg)
        start = time.perf_counter()
        batches = epoch_batches(data, 1, loop_cfg, device)
        try:
            stats = train_one_epoch(model, build_loss(cfg["loss"]).to(device), optimizer,
                                    build_scheduler(optimizer, loop_cfg), batches, device, offset,
                                    loop_cfg, amp_dtype, None, desc="end to end")
        finally:
            batches.close()
        maker = "prefetch thread" if workers == 0 else f"{workers} worker processes"
        print(f"end to end ({maker}, config loss) {stats['samples_per_s']:9.0f} samples/s; "
              f"{time.perf_counter() - start:.1f} s for {args.batches} batches with the workers' start")

    if args.run:
        from train.evaluate import evaluate_checkpoint

        results, path = evaluate_checkpoint(args.run)
        print(f"\nvalidation of {path}:")
        print(format_table(results))


if __name__ == "__main__":
    main()
