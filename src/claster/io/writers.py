"""Atomic writers for the formats claster produces: fixed-step bigWig, TSV and BEDPE.

Every writer writes a temporary sibling file in the destination directory and moves it into place
with :func:`os.replace`, so a crash never leaves a partial file under the final name.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from claster.errors import InputError

__all__ = ["atomic_path", "write_bigwig", "write_tsv", "write_bedpe", "BEDPE_COLUMNS"]

BEDPE_COLUMNS: tuple[str, ...] = ("chrom1", "start1", "end1", "chrom2", "start2", "end2")


@contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success move it to ``path`` (``os.replace``).

    The temporary file is removed when the body raises. ``suffix`` keeps the extension for libraries
    that look at it (e.g. ``.bw``).
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise InputError(f"output directory {path.parent} does not exist; create it first")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f"{suffix}.tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    tmp_path.chmod(0o666 & ~_umask())  # mkstemp creates 0600; give the usual permissions
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _finite_runs(values: np.ndarray) -> list[tuple[int, int]]:
    """Half-open index runs ``[i, j)`` of consecutive finite values of a 1-D array."""
    finite = np.isfinite(values).astype(np.int8)
    edges = np.diff(np.concatenate([[0], finite, [0]]))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def write_bigwig(
    path: str | os.PathLike,
    chrom_sizes: Mapping[str, int],
    values_by_chrom: Mapping[str, tuple[np.ndarray, int]],
    *,
    max_zooms: int = 10,
) -> Path:
    """Write a fixed-step bigWig atomically.

    Parameters
    ----------
    path
        Destination ``.bw`` file.
    chrom_sizes
        ``{chrom: length_bp}``, in header order. Chromosomes absent from ``values_by_chrom`` get no data.
    values_by_chrom
        ``{chrom: (values, bin_bp)}``: ``values`` is a 1-D float array (cast to float32) of signal per
        ``bin_bp`` bin, bin ``i`` covering ``[i * bin_bp, (i + 1) * bin_bp)``; it must hold
        ``ceil(length_bp / bin_bp)`` values (the last bin is truncated at the chromosome end).
        NaN marks no data: those bins are not written, so readers see them as absent.
    max_zooms
        Number of zoom levels pyBigWig writes (``addHeader(maxZooms=...)``).

    Returns
    -------
    Path of the written file.
    """
    import pyBigWig

    path = Path(path)
    for chrom in values_by_chrom:
        if chrom not in chrom_sizes:
            raise InputError(f"bigWig {path.name}: values given for {chrom}, which chrom_sizes lacks; add it")
    checked: dict[str, tuple[np.ndarray, int]] = {}
    for chrom, (values, bin_bp) in values_by_chrom.items():
        values = np.asarray(values, dtype=np.float32)
        n_bins = -(-int(chrom_sizes[chrom]) // int(bin_bp))
        if values.ndim != 1 or values.shape[0] != n_bins:
            raise InputError(
                f"bigWig {path.name}: {chrom} needs {n_bins} values of {bin_bp} bp, got shape "
                f"{values.shape}; pass one value per bin"
            )
        checked[chrom] = (values, int(bin_bp))
    with atomic_path(path, suffix=".bw") as tmp:
        bw = pyBigWig.open(str(tmp), "w")
        try:
            bw.addHeader([(c, int(s)) for c, s in chrom_sizes.items()], maxZooms=max_zooms)
            for chrom in chrom_sizes:
                if chrom not in checked:
                    continue
                values, bin_bp = checked[chrom]
                length_bp = int(chrom_sizes[chrom])
                for i, j in _finite_runs(values):
                    # A fixed-step run must not pass the chromosome end: write the last bin separately.
                    full_j = min(j, length_bp // bin_bp)
                    if full_j > i:
                        bw.addEntries(
                            chrom, i * bin_bp, values=values[i:full_j].tolist(), span=bin_bp, step=bin_bp
                        )
                    if j > full_j:
                        bw.addEntries(
                            [chrom], [full_j * bin_bp], ends=[length_bp], values=[float(values[full_j])]
                        )
        finally:
            bw.close()
    return path


def write_tsv(df: pd.DataFrame, path: str | os.PathLike, *, float_format: str | None = None) -> Path:
    """Write ``df`` as a tab-separated table with a header and no index, atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        df.to_csv(tmp, sep="\t", index=False, float_format=float_format)
    return path


def write_bedpe(df: pd.DataFrame, path: str | os.PathLike, *, float_format: str | None = None) -> Path:
    """Write ``df`` as BEDPE (tab-separated, header line, 0-based half-open), atomically.

    The first six columns must be ``chrom1, start1, end1, chrom2, start2, end2``; any further columns
    (e.g. ``name``, ``score``, ``gene_id``) follow in the order given.
    """
    path = Path(path)
    cols = [str(c) for c in df.columns[: len(BEDPE_COLUMNS)]]
    if tuple(cols) != BEDPE_COLUMNS:
        raise InputError(
            f"BEDPE {path.name}: the first columns must be {', '.join(BEDPE_COLUMNS)}, "
            f"got {', '.join(cols)}; "
            "rename or reorder the columns"
        )
    with atomic_path(path) as tmp:
        df.to_csv(tmp, sep="\t", index=False, float_format=float_format)
    return path
