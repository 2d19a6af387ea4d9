"""What a run trains and validates on, built from the config's ``data`` and ``synth`` sections.

Thin glue over ``train.data`` (mocap libraries, cached) and ``train.synth`` (batches): it picks
the sources, checks that training and validation share no subject, and gives each epoch its own
sampler seeded by ``train.seeds``, so that an epoch's batches depend only on ``(seed, epoch)``
(exact resume).
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Callable

import numpy as np

from repose_core.features import INPUT_CHANNELS, WORLD_FEATURES_VERSION, roll_features, rolled_xy, with_world
from repose_core.runtime import upright_turns
from repose_core.skeleton import NUM_JOINTS

from .config import resolve_path
from .data import people
from .data.h36m import h36m_library
from .data.mocap import MotionLibrary, load_library
from .data.rendered import LIMB_BONE_ENDS, DetectedShot, RenderedSampler, load_detected_shots, median_bone_lengths
from .seeds import epoch_seeds
from .synth.cameras import CameraConfig
from .synth.occlusion import OcclusionConfig
from .synth.sampler import BodyConfig, SyntheticSampler, build_validation_set

# Seeds of the validation set are fixed apart from the training seed: every run, whatever its
# seed, is measured on the very same windows, cameras and simulated detector errors.
VALIDATION_SEED = 12345


def _dataclass_from(cls, options: dict | None, where: str):
    options = dict(options or {})
    known = {f.name for f in fields(cls)}
    unknown = set(options) - known
    if unknown:
        raise ValueError(f"config '{where}': unknown keys {sorted(unknown)} (known: {sorted(known)})")
    # YAML has no tuples; the dataclasses use them for (mean, std) and ranges.
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in options.items()})


def occlusion_config(synth_cfg: dict) -> OcclusionConfig | None:
    """``synth.occlusion``: false (clean 2D), true (defaults) or a mapping of OcclusionConfig fields."""
    value = synth_cfg["occlusion"]
    if value is False or value is None:
        return None
    return _dataclass_from(OcclusionConfig, {} if value is True else value, "synth.occlusion")


def body_config(synth_cfg: dict) -> BodyConfig | None:
    """``synth.augment``: false (bodies as captured), true (defaults) or a mapping of BodyConfig fields."""
    value = synth_cfg["augment"]
    if value is False or value is None:
        return None
    return _dataclass_from(BodyConfig, {} if value is True else value, "synth.augment")


def camera_config(synth_cfg: dict) -> CameraConfig:
    return _dataclass_from(CameraConfig, synth_cfg.get("cameras"), "synth.cameras")


def _library(data_cfg: dict, key: str) -> MotionLibrary:
    """The library named by ``data.<key>`` (``train`` or ``val``) in the configured format."""
    if data_cfg["format"] == "h36m":
        if not data_cfg["h36m_3d"]:
            raise ValueError("config data.format is 'h36m' but data.h36m_3d (data_3d_h36m.npz) is not set")
        return h36m_library(resolve_path(data_cfg["h36m_3d"]), subjects=data_cfg[key], fps=data_cfg["fps"])
    if data_cfg["format"] != "bvh":
        raise ValueError(f"config data.format must be 'bvh' or 'h36m', got {data_cfg['format']!r}")
    root = resolve_path(data_cfg["mocap_root"])
    sources = [root / s for s in data_cfg[key]]
    return load_library(sources, fps=data_cfg["fps"], cache_dir=resolve_path(data_cfg["cache_dir"]),
                        subject_pattern=data_cfg["subject_pattern"])


def load_libraries(cfg: dict) -> tuple[MotionLibrary, MotionLibrary]:
    """(train, validation) libraries; raises if a subject is in both (validation must be unseen).

    With ``data.hold_out`` the held-out people (train/data/people.py) leave the training library
    and only the SELECTION people stay in the validation one."""
    data_cfg = cfg["data"]
    train, val = _library(data_cfg, "train"), _library(data_cfg, "val")
    if data_cfg["hold_out"]:
        train = MotionLibrary([c for c in train.clips if c.subject not in people.HELD_OUT])
        val = MotionLibrary([c for c in val.clips if c.subject in people.SELECTION])
        if not val.clips:
            raise ValueError(f"config data.hold_out: data.val {data_cfg['val']} holds none of the "
                             f"selection people {sorted(people.SELECTION)}")
    shared = set(train.subjects) & set(val.subjects)
    if shared:
        raise ValueError(f"config data.train and data.val share subjects {sorted(shared)}")
    if data_cfg["max_clips"]:
        train = MotionLibrary(train.clips[: int(data_cfg["max_clips"])])
    return train, val


def load_validation_sets(cfg: dict, window: int, val: MotionLibrary | None = None) -> dict:
    """``{"clean": batch, "occluded": batch}`` of fixed windows from the validation subjects."""
    if val is None:
        val = load_libraries(cfg)[1]
    # The simulated detector of the "occluded" set is always the default one, whatever the run
    # trains with: validation is a fixed benchmark that runs and the ablation are compared on.
    sets = build_validation_set(val, window, cfg["data"]["val_windows"], occlusion=None,
                                seed=VALIDATION_SEED, cameras=CameraConfig())
    if features_version_of(cfg) == WORLD_FEATURES_VERSION:   # mocap has no MediaPipe 3D
        for batch in sets.values():
            batch["inputs"] = with_world(batch["inputs"], None)
    return sets


class BatchSampler:
    """Training batches: windows synthesised from mocap, and the last ``rendered_count`` of each
    batch from rendered footage (:class:`train.data.rendered.RenderedSampler`). For a model
    that reads MediaPipe's 3D, synthesised windows say it is absent (``features.with_world``).
    With ``upright_turn`` the windows are :func:`turned_upright`, as the runtime lifts them."""

    def __init__(self, synthetic: SyntheticSampler, reads_world: bool,
                 rendered: RenderedSampler | None = None, rendered_count: int = 0, upright_turn: bool = False):
        self.synthetic, self.reads_world = synthetic, reads_world
        self.rendered, self.rendered_count = rendered, rendered_count
        self.upright_turn = upright_turn

    def sample(self) -> dict[str, np.ndarray]:
        batch = self.synthetic.sample()
        if self.reads_world:
            batch["inputs"] = with_world(batch["inputs"], None)
        if self.rendered_count:
            found = self.rendered.sample(self.rendered_count)
            batch = {key: np.concatenate([batch[key], found[key]]) for key in batch}
        return turned_upright(batch) if self.upright_turn else batch


def turned_upright(batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A batch as the runtime's upright turn sees it (``runtime.upright_turns``): each window
    whose centre frame lies or stands on its head in the image turned about the optical axis
    until it stands up, its inputs, 3D target and up direction together (exact for a pinhole
    camera). The runtime lifts such frames only turned, so the lifter need not learn them as
    filmed. Changes ``batch`` in place and returns it."""
    centre = batch["inputs"].shape[1] // 2
    turns = np.array([upright_turns(window)[centre] for window in batch["inputs"]])
    turned = np.flatnonzero(turns)
    if turned.size:
        angle = np.radians(turns[turned])
        batch["inputs"][turned] = roll_features(batch["inputs"][turned], angle[:, None, None])
        batch["target"][turned] = rolled_xy(batch["target"][turned], angle[:, None, None])
        batch["up"][turned] = rolled_xy(batch["up"][turned], angle[:, None])
    return batch


@dataclass
class TrainingData:
    train: MotionLibrary
    val: MotionLibrary
    val_sets: dict
    cfg: dict
    window: int
    rendered: list[DetectedShot] = field(default_factory=list)

    @property
    def reads_world(self) -> bool:
        return features_version_of(self.cfg) == WORLD_FEATURES_VERSION

    def train_sampler(self, epoch: int, worker: int | None = None, rank: int | None = None) -> BatchSampler:
        """The sampler of one epoch, seeded by ``(seed, epoch)`` alone, or of one of its worker
        processes (``train.workers``), seeded by ``(seed, epoch, worker)``; with ``rank``, one
        process's of a distributed run (``train.distributed``): ``(seed, epoch, rank[, worker])``."""
        synth = self.cfg["synth"]
        seeds = epoch_seeds(self.cfg["seed"], epoch, worker, rank)
        batch_size = self.cfg["train"]["batch_size"]
        rendered_count = round(batch_size * self.cfg["data"]["rendered_fraction"]) if self.rendered else 0
        synthetic = SyntheticSampler(self.train, self.window, batch_size - rendered_count,
                                     occlusion=occlusion_config(synth), seed=seeds.synthetic, flip=synth["flip"],
                                     body=body_config(synth), cameras=camera_config(synth),
                                     clip_weights=family_clip_weights(self.train, self.cfg["data"]["family_weights"]),
                                     pad_short_clips=synth["pad_short_clips"])
        rendered = (RenderedSampler(self.rendered, self.window, seeds.rendered, synth["flip"],
                                    self.cfg["data"]["rendered_person_share"], self.cfg["data"]["rendered_roll_deg"])
                    if rendered_count else None)
        return BatchSampler(synthetic, self.reads_world, rendered, rendered_count, synth["upright_turn"])


def load_training_data(cfg: dict, window: int, log: Callable[[str], None] = print) -> TrainingData:
    train, val = load_libraries(cfg)
    log(f"mocap: train {len(train)} clips / {train.num_frames} frames ({', '.join(train.subjects)}); "
        f"validation {len(val)} clips / {val.num_frames} frames ({', '.join(val.subjects)}) at "
        f"{cfg['data']['fps']} fps")
    data_cfg, rendered = cfg["data"], []
    if data_cfg["rendered"] and data_cfg["rendered_fraction"] > 0:
        excluded = people.HELD_OUT if data_cfg["hold_out"] else frozenset(val.subjects)
        lengths = person_lengths(train, data_cfg["rendered_person_bones"]) if data_cfg["rendered_person_share"] else None
        rendered = [shot for folder in data_cfg["rendered"]
                    for shot in load_detected_shots(resolve_path(folder), resolve_path(data_cfg["detect_cache"]),
                                                    exclude_subjects=excluded,
                                                    features_version=features_version_of(cfg),
                                                    person_lengths=lengths, log=log)]
    return TrainingData(train, val, load_validation_sets(cfg, window, val), cfg, window, rendered)


def person_lengths(library: MotionLibrary, bones: str) -> dict[str, np.ndarray]:
    """Every clip's build, for rendered shots carried over to the person who moved in them:
    clip name -> median bone lengths (17,), NaN where ``bones`` ("all" or "limbs") leaves the
    character's own bone."""
    carried = np.array([bones == "all" or j in LIMB_BONE_ENDS for j in range(NUM_JOINTS)])
    return {clip.name: np.where(carried, median_bone_lengths(clip.joints), np.nan) for clip in library.clips}


def family_clip_weights(library: MotionLibrary, family_weights: dict[str, float]) -> list[float] | None:
    """Per-clip window weights that give each skeleton family its ``family_weights`` share of
    the windows (``data.family_weights``; empty: every frame alike, whatever its family)."""
    if not family_weights:
        return None
    frames: dict[str, int] = {}
    for clip in library.clips:
        frames[clip.family] = frames.get(clip.family, 0) + clip.num_frames
    unnamed = sorted(set(frames) - set(family_weights))
    if unnamed:
        raise ValueError(f"config data.family_weights names {sorted(family_weights)} but the training "
                         f"library also holds {unnamed}")
    return [family_weights[c.family] / frames[c.family] for c in library.clips]


def features_version_of(cfg: dict) -> str:
    """The feature set the config's model reads (by its ``in_channels``)."""
    from repose_core.models.export import features_version

    return features_version(cfg["model"].get("in_channels", INPUT_CHANNELS))
