"""Where an import goes in the scene, decided before the analysis starts so that mistakes show
up front (no bpy): set up from the panel (``import_setup``) or the batch's arguments, carried
out by ``import_apply``."""
from __future__ import annotations

from dataclasses import dataclass

from .bonemap import BoneMap


@dataclass(frozen=True)
class ImportPlan:
    armature_name: str = "RePOSE"
    # Retarget onto this armature (by name: the user may delete it while the worker runs), or None.
    target_name: str | None = None
    bone_map: BoneMap | None = None
    add_camera: bool = False
