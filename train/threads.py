"""How many torch threads a CPU run uses, chosen from the cores that are free when it starts.

OpenMP threads that wait on each other cost far more than they give on a busy machine: with both
cores of a 2-core machine taken by other jobs, ``threads: 2`` ran 13x slower than ``threads: 1``
(946 against 12,238 samples/s; ``bench/bench_train.py --threads 1 2`` measures it). So
``train.threads: null`` takes the cores free by the load average, less those the batch-making
worker processes need; a stated number is used as stated, with a warning when it is more than
are free. ``fit`` prints the choice and the reason.
"""
from __future__ import annotations

import os

from repose_core.runtime import _usable_cores as usable_cores  # the runtime's count (affinity-aware)


def choose_threads(setting: int | None, workers: int) -> tuple[int, str]:
    """(torch intra-op threads, why; the reason starts with "warning:" when ``setting`` asks for
    more threads than there are free cores)."""
    cores, load = usable_cores(), os.getloadavg()[0]
    free = max(0.0, cores - load)
    state = f"{cores} cores, load average {load:.1f} (~{free:.1f} free)"
    if setting:
        if setting > max(1, round(free)):
            return setting, (f"warning: train.threads {setting} but {state}: threads that wait on "
                             f"each other can be 10x slower than 1; set train.threads null to "
                             f"choose from the free cores")
        return setting, f"train.threads {setting}; {state}"
    # The prefetch thread of workers 0 is light; worker processes take a core each.
    threads = min(cores, max(1, round(free) - workers))
    return threads, f"train.threads null: chosen from {state}" + (
        f", less {workers} batch workers" if workers else "")
