"""Training in several processes ("ranks") with ``torchrun`` and DistributedDataParallel.

    torchrun --standalone --nproc_per_node=N -m train fit --config ...      (one machine)
    torchrun --nnodes=M --nproc_per_node=N --rdzv_backend=c10d --rdzv_endpoint=HOST:29500 \\
             --rdzv_id=JOB -m train fit --config ...                          (each of M machines)

torchrun tells each process its place (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
``LOCAL_WORLD_SIZE``). Without them, or with a world of one, nothing here does anything and
``fit`` is the single-process run it always was (no process group, no rank in any seed).

A run of N ranks:
- rank ``r`` makes its own batches from ``train.seeds.epoch_seeds(seed, epoch, rank=r)``,
  ``train.batches_per_epoch / N`` of them an epoch (``rank_train_cfg``); DDP averages the N
  gradients at every step. An epoch is then ``batches_per_epoch / N`` steps of ``N x
  batch_size`` windows: the same windows per epoch as one process, in fewer, larger steps; the
  cosine schedule spans those steps; ``train.lr`` is used as configured, not scaled.
- Its batches depend on (config, N) alone, never on timing, so it resumes exactly, with the same
  N: the checkpoint records N and resuming with another is refused (another N is another run).
- Rank 0 alone looks at the run directory (start, resume or finished), reads the checkpoint and
  hands it to the other ranks (other machines need no copy of the run directory), validates on
  the whole fixed validation set exactly as a single process does (same weights, same figures),
  writes checkpoints, history, plots and the log; the others wait for it at the end of each epoch.
- Backend by device: ``gloo`` on the CPU, ``nccl`` on CUDA, where rank ``r`` uses the GPU
  ``LOCAL_RANK``. On a CPU the threads the trainer would choose are shared between the ranks of
  the machine (``train.threads`` when stated is per rank); ``train.workers`` is per rank.
"""
from __future__ import annotations

import os
import pickle
from dataclasses import dataclass
from typing import Callable, Mapping, TypeVar

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from .config import ConfigError
from .device import select_device

T = TypeVar("T")


@dataclass(frozen=True)
class Ranks:
    """This process's place in the run: rank of ``world_size``, and on its machine."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    local_world_size: int = 1

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> "Ranks":
        """What torchrun set; a plain process is rank 0 of 1."""
        if "WORLD_SIZE" not in environ:
            return cls()
        world = int(environ["WORLD_SIZE"])
        return cls(rank=int(environ.get("RANK", 0)), world_size=world,
                   local_rank=int(environ.get("LOCAL_RANK", 0)),
                   local_world_size=int(environ.get("LOCAL_WORLD_SIZE", world)))

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def seed_key(self) -> int | None:
        """The rank as a word of the seeds' keys: only when there are several ranks, so a
        single-process run's streams stay what they were."""
        return self.rank if self.distributed else None


def backend_for(device: torch.device) -> str:
    return "nccl" if device.type == "cuda" else "gloo"


def rank_train_cfg(train_cfg: dict, ranks: Ranks) -> dict:
    """``train`` as one rank runs it: ``batches_per_epoch / world_size`` batches an epoch (the
    steps the schedule counts). The config itself, and the run's saved one, keep the total."""
    if not ranks.distributed:
        return train_cfg
    total, world = int(train_cfg["batches_per_epoch"]), ranks.world_size
    if total % world:
        lower, upper = total // world * world, -(-total // world) * world
        raise ConfigError(f"train.batches_per_epoch {total} is not a multiple of the {world} ranks "
                          f"(each rank makes batches_per_epoch / {world}): use {lower or upper} or {upper}")
    return dict(train_cfg, batches_per_epoch=total // world)


def start(ranks: Ranks, device_name: str) -> torch.device:
    """The device of this rank (``train.device``), and with several ranks the process group:
    ``nccl`` for CUDA, each rank on GPU ``LOCAL_RANK``; ``gloo`` on the CPU."""
    device = select_device(device_name)
    if not ranks.distributed:
        return device
    if device.type == "cuda":
        if device.index is not None:
            raise ConfigError(f"train.device {device_name}: with {ranks.world_size} ranks each uses "
                              f"the GPU of its LOCAL_RANK; set train.device cuda or auto")
        if ranks.local_world_size > torch.cuda.device_count():
            raise ConfigError(f"{ranks.local_world_size} ranks on this machine but torch sees "
                              f"{torch.cuda.device_count()} GPUs: torchrun --nproc_per_node at most that")
        device = torch.device("cuda", ranks.local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend_for(device),
                                device_id=device if device.type == "cuda" else None)
    return device


def stop(ranks: Ranks) -> None:
    if ranks.distributed and dist.is_initialized():
        dist.destroy_process_group()


def barrier(ranks: Ranks, device: torch.device) -> None:
    """Every rank waits here for the others (rank 0's end-of-epoch writes, say)."""
    if ranks.distributed:
        dist.barrier(device_ids=[device.index] if device.type == "cuda" else None)


def _shared(ranks: Ranks, outcome: tuple[object, BaseException | None]) -> tuple[object, BaseException | None]:
    """Rank 0's ``(value, error)`` on every rank."""
    if ranks.is_main and outcome[1] is not None:
        try:
            pickle.dumps(outcome[1])
        except Exception:  # noqa: BLE001 - an error that does not pickle still stops every rank
            outcome = (None, RuntimeError(f"rank 0: {type(outcome[1]).__name__}: {outcome[1]}"))
    box = [outcome if ranks.is_main else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def _attempt(make: Callable[[], T]) -> tuple[T | None, BaseException | None]:
    try:
        return make(), None
    except Exception as error:  # noqa: BLE001 - handed to every rank, raised there
        return None, error


def from_main(ranks: Ranks, make: Callable[[], T]) -> T:
    """``make()`` on rank 0 alone, its result (or its exception) on every rank: one look at the
    run directory and one copy of the checkpoint for the whole run."""
    if not ranks.distributed:
        return make()
    value, error = _shared(ranks, _attempt(make) if ranks.is_main else (None, None))
    if error is not None:
        raise error
    return value


def main_first(ranks: Ranks, make: Callable[[], T]) -> T:
    """``make()`` on rank 0, then on the others: caches rank 0 writes (parsed mocap,
    detections) are read by the others instead of written by all at once. An error on rank 0
    is raised on every rank."""
    if not ranks.distributed:
        return make()
    value, error = _attempt(make) if ranks.is_main else (None, None)
    _, error = _shared(ranks, (None, error))
    if error is not None:
        raise error
    return value if ranks.is_main else make()


def share_threads(ranks: Ranks, threads: int, why: str, setting: int | None) -> tuple[int, str]:
    """The CPU threads of one rank: what ``train.threads`` states, or the trainer's choice for
    the machine split between the ranks on it."""
    if setting or ranks.local_world_size == 1:
        return threads, why
    share = max(1, threads // ranks.local_world_size)
    return share, f"{why}; {share} for each of the {ranks.local_world_size} ranks on this machine"


def check_resumable(state: dict, ranks: Ranks, path: os.PathLike | str) -> None:
    """A run resumes only with the number of ranks it was started with (its batches depend on it)."""
    saved = int(state.get("world_size", 1))
    if saved != ranks.world_size:
        how = "plain python -m train fit" if saved == 1 else f"{saved} ranks (torchrun: nnodes x nproc_per_node)"
        raise ConfigError(f"{path} was trained by {saved} process(es) and this run has "
                          f"{ranks.world_size}: its batches depend on that number, so it resumes "
                          f"only with {how}; for another number choose another run_dir")


def checkpoint_fields(ranks: Ranks) -> dict:
    """What a distributed run adds to its checkpoints (nothing for a single process)."""
    return {"world_size": ranks.world_size} if ranks.distributed else {}


def reduce_epoch(ranks: Ranks, stats: dict[str, float], device: torch.device) -> dict[str, float]:
    """One epoch's training figures for the whole run: loss parts averaged over the ranks,
    samples/s of all ranks together (all their samples over the slowest rank's time)."""
    if not ranks.distributed:
        return stats
    keys = list(stats)  # the same keys in the same order on every rank
    sums = torch.tensor([stats[k] for k in keys] + [stats["samples_per_s"] * stats["seconds"]],
                        dtype=torch.float64, device=device)
    longest = torch.tensor([stats["seconds"]], dtype=torch.float64, device=device)
    dist.all_reduce(sums)
    dist.all_reduce(longest, op=dist.ReduceOp.MAX)
    values = (sums / ranks.world_size).tolist()
    out = dict(zip(keys, values[:-1]))
    out["seconds"] = float(longest.item())
    out["samples_per_s"] = float(sums[-1].item()) / max(out["seconds"], 1e-9)
    return out


class _Forward(torch.nn.Module):
    """What DDP runs: the lifter's forward, or its ``forward_with_up`` (gravity head), so both
    pass through DDP's forward and its gradient bookkeeping."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor, with_up: bool = False):
        return self.model.forward_with_up(x) if with_up else self.model(x)


class DistributedLifter(DistributedDataParallel):
    """A lifter under DDP with the interface the training step uses (``predict_up``,
    ``forward_with_up``). Checkpoints hold the lifter's own ``state_dict``, as ever."""

    def __init__(self, model: torch.nn.Module, device: torch.device):
        super().__init__(_Forward(model), device_ids=[device.index] if device.type == "cuda" else None)

    @property
    def predict_up(self) -> bool:
        return bool(getattr(self.module.model, "predict_up", False))

    def forward_with_up(self, x: torch.Tensor):
        return self(x, with_up=True)


def wrap(model: torch.nn.Module, ranks: Ranks, device: torch.device) -> torch.nn.Module:
    """The module the training step runs: ``model`` itself, or under DDP with several ranks
    (which makes every rank start from rank 0's weights)."""
    return DistributedLifter(model, device) if ranks.distributed else model
