"""Bone maps: which bone of the user's rig follows which bone of the generated armature (no bpy).

A bone map is JSON::

    {"name": "Mixamo", "description": "...",
     "bones": {"pelvis": "mixamorig:Hips", "thigh.L": "mixamorig:LeftUpLeg", ...}}

Keys are the generated armature's bone names (``addon.motion.rig.BONE_NAMES``, and the hand
and finger bones of ``addon.motion.hand_rig.HAND_BONE_NAMES``), values the target rig's bone
names. Presets live in ``addon/bonemaps/*.json``; users can write their own. Bones of the target
that no entry names simply follow their parent (toes, twist bones; fingers a map leaves out).

The hand and finger entries are optional. A preset's hand entries that a rig lacks (a character
without finger bones) are left out when the preset is fitted to that rig; a map of your own is
used as written, so a misspelt finger bone is reported rather than skipped.
"""
from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from .motion.hand_rig import ALL_BONE_NAMES, HAND_BONE_NAMES, SIDES, side_bones

PRESET_DIR = Path(__file__).resolve().parent / "bonemaps"

# Without these the motion cannot be told apart on the target: the root, the torso and the four
# limbs (two segments each). Neck, shoulders, hips and the lower spine are optional.
REQUIRED_BONES: tuple[str, ...] = (
    "pelvis", "chest", "head",
    "thigh.L", "shin.L", "thigh.R", "shin.R",
    "upper_arm.L", "forearm.L", "upper_arm.R", "forearm.R",
)


class BoneMapError(ValueError):
    """A bone map that cannot be used: bad file, unknown bones, or bones the rig lacks."""


@dataclass(frozen=True)
class BoneMap:
    name: str
    bones: dict[str, str]  # generated-armature bone -> target bone
    source: str  # the file it came from, for messages

    def missing_on(self, target_bones: Collection[str]) -> list[str]:
        """Target bone names this map needs that ``target_bones`` lacks, in map order."""
        return [t for t in self.bones.values() if t not in target_bones]

    def in_namespace_of(self, target_bones: Collection[str]) -> "BoneMap":
        """This map with its bone-name namespace (``prefix:``) changed to the rig's, when all its
        bones share one and the rig has every bone under another: Mixamo names the bones of a
        second character in a file ``mixamorig1:Hips``, of a third ``mixamorig2:Hips``..."""
        prefixes = {t.partition(":")[0] for t in self.bones.values()}
        if len(prefixes) != 1 or not all(":" in t for t in self.bones.values()):
            return self
        ours = prefixes.pop()
        suffixes = [t.partition(":")[2] for t in self.bones.values()]
        for bone in target_bones:
            theirs, colon, suffix = bone.partition(":")
            if colon and theirs != ours and suffix == suffixes[0]:
                renamed = {k: f"{theirs}:{v.partition(':')[2]}" for k, v in self.bones.items()}
                # The body decides: a rig may lack the (optional) finger bones.
                if all(t in target_bones for k, t in renamed.items() if k not in HAND_BONE_NAMES):
                    return BoneMap(name=self.name, bones=renamed, source=self.source)
        return self

    def only(self, names: Collection[str]) -> "BoneMap":
        """This map with only the entries for the generated bones ``names``."""
        bones = {k: t for k, t in self.bones.items() if k in names}
        return self if len(bones) == len(self.bones) else BoneMap(self.name, bones, self.source)

    def without_missing_hands(self, target_bones: Collection[str]) -> "BoneMap":
        """This map without the hand entries of each side whose bones ``target_bones`` do not
        all have: a hand is mapped whole or not at all (a rig whose fingers are named otherwise
        could otherwise take some of them for other finger bones)."""
        dropped = set()
        for side in SIDES:
            entries = {k: t for k, t in self.bones.items() if k in side_bones(side)}
            if not all(t in target_bones for t in entries.values()):
                dropped |= set(entries)
        return self.only([k for k in self.bones if k not in dropped])


def _parse(data: object, source: str) -> BoneMap:
    if not isinstance(data, dict) or not isinstance(data.get("bones"), dict):
        raise BoneMapError(f"{source}: a bone map is a JSON object with a \"bones\" object")
    bones = data["bones"]
    bad_values = [k for k, v in bones.items() if not isinstance(v, str) or not v]
    if bad_values:
        raise BoneMapError(f"{source}: target bone names must be non-empty strings: {bad_values}")
    unknown = [k for k in bones if k not in ALL_BONE_NAMES]
    if unknown:
        raise BoneMapError(
            f"{source}: unknown RePOSE bones {unknown}; keys must be among {list(ALL_BONE_NAMES)}"
        )
    missing = [b for b in REQUIRED_BONES if b not in bones]
    if missing:
        raise BoneMapError(f"{source}: the map lacks required bones {missing}")
    targets = list(bones.values())
    duplicates = sorted({t for t in targets if targets.count(t) > 1})
    if duplicates:
        raise BoneMapError(f"{source}: target bones mapped more than once: {duplicates}")
    name = data.get("name") or Path(source).stem
    return BoneMap(name=str(name), bones=dict(bones), source=source)


def load_bone_map(path: str | Path) -> BoneMap:
    """Read and check a bone map JSON file; :class:`BoneMapError` names the file and the problem."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BoneMapError(f"bone map file not found: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BoneMapError(f"{path}: not a readable JSON bone map ({exc})") from None
    return _parse(data, str(path))


def preset_ids() -> list[str]:
    """Shipped presets, by file stem (``rigify_metarig``, ``mixamo``, ``quaternius``)."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.json"))


def load_preset(preset_id: str) -> BoneMap:
    path = PRESET_DIR / f"{preset_id}.json"
    if not path.is_file():
        raise BoneMapError(f"unknown bone-map preset {preset_id!r}; presets: {preset_ids()}")
    return load_bone_map(path)


def detect_preset(target_bones: Collection[str]) -> BoneMap:
    """The preset whose bones the rig has (all of them, but for the hands, which are left out
    where the rig lacks them: ``without_missing_hands``), the one mapping the most bones when
    several do; else an error saying what each lacks."""
    report, fitting = [], []
    for preset_id in preset_ids():
        bone_map = load_preset(preset_id).in_namespace_of(target_bones).without_missing_hands(target_bones)
        missing = bone_map.missing_on(target_bones)
        if not missing:
            fitting.append(bone_map)
        report.append(f"{bone_map.name}: lacks {missing}")
    if fitting:
        return max(fitting, key=lambda bone_map: len(bone_map.bones))  # the first of equals
    raise BoneMapError(
        "no bone-map preset fits this armature (choose one explicitly or load a JSON map). "
        + "; ".join(report)
    )


def check_against(bone_map: BoneMap, target_bones: Collection[str], armature_name: str) -> None:
    """Raise :class:`BoneMapError` listing the map's bones that ``armature_name`` lacks."""
    missing = bone_map.missing_on(target_bones)
    if missing:
        raise BoneMapError(
            f"armature {armature_name!r} lacks bones that bone map {bone_map.name!r} "
            f"({bone_map.source}) needs: {missing}"
        )


def resolve_bone_map(choice: str, target_bones: Collection[str], armature_name: str) -> BoneMap:
    """``choice``: ``"AUTO"``, a preset id, or a path to a JSON file. Checked against the rig
    (a preset's hand entries the rig lacks are left out first)."""
    if choice == "AUTO":
        return detect_preset(target_bones)
    if choice in preset_ids():
        bone_map = load_preset(choice).in_namespace_of(target_bones).without_missing_hands(target_bones)
    else:
        bone_map = load_bone_map(choice).in_namespace_of(target_bones)
    check_against(bone_map, target_bones, armature_name)
    return bone_map
