#!/usr/bin/env bash
# Set up (or reuse) .venv and run the whole test suite. `.ci/run` calls exactly this.
# Then the add-on tests run again on Blender 4.2 LTS (scripts/test_blender_versions.sh, its own
# .venv-bpy42); arguments go to the main pytest run only. Either run failing fails this script.
# REPOSE_SKIP_BPY42=1 skips the 4.2 run (e.g. while iterating on one test).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup_env.sh"
cd "$ROOT"
status=0
"$ROOT/.venv/bin/python" -m pytest "$@" || status=$?
if [ "${REPOSE_SKIP_BPY42:-0}" != 1 ]; then
  rc=0
  bash "$ROOT/scripts/test_blender_versions.sh" || rc=$?
  [ "$status" -ne 0 ] || status=$rc
fi
exit "$status"
