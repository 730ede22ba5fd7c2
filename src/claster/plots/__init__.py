"""Figures drawn from tables and arrays: ``plot_*(data, ax=None) -> matplotlib.figure.Figure``.

Figures are built with :class:`matplotlib.figure.Figure` (never pyplot's global state), so they work
under any backend and in threads. Import the submodules directly
(``from claster.plots.evaluation import plot_density``); this file imports no matplotlib.
"""

from __future__ import annotations

import os
import tempfile
from os import PathLike
from pathlib import Path
from typing import Any

from claster.atomic import current_umask

__all__ = ["save_figure"]


def save_figure(fig: Any, path: str | PathLike[str], *, dpi: int = 150) -> Path:
    """Write ``fig`` (a matplotlib Figure) to ``path`` atomically; returns the path.

    The format follows the suffix (``.png`` by default when there is none). The figure is written to
    a temporary file in the same folder and moved into place with :func:`os.replace`, so a crash
    never leaves a partial image. Parent folders are created.
    """
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower() or "png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fig.savefig(fh, format=fmt, dpi=dpi, bbox_inches="tight")
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
