"""Training on several processes (torchrun, DDP; train/distributed.py): each rank's own seeded
batches, the run's arithmetic, and two CPU ranks with gloo that train, get killed, resume to
exactly the unbroken run's state, and leave a checkpoint that evaluates and exports like any
other. A single process is untouched (tests/test_trainer.py: exact resume, repeatability)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from train import distributed, loop
from train.config import CONFIG_DIR, ConfigError, load_config
from train.distributed import Ranks
from train.seeds import epoch_seeds

REPO_ROOT = Path(__file__).resolve().parents[1]
TINY = CONFIG_DIR / "tiny.yaml"
# Two ranks, 2 epochs of 8 batches (4 per rank), with the gravity head (forward_with_up through DDP).
BUDGET = ["--train.epochs", "2", "--train.batches_per_epoch", "8", "--model.predict_up", "true",
          "--loss.lambda_up", "1.0"]


# ----------------------------------------------------------------------------- pieces
def test_a_single_process_has_no_rank_and_its_seeds_are_unchanged():
    plain = Ranks.from_environment({})
    assert (plain.rank, plain.world_size, plain.distributed, plain.seed_key) == (0, 1, False, None)
    one = Ranks.from_environment({"WORLD_SIZE": "1", "RANK": "0", "LOCAL_RANK": "0"})
    assert not one.distributed and one.seed_key is None  # torchrun --nproc_per_node=1: as plain
    key = lambda *words: np.random.SeedSequence(list(words)).generate_state(4).tolist()  # noqa: E731
    assert list(vars(epoch_seeds(7, 3)).values()) == key(7, 3)
    assert list(vars(epoch_seeds(7, 3, worker=2)).values()) == key(7, 3, 2)
    assert distributed.rank_train_cfg({"batches_per_epoch": 7}, plain) == {"batches_per_epoch": 7}
    assert distributed.checkpoint_fields(plain) == {}


def test_every_rank_and_worker_has_its_own_streams():
    third = Ranks.from_environment({"WORLD_SIZE": "4", "RANK": "2", "LOCAL_RANK": "0",
                                    "LOCAL_WORLD_SIZE": "2"})
    assert third.distributed and third.seed_key == 2 and not third.is_main
    streams = [epoch_seeds(7, 3, worker, rank) for rank in range(4) for worker in (None, 0, 1, 2)
               if worker != 0]
    assert len({s.synthetic for s in streams}) == len({s.torch for s in streams}) == len(streams)
    # The same rank and epoch, the same stream: timing plays no part.
    assert epoch_seeds(7, 3, rank=1) == epoch_seeds(7, 3, rank=1)


def test_an_epochs_batches_are_shared_out_and_the_world_size_is_kept():
    two = Ranks(rank=1, world_size=2, local_rank=1, local_world_size=2)
    assert distributed.rank_train_cfg({"batches_per_epoch": 8, "lr": 1}, two) == {"batches_per_epoch": 4, "lr": 1}
    with pytest.raises(ConfigError, match=r"batches_per_epoch 9 is not a multiple of the 2 ranks.*use 8 or 10"):
        distributed.rank_train_cfg({"batches_per_epoch": 9}, two)
    assert distributed.checkpoint_fields(two) == {"world_size": 2}
    distributed.check_resumable({"world_size": 2}, two, "last.pt")
    with pytest.raises(ConfigError, match=r"trained by 1 process\(es\) and this run has 2.*plain python -m train fit"):
        distributed.check_resumable({}, two, "last.pt")
    with pytest.raises(ConfigError, match=r"trained by 2 process\(es\) and this run has 1.*2 ranks"):
        distributed.check_resumable({"world_size": 2}, Ranks(), "last.pt")
    assert distributed.backend_for(torch.device("cpu")) == "gloo"
    assert distributed.backend_for(torch.device("cuda", 1)) == "nccl"
    assert distributed.share_threads(two, 2, "chosen", None) == (1, "chosen; 1 for each of the 2 ranks on this machine")
    assert distributed.share_threads(two, 3, "stated", 3) == (3, "stated")


def test_each_rank_draws_its_own_batches_rank_0_the_single_processs_first(tmp_path, shared_data):
    from train.dataset import load_training_data

    cfg = load_config(TINY, {"run_dir": str(tmp_path / "r"), "train.batches_per_epoch": 4})
    data = load_training_data(cfg, 24, log=lambda line: None)
    half = dict(cfg["train"], batches_per_epoch=2)

    def batches(train_cfg, rank):
        pool = loop.epoch_batches(data, 3, train_cfg, torch.device("cpu"), rank=rank)
        try:
            return [b["inputs"] for b in pool]
        finally:
            pool.close()

    single, rank0, rank1 = batches(cfg["train"], None), batches(half, 0), batches(half, 1)
    assert all(torch.equal(a, b) for a, b in zip(rank0, single[:2]))
    assert not any(torch.equal(a, b) for a in rank1 for b in single + rank0)
    assert all(torch.equal(a, b) for a, b in zip(rank1, batches(half, 1)))


# ----------------------------------------------------------------------------- two gloo ranks
# A rank that dies in epoch 2 as a kill leaves it: no clean-up, after the epoch began drawing batches.
KILLED_IN_EPOCH_TWO = """
import os, sys
from train import loop
from train.__main__ import main

original, started = loop.train_one_epoch, []

def train_one_epoch(*args, **kwargs):
    started.append(1)
    if len(started) == 2 and os.environ["RANK"] == "1":
        next(iter(args[4]))
        os._exit(137)
    return original(*args, **kwargs)

loop.train_one_epoch = train_one_epoch
sys.exit(main(sys.argv[1:]))
"""


def _torchrun(target: list[str], run_dir: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               *target, "fit", "--config", str(TINY), "--run_dir", str(run_dir), *BUDGET]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO_ROOT))
    return subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_two_gloo_ranks_train_get_killed_resume_exactly_and_export(tmp_path, shared_data, capsys):
    from repose_core import load_lifter
    from repose_core.models import build_model
    from train.__main__ import main
    from train.checkpoint import load_checkpoint
    from train.evaluate import evaluate_checkpoint

    unbroken, killed = tmp_path / "unbroken", tmp_path / "killed"
    done = _torchrun(["-m", "train"], unbroken)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "2 ranks (gloo): each makes 4 of an epoch's 8 batches" in done.stdout
    assert done.stdout.count("epoch 2:") == 1  # rank 0 alone logs

    script = tmp_path / "killed_in_epoch_two.py"
    script.write_text(KILLED_IN_EPOCH_TWO)
    dead = _torchrun([str(script)], killed)
    assert dead.returncode != 0
    assert load_checkpoint(killed / "last.pt")["epoch"] == 0 and len(loop.read_history(killed)) == 1
    # The run is two ranks' run: one process may not take it on (its batches would differ).
    overrides = ["--run_dir", str(killed), *BUDGET]
    assert main(["fit", "--config", str(TINY), *overrides]) == 2
    assert "trained by 2 process(es) and this run has 1" in capsys.readouterr().err
    resumed = _torchrun(["-m", "train"], killed)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming" in resumed.stdout

    a, b = load_checkpoint(killed / "last.pt"), load_checkpoint(unbroken / "last.pt")
    assert a["epoch"] == b["epoch"] == 1 and a["world_size"] == b["world_size"] == 2
    for key, value in b["model"].items():
        assert torch.equal(a["model"][key], value), key
    for x, y in zip(a["optimizer"]["state"].values(), b["optimizer"]["state"].values()):
        assert torch.equal(x["exp_avg"], y["exp_avg"]) and torch.equal(x["exp_avg_sq"], y["exp_avg_sq"])
    history = loop.read_history(unbroken)
    assert [json.dumps(r["val"]) for r in loop.read_history(killed)] == [json.dumps(r["val"]) for r in history]
    assert history[-1]["train"]["up"] < history[0]["train"]["up"]  # the gravity head trained through DDP

    # Like any other checkpoint: the lifter's own weights (no DDP names), scored by `eval` as
    # rank 0 scored it during training, exported, lifted.
    cfg = load_config(TINY, {"model.predict_up": True})
    assert set(b["model"]) == set(build_model(cfg["model"]).state_dict())
    best = load_checkpoint(unbroken / "best.pt")
    results, _ = evaluate_checkpoint(unbroken)
    for name in ("clean", "occluded"):
        for metric, value in history[best["epoch"]]["val"][name].items():
            assert results[name][metric] == pytest.approx(value, rel=1e-6, nan_ok=True), (name, metric)
    onnx_path = tmp_path / "ddp.onnx"
    assert main(["export", str(unbroken), "--out", str(onnx_path), "--finetune-out", str(tmp_path / "ddp.pt")]) == 0
    keypoints = np.random.default_rng(0).uniform(200, 600, (40, 17, 2)).astype(np.float32)
    from_onnx, from_pt = load_lifter(onnx_path, flip=False), load_lifter(unbroken / "best.pt", flip=False)
    assert from_onnx.predicts_up
    np.testing.assert_allclose(from_onnx.predict(keypoints, image_size=(800, 800)),
                               from_pt.predict(keypoints, image_size=(800, 800)), atol=1e-4)
