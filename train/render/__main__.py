"""Render mocap on characters, for the benchmark or for training (needs bpy):

    python -m train.render bench --set select --jobs 2     # the rendered benchmark's footage
    python -m train.render bench --set select --human-bodies   # its takes on human-proportioned characters
    python -m train.render train --jobs 2                  # training footage of the other people
    python -m train.render train --round 2 --jobs 2        # more of it: other takes, .cache/render/train-2
    python -m train.render train --round 5 --only deepmimic_   # of some people only (name prefix)

Shots already rendered are kept, so an interrupted run resumes and a plan can grow. With
``--jobs N`` the takes are shared among N Blender processes (each renders on one core); what
Blender prints goes to ``<out>/render-<k>.log``, progress to the terminal.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..config import REPO_ROOT
from .plans import MOCAP_ROOT, bench_dir, train_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.render", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("bench", "train"))
    parser.add_argument("--set", choices=("select", "report"), help="bench: which held-out people")
    parser.add_argument("--out", type=Path, help="folder of the shots (default .cache/render/<what>)")
    parser.add_argument("--round", type=int, default=1, dest="round_",
                        help="train: which round of footage (default 1); each has its own takes and folder")
    parser.add_argument("--only", metavar="PREFIX", default="",
                        help="train: only the round's takes of people whose name starts with PREFIX "
                             "(deepmimic_: more shots of the acrobatics and get-ups, the motions the mocap "
                             "has least of)")
    parser.add_argument("--human-bodies", action="store_true",
                        help="bench: the characters in human limb proportions (.cache/render/bench-human)")
    parser.add_argument("--jobs", type=int, default=1, help="Blender processes (one core each)")
    parser.add_argument("--part", help=argparse.SUPPRESS)   # k/n: one job's share
    args = parser.parse_args(argv)
    if args.what == "bench" and args.set is None:
        parser.error("bench needs --set select or --set report")
    if args.jobs < 1:
        parser.error(f"--jobs must be >= 1, got {args.jobs}")
    if args.round_ < 1 or (args.what == "bench" and args.round_ != 1):
        parser.error(f"--round must be >= 1, and only for train footage, got {args.round_}")
    if args.only and args.what == "bench":
        parser.error("--only is for train footage: the benchmark's people are fixed")
    if args.human_bodies and args.what != "bench":
        parser.error("--human-bodies is for the benchmark: training rounds say their bodies themselves")
    out = args.out or (bench_dir(args.human_bodies) if args.what == "bench" else train_dir(args.round_))
    if args.part is None:
        return _fan_out(args, out)
    part, parts = (int(v) for v in args.part.split("/"))
    from .plans import plan

    takes = plan(args.what, args.set, args.round_, args.only, args.human_bodies)[part::parts]
    return _render(takes, out, args.what)


def _fan_out(args: argparse.Namespace, out: Path) -> int:
    """Run this command once per job, each on its share of the takes, one core each."""
    base = [sys.executable, "-m", "train.render", args.what, "--out", str(out), "--round", str(args.round_)]
    if args.set:
        base += ["--set", args.set]
    if args.only:
        base += ["--only", args.only]
    if args.human_bodies:
        base += ["--human-bodies"]
    env = dict(os.environ, OMP_NUM_THREADS="1", LP_NUM_THREADS="1")
    out.mkdir(parents=True, exist_ok=True)
    procs = []
    for k in range(args.jobs):
        with open(out / f"render-{k}.log", "w") as log:
            procs.append(subprocess.Popen(base + ["--part", f"{k}/{args.jobs}"], cwd=REPO_ROOT,
                                          env=env, stdout=log))
    return max(p.wait() for p in procs)


def _render(takes: list, out: Path, what: str) -> int:
    os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="repose-render-"))
    from .footage import render_take
    from .plans import SHOTS, SHOTS_PER_TAKE

    data_root = MOCAP_ROOT.parent
    started = time.perf_counter()
    for k, take in enumerate(takes):
        render_take(take, SHOTS_PER_TAKE[what], out, data_root, SHOTS[what])
        print(f"[{k + 1}/{len(takes)}] {take.name} ({len(take.joints)} frames) "
              f"{time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
