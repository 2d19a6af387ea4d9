"""Every random stream of a run, from one ``numpy.random.SeedSequence`` keyed by
``(seed, epoch)``, or ``(seed, epoch, worker)`` for a batch-making process; in a run of several
processes (``torchrun``, ``train.distributed``) the rank comes after the epoch:
``(seed, epoch, rank[, worker])``. A single-process run never has a rank in its keys.

An epoch's batches and torch's own randomness then depend on the run's seed and the epoch
alone: a run resumed from the checkpoint written after epoch ``e - 1`` replays epoch ``e``
exactly, and worker ``k`` draws the same batches however fast the other workers are; rank ``r``
draws the same batches however fast the other ranks are.

Words of zero at the end of a key of up to four words do not change a ``SeedSequence``: rank 0
of a distributed run (without workers) draws what a single process draws, from the start of the
same stream.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class EpochSeeds:
    """The seeds of one epoch's random streams (32-bit integers)."""

    synthetic: int   # the sampler of windows synthesised from mocap
    rendered: int    # the sampler of windows from rendered footage
    torch: int       # torch's own randomness while the epoch trains (dropout)
    weights: int     # the network's initial weights (epoch 0's, drawn before it)


def epoch_seeds(seed: int, epoch: int, worker: int | None = None, rank: int | None = None) -> EpochSeeds:
    """The seeds of epoch ``epoch`` of a run seeded ``seed``; with ``worker``, those of one of
    its batch-making processes (``train.workers``); with ``rank``, those of one process of a
    distributed run (only when it has more than one: ``Ranks.seed_key``)."""
    key = [seed, epoch] + ([] if rank is None else [rank]) + ([] if worker is None else [worker])
    return EpochSeeds(*(int(word) for word in np.random.SeedSequence(key).generate_state(4)))
