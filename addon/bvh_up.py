"""Turn a BVH written by Blender's exporter into a Y-up BVH in world space.

Blender's exporter writes the armature's own space, which for Blender is Z up. Everyone else
reads BVH as Y up (MotionBuilder, Unity, Unreal, three.js, and Blender's own importer with its
defaults, which turns Y up into Blender's Z up): a Z-up file comes in lying on its back. The
exporter also ignores the object's transform, which an imported rig often carries (an FBX rig's
axis turn and its centimetre scale).

Changing the frame is exact: with ``B`` the rotation from armature space to the Y-up world and
``s`` the object's scale, every offset ``o`` becomes ``s B o``, every joint rotation ``R`` becomes
``B R B^T``, the root's position ``p`` becomes ``s B p`` plus the object's location. Rotations are
written in the common Z, X, Y channel order.
"""
from __future__ import annotations

from math import degrees, radians

from mathutils import Euler, Matrix, Vector

# Blender's world (Z up, -Y forward) -> BVH's (Y up, +Z forward): (x, y, z) -> (x, z, -y).
Z_UP_TO_Y_UP = Matrix(((1.0, 0.0, 0.0), (0.0, 0.0, 1.0), (0.0, -1.0, 0.0)))
ROTATION_ORDER = "ZXY"  # written channel order; Z, X then Y is the most common in BVH files
_AXES = "XYZ"


class _Joint:
    """One joint's motion columns: where its position and rotation values are in a frame row."""

    def __init__(self, names: list[str], first_column: int, top_level: bool):
        self.top_level = top_level  # no ancestor moves it: its position is in the world
        self.position = {n[0]: first_column + i for i, n in enumerate(names) if n.endswith("position")}
        rotation = [(n[0], first_column + i) for i, n in enumerate(names) if n.endswith("rotation")]
        self.rotation_order = "".join(axis for axis, _ in rotation)
        self.rotation_columns = [column for _, column in rotation]
        self.width = len(names)


def to_y_up(text: str, object_matrix: Matrix) -> str:
    """The BVH ``text`` (as Blender's exporter writes it, for an armature object whose world
    matrix is ``object_matrix``) in Blender's world turned Y up, metres."""
    location, rotation, scale = object_matrix.decompose()
    if max(scale) - min(scale) > 1e-6 * max(scale):
        raise ValueError(f"BVH export needs a uniformly scaled armature object, got scale "
                         f"{tuple(round(s, 6) for s in scale)}")
    turn = Z_UP_TO_Y_UP @ rotation.to_matrix()
    shift = Z_UP_TO_Y_UP @ location
    size = scale[0]
    lines = text.splitlines()
    out: list[str] = []
    joints: list[_Joint] = []
    columns = 0
    has_channels: list[bool] = []  # per open block (joint or End Site): it has channels
    for row, line in enumerate(lines):
        words = line.split()
        indent = line[: len(line) - len(line.lstrip())]
        if words == ["{"]:
            has_channels.append(False)
        elif words == ["}"]:
            has_channels.pop()
        if words and words[0] == "OFFSET":
            offset = size * (turn @ Vector([float(v) for v in words[1:4]]))
            out.append(f"{indent}OFFSET {offset.x:.6f} {offset.y:.6f} {offset.z:.6f}")
        elif words and words[0] == "CHANNELS":
            joint = _Joint(words[2:], columns, top_level=not any(has_channels[:-1]))
            has_channels[-1] = True
            joints.append(joint)
            columns += joint.width
            names = [f"{axis}position" for axis in _AXES if joint.position]
            names += [f"{axis}rotation" for axis in ROTATION_ORDER if joint.rotation_order]
            out.append(f"{indent}CHANNELS {len(names)} {' '.join(names)}")
        elif words and words[0] == "Frame" and words[1] == "Time:":
            out.append(line)
            out.extend(_frames(lines[row + 1:], joints, turn, shift, size))
            break
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def _frames(rows: list[str], joints: list[_Joint], turn: Matrix, shift: Vector, size: float):
    turn_back = turn.transposed()
    previous = [Euler((0.0, 0.0, 0.0), ROTATION_ORDER[::-1]) for _ in joints]
    for row in rows:
        if not row.strip():
            continue
        values = [float(v) for v in row.split()]
        written: list[float] = []
        for j, joint in enumerate(joints):
            if joint.position:
                position = size * (turn @ Vector([values[joint.position[a]] for a in _AXES]))
                written.extend(shift + position if joint.top_level else position)
            if joint.rotation_order:
                # BVH applies the channels in the order listed: X Y Z means Rx @ Ry @ Rz, which is
                # mathutils' Euler of the reversed order.
                angles = {axis: radians(values[column]) for axis, column
                          in zip(joint.rotation_order, joint.rotation_columns)}
                euler = Euler([angles[a] for a in _AXES], joint.rotation_order[::-1])
                turned = turn @ euler.to_matrix() @ turn_back
                previous[j] = turned.to_euler(ROTATION_ORDER[::-1], previous[j])
                written.extend(degrees(previous[j][_AXES.index(a)]) for a in ROTATION_ORDER)
        yield " ".join(f"{v:.6f}" for v in written)
