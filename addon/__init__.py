"""RePOSE for Blender: the Blender extension (UI in this module, work in submodules)."""
