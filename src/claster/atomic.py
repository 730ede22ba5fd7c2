"""Atomic file writes that honour the umask: the one place every layer writes files through.

A leaf module (standard library only), so that ``config``, ``model``, ``plots`` and ``io`` can all use it
without importing each other. ``claster.io.writers`` re-exports :func:`atomic_path` with the writers.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from claster.errors import InputError

__all__ = ["atomic_path", "current_umask"]


def current_umask() -> int:
    """The process's umask (read without changing it for longer than the call)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success move it to ``path`` (``os.replace``).

    The temporary file gets the permissions a plain ``open(path, "w")`` would (``0666 & ~umask``;
    ``mkstemp`` alone gives 0600) and is removed when the body raises. ``suffix`` keeps the extension
    for libraries that look at it (e.g. ``.bw``).
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise InputError(f"output directory {path.parent} does not exist; create it first")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f"{suffix}.tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    tmp_path.chmod(0o666 & ~current_umask())
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()
