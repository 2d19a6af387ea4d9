"""The training loop: small functions for one job each, and ``fit`` that strings them together.

Why it is fast on a CPU:
- sequence form: every window supervises ``frames_out`` output frames (a TCN's "valid" form), so
  one forward pass trains dozens of frames instead of one;
- batches are synthesised whole (vectorised cameras, projection, occlusion in ``train.synth``)
  from mocap that ``train.data`` prepared once and cached;
- a prefetch thread makes the next batches while the optimiser steps (numpy and torch release
  the GIL in their kernels, so both cores work); on a GPU, where one thread cannot keep up,
  ``train.workers`` processes make them instead.

Determinism and resume: every random stream of epoch ``e`` (its batches, torch's dropout) is
seeded from ``(seed, e)`` by ``train.seeds`` (with workers: worker ``k``'s batches from
``(seed, e, k)``, taken in turn), so a run resumed from the checkpoint written after epoch
``e - 1`` replays epoch ``e`` exactly; nothing from a killed epoch is kept or lost.

Several processes (``torchrun``): ``train.distributed`` holds every piece of it, and a plain
``python -m train fit`` runs none of them (one process, as ever). Each rank makes its own
batches (seeded by ``(seed, e, rank)``), DDP averages the gradients, rank 0 alone validates and
writes.
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import torch
from tqdm import tqdm

from repose_core.background import BackgroundIterator
from repose_core.losses import RePoseLoss
from repose_core.models import build_model
from repose_core.models.export import lifter_metadata

from . import distributed, evaluate
from .checkpoint import (CHECKPOINT_BEST, CHECKPOINT_LAST, load_checkpoint, resolve_checkpoint,
                         save_checkpoint)
from .config import ConfigError, config_differences, read_saved_config, resolve_path, save_config
from .dataset import TrainingData, load_training_data
from .device import autocast_dtype, precision_name
from .seeds import epoch_seeds
from .threads import choose_threads

HISTORY_FILE = "history.jsonl"


# ----------------------------------------------------------------------------- building blocks
# Model options a run may add to the network it starts from (train.init_from): more input
# channels (MediaPipe's 3D beside the 2D), the gravity head, and for a TCN more temporal blocks
# (filter_widths extended: a longer receptive field). The rest must match.
GROWABLE_OPTIONS: tuple[str, ...] = ("in_channels", "predict_up", "filter_widths")
# A new temporal block's last batch norm starts at this scale (and no shift), so that the grown
# network first computes within a thousandth of what the old one did; at exactly zero the ReLU
# after it would pass no gradient and the block would never learn.
NEW_BLOCK_SCALE: float = 1e-3


def load_initial_weights(model: torch.nn.Module, path: str | Path) -> dict:
    """Load ``train.init_from`` (a checkpoint, or a run directory: its best one) into ``model``.

    Only the weights come over; optimiser, schedule and epochs start afresh. The checkpoint must
    hold the network the config builds, or that network grown by GROWABLE_OPTIONS: then the new
    input channels start with zero weights (the grown model first computes what the old one did),
    a new gravity head starts from its initialisation, and new TCN blocks (the old filter widths
    followed by more) start as near-identities (:func:`grown_state`). Returns the checkpoint.
    """
    state = load_checkpoint(resolve_checkpoint(resolve_path(path)))
    theirs, ours = state["metadata"], lifter_metadata(model)
    grown = {k: v for k, v in ours["model_config"].items() if k not in GROWABLE_OPTIONS}
    base = {k: v for k, v in theirs["model_config"].items() if k not in GROWABLE_OPTIONS}
    old_widths = list(theirs["model_config"].get("filter_widths") or [])
    new_widths = list(ours["model_config"].get("filter_widths") or [])
    if ((theirs["backbone"], base) != (ours["backbone"], grown)
            or theirs["input_channels"] > ours["input_channels"]
            or new_widths[:len(old_widths)] != old_widths):
        raise ValueError(
            f"train.init_from {path}: it holds a {theirs['backbone']} {theirs['model_config']}, "
            f"the config builds a {ours['backbone']} {ours['model_config']}"
        )
    model.load_state_dict(grown_state(state["model"], model, theirs["input_channels"]))
    return state


def grown_state(old: dict[str, torch.Tensor], model: torch.nn.Module, old_channels: int) -> dict[str, torch.Tensor]:
    """``model``'s state with every tensor of ``old`` (a network with ``old_channels`` input
    channels per joint) carried over; where the first layer reads more channels per joint, the
    old weights go to the old channels and the new ones get zeros. A TCN's temporal blocks that
    ``old`` lacks keep their initialisation, but the last batch norm of each starts at
    NEW_BLOCK_SCALE with no shift: the block adds almost nothing to its residual, so the deeper
    network first computes (nearly) what the old one did on the frames both output."""
    new = model.state_dict()
    joints, channels = model.num_joints, model.in_channels
    for name, tensor in old.items():
        target = new[name]
        if tensor.shape == target.shape:
            new[name] = tensor
        elif name == "expand_conv.weight":     # TCN: input channel j * C + c
            grown = torch.zeros_like(target).reshape(target.shape[0], joints, channels, -1)
            grown[:, :, :old_channels] = tensor.reshape(tensor.shape[0], joints, old_channels, -1)
            new[name] = grown.reshape(target.shape)
        elif name == "embed.weight":           # transformer: a linear map of the channels
            grown = torch.zeros_like(target)
            grown[:, :old_channels] = tensor
            new[name] = grown
        else:
            raise ValueError(f"cannot grow {name} from {tuple(tensor.shape)} to {tuple(target.shape)}")
    for name in new:
        if name.startswith("pointwise_bns.") and name not in old:
            if name.endswith(".weight"):
                new[name] = torch.full_like(new[name], NEW_BLOCK_SCALE)
            elif name.endswith(".bias"):
                new[name] = torch.zeros_like(new[name])
    return new


def build_optimizer(model: torch.nn.Module, train_cfg: dict) -> torch.optim.Optimizer:
    return torch.optim.AdamW(model.parameters(), lr=train_cfg["lr"],
                             weight_decay=train_cfg["weight_decay"])


def build_scheduler(optimizer: torch.optim.Optimizer, train_cfg: dict) -> torch.optim.lr_scheduler.LRScheduler:
    """Cosine decay from ``lr`` to ``lr_final`` over all steps of the run (stepped per batch)."""
    total = train_cfg["epochs"] * train_cfg["batches_per_epoch"]
    floor = train_cfg["lr_final"] / train_cfg["lr"]

    def factor(step: int) -> float:
        progress = min(step / max(total, 1), 1.0)
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def build_loss(loss_cfg: dict) -> RePoseLoss:
    try:
        return RePoseLoss(**loss_cfg)
    except TypeError as error:  # an unknown option name
        raise ValueError(f"config 'loss': {error}") from error


class _WorkerBatches(torch.utils.data.IterableDataset):
    """Worker ``k`` of ``n`` makes batches ``k, k + n, k + 2n, ...`` of an epoch with its own
    sampler; the DataLoader takes the workers' batches in turn, so their order never depends on
    which process is faster."""

    def __init__(self, data: TrainingData, epoch: int, count: int, rank: int | None = None):
        self.data, self.epoch, self.count, self.rank = data, epoch, count, rank

    def __iter__(self) -> Iterator[dict]:
        info = torch.utils.data.get_worker_info()
        sampler = self.data.train_sampler(self.epoch, worker=info.id, rank=self.rank)
        for _ in range(info.id, self.count, info.num_workers):
            yield sampler.sample()


class WorkerPool:
    """``count`` batches of one epoch from ``workers`` processes, ``depth`` ahead each."""

    def __init__(self, data: TrainingData, epoch: int, count: int, workers: int, depth: int,
                 pin_memory: bool, rank: int | None = None):
        loader = torch.utils.data.DataLoader(
            _WorkerBatches(data, epoch, count, rank), batch_size=None, num_workers=workers,
            prefetch_factor=max(depth, 1), pin_memory=pin_memory)
        self._iterator: Iterator[dict] | None = iter(loader)

    def __iter__(self) -> Iterator[dict]:
        return self._iterator

    def close(self) -> None:
        self._iterator = None  # the DataLoader's iterator stops its processes when released


def epoch_batches(data: TrainingData, epoch: int, train_cfg: dict, device: torch.device,
                  rank: int | None = None):
    """The training batches of one epoch (an iterable with ``close``), per ``train.workers``;
    with ``rank`` (``Ranks.seed_key``), one rank's of a distributed run."""
    count, depth = train_cfg["batches_per_epoch"], train_cfg["prefetch"]
    if train_cfg["workers"] == 0:
        sampler = data.train_sampler(epoch, rank=rank)

        def tensors() -> Iterator[dict]:
            for _ in range(count):
                yield {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in sampler.sample().items()}

        return BackgroundIterator(tensors, depth, name="repose-prefetch")
    return WorkerPool(data, epoch, count, int(train_cfg["workers"]), depth,
                      pin_memory=device.type == "cuda", rank=rank)


def train_one_epoch(model: torch.nn.Module, loss_fn: RePoseLoss, optimizer: torch.optim.Optimizer,
                    scheduler, batches, device: torch.device, offset: int, train_cfg: dict,
                    amp_dtype: torch.dtype | None, scaler: torch.amp.GradScaler | None,
                    desc: str, progress: bool = True) -> dict[str, float]:
    """One pass over ``batches``; returns the mean loss parts and throughput (``progress``:
    show the progress bar).

    Throughput counts supervised frames ("samples"): windows x output frames per window.
    """
    model.train()
    sums: dict[str, float] = {}
    n_batches = 0
    supervised = 0
    start = time.perf_counter()
    bar = tqdm(batches, total=train_cfg["batches_per_epoch"], desc=desc, leave=False,
               dynamic_ncols=True, mininterval=1.0, disable=not progress)
    predicts_up = getattr(model, "predict_up", False)
    for batch in bar:
        x = batch["inputs"].to(device, non_blocking=True)
        up = None
        with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            if predicts_up:
                pred, up = model.forward_with_up(x)
            else:
                pred = model(x)
        pred = pred.float()
        frames = slice(offset, offset + pred.shape[1])
        target = batch["target"][:, frames].to(device, non_blocking=True)
        if up is not None:
            up = (up.float(), batch["up"][:, frames].to(device, non_blocking=True))
        total, parts = loss_fn(pred, target, up=up)
        optimizer.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(total).backward()
            scaler.unscale_(optimizer)
        else:
            total.backward()
        if train_cfg["grad_clip"]:
            torch.nn.utils.clip_grad_norm_(model.parameters(), train_cfg["grad_clip"])
        if scaler is not None:
            scaler.step(optimizer)
            scaler.update()
        else:
            optimizer.step()
        scheduler.step()

        n_batches += 1
        supervised += pred.shape[0] * pred.shape[1]
        sums["loss"] = sums.get("loss", 0.0) + float(total.detach())
        for key, value in parts.items():
            sums[key] = sums.get(key, 0.0) + float(value)
        elapsed = time.perf_counter() - start
        bar.set_postfix(loss=f"{sums['loss'] / n_batches:.4f}", samples_s=f"{supervised / elapsed:.0f}")
    elapsed = time.perf_counter() - start
    out = {key: value / max(n_batches, 1) for key, value in sums.items()}
    out["samples_per_s"] = supervised / elapsed
    out["seconds"] = elapsed
    return out


# ----------------------------------------------------------------------------- fit
def fit(cfg: dict, log: Callable[[str], None] = print) -> Path:
    """Train per ``cfg`` (resolved config) into its run directory; resume if one exists there.

    Returns the run directory. Writes ``config.yaml``, ``history.jsonl`` (one line per epoch:
    losses, throughput, validation metrics), ``last.pt``, ``best.pt`` and curve PNGs. Under
    ``torchrun`` this process is one rank of the run (``train.distributed``): rank 0 writes
    and logs, the others only train.
    """
    threads = torch.get_num_threads()
    ranks = distributed.Ranks.from_environment()
    try:
        return _fit(cfg, log if ranks.is_main else _silent, ranks)
    finally:  # train.threads is for this run, not for the rest of the calling process
        torch.set_num_threads(threads)
        distributed.stop(ranks)


def _silent(line: str) -> None:
    """The log of ranks other than 0: rank 0 says it for the run."""


FINISHED = "finished"


def _open_run(cfg: dict, run_dir: Path, ranks: distributed.Ranks, log: Callable[[str], None]) -> dict | str | None:
    """The run directory as rank 0 finds it: None (a new run), the checkpoint to resume from,
    or FINISHED. Refuses a directory that holds a run of another config or number of ranks;
    writes ``config.yaml`` for a run that trains."""
    run_dir.mkdir(parents=True, exist_ok=True)
    last_path = run_dir / CHECKPOINT_LAST
    state = None
    if last_path.is_file():
        saved = read_saved_config(run_dir)
        if saved != cfg:
            raise ConfigError(
                f"{run_dir} holds a run with a different config ({'; '.join(config_differences(saved, cfg))}); "
                f"resume it with its own config ({run_dir / 'config.yaml'}) or choose another run_dir"
            )
        state = load_checkpoint(last_path)
        done = state["epoch"] + 1
        if done >= cfg["train"]["epochs"]:
            log(f"{run_dir} is finished ({done} of {cfg['train']['epochs']} epochs): nothing to "
                f"train; for another run choose another name or run_dir")
            return FINISHED
        distributed.check_resumable(state, ranks, last_path)
    save_config(cfg, run_dir / "config.yaml")
    return state


def _fit(cfg: dict, log: Callable[[str], None], ranks: distributed.Ranks) -> Path:
    from .plots import plot_history  # matplotlib only when a run actually writes plots

    train_cfg = cfg["train"]
    rank_cfg = distributed.rank_train_cfg(train_cfg, ranks)  # train_cfg itself for one process
    device = distributed.start(ranks, train_cfg["device"])
    run_dir = resolve_path(cfg["run_dir"])
    resume = distributed.from_main(ranks, lambda: _open_run(cfg, run_dir, ranks, log))
    if resume == FINISHED:
        return run_dir

    if device.type == "cpu":
        threads, why = choose_threads(train_cfg["threads"], int(train_cfg["workers"]))
        threads, why = distributed.share_threads(ranks, threads, why, train_cfg["threads"])
        torch.set_num_threads(threads)
        log(f"torch threads: {threads} ({why})")
    torch.manual_seed(epoch_seeds(cfg["seed"], 0).weights)

    model = build_model(cfg["model"]).to(device)
    metadata = lifter_metadata(model)
    frames_in = evaluate.frames_in_for(model, train_cfg["frames_out"])
    offset = model.output_offset
    data = distributed.main_first(ranks, lambda: load_training_data(cfg, frames_in, log=log))

    optimizer = build_optimizer(model, rank_cfg)
    scheduler = build_scheduler(optimizer, rank_cfg)
    loss_fn = build_loss(cfg["loss"]).to(device)
    amp_dtype = autocast_dtype(device, train_cfg["amp"])
    # float16 needs loss scaling against gradient underflow; bfloat16 has float32's range.
    scaler = torch.amp.GradScaler("cuda") if amp_dtype == torch.float16 else None

    start_epoch, best = 0, math.inf
    if resume is not None:
        state = resume
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        if scaler is not None and "scaler" in state:
            scaler.load_state_dict(state["scaler"])
        start_epoch, best = state["epoch"] + 1, state["best"]
        if ranks.is_main:
            _truncate_history(run_dir / HISTORY_FILE, start_epoch)
        log(f"resuming {run_dir} at epoch {start_epoch + 1}/{train_cfg['epochs']}")
    elif train_cfg["init_from"] and ranks.is_main:  # DDP hands rank 0's weights to the others
        init = load_initial_weights(model, train_cfg["init_from"])
        log(f"starting from the weights of {train_cfg['init_from']} (its epoch {init['epoch'] + 1})")
    step_model = distributed.wrap(model, ranks, device)
    if train_cfg["compile"]:
        step_model = torch.compile(step_model)

    n_params = sum(p.numel() for p in model.parameters())
    precision = precision_name(amp_dtype) + ("" if amp_dtype is None else " autocast")
    log(f"model {cfg['model']['backbone']}: {n_params / 1e6:.2f} M parameters, receptive field "
        f"{model.receptive_field}, window {frames_in} -> {train_cfg['frames_out']} frames; "
        f"device {device}, {precision}")
    if ranks.distributed:
        log(f"{ranks.world_size} ranks ({distributed.backend_for(device)}): each makes "
            f"{rank_cfg['batches_per_epoch']} of an epoch's {train_cfg['batches_per_epoch']} batches; "
            f"a step averages {ranks.world_size} batches of {train_cfg['batch_size']} windows")

    for epoch in range(start_epoch, train_cfg["epochs"]):
        torch.manual_seed(epoch_seeds(cfg["seed"], epoch, rank=ranks.seed_key).torch)
        batches = epoch_batches(data, epoch, rank_cfg, device, rank=ranks.seed_key)
        try:
            record: dict[str, Any] = {"epoch": epoch + 1, "lr": optimizer.param_groups[0]["lr"]}
            record["train"] = distributed.reduce_epoch(ranks, train_one_epoch(
                step_model, loss_fn, optimizer, scheduler, batches, device, offset, rank_cfg,
                amp_dtype, scaler, desc=f"epoch {epoch + 1}/{train_cfg['epochs']}",
                progress=ranks.is_main), device)
        finally:
            batches.close()
        if ranks.is_main:
            best = _end_epoch(record, model, metadata, optimizer, scheduler, scaler, data, device,
                              epoch, best, cfg, run_dir, ranks, log)
            plot_history(read_history(run_dir), run_dir)
        distributed.barrier(ranks, device)  # the next epoch starts after rank 0's checkpoint
    return run_dir


def _end_epoch(record: dict, model: torch.nn.Module, metadata: dict, optimizer, scheduler, scaler,
               data: TrainingData, device: torch.device, epoch: int, best: float, cfg: dict,
               run_dir: Path, ranks: distributed.Ranks, log: Callable[[str], None]) -> float:
    """Validation (when due), history and checkpoints after an epoch (rank 0's work); returns
    the best selection score so far."""
    train_cfg = cfg["train"]
    last_epoch = epoch + 1 == train_cfg["epochs"]
    if (epoch + 1) % train_cfg["val_every"] == 0 or last_epoch:
        record["val"] = evaluate.evaluate(model, data.val_sets, device)
        score = selection_score(record["val"])
        if score < best:
            best = score
            save_checkpoint(run_dir / CHECKPOINT_BEST,
                            {"metadata": metadata, "model": model.state_dict(),
                             "epoch": epoch, "val": record["val"]})
    state = {"metadata": metadata, "model": model.state_dict(),
             "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
             "epoch": epoch, "best": best, **distributed.checkpoint_fields(ranks)}
    if scaler is not None:
        state["scaler"] = scaler.state_dict()
    # History first, checkpoint second: a kill in between leaves an extra history line
    # that resuming drops (_truncate_history), never a missing one.
    with open(run_dir / HISTORY_FILE, "a") as f:
        f.write(json.dumps(record) + "\n")
    save_checkpoint(run_dir / CHECKPOINT_LAST, state)
    log(format_epoch(record))
    return best


def selection_score(val: dict[str, dict[str, float]]) -> float:
    """Best checkpoint = lowest MPJPE averaged over the validation sets (clean and occluded)."""
    return float(np.mean([v["mpjpe"] for v in val.values()]))


def format_epoch(record: dict) -> str:
    tr = record["train"]
    parts = " ".join(f"{k}={v:.4f}" for k, v in tr.items() if k not in ("samples_per_s", "seconds"))
    line = f"epoch {record['epoch']}: {parts} | {tr['samples_per_s']:.0f} samples/s, {tr['seconds']:.0f}s"
    for name, values in record.get("val", {}).items():
        line += (f" | {name}: MPJPE {values['mpjpe']:.1f} mm, P-MPJPE {values['p_mpjpe']:.1f},"
                 f" bone {values['bone_dir_deg']:.1f} deg, order {values['depth_order_acc']:.3f}")
        if "up_deg" in values:
            line += f", up {values['up_deg']:.1f} deg"
    return line


def read_history(run_dir: str | Path) -> list[dict]:
    path = Path(run_dir) / HISTORY_FILE
    if not path.is_file():
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def _truncate_history(path: Path, epochs_done: int) -> None:
    """Drop history lines of epochs after the checkpoint (a kill between the two writes)."""
    if not path.is_file():
        return
    records = [r for r in read_history(path.parent) if r["epoch"] <= epochs_done]
    with open(path, "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in records)
