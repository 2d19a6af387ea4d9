"""Run ``pipeline.analyse`` in a worker thread and report progress the UI can poll (no bpy).

The modal operator starts an :class:`ImportJob`, polls :meth:`ImportJob.progress` from a timer
(Blender's API may only be touched from the main thread, so the worker never calls it) and takes
:meth:`ImportJob.result` once :attr:`ImportJob.finished`. Cancelling sets a flag that
``analyse`` checks every frame; the worker then ends with ``ImportCancelled``. Given a log
file, what the libraries print during the analysis (MediaPipe, FFmpeg) goes there instead of
the terminal (:func:`analyse_logged`, which a blocking import calls directly).
"""
from __future__ import annotations

import threading
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from repose_core.progress import Progress

from .console import OutputToLog
from .pipeline import STAGES, ImportOptions, MotionResult, analyse

# Share of the whole run each stage takes, for one progress bar and the ETA. Detection runs a
# network per frame and dominates; lifting is one batched call; animating is numpy over arrays.
STAGE_WEIGHTS: dict[str, float] = {"detect": 0.85, "lift": 0.10, "animate": 0.05}
# Below this much progress an ETA is mostly noise (model loading, the first frames' warm-up).
MIN_FRACTION_FOR_ETA: float = 0.03

assert set(STAGE_WEIGHTS) == set(STAGES), "STAGE_WEIGHTS must cover pipeline.STAGES"


@dataclass(frozen=True)
class JobProgress:
    stage: str          # one of pipeline.STAGES, or "start" before the first report
    done: int           # units of the stage done (frames while detecting)
    total: int
    fraction: float     # of the whole job, 0..1
    elapsed: float      # seconds since start
    eta: float | None   # seconds left, None while unknown

    def describe(self) -> str:
        """One line for a status bar, e.g. ``Detecting 37/100 frames, about 4 s left``."""
        verbs = {"start": "Starting", "detect": "Detecting", "lift": "Lifting", "animate": "Animating"}
        text = verbs.get(self.stage, self.stage.capitalize())
        if self.stage == "detect" and self.total:
            text += f" {self.done}/{self.total} frames"
        if self.eta is not None:
            text += f", about {format_seconds(self.eta)} left"
        return text


def analyse_logged(options: ImportOptions, log_path: Path | None, progress: Progress | None = None,
                   cancel: Callable[[], bool] | None = None) -> MotionResult:
    """``analyse`` with what the libraries print sent to ``log_path`` (None: the terminal)."""
    with nullcontext() if log_path is None else OutputToLog(log_path):
        return analyse(options, progress=progress, cancel=cancel)


def format_seconds(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes} min {seconds:02d} s"


def overall_fraction(stage: str, done: int, total: int) -> float:
    """Progress of the whole job from one stage's progress (stages run in STAGES order)."""
    if stage not in STAGE_WEIGHTS:
        return 0.0
    before = sum(STAGE_WEIGHTS[s] for s in STAGES[: STAGES.index(stage)])
    within = done / total if total > 0 else 0.0
    return min(1.0, before + STAGE_WEIGHTS[stage] * min(max(within, 0.0), 1.0))


class ImportJob:
    """One ``analyse`` run in a daemon thread; every public method is safe from the main thread."""

    def __init__(self, options: ImportOptions, log_path: Path | None = None):
        self.options = options
        self.log_path = log_path
        self._cancel = threading.Event()
        self._state = ("start", 0, 0)  # replaced whole (one reference swap), never mutated
        self._result: MotionResult | None = None
        self._error: BaseException | None = None
        self._started = 0.0
        self._thread = threading.Thread(target=self._run, name="RePOSE import", daemon=True)

    def start(self) -> "ImportJob":
        self._started = time.perf_counter()
        self._thread.start()
        return self

    def _report(self, stage: str, done: int, total: int) -> None:
        self._state = (stage, int(done), int(total))

    def _run(self) -> None:
        try:
            self._result = analyse_logged(self.options, self.log_path, progress=self._report,
                                          cancel=self._cancel.is_set)
        except BaseException as error:  # handed to the main thread, which reports it
            self._error = error

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def finished(self) -> bool:
        return self._started > 0 and not self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the worker ends (or ``timeout`` seconds); True when it has ended."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def progress(self) -> JobProgress:
        stage, done, total = self._state
        fraction = overall_fraction(stage, done, total)
        elapsed = time.perf_counter() - self._started if self._started else 0.0
        eta = None
        if fraction >= MIN_FRACTION_FOR_ETA:
            eta = elapsed * (1.0 - fraction) / fraction
        return JobProgress(stage, done, total, fraction, elapsed, eta)

    def result(self) -> MotionResult:
        """The analysis result; re-raises the worker's exception (ImportCancelled included)."""
        if not self.finished:
            raise RuntimeError("the import job is still running")
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result
