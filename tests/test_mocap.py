"""Mocap libraries: skeleton tables on the shared CMU files, units/up-axis detection, lead-in,
resampling, subjects, split and cache."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from repose_core.skeleton import BONES, JOINT_INDEX as J, PARENTS
from train.data.bvh import read_bvh
from train.data.mocap import (
    Clip, MotionLibrary, builtin_tables, cmu_train_val, detect_table, load_clip, load_library, resample,
    resample_indices, subject_of,
)

# A stick figure with the CMU MotionBuilder joint names, in metres, Y up, facing +Z.
STICK = {  # name: (parent, offset)
    "Hips": (None, (0, 0, 0)),
    "LHipJoint": ("Hips", (0, 0, 0)), "LeftUpLeg": ("LHipJoint", (0.09, -0.05, 0)),
    "LeftLeg": ("LeftUpLeg", (0, -0.42, 0)), "LeftFoot": ("LeftLeg", (0, -0.42, 0)),
    "RHipJoint": ("Hips", (0, 0, 0)), "RightUpLeg": ("RHipJoint", (-0.09, -0.05, 0)),
    "RightLeg": ("RightUpLeg", (0, -0.42, 0)), "RightFoot": ("RightLeg", (0, -0.42, 0)),
    "Spine": ("Hips", (0, 0.25, 0)), "Head": ("Spine", (0, 0.3, 0)),
    "LeftShoulder": ("Spine", (0, 0, 0)), "LeftArm": ("LeftShoulder", (0.18, 0.2, 0)),
    "LeftForeArm": ("LeftArm", (0.28, 0, 0)), "LeftHand": ("LeftForeArm", (0.25, 0, 0)),
    "RightShoulder": ("Spine", (0, 0, 0)), "RightArm": ("RightShoulder", (-0.18, 0.2, 0)),
    "RightForeArm": ("RightArm", (-0.28, 0, 0)),
    "RightHand": ("RightForeArm", (-0.25, 0, 0)),
}
Y_UP_TO_Z_UP = np.array([[1, 0, 0], [0, 0, -1], [0, 1, 0]], dtype=float)  # +Y -> +Z


def write_stick_bvh(path: Path, metres_per_unit: float, z_up: bool, root_x_m: np.ndarray,
                    fps: float = 120, lying_rest: bool = False) -> Path:
    """Zero rotations; the root moves along x by ``root_x_m`` (metres) per frame.
    ``lying_rest``: the rest pose lies on its back (offsets turned -90 deg about X) and every
    frame's root rotation (+90 deg about X) stands it up: a rest pose that is no standing figure."""
    axes = Y_UP_TO_Z_UP if z_up else np.eye(3)
    rest = Y_UP_TO_Z_UP.T if lying_rest else np.eye(3)
    lines = ["HIERARCHY"]

    def emit(name: str, depth: int) -> None:
        parent, offset = STICK[name]
        off = axes @ rest @ np.asarray(offset, float) / metres_per_unit
        pad = "  " * depth
        lines.append(f"{pad}{'ROOT' if parent is None else 'JOINT'} {name}")
        lines.append(pad + "{")
        lines.append(f"{pad}  OFFSET {off[0]:.6f} {off[1]:.6f} {off[2]:.6f}")
        chans = "6 Xposition Yposition Zposition Zrotation Yrotation Xrotation" if parent is None \
            else "3 Zrotation Yrotation Xrotation"
        lines.append(f"{pad}  CHANNELS {chans}")
        children = [n for n, (p, _) in STICK.items() if p == name]
        for child in children:
            emit(child, depth + 1)
        if not children:
            lines.extend([f"{pad}  End Site", pad + "  {", f"{pad}    OFFSET 0 0 0", pad + "  }"])
        lines.append(pad + "}")

    emit("Hips", 0)
    n_channels = 6 + 3 * (len(STICK) - 1)
    lines += ["MOTION", f"Frames: {len(root_x_m)}", f"Frame Time: {1 / fps:.8f}"]
    for x in root_x_m:
        root = axes @ np.array([x, 0.95, 0.0]) / metres_per_unit
        turn = [0.0, 0.0, 90.0 if lying_rest else 0.0]       # Zrotation Yrotation Xrotation
        lines.append(" ".join(f"{v:.6f}" for v in list(root) + turn + [0.0] * (n_channels - 6)))
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("unit", [0.0254 / 0.45, 0.01, 1.0])
@pytest.mark.parametrize("z_up", [False, True])
def test_units_up_axis_lead_in_and_resampling_on_written_bvh(tmp_path, unit, z_up):
    root_x = 0.01 * np.arange(122)                        # 1.2 m/s at 120 fps
    path = write_stick_bvh(tmp_path / "07_03.bvh", unit, z_up, root_x)
    clip = load_clip(path, fps=30)
    assert clip.family == "cmu_motionbuilder" and clip.subject == "cmu_07"
    assert clip.joints.dtype == np.float32 and clip.fps == 30
    # The table drops the first (T-pose) frame: output frame k is source frame 1 + 4k.
    assert clip.num_frames == 31
    np.testing.assert_allclose(clip.joints[:, J["pelvis"], 0], 0.01 * (1 + 4 * np.arange(31)), atol=1e-4)
    first = clip.joints[0] - [0.01, 0, 0]
    # The table moves the hips 5 cm down and the shoulders 3.5 cm in, towards MediaPipe's
    # landmarks; offset points are metres whatever the file's units and axes.
    np.testing.assert_allclose(first[J["l_hip"]], [0.09, 0.85, 0], atol=1e-4)
    np.testing.assert_allclose(first[J["pelvis"]], [0, 0.85, 0], atol=1e-4)
    np.testing.assert_allclose(first[J["l_ankle"]], [0.09, 0.06, 0], atol=1e-4)
    np.testing.assert_allclose(first[J["l_shoulder"]], [0.145, 1.40, 0], atol=1e-4)
    np.testing.assert_allclose(first[J["l_wrist"]], [0.71, 1.40, 0], atol=1e-4)
    np.testing.assert_allclose(first[J["thorax"]], [0, 1.40, 0], atol=1e-4)
    np.testing.assert_allclose(first[J["spine"]], [0, 1.125, 0], atol=1e-4)
    np.testing.assert_allclose(first[J["head"]], [0, 1.64, 0], atol=1e-4)
    np.testing.assert_allclose(first[J["neck_nose"]], [0, 1.54, 0.10], atol=1e-4)


def test_resampling_is_linear_interpolation():
    t = np.arange(200, dtype=float)
    ramp = np.stack([t, 2 * t + 1], -1)[:, None]          # (T, 1, 2), linear in time
    for src, dst in [(120, 30), (60, 30), (50, 30), (30, 30)]:
        out = resample(ramp, src, dst)
        k = np.arange(out.shape[0])
        np.testing.assert_allclose(out[:, 0, 0], k * src / dst, atol=1e-9)
        np.testing.assert_allclose(out[:, 0, 1], 2 * k * src / dst + 1, atol=1e-9)
        assert (out.shape[0] - 1) * src / dst <= 199 < out.shape[0] * src / dst
    i, w = resample_indices(5, 120, 30)
    assert list(i) == [0, 4] and np.allclose(w, 0)


FILES = {
    "cmu_motionbuilder": ["cmu/01_01.bvh", "cmu/09_05.bvh"],
    "cmu_daz": ["cmu_daz/cmu_daz_przestr/12_01.bvh",
                "cmu_daz/cmu_daz_papagina_acrnn/salsa_01.bvh",
                "cmu_daz/cmu_daz_papagina_acrnn/martial_08.bvh"],
    "reactidle": ["reactidle/003_acted.bvh", "reactidle/011_genuine.bvh"],
    "deepmimic": ["deepmimic/humanoid3d_walk.txt", "deepmimic/humanoid3d_dance_a.txt"],
}


@pytest.mark.parametrize("family", sorted(FILES))
def test_tables_map_all_17_joints_on_shared_files(shared_data, family):
    for rel in FILES[family]:
        path = shared_data / "mocap" / rel
        clip = load_clip(path)
        assert clip.family == family
        j = clip.joints
        assert j.shape[1:] == (17, 3) and np.isfinite(j).all(), rel
        med = np.median(j[..., 1], axis=0)
        # Y up and metres: a person's joints in anatomical order from the floor up.
        assert med[J["head"]] > med[J["neck_nose"]] > med[J["thorax"]] > med[J["pelvis"]], rel
        assert med[J["pelvis"]] > med[J["l_knee"]] > med[J["l_ankle"]], rel
        height = np.median(j[:, J["head"], 1] - j[:, [J["l_ankle"], J["r_ankle"]], 1].min(1))
        assert 1.2 < height < 1.9, (rel, height)
        lengths = np.linalg.norm(j[:, [c for _, c in BONES]] - j[:, [p for p, _ in BONES]], axis=-1)
        assert (lengths.mean(0) > 0.05).all() and (lengths.mean(0) < 0.6).all(), rel
        # Shins and forearms are rigid: FK keeps their lengths constant over the take. Thighs
        # and upper arms nearly so (their top ends ride on the pelvis / clavicle, see tables).
        limbs = [J[n] for n in ("r_ankle", "l_ankle", "l_wrist", "r_wrist")]
        limb_lengths = np.linalg.norm(j[:, limbs] - j[:, [PARENTS[c] for c in limbs]], axis=-1)
        assert (limb_lengths.std(0) < 1e-3).all(), rel
        upper = [J[n] for n in ("r_knee", "l_knee", "l_elbow", "r_elbow")]
        upper_lengths = np.linalg.norm(j[:, upper] - j[:, [PARENTS[c] for c in upper]], axis=-1)
        assert (upper_lengths.std(0) < 0.015).all(), rel
        np.testing.assert_allclose(j[:, J["pelvis"]], j[:, [J["l_hip"], J["r_hip"]]].mean(1), atol=1e-5)
        # The nose is in front of the face: along the person's forward direction.
        left = j[:, J["l_shoulder"]] - j[:, J["r_shoulder"]]
        forward = np.cross(left, [0, 1, 0])
        forward /= np.linalg.norm(forward, axis=-1, keepdims=True)
        assert np.median(((j[:, J["neck_nose"]] - j[:, J["thorax"]]) * forward).sum(-1)) > 0.05, rel


def test_lead_in_t_pose_is_dropped(shared_data):
    for rel in FILES["cmu_motionbuilder"] + FILES["cmu_daz"] + FILES["reactidle"]:
        bvh = read_bvh(shared_data / "mocap" / rel)
        clip = load_clip(shared_data / "mocap" / rel, fps=bvh.fps, fps_overrides={})  # as is
        table = detect_table(bvh.skeleton.names, bvh.path)
        assert clip.num_frames == bvh.num_frames - table.lead_in_frames
        step = np.linalg.norm(np.diff(clip.joints, axis=0), axis=-1).mean(-1)
        # The converters' T-pose jumps to the first real pose; what is left moves smoothly.
        assert step[:3].max() < 5 * np.median(step) + 1e-3, rel


def test_salsa_is_read_at_its_real_frame_rate(shared_data):
    path = shared_data / "mocap" / "cmu_daz" / "cmu_daz_papagina_acrnn" / "salsa_01.bvh"
    n = read_bvh(path).num_frames - 10                        # 10 lead-in frames (Daz table)
    assert load_clip(path, fps=30).num_frames == (n - 1) * 30 // 60 + 1
    assert load_clip(path, fps=30, fps_overrides={}).num_frames == (n - 1) * 30 // 120 + 1


def test_subjects_from_file_names():
    assert subject_of("a/01_02.bvh") == "cmu_01"
    assert subject_of("13_41.bvh") == "cmu_13"
    assert subject_of("salsa_07.bvh") == "salsa"
    assert subject_of("martial_10.bvh") == "martial"


def test_unknown_skeleton_names_the_file_and_the_guide(tmp_path):
    path = write_stick_bvh(tmp_path / "x.bvh", 0.01, False, np.zeros(3))
    path.write_text(path.read_text().replace("LeftArm", "Bicep_L"))
    with pytest.raises(ValueError, match=r"x.bvh: no skeleton table fits.*adding_a_bvh_skeleton"):
        load_clip(path)


def test_library_split_and_cache(shared_data, tmp_path):
    files = [shared_data / "mocap" / r for r in ["cmu/01_01.bvh", "cmu/02_01.bvh",
                                                  "cmu_daz/cmu_daz_przestr/12_01.bvh"]]
    lib = load_library(files, cache_dir=tmp_path)
    assert lib.subjects == ["cmu_01", "cmu_02", "cmu_12"]
    train, val = lib.split_by_subject(["cmu_12"])
    assert {c.subject for c in train.clips} == {"cmu_01", "cmu_02"}
    assert [c.name for c in val.clips] == ["12_01"]
    with pytest.raises(ValueError, match="unknown subjects"):
        lib.split_by_subject(["cmu_99"])
    caches = list(tmp_path.glob("*.npz"))
    assert len(caches) == 1
    again = load_library(files, cache_dir=tmp_path)
    assert [c.name for c in again.clips] == [c.name for c in lib.clips]
    for a, b in zip(again.clips, lib.clips):
        assert (a.subject, a.family, a.fps) == (b.subject, b.family, b.fps)
        np.testing.assert_array_equal(a.joints, b.joints)
    load_library(files, fps=60, cache_dir=tmp_path)        # other settings, other cache entry
    assert len(list(tmp_path.glob("*.npz"))) == 2


def test_a_prepared_library_loads_as_its_bvh_files_do(shared_data, tmp_path):
    """`python -m train prepare` writes one .npz that load_library takes as a source, for a
    machine that has it but not the BVH files."""
    from train.__main__ import main

    files = [shared_data / "mocap" / r for r in ["cmu/01_01.bvh", "cmu_daz/cmu_daz_przestr/12_01.bvh"]]
    out = tmp_path / "lib.npz"
    assert main(["prepare", *map(str, files), "--out", str(out)]) == 0
    from_bvh, prepared = load_library(files), load_library(out)
    assert [c.name for c in prepared.clips] == [c.name for c in from_bvh.clips]
    for a, b in zip(prepared.clips, from_bvh.clips):
        assert (a.subject, a.family, a.fps) == (b.subject, b.family, b.fps)
        np.testing.assert_array_equal(a.joints, b.joints)
    mixed = load_library([shared_data / "mocap" / "cmu/02_01.bvh", out])
    assert [c.name for c in mixed.clips] == ["02_01", "01_01", "12_01"]
    with pytest.raises(ValueError, match="prepared at \\[30.0\\] fps, not the 60 fps"):
        load_library(out, fps=60)
    assert main(["prepare", str(files[0]), "--out", str(tmp_path / "lib.txt")]) == 2


def test_builtin_tables_cover_both_cmu_families():
    assert {t.family for t in builtin_tables()} >= {"cmu_motionbuilder", "cmu_daz"}


@pytest.mark.slow
def test_recommended_cmu_split_loads_every_shared_file(shared_data, tmp_path):
    train, val = cmu_train_val(shared_data / "mocap", cache_dir=tmp_path)
    assert len(train) == 98 and len(val) == 57
    assert train.subjects == [f"cmu_{s:02d}" for s in (1, 2, 3, 5, 6, 7, 8, 9)]
    assert not set(train.subjects) & set(val.subjects)
    for clip in train.clips + val.clips:
        assert np.isfinite(clip.joints).all(), clip.name
    # About 121k + 103k source frames, most at 120 fps, become ~30 fps.
    assert 28_000 < train.num_frames < 32_000
    assert 30_000 < val.num_frames < 45_000


# ----------------------------------------------------------------------------- tables state what files cannot
def _table_variant(tmp_path: Path, family: str, *edits: tuple[str, str]) -> Path:
    """A copy of a shipped table with text replaced, as a user's table file."""
    text = next(t for t in builtin_tables() if t.family == family).text
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / f"{family}_variant.toml"
    path.write_text(text)
    return path


def test_a_rest_pose_that_is_no_standing_figure_needs_the_tables_axes(tmp_path):
    """Axes guessed from a lying rest pose lay every frame on its side: the plausibility check
    names the file and the check; a table stating up and forward reads it right."""
    from train.data.plausible import ImplausiblePerson
    from train.data.skeleton_table import load_table

    path = write_stick_bvh(tmp_path / "07_03.bvh", 0.01, False, 0.01 * np.arange(40), lying_rest=True)
    with pytest.raises(ImplausiblePerson, match=r"07_03.bvh: check 'up axis'"):
        load_clip(path)
    table = load_table(_table_variant(tmp_path, "cmu_motionbuilder",
                                      ('root = "Hips"', 'root = "Hips"\nunits = "cm"\nup = "+Y"\nforward = "+Z"')))
    clip = load_clip(path, tables=[table])
    first = clip.joints[0] - clip.joints[0, J["pelvis"]] * [1, 0, 1]
    np.testing.assert_allclose(first[J["head"]], [0, 1.64, 0], atol=1e-4)
    np.testing.assert_allclose(first[J["l_wrist"]], [0.71, 1.40, 0], atol=1e-4)
    # Stated units win over the size guess: the same file read as inches is 2.54x too tall.
    inches = load_table(_table_variant(tmp_path, "cmu_motionbuilder",
                                       ('root = "Hips"', 'root = "Hips"\nunits = "inch"\nup = "+Y"\nforward = "+Z"')))
    with pytest.raises(ImplausiblePerson, match=r"07_03.bvh: check 'height': the figure is 3\.\d\d m"):
        load_clip(path, tables=[inches])


def test_a_table_naming_a_joint_the_file_lacks_names_table_joint_and_file(tmp_path):
    from train.data.skeleton_table import load_table

    path = write_stick_bvh(tmp_path / "x.bvh", 0.01, False, np.zeros(3))
    table = _table_variant(tmp_path, "cmu_motionbuilder", ('l_elbow = "LeftForeArm"', 'l_elbow = "LeftElbow"'))
    with pytest.raises(ValueError, match=rf"x.bvh: no skeleton table fits .*lacks 'LeftElbow' of table "
                                         rf"cmu_motionbuilder \({re.escape(str(table))}\)"):
        load_clip(path, tables=[load_table(table)])


@pytest.mark.parametrize("edit, message", [
    (('lead_in_frames = 1', 'lead_in_frames = 1\nunit = "cm"'), r"unknown key \['unit'\] in the table"),
    (('lead_in_frames = 1', 'lead_in_frames = 1\nunits = "furlong"'), r"units must be one of"),
    (('lead_in_frames = 1', 'lead_in_frames = 1\nup = "sideways"'), r"up must be an axis"),
    (('lead_in_frames = 1', 'lead_in_frames = 1\nposition_channels = "both"'), r"position_channels must be one of"),
    (('frame = "LHipJoint"', 'frame = "LHipJoint"\nfram = "x"'), r"unknown key \['fram'\] in \[offsets.l_hip\]"),
    (('lead_in_frames = 1', "lead_in_frames = 1\nsubject_pattern = 'no group'"), r"subject_pattern 'no group' needs a group"),
])
def test_table_mistakes_are_errors_naming_the_table(tmp_path, edit, message):
    from train.data.skeleton_table import load_table

    path = _table_variant(tmp_path, "cmu_motionbuilder", edit)
    with pytest.raises(ValueError, match=rf"{re.escape(str(path))}: not a valid skeleton table: {message}"):
        load_table(path)


# ----------------------------------------------------------------------------- who is who
def test_every_file_its_own_subject_is_warned_and_a_pattern_fixes_it(tmp_path):
    """A library that names takes, not people: the guess makes each file a person (warned);
    a pattern on the path (here: one folder per person) says who is who."""
    from train.__main__ import main
    from train.data.mocap import SubjectWarning

    for person, take in (("anna", "walk"), ("anna", "run"), ("ben", "jump")):
        (tmp_path / "lib" / person).mkdir(parents=True, exist_ok=True)
        write_stick_bvh(tmp_path / "lib" / person / f"{take}.bvh", 0.01, False, 0.01 * np.arange(40))
    with pytest.warns(SubjectWarning, match="every one of 3 files .* is its own subject"):
        guessed = load_library(tmp_path / "lib")
    assert guessed.subjects == ["jump", "run", "walk"]
    by_folder = load_library(tmp_path / "lib", subject_pattern=r"/([^/]+)/[^/]+$")
    assert by_folder.subjects == ["cmu_motionbuilder_anna", "cmu_motionbuilder_ben"]
    out = tmp_path / "lib.npz"
    assert main(["prepare", str(tmp_path / "lib"), "--out", str(out), "--subject-pattern", r"/([^/]+)/[^/]+$"]) == 0
    assert load_library(out).subjects == by_folder.subjects
    with pytest.raises(ValueError, match=re.escape("run.bvh: the subject pattern '/(\\d+)_' of data.subject_pattern does not match")):
        load_library(tmp_path / "lib", subject_pattern=r"/(\d+)_")


# ----------------------------------------------------------------------------- bad values
def test_prepare_refuses_a_nan_in_a_bvh_naming_file_and_frame(tmp_path, capsys):
    """Before, prepare took it and training died at the end of epoch 1 ("SVD did not converge")."""
    from train.__main__ import main

    path = write_stick_bvh(tmp_path / "07_03.bvh", 0.01, False, 0.01 * np.arange(10))
    lines = path.read_text().split("\n")
    motion = lines.index("MOTION")
    row = lines[motion + 3 + 4].split()
    row[10] = "nan"
    lines[motion + 3 + 4] = " ".join(row)
    path.write_text("\n".join(lines))
    assert main(["prepare", str(path), "--out", str(tmp_path / "lib.npz")]) == 2
    assert re.search(r"^error: .*07_03.bvh: frame 5 of 10, channel '\S+ \S+' is nan", capsys.readouterr().err)


def test_a_prepared_library_with_bad_values_is_refused_naming_file_and_clip(tmp_path):
    from train.data.errors import DataError
    from train.data.mocap import save_library

    clip = load_clip(write_stick_bvh(tmp_path / "07_03.bvh", 0.01, False, 0.01 * np.arange(40)))
    joints = clip.joints.copy()
    joints[3, 5] = np.nan
    save_library(tmp_path / "lib.npz", MotionLibrary([Clip(clip.name, clip.subject, clip.family, clip.fps, joints)]))
    with pytest.raises(DataError, match=r"lib.npz \(clip 07_03\): check 'finite': frame 4"):
        load_library(tmp_path / "lib.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match=r"junk.npz: not a readable .npz file"):
        load_library(tmp_path / "junk.npz")


def test_runs_building_the_same_library_cache_at_once_both_succeed(tmp_path):
    """Two training runs started together build the same cache file: each writes a temporary
    file of its own and renames it over the cache, so neither loses the other's (a shared
    temporary name made the second rename fail)."""
    from concurrent.futures import ThreadPoolExecutor

    from train.data.mocap import save_library

    clip = load_clip(write_stick_bvh(tmp_path / "07_03.bvh", 0.01, False, 0.01 * np.arange(40)))
    library = MotionLibrary([clip] * 200)
    cache = tmp_path / "cache" / "lib.npz"
    with ThreadPoolExecutor(4) as pool:
        assert all(path == cache for path in pool.map(lambda _: save_library(cache, library), range(8)))
    assert load_library(cache).num_frames == library.num_frames
    assert [p.name for p in cache.parent.iterdir()] == ["lib.npz"]
