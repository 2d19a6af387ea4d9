"""The error of a file the trainer reads that cannot be used (mocap, tables, Human3.6M,
prepared libraries; checkpoints' ``CheckpointError`` derives from it).

Its message names the file and the problem (and the frame where there is one), so the command
line prints it as one ``error:`` line instead of a traceback.
"""
from __future__ import annotations


class DataError(ValueError):
    """A data file that cannot be used; the message names the file and the problem."""
