"""Exceptions a user can cause. The CLI prints their message as one line and exits 1.

Messages state what is wrong, where (file, chromosome, key) and the fix, in one sentence.
Anything that is not a :class:`ClasterError` is a bug and keeps its traceback.
"""

from __future__ import annotations

__all__ = ["ClasterError", "InputError", "ConfigError", "StoreError", "CheckpointError", "ClasterWarning"]


class ClasterError(Exception):
    """Base class: anything a user can cause."""


class InputError(ClasterError, ValueError):
    """A bad file or argument: missing file, chromosome missing, unreadable bigWig, window off the end."""


class ConfigError(ClasterError, ValueError):
    """A YAML or validation failure, naming the file and the dotted key."""


class StoreError(ClasterError):
    """A store that is missing, corrupt, incomplete, or of another format version."""


class CheckpointError(ClasterError):
    """A checkpoint of the wrong class, version, track order or shape."""


class ClasterWarning(UserWarning):
    """Something the user should know about, e.g. an explicit fill of missing data."""
