"""Blender extension entry point: Blender imports the zip root as a package and calls these.

The add-on is imported inside the functions, not at module level, because this file is also the
repository root's ``__init__.py``: pytest imports it while collecting tests, where neither bpy
nor the parent package are wanted.
"""


def register() -> None:
    from .addon import register as register_addon

    register_addon()


def unregister() -> None:
    from .addon import unregister as unregister_addon

    unregister_addon()
