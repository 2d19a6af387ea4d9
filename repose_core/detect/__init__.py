"""Video -> one person's 2D keypoints with MediaPipe PoseLandmarker (no torch, no bpy).

    from repose_core.detect import detect_video
    det = detect_video("clip.mp4", cache_dir="cache/")
    det.keypoints  # (T, 17, 2) pixels, H36M-17

CLI: ``python -m repose_core.detect VIDEO -o keypoints.npz [--overlay out.mp4]``.
"""
from .errors import DetectionCancelled, VideoError
from .pipeline import detect_video
from .result import Detection2D

__all__ = ["detect_video", "Detection2D", "VideoError", "DetectionCancelled"]
