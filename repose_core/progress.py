"""The one shape of progress report, from detection up to the add-on's status bar."""
from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """``progress(stage, done, total)``: ``done`` of ``total`` units of the named stage are done
    (frames while detecting). Called from whichever thread does the work."""

    def __call__(self, stage: str, done: int, total: int) -> None: ...
