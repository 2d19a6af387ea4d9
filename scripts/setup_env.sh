#!/usr/bin/env bash
# Create (or reuse) .venv in the repository and install the pinned dependencies.
# Idempotent: a second run with an up-to-date .venv does nothing but a quick check.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
STAMP="$VENV/.requirements.sha256"
WANT="$(cat "$ROOT/requirements.txt" "$ROOT/requirements-nodeps.txt" | sha256sum | cut -d' ' -f1)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
  # torch is installed first, on its own, from the CPU wheel (pip config find-links /opt/wheels) so that no resolver
  # ever reaches for a CUDA build to satisfy a later package's torch requirement.
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet "torch==2.13.0"
  "$VENV/bin/python" -m pip install --quiet -r "$ROOT/requirements.txt"
  "$VENV/bin/python" -m pip install --quiet --no-deps -r "$ROOT/requirements-nodeps.txt"
  echo "$WANT" > "$STAMP"
fi
