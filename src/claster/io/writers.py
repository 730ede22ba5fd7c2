"""Atomic writers for the formats claster produces: binned bigWig (pybigtools), TSV and BEDPE.

Every writer writes a temporary sibling file in the destination directory and moves it into place
with :func:`os.replace`, so a crash never leaves a partial file under the final name.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from claster.atomic import atomic_path
from claster.errors import InputError

__all__ = ["atomic_path", "write_bigwig", "write_tsv", "write_bedpe", "BEDPE_COLUMNS"]

BEDPE_COLUMNS: tuple[str, ...] = ("chrom1", "start1", "end1", "chrom2", "start2", "end2")


def _intervals(chrom: str, values: np.ndarray, bin_bp: int, length_bp: int) -> Iterator[tuple[str, int, int, float]]:
    """(chrom, start, end, value) of the finite bins, adjacent bins of equal value merged into one
    interval (same per-base values, fewer records); the last bin ends at ``length_bp``."""
    idx = np.flatnonzero(np.isfinite(values))
    if idx.size == 0:
        return iter(())
    v = values[idx]
    new_run = np.ones(idx.size, dtype=bool)
    new_run[1:] = (np.diff(idx) != 1) | (v[1:] != v[:-1])
    first = np.flatnonzero(new_run)
    last = np.concatenate([first[1:] - 1, [idx.size - 1]])
    starts = idx[first].astype(np.int64) * bin_bp
    ends = np.minimum((idx[last].astype(np.int64) + 1) * bin_bp, length_bp)
    return zip(itertools.repeat(chrom), starts.tolist(), ends.tolist(), v[first].tolist())


def write_bigwig(
    path: str | os.PathLike,
    chrom_sizes: Mapping[str, int],
    values_by_chrom: Mapping[str, tuple[np.ndarray, int]],
) -> Path:
    """Write a binned signal as a bigWig atomically (pybigtools; zoom levels included).

    Parameters
    ----------
    path
        Destination ``.bw`` file.
    chrom_sizes
        ``{chrom: length_bp}``. Chromosomes without any finite value (absent from ``values_by_chrom`` or
        all NaN) are left out of the file's header: pybigtools writes only chromosomes with data.
    values_by_chrom
        ``{chrom: (values, bin_bp)}``: ``values`` is a 1-D float array (cast to float32) of signal per
        ``bin_bp`` bin, bin ``i`` covering ``[i * bin_bp, (i + 1) * bin_bp)``; it must hold
        ``ceil(length_bp / bin_bp)`` values (the last bin is truncated at the chromosome end).
        NaN marks no data: those bins are not written, so readers see them as absent. Adjacent bins
        of equal value are written as one interval (the per-base signal is the same).

    Returns
    -------
    Path of the written file.

    Raises :class:`InputError` when a chromosome is unknown, a value count is wrong, or no value at all
    is finite (a bigWig without data cannot be written).
    """
    import pybigtools

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
    if not any(np.isfinite(v).any() for v, _ in checked.values()):
        raise InputError(f"bigWig {path.name}: every value is NaN, so there is no data to write; check the input")
    records = itertools.chain.from_iterable(
        _intervals(chrom, *checked[chrom], int(chrom_sizes[chrom])) for chrom in chrom_sizes if chrom in checked
    )
    with atomic_path(path, suffix=".bw") as tmp:
        bw_tmp = tmp.with_name(tmp.name + ".bw")  # pybigtools insists on a .bw/.bigWig name
        try:
            writer = pybigtools.open(str(bw_tmp), "w")
            writer.write({str(c): int(s) for c, s in chrom_sizes.items()}, records)
            os.replace(bw_tmp, tmp)  # created by pybigtools with the usual 0666 & ~umask mode
        finally:
            if bw_tmp.exists():
                bw_tmp.unlink()
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
