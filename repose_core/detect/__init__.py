"""Video -> one person's 2D keypoints with MediaPipe PoseLandmarker (no torch, no bpy).

    from repose_core.detect import detect_video
    det = detect_video("clip.mp4", cache_dir="cache/")
    det.keypoints  # (T, 17, 2) pixels, H36M-17

CLI: ``python -m repose_core.detect VIDEO -o keypoints.npz [--overlay out.mp4]``.
"""
from .errors import DetectionCancelled, VideoError
from .resample import resample_constant_rate
from .result import Detection2D

__all__ = ["detect_video", "Detection2D", "VideoError", "DetectionCancelled",
           "resample_constant_rate"]


def __getattr__(name: str):
    # detect_video brings in MediaPipe (and matplotlib with it) and OpenCV, seconds of imports:
    # only when it is used, so that the light parts (e.g. tracking.MAX_PEOPLE for the add-on's
    # panel) can be imported without them.
    if name == "detect_video":
        from .detector import detect_video

        return detect_video
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
