"""Evaluation metrics of SPEC §5: bin-wise and gene-level correlations, gene-body means.

Profiles are the model's 401-bin targets: ``(N, 401)`` float arrays of nascent signal (EU-seq,
mean signal per 1 kbp bin), bin ``k`` (array index ``k + 200``) centred on TSS + k kbp, in genomic
orientation unless stated otherwise.

- **Bin-wise** (:func:`binwise_correlations`, :class:`StreamingPearson`): all bins of all samples
  pooled, both arrays transformed with ``log2(x + 1)``, Pearson and Spearman (average ranks).
- **Gene-level** (:func:`gene_body_means`, :func:`gene_level_correlations`): each profile integrated
  over its gene body with Simpson's rule and divided by the body width in bins, then Pearson and
  Spearman of the raw means across genes.

Negative values (possible in inverse-transformed predictions) are clipped to 0 before either
metric by default (``clip_min=0.0``; pass ``None`` to keep them); observed targets are already >= 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np
import pandas as pd
from scipy.integrate import simpson
from scipy.stats import rankdata

from claster.errors import InputError
from claster.units import TARGET_BIN_BP, TARGET_BINS

__all__ = [
    "StreamingPearson",
    "binwise_correlations",
    "log2p1",
    "round_half_away",
    "gene_body_bins",
    "body_simpson",
    "gene_body_mean",
    "gene_body_means",
    "gene_level_correlations",
    "profile_correlations",
    "evaluation_table",
    "summarise",
]

Orientation = Literal["genomic", "strand"]


# --------------------------------------------------------------------------------------------------
# helpers


def _as_float_array(x: object, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    n_bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
    if n_bad:
        raise InputError(
            f"{name} has {n_bad} non-finite values (NaN or inf); "
            "replace them (e.g. with 0) before computing metrics"
        )
    return arr


def _check_pair(pred: object, true: object) -> tuple[np.ndarray, np.ndarray]:
    p = _as_float_array(pred, "pred")
    t = _as_float_array(true, "true")
    if p.shape != t.shape:
        raise InputError(
            f"pred has shape {p.shape} but true has shape {t.shape}; pass arrays of the same shape"
        )
    if p.size == 0:
        raise InputError("pred and true are empty; pass at least one sample")
    return p, t


def log2p1(x: np.ndarray, clip_min: float | None = 0.0) -> np.ndarray:
    """``log2(max(x, clip_min) + 1)`` in float64 (``clip_min=None``: no clipping)."""
    x = np.asarray(x, dtype=np.float64)
    if clip_min is not None:
        x = np.maximum(x, clip_min)
    return np.log2(x + 1.0)


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson r of two 1-D float arrays; NaN when either is constant or has < 2 values."""
    if x.size < 2:
        return float("nan")
    xc = x - x.mean()
    yc = y - y.mean()
    sxx = float(np.dot(xc, xc))
    syy = float(np.dot(yc, yc))
    if sxx <= 0.0 or syy <= 0.0:
        return float("nan")
    r = float(np.dot(xc, yc)) / np.sqrt(sxx * syy)
    return float(np.clip(r, -1.0, 1.0))


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman rho: Pearson r of the average ranks (ties share their mean rank)."""
    if x.size < 2:
        return float("nan")
    return _pearson(rankdata(x), rankdata(y))


def round_half_away(x: np.ndarray | float) -> np.ndarray:
    """Round to the nearest integer, halves away from zero (so ``-0.5 -> -1``, ``0.5 -> 1``); int64."""
    x = np.asarray(x, dtype=np.float64)
    return (np.sign(x) * np.floor(np.abs(x) + 0.5)).astype(np.int64)


# --------------------------------------------------------------------------------------------------
# bin-wise correlations


class StreamingPearson:
    """Pearson correlation accumulated over batches, exact in float64 (Chan et al. pairwise update).

    Each :meth:`update` folds a batch's count, means and co-moments into the running totals, so
    memory holds one batch and the result equals the pooled computation up to rounding. Two
    accumulators (e.g. from two processes) combine with :meth:`merge`.

    Parameters
    ----------
    log_transform
        Apply ``log2(x + 1)`` to both inputs (the bin-wise metric of SPEC §5). Default True.
    clip_min
        Clip both inputs below at this value before the transform (None: no clipping). Default 0.
    """

    def __init__(self, *, log_transform: bool = True, clip_min: float | None = 0.0) -> None:
        self.log_transform = log_transform
        self.clip_min = clip_min
        self.n = 0
        self.mean_x = 0.0
        self.mean_y = 0.0
        self.m2_x = 0.0
        self.m2_y = 0.0
        self.c_xy = 0.0

    def _fold(self, n: int, mx: float, my: float, m2x: float, m2y: float, cxy: float) -> None:
        if n == 0:
            return
        if self.n == 0:
            self.n, self.mean_x, self.mean_y, self.m2_x, self.m2_y, self.c_xy = n, mx, my, m2x, m2y, cxy
            return
        n_tot = self.n + n
        dx = mx - self.mean_x
        dy = my - self.mean_y
        w = self.n * n / n_tot
        self.m2_x += m2x + dx * dx * w
        self.m2_y += m2y + dy * dy * w
        self.c_xy += cxy + dx * dy * w
        self.mean_x += dx * n / n_tot
        self.mean_y += dy * n / n_tot
        self.n = n_tot

    def update(self, pred: np.ndarray, true: np.ndarray) -> StreamingPearson:
        """Add a batch: ``pred`` and ``true`` of the same shape, e.g. ``(B, 401)``; returns self."""
        p, t = _check_pair(pred, true)
        if self.log_transform:
            p, t = log2p1(p, self.clip_min), log2p1(t, self.clip_min)
        elif self.clip_min is not None:
            p, t = np.maximum(p, self.clip_min), np.maximum(t, self.clip_min)
        p, t = p.ravel(), t.ravel()
        mx, my = float(p.mean()), float(t.mean())
        pc, tc = p - mx, t - my
        self._fold(p.size, mx, my, float(pc @ pc), float(tc @ tc), float(pc @ tc))
        return self

    def merge(self, other: StreamingPearson) -> StreamingPearson:
        """Fold another accumulator's totals into this one; returns self."""
        self._fold(other.n, other.mean_x, other.mean_y, other.m2_x, other.m2_y, other.c_xy)
        return self

    def compute(self) -> float:
        """Pearson r of everything seen; NaN with fewer than 2 points or a constant input."""
        if self.n < 2 or self.m2_x <= 0.0 or self.m2_y <= 0.0:
            return float("nan")
        r = self.c_xy / np.sqrt(self.m2_x * self.m2_y)
        return float(np.clip(r, -1.0, 1.0))


def binwise_correlations(
    pred: np.ndarray, true: np.ndarray, *, clip_min: float | None = 0.0
) -> dict[str, float]:
    """Bin-wise Pearson and Spearman of SPEC §5.

    Parameters
    ----------
    pred, true
        ``(N, 401)`` (any equal shape) float arrays, predicted and observed signal per 1 kbp bin.
    clip_min
        Values below are clipped to it before ``log2(x + 1)``; None keeps them. Default 0.

    Returns
    -------
    dict
        ``pearson`` and ``spearman`` of ``log2(x + 1)`` over all bins pooled (Spearman with
        average ranks), and ``n_points`` (the number of bins pooled).
    """
    p, t = _check_pair(pred, true)
    lp, lt = log2p1(p, clip_min).ravel(), log2p1(t, clip_min).ravel()
    return {"pearson": _pearson(lp, lt), "spearman": _spearman(lp, lt), "n_points": int(lp.size)}


# --------------------------------------------------------------------------------------------------
# gene-body means


def gene_body_bins(
    genes: pd.DataFrame,
    *,
    center_bp: np.ndarray | int | None = None,
    bin_bp: int = TARGET_BIN_BP,
    n_bins: int = TARGET_BINS,
    orientation: Orientation = "genomic",
) -> tuple[np.ndarray, np.ndarray]:
    """First and last profile bin of each gene body, relative to the window centre.

    Parameters
    ----------
    genes
        One row per profile with ``start_bp``, ``end_bp`` (0-based, half-open gene bounds),
        ``tss_bp`` (the window centre when ``center_bp`` is None) and, for
        ``orientation="strand"``, ``strand`` (``+``/``-``).
    center_bp
        Window centre(s) in bp, scalar or ``(N,)``; default the ``tss_bp`` column (the central gene).
    bin_bp, n_bins
        Profile bin size (1,000 bp) and count (401; bin ``k`` centred on centre + k·bin_bp).
    orientation
        ``"genomic"``: profiles in genomic orientation, so a minus-strand gene's body lies at
        negative offsets. ``"strand"``: profiles of minus-strand genes are reversed, so their
        offsets are negated.

    Returns
    -------
    lo, hi
        ``(N,)`` int64 bin offsets (−200…200): the body ``[start_bp, end_bp - 1]`` relative to the
        centre, divided by ``bin_bp``, rounded half away from zero, ordered and clipped to the
        window. A body wholly outside the window has ``lo > hi``.
    """
    need = ["start_bp", "end_bp"] + (["tss_bp"] if center_bp is None else []) + (
        ["strand"] if orientation == "strand" else []
    )
    missing = [c for c in need if c not in genes.columns]
    if missing:
        raise InputError(
            f"the gene table lacks column(s) {', '.join(missing)}; it needs {', '.join(need)}"
        )
    if orientation not in ("genomic", "strand"):
        raise InputError(f"orientation must be 'genomic' or 'strand'; got {orientation!r}")
    start = genes["start_bp"].to_numpy(dtype=np.int64)
    end = genes["end_bp"].to_numpy(dtype=np.int64)
    bad = int(np.count_nonzero(end <= start))
    if bad:
        raise InputError(
            f"{bad} genes have end_bp <= start_bp; gene bounds must be 0-based half-open [start, end)"
        )
    centre = genes["tss_bp"].to_numpy(dtype=np.int64) if center_bp is None else np.broadcast_to(
        np.asarray(center_bp, dtype=np.int64), start.shape
    )
    a = round_half_away((start - centre) / bin_bp)
    b = round_half_away((end - 1 - centre) / bin_bp)
    if orientation == "strand":
        minus = genes["strand"].astype(str).to_numpy() == "-"
        a = np.where(minus, -a, a)
        b = np.where(minus, -b, b)
    half = n_bins // 2
    lo = np.maximum(np.minimum(a, b), -half)
    hi = np.minimum(np.maximum(a, b), half)
    return lo.astype(np.int64), hi.astype(np.int64)


def body_simpson(
    profiles: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    *,
    mean: bool = True,
    clip_min: float | None = 0.0,
) -> np.ndarray:
    """Simpson integral of each profile over bins ``lo..hi`` (inclusive, offsets from the centre).

    Parameters
    ----------
    profiles
        ``(N, n_bins)`` float signal per bin (bin ``k`` at index ``k + n_bins // 2``).
    lo, hi
        ``(N,)`` int bin offsets as from :func:`gene_body_bins`.
    mean
        Divide the integral by the width ``max(hi - lo, 1)`` in bins → mean signal per bin.
        False returns the area (signal × bins), as used for perturbation effects (SPEC §6).
    clip_min
        Clip profile values below at this value first (None: no clipping). Default 0.

    Returns
    -------
    ``(N,)`` float64. A single-bin body (``lo == hi``) gives that bin's value (area of one bin of
    width 1); an empty body (``lo > hi``) gives NaN. With an even number of points, scipy's
    Simpson rule corrects the last interval (scipy >= 1.11).
    """
    prof = _as_float_array(profiles, "profiles")
    if prof.ndim != 2:
        raise InputError(f"profiles must be 2-D (N, n_bins); got shape {prof.shape}")
    if clip_min is not None:
        prof = np.maximum(prof, clip_min)
    lo = np.asarray(lo, dtype=np.int64)
    hi = np.asarray(hi, dtype=np.int64)
    if lo.shape != (prof.shape[0],) or hi.shape != (prof.shape[0],):
        raise InputError(f"lo and hi must have shape ({prof.shape[0]},); got {lo.shape} and {hi.shape}")
    half = prof.shape[1] // 2
    out = np.full(prof.shape[0], np.nan)
    pairs = np.stack([lo, hi], axis=1)
    uniq, inverse = np.unique(pairs, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    for g, (a, b) in enumerate(uniq):
        rows = np.flatnonzero(inverse == g)
        if a > b or a < -half or b > half:
            continue
        seg = prof[rows, a + half : b + half + 1]
        if a == b:
            area = seg[:, 0]
        else:
            area = simpson(seg, dx=1.0, axis=-1)
        out[rows] = area / max(int(b - a), 1) if mean else area
    return out


def gene_body_mean(
    profile: np.ndarray, start_rel_bins: float, end_rel_bins: float, *, clip_min: float | None = 0.0
) -> float:
    """Mean signal per bin over one gene body (SPEC §5).

    Parameters
    ----------
    profile
        ``(401,)`` float signal per 1 kbp bin, bin k at index k + 200.
    start_rel_bins, end_rel_bins
        Gene body ends in bins relative to the TSS (either order; rounded half away from zero and
        clipped to −200…200).
    clip_min
        Clip values below at this value first (None: no clipping). Default 0.

    Returns
    -------
    float
        Simpson integral over the body bins divided by the width ``max(|end - start|, 1)`` in
        bins; a single-bin body gives that bin's value; a body outside the window gives NaN.
    """
    prof = np.asarray(profile, dtype=np.float64)
    if prof.ndim != 1:
        raise InputError(f"profile must be 1-D (n_bins,); got shape {prof.shape}")
    half = prof.size // 2
    a, b = int(round_half_away(start_rel_bins)), int(round_half_away(end_rel_bins))
    lo, hi = max(min(a, b), -half), min(max(a, b), half)
    return float(body_simpson(prof[None, :], np.array([lo]), np.array([hi]), clip_min=clip_min)[0])


def gene_body_means(
    profiles: np.ndarray,
    genes: pd.DataFrame,
    *,
    bin_bp: int = TARGET_BIN_BP,
    orientation: Orientation = "genomic",
    clip_min: float | None = 0.0,
) -> np.ndarray:
    """Vectorised :func:`gene_body_mean` for the central gene of each window.

    Parameters
    ----------
    profiles
        ``(N, 401)`` float signal per 1 kbp bin.
    genes
        ``N`` rows, in the order of ``profiles``, with ``tss_bp``, ``start_bp``, ``end_bp``
        (0-based, half-open) and ``strand``.
    bin_bp, orientation, clip_min
        As in :func:`gene_body_bins` and :func:`body_simpson`.

    Returns
    -------
    ``(N,)`` float64 mean signal per bin over each gene body.
    """
    prof = np.asarray(profiles)
    if prof.ndim != 2 or prof.shape[0] != len(genes):
        raise InputError(
            f"profiles have shape {prof.shape} but the gene table has {len(genes)} rows; "
            "pass one row per profile"
        )
    lo, hi = gene_body_bins(genes, bin_bp=bin_bp, n_bins=prof.shape[1], orientation=orientation)
    return body_simpson(prof, lo, hi, mean=True, clip_min=clip_min)


def gene_level_correlations(pred_means: np.ndarray, true_means: np.ndarray) -> dict[str, float]:
    """Pearson and Spearman of gene-body means across genes (raw values, SPEC §5).

    Parameters
    ----------
    pred_means, true_means
        ``(G,)`` float mean signal per bin over each gene body. Pairs where either is NaN (a body
        outside the window) are left out.

    Returns
    -------
    dict with ``pearson``, ``spearman`` and ``n_genes`` (the pairs used).
    """
    p = np.asarray(pred_means, dtype=np.float64).ravel()
    t = np.asarray(true_means, dtype=np.float64).ravel()
    if p.shape != t.shape:
        raise InputError(f"pred_means has {p.size} values but true_means has {t.size}; pass one per gene")
    ok = np.isfinite(p) & np.isfinite(t)
    p, t = p[ok], t[ok]
    return {"pearson": _pearson(p, t), "spearman": _spearman(p, t), "n_genes": int(p.size)}


def profile_correlations(
    pred: np.ndarray, true: np.ndarray, *, clip_min: float | None = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample Pearson and Spearman over the bins of each profile, on ``log2(x + 1)``.

    Returns two ``(N,)`` float64 arrays; NaN for a constant profile.
    """
    p, t = _check_pair(pred, true)
    if p.ndim != 2:
        raise InputError(f"pred and true must be 2-D (N, n_bins); got shape {p.shape}")
    lp, lt = log2p1(p, clip_min), log2p1(t, clip_min)

    def rowwise(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        xc = x - x.mean(axis=1, keepdims=True)
        yc = y - y.mean(axis=1, keepdims=True)
        sxx = np.einsum("ij,ij->i", xc, xc)
        syy = np.einsum("ij,ij->i", yc, yc)
        sxy = np.einsum("ij,ij->i", xc, yc)
        denom = np.sqrt(sxx * syy)
        with np.errstate(invalid="ignore", divide="ignore"):
            r = np.where(denom > 0, sxy / np.where(denom > 0, denom, 1.0), np.nan)
        return np.clip(r, -1.0, 1.0)

    return rowwise(lp, lt), rowwise(rankdata(lp, axis=1), rankdata(lt, axis=1))


def evaluation_table(
    pred: np.ndarray,
    true: np.ndarray,
    genes: pd.DataFrame,
    *,
    bin_bp: int = TARGET_BIN_BP,
    orientation: Orientation = "genomic",
    clip_min: float | None = 0.0,
) -> pd.DataFrame:
    """Per-gene evaluation table.

    Parameters
    ----------
    pred, true
        ``(N, 401)`` float predicted and observed signal per 1 kbp bin, one row per gene window.
    genes
        ``N`` rows in the same order with ``tss_bp``, ``start_bp``, ``end_bp``, ``strand`` and,
        when present, ``gene_id``, ``gene_name``, ``chrom`` (copied to the output).

    Returns
    -------
    DataFrame, one row per gene: ``gene_id``, ``gene_name``, ``chrom``, ``strand``, ``tss_bp``
    (those present in ``genes``), ``pearson_profile`` and ``spearman_profile`` (over the 401 bins
    of ``log2(x + 1)``), ``true_body_mean`` and ``pred_body_mean`` (signal per bin, Simpson over
    the body / width), ``body_lo_bin`` and ``body_hi_bin`` (body offsets in bins), ``true_total``
    and ``pred_total`` (sum over the window), ``mse_log2`` (mean squared error of ``log2(x + 1)``).
    """
    p, t = _check_pair(pred, true)
    if p.ndim != 2 or p.shape[0] != len(genes):
        raise InputError(
            f"pred has shape {p.shape} but the gene table has {len(genes)} rows; pass one row per profile"
        )
    lo, hi = gene_body_bins(genes, bin_bp=bin_bp, n_bins=p.shape[1], orientation=orientation)
    r, rho = profile_correlations(p, t, clip_min=clip_min)
    keep = [c for c in ("gene_id", "gene_name", "chrom", "strand", "tss_bp") if c in genes.columns]
    out = genes[keep].reset_index(drop=True).copy()
    out["pearson_profile"] = r
    out["spearman_profile"] = rho
    out["true_body_mean"] = body_simpson(t, lo, hi, clip_min=clip_min)
    out["pred_body_mean"] = body_simpson(p, lo, hi, clip_min=clip_min)
    out["body_lo_bin"] = lo
    out["body_hi_bin"] = hi
    tc, pc = (t, p) if clip_min is None else (np.maximum(t, clip_min), np.maximum(p, clip_min))
    out["true_total"] = tc.sum(axis=1)
    out["pred_total"] = pc.sum(axis=1)
    out["mse_log2"] = ((log2p1(p, clip_min) - log2p1(t, clip_min)) ** 2).mean(axis=1)
    return out


def summarise(table: pd.DataFrame, pred: np.ndarray, true: np.ndarray) -> Mapping[str, float]:
    """The headline numbers of SPEC §5 from an :func:`evaluation_table` and its arrays.

    Returns ``binwise_pearson``, ``binwise_spearman``, ``gene_pearson``, ``gene_spearman``,
    ``n_samples``, ``n_points``.
    """
    bw = binwise_correlations(pred, true)
    gl = gene_level_correlations(table["pred_body_mean"].to_numpy(), table["true_body_mean"].to_numpy())
    return {
        "binwise_pearson": bw["pearson"],
        "binwise_spearman": bw["spearman"],
        "gene_pearson": gl["pearson"],
        "gene_spearman": gl["spearman"],
        "n_samples": int(len(table)),
        "n_points": bw["n_points"],
    }
