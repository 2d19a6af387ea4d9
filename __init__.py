"""Blender extension entry point: Blender imports the zip root as a package and calls these."""
from .addon import register, unregister

__all__ = ["register", "unregister"]
