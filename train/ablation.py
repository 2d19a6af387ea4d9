"""The paper's ablation: absolute only, + spatial, + temporal, + both — same data, seeds, budget.

The base config gives the loss weights of the full RePOSE configuration; the other three runs
switch one or both relational terms off. Everything else (data, seeds, epochs, batches, model)
is identical, so differences come from the loss alone. Each run is an ordinary ``fit`` run
directory (resumable); the table reads each run's *final* epoch (same budget), not its best one,
so no configuration gets to pick its epoch on the validation set.

Each invocation trains into its own directory under the base's ``run_dir``, named by its budget
and a digest of its config: the same command again resumes its runs, and a small trial with
other settings never writes into (and so never blocks) the documented runs. The report states
its n (seeds), shows the sample standard deviation over them, and warns when the budget is too
small for the differences to mean anything; its bars start at zero.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

import torch

from .config import set_dotted
from .evaluate import METRIC_LABELS, format_value
from .loop import fit, read_history
from .plots import plot_ablation

# name -> (use spatial term, use temporal term)
CONFIGURATIONS: dict[str, tuple[bool, bool]] = {
    "absolute": (False, False),
    "+spatial": (True, False),
    "+temporal": (False, True),
    "+both": (True, True),
}

# (validation set, metric) pairs in the table, and those in the plot.
TABLE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("clean", "mpjpe"),
    ("clean", "bone_dir_deg"),
    ("clean", "depth_order_acc"),
    ("occluded", "mpjpe"),
    ("occluded", "occluded_mpjpe"),
    ("occluded", "visible_mpjpe"),
    ("occluded", "bone_dir_deg"),
    ("occluded", "depth_order_acc"),
    ("occluded", "accel_err"),
)
# Below this many optimiser steps per run the four runs are still in their first descent, where
# seed noise is larger than what the loss terms change (the documented ablation takes 400).
MIN_MEANINGFUL_STEPS = 200
PLOT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("occluded", "mpjpe"),
    ("occluded", "occluded_mpjpe"),
    ("occluded", "visible_mpjpe"),
    ("occluded", "depth_order_acc"),
)


def ablation_configs(base: dict, seed: int) -> dict[str, dict]:
    """The four run configs of one seed, derived from ``base`` (whose loss weights are "+both")."""
    lambda_s = base["loss"]["lambda_spatial"]
    lambda_t = base["loss"]["lambda_temporal"]
    if lambda_s <= 0 or lambda_t <= 0:
        raise ValueError(
            "ablation base config needs loss.lambda_spatial > 0 and loss.lambda_temporal > 0 "
            f"(the full RePOSE weights), got {lambda_s} and {lambda_t}"
        )
    root = invocation_dir(base) / f"seed{seed}"
    out = {}
    for name, (spatial, temporal) in CONFIGURATIONS.items():
        cfg = set_dotted(base, "loss.lambda_spatial", lambda_s if spatial else 0.0)
        cfg = set_dotted(cfg, "loss.lambda_temporal", lambda_t if temporal else 0.0)
        cfg = set_dotted(cfg, "seed", seed)
        cfg = set_dotted(cfg, "name", f"{base['name']}-{name.lstrip('+')}-seed{seed}")
        cfg = set_dotted(cfg, "run_dir", str(root / name.lstrip("+")))
        out[name] = cfg
    return out


def invocation_dir(base: dict) -> Path:
    """``<run_dir>/e<epochs>b<batches>-<digest>``: the runs of one ablation config, apart from
    those of any other (a trial with a smaller budget, another loss setting)."""
    settings = {k: v for k, v in base.items() if k not in ("name", "run_dir", "seed")}
    digest = hashlib.sha1(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:8]
    train = base["train"]
    return Path(base["run_dir"]) / f"e{train['epochs']}b{train['batches_per_epoch']}-{digest}"


def spread(values: Sequence[float]) -> float:
    """Sample standard deviation (n - 1) over seeds: what the report and the plot's bars show."""
    return float(np.std(values, ddof=1)) if len(values) > 1 else float("nan")


def budget_warnings(base: dict, seeds: Sequence[int]) -> list[str]:
    """Why the table may not mean anything: too few steps per run, or a single seed."""
    steps = base["train"]["epochs"] * base["train"]["batches_per_epoch"]
    out = []
    if steps < MIN_MEANINGFUL_STEPS:
        out.append(f"only {steps} optimiser steps per run (fewer than {MIN_MEANINGFUL_STEPS}): the "
                   f"runs are still in their first descent, where seed noise outweighs what the loss "
                   f"terms change; the differences below do not mean anything")
    if len(seeds) < 2:
        out.append("one seed: no spread, so a difference between rows cannot be told from seed noise")
    return out


def run_ablation(base: dict, out_md: str | Path, command: str, seeds: Sequence[int] | None = None,
                 log: Callable[[str], None] = print) -> dict[str, dict[str, list[float]]]:
    """Train the four configurations for every seed; write ``out_md`` and a PNG beside it.

    Returns ``{configuration: {"set:metric": [value per seed]}}`` from each run's final epoch.
    """
    seeds = [base["seed"]] if not seeds else list(seeds)
    out_md = Path(out_md)
    out_md.parent.mkdir(parents=True, exist_ok=True)
    for warning in budget_warnings(base, seeds):
        log(f"warning: {warning}")
    log(f"ablation runs: {invocation_dir(base)}")
    started = time.time()
    rows: dict[str, dict[str, list[float]]] = {name: {} for name in CONFIGURATIONS}
    for seed in seeds:
        for name, cfg in ablation_configs(base, seed).items():
            log(f"== ablation: {name}, seed {seed} (lambda_spatial={cfg['loss']['lambda_spatial']}, "
                f"lambda_temporal={cfg['loss']['lambda_temporal']})")
            run_dir = fit(cfg, log=log)
            final = read_history(run_dir)[-1]
            if "val" not in final:
                raise RuntimeError(f"{run_dir}: the final epoch has no validation record")
            for s, m in TABLE_COLUMNS:
                rows[name].setdefault(f"{s}:{m}", []).append(final["val"][s][m])

    png = out_md.with_suffix(".png")
    plot_ablation({n: {k: float(np.mean(v)) for k, v in r.items()} for n, r in rows.items()},
                  [f"{s}:{m}" for s, m in PLOT_COLUMNS], png,
                  title=f"RePOSE ablation ({base['name']}, n = {len(seeds)} seed(s)"
                        f"{', bars: sample std' if len(seeds) > 1 else ''}), occluded validation 2D",
                  labels=[f"{s} 2D: {METRIC_LABELS[m]}" for s, m in PLOT_COLUMNS],
                  errors={n: {k: spread(v) for k, v in r.items()} for n, r in rows.items()}
                  if len(seeds) > 1 else None)
    out_md.write_text(render_markdown(base, rows, seeds, command, png.name, time.time() - started))
    log(f"wrote {out_md} and {png}")
    return rows


def render_markdown(base: dict, rows: dict[str, dict[str, list[float]]], seeds: Sequence[int],
                    command: str, png_name: str, wall_seconds: float) -> str:
    tr = base["train"]
    warnings = budget_warnings(base, seeds)
    cells = (f"mean ± sample standard deviation (n - 1 in the denominator) over n = {len(seeds)} seeds"
             if len(seeds) > 1 else "the single seed's value (n = 1)")
    lines = [
        "# RePOSE ablation",
        "",
        "Generated by `train/ablation.py`; do not edit by hand — rerun the command.",
        "",
        "```bash",
        command,
        "```",
        "",
        *(f"> **Warning:** {w}." for w in warnings),
        *([""] if warnings else []),
        f"- Base config: `{base['name']}`; model `{base['model']}`",
        f"- Loss weights of the full configuration: lambda_spatial = {base['loss']['lambda_spatial']}, "
        f"lambda_temporal = {base['loss']['lambda_temporal']}; other loss options: "
        f"{ {k: v for k, v in base['loss'].items() if not k.startswith('lambda')} }",
        f"- Same data, seeds ({', '.join(map(str, seeds))}) and budget for every row: {tr['epochs']} "
        f"epochs x {tr['batches_per_epoch']} batches x {tr['batch_size']} windows x {tr['frames_out']} "
        "supervised frames per run.",
        "- Validation: unseen subjects (data.val), fixed windows, cameras and simulated detector; "
        "figures are each run's **final** epoch, not a best epoch.",
        f"- Cells: {cells}.",
        f"- Runs: `{invocation_dir(base)}`.",
        f"- Machine: {platform.machine()} CPU x{os.cpu_count()}, torch {torch.__version__}, "
        f"train.threads {tr['threads']}, device {tr['device']}; wall time {wall_seconds / 60:.1f} "
        "min for all runs.",
        "",
        "| configuration | " + " | ".join(f"{s} 2D: {METRIC_LABELS[m]}" for s, m in TABLE_COLUMNS) + " |",
        "|---|" + "---:|" * len(TABLE_COLUMNS),
    ]
    for name, row in rows.items():
        cells = []
        for s, m in TABLE_COLUMNS:
            values = row[f"{s}:{m}"]
            cell = format_value(m, float(np.mean(values)))
            if len(values) > 1 and cell != "n/a":
                cell += " ± " + format_value(m, spread(values))
            cells.append(cell)
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", f"![ablation]({png_name})", "", "## What it shows", ""]
    lines += observations(rows)
    return "\n".join(lines) + "\n"


def observations(rows: dict[str, dict[str, list[float]]]) -> list[str]:
    """Plain statements computed from the table, relative to the absolute-only run."""
    base = rows["absolute"]
    out = []
    for name in ("+spatial", "+temporal", "+both"):
        row = rows[name]
        parts = []
        for key, label, better in (
            ("occluded:occluded_mpjpe", "occluded-joint MPJPE", "lower"),
            ("occluded:visible_mpjpe", "visible-joint MPJPE", "lower"),
            ("occluded:mpjpe", "MPJPE (occluded 2D)", "lower"),
            ("clean:mpjpe", "MPJPE (clean 2D)", "lower"),
            ("occluded:depth_order_acc", "depth-order accuracy", "higher"),
        ):
            deltas = np.array(row[key]) - np.array(base[key])
            if np.isnan(deltas).any():
                continue
            wins = int((deltas < 0).sum() if better == "lower" else (deltas > 0).sum())
            unit = "" if "order" in key else " mm"
            parts.append(f"{label} {deltas.mean():+.3g}{unit} (better in {wins} of {len(deltas)} seeds)")
        out.append(f"- {name} vs absolute: " + "; ".join(parts) + ".")
    best = min(rows, key=lambda n: np.mean(rows[n]["occluded:occluded_mpjpe"]))
    out.append(f"- Lowest mean occluded-joint MPJPE: **{best}**.")
    return out
