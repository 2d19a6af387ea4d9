"""Command line: ``python -m train {fit,eval,ablation,export,prepare} ...``.

    python -m train fit --config train/configs/default_cpu.yaml [--lambda-spatial 0.1 --train.epochs 5 ...]
    torchrun --standalone --nproc_per_node=N -m train fit --config ...   (N processes: train/distributed.py)
    python -m train eval runs/default_cpu_cycle3     (or a .pt checkpoint)
    python -m train ablation --config train/configs/ablation_cpu.yaml --out docs/ablation.md
    python -m train export runs/default_cpu_cycle3/last.pt --out repose_core/assets/default_lifter.onnx
        (also writes train/weights/default_lifter.pt, the weights train.init_from fine-tunes from)
    python -m train prepare ../shared/data/mocap/cmu --out cmu.npz   (BVH -> one .npz)

Overrides are ``--dotted.key value`` pairs (values parsed as YAML) or the short aliases in
``train.config.CLI_ALIASES`` (``--lambda-spatial``, ``--spatial-variant``, ``--epochs`` ...).
Running ``fit`` again on a run directory with a checkpoint resumes it.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import sys

# yaml only, no numpy or torch: `--help` and bad arguments stay quick.
from .config import DEFAULTS, ConfigError, load_config, parse_overrides, resolve_path
from .data.errors import DataError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    fit = sub.add_parser("fit", help="train (or resume) one experiment")
    fit.add_argument("--config", required=True, help="experiment YAML (train/configs/*.yaml)")
    ev = sub.add_parser("eval", help="validation metrics of a run's best checkpoint")
    ev.add_argument("checkpoint", help="run directory (uses best.pt) or a .pt checkpoint")
    ev.add_argument("--subjects", choices=("val", "train"), default="val",
                    help="score the validation people (default) or the training people")
    ab = sub.add_parser("ablation", help="absolute / +spatial / +temporal / +both on one budget")
    ab.add_argument("--config", required=True, help="base YAML with the full RePOSE loss weights")
    ab.add_argument("--out", required=True, help="markdown file to write (a PNG goes beside it)")
    ab.add_argument("--seeds", type=int, nargs="+", default=None,
                    help="train every configuration once per seed (default: the config's seed)")
    ex = sub.add_parser("export", help="ONNX export of a run's best checkpoint, and the weights "
                                       "fine-tuning starts from")
    ex.add_argument("checkpoint", help="run directory (uses best.pt) or a .pt checkpoint")
    ex.add_argument("--out", required=True, help="path of the .onnx file to write")
    ex.add_argument("--finetune-out", default=None,
                    help="path of the weights-only checkpoint for train.init_from (default: "
                         "beside --out as <name>.pt; train/weights/<name>.pt for the shipped "
                         "model's repose_core/assets)")
    pr = sub.add_parser("prepare", help="BVH files -> one prepared .npz, a data source for "
                                        "machines without the BVH (e.g. --data.train [cmu.npz])")
    pr.add_argument("sources", nargs="+", help="folders (searched recursively) or .bvh files")
    pr.add_argument("--out", required=True, help="path of the .npz file to write")
    fps = DEFAULTS["data"]["fps"]
    pr.add_argument("--fps", type=float, default=fps,
                    help=f"frame rate to resample to (default {fps:g}, runs' data.fps)")
    pr.add_argument("--subject-pattern", default=None, metavar="REGEX",
                    help="how to find the person of a file: a regular expression searched in its "
                         "path whose group 1 is the person, e.g. '/([^/]+)/[^/]+$' (one folder per "
                         "person) or '/(\\d+)_[a-z]+\\.bvh$' (a number in the file name); default: "
                         "the skeleton table's subject_pattern, else a guess from the file name")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args, rest = _parser().parse_known_args(argv)
    try:
        if rest and args.command not in ("fit", "ablation"):
            raise ConfigError(f"'{args.command}' takes no config overrides, got {rest}")
        overrides = parse_overrides(rest)
        if args.command == "fit":
            from .loop import fit

            fit(load_config(args.config, overrides))
        elif args.command == "ablation":
            from .ablation import run_ablation

            command = "python -m train " + shlex.join(argv)
            run_ablation(load_config(args.config, overrides), args.out, command, seeds=args.seeds)
        elif args.command == "eval":
            from .evaluate import evaluate_checkpoint, format_table

            results, path = evaluate_checkpoint(args.checkpoint, args.subjects)
            print(format_table(results))
            out = path.with_suffix(".eval.json" if args.subjects == "val" else ".train.eval.json")
            out.write_text(json.dumps(results, indent=2))
            print(f"wrote {out}")
        elif args.command == "export":
            from .export import export_checkpoint

            for path in export_checkpoint(args.checkpoint, args.out, args.finetune_out):
                print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
        elif args.command == "prepare":
            from .data.mocap import load_library, save_library

            if not args.out.endswith(".npz"):
                raise ConfigError(f"--out must name a .npz file, got {args.out}")
            # Through the trainer's cache: files a run has already parsed are not parsed again.
            library = load_library(args.sources, fps=args.fps, subject_pattern=args.subject_pattern,
                                   cache_dir=resolve_path(DEFAULTS["data"]["cache_dir"]))
            path = save_library(args.out, library)
            print(f"wrote {path}: {len(library)} clips, {library.num_frames} frames at {args.fps:g} fps "
                  f"({', '.join(library.subjects)})")
    except (ConfigError, DataError, FileNotFoundError) as error:  # checkpoints' errors included
        if os.environ.get("RANK", "0") == "0":  # under torchrun every rank has it; one says it
            print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
