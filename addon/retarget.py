"""Retarget the generated armature's motion onto the user's own rig (bpy + numpy).

The method, per mapped bone pair (source bone s of the generated armature, target bone t):

1. Rest alignment ``A_t`` (world rotation): first the body-frame rotation ``B`` that turns the
   target's rest facing (hip line, torso up) onto the source's, then the smallest swing that lays
   the target's rest *segment* (from its head to the joint where the next mapped bone starts) onto
   the source's rest segment. This absorbs rest-pose differences (A-pose vs T-pose, bones whose
   own axes do not point along the limb, as glTF imports often have, different rolls).
2. Per frame the source bone's world rotation relative to its rest, ``D_s(f) = R_s(f) R_s0^T``, is
   applied to the aligned target rest: ``R_t(f) = D_s(f) A_t R_t0``. Twist comes with ``D_s``.
3. The target pelvis bone's world head follows the source pelvis, displacements scaled by the
   ratio of the rigs' leg lengths (a shorter character takes shorter steps). The translation is
   keyed on the lowest bone that carries every mapped bone: the pelvis bone itself on most rigs,
   a root bone above it where the legs hang from that root instead of from the hips.
4. World targets become local pose-bone values by walking the target hierarchy; unmapped bones
   between mapped ones are keyed at rest so the result does not depend on what they held before.

Hands (a RePOSE armature with hand bones, and a map that names them): the hand and finger bones
are aligned as above, and then also turned about their segment so that the target's palm faces
where the source's does at rest (the palm from the wrist, the index and little-finger bases);
otherwise a rig whose rest palms face forward would curl its fingers sideways. Map entries for
bones the source lacks (hands, on a body-only armature) are left out.

An import hands :func:`retarget_motion` the rotations it computed (``pipeline.Motion``);
:func:`retarget`, the Retarget operator's, reads them from the source armature's action (its
F-curves evaluated at every frame), so any action on a RePOSE armature works, including one an
animator has edited.
"""
from __future__ import annotations

import bpy
import numpy as np

from repose_core.palm import palm_axes
from repose_core.rotations import (
    axis_angle_matrix, frame_from_axes, make_continuous, matrix_to_quaternion, minimal_rotation, normalize,
    quaternion_to_matrix,
)

from .armature import action_fcurves, write_bone_keys
from .bonemap import BoneMap, check_against
from .motion.hand_rig import ALL_BONE_NAMES, FINGERS, HAND_BONE_INDEX, HAND_BONE_NAMES, SIDES
from .motion.rig import BONE_NAMES, ROOT_BONE

# Along each chain, the generated bone whose head is where this bone's segment ends. Chest ends
# at the thorax where the neck starts (the shoulders start there too, but they leave sideways).
CHAIN_CHILD: dict[str, str] = {
    "pelvis": "spine", "spine": "chest", "chest": "neck", "neck": "head",
    "hip.L": "thigh.L", "thigh.L": "shin.L", "hip.R": "thigh.R", "thigh.R": "shin.R",
    "shoulder.L": "upper_arm.L", "upper_arm.L": "forearm.L",
    "shoulder.R": "upper_arm.R", "upper_arm.R": "forearm.R",
    # The hands: forearm -> hand -> the middle finger's knuckle; each finger along its bones.
    **{f"forearm.{side}": f"hand.{side}" for side in SIDES},
    **{f"hand.{side}": f"f_middle.01.{side}" for side in SIDES},
    **{f"{finger}.0{k}.{side}": f"{finger}.0{k + 1}.{side}"
       for side in SIDES for finger in FINGERS for k in (1, 2)},
}

# Frames solved at once: a few tens of MB per chunk, whatever the action's length.
CHUNK_FRAMES: int = 4096


class RetargetError(ValueError):
    """Wrong objects or a rig the motion cannot be put on; the message names what is wrong."""


def _matrix(m) -> np.ndarray:
    return np.array([list(row) for row in m], dtype=np.float64)


def _rotation_part(m: np.ndarray) -> np.ndarray:
    """Rotation of a 4x4 object matrix without its scale (objects are scaled along their axes)."""
    r = m[:3, :3]
    return r / np.linalg.norm(r, axis=0, keepdims=True)


class _Rig:
    """Rest data of an armature object in numpy: bone matrices, parents, world placement."""

    def __init__(self, obj: bpy.types.Object):
        bones = list(obj.data.bones)
        self.names = [b.name for b in bones]
        self.index = {name: i for i, name in enumerate(self.names)}
        self.parents = [self.index[b.parent.name] if b.parent else -1 for b in bones]
        self.rest = np.stack([_matrix(b.matrix_local) for b in bones])  # (N, 4, 4) armature space
        self.tail = np.array([list(b.tail_local) for b in bones], dtype=np.float64)
        self.connected = [b.use_connect for b in bones]
        self.object_matrix = _matrix(obj.matrix_world)
        self.object_rotation = _rotation_part(self.object_matrix)
        # Local rest offset of each bone from its parent (the parent's pose applies on top of it).
        self.offset = np.stack([
            self.rest[i] if p < 0 else np.linalg.inv(self.rest[p]) @ self.rest[i]
            for i, p in enumerate(self.parents)
        ])

    def world_points(self, points: np.ndarray) -> np.ndarray:
        m = self.object_matrix
        return points @ m[:3, :3].T + m[:3, 3]

    def armature_points(self, points: np.ndarray) -> np.ndarray:
        m = np.linalg.inv(self.object_matrix)
        return points @ m[:3, :3].T + m[:3, 3]

    @property
    def rest_heads_world(self) -> np.ndarray:
        return self.world_points(self.rest[:, :3, 3])

    @property
    def rest_rotations_world(self) -> np.ndarray:
        return self.object_rotation @ self.rest[:, :3, :3]

    def segment_end(self, bone: int) -> np.ndarray:
        """Armature-space point where a bone's limb segment ends: its first child's head if
        that is away from its own head, else its tail (end bones: hands, feet, head)."""
        head = self.rest[bone, :3, 3]
        for child, parent in enumerate(self.parents):
            if parent == bone and np.linalg.norm(self.rest[child, :3, 3] - head) > 1e-6:
                return self.rest[child, :3, 3]
        return self.tail[bone]

    def depth_order(self) -> list[int]:
        def depth(i: int) -> int:
            return 0 if self.parents[i] < 0 else 1 + depth(self.parents[i])
        return sorted(range(len(self.names)), key=depth)


def source_bone_names(count: int) -> tuple[str, ...]:
    """The generated armature's bones that rotations of ``count`` bones are for: the body's
    (17), or the body's and the hands' (49)."""
    for names in (BONE_NAMES, ALL_BONE_NAMES):
        if count == len(names):
            return names
    raise RetargetError(f"rotations must be for {len(BONE_NAMES)} or {len(ALL_BONE_NAMES)} bones "
                        f"(the body's, or with the hands), got {count}")


def _has_hands(source: bpy.types.Object) -> bool:
    return all(b in source.data.bones for b in HAND_BONE_NAMES)


def _check_source(source: bpy.types.Object) -> None:
    if source is None or source.type != "ARMATURE":
        raise RetargetError(f"source {getattr(source, 'name', source)!r} is not an armature object")
    missing = [b for b in BONE_NAMES if b not in source.data.bones]
    if missing:
        raise RetargetError(
            f"source armature {source.name!r} is not a RePOSE armature: it lacks bones {missing}"
        )


def _check_target(target: bpy.types.Object, source: bpy.types.Object, bone_map: BoneMap) -> None:
    if target is None or target.type != "ARMATURE":
        raise RetargetError(
            f"target {getattr(target, 'name', target)!r} is not an armature object; "
            "select the armature of your character"
        )
    if target == source:
        raise RetargetError(f"source and target are the same armature {source.name!r}")
    check_against(bone_map, target.data.bones.keys(), target.name)


def sample_source_motion(source: bpy.types.Object) -> tuple[np.ndarray, np.ndarray, int]:
    """The motion of a RePOSE armature's action, one frame per key of its range: local
    quaternions (T, 17, 4), or (T, 49, 4) for an armature with hands (``ALL_BONE_NAMES``), the
    root's location (T, 3) (rest values where a curve is absent), and the first frame."""
    action = source.animation_data.action if source.animation_data else None
    if action is None:
        raise RetargetError(f"source armature {source.name!r} has no action to retarget")
    start, end = (int(round(f)) for f in action.frame_range)
    frames = np.arange(start, end + 1, dtype=np.float64)
    curves = {(fc.data_path, fc.array_index): fc for fc in action_fcurves(action, source)}
    names = ALL_BONE_NAMES if _has_hands(source) else BONE_NAMES
    quats = np.zeros((len(frames), len(names), 4))
    quats[..., 0] = 1.0
    location = np.zeros((len(frames), 3))

    def fill(out: np.ndarray, bone: str, prop: str, index: int) -> None:
        fc = curves.get((f'pose.bones["{bpy.utils.escape_identifier(bone)}"].{prop}', index))
        if fc is not None:
            out[:] = [fc.evaluate(f) for f in frames]

    for b, name in enumerate(names):
        for i in range(4):
            fill(quats[:, b, i], name, "rotation_quaternion", i)
    for i in range(3):
        fill(location[:, i], ROOT_BONE, "location", i)
    return normalize(quats), location, start


def _forward_kinematics(rig: _Rig, order: list[int], quats: dict[int, np.ndarray],
                        locations: dict[int, np.ndarray], n_frames: int) -> dict[int, np.ndarray]:
    """Armature-space pose matrices ``{bone: (T, 4, 4)}`` of the bones in ``order`` (parents
    first; a bone's parent must be in ``order`` unless it is a root). Bones absent from
    ``quats``/``locations`` have an identity basis."""
    pose: dict[int, np.ndarray] = {}
    for i in order:
        basis = np.tile(np.eye(4), (n_frames, 1, 1))
        if i in quats:
            basis[:, :3, :3] = quaternion_to_matrix(quats[i])
        if i in locations:
            basis[:, :3, 3] = locations[i]
        parent = rig.parents[i]
        base = rig.offset[i] if parent < 0 else pose[parent] @ rig.offset[i]
        pose[i] = base @ basis
    return pose


def _leg_length(rig: _Rig, thigh: int, shin: int) -> float:
    heads = rig.rest[:, :3, 3]
    thigh_len = np.linalg.norm(rig.object_matrix[:3, :3] @ (heads[shin] - heads[thigh]))
    shin_len = np.linalg.norm(rig.object_matrix[:3, :3] @ (rig.segment_end(shin) - heads[shin]))
    return float(thigh_len + shin_len)


def _body_frame(heads: np.ndarray, ids: dict[str, int]) -> np.ndarray:
    """World frame (3, 3) of a rest pose: Y up the torso, X towards the person's left."""
    left = heads[ids["thigh.L"]] - heads[ids["thigh.R"]]
    up = heads[ids["chest"]] - heads[ids["pelvis"]]
    return frame_from_axes(up, left)


def _palm_normal(heads: np.ndarray, ids: dict[str, int], side: str) -> np.ndarray | None:
    """World direction (3,) out of a rest pose's palm (``repose_core.palm.palm_frame``'s Z), or None
    when the wrist or the index or little finger's base is not among ``ids``."""
    names = (f"hand.{side}", f"f_index.01.{side}", f"f_pinky.01.{side}")
    if not all(name in ids for name in names):
        return None
    _, _, normal = palm_axes(*(heads[ids[name]] for name in names), left=side == "L")
    return normalize(normal)


def _twist_onto(align: np.ndarray, axis: np.ndarray, normal_from: np.ndarray,
                normal_to: np.ndarray) -> np.ndarray:
    """``align`` (3, 3) turned about ``axis`` so that it carries ``normal_from`` as near as it
    can to ``normal_to`` (both taken across the axis)."""
    carried = align @ normal_from
    carried, target = (v - (v @ axis) * axis for v in (carried, normal_to))
    angle = np.arctan2(np.cross(carried, target) @ axis, carried @ target)
    return axis_angle_matrix(axis, np.asarray(angle)) @ align


class _Plan:
    """Everything about a source/target pair that does not change from frame to frame."""

    def __init__(self, source: bpy.types.Object, target: bpy.types.Object, bone_map: BoneMap,
                 names: tuple[str, ...] = BONE_NAMES):
        self.src, self.tgt = src, tgt = _Rig(source), _Rig(target)
        self.names = names  # the source bones whose rotations are given
        self.mapped = mapped = {s: tgt.index[t] for s, t in bone_map.bones.items() if s in names}
        src_rest_head, tgt_rest_head = src.rest_heads_world, tgt.rest_heads_world
        self.src_rest_rot, self.src_rest_head = src.rest_rotations_world, src_rest_head
        self.tgt_rest_head = tgt_rest_head

        facing = _body_frame(src_rest_head, src.index) @ _body_frame(tgt_rest_head, mapped).T
        # Per mapped target bone: the world rotation that lays its rest segment on the source's,
        # already applied to its rest orientation (A_t R_t0 in the module docstring).
        tgt_rest_rot = tgt.rest_rotations_world
        palms = {side: (_palm_normal(src_rest_head, src.index, side),
                        _palm_normal(tgt_rest_head, mapped, side)) for side in SIDES}
        self.aligned_rest: dict[str, np.ndarray] = {}
        for name, t in mapped.items():
            align = facing
            if name != ROOT_BONE:
                d_src, d_tgt = self._segment(name)
                align = minimal_rotation(facing @ d_tgt, d_src) @ facing
                src_palm, tgt_palm = palms[name[-1]] if name in HAND_BONE_INDEX else (None, None)
                if src_palm is not None and tgt_palm is not None:
                    align = _twist_onto(align, d_src, tgt_palm, src_palm)
            self.aligned_rest[name] = align @ tgt_rest_rot[t]

        self.root_scale = float(np.mean([
            _leg_length(tgt, mapped[f"thigh.{side}"], mapped[f"shin.{side}"])
            / _leg_length(src, src.index[f"thigh.{side}"], src.index[f"shin.{side}"])
            for side in "LR"
        ]))
        self.t_root = mapped[ROOT_BONE]
        self.t_move = _lowest_common_ancestor(tgt.parents, list(mapped.values()))
        if self.t_move < 0:
            raise RetargetError(f"the mapped bones of {target.name!r} have no common root bone")
        if tgt.connected[self.t_move]:
            raise RetargetError(
                f"bone {tgt.names[self.t_move]!r} of {target.name!r} is connected to its parent, so "
                "it cannot carry root motion; map 'pelvis' to the rig's unconnected hip/root bone"
            )
        # The pelvis bone's rest head in the moving bone's frame (zero when they are one bone):
        # the bones between them are unmapped and keyed at rest.
        self.root_in_move = (np.linalg.inv(tgt.rest[self.t_move]) @ tgt.rest[self.t_root])[:3, 3]
        # Bones to key: mapped ones and every ancestor of a mapped bone (keyed at rest).
        keyed: set[int] = set()
        for t in mapped.values():
            while t >= 0 and t not in keyed:
                keyed.add(t)
                t = tgt.parents[t]
        self.order = [i for i in tgt.depth_order() if i in keyed]
        self.source_of = {t: name for name, t in mapped.items()}  # target bone -> RePOSE bone

    def _segment(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Rest segment directions (source, target) in world space for a mapped bone."""
        src, tgt, mapped = self.src, self.tgt, self.mapped
        child = CHAIN_CHILD.get(name)
        while child is not None and child not in mapped:
            child = CHAIN_CHILD.get(child)
        s, t = src.index[name], mapped[name]
        if child is not None:
            src_end = self.src_rest_head[src.index[child]]
            tgt_end = self.tgt_rest_head[mapped[child]]
        else:
            src_end = src.world_points(src.tail[s])
            tgt_end = tgt.world_points(tgt.segment_end(t))
        return normalize(src_end - self.src_rest_head[s]), normalize(tgt_end - self.tgt_rest_head[t])

    def solve(self, quats: np.ndarray, root_location: np.ndarray) -> tuple[dict[int, np.ndarray], np.ndarray]:
        """Target basis rotations ``{bone: (n, 3, 3)}`` and the root's basis location (n, 3)
        for source local quaternions (n, 17, 4) and root location (n, 3)."""
        src, tgt, n = self.src, self.tgt, len(quats)
        src_pose = _forward_kinematics(
            src, [src.index[name] for name in self.names],
            {src.index[name]: quats[:, b] for b, name in enumerate(self.names)},
            {src.index[ROOT_BONE]: root_location}, n,
        )
        s_root = src.index[ROOT_BONE]
        root_world = self.tgt_rest_head[self.t_root] + self.root_scale * (
            src.world_points(src_pose[s_root][:, :3, 3]) - self.src_rest_head[s_root])
        root_arm = tgt.armature_points(root_world)
        arm_rot_inv = tgt.object_rotation.T

        pose: dict[int, np.ndarray] = {}
        rotations: dict[int, np.ndarray] = {}
        root_basis_location = np.zeros((n, 3))
        for i in self.order:
            parent = tgt.parents[i]
            base = np.broadcast_to(tgt.offset[i], (n, 4, 4)) if parent < 0 else pose[parent] @ tgt.offset[i]
            base_rot_inv = np.swapaxes(base[:, :3, :3], -1, -2)
            basis = np.tile(np.eye(4), (n, 1, 1))
            name = self.source_of.get(i)
            if name is not None:
                s = src.index[name]
                delta = (src.object_rotation @ src_pose[s][:, :3, :3]) @ self.src_rest_rot[s].T
                basis[:, :3, :3] = base_rot_inv @ (arm_rot_inv @ (delta @ self.aligned_rest[name]))
            if i == self.t_move:
                root_basis_location = (np.einsum("tij,tj->ti", base_rot_inv, root_arm - base[:, :3, 3])
                                       - self.root_in_move)
                basis[:, :3, 3] = root_basis_location
            pose[i] = base @ basis
            rotations[i] = basis[:, :3, :3]
        return rotations, root_basis_location


def _lowest_common_ancestor(parents: list[int], bones: list[int]) -> int:
    """The deepest bone whose descendants (itself included) hold all ``bones``; -1 if none."""
    def chain(bone: int) -> list[int]:
        out = []
        while bone >= 0:
            out.append(bone)
            bone = parents[bone]
        return out[::-1]   # root first

    chains = [chain(b) for b in bones]
    common = -1
    for level in zip(*chains):
        if len(set(level)) != 1:
            break
        common = level[0]
    return common


def retarget_rotations(source: bpy.types.Object, target: bpy.types.Object, bone_map: BoneMap,
                       rotations: np.ndarray, root_location: np.ndarray
                       ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Local pose values for the target from the generated armature's local quaternions
    (T, 17, 4), or (T, 49, 4) with the hands (``hand_rig.ALL_BONE_NAMES`` order), and root
    location (T, 3): ``{bone: (T, 4) quaternions}`` for every keyed bone and
    ``{bone: (T, 3) locations}`` for the pelvis-mapped bone and its unmapped ancestors.

    Frames are solved in chunks of CHUNK_FRAMES, so memory stays bounded for long motions."""
    source_names = source_bone_names(np.shape(rotations)[1])
    missing = [name for name in source_names if name not in source.data.bones]
    if missing:
        raise RetargetError(f"source armature {source.name!r} lacks bones {missing} that the "
                            "rotations are for")
    plan = _Plan(source, target, bone_map, source_names)
    count = len(rotations)
    names = [plan.tgt.names[i] for i in plan.order]
    out_quats = {name: np.empty((count, 4)) for name in names}
    root_name, move_name = plan.tgt.names[plan.t_root], plan.tgt.names[plan.t_move]
    mapped = {plan.tgt.names[t] for t in plan.mapped.values()}
    out_locs = {name: np.zeros((count, 3)) for name in names
                if name not in mapped or name in (root_name, move_name)}
    for begin in range(0, count, CHUNK_FRAMES):
        chunk = slice(begin, begin + CHUNK_FRAMES)
        solved, root_basis_location = plan.solve(np.asarray(rotations[chunk], dtype=np.float64),
                                                 np.asarray(root_location[chunk], dtype=np.float64))
        for i, matrices in solved.items():
            out_quats[plan.tgt.names[i]][chunk] = matrix_to_quaternion(matrices)
        out_locs[move_name][chunk] = root_basis_location
    return {name: make_continuous(q) for name, q in out_quats.items()}, out_locs


def retarget_motion(source: bpy.types.Object, rotations: np.ndarray, root_location: np.ndarray,
                    target: bpy.types.Object, bone_map: BoneMap, frame_start: int = 1) -> bpy.types.Action:
    """Put a motion of the generated armature ``source`` (its local quaternions (T, 17, 4), or
    (T, 49, 4) with the hands: ``pipeline.Motion.all_rotations``, and root location (T, 3)) on
    ``target`` as a new action keyed from ``frame_start``, and return the action.

    The target's current action (if any) is kept in the file (fake user) and left unchanged; the
    new action is named after the target and assigned to it. Keyed bones are switched to
    quaternion rotation mode, the only change made to the target's pose settings.
    """
    _check_source(source)
    return _put_on(source, rotations, root_location, target, bone_map, frame_start)


def retarget(source_armature: bpy.types.Object, target_armature: bpy.types.Object,
             bone_map: BoneMap) -> bpy.types.Action:
    """Put the motion of a RePOSE armature's action (edited or not) on ``target_armature`` as a
    new action over the same frames, as :func:`retarget_motion` does, and return it."""
    _check_source(source_armature)
    rotations, root_location, start = sample_source_motion(source_armature)
    return _put_on(source_armature, rotations, root_location, target_armature, bone_map, start)


def _put_on(source: bpy.types.Object, rotations: np.ndarray, root_location: np.ndarray,
            target: bpy.types.Object, bone_map: BoneMap, frame_start: int) -> bpy.types.Action:
    names = source_bone_names(np.shape(rotations)[1])
    # Entries for bones the motion lacks (the hands of a body-only armature) play no part.
    _check_target(target, source, bone_map.only(names))
    quats, locations = retarget_rotations(source, target, bone_map, rotations, root_location)
    anim = target.animation_data or target.animation_data_create()
    if anim.action is not None:
        anim.action.use_fake_user = True  # the user's action stays in the file, untouched
    new_action = bpy.data.actions.new(f"{target.name}_RePOSE")
    return write_bone_keys(target, new_action, quats, locations, frame_start=frame_start)
