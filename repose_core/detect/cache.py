"""Detection cache: one ``.npz`` per (video content, settings), so re-running is instant.

The key hashes the video's bytes (not its name or date: a renamed copy still hits, an edited
file with the same name misses), the task bundle's bytes, the settings that change the result,
the mediapipe version and the file format version (that of a detection with hands when the
settings ask for hands, else the body-only format, so body-only caches outlive the hands).
"""
from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

import mediapipe

from .result import Detection2D, format_version


@lru_cache(maxsize=32)
def _content_sha256(path: Path, mtime_ns: int, size: int) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def content_hash(path: Path) -> str:
    """SHA-256 of a file's bytes, memoised per (path, mtime, size) within the process."""
    stat = path.stat()
    return _content_sha256(path.resolve(), stat.st_mtime_ns, stat.st_size)


def cache_key(video: Path, settings: dict) -> str:
    """Key for ``video`` processed with ``settings`` (JSON-serialisable values; a true
    ``"hands"`` entry means a detection with hands)."""
    payload = json.dumps(
        {"video": content_hash(video), "settings": settings,
         "format": format_version(bool(settings.get("hands"))),
         "mediapipe": mediapipe.__version__},
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


def cache_path(cache_dir: str | Path, video: Path, key: str) -> Path:
    """``<cache_dir>/<video stem>.<key>.npz``: the stem keeps the folder readable."""
    return Path(cache_dir) / f"{video.stem}.{key}.npz"


def load_cached(path: Path) -> Detection2D | None:
    """The cached detection at ``path``, or None if absent or unreadable (then recomputed)."""
    if not path.is_file():
        return None
    try:
        return Detection2D.load(path)
    except ValueError:
        return None
