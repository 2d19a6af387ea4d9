#!/usr/bin/env bash
# Check that detection still works on the newest mediapipe (no mp.solutions, no bundled models,
# numpy 2): builds a throwaway venv, runs detect + lift on the bundled clip. Not part of CI (it
# downloads ~200 MB); run it when a new mediapipe is released.
#   ./scripts/check_mediapipe_latest.sh [MEDIAPIPE_VERSION]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VERSION="${1:-}"
VENV="$(mktemp -d)/venv"
trap 'rm -rf "$(dirname "$VENV")"' EXIT
python3.11 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet "mediapipe${VERSION:+==$VERSION}" onnxruntime opencv-python-headless
cd "$ROOT"
"$VENV/bin/python" - <<'PY'
import tempfile
import mediapipe
import numpy as np
from repose_core import load_lifter
from repose_core.detect import detect_video

det = detect_video("examples/pose2sim_balancing_cam01.mp4", cache_dir=tempfile.mkdtemp())
pose = load_lifter().predict(det.keypoints, image_size=det.image_size, confidence=det.confidence)
print(f"mediapipe {mediapipe.__version__} (mp.solutions present: {hasattr(mediapipe, 'solutions')}), "
      f"numpy {np.__version__}: person found on {det.detection_rate:.0%} of frames, lifted {pose.shape}")
assert det.detection_rate >= 0.95 and np.isfinite(pose).all()
PY
