"""addon.preview: the per-video contact sheet (2D skeleton over the video, 3D pose front/side),
and its place in python -m addon.batch (written by default, inside OUT_DIR, listed, optional)."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

import bpy  # noqa: F401  the addon package imports bpy (addon.preview itself does not)

from addon import batch, preview  # noqa: E402

# The tests that draw an import detect the clip first (once a session, in the shared cache).
draws_an_import = pytest.mark.slow


@pytest.fixture(scope="module")
def default_motion(example_video, detection_cache):
    """analyse() on the bundled clip with the shipped default lifter."""
    from addon.pipeline import ImportOptions, analyse

    return analyse(ImportOptions(video=example_video, cache_dir=detection_cache))


def _check_picture(path, image_size, columns=preview.FRAMES) -> np.ndarray:
    assert path.is_file()
    image = cv2.imread(str(path))
    assert image is not None, f"{path} does not decode"
    width, height = preview.preview_size(image_size, columns)
    assert image.shape == (height, width, 3)
    thumb_h = preview.thumb_size(image_size)[1]
    top = image[preview.HEADER_HEIGHT:preview.HEADER_HEIGHT + thumb_h]
    plots = image[preview.HEADER_HEIGHT + thumb_h:]
    assert top.std() > 20  # video frames, not a blank strip
    # The 3D views are mostly white paper, but carry the coloured skeleton (left blue, right orange).
    hsv = cv2.cvtColor(plots, cv2.COLOR_BGR2HSV)
    assert plots.std() > 10 and (hsv[..., 1] > 100).mean() > 0.002
    return image


@draws_an_import
def test_preview_on_the_example_clip(default_motion, tmp_path):
    path = preview.write_preview(default_motion, tmp_path / "clip_preview.png")
    assert path == tmp_path / "clip_preview.png"
    _check_picture(path, default_motion.image_size)
    assert [p.name for p in tmp_path.iterdir()] == ["clip_preview.png"]  # no temp file left over


@draws_an_import
def test_the_hands_are_drawn_over_the_video_where_they_were_found(default_motion):
    """An import with hands (the default) carries their 2D landmarks, and the preview draws them
    on the video tiles, around the wrists, and nowhere else."""
    hands = default_motion.hands
    assert hands is not None and hands.shape == (default_motion.num_frames, 2, 21, 2)
    args = (default_motion.video, default_motion.frame_indices, default_motion.keypoints,
            default_motion.confidence, default_motion.found, default_motion.motion.joints,
            default_motion.image_size)
    with_hands = preview.render_preview(*args, hands=hands)
    without = preview.render_preview(*args)
    changed = np.argwhere((with_hands != without).any(-1))
    assert len(changed) > 50
    thumb_w, thumb_h = preview.thumb_size(default_motion.image_size)
    assert changed[:, 0].min() >= preview.HEADER_HEIGHT
    assert changed[:, 0].max() < preview.HEADER_HEIGHT + thumb_h
    # Every changed pixel is near a drawn hand of its column's frame.
    rows = preview.preview_rows(default_motion.num_frames)
    scale = thumb_w / default_motion.image_size[0]
    for y, x in changed:
        column = x // thumb_w
        points = hands[rows[column]].reshape(-1, 2) * scale + [column * thumb_w, preview.HEADER_HEIGHT]
        points = points[np.isfinite(points).all(-1)]
        assert len(points) and np.hypot(*(points - [x, y]).T).min() < 6


def test_preview_rows_are_evenly_spaced():
    assert preview.preview_rows(40).tolist() == [0, 8, 16, 23, 31, 39]
    assert preview.preview_rows(3).tolist() == [0, 1, 2]
    with pytest.raises(ValueError):
        preview.preview_rows(0)


@draws_an_import
def test_frames_without_a_person_still_draw(default_motion):
    rows = preview.preview_rows(default_motion.num_frames)
    keypoints = default_motion.keypoints.copy()
    confidence = default_motion.confidence.copy()
    found = default_motion.found.copy()
    keypoints[rows[1]], confidence[rows[1]], found[rows[1]] = np.nan, 0.0, False
    image = preview.render_preview(default_motion.video, default_motion.frame_indices, keypoints,
                                   confidence, found, default_motion.motion.joints, default_motion.image_size,
                                   count=4)
    assert image.shape[:2] == preview.preview_size(default_motion.image_size, 4)[::-1]


@draws_an_import
def test_names_in_scripts_the_font_lacks_draw_without_warnings(default_motion, tmp_path):
    """A CJK video name: matplotlib's DejaVu Sans has no such glyphs and warned on the terminal
    for each; they are drawn as "?" instead."""
    import warnings

    video = tmp_path / "中国 clip.mp4"
    video.symlink_to(default_motion.video)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        image = preview.render_preview(video, default_motion.frame_indices, default_motion.keypoints,
                                       default_motion.confidence, default_motion.found,
                                       default_motion.motion.joints, default_motion.image_size, count=2)
    assert image.shape[:2] == preview.preview_size(default_motion.image_size, 2)[::-1]


@draws_an_import
def test_a_preview_failure_is_a_warning(default_motion, tmp_path):
    from dataclasses import replace

    entry = {"outputs": {}, "warnings": [], "timings": {}}
    batch._write_preview(replace(default_motion, keypoints=None), "clip", tmp_path, entry)
    assert entry["outputs"] == {} and "preview not written" in entry["warnings"][0]
    assert not any(tmp_path.iterdir())


@pytest.mark.slow
def test_batch_writes_the_preview_inside_out_dir(tmp_path, example_video, detection_cache, monkeypatch):
    monkeypatch.chdir(tmp_path)
    common = [str(example_video), "--formats", "bvh", "--cache-dir", str(detection_cache)]
    assert batch.main(common + ["-o", "out"]) == 0
    stem = example_video.stem
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert written == [f"out/batch.log", f"out/{stem}.bvh", f"out/{stem}_preview.png", "out/summary.json"]
    entry = json.loads((tmp_path / "out" / "summary.json").read_text())["videos"][0]
    assert entry["status"] == "ok" and entry["warnings"] == []
    assert entry["outputs"]["preview"] == str(tmp_path / "out" / f"{stem}_preview.png")
    assert "preview" in entry["timings"]
    _check_picture(tmp_path / "out" / f"{stem}_preview.png", _video_size(example_video))

    assert batch.main(common + ["-o", "quiet", "--no-preview"]) == 0
    assert sorted(p.name for p in (tmp_path / "quiet").iterdir()) == ["batch.log", f"{stem}.bvh", "summary.json"]
    entry = json.loads((tmp_path / "quiet" / "summary.json").read_text())["videos"][0]
    assert "preview" not in entry["outputs"]


def _video_size(video) -> tuple[int, int]:
    from repose_core.detect.video import probe_video

    return probe_video(video).image_size
