"""Bins, regions and the active-enhancer filter of in-silico perturbations (SPEC §6).

Everything here is pure: arrays in, arrays out, no model and no store. Windows are raw landscape
windows ``(T, W)`` or ``(B, T, W)`` (numpy arrays or torch tensors) in the store's track units, i.e.
*before* the model's input normalisation; bin ``W // 2`` (5000 of 10,001) is the centre bin.

Coordinates: a window whose bin 0 starts at ``window_start_bp`` on the genome's 100 bp grid has its
centre at ``centre_bp = window_start_bp + (W // 2) * bin_bp`` (the start of the centre bin, which holds
the TSS). An interval [s, e) relative to the centre maps to bins by one of two rules:

* ``element`` (SPEC §6): ``floor(s/100) .. floor(e/100)`` inclusive, relative to the centre bin;
* ``overlap``: the bins overlapping [s, e), ``floor(s/100) .. ceil(e/100) - 1``; TSS ±10 kbp is
  exactly bins [4900, 5100) (SPEC §6 regulatory logic).

Both are clipped to the window. :func:`bin_ranges` is the vectorised form every scan uses, so a
preset scan, a spec and the active filter place an element on the same bins.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from claster.config.perturb import BedRegion, GeneRegion, OffsetRegion
from claster.errors import InputError
from claster.units import LANDSCAPE_BIN_BP, LANDSCAPE_BINS

__all__ = [
    "bin_ranges",
    "element_bins",
    "region_bins",
    "resolve_region",
    "region_to_absolute",
    "is_active",
    "select_active_elements",
    "element_gene_geometry",
]


# ------------------------------------------------------------------------------------------------ bins


def _bin_range(start_rel_bp: int, end_rel_bp: int, rule: str, n_bins: int, bin_bp: int) -> tuple[int, int]:
    """Unclipped ``[lo, hi)`` window bin indices of a relative interval under ``rule``."""
    centre = n_bins // 2
    lo = centre + math.floor(start_rel_bp / bin_bp)
    if rule == "element":
        hi = centre + math.floor(end_rel_bp / bin_bp) + 1
    elif rule == "overlap":
        hi = centre + math.ceil(end_rel_bp / bin_bp)
    else:  # pragma: no cover - guarded by the config's Literal
        raise InputError(f"unknown bin rule {rule!r}; use 'element' or 'overlap'")
    return lo, hi


def bin_ranges(start_bp: Any, end_bp: Any, rule: str = "element", *, bin_bp: int = LANDSCAPE_BIN_BP
               ) -> tuple[np.ndarray, np.ndarray]:
    """Unclipped ``[lo, hi)`` bin indices of intervals [start_bp, end_bp) on a grid of ``bin_bp`` bins.

    ``start_bp``/``end_bp``: int arrays in bp relative to bin 0 of the grid (a window's start or the
    chromosome start). ``element``: ``floor(s/bin) .. floor(e/bin)`` inclusive (SPEC §6);
    ``overlap``: ``floor(s/bin) .. ceil(e/bin) - 1``. Returns two int64 arrays; clip them yourself.
    """
    s = np.asarray(start_bp, dtype=np.int64)
    e = np.asarray(end_bp, dtype=np.int64)
    lo = np.floor_divide(s, bin_bp)
    if rule == "element":
        hi = np.floor_divide(e, bin_bp) + 1
    elif rule == "overlap":
        hi = -np.floor_divide(-e, bin_bp)
    else:
        raise InputError(f"unknown bin rule {rule!r}; use 'element' or 'overlap'")
    return lo, hi


def _clip(lo: int, hi: int, n_bins: int) -> tuple[int, int]:
    lo, hi = max(lo, 0), min(hi, n_bins)
    return (lo, hi) if hi > lo else (lo, lo)


def element_bins(
    start_rel_bp: int, end_rel_bp: int, n_bins: int = LANDSCAPE_BINS, bin_bp: int = LANDSCAPE_BIN_BP
) -> np.ndarray:
    """Window bin indices of an element [start_rel_bp, end_rel_bp) relative to the centre (SPEC §6).

    Bins ``floor(s / bin_bp) .. floor(e / bin_bp)`` inclusive, offset by the centre bin ``n_bins // 2``
    and clipped to ``[0, n_bins)``. Example: [-250, 130) -> 4997, 4998, 4999, 5000, 5001.

    Returns
    -------
    (n,) int64 array of indices, empty when the element lies outside the window.
    """
    lo, hi = _clip(*_bin_range(start_rel_bp, end_rel_bp, "element", n_bins, bin_bp), n_bins)
    return np.arange(lo, hi, dtype=np.int64)


def region_bins(
    start_rel_bp: int, end_rel_bp: int, n_bins: int = LANDSCAPE_BINS, bin_bp: int = LANDSCAPE_BIN_BP
) -> np.ndarray:
    """Window bin indices overlapping [start_rel_bp, end_rel_bp) (the ``overlap`` rule), clipped.

    Example: [-10000, 10000) -> 4900 .. 5099 (200 bins).
    """
    lo, hi = _clip(*_bin_range(start_rel_bp, end_rel_bp, "overlap", n_bins, bin_bp), n_bins)
    return np.arange(lo, hi, dtype=np.int64)


# --------------------------------------------------------------------------------------------- regions


def _find_gene(genes: pd.DataFrame | None, gene: str) -> pd.Series:
    if genes is None:
        raise InputError(
            f"region names gene {gene!r} but no gene table was given; pass genes= (the store's genes.tsv) "
            "or give the region as a BED interval"
        )
    hits = genes[genes["gene_id"].astype(str) == gene]
    if hits.empty and "gene_name" in genes.columns:
        hits = genes[genes["gene_name"].astype(str) == gene]
    if hits.empty:
        raise InputError(
            f"gene {gene!r} is not in the gene table; give its gene_id, or the region as a BED interval"
        )
    if len(hits) > 1:
        ids = ", ".join(hits["gene_id"].astype(str).head(5))
        raise InputError(f"gene name {gene!r} matches {len(hits)} genes ({ids}); give the gene_id instead")
    return hits.iloc[0]


def region_to_absolute(
    region: BedRegion | GeneRegion, genes: pd.DataFrame | None = None, *, bin_bp: int = LANDSCAPE_BIN_BP
) -> tuple[str, int, int]:
    """``(chrom, start_bp, end_bp)`` of a BED or gene region (0-based, half-open).

    A gene's promoter is [bin_start(TSS) - flank_bp, bin_start(TSS) + flank_bp) with
    ``bin_start(TSS) = TSS - TSS % bin_bp``; its body is [start_bp, end_bp) from ``genes``
    (columns gene_id, gene_name, chrom, tss_bp, start_bp, end_bp).
    """
    if isinstance(region, BedRegion):
        return region.chrom, region.start_bp, region.end_bp
    if isinstance(region, GeneRegion):
        row = _find_gene(genes, region.gene)
        if region.part == "body":
            return str(row["chrom"]), int(row["start_bp"]), int(row["end_bp"])
        tss = int(row["tss_bp"])
        base = tss - tss % bin_bp
        return str(row["chrom"]), max(base - region.flank_bp, 0), base + region.flank_bp
    raise InputError(
        f"region {region} is relative to a window and has no absolute position; give a BED interval"
    )


def resolve_region(
    region: BedRegion | GeneRegion | OffsetRegion,
    *,
    window_start_bp: int,
    chrom: str | None = None,
    genes: pd.DataFrame | None = None,
    n_bins: int = LANDSCAPE_BINS,
    bin_bp: int = LANDSCAPE_BIN_BP,
) -> tuple[int, int]:
    """``(start_rel_bp, end_rel_bp)`` of a region relative to the window centre.

    The centre is ``window_start_bp + (n_bins // 2) * bin_bp``. Absolute regions must lie on ``chrom``.
    """
    if isinstance(region, OffsetRegion):
        return region.start_rel_bp, region.end_rel_bp
    c, s, e = region_to_absolute(region, genes, bin_bp=bin_bp)
    if chrom is None:
        raise InputError(f"region {region} is absolute; pass chrom= (the window's chromosome) to place it")
    if c != chrom:
        raise InputError(
            f"region {region} lies on {c} but the window is on {chrom}; use an offset region, "
            "or copy it with a copy/transplant operation"
        )
    centre_bp = window_start_bp + (n_bins // 2) * bin_bp
    return s - centre_bp, e - centre_bp



def _track_index(track_names: Sequence[str], names: Iterable[str], where: str) -> list[int]:
    out = []
    for t in names:
        if t not in track_names:
            raise InputError(f"unknown track {t!r} in {where}; valid tracks: {', '.join(track_names)}")
        out.append(list(track_names).index(t))
    return out



def _is_torch(x: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def _get_source(source_tracks: Any, chrom: str) -> Any:
    if source_tracks is None:
        raise InputError(
            "copying from another locus needs the genome tracks; pass source_tracks= (a mapping chrom -> "
            "(T, n_bins) array in the window's track order, e.g. the store's tracks)"
        )
    if callable(source_tracks) and not isinstance(source_tracks, Mapping):
        return source_tracks(chrom)
    if chrom not in source_tracks:
        raise InputError(
            f"chromosome {chrom} is not in the genome tracks; valid: {', '.join(map(str, source_tracks))}"
        )
    return source_tracks[chrom]


# ----------------------------------------------------------------------------------------- activity


def _as_slice(bins: Any) -> Any:
    if isinstance(bins, slice):
        return bins
    arr = np.asarray(bins, dtype=np.int64)
    if arr.size == 0:
        return slice(0, 0)
    if np.all(np.diff(arr) == 1):
        return slice(int(arr[0]), int(arr[-1]) + 1)
    return arr


def is_active(
    landscape: Any,
    bins: Any,
    track_names: Sequence[str],
    threshold: float = 10.0,
    *,
    track: str = "H3K27ac",
) -> bool | np.ndarray:
    """Whether the mean of ``track`` over ``bins`` exceeds ``threshold`` (SPEC §6 active enhancer).

    ``landscape``: raw ``(T, W)`` or ``(B, T, W)`` window(s) in track units; ``bins``: window bin
    indices (e.g. from :func:`element_bins`) or a slice. No bins -> not active.

    Returns
    -------
    bool for one window, ``(B,)`` bool array for a batch.
    """
    t = _track_index(track_names, [track], "the active filter")[0]
    sl = _as_slice(bins)
    seg = landscape[..., t, sl]
    if seg.shape[-1] == 0:
        return False if landscape.ndim == 2 else np.zeros(landscape.shape[0], dtype=bool)
    mean = (
        seg.double().mean(-1).cpu().numpy() if _is_torch(seg) else np.asarray(seg, dtype=np.float64).mean(-1)
    )
    return bool(mean > threshold) if landscape.ndim == 2 else np.asarray(mean > threshold)


def select_active_elements(
    elements: pd.DataFrame,
    tracks: Mapping[str, Any] | np.ndarray,
    track_names: Sequence[str],
    *,
    offset_bp: int = 0,
    threshold: float = 10.0,
    track: str = "H3K27ac",
    bin_rule: str = "element",
    bin_bp: int = LANDSCAPE_BIN_BP,
    keep_inactive: bool = False,
) -> pd.DataFrame:
    """Elements whose mean ``track`` over their bins exceeds ``threshold`` (SPEC §6).

    Parameters
    ----------
    elements
        Columns ``chrom``, ``start_bp``, ``end_bp`` (or ``start``, ``end``), 0-based half-open.
    tracks
        ``chrom -> (T, n_bins)`` raw tracks on the 100 bp grid (e.g. the store's), or one ``(T, n)``
        array whose bin 0 starts at ``offset_bp`` (e.g. a window; then all elements share its chromosome).
    bin_rule
        ``element`` (SPEC §6: bins s//100 .. e//100 inclusive) or ``overlap``; clipped to the array.

    Returns
    -------
    A copy with ``active_signal`` (float64, mean of ``track`` in track units; NaN when no bin is
    covered) and ``is_active`` (bool) columns; only active rows unless ``keep_inactive``.
    """
    df = elements.rename(columns={"start": "start_bp", "end": "end_bp"}).copy()
    missing = [c for c in ("chrom", "start_bp", "end_bp") if c not in df.columns]
    if missing:
        raise InputError(f"elements lack column(s) {', '.join(missing)}; give chrom, start_bp, end_bp")
    t = _track_index(track_names, [track], "the active filter")[0]
    signal = np.full(len(df), np.nan)
    for c, idx in df.groupby("chrom", sort=False).indices.items():
        arr = tracks if not isinstance(tracks, Mapping) else _get_source(tracks, str(c))
        row = np.asarray(arr[t], dtype=np.float64)
        cs = np.concatenate([[0.0], np.cumsum(row)])
        s = df["start_bp"].to_numpy(np.int64)[idx] - offset_bp
        e = df["end_bp"].to_numpy(np.int64)[idx] - offset_bp
        lo, hi = bin_ranges(s, e, bin_rule, bin_bp=bin_bp)
        lo, hi = np.clip(lo, 0, row.size), np.clip(hi, 0, row.size)
        n = hi - lo
        with np.errstate(invalid="ignore", divide="ignore"):
            signal[idx] = np.where(n > 0, (cs[hi] - cs[lo]) / np.maximum(n, 1), np.nan)
    df["active_signal"] = signal
    df["is_active"] = np.nan_to_num(signal, nan=-np.inf) > threshold
    return df if keep_inactive else df[df["is_active"]].copy()


def element_gene_geometry(
    element_start_bp: int, element_end_bp: int, gene_tss_bp: Sequence[int] | np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distance, proximity rank and genes in between for one element and a set of genes.

    ``distance_bp = |tss - mid|`` with ``mid = (start + end) // 2``; ``proximity_rank`` = 1 + the number
    of genes strictly closer (ties share the lower rank); ``genes_between`` = the number of the given
    TSSs strictly between ``mid`` and this gene's TSS.

    Returns
    -------
    Three ``(G,)`` int64 arrays in the order of ``gene_tss_bp``.
    """
    tss = np.asarray(gene_tss_bp, dtype=np.int64)
    mid = (int(element_start_bp) + int(element_end_bp)) // 2
    dist = np.abs(tss - mid)
    sd = np.sort(dist)
    rank = np.searchsorted(sd, dist, side="left") + 1
    st = np.sort(tss)
    lo, hi = np.minimum(tss, mid), np.maximum(tss, mid)
    between = np.maximum(np.searchsorted(st, hi, side="left") - np.searchsorted(st, lo, side="right"), 0)
    return dist.astype(np.int64), rank.astype(np.int64), between.astype(np.int64)
