"""Experiment configuration: one YAML file per experiment, CLI overrides, the resolved copy.

In the MotionBERT manner an experiment is a YAML file (``train/configs/*.yaml``); the resolved
config (file + overrides) is written to the run directory as ``config.yaml`` so a run can always
be reproduced and resumed from its own directory alone.

A config is a plain nested ``dict`` with these sections (every key has a default below, so a
config file only states what it changes; with a top-level ``base: other.yaml`` it states only
what it changes from that experiment):

- ``name``, ``seed``, ``run_dir``
- ``data``: mocap sources, frame rate, train/validation split, validation set size
- ``model``: passed to ``repose_core.models.build_model`` unchanged
- ``loss``: ``RePoseLoss`` arguments (``lambda_spatial``, ``lambda_temporal``, variants)
- ``synth``: virtual cameras / occlusion for training batches
- ``train``: epochs, batches per epoch, batch size, output frames per window, optimiser, device

Every key at every depth and every value is checked when a config is resolved, before any data
is loaded (``train.config_check``: the schema comes from DEFAULTS and from the constructors the
model/loss/synth sections feed). A new key needs only its default here; a None default, a range
or choices also need a ``config_check.RULES`` entry.
"""
from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import yaml

from .config_check import check_config

REPO_ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = Path(__file__).resolve().parent / "configs"

DEFAULTS: dict[str, Any] = {
    "name": "experiment",
    "seed": 0,
    # Relative paths are resolved against the repository root.
    "run_dir": None,  # None -> runs/<name>
    "data": {
        # "bvh": mocap libraries; train/val are folders or .bvh files under mocap_root.
        # "h36m": Human3.6M in VideoPose3D's format; train/val are subjects of h36m_3d.
        "format": "bvh",
        "mocap_root": "../shared/data/mocap",
        "h36m_3d": None,      # path of data_3d_h36m.npz (format h36m)
        # Validation = other people AND another skeleton family (cmu_daz), as the default
        # model's targets are stated.
        "train": ["cmu"],
        "val": ["cmu_daz"],
        "fps": 30,
        "val_windows": 256,   # fixed validation windows (per variant: clean and occluded)
        "cache_dir": ".cache/mocap",
        "max_clips": None,    # cap on training clips (tests)
        # How to find the person of a mocap file: a regular expression searched in its path,
        # group 1 = the person (overrides the skeleton tables' subject_pattern); None: tables'.
        "subject_pattern": None,
        # True: leave out every held-out person of train/data/people.py (training never sees
        # them) and validate on its SELECTION people only, whatever the sources hold.
        "hold_out": False,
        # Rendered footage detected by MediaPipe (python -m train.render train [--round K]): a
        # list of folders of shots, and the share of each batch's windows taken from them (the
        # rest synthesised).
        "rendered": None,
        "rendered_fraction": 0.0,
        # Share of those windows carried over to the build of the person whose mocap moved the
        # character (train/data/rendered.py): the characters' arms are not a person's.
        "rendered_person_share": 0.0,
        # Standard deviation (degrees) of a roll about the optical axis given to each rendered
        # window, image and 3D together (train/data/rendered.py): the footage's own is small.
        "rendered_roll_deg": 0.0,
        # Which bones they carry over: "all", or "limbs" (thighs, shins, upper arms, forearms).
        "rendered_person_bones": "all",
        # Share of the synthesised windows per skeleton family ({cmu_daz: 0.3, ...}, relative);
        # empty: every mocap frame is as likely as any other.
        "family_weights": {},
        "detect_cache": ".cache/detect",
    },
    "model": {
        "backbone": "tcn",
    },
    "loss": {
        "lambda_spatial": 0.0,
        "lambda_temporal": 0.0,
    },
    "synth": {
        "occlusion": True,
        "flip": True,
        "augment": True,      # body variation: false, true (defaults) or BodyConfig fields
        "cameras": {},        # CameraConfig fields that differ from its defaults
        "pad_short_clips": False,  # train on clips shorter than a window, held at their ends
        "upright_turn": False,     # windows lying or upside down turned upright, as the runtime
                                   # lifts them (train.dataset.turned_upright)
    },
    "train": {
        "epochs": 10,
        "batches_per_epoch": 100,
        "batch_size": 64,
        "frames_out": 32,        # supervised output frames per window (sequence form)
        "lr": 1e-3,
        "lr_final": 1e-5,        # cosine schedule end point
        "weight_decay": 1e-4,
        "grad_clip": 1.0,
        "device": "auto",        # auto | cpu | cuda
        "amp": True,             # mixed precision: float16 on CUDA, bfloat16 on CPUs with native bf16
        "compile": False,        # torch.compile (optional; CUDA runs)
        "threads": None,         # torch intra-op threads on CPU (None: from the free cores, train/threads.py)
        "workers": 0,            # 0: batches made by one thread of this process (enough for
                                 # a few cores); N: by N processes (a GPU fed from many cores)
        "prefetch": 4,           # batches each producer (the thread or a worker) prepares ahead
        "val_every": 1,          # epochs between validations
        "init_from": None,       # checkpoint or run directory (its best.pt) whose weights start
                                 # the run: fine-tuning, or a second learning-rate cycle
    },
}

# Short CLI spellings for the options the paper's experiments vary most.
CLI_ALIASES: dict[str, str] = {
    "lambda_spatial": "loss.lambda_spatial",
    "lambda_temporal": "loss.lambda_temporal",
    "spatial_variant": "loss.spatial_variant",
    "temporal_variant": "loss.temporal_variant",
    "temporal_mode": "loss.temporal_mode",
    "pairs": "loss.pairs",
    "epochs": "train.epochs",
    "batch_size": "train.batch_size",
    "batches_per_epoch": "train.batches_per_epoch",
    "lr": "train.lr",
    "device": "train.device",
    "threads": "train.threads",
}


class ConfigError(ValueError):
    """A config file or override that cannot be used; the message names the source."""


def _merge(base: dict, update: dict, source: str, prefix: str = "") -> dict:
    out = copy.deepcopy(base)
    for key, value in update.items():
        path = f"{prefix}{key}"
        if isinstance(out.get(key), dict) and isinstance(value, dict):
            # Sections merge key by key; config_check says which keys and values are valid.
            out[key] = _merge(out[key], value, source, prefix=f"{path}.")
        elif isinstance(out.get(key), dict) and not prefix:
            raise ConfigError(f"{source}: section '{path}' must be a mapping, got {value!r}")
        else:
            # Inside a section an option may be "true, false or a mapping" (synth.occlusion,
            # synth.augment): a value replaces a mapping whole, and its reader checks it.
            out[key] = copy.deepcopy(value)
    return out


def _read_layers(path: Path, seen: tuple[Path, ...] = ()) -> dict:
    """DEFAULTS merged with ``path``'s YAML; a top-level ``base: other.yaml`` (relative to the
    file) is merged first, so an experiment can state only what it changes."""
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    if path.resolve() in seen:
        raise ConfigError(f"{path}: 'base' files include each other")
    with open(path) as f:
        data = yaml.safe_load(f) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a YAML mapping at the top level")
    base = data.pop("base", None)
    under = DEFAULTS if base is None else _read_layers(path.parent / base, seen + (path.resolve(),))
    return _merge(under, data, str(path))


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> dict:
    """Read a YAML experiment file, apply dotted-key overrides, return the resolved config."""
    path = Path(path)
    cfg = _read_layers(path)
    for dotted, value in (overrides or {}).items():
        cfg = set_dotted(cfg, dotted, value)
    if cfg["run_dir"] is None:
        cfg["run_dir"] = f"runs/{cfg['name']}"
    problems = check_config(cfg, DEFAULTS)  # every key and value, before anything is loaded
    if problems:
        source = f"{path} with overrides {overrides}" if overrides else str(path)
        raise ConfigError(f"{source}: " + "; ".join(problems))
    return cfg


def set_dotted(cfg: dict, dotted: str, value: Any) -> dict:
    """Return a copy of ``cfg`` with ``a.b.c = value``; aliases from ``CLI_ALIASES`` apply."""
    dotted = CLI_ALIASES.get(dotted.replace("-", "_"), dotted)
    keys = dotted.split(".")
    out = copy.deepcopy(cfg)
    node = out
    for key in keys[:-1]:
        if node.get(key) is True:  # an option that is "true (defaults) or a mapping": set a field
            node[key] = {}
        elif node.get(key) is False:
            raise ConfigError(f"override '{dotted}': '{key}' is false (off); set it to true or a "
                              f"mapping first")
        if not isinstance(node.get(key), dict):
            raise ConfigError(f"override '{dotted}': '{key}' is not a config section")
        node = node[key]
    node[keys[-1]] = value
    return out


def config_differences(old: dict, new: dict, prefix: str = "") -> list[str]:
    """``["train.lr: 0.001 -> 0.0003", ...]``: the dotted keys whose values differ."""
    out = []
    for key in sorted(set(old) | set(new), key=str):
        a, b = old.get(key, "(absent)"), new.get(key, "(absent)")
        if isinstance(a, dict) and isinstance(b, dict):
            out += config_differences(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key}: {a!r} -> {b!r}")
    return out


def parse_overrides(tokens: list[str]) -> dict[str, Any]:
    """``['--lambda-spatial', '0.1', '--train.epochs', '3']`` -> ``{'lambda-spatial': 0.1, ...}``.

    Values are parsed as YAML scalars, so numbers, booleans, ``null`` and lists work.
    """
    out: dict[str, Any] = {}
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if not token.startswith("--"):
            raise ConfigError(f"override '{token}': expected --key value")
        key = token[2:]
        if "=" in key:
            key, raw = key.split("=", 1)
            i += 1
        else:
            if i + 1 >= len(tokens):
                raise ConfigError(f"override '{token}' has no value")
            raw = tokens[i + 1]
            i += 2
        out[key] = _scalar(raw)
    return out


# YAML 1.1 (PyYAML) reads "3e-4" as a string: it wants a dot ("3.0e-4"). People type the former.
_EXPONENT_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")


def _scalar(raw: str) -> Any:
    value = yaml.safe_load(raw)
    if isinstance(value, str) and _EXPONENT_NUMBER.fullmatch(value):
        return float(value)
    return value


def resolve_path(path: str | Path) -> Path:
    """Config paths are relative to the repository root, so runs work from any directory."""
    path = Path(path)
    return path if path.is_absolute() else REPO_ROOT / path


def save_config(cfg: dict, path: str | Path) -> None:
    with open(path, "w") as f:
        yaml.safe_dump(cfg, f, sort_keys=False)


def read_saved_config(run_dir: str | Path) -> dict:
    """A run's resolved config, completed with defaults added since the run was made."""
    path = Path(run_dir) / "config.yaml"
    if not path.is_file():
        raise ConfigError(f"{run_dir}: not a run directory (no config.yaml)")
    return load_config(path)
