#!/usr/bin/env bash
# Run the add-on tests on Blender 4.2 LTS (the manifest's blender_version_min) as well as on the
# main venv's bpy 5.0: 4.2/4.3 key F-curves through Action.fcurves, 4.4+ through slotted actions'
# channelbags, and only running both keeps both paths working. scripts/test.sh calls this after the
# main pytest run. Creates (or reuses) .venv-bpy42 from requirements-bpy42.txt; idempotent: a second
# run with an up-to-date .venv-bpy42 only runs the tests. Extra arguments go to this pytest run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv-bpy42"
bash "$ROOT/scripts/setup_env.sh" .venv-bpy42 requirements-bpy42.txt

ADDON_TESTS=(tests/test_armature.py tests/test_operator.py tests/test_retarget.py tests/test_batch.py
             tests/test_camera_match.py tests/test_extension_package.py)
cd "$ROOT"
echo "== add-on tests on bpy $("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("bpy"))') ==" >&2
# The bpy 4.2 wheel segfaults in its own exit handler once Rigify has been enabled (plain
# `import bpy; bpy.ops.preferences.addon_enable(module="rigify")` exits with 139; 5.0 does not), so
# leave with pytest's own exit status through os._exit, after flushing, instead of a normal exit.
exec "$VENV/bin/python" -c '
import os, sys
import pytest
code = int(pytest.main(sys.argv[1:]))
sys.stdout.flush(); sys.stderr.flush()
os._exit(code)
' "${ADDON_TESTS[@]}" "$@"
