"""Build the Blender extension: one zip per platform in dist/.

    python scripts/build_extension.py [--platforms linux-x64,windows-x64,macos-arm64]
                                      [--output-dir dist] [--validate-only]

Steps:
1. Download every third-party wheel that ``blender_manifest.toml`` lists into wheels/
   (``pip download --only-binary=:all: --no-deps`` for exactly the name, version and platform
   tag written in each file name; files already there are reused). This is the only step that
   needs the network, and it happens at build time only: the add-on never installs anything.
2. Build the project's own ``repose`` wheel (repose_core and its assets, pure Python) from a
   clean copy of the sources, so the working tree gets no build debris.
3. Run Blender's own extension CLI (``blender_ext.py``, shipped inside the bpy wheel and
   runnable with plain Python): ``validate`` then ``build --split-platforms``.

The manifest is the single list of wheels; this script derives everything from it and fails
with the missing names if the wheels/ folder and the manifest disagree.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
MANIFEST = REPO_ROOT / "blender_manifest.toml"
WHEELS_DIR = REPO_ROOT / "wheels"
OWN_WHEEL_PREFIX = "repose-"
PYTHON_VERSION = "3.11"  # the Python inside Blender 4.2 LTS through 5.0


def blender_ext_cli() -> Path:
    """Path of ``blender_ext.py`` inside the installed bpy wheel (imports bpy once to find it)."""
    code = (
        "import bpy, pathlib; "
        "print(pathlib.Path(bpy.utils.system_resource('SCRIPTS'))"
        " / 'addons_core' / 'bl_pkg' / 'cli' / 'blender_ext.py')"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    path = Path(out.stdout.strip().splitlines()[-1])
    if not path.is_file():
        raise FileNotFoundError(f"Blender's extension CLI not found at {path} (is bpy installed?)")
    return path


def manifest_wheels(manifest: Path = MANIFEST) -> list[str]:
    """File names of the wheels the manifest lists (``./wheels/NAME.whl`` -> ``NAME.whl``)."""
    data = tomllib.loads(manifest.read_text(encoding="utf-8"))
    names = []
    for entry in data.get("wheels", []):
        path = Path(entry)
        if path.parent != Path("wheels"):
            raise ValueError(f"{manifest}: wheel {entry!r} must live in ./wheels/")
        names.append(path.name)
    return names


def download_command(wheel_name: str, dest: Path) -> list[str]:
    """``pip download`` arguments that fetch exactly ``wheel_name`` (PEP 427 file name)."""
    parts = wheel_name[: -len(".whl")].split("-")
    if len(parts) != 5:  # name-version-python-abi-platform (no build tags in our pins)
        raise ValueError(f"unexpected wheel file name {wheel_name!r} in {MANIFEST.name}")
    name, version, python_tag, abi_tag, platform_tag = parts
    cmd = [
        sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
        "--only-binary=:all:", "--no-deps", "--dest", str(dest),
        "--python-version", PYTHON_VERSION,
        f"{name.replace('_', '-')}=={version}",
    ]
    if platform_tag != "any":
        # A compressed tag set (``manylinux2014_x86_64.manylinux_2_17_x86_64``) lists every
        # platform the single file supports; pip needs each one to accept it.
        for tag in platform_tag.split("."):
            cmd += ["--platform", tag]
        cmd += ["--implementation", "cp"]
        for tag in abi_tag.split("."):
            cmd += ["--abi", tag]
    return cmd


def download_wheels(names: list[str]) -> None:
    WHEELS_DIR.mkdir(exist_ok=True)
    for name in names:
        if name.startswith(OWN_WHEEL_PREFIX) or (WHEELS_DIR / name).is_file():
            continue
        print(f"download {name}", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(download_command(name, Path(tmp)), check=True)
            got = sorted(p.name for p in Path(tmp).glob("*.whl"))
            if got != [name]:
                raise RuntimeError(f"pip fetched {got} for {name}: fix the name in {MANIFEST.name}")
            shutil.move(str(Path(tmp) / name), WHEELS_DIR / name)


# setuptools reads pyproject.toml's SPDX license string (PEP 639) from version 77 on.
MIN_SETUPTOOLS = (77, 0)


def build_own_wheel(expected_name: str) -> None:
    """Build the repose_core wheel from a clean copy (setuptools, no build isolation: offline)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("setuptools")
    except PackageNotFoundError:
        found = "none"
    if found == "none" or tuple(int(p) for p in found.split(".")[:2]) < MIN_SETUPTOOLS:
        raise RuntimeError(
            f"building the repose wheel needs setuptools>={'.'.join(map(str, MIN_SETUPTOOLS))} in "
            f"{sys.executable} (found {found}); pip install 'setuptools>=77'"
        )
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src"
        src.mkdir()
        shutil.copy2(REPO_ROOT / "pyproject.toml", src / "pyproject.toml")
        shutil.copytree(
            REPO_ROOT / "repose_core", src / "repose_core",
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )
        out = Path(tmp) / "out"
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check",
             "--no-deps", "--no-build-isolation", "--wheel-dir", str(out), str(src)],
            check=True,
        )
        built = sorted(p.name for p in out.glob("*.whl"))
        if built != [expected_name]:
            raise RuntimeError(
                f"built {built}, but {MANIFEST.name} lists {expected_name}: "
                "keep the manifest's repose wheel name in step with pyproject.toml's version"
            )
        WHEELS_DIR.mkdir(exist_ok=True)
        shutil.move(str(out / expected_name), WHEELS_DIR / expected_name)
    print(f"built {expected_name}", flush=True)


def run_cli(cli: Path, *args: str) -> None:
    subprocess.run([sys.executable, str(cli), *args], check=True, cwd=REPO_ROOT)


def wheel_platforms(wheel_name: str) -> set[str]:
    """Blender platforms a wheel file serves (the platform tag of its PEP 427 name)."""
    tags = wheel_name[: -len(".whl")].split("-")[-1].split(".")
    found = set()
    for tag in tags:
        if tag == "any":
            return {"linux-x64", "windows-x64", "macos-x64", "macos-arm64"}
        if "linux" in tag and tag.endswith("x86_64"):
            found.add("linux-x64")
        elif tag == "win_amd64":
            found.add("windows-x64")
        elif tag.startswith("macosx"):
            if tag.endswith(("arm64", "universal2")):
                found.add("macos-arm64")
            if tag.endswith(("x86_64", "universal2")):
                found.add("macos-x64")
    return found


def manifest_for_platforms(manifest_text: str, platforms: list[str]) -> str:
    """The manifest text narrowed to ``platforms``: its ``platforms`` line, and without the wheel
    lines no chosen platform needs (a partial build then needs only those wheels)."""
    lines = []
    for line in manifest_text.splitlines(keepends=True):
        if line.startswith("platforms ="):
            line = f"platforms = {json.dumps(platforms)}\n"
        elif line.strip().startswith('"./wheels/'):
            name = line.strip().strip('",')[len("./wheels/"):]
            if not wheel_platforms(name) & set(platforms):
                continue
        lines.append(line)
    return "".join(lines)


def stage_sources(stage: Path, platforms: list[str] | None) -> None:
    """Copy what the zip is built from into ``stage``: the entry, addon/, manifest, wheels.

    Building from a copy keeps the shared working tree untouched (a subset of platforms needs
    an edited manifest) and keeps editor or test debris out of the package.
    """
    shutil.copy2(REPO_ROOT / "__init__.py", stage / "__init__.py")
    shutil.copytree(REPO_ROOT / "addon", stage / "addon",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    text = MANIFEST.read_text(encoding="utf-8")
    if platforms is not None:
        text = manifest_for_platforms(text, platforms)
    (stage / MANIFEST.name).write_text(text, encoding="utf-8")
    (stage / "wheels").symlink_to(WHEELS_DIR, target_is_directory=True)


def build(platforms: list[str] | None, output_dir: Path) -> list[Path]:
    names = manifest_wheels()
    own = [n for n in names if n.startswith(OWN_WHEEL_PREFIX)]
    if len(own) != 1:
        raise ValueError(f"{MANIFEST.name} must list exactly one {OWN_WHEEL_PREFIX}*.whl, found {own}")
    declared = tomllib.loads(MANIFEST.read_text(encoding="utf-8"))["platforms"]
    unknown = sorted(set(platforms or []) - set(declared))
    if unknown:
        raise ValueError(f"--platforms {unknown} not in {MANIFEST.name} platforms {declared}")
    if platforms is not None:
        names = [n for n in names if wheel_platforms(n) & set(platforms)]
    download_wheels(names)
    build_own_wheel(own[0])
    missing = [n for n in names if not (WHEELS_DIR / n).is_file()]
    if missing:
        raise FileNotFoundError(f"wheels missing from {WHEELS_DIR}: {missing}")

    cli = blender_ext_cli()
    run_cli(cli, "validate", str(REPO_ROOT))
    output_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="repose-ext-") as tmp:
        stage_sources(Path(tmp), platforms)
        run_cli(cli, "build", "--split-platforms", "--source-dir", tmp, "--output-dir", str(output_dir))
    version = tomllib.loads(MANIFEST.read_text(encoding="utf-8"))["version"]
    zips = [output_dir / f"repose-{version}-{p.replace('-', '_')}.zip" for p in platforms or declared]
    for path in zips:
        if not path.is_file():
            raise FileNotFoundError(f"expected package {path} was not built")
        print(f"{path}  {path.stat().st_size / 1e6:.1f} MB")
    return zips


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--platforms", type=lambda s: [p for p in s.split(",") if p],
                        help="comma-separated subset of the manifest's platforms (default: all)")
    parser.add_argument("--output-dir", type=Path, default=REPO_ROOT / "dist")
    parser.add_argument("--validate-only", action="store_true",
                        help="only run Blender's 'validate' on the manifest (no network)")
    args = parser.parse_args(argv)
    if args.validate_only:
        run_cli(blender_ext_cli(), "validate", str(REPO_ROOT))
        return 0
    build(args.platforms, args.output_dir.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
