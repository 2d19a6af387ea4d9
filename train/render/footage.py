"""Rendered footage with exact 3D truth: mocap takes on characters, filmed by sampled shots.

One take (a stretch of a mocap clip) on one character gives several shots; each shot is a video
``<name>.mp4`` and its truth ``<name>.truth.npz``:

    joints   (T, 17, 3) float32  the character's joints, world (Y up, metres, floor y = 0)
    R, C     (T, 3, 3), (T, 3)    the camera per frame (``X_cam = R (X - C)``)
    focal_px, size (w, h), fps, follow, character, scale, clip, subject, start
    finger_bends (T, 2, 4, 3) float32, only for takes rendered with ``pose_fingers``: how far
        (degrees, from rest, towards the palm) each joint of the character's four fingers
        (index, middle, ring, little; knuckle, middle and end joint) is bent, the person's left
        hand then right

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
# pose_fingers: each finger closes and opens with a grip that cycles at FINGER_CYCLE_HZ, its
# joints bending at full grip by up to FINGER_MAX_BEND_DEG (knuckle, middle, end joint): a
# human hand's range, short of a tight fist.
FINGER_CYCLE_HZ: tuple[float, float] = (0.3, 0.9)
FINGER_MAX_BEND_DEG: tuple[tuple[float, float], ...] = ((20.0, 80.0), (30.0, 100.0), (15.0, 70.0))
FOUR_FINGERS: tuple[str, ...] = ("f_index", "f_middle", "f_ring", "f_pinky")


@dataclass(frozen=True)
class Proportions:
    """Limb proportions to give a character (``blender.reproportion``), as ratios of the
    joint-to-joint lengths of docs/joint_definitions.md; the torso is pelvis -> thorax."""

    upper_arm_to_forearm: float
    thigh_to_shin: float
    arm_to_torso: float     # (upper arm + forearm) / torso
    leg_to_torso: float     # (thigh + shin) / torso


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
    proportions: Proportions | None = None   # None: the character's own


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
    finger_bends: np.ndarray | None = None

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
                clip=str(z["clip"]), subject=str(z["subject"]), start=int(z["start"]),
                finger_bends=z["finger_bends"].astype(np.float64) if "finger_bends" in z else None)

    def save(self, path: str | Path) -> None:
        fingers = {} if self.finger_bends is None else {"finger_bends": self.finger_bends.astype(np.float32)}
        with atomic_output(Path(path)) as temp, open(temp, "wb") as f:
            np.savez(f, joints=self.joints.astype(np.float32), R=self.R.astype(np.float32),
                     C=self.C.astype(np.float32), focal_px=self.focal_px, size=np.asarray(self.size),
                     fps=self.fps, follow=self.follow, character=self.character, scale=self.scale,
                     clip=self.clip, subject=self.subject, start=self.start, **fingers)


def shot_paths(out_dir: str | Path, take_name: str, shot: int) -> tuple[Path, Path]:
    """(video, truth) paths of shot ``shot`` of a take."""
    stem = Path(out_dir) / f"{take_name}_s{shot}"
    return stem.with_suffix(".mp4"), stem.with_suffix(".truth.npz")


def render_take(take: Take, num_shots: int, out_dir: str | Path, data_root: str | Path,
                shots: ShotConfig = ShotConfig(), pose_fingers: bool = False) -> list[Path]:
    """Render ``num_shots`` shots of ``take`` into ``out_dir``; returns the truth files.

    Shots already on disk are skipped; the shots and the scene's look are seeded by the take's
    name, so they do not depend on which process renders it. The floor is put under the take's
    lowest ankles. ``pose_fingers``: the character's fingers also close and open at random
    (:func:`pose_character_fingers`), and the truth has their bends; otherwise they stay at
    rest."""
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
    if take.proportions is not None:
        blender.reproportion(character, take.proportions, take.scale)
    blender.drive_character(scene, character, joints, take.fps)
    truth_joints = blender.character_joints(scene, character, take.scale)
    bends = None
    if pose_fingers:  # a stream of its own: the shots stay those of the take without fingers
        bends = pose_character_fingers(scene, character, take.fps, np.random.default_rng([seed, 18]))
    sampled = [sample_shot(rng, truth_joints, take.fps, shots) for _ in range(num_shots)]
    for k in pending:
        shot = sampled[k]
        video, truth_path = shot_paths(out_dir, take.name, k)
        blender.place_camera(scene, shot)
        blender.render_video(scene, video)
        RenderTruth(truth_joints, shot.R, shot.C, shot.focal_px, shot.size, take.fps, shot.follow,
                    take.character, take.scale, take.clip, take.subject, take.start,
                    bends).save(truth_path)
    return truths


def pose_character_fingers(scene, character, fps: float, rng: np.random.Generator) -> np.ndarray:
    """Key the four fingers of both hands of ``character`` (a rig whose fingers a bone-map
    preset names) on every scene frame: each finger's joints bend towards the palm together, by
    a grip cycling between open and closed (FINGER_CYCLE_HZ, FINGER_MAX_BEND_DEG), each finger
    and hand its own. Each joint turns about the axis across its bone and the palm's normal, so
    the angle keyed is the joint's bend from rest. Returns those bends (T, 2, 4, 3) degrees:
    see the module docstring."""
    from addon.bonemap import detect_preset
    from addon.motion.hand_rig import SIDES, side_sign

    bone_map = detect_preset(character.data.bones.keys()).bones
    bones, pose_bones = character.data.bones, character.pose.bones
    frames = np.arange(scene.frame_start, scene.frame_end + 1)
    seconds = (frames - frames[0]) / fps
    out = np.zeros((len(frames), 2, len(FOUR_FINGERS), 3))
    for s, side in enumerate(SIDES):
        wrist, index, pinky = (np.array(bones[bone_map[f"{name}.{side}"]].head_local)
                               for name in ("hand", "f_index.01", "f_pinky.01"))
        along = 0.5 * (index + pinky) - wrist
        palm = side_sign(side) * np.cross(along, index - pinky)  # out of the palm's inside
        for f, finger in enumerate(FOUR_FINGERS):
            rate, phase = rng.uniform(*FINGER_CYCLE_HZ), rng.uniform(0.0, 2.0 * np.pi)
            grip = 0.5 - 0.5 * np.cos(2.0 * np.pi * rate * seconds + phase)
            for k in range(3):
                bone = bones[bone_map[f"{finger}.0{k + 1}.{side}"]]
                rest = np.array(bone.matrix_local)[:3, :3]
                # Turning Y about Y x palm moves it towards the palm's side.
                axis = np.cross(rest[:, 1], palm)
                axis = rest.T @ (axis / np.linalg.norm(axis))
                out[:, s, f, k] = rng.uniform(*FINGER_MAX_BEND_DEG[k]) * grip
                pose_bone = pose_bones[bone.name]
                pose_bone.rotation_mode = "QUATERNION"
                for frame, angle in zip(frames, np.radians(out[:, s, f, k])):
                    pose_bone.rotation_quaternion = (np.cos(angle / 2), *(np.sin(angle / 2) * axis))
                    pose_bone.keyframe_insert("rotation_quaternion", frame=int(frame))
    return out
