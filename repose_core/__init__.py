"""RePOSE core: skeleton, cameras, metrics, lifters and the RePOSE losses.

Importing this package never imports torch; the runtime (``load_lifter``) runs on onnxruntime.
"""
from .skeleton import JOINTS

__version__ = "0.1.0"


def load_lifter(path=None, **kwargs):
    """Load a trained 2D->3D lifter (``.onnx`` on onnxruntime, or a ``.pt`` checkpoint).

    ``path=None`` loads the default model shipped inside the package. See
    :func:`repose_core.runtime.load_lifter`.
    """
    from .runtime import load_lifter as _load_lifter

    return _load_lifter(path, **kwargs)


__all__ = ["JOINTS", "load_lifter", "__version__"]
