"""Rendered footage with exact 3D truth: mocap takes on characters, filmed by sampled shots.

One take (a stretch of a mocap clip) on one character gives several shots; each shot is a video
``<name>.mp4`` and its truth ``<name>.truth.npz``:

    joints   (T, 17, 3) float32  the character's joints, world (Y up, metres, floor y = 0)
    R, C     (T, 3, 3), (T, 3)    the camera per frame (``X_cam = R (X - C)``)
    focal_px, size (w, h), fps, follow, character, scale, clip, subject, start

Nothing is rendered twice: an existing pair is kept (delete it to render again). Needs bpy.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from repose_core.detect.atomic import atomic_output

from .shots import Shot, ShotConfig, floor_height, sample_shot

# The characters of the shared data, by short name (CC0, Quaternius).
CHARACTER_FILES: dict[str, str] = {
    "men": "characters/quaternius_modular_men_Casual.glb",
    "women": "characters/quaternius_modular_women_Casual.glb",
}
# Ankles sit this high above the sole when standing (the mocap's floor is put under them).
ANKLE_HEIGHT_M = 0.08


@dataclass(frozen=True)
class Take:
    """What to render: frames of a clip (world joints, Y up) on a character."""

    name: str          # unique: becomes the file names
    clip: str
    subject: str
    start: int
    joints: np.ndarray  # (T, 17, 3) world, Y up, metres
    fps: float
    character: str      # key of CHARACTER_FILES
    scale: float = 1.0


@dataclass(frozen=True)
class RenderTruth:
    """A shot's truth file, loaded."""

    joints: np.ndarray
    R: np.ndarray
    C: np.ndarray
    focal_px: float
    size: tuple[int, int]
    fps: float
    follow: bool
    character: str
    scale: float
    clip: str
    subject: str
    start: int

    @property
    def shot(self) -> Shot:
        return Shot(self.R, self.C, self.focal_px, self.size, self.follow)

    @property
    def joints_camera(self) -> np.ndarray:
        """(T, 17, 3) the joints in each frame's camera frame."""
        return self.shot.to_camera(self.joints)

    @classmethod
    def load(cls, path: str | Path) -> "RenderTruth":
        with np.load(path, allow_pickle=False) as z:
            return cls(
                joints=z["joints"].astype(np.float64), R=z["R"].astype(np.float64),
                C=z["C"].astype(np.float64), focal_px=float(z["focal_px"]),
                size=(int(z["size"][0]), int(z["size"][1])), fps=float(z["fps"]),
                follow=bool(z["follow"]), character=str(z["character"]), scale=float(z["scale"]),
                clip=str(z["clip"]), subject=str(z["subject"]), start=int(z["start"]))

    def save(self, path: str | Path) -> None:
        with atomic_output(Path(path)) as temp, open(temp, "wb") as f:
            np.savez(f, joints=self.joints.astype(np.float32), R=self.R.astype(np.float32),
                     C=self.C.astype(np.float32), focal_px=self.focal_px, size=np.asarray(self.size),
                     fps=self.fps, follow=self.follow, character=self.character, scale=self.scale,
                     clip=self.clip, subject=self.subject, start=self.start)


def shot_paths(out_dir: str | Path, take_name: str, shot: int) -> tuple[Path, Path]:
    """(video, truth) paths of shot ``shot`` of a take."""
    stem = Path(out_dir) / f"{take_name}_s{shot}"
    return stem.with_suffix(".mp4"), stem.with_suffix(".truth.npz")


def render_take(take: Take, num_shots: int, out_dir: str | Path, data_root: str | Path,
                shots: ShotConfig = ShotConfig()) -> list[Path]:
    """Render ``num_shots`` shots of ``take`` into ``out_dir``; returns the truth files.

    Shots already on disk are skipped; the shots and the scene's look are seeded by the take's
    name, so they do not depend on which process renders it. The floor is put under the take's
    lowest ankles."""
    from . import blender

    pending = [k for k in range(num_shots) if not all(p.is_file() for p in shot_paths(out_dir, take.name, k))]
    truths = [shot_paths(out_dir, take.name, k)[1] for k in range(num_shots)]
    if not pending:
        return truths
    seed = zlib.crc32(take.name.encode("utf-8"))
    rng = np.random.default_rng(seed)
    joints = take.joints.astype(np.float64).copy()
    joints[..., 1] -= floor_height(joints, ANKLE_HEIGHT_M)
    scene = blender.new_scene(seed)
    character = blender.load_character(scene, Path(data_root) / CHARACTER_FILES[take.character], take.scale)
    blender.drive_character(scene, character, joints, take.fps)
    truth_joints = blender.character_joints(scene, character, take.scale)
    sampled = [sample_shot(rng, truth_joints, take.fps, shots) for _ in range(num_shots)]
    for k in pending:
        shot = sampled[k]
        video, truth_path = shot_paths(out_dir, take.name, k)
        blender.place_camera(scene, shot)
        blender.render_video(scene, video)
        RenderTruth(truth_joints, shot.R, shot.C, shot.focal_px, shot.size, take.fps, shot.follow,
                    take.character, take.scale, take.clip, take.subject, take.start).save(truth_path)
    return truths
