"""The Blender extension package: Blender's own CLI validates the manifest; the built linux zip
holds only the add-on and its wheels, installs into headless bpy, and imports a real clip.

Building downloads the pinned third-party wheels into wheels/ the first time (build time, through
pip's configured index, like the environment setup); later runs reuse them. Installing runs in a
subprocess with its own BLENDER_USER_RESOURCES, set before bpy is imported, so the installed
extension never leaks into other tests.
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "scripts"))
import build_extension  # noqa: E402

FRAMES = 20


def test_blender_cli_validates_the_manifest():
    result = subprocess.run(
        [sys.executable, str(build_extension.blender_ext_cli()), "validate", str(REPO_ROOT)],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success" in result.stdout


def test_manifest_wheels_are_pinned_per_platform_without_numpy_or_torch():
    names = build_extension.manifest_wheels()
    assert not [n for n in names if n.split("-")[0].lower() in ("numpy", "torch")]
    per_platform = {"manylinux": set(), "win_amd64": set(), "macosx": set()}
    universal = set()
    for name in names:
        package, platform = name.split("-")[0], name[: -len(".whl")].split("-")[-1]
        hits = [key for key in per_platform if key in platform]
        (per_platform[hits[0]] if hits else universal).add(package)
    for required in ("mediapipe", "onnxruntime", "opencv_python_headless", "protobuf"):
        assert all(required in found for found in per_platform.values()), required
    assert {"repose", "attrs"} <= universal
    for name in names:  # each third-party file name pins exactly one download
        if not name.startswith(build_extension.OWN_WHEEL_PREFIX):
            package, version = name.split("-")[:2]
            assert f"{package.replace('_', '-')}=={version}" in build_extension.download_command(name, Path("w"))


@pytest.fixture(scope="module")
def linux_zip(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "build_extension.py"),
         "--platforms", "linux-x64", "--output-dir", str(out)],
        capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (path,) = out.glob("repose-*-linux_x64.zip")
    return path


@pytest.mark.slow
def test_linux_zip_holds_only_the_addon_and_linux_wheels(linux_zip):
    names = zipfile.ZipFile(linux_zip).namelist()
    top = {n.split("/")[0] for n in names}
    assert top == {"__init__.py", "blender_manifest.toml", "addon", "wheels"}
    assert "addon/bonemaps/quaternius.json" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    wheels = [n for n in names if n.startswith("wheels/")]
    assert not [w for w in wheels if "win_amd64" in w or "macosx" in w]
    assert any(w.startswith("wheels/mediapipe-") for w in wheels)


# The headless steps docs/addon.md gives for the bpy module, each in its own process as a user
# runs them: install once, then in every later process enable the extension (bpy starts with
# factory preferences, so nothing is enabled). The same steps on bpy 4.2 and 5.0; reading saved
# preferences instead (wm.read_userpref) segfaults the 4.2 module, see docs/addon.md.
INSTALL = textwrap.dedent("""
    import sys
    import bpy

    assert bpy.ops.extensions.package_install_files(
        filepath=sys.argv[1], repo="user_default", enable_on_install=True) == {"FINISHED"}
""")

IMPORT = textwrap.dedent("""
    import json, pathlib, sys
    import bpy

    video, out = sys.argv[1:3]
    loaded_at_start = hasattr(bpy.types, "REPOSE_OT_import_video")
    assert bpy.ops.preferences.addon_enable(module="bl_ext.user_default.repose") == {"FINISHED"}
    import repose_core
    scene = bpy.context.scene
    settings = scene.repose
    settings.video_path = video
    settings.frame_end = %(frames)d
    result = bpy.ops.repose.import_video()
    obj = bpy.context.view_layer.objects.active
    action = obj.animation_data.action
    from bpy_extras import anim_utils
    curves = (anim_utils.action_get_channelbag_for_slot(action, obj.animation_data.action_slot).fcurves
              if bpy.app.version >= (4, 4) else action.fcurves)
    user = pathlib.Path(bpy.utils.extension_path_user("bl_ext.user_default.repose"))
    json.dump({
        "loaded_at_start": loaded_at_start,
        "result": sorted(result),
        "addons": [a.module for a in bpy.context.preferences.addons],
        "operator_module": bpy.types.REPOSE_OT_import_video.__module__,
        "repose_core": repose_core.__file__,
        "keys": sorted({len(fc.keyframe_points) for fc in curves}),
        "bones": len({fc.data_path for fc in curves if fc.data_path.endswith("rotation_quaternion")}),
        "report": settings.last_report,
        "cached_detections": [p.name for p in (user / "detections").iterdir()],
        "log": (user / "logs" / "import.log").read_text(errors="replace"),
    }, open(out, "w"))
""") % {"frames": FRAMES}


@pytest.mark.slow
def test_installed_extension_imports_a_real_clip(linux_zip, tmp_path, example_video):
    """With the model it ships."""
    user = tmp_path / "blender_user"
    out = tmp_path / "out.json"
    # A clean environment: the repository is not on the path, so the add-on and repose_core can
    # only come from the installed extension.
    env = {"BLENDER_USER_RESOURCES": str(user), "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin",
           "HOME": str(tmp_path)}
    runs = {}
    for name, script, arguments in (("install", INSTALL, [str(linux_zip)]),
                                    ("import", IMPORT, [str(example_video), str(out)])):
        (tmp_path / f"{name}.py").write_text(script)
        runs[name] = subprocess.run([sys.executable, str(tmp_path / f"{name}.py"), *arguments],
                                    cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
        assert runs[name].returncode == 0, runs[name].stdout[-3000:] + runs[name].stderr[-3000:]
    got = json.loads(out.read_text())
    assert not got["loaded_at_start"]  # what addon_enable is for
    assert got["result"] == ["FINISHED"]
    assert "bl_ext.user_default.repose" in got["addons"]
    assert got["operator_module"].startswith("bl_ext.user_default.repose")
    assert Path(got["repose_core"]).is_relative_to(user)
    # The body's 17 bones and, hands being on by default, the hands' 32: the hand landmarker's
    # bundle ships in the extension too.
    assert got["keys"] == [FRAMES] and got["bones"] == 17 + 32
    assert f"{FRAMES} frames" in got["report"]
    assert got["cached_detections"]  # re-imports with other settings skip detection
    # What MediaPipe, TensorFlow Lite and absl print goes to the extension's log, not the terminal.
    terminal = runs["import"].stdout + runs["import"].stderr
    for theirs in ("Feedback manager", "GPU suport", "XNNPACK", "W0000"):
        assert theirs not in terminal
    assert "Feedback manager" in got["log"]


@pytest.mark.slow
def test_bundled_wheels_suffice_next_to_blenders_numpy(linux_zip, tmp_path, example_video, tiny_lifter_onnx):
    """Detection and lifting from the zip's wheels alone plus numpy (which Blender ships): no
    site-packages, so a wheel missing from the manifest shows up as an ImportError here."""
    import numpy

    site = tmp_path / "site"
    with zipfile.ZipFile(linux_zip) as package:
        for wheel in [n for n in package.namelist() if n.startswith("wheels/")]:
            package.extract(wheel, tmp_path)
    for wheel in (tmp_path / "wheels").glob("*.whl"):
        zipfile.ZipFile(wheel).extractall(site)
    numpy_only = tmp_path / "numpy_only"
    numpy_only.mkdir()
    numpy_dir = Path(numpy.__file__).parent
    for entry in (numpy_dir, numpy_dir.parent / "numpy.libs"):
        if entry.exists():
            (numpy_only / entry.name).symlink_to(entry)
    code = textwrap.dedent(f"""
        import mediapipe, repose_core
        from repose_core import load_lifter
        from repose_core.detect import detect_video
        assert repose_core.__file__.startswith({str(site)!r}), repose_core.__file__
        assert mediapipe.__file__.startswith({str(site)!r}), mediapipe.__file__
        det = detect_video({str(example_video)!r}, end=5)
        pose = load_lifter({str(tiny_lifter_onnx)!r}).predict(det.keypoints, image_size=det.image_size,
                                                              confidence=det.confidence)
        assert pose.shape == (5, 17, 3), pose.shape
    """)
    result = subprocess.run([sys.executable, "-S", "-c", code], cwd=tmp_path, capture_output=True, text=True,
                            env={"PYTHONPATH": f"{numpy_only}:{site}", "OMP_NUM_THREADS": "1"}, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
