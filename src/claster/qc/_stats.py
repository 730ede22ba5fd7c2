"""Statistics of a store's inputs: per-track distributions, promoter values, the target, contacts.

Everything here reads a :class:`claster.store.Store` and returns plain dicts/lists (JSON-safe), so the
same numbers go into ``qc.json``, a run's metadata and the HTML report.

Conventions
-----------
- Track values are the store's 100 bp bin means (track units). The store keeps bins without data as
  0 and records their number per track and chromosome in the manifest (``fills``): coverage is
  exact; the *positions* of no-data bins are not stored, so a no-data gap is reported as a run of at
  least :data:`GAP_MIN_BINS` consecutive zero bins (a real gap, or a stretch of exact zeros).
- Promoter value of a gene: the mean of a track over the bins of ``[TSS - 1 kbp, TSS + 1 kbp)``.
- Quantiles are taken over at most :data:`MAX_QUANTILE_BINS` bins per track (an even stride over
  the chromosomes), enough for the 99.9 % level (>= 4,000 bins above it).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pandas as pd

__all__ = [
    "GAP_MIN_BINS",
    "CURVE_LEVELS",
    "MAX_QUANTILE_BINS",
    "NEAR_ZERO_FRACTION",
    "PROMOTER_FLANK_BP",
    "QC_LEVELS",
    "contact_qc",
    "promoter_means",
    "track_distribution",
    "track_qc",
    "target_qc",
    "training_stats",
    "zero_runs",
]

#: Quantile levels reported per track and chromosome (50 / 90 / 99 / 99.9 %).
QC_LEVELS: tuple[float, ...] = (0.5, 0.9, 0.99, 0.999)
#: Quantile levels of the distribution curves saved with a model (used for the shift score,
#: quantile mapping and the figures): every percent, then a finer upper tail.
CURVE_LEVELS: tuple[float, ...] = tuple(
    [round(i / 100, 2) for i in range(100)] + [0.995, 0.998, 0.999, 0.9995, 0.9999, 1.0]
)
#: Promoter = TSS +- this many bp.
PROMOTER_FLANK_BP = 1000
#: A no-data gap: at least this many consecutive zero 100 bp bins (2 kbp).
GAP_MIN_BINS = 20
#: Bins sampled per track for the quantiles (even stride).
MAX_QUANTILE_BINS = 4_000_000
#: A gene's target profile is near zero when its largest value is below this fraction of the
#: store's 99th target percentile.
NEAR_ZERO_FRACTION = 0.01


def _f(x) -> float | None:
    """A JSON-safe float (None for NaN/inf)."""
    x = float(x)
    return x if math.isfinite(x) else None


def promoter_means(
    values: np.ndarray, tss_bp: np.ndarray, bin_bp: int, flank_bp: int = PROMOTER_FLANK_BP
) -> np.ndarray:
    """(G,) float64 mean of ``values`` ((N,) per ``bin_bp`` bin) over ``[tss - flank, tss + flank)``.

    The bin range is ``[(tss - flank) // bin_bp, (tss + flank) // bin_bp)``, clipped to the chromosome.
    """
    v = np.asarray(values, dtype=np.float64)
    tss = np.asarray(tss_bp, dtype=np.int64)
    if len(tss) == 0:
        return np.zeros(0)
    csum = np.concatenate([[0.0], np.cumsum(v)])
    lo = np.clip((tss - flank_bp) // bin_bp, 0, len(v))
    hi = np.clip((tss + flank_bp) // bin_bp, 0, len(v))
    n = np.maximum(hi - lo, 1)
    return (csum[hi] - csum[lo]) / n


def zero_runs(values: np.ndarray, min_bins: int = GAP_MIN_BINS) -> np.ndarray:
    """(K,) int64 lengths (in bins) of the maximal runs of exact zeros that are at least ``min_bins`` long."""
    z = np.asarray(values) == 0
    if not z.any():
        return np.zeros(0, dtype=np.int64)
    d = np.diff(np.concatenate([[0], z.view(np.int8), [0]]))
    starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    lengths = ends - starts
    return lengths[lengths >= min_bins].astype(np.int64)


def track_distribution(
    store,
    chroms: Iterable[str],
    genes: pd.DataFrame,
    *,
    levels: Iterable[float] = CURVE_LEVELS,
    max_bins: int = MAX_QUANTILE_BINS,
) -> dict:
    """Per track: the quantile curve over the bins of ``chroms`` and the promoter values of ``genes``.

    Returns ``{"levels": [...], "chroms": [...], "n_genes": G, "tracks": {name: {"quantiles": [...],
    "promoter_median", "promoter_mean", "genome_mean", "n_bins"}}}`` (track units). This is what a
    trained model carries (computed on its training split) and what a new store is compared with.
    """
    chroms = [c for c in chroms if c in store.chrom_sizes]
    levels = [float(q) for q in levels]
    g = genes[genes["chrom"].isin(chroms)]
    per_track: dict[str, dict] = {}
    names = list(store.track_names)
    cols: dict[int, list[np.ndarray]] = {t: [] for t in range(len(names))}
    prom: dict[int, list[np.ndarray]] = {t: [] for t in range(len(names))}
    sums = np.zeros(len(names))
    n_bins = 0
    step = max(1, -(-_total(store, chroms) // max_bins))
    for c in chroms:
        arr = np.asarray(store.tracks(c), dtype=np.float32)
        tss = g.loc[g["chrom"] == c, "tss_bp"].to_numpy(np.int64)
        n_bins += arr.shape[1]
        for t in range(len(names)):
            cols[t].append(np.asarray(arr[t, ::step], dtype=np.float64))
            sums[t] += float(arr[t].sum(dtype=np.float64))
            prom[t].append(promoter_means(arr[t], tss, store.track_bin_bp))
    for t, name in enumerate(names):
        sample = np.concatenate(cols[t]) if cols[t] else np.zeros(0)
        pm = np.concatenate(prom[t]) if prom[t] else np.zeros(0)
        per_track[name] = {
            "quantiles": [
                _f(x) for x in (np.quantile(sample, levels) if len(sample) else [np.nan] * len(levels))
            ],
            "promoter_median": _f(np.median(pm)) if len(pm) else None,
            "promoter_mean": _f(pm.mean()) if len(pm) else None,
            "genome_mean": _f(sums[t] / n_bins) if n_bins else None,
            "n_bins": int(n_bins),
        }
    return {"levels": levels, "chroms": chroms, "n_genes": int(len(g)), "tracks": per_track}


def _total(store, chroms) -> int:
    return sum(-(-store.chrom_sizes[c] // store.track_bin_bp) for c in chroms)


def training_stats(store, train_genes: pd.DataFrame) -> dict:
    """The input statistics a model carries, from its training split (SPEC §10: training data only).

    Track quantile curves over the training chromosomes, promoter medians over ``train_genes`` (the
    usable training genes), and the contact distance-decay curve of the training chromosomes when the
    store has contacts. JSON-safe; saved in the exported model's metadata as ``input_stats``.
    """
    chroms = list(dict.fromkeys(train_genes["chrom"]))
    out = {"version": 1, "store": str(store.path), **track_distribution(store, chroms, train_genes)}
    out["contacts"] = {}
    for kind in ("contacts", "pchic"):
        if store.has(kind):
            rows = [contact_qc(store, c, kind) for c in chroms if c in store.manifest[kind].get("chroms", [])]
            if rows:
                out["contacts"][kind] = _mean_decay(rows)
    return out


# ---------------------------------------------------------------------------------------------
# per-chromosome QC


def track_qc(store, genes: pd.DataFrame) -> list[dict]:
    """One row per (track, chromosome): coverage, gaps, zeros, quantiles, promoter vs genome values.

    Columns: track, chrom, n_bins, coverage (fraction of bins with data, from the manifest's fill
    counts), n_gaps, gap_bp, largest_gap_bp (runs of >= :data:`GAP_MIN_BINS` zero bins), zero_fraction,
    q50, q90, q99, q99.9, genome_mean, promoter_median, promoter_mean, promoter_enrichment
    (promoter_mean / genome_mean).
    """
    fills = store.manifest.get("fills", {}).get("tracks_empty_bins", {})
    rows = []
    bin_bp = store.track_bin_bp
    for c in store.chroms:
        arr = np.asarray(store.tracks(c), dtype=np.float32)
        tss = genes.loc[genes["chrom"] == c, "tss_bp"].to_numpy(np.int64)
        n = arr.shape[1]
        for t, name in enumerate(store.track_names):
            v = arr[t]
            runs = zero_runs(v)
            pm = promoter_means(v, tss, bin_bp)
            empty = fills.get(name, {}).get(c)
            gmean = float(v.mean(dtype=np.float64)) if n else np.nan
            qs = np.quantile(v[:: max(1, -(-n // MAX_QUANTILE_BINS))], QC_LEVELS) if n else [np.nan] * 4
            rows.append(
                {
                    "track": name,
                    "chrom": c,
                    "n_bins": int(n),
                    "coverage": _f(1 - empty / n) if empty is not None and n else None,
                    "n_gaps": int(len(runs)),
                    "gap_bp": int(runs.sum()) * bin_bp,
                    "largest_gap_bp": int(runs.max()) * bin_bp if len(runs) else 0,
                    "zero_fraction": _f((v == 0).mean()) if n else None,
                    **{f"q{_pct(q)}": _f(x) for q, x in zip(QC_LEVELS, qs, strict=True)},
                    "genome_mean": _f(gmean),
                    "n_promoters": int(len(pm)),
                    "promoter_median": _f(np.median(pm)) if len(pm) else None,
                    "promoter_mean": _f(pm.mean()) if len(pm) else None,
                    "promoter_enrichment": _f(pm.mean() / gmean) if len(pm) and gmean > 0 else None,
                }
            )
    return rows


def _pct(q: float) -> str:
    """0.5 -> '50', 0.999 -> '99.9'."""
    s = f"{q * 100:.1f}"
    return s[:-2] if s.endswith(".0") else s


def target_qc(store, genes: pd.DataFrame) -> dict:
    """The target: per chromosome coverage, zeros, quantiles; and near-zero usable genes.

    A usable gene's profile (the 401 target values at 1 kbp steps around its TSS) is near zero when
    its maximum is below :data:`NEAR_ZERO_FRACTION` x the store's 99th target percentile.
    Returns ``{"chroms": [rows], "near_zero_threshold", "n_usable_genes", "near_zero_fraction",
    "near_zero_by_chrom": {chrom: fraction}}``.
    """
    from claster.store import target_indices

    fills = store.manifest.get("fills", {}).get("target_empty_bins", {})
    rows, samples = [], []
    arrays = {}
    for c in store.chroms:
        v = np.asarray(store.target(c), dtype=np.float32)
        arrays[c] = v
        n = len(v)
        empty = fills.get(c)
        qs = np.quantile(v[:: max(1, -(-n // MAX_QUANTILE_BINS))], QC_LEVELS) if n else [np.nan] * 4
        rows.append(
            {
                "track": "target",
                "chrom": c,
                "n_bins": int(n),
                "coverage": _f(1 - empty / n) if empty is not None and n else None,
                "zero_fraction": _f((v == 0).mean()) if n else None,
                **{f"q{_pct(q)}": _f(x) for q, x in zip(QC_LEVELS, qs, strict=True)},
            }
        )
        samples.append(v[:: max(1, -(-n // (MAX_QUANTILE_BINS // max(1, len(store.chroms)))))])
    allv = np.concatenate(samples) if samples else np.zeros(0)
    q99 = float(np.quantile(allv, 0.99)) if len(allv) else 0.0
    thr = NEAR_ZERO_FRACTION * q99
    usable = genes[genes["usable"].astype(bool)]
    near, by_chrom = 0, {}
    for c, grp in usable.groupby("chrom", sort=False):
        v = arrays.get(c)
        if v is None or grp.empty:
            continue
        idx = np.stack([target_indices(int(t)) for t in grp["tss_bp"]])
        idx = np.clip(idx, 0, len(v) - 1)
        peak = np.abs(v[idx]).max(axis=1)
        k = int((peak < thr).sum()) if thr > 0 else int((peak == 0).sum())
        near += k
        by_chrom[str(c)] = _f(k / len(grp))
    return {
        "chroms": rows,
        "near_zero_threshold": _f(thr),
        "n_usable_genes": int(len(usable)),
        "near_zero_fraction": _f(near / len(usable)) if len(usable) else None,
        "near_zero_by_chrom": by_chrom,
    }


def contact_qc(store, chrom: str, kind: str = "contacts", *, max_rows: int = 20_000) -> dict:
    """Missing pixels and the distance-decay curve of one chromosome's contact band.

    Over the band entries a window can read (separations 0 .. window_bins - 1; at most ``max_rows``
    evenly strided rows): ``missing_fraction`` (NaN or <= 0, i.e. -14 after log10, SPEC §2),
    ``decay`` (mean log10 contact over the present pixels at each separation, index = separation in
    bins), ``separation_bp`` and ``slope`` (least-squares slope of mean log10 contact against log10
    separation in bp, separations >= 1 bin: the power-law exponent of the decay).
    """
    band = store.contact_band(chrom, kind=kind)
    n_win = store.contact_window_bins(kind)
    res = store.contact_bin_bp(kind)
    step = max(1, -(-band.shape[0] // max_rows))
    b = np.asarray(band[::step, :n_win], dtype=np.float64)
    ok = np.isfinite(b) & (b > 0)
    # pixels past the chromosome end (row i + d >= n_bins) are not part of any window
    rows_idx = np.arange(0, band.shape[0], step)[:, None]
    inside = rows_idx + np.arange(b.shape[1])[None, :] < band.shape[0]
    logv = np.where(ok, np.log10(np.where(ok, b, 1.0)), 0.0)
    cnt = (ok & inside).sum(axis=0)
    decay = np.where(cnt > 0, (logv * (ok & inside)).sum(axis=0) / np.maximum(cnt, 1), np.nan)
    sep_bp = np.arange(b.shape[1]) * res
    sel = (sep_bp > 0) & np.isfinite(decay)
    slope = np.polyfit(np.log10(sep_bp[sel]), decay[sel], 1)[0] if sel.sum() >= 2 else np.nan
    n_inside = int(inside.sum())
    return {
        "chrom": chrom,
        "kind": kind,
        "resolution_bp": int(res),
        "missing_fraction": _f(((~ok) & inside).sum() / n_inside) if n_inside else None,
        "slope": _f(slope),
        "separation_bp": sep_bp.astype(int).tolist(),
        "decay": [_f(x) for x in decay],
    }


def _mean_decay(rows: list[dict]) -> dict:
    """Average per-chromosome decay curves (same resolution) into one curve and slope."""
    curves = np.array([[np.nan if x is None else x for x in r["decay"]] for r in rows], dtype=np.float64)
    with np.errstate(invalid="ignore"):
        decay = np.nanmean(curves, axis=0) if len(curves) else np.zeros(0)
    sep = np.asarray(rows[0]["separation_bp"], dtype=np.float64)
    sel = (sep > 0) & np.isfinite(decay)
    slope = np.polyfit(np.log10(sep[sel]), decay[sel], 1)[0] if sel.sum() >= 2 else np.nan
    miss = [r["missing_fraction"] for r in rows if r["missing_fraction"] is not None]
    return {
        "resolution_bp": rows[0]["resolution_bp"],
        "separation_bp": rows[0]["separation_bp"],
        "decay": [_f(x) for x in decay],
        "slope": _f(slope),
        "missing_fraction": _f(np.mean(miss)) if miss else None,
    }
