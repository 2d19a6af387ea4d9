"""Rendered footage as training data: what MediaPipe really makes of a person on video.

``python -m train.render train`` films the training people's mocap on characters; here MediaPipe
runs on those videos through the product's own ``repose_core.detect`` (cached, so only once), and
each shot becomes a :class:`DetectedShot`: the lifter features of the real detections (the
runtime's ``clip_features``: confidences, gaps and all), the rendered truth in the camera frame,
the world's up direction there, and the joints the body hides. :class:`RenderedSampler` draws
training windows from them in the synthetic sampler's batch format, so the two mix in a batch.

Everything the simulated detector cannot know is in these windows: MediaPipe's landmark
definitions on a real body surface, its left/right swaps, its confident guesses at hidden limbs.

What they must not teach is the two characters' build (upper arms two thirds of a person's, a
long neck): a network trained on them gives a real person's arms their proportions. So a shot
can also be *carried over* to the proportions of the person whose mocap moved the character
(:func:`carried_to_person`): the truth rebuilt with that person's bone lengths, MediaPipe's 2D
and 3D moved by as much as the truth moved (its errors kept), and the sampler draws a share of
its windows from that version.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Mapping

import numpy as np

from repose_core.features import FEATURES_VERSION, mirror_features, roll_features, rolled_xy
from repose_core.runtime import clip_features
from repose_core.skeleton import (FLIP_PERMUTATION, JOINT_INDEX, apply_bone_lengths, bone_lengths, flip_direction,
                                  flip_pose, root_centred)

from ..synth.occlusion import self_occlusion

if TYPE_CHECKING:
    from ..render.footage import RenderTruth



@dataclass(frozen=True)
class DetectedShot:
    """One rendered shot with its detections, T frames; arrays float32 unless stated."""

    name: str
    subject: str
    features: np.ndarray     # (T, 17, 3) lifter features of MediaPipe's 2D
    target: np.ndarray       # (T, 17, 3) truth, camera frame, pelvis at the origin, metres
    up: np.ndarray           # (T, 3) the world's up direction in the camera frame
    occluded: np.ndarray     # (T, 17) bool, hidden by the body (capsule model)
    confidence: np.ndarray   # (T, 17) MediaPipe's, 0 where the person was not found
    as_person: "DetectedShot | None" = None   # the shot carried over to the mocap person's build

    def __len__(self) -> int:
        return len(self.features)


# The joints that end the limbs' long bones (thighs, shins, upper arms, forearms): what
# ``data.rendered_person_bones: limbs`` carries over, leaving the characters' torso and head.
LIMB_BONE_ENDS: frozenset[int] = frozenset(JOINT_INDEX[f"{side}_{joint}"] for side in "lr"
                                           for joint in ("knee", "ankle", "elbow", "wrist"))


def median_bone_lengths(joints: np.ndarray) -> np.ndarray:
    """(17,) median length of the bone that ends at each joint over frames (T, 17, 3); the
    root's entry is 0."""
    return np.median(bone_lengths(joints), axis=0)


def carried_to_person(joints: np.ndarray, person: np.ndarray) -> np.ndarray:
    """World joints (T, 17, 3) of a character rebuilt with the proportions of ``person`` (17,)
    bone lengths, scaled to the character's size (the sum of the bones carried): every bone keeps
    its direction in every frame and the pelvis stays where it is. A NaN in ``person`` keeps the
    character's own bone there."""
    carried = np.isfinite(person)
    character = median_bone_lengths(joints)
    wanted = np.where(carried, person * (character[carried].sum() / person[carried].sum()), character)
    return apply_bone_lengths(joints, wanted)


def detected_shot(name: str, truth: RenderTruth, video: Path, detect_cache: Path,
                  features_version: str = FEATURES_VERSION,
                  person_lengths: np.ndarray | None = None) -> DetectedShot:
    """Run (or read the cached) detection of one rendered shot and pair it with its ``truth``;
    its features are of ``features_version`` (with MediaPipe's 3D for the world feature set).
    With ``person_lengths`` (17,) (the mocap person's :func:`median_bone_lengths`) it also carries the
    shot over to that person's build (``as_person``)."""
    from repose_core.detect import detect_video

    detection = detect_video(video, cache_dir=detect_cache)
    frames = detection.frame_indices
    confidence = np.where(detection.found[:, None], detection.confidence, 0.0)

    def shot(joints: np.ndarray, keypoints: np.ndarray, world: np.ndarray) -> DetectedShot:
        cam = truth.shot.to_camera(joints)[frames]
        return DetectedShot(
            name=name, subject=truth.subject,
            features=clip_features(keypoints, detection.image_size, confidence, world, features_version),
            target=root_centred(cam).astype(np.float32),
            up=truth.shot.up_in_camera[frames].astype(np.float32),
            occluded=self_occlusion(cam),
            confidence=confidence.astype(np.float32),
        )

    seen = shot(truth.joints, detection.keypoints, detection.world_joints)
    if person_lengths is None:
        return seen
    person = carried_to_person(truth.joints, person_lengths)
    # MediaPipe's 2D and 3D move as the truth moved; what it got wrong stays wrong the same way.
    # Its 3D is pelvis-centred and near enough camera-aligned (within ~15 deg on these shots).
    moved_2d = (truth.shot.project(person) - truth.shot.project(truth.joints))[frames]
    moved_3d = (truth.shot.to_camera(person) - truth.shot.to_camera(truth.joints))[frames]
    carried = shot(person, detection.keypoints + moved_2d, detection.world_joints + moved_3d)
    return replace(seen, as_person=carried)


def load_detected_shots(folder: str | Path, detect_cache: str | Path,
                        exclude_subjects: frozenset[str] = frozenset(),
                        features_version: str = FEATURES_VERSION,
                        person_lengths: Mapping[str, np.ndarray] | None = None,
                        log: Callable[[str], None] = print) -> list[DetectedShot]:
    """Every rendered shot in ``folder`` (``*.truth.npz`` beside its ``.mp4``), detected.

    ``exclude_subjects``: people to leave out (the held-out ones). ``person_lengths``: mocap
    clip name -> its :func:`median_bone_lengths`; each shot is also carried over to its clip's person
    (a shot of a clip not named there raises). Shots not yet detected are run through MediaPipe
    first (tens of frames a second), with a progress line.
    """
    from ..render.footage import RenderTruth

    folder, detect_cache = Path(folder), Path(detect_cache)
    truths = sorted(folder.glob("*.truth.npz"))
    if not truths:
        raise FileNotFoundError(f"{folder}: no rendered shots (python -m train.render train)")
    shots = []
    for k, truth_path in enumerate(truths):
        name = truth_path.name.removesuffix(".truth.npz")
        truth = RenderTruth.load(truth_path)
        if truth.subject in exclude_subjects:
            continue
        if person_lengths is not None and truth.clip not in person_lengths:
            raise KeyError(f"{truth_path}: its mocap clip {truth.clip!r} is not in the training library")
        lengths = None if person_lengths is None else person_lengths[truth.clip]
        shots.append(detected_shot(name, truth, folder / f"{name}.mp4", detect_cache, features_version, lengths))
        if (k + 1) % 50 == 0:
            print(f"  detected {k + 1}/{len(truths)} rendered shots", file=sys.stderr, flush=True)
    log(f"rendered footage: {len(shots)} shots / {sum(len(s) for s in shots)} frames of "
        f"{len({s.subject for s in shots})} people from {folder}")
    return shots


class RenderedSampler:
    """Random windows of ``window`` frames from detected shots, as training batches.

    A shot shorter than the window is padded with its first and last frames, as the runtime pads
    a clip's ends. With ``flip`` half the windows are mirrored (image and 3D together). With
    ``person_share`` that share of the windows comes from the shots carried over to their mocap
    person's build (``DetectedShot.as_person``). With ``roll_deg`` each window is also seen
    through its camera rolled about the optical axis by a normal angle of that standard
    deviation (degrees), image and 3D together: footage is rendered with little roll, a real
    camera on a stand or in a hand often has more (the bundled clip's: 13 degrees), and the up
    direction must follow it. Same seed, same batches.
    """

    def __init__(self, shots: list[DetectedShot], window: int, seed: int, flip: bool = True,
                 person_share: float = 0.0, roll_deg: float = 0.0):
        if not shots:
            raise ValueError("no rendered shots to sample from")
        if person_share and any(s.as_person is None for s in shots):
            raise ValueError("person_share needs shots carried over to their mocap person "
                             "(load_detected_shots(..., person_lengths=...))")
        self.shots, self.window, self.flip, self.person_share = shots, window, flip, person_share
        self.roll_deg = roll_deg
        self.rng = np.random.default_rng(seed)
        weights = np.array([max(len(s) - window + 1, 1) for s in shots], dtype=np.float64)
        self.p = weights / weights.sum()   # every window start equally likely

    def sample(self, count: int) -> dict[str, np.ndarray]:
        chosen = [self.shots[i] for i in self.rng.choice(len(self.shots), size=count, p=self.p)]
        if self.person_share:
            carried = self.rng.random(count) < self.person_share
            chosen = [s.as_person if c else s for s, c in zip(chosen, carried)]
        windows = [self._window(shot) for shot in chosen]
        batch = {key: np.stack([w[key] for w in windows]) for key in windows[0]}
        if self.flip:
            # Mirroring the image mirrors the features and the 3D alike (x -> -x, left <-> right).
            mirrored = self.rng.random(count) < 0.5
            batch["inputs"][mirrored] = mirror_features(batch["inputs"][mirrored])
            batch["target"][mirrored] = flip_pose(batch["target"][mirrored])
            for key in ("occluded", "confidence"):
                batch[key][mirrored] = batch[key][mirrored][..., FLIP_PERMUTATION]
            batch["up"][mirrored] = flip_direction(batch["up"][mirrored])
        if self.roll_deg:
            angle = np.radians(self.rng.normal(0.0, self.roll_deg, count))
            batch["inputs"] = roll_features(batch["inputs"], angle[:, None, None])
            batch["target"] = rolled_xy(batch["target"], angle[:, None, None])
            batch["up"] = rolled_xy(batch["up"], angle[:, None])
        return batch

    def _window(self, shot: DetectedShot) -> dict[str, np.ndarray]:
        start = int(self.rng.integers(0, max(len(shot) - self.window, 0) + 1))
        frames = np.clip(np.arange(start, start + self.window) - max(self.window - len(shot), 0) // 2,
                         0, len(shot) - 1)
        return {"inputs": shot.features[frames], "target": shot.target[frames],
                "occluded": shot.occluded[frames], "confidence": shot.confidence[frames],
                "up": shot.up[frames]}

