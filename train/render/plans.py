"""The two render plans: the benchmark's footage and the training footage.

Bench: the held-out people of ``train.data.people`` (``select`` or ``report``), 2 takes each of 3
seconds (a DeepMimic motion shorter than that is used whole), 2 shots per take at 960x540 or
portrait, the shots phone and camcorder footage has.
Train: everyone else, 4 takes of 3 s each, one shot each (more takes beat more shots), smaller frames (what costs is
pixels: 0.2 s a frame at 640x360 on one idle core against 0.6 s at 960x540) — MediaPipe reads a
person of 150-300 px well. More training footage comes in rounds: round k draws other takes
and shots (its own seed; a clip shorter than a take again, with other shots) into its own
folder (:func:`train_dir`), so a config that names the folders it trains on keeps training on
the same footage when more is rendered. From round 9 the characters take human limb proportions.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ..config import REPO_ROOT
from ..data.mocap import MotionLibrary, load_library
from ..data.people import GROUPS, HELD_OUT
from .footage import Take
from .shots import ShotConfig
from .takes import human_proportions, plan_takes

MOCAP_ROOT = REPO_ROOT.parent / "shared" / "data" / "mocap"
BENCH_DIR = REPO_ROOT / ".cache" / "render" / "bench"
# The benchmark's takes again with the characters given human limb proportions (human_bodies).
HUMAN_BENCH_DIR = BENCH_DIR.with_name("bench-human")
TRAIN_DIR = REPO_ROOT / ".cache" / "render" / "train"
LIBRARIES: tuple[str, ...] = ("cmu", "cmu_daz", "reactidle", "deepmimic")
TAKE_FRAMES: dict[str, int] = {"bench": 90, "train": 90}
TAKES_PER_SUBJECT: dict[str, int] = {"bench": 2, "train": 4}
SHOTS_PER_TAKE: dict[str, int] = {"bench": 2, "train": 1}
SHOTS: dict[str, ShotConfig] = {
    "bench": ShotConfig(sizes=((960, 540), (540, 960))),
    "train": ShotConfig(sizes=((640, 360), (360, 640))),
}
SEED: dict[str, int] = {"bench": 13, "train": 14}
# Round k of the training footage is planned with seed SEED["train"] + ROUND_SEED_STEP * (k - 1).
ROUND_SEED_STEP: int = 1000
# From this round on the characters get human limb proportions, drawn per take
# (takes.human_proportions): their own short upper arms and long legs teach a lifter their
# bodies (docs/model_card.md). Earlier rounds stay as rendered.
HUMAN_PROPORTIONS_FROM_ROUND: int = 9


def shared_library() -> MotionLibrary:
    """Every mocap family of the shared data at the trainer's 30 fps (cached)."""
    return load_library([MOCAP_ROOT / name for name in LIBRARIES], cache_dir=REPO_ROOT / ".cache" / "mocap")


def train_dir(round_: int = 1) -> Path:
    """The folder of training footage round ``round_`` (1: .cache/render/train, k: train-k)."""
    if round_ < 1:
        raise ValueError(f"a render round is 1 or more, got {round_}")
    return TRAIN_DIR if round_ == 1 else TRAIN_DIR.with_name(f"{TRAIN_DIR.name}-{round_}")


def bench_dir(human_bodies: bool = False) -> Path:
    """The benchmark's footage: the characters as they are, or with human limb proportions."""
    return HUMAN_BENCH_DIR if human_bodies else BENCH_DIR


def plan(what: str, group: str | None = None, round_: int = 1, only: str = "",
         human_bodies: bool = False) -> list[Take]:
    """The takes of the benchmark's ``group`` ("select"/"report") or of training ("train") round
    ``round_``; ``only``: just those of the people whose name starts with it (the round's takes
    and names are the same, so rendering the rest later completes the round).
    ``human_bodies``: the benchmark's takes with the characters in human limb proportions, which
    the characters' own footage cannot judge (training rounds from HUMAN_PROPORTIONS_FROM_ROUND
    have them anyway)."""
    library = shared_library()
    if what == "bench":
        subjects = GROUPS[group]
    else:
        subjects = set(library.subjects) - HELD_OUT
    # Rounds are planned in order, each against the names of the rounds before it. A clip
    # shorter than a take is drawn whole every round, under the same name; a take's shots are
    # seeded by its name, so it gets the round's own name and with it other shots. Those short
    # clips are the acrobatics and get-ups, the motions the mocap has least of.
    earlier: set[str] = set()
    for r in range(1, round_ + 1):
        seed = SEED[what] + ROUND_SEED_STEP * (r - 1)
        takes = plan_takes(library, subjects, TAKE_FRAMES[what], TAKES_PER_SUBJECT[what], seed)
        takes = [replace(take, name=f"{take.name}_r{r}") if take.name in earlier else take for take in takes]
        earlier |= {take.name for take in takes}
    if human_bodies or (what == "train" and round_ >= HUMAN_PROPORTIONS_FROM_ROUND):
        takes = [replace(take, proportions=human_proportions(take.name)) for take in takes]
    return [take for take in takes if take.subject.startswith(only)]
