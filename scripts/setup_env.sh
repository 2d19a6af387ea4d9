#!/usr/bin/env bash
# Create (or reuse) a virtual environment in the repository and install pinned dependencies.
#   scripts/setup_env.sh                                      -> .venv from requirements.txt
#   scripts/setup_env.sh .venv-bpy42 requirements-bpy42.txt   -> another venv, other pins
# requirements-nodeps.txt (mediapipe) is always installed on top with --no-deps.
# Idempotent: a second run with an up-to-date venv does nothing but a quick check.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/${1:-.venv}"
REQUIREMENTS="$ROOT/${2:-requirements.txt}"
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
STAMP="$VENV/.requirements.sha256"
WANT="$(cat "$REQUIREMENTS" "$ROOT/requirements-nodeps.txt" | sha256sum | cut -d' ' -f1)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
  echo "Setting up $VENV from $(basename "$REQUIREMENTS") ..." >&2
  # torch is installed first, on its own, from the CPU wheel (pip config find-links /opt/wheels)
  # so that no resolver ever reaches for a CUDA build to satisfy a later package's requirement.
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet "torch==2.13.0"
  "$VENV/bin/python" -m pip install --quiet -r "$REQUIREMENTS"
  "$VENV/bin/python" -m pip install --quiet --no-deps -r "$ROOT/requirements-nodeps.txt"
  echo "$WANT" > "$STAMP"
fi
