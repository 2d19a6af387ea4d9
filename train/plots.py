"""PNG curves of a run (loss parts, validation metrics) and the ablation bar chart."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display
import matplotlib.pyplot as plt  # noqa: E402

from .evaluate import METRIC_LABELS  # noqa: E402

_CURVE_METRICS = ("mpjpe", "occluded_mpjpe", "bone_dir_deg", "depth_order_acc")


def plot_history(history: Sequence[dict], out_dir: str | Path) -> list[Path]:
    """Write ``loss.png`` (training loss parts per epoch) and ``val.png`` (validation metrics)."""
    out_dir = Path(out_dir)
    if not history:
        return []
    written = []
    epochs = [r["epoch"] for r in history]

    parts = [k for k in history[0]["train"] if k not in ("samples_per_s", "seconds")]
    fig, axes = plt.subplots(1, len(parts), figsize=(3.2 * len(parts), 3), squeeze=False)
    for ax, part in zip(axes[0], parts):
        ax.plot(epochs, [r["train"][part] for r in history], marker=".")
        ax.set_title(part)
        ax.set_xlabel("epoch")
    fig.tight_layout()
    fig.savefig(out_dir / "loss.png", dpi=100)
    plt.close(fig)
    written.append(out_dir / "loss.png")

    validated = [r for r in history if "val" in r]
    if validated:
        sets = list(validated[0]["val"])
        fig, axes = plt.subplots(1, len(_CURVE_METRICS), figsize=(3.6 * len(_CURVE_METRICS), 3),
                                 squeeze=False)
        for ax, metric in zip(axes[0], _CURVE_METRICS):
            for name in sets:
                ax.plot([r["epoch"] for r in validated], [r["val"][name][metric] for r in validated],
                        marker=".", label=name)
            ax.set_title(METRIC_LABELS[metric], fontsize=9)
            ax.set_xlabel("epoch")
        axes[0][0].legend()
        fig.tight_layout()
        fig.savefig(out_dir / "val.png", dpi=100)
        plt.close(fig)
        written.append(out_dir / "val.png")
    return written


def plot_ablation(rows: Mapping[str, Mapping[str, float]], metrics: Sequence[str],
                  path: str | Path, title: str, labels: Sequence[str],
                  errors: Mapping[str, Mapping[str, float]] | None = None) -> Path:
    """One panel per metric (titled by ``labels``), one bar per configuration (``rows``);
    ``errors`` (same layout) draws error bars, e.g. the standard deviation over seeds. Bars
    start at zero."""
    path = Path(path)
    names = list(rows)
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.4 * len(metrics), 3.4), squeeze=False)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, metric, label in zip(axes[0], metrics, labels):
        values = [rows[n][metric] for n in names]
        yerr = [errors[n][metric] for n in names] if errors else None
        bars = ax.bar(range(len(names)), values, yerr=yerr, capsize=3, color=colours[: len(names)])
        ax.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=8)
        ax.set_title(label, fontsize=9)
        # Bars start at zero: a zoomed axis makes a 2% difference look like a 2x one. The
        # labels carry the exact values.
        ax.set_ylim(bottom=0)
        ax.bar_label(bars, fmt="%.3g", fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
