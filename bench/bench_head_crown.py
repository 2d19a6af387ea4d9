"""Where is the crown? Measures the head rule of docs/joint_definitions.md on the real videos.

    python bench/bench_head_crown.py [--stride 2]

The H36M "head" joint is the top of the head. MediaPipe has no landmark there, so the detector
synthesises it as ``mid-ears + r * (mid-ears - thorax)``. This script finds the real crown in
each frame from MediaPipe's person segmentation mask, the furthest mask pixel from the ears
along the thorax -> mid-ears direction (within a narrow cylinder around that line), and prints
the distribution of the ratio ``r`` that would put the joint exactly there. Hair and hats count
as head, as they do for mocap markers on a cap.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import mediapipe as mp
import numpy as np
from mediapipe.tasks.python import BaseOptions, vision

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from repose_core.detect.landmarker import DEFAULT_TASK_PATH  # noqa: E402
from repose_core.detect.mapping import (  # noqa: E402
    HEAD_CROWN_RATIO, L_EAR, L_SHOULDER, R_EAR, R_SHOULDER,
)
from repose_core.detect.video import FrameStream, frame_range, probe_video  # noqa: E402

VIDEOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "videos"
CLIPS = ("pose2sim_balancing_cam01.mp4", "sports2d_jump_walk.mp4")
_CYLINDER = 0.3  # half-width of the search cylinder, in units of |mid-ears - thorax|
_MIN_VISIBILITY = 0.8


def crown_ratios(path: Path, stride: int) -> np.ndarray:
    info = probe_video(path)
    options = vision.PoseLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(DEFAULT_TASK_PATH)),
        running_mode=vision.RunningMode.VIDEO, output_segmentation_masks=True)
    ratios = []
    with vision.PoseLandmarker.create_from_options(options) as landmarker, \
            FrameStream(info, frame_range(info, stride=stride)) as stream:
        for frame in stream:
            image = mp.Image(image_format=mp.ImageFormat.SRGB, data=frame.rgb)
            result = landmarker.detect_for_video(image, int(frame.time * 1000))
            if not result.pose_landmarks:
                continue
            lm = result.pose_landmarks[0]
            height, width = frame.rgb.shape[:2]
            pts = np.array([(p.x * width, p.y * height) for p in lm])
            vis = np.array([p.visibility for p in lm])
            if vis[[L_EAR, R_EAR, L_SHOULDER, R_SHOULDER]].min() < _MIN_VISIBILITY:
                continue
            ears = (pts[L_EAR] + pts[R_EAR]) / 2
            thorax = (pts[L_SHOULDER] + pts[R_SHOULDER]) / 2
            axis = ears - thorax
            length = np.linalg.norm(axis)
            up = axis / length
            mask = result.segmentation_masks[0].numpy_view() > 0.5
            ys, xs = np.nonzero(mask)
            rel = np.stack([xs, ys], -1) - ears
            along = rel @ up
            across = np.abs(rel @ np.array([-up[1], up[0]]))
            inside = (across < _CYLINDER * length) & (along > 0)
            if inside.any():
                ratios.append(along[inside].max() / length)
    return np.array(ratios)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stride", type=int, default=2)
    args = parser.parse_args()
    print(f"current rule: r = {HEAD_CROWN_RATIO}")
    everything = []
    for clip in CLIPS:
        r = crown_ratios(VIDEOS / clip, args.stride)
        everything.append(r)
        print(f"{clip:32s} frames {len(r):4d}  r median {np.median(r):.2f}  "
              f"p10 {np.percentile(r, 10):.2f}  p90 {np.percentile(r, 90):.2f}")
    r = np.concatenate(everything)
    print(f"{'all':32s} frames {len(r):4d}  r median {np.median(r):.2f}")


if __name__ == "__main__":
    main()
