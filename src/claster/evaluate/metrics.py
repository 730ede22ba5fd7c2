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

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from claster.data.body import Orientation, _as_float_array, body_simpson, gene_body_bins
from claster.errors import InputError
from claster.units import TARGET_BIN_BP

__all__ = [
    "StreamingPearson",
    "binwise_correlations",
    "log2p1",
    "gene_level_correlations",
    "profile_correlations",
    "evaluation_table",
    "summarise",
]



# --------------------------------------------------------------------------------------------------
# helpers


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
