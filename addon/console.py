"""Keep the libraries' own output off the user's terminal, in a log file instead.

MediaPipe, TensorFlow Lite and absl log from C++ straight to the process's stderr; FFmpeg (under
OpenCV) warns there about files it reads; Blender's exporters print to stdout; matplotlib warns
about glyphs. None of it can be switched off from Python, so while :class:`OutputToLog` is
active the process's stdout and stderr (file descriptors 1 and 2, which Python's own streams
write to as well) go to a log file, and the product writes its messages to ``console`` and
``console_errors``, the terminal as it was.

The redirection is process-wide: in Blender's UI, whatever Blender prints while an import runs
goes to the log too.
"""
from __future__ import annotations

import ctypes
import os
import sys
from pathlib import Path
from typing import TextIO


class OutputToLog:
    """``with OutputToLog(path) as log:`` sends fds 1 and 2 to ``path`` (appended), while
    ``log.console`` and ``log.console_errors`` write to the terminal."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.console: TextIO = sys.stdout
        self.console_errors: TextIO = sys.stderr
        self._saved: list[int] = []

    def __enter__(self) -> "OutputToLog":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _flush_everything()
        log = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
        try:
            self._saved = [os.dup(1), os.dup(2)]
            self.console = _text_stream(self._saved[0])
            self.console_errors = _text_stream(self._saved[1])
            os.dup2(log, 1)
            os.dup2(log, 2)
        finally:
            os.close(log)
        return self

    def __exit__(self, *exc) -> bool:
        _flush_everything()
        self.console.flush()
        self.console_errors.flush()
        os.dup2(self._saved[0], 1)
        os.dup2(self._saved[1], 2)
        for stream in (self.console, self.console_errors):
            stream.close()
        for fd in self._saved:
            os.close(fd)
        self.console, self.console_errors = sys.stdout, sys.stderr
        return False


def _text_stream(fd: int) -> TextIO:
    """A line-buffered UTF-8 stream on a copy of ``fd`` (names of any script print)."""
    return open(os.dup(fd), "w", encoding="utf-8", errors="replace", buffering=1)


def _flush_everything() -> None:
    """Python's buffered output, and the C library's (Blender prints with printf)."""
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            stream.flush()
    try:
        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError, TypeError):  # no C library to reach (Windows): Python's is flushed
        pass
