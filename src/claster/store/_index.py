"""The sample index (genes.tsv): one row per gene with its split and whether its windows fit.

Window geometry shared by the store builder and :mod:`claster.data.windows` (which re-uses these
helpers, so the index and the window cutter can never disagree):

- landscape: centre bin ``tss_bp // 100``, bins ``[b - 5000, b + 5001)``;
- target: 20 bp indices ``(tss_bp + 1000 * k) // 20`` for k = -200..200;
- square contacts at resolution r: ``n = ceil(1e6 / r) + 1`` bins starting at
  ``tss_bp // r - (n - 1) // 2``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from claster.units import (
    CONTACT_WINDOW_BP,
    LANDSCAPE_BIN_BP,
    LANDSCAPE_BINS,
    TARGET_BIN_BP,
    TARGET_BINS,
    TARGET_RAW_BIN_BP,
)

__all__ = [
    "INDEX_COLUMNS",
    "assign_split",
    "build_gene_index",
    "contact_window_bins",
    "contact_window_start",
    "landscape_window_start",
    "target_indices",
]

INDEX_COLUMNS: tuple[str, ...] = (
    "gene_id",
    "gene_name",
    "chrom",
    "tss_bp",
    "strand",
    "start_bp",
    "end_bp",
    "gene_type",
    "split",
    "usable",
    "reason",
)


def landscape_window_start(center_bp: int, n_bins: int = LANDSCAPE_BINS, bin_bp: int = LANDSCAPE_BIN_BP) -> int:
    """First bin index of the ``n_bins`` landscape window whose centre bin holds ``center_bp``."""
    return int(center_bp) // bin_bp - (n_bins - 1) // 2


def target_indices(
    tss_bp: int, n_bins: int = TARGET_BINS, bin_bp: int = TARGET_BIN_BP, raw_bin_bp: int = TARGET_RAW_BIN_BP
) -> np.ndarray:
    """(n_bins,) int64 indices into the stored 20 bp target: ``(tss_bp + bin_bp * k) // 20``, k centred on 0."""
    k = np.arange(n_bins, dtype=np.int64) - (n_bins - 1) // 2
    return (int(tss_bp) + bin_bp * k) // raw_bin_bp


def contact_window_bins(bin_bp: int, window_bp: int = CONTACT_WINDOW_BP) -> int:
    """Side of the square contact window: ``ceil(window_bp / bin_bp) + 1`` (626 at 1.6 kbp, 201 at 5 kbp)."""
    return math.ceil(window_bp / bin_bp) + 1


def contact_window_start(center_bp: int, bin_bp: int, n_bins: int) -> int:
    """First contact bin of the square window centred on the bin holding ``center_bp``."""
    return int(center_bp) // bin_bp - (n_bins - 1) // 2


def assign_split(chroms: Iterable[str], test_chroms: Iterable[str], val_chroms: Iterable[str]) -> list[str]:
    """'test' / 'val' / 'train' for each chromosome (test wins over val if both list it)."""
    test, val = set(test_chroms), set(val_chroms)
    return ["test" if c in test else "val" if c in val else "train" for c in chroms]


def build_gene_index(
    genes: pd.DataFrame,
    chrom_sizes: Mapping[str, int],
    *,
    test_chroms: Iterable[str],
    val_chroms: Iterable[str],
    contact_rows: Mapping[str, Mapping[str, int]] | None = None,
    contact_bin_bp: Mapping[str, int] | None = None,
) -> pd.DataFrame:
    """The sample index: genes (store chromosome names) + split + usable + reason.

    ``contact_rows[kind][chrom]`` is the number of contact bins stored for ``chrom`` (absent: no
    contacts for that chromosome) and ``contact_bin_bp[kind]`` the resolution, for each contact kind
    in the store ('contacts', 'pchic'). A gene is usable when every window (landscape, target, each
    contact kind) lies inside its chromosome; ``reason`` lists the failures ("; "-joined), "" if none.
    """
    df = genes.copy()
    n = len(df)
    tss = df["tss_bp"].to_numpy(np.int64)
    length = df["chrom"].map(chrom_sizes).to_numpy(np.int64)
    reasons: list[list[str]] = [[] for _ in range(n)]

    n100 = -(-length // LANDSCAPE_BIN_BP)
    s = tss // LANDSCAPE_BIN_BP - (LANDSCAPE_BINS - 1) // 2
    bad = (s < 0) | (s + LANDSCAPE_BINS > n100)
    n20 = -(-length // TARGET_RAW_BIN_BP)
    half = (TARGET_BINS - 1) // 2
    bad_t = ((tss - TARGET_BIN_BP * half) // TARGET_RAW_BIN_BP < 0) | (
        (tss + TARGET_BIN_BP * half) // TARGET_RAW_BIN_BP >= n20
    )
    for i in np.flatnonzero(bad):
        reasons[i].append("landscape window off chromosome")
    for i in np.flatnonzero(bad_t & ~bad):
        reasons[i].append("target window off chromosome")

    labels = {"contacts": "contact", "pchic": "promoter-capture"}
    for kind, rows_by_chrom in (contact_rows or {}).items():
        r = int(contact_bin_bp[kind])  # type: ignore[index]
        w = contact_window_bins(r)
        rows = df["chrom"].map(rows_by_chrom).to_numpy(np.float64)
        start = tss // r - (w - 1) // 2
        missing = np.isnan(rows)
        off = ~missing & ((start < 0) | (start + w > np.nan_to_num(rows)))
        for i in np.flatnonzero(missing):
            reasons[i].append(f"no {labels.get(kind, kind)} data for chromosome")
        for i in np.flatnonzero(off):
            reasons[i].append(f"{labels.get(kind, kind)} window off chromosome")

    df["split"] = assign_split(df["chrom"], test_chroms, val_chroms)
    df["usable"] = [not r for r in reasons]
    df["reason"] = ["; ".join(r) for r in reasons]
    return df.loc[:, list(INDEX_COLUMNS)].reset_index(drop=True)
