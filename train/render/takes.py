"""Which stretches of which clips are rendered, on which character: deterministic plans.

A plan draws ``takes_per_subject`` takes of ``take_frames`` frames for each person, spread over
that person's clips (the longest clips first, then at random), each on one of the characters at
a random size. The same library, people and seed always give the same plan, so renders are
cached by name and a plan can be extended (more people) without rendering the rest again.
"""
from __future__ import annotations

import zlib
from typing import Iterable

import numpy as np

from ..data.mocap import Clip, MotionLibrary
from .footage import CHARACTER_FILES, Proportions, Take

SCALE_RANGE: tuple[float, float] = (0.9, 1.1)   # the characters' size, drawn per take
# People's limb proportions (joint to joint; Drillis and Contini's segment lengths give 1.27,
# 1.0, 1.15 and 1.70, the mocap people here 1.1-1.2, 0.8-1.1, 1.0-1.2 and 1.35-1.8), drawn
# uniformly per take for :func:`human_proportions`. The characters' own: 0.77-0.83, 0.96-1.01,
# 0.97-1.2 and 2.05-2.4.
HUMAN_PROPORTIONS: dict[str, tuple[float, float]] = {
    "upper_arm_to_forearm": (1.05, 1.35), "thigh_to_shin": (0.9, 1.15),
    "arm_to_torso": (1.0, 1.2), "leg_to_torso": (1.55, 1.9),
}


def plan_takes(library: MotionLibrary, subjects: Iterable[str], take_frames: int,
               takes_per_subject: int, seed: int) -> list[Take]:
    """Takes of ``take_frames`` frames, ``takes_per_subject`` per person of ``subjects``; fewer
    when a person's clips are short: a clip shorter than a take is used whole, once per
    character (a second draw of it would be the same take)."""
    takes: list[Take] = []
    characters = sorted(CHARACTER_FILES)
    for subject in sorted(set(subjects)):
        clips = sorted((c for c in library.clips if c.subject == subject),
                       key=lambda c: (-c.num_frames, c.name))
        if not clips:
            raise ValueError(f"no clip of {subject!r} in the library (subjects: {library.subjects})")
        # A per-person stream: adding or removing a person leaves the others' takes unchanged.
        rng = np.random.default_rng([seed, _stable_hash(subject)])
        for k in range(takes_per_subject):
            clip = clips[k % len(clips)] if k < len(clips) else clips[rng.integers(len(clips))]
            take = _take(clip, take_frames, rng, characters[(k + _stable_hash(subject)) % 2])
            if take.name not in {t.name for t in takes}:
                takes.append(take)
    return takes


def _take(clip: Clip, take_frames: int, rng: np.random.Generator, character: str) -> Take:
    frames = min(take_frames, clip.num_frames)
    start = int(rng.integers(0, clip.num_frames - frames + 1))
    scale = float(rng.uniform(*SCALE_RANGE))
    return Take(f"{clip.name}_{start}_{character}", clip.name, clip.subject, start,
                clip.joints[start:start + frames], clip.fps, character, scale)


def human_proportions(take_name: str) -> Proportions:
    """Human limb proportions for a take (:data:`HUMAN_PROPORTIONS`), drawn from a stream of its
    name's own, so its shots and everything else planned stay as they were."""
    rng = np.random.default_rng([_stable_hash(take_name), 9])
    return Proportions(**{name: float(rng.uniform(*bounds)) for name, bounds in HUMAN_PROPORTIONS.items()})


def _stable_hash(text: str) -> int:
    """A hash that does not change between Python runs (``hash`` of a str does)."""
    return zlib.crc32(text.encode("utf-8"))
