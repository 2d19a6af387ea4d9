"""The error of a data file that cannot be used (mocap, tables, Human3.6M, prepared libraries).

Its message names the file and the problem (and the frame where there is one), so the command
line prints it as one ``error:`` line instead of a traceback.
"""
from __future__ import annotations


class DataError(ValueError):
    """A data file that cannot be used; the message names the file and the problem."""
