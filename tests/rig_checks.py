"""What the retargeting tests check on a character: does it follow the generated armature?"""
from __future__ import annotations

import numpy as np

# (source bone, bone its segment ends at), (target bone, bone its segment ends at) on the
# Quaternius characters; None: the source bone's own tail.
QUATERNIUS_SEGMENTS = [
    (("upper_arm.L", "forearm.L"), ("UpperArm.L", "LowerArm.L")),
    (("forearm.R", None), ("LowerArm.R", "Hand.R")),
    (("thigh.L", "shin.L"), ("UpperLeg.L", "LowerLeg.L")),
    (("shin.R", None), ("LowerLeg.R", "Foot.R")),
    (("spine", "chest"), ("Abdomen", "Chest")),
]


def world_point(obj, bone_name: str, end: str = "head") -> np.ndarray:
    return np.array(obj.matrix_world @ getattr(obj.pose.bones[bone_name], end))


def segment_angles(source, target, segments, frames) -> np.ndarray:
    """Degrees (frames, segments) between each source limb segment and its target segment."""
    import bpy

    angles = []
    for frame in frames:
        bpy.context.scene.frame_set(int(frame))
        row = []
        for (s0, s1), (t0, t1) in segments:
            s_end = world_point(source, s1) if s1 else world_point(source, s0, "tail")
            d_s = s_end - world_point(source, s0)
            d_t = world_point(target, t1) - world_point(target, t0)
            cos = d_s @ d_t / np.linalg.norm(d_s) / np.linalg.norm(d_t)
            row.append(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))
        angles.append(row)
    return np.array(angles)
