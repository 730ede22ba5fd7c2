"""Exceptions a user can cause. The CLI prints their message as one line and exits 1 (``exit_code``).

Messages state what is wrong, where (file, chromosome, key) and the fix, in one sentence.
Anything that is not a :class:`ClasterError` is a bug and keeps its traceback.
"""

from __future__ import annotations

__all__ = [
    "ClasterError", "InputError", "ConfigError", "StoreError", "CheckpointError", "TrainingInterrupted",
    "ClasterWarning",
]


class ClasterError(Exception):
    """Base class: anything a user can cause. ``exit_code`` is the CLI's exit status for it."""

    exit_code: int = 1


class InputError(ClasterError, ValueError):
    """A bad file or argument: missing file, chromosome missing, unreadable bigWig, window off the end."""


class ConfigError(ClasterError, ValueError):
    """A YAML or validation failure, naming the file and the dotted key."""


class StoreError(ClasterError):
    """A store that is missing, corrupt, incomplete, or of another format version."""


class CheckpointError(ClasterError):
    """A checkpoint of the wrong class, version, track order or shape."""


class TrainingInterrupted(ClasterError):
    """Training stopped by a signal (SIGTERM from a scheduler, SIGINT from Ctrl-C) after writing
    ``last.ckpt``; no model was exported. ``exit_code`` is the shell's 128 + signal number
    (143 for SIGTERM, 130 for SIGINT)."""

    def __init__(self, message: str, *, signum: int) -> None:
        super().__init__(message)
        self.signum = int(signum)
        self.exit_code = 128 + self.signum


class ClasterWarning(UserWarning):
    """Something the user should know about, e.g. an explicit fill of missing data."""
