"""The two exceptions the detect step raises on purpose."""
from __future__ import annotations


class VideoError(ValueError):
    """A video that cannot be used; the message names the file and what is wrong with it."""


class DetectionCancelled(Exception):
    """Raised when the caller's ``cancel()`` returned True; nothing is cached or written."""
