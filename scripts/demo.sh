#!/usr/bin/env bash
# Set up (or reuse) .venv and turn the bundled example clip into an animated .blend and .bvh.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup_env.sh"
cd "$ROOT"
exec "$ROOT/.venv/bin/python" -m addon.batch examples/pose2sim_balancing_cam01.mp4 \
    -o out/demo --formats blend,bvh "$@"
